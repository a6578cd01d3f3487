{{- define "keda.metricsServer.serviceAccount" }}
{{- $sa := .Values.serviceAccount.metricServer }}
{{- if and (include "keda.metricsAdapter.enabled" .) $sa.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $sa.name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "keda.labels" (dict "ctx" $ "component" "metrics-adapter" "name" $sa.name) | nindent 4 }}
  {{- include "keda.annotations" (dict "ctx" $ "extra" $sa.annotations) | nindent 2 }}
automountServiceAccountToken: {{ $sa.automountServiceAccountToken }}
{{- end }}
{{- end }}
