{{- define "keda.operator.serviceAccount" }}
{{- $sa := .Values.serviceAccount.operator }}
{{- if and (include "keda.controller.enabled" .) $sa.create }}
{{- $pi := .Values.podIdentity | default dict }}
{{- $azure := $pi.azureWorkload | default dict }}
{{- $irsa := dig "aws" "irsa" dict $pi }}
{{- $gcp := $pi.gcp | default dict }}
{{- /* Workload identity (podIdentity.*) is configured on the controller's ServiceAccount, as in KEDA. */}}
{{- $identity := dict }}
{{- if $azure.enabled }}
{{- with $azure.clientId }}{{ $_ := set $identity "azure.workload.identity/client-id" (toString .) }}{{ end }}
{{- with $azure.tenantId }}{{ $_ := set $identity "azure.workload.identity/tenant-id" (toString .) }}{{ end }}
{{- with $azure.tokenExpiration }}{{ $_ := set $identity "azure.workload.identity/service-account-token-expiration" (toString .) }}{{ end }}
{{- end }}
{{- if $irsa.enabled }}
{{- with $irsa.roleArn }}{{ $_ := set $identity "eks.amazonaws.com/role-arn" (toString .) }}{{ end }}
{{- with $irsa.audience }}{{ $_ := set $identity "eks.amazonaws.com/audience" (toString .) }}{{ end }}
{{- with $irsa.stsRegionalEndpoints }}{{ $_ := set $identity "eks.amazonaws.com/sts-regional-endpoints" (toString .) }}{{ end }}
{{- with $irsa.tokenExpiration }}{{ $_ := set $identity "eks.amazonaws.com/token-expiration" (toString .) }}{{ end }}
{{- end }}
{{- if $gcp.enabled }}
{{- with $gcp.gcpIAMServiceAccount }}{{ $_ := set $identity "iam.gke.io/gcp-service-account" (toString .) }}{{ end }}
{{- end }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $sa.name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "keda.labels" (dict "ctx" $ "component" "operator" "name" $sa.name) | nindent 4 }}
    {{- if $azure.enabled }}
    azure.workload.identity/use: "true"
    {{- end }}
  {{- include "keda.annotations" (dict "ctx" $ "extra" (merge (dict) ($sa.annotations | default dict) $identity)) | nindent 2 }}
automountServiceAccountToken: {{ $sa.automountServiceAccountToken }}
{{- end }}
{{- end }}
