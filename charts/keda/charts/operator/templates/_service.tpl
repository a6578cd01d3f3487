{{- define "keda.operator.service" }}
{{- if include "keda.controller.enabled" . }}
{{- $name := include "keda.controller.name" . }}
{{- $prom := dig "operator" dict (.Values.prometheus | default dict) }}
{{- $ctx := dict "ctx" $ "component" "operator" "name" $name }}
{{- /*
The controller's gRPC metrics service, dialled by the metrics adapter, under KEDA's name and port
(metricsservice 9666; and metrics 8080 when enabled). It has no selector: only the leader serves gRPC,
so the leader itself keeps the Service's EndpointSlice <name>-leader pointing at its Pod IP
(METRICS_SERVICE_ENDPOINT_SLICE, POD_IP); standby replicas are never behind it, whatever replicaCount.
*/}}
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
  {{- include "keda.annotations" (dict "ctx" $) | nindent 2 }}
spec:
  type: ClusterIP
  ports:
    - name: metricsservice
      port: {{ include "keda.controller.grpcPort" . }}
      targetPort: {{ include "keda.controller.grpcPort" . }}
      protocol: TCP
      appProtocol: grpc
    {{- if $prom.enabled }}
    {{- /* Served by the leader (the one with the scale loops' metrics), for scrapers that name this Service and port. */}}
    - name: metrics
      port: {{ $prom.port | default 8080 }}
      targetPort: {{ $prom.port | default 8080 }}
      protocol: TCP
      {{- with $prom.appProtocol }}
      appProtocol: {{ . }}
      {{- end }}
    {{- end }}
{{- if $prom.enabled }}
---
{{- /*
/metrics of every replica, for service discovery: a Service with a selector, so its Endpoints exist
(Prometheus' role endpoints does not see the leader's hand-written EndpointSlice). It carries the scrape
annotations, and the labels the ServiceMonitor selects (the gRPC Service above lacks `app`).
*/}}
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}-metrics
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "keda.labels" $ctx | nindent 4 }}
    app: {{ $name }}
  {{- include "keda.annotations" (dict "ctx" $ "extra" (include "keda.scrapeAnnotations" $prom | fromYaml)) | nindent 2 }}
spec:
  type: ClusterIP
  selector:
    {{- include "keda.selectorLabels" $ctx | nindent 4 }}
  ports:
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
