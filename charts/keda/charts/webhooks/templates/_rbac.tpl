{{- define "keda.webhooks.rbac" }}
{{- if and .Values.rbac.create (include "keda.webhooks.enabled" .) }}
{{- $name := include "keda.webhooks.name" . }}
{{- $ctx := dict "ctx" $ "component" "webhook" "name" $name }}
# What validation looks up: other ScaledObjects and HPAs on the same target, the target workload and its
# containers' resources (cpu/memory triggers), LimitRanges; a dry-run create of a ScaledJob's Job
# (keda-ts: the API server checks the pod template); plus events.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: keda-operator-webhook
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
rules:
  - apiGroups: [autoscaling]
    resources: [horizontalpodautoscalers]
    verbs: [list, watch]
  - apiGroups: [keda.sh]
    resources: [scaledobjects]
    verbs: [list, watch]
  - apiGroups: [apps]
    resources: [deployments, statefulsets]
    verbs: [get, list, watch]
  # KEDA's webhook lists LimitRanges per admission (list only); keda-ts's keeps them in an informer (list + watch).
  - apiGroups: [""]
    resources: [limitranges]
    verbs: [list, watch]
  # Only ever with dryRun=All: the API server checks a ScaledJob's Job template and stores nothing.
  # A dry run still needs the verb; there is no RBAC verb for "create, dry run only".
  - apiGroups: [batch]
    resources: [jobs]
    verbs: [create]
  - apiGroups: [events.k8s.io]
    resources: [events]
    verbs: [create, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: keda-operator-webhook
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: keda-operator-webhook
subjects:
  - kind: ServiceAccount
    name: {{ .Values.serviceAccount.webhooks.name }}
    namespace: {{ .Release.Namespace }}
{{- end }}
{{- end }}
