{{- define "keda.operator.rbac" }}
{{- if and .Values.rbac.create (include "keda.controller.enabled" .) }}
{{- $name := include "keda.controller.name" . }}
{{- $ctx := dict "ctx" $ "component" "operator" "name" $name }}
{{- $sa := .Values.serviceAccount.operator.name }}
{{- $restrict := dig "operator" "restrict" dict (.Values.permissions | default dict) }}
{{- $certs := .Values.certificates }}
{{- $le := dig "operator" "leaderElection" dict (.Values.kedaTs | default dict) }}
{{- $leaseName := .Values.operator.leaderElectionID | default "operator.keda.sh" }}
{{- $selfManaged := include "keda.certs.selfManaged" . | eq "true" }}
{{- /*
What the controller may do in the namespaces it watches: read ScaledObjects, ScaledJobs and
TriggerAuthentications and write their status/finalizers, own HPAs and Jobs, scale targets through the
/scale subresource, read what TriggerAuthentications refer to, and record events. Bound cluster-wide,
or per namespace when watchNamespace is set.
*/}}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ $name }}
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
rules:
  # ConfigMaps and Secrets: TriggerAuthentication targets and the env of scale targets (envFrom, valueFrom).
  - apiGroups: [""]
    resources: [configmaps, limitranges, pods, serviceaccounts]
    verbs: [get, list, watch]
  {{- if $restrict.allowAllServiceAccountTokenCreation }}
  # TriggerAuthentication boundServiceAccountToken for any service account.
  - apiGroups: [""]
    resources: [serviceaccounts/token]
    verbs: [create]
  {{- end }}
  {{- if not $restrict.secret }}
  # TriggerAuthentication secretTargetRef in any watched namespace (off with permissions.operator.restrict.secret).
  - apiGroups: [""]
    resources: [secrets]
    verbs: [get, list, watch]
  {{- end }}
  - apiGroups: [""]
    resources: [events]
    verbs: [create, patch]
  - apiGroups: [events.k8s.io]
    resources: [events]
    verbs: [create, patch]
  - apiGroups: [keda.sh]
    resources:
      - scaledobjects
      - scaledobjects/status
      - scaledobjects/finalizers
      - scaledjobs
      - scaledjobs/status
      - scaledjobs/finalizers
      - triggerauthentications
      - triggerauthentications/status
    verbs: [get, list, watch, patch, update]
  - apiGroups: [eventing.keda.sh]
    resources: [cloudeventsources, cloudeventsources/status]
    verbs: [get, list, watch, patch, update]
  - apiGroups: [autoscaling]
    resources: [horizontalpodautoscalers]
    verbs: [get, list, watch, create, update, patch, delete]
  - apiGroups: [batch]
    resources: [jobs]
    verbs: [get, list, watch, create, update, patch, delete]
  - apiGroups: [apps]
    resources: [deployments, statefulsets, replicasets]
    verbs: [get, list, watch]
  - apiGroups: [apps]
    resources: [deployments/scale, statefulsets/scale]
    verbs: [get, list, watch, patch, update]
  {{- if (kindIs "invalid" .Values.rbac.enabledCustomScaledRefKinds) | ternary true .Values.rbac.enabledCustomScaledRefKinds }}
  {{- range .Values.rbac.scaledRefKinds }}
  {{- /* Custom scale targets: their /scale subresource, and a read of the kind itself when it is named.
  A kind is the RBAC resource; a singular one (KEDA's example says Rollout) is made plural. */}}
  {{- $resource := .kind | lower }}
  {{- if and (ne $resource "*") (not (hasSuffix "s" $resource)) }}{{ $resource = printf "%ss" $resource }}{{ end }}
  - apiGroups: [{{ .apiGroup | quote }}]
    resources: [{{ printf "%s/scale" $resource | quote }}]
    verbs: [get, list, watch, patch, update]
  {{- if ne $resource "*" }}
  - apiGroups: [{{ .apiGroup | quote }}]
    resources: [{{ $resource | quote }}]
    verbs: [get]
  {{- end }}
  {{- end }}
  {{- end }}
