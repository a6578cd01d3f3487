{{- define "keda.webhooks.serviceAccount" }}
{{- $sa := .Values.serviceAccount.webhooks }}
{{- if and (include "keda.webhooks.enabled" .) $sa.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $sa.name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "keda.labels" (dict "ctx" $ "component" "webhook" "name" $sa.name) | nindent 4 }}
  {{- include "keda.annotations" (dict "ctx" $ "extra" $sa.annotations) | nindent 2 }}
automountServiceAccountToken: {{ $sa.automountServiceAccountToken }}
{{- end }}
{{- end }}
