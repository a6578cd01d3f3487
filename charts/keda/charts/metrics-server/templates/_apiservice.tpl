{{- define "keda.metricsServer.apiService" }}
{{- $api := dig "metricsServer" "apiService" dict (.Values.kedaTs | default dict) }}
{{- if and (include "keda.metricsAdapter.enabled" .) ((kindIs "invalid" $api.enabled) | ternary true $api.enabled) }}
{{- /*
Registers the adapter with the aggregation layer. Only one APIService may serve external.metrics.k8s.io in a
cluster: set kedaTs.metricsServer.apiService.enabled=false when another adapter (prometheus-adapter, Datadog...)
owns it. The CA bundle is written by the controller (self-managed certificates) or injected by cert-manager.
*/}}
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: {{ include "keda.apiService.name" . }}
  labels:
    {{- include "keda.labels" (dict "ctx" $ "component" "metrics-adapter" "name" (include "keda.metricsAdapter.name" .)) | nindent 4 }}
  {{- include "keda.annotations" (dict "ctx" $ "extra" (include "keda.certManager.injectAnnotation" . | fromYaml)) | nindent 2 }}
spec:
  group: external.metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: {{ $api.groupPriorityMinimum | default 100 }}
  versionPriority: {{ $api.versionPriority | default 100 }}
  {{- if $api.insecureSkipTLSVerify }}
  insecureSkipTLSVerify: true
  {{- end }}
  service:
    name: {{ include "keda.metricsAdapter.name" . }}
    namespace: {{ .Release.Namespace }}
    port: {{ .Values.service.portHttps | default 443 }}
{{- end }}
{{- end }}