---
{{- /* Cluster-scoped objects the controller needs wherever it watches. */}}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ $name }}-minimal-cluster-role
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
rules:
  - apiGroups: [keda.sh]
    resources: [clustertriggerauthentications, clustertriggerauthentications/status]
    verbs: [get, list, watch, patch, update]
  - apiGroups: [eventing.keda.sh]
    resources: [clustercloudeventsources, clustercloudeventsources/status]
    verbs: [get, list, watch, patch, update]
  {{- if $selfManaged }}
  # Self-managed certificates: write the CA bundle into the webhook configuration and the APIService.
  - apiGroups: [admissionregistration.k8s.io]
    resources: [validatingwebhookconfigurations]
    resourceNames: [{{ include "keda.webhooks.configurationName" . }}]
    verbs: [get, list, watch, patch, update]
  - apiGroups: [apiregistration.k8s.io]
    resources: [apiservices]
    resourceNames: [{{ include "keda.apiService.name" . }}]
    verbs: [get, list, watch, patch, update]
  {{- end }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ $name }}-minimal
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ $name }}-minimal-cluster-role
subjects:
  - kind: ServiceAccount
    name: {{ $sa }}
    namespace: {{ .Release.Namespace }}
{{- $watched := list }}
{{- $watched = include "keda.watchedNamespaces" . | fromJsonArray }}
{{- if not $watched }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ $name }}
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ $sa }}
    namespace: {{ .Release.Namespace }}
{{- else }}
{{- range (append $watched .Release.Namespace | uniq) }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ $name }}
  namespace: {{ . }}
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ $sa }}
    namespace: {{ $.Release.Namespace }}
{{- end }}
{{- end }}
---
{{- /*
In the release namespace only: the leader-election Lease, the leader's EndpointSlice of the gRPC
Service, the certificate Secret and, with restricted secret access, the Secrets
ClusterTriggerAuthentications and TriggerAuthentications may read.
*/}}
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
rules:
  {{- if (kindIs "invalid" $le.enabled) | ternary true $le.enabled }}
  - apiGroups: [coordination.k8s.io]
    resources: [leases]
    verbs: [create]
  - apiGroups: [coordination.k8s.io]
    resources: [leases]
    resourceNames: [{{ $leaseName | quote }}]
    verbs: [get, watch, update, patch, delete]
  {{- end }}
  # The Service keda-operator has no selector: the leader writes its EndpointSlice <name>-leader with
  # its own Pod IP, watches it (list/watch by name), and owns it by the Service (read for its uid).
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [create]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    resourceNames: [{{ printf "%s-leader" $name | quote }}]
    verbs: [get, list, watch, update, patch, delete]
  - apiGroups: [""]
    resources: [services]
    resourceNames: [{{ $name | quote }}]
    verbs: [get]
  {{- if $selfManaged }}
  - apiGroups: [""]
    resources: [secrets]
    verbs: [create]
  - apiGroups: [""]
    resources: [secrets]
    resourceNames: [{{ $certs.secretName | quote }}]
    verbs: [get, list, watch, update, patch]
  {{- else }}
  - apiGroups: [""]
    resources: [secrets]
    resourceNames: [{{ $certs.secretName | quote }}]
    verbs: [get, list, watch]
  {{- end }}
  {{- if $restrict.secret }}
  # permissions.operator.restrict.secret: Secrets are read in the release namespace only.
  - apiGroups: [""]
    resources: [secrets]
    verbs: [get, list, watch]
  {{- end }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ $name }}-release-namespace
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ $sa }}
    namespace: {{ .Release.Namespace }}
{{- range $restrict.serviceAccountTokenCreationRoles }}
---
{{- /* permissions.operator.restrict.serviceAccountTokenCreationRoles: tokens of one named service account. */}}
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ $name }}-token-creator-{{ .name }}
  namespace: {{ .namespace }}
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
rules:
  - apiGroups: [""]
    resources: [serviceaccounts/token]
    resourceNames: [{{ .name | quote }}]
    verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ $name }}-token-creator-{{ .name }}
  namespace: {{ .namespace }}
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ $name }}-token-creator-{{ .name }}
subjects:
  - kind: ServiceAccount
    name: {{ $sa }}
    namespace: {{ $.Release.Namespace }}
{{- end }}
{{- with $restrict.namesAllowList }}
---
{{- /* permissions.operator.restrict.namesAllowList: named Secrets readable in every namespace. */}}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ $name }}-secrets-allowlist
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
rules:
  - apiGroups: [""]
    resources: [secrets]
    resourceNames:
      {{- range . }}
      - {{ . | quote }}
      {{- end }}
    verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ $name }}-secrets-allowlist
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ $name }}-secrets-allowlist
subjects:
  - kind: ServiceAccount
    name: {{ $sa }}
    namespace: {{ $.Release.Namespace }}
{{- end }}
{{- if .Values.rbac.aggregateToDefaultRoles }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: keda:edit
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
    rbac.authorization.k8s.io/aggregate-to-admin: "true"
    rbac.authorization.k8s.io/aggregate-to-edit: "true"
rules:
  - apiGroups: [keda.sh]
    resources: [scaledobjects, scaledjobs, triggerauthentications]
    verbs: [create, delete, deletecollection, patch, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: keda:view
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
    rbac.authorization.k8s.io/aggregate-to-admin: "true"
    rbac.authorization.k8s.io/aggregate-to-edit: "true"
    rbac.authorization.k8s.io/aggregate-to-view: "true"
rules:
  - apiGroups: [keda.sh]
    resources: [scaledobjects, scaledjobs, triggerauthentications]
    verbs: [get, list, watch]
{{- end }}
{{- end }}
{{- end }}
