{{- define "keda.metricsServer.rbac" }}
{{- if and .Values.rbac.create (include "keda.metricsAdapter.enabled" .) }}
{{- $name := include "keda.metricsAdapter.name" . }}
{{- $ctx := dict "ctx" $ "component" "metrics-adapter" "name" $name }}
{{- $sa := .Values.serviceAccount.metricServer.name }}
# The HPA controller may read external metrics (and nothing else of this adapter).
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: keda-operator-external-metrics-reader
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
rules:
  - apiGroups: [external.metrics.k8s.io]
    resources: ["*"]
    verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: keda-operator-hpa-controller-external-metrics
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: keda-operator-external-metrics-reader
subjects:
  - kind: ServiceAccount
    name: horizontal-pod-autoscaler
    namespace: {{ (.Values.rbac.controlPlaneServiceAccountsNamespace | default "kube-system") }}
---
# Delegated authentication and authorization: TokenReviews and SubjectAccessReviews for callers.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: keda-operator-system-auth-delegator
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:auth-delegator
subjects:
  - kind: ServiceAccount
    name: {{ $sa }}
    namespace: {{ .Release.Namespace }}
---
# The front-proxy CA and allowed names the aggregator's client certificate is checked against.
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: keda-operator-auth-reader
  namespace: {{ (.Values.rbac.controlPlaneServiceAccountsNamespace | default "kube-system") }}
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: extension-apiserver-authentication-reader
subjects:
  - kind: ServiceAccount
    name: {{ $sa }}
    namespace: {{ .Release.Namespace }}
{{- end }}
{{- end }}
