{{- define "keda.metricsServer.service" }}
{{- if include "keda.metricsAdapter.enabled" . }}
{{- $name := include "keda.metricsAdapter.name" . }}
{{- $prom := dig "metricServer" dict (.Values.prometheus | default dict) }}
{{- $ctx := dict "ctx" $ "component" "metrics-adapter" "name" $name }}
# The external metrics API behind the APIService v1beta1.external.metrics.k8s.io.
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
  {{- include "keda.annotations" (dict "ctx" $ "extra" (merge (dict) (include "keda.scrapeAnnotations" $prom | fromYaml) (.Values.service.annotations | default dict))) | nindent 2 }}
spec:
  type: {{ .Values.service.type | default "ClusterIP" }}
  selector:
    {{- include "keda.selectorLabels" $ctx | nindent 4 }}
  ports:
    - name: https
      port: {{ .Values.service.portHttps | default 443 }}
      targetPort: https
      protocol: TCP
    {{- if $prom.enabled }}
    - name: {{ $prom.portName | default "metrics" }}
      port: {{ $prom.port | default 8080 }}
      targetPort: metrics
      protocol: TCP
      {{- with $prom.appProtocol }}
      appProtocol: {{ . }}
      {{- end }}
    {{- end }}
{{- end }}
{{- end }}
