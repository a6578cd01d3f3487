{{- define "keda.operator.service" }}
{{- if include "keda.controller.enabled" . }}
{{- $name := include "keda.controller.name" . }}
{{- $prom := dig "operator" dict (.Values.prometheus | default dict) }}
{{- $ctx := dict "ctx" $ "component" "operator" "name" $name }}
# The controller's gRPC metrics service, dialled by the metrics adapter (and its /metrics when enabled).
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
  {{- include "keda.annotations" (dict "ctx" $ "extra" (include "keda.scrapeAnnotations" $prom | fromYaml)) | nindent 2 }}
spec:
  type: ClusterIP
  selector:
    {{- include "keda.selectorLabels" $ctx | nindent 4 }}
  ports:
    - name: metricsservice
      port: {{ include "keda.controller.grpcPort" . }}
      targetPort: metricsservice
      protocol: TCP
      appProtocol: grpc
    {{- if $prom.enabled }}
    - name: metrics
      port: {{ $prom.port | default 8080 }}
      targetPort: metrics
      protocol: TCP
      {{- with $prom.appProtocol }}
      appProtocol: {{ . }}
      {{- end }}
    {{- end }}
{{- end }}
{{- end }}
