{{- define "keda.webhooks.service" }}
{{- if include "keda.webhooks.enabled" . }}
{{- $name := include "keda.webhooks.name" . }}
{{- $prom := dig "webhooks" dict (.Values.prometheus | default dict) }}
{{- $ctx := dict "ctx" $ "component" "webhook" "name" $name }}
# The admission webhook server behind the ValidatingWebhookConfiguration keda-admission.
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
    - name: https
      port: 443
      targetPort: https
      protocol: TCP
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
