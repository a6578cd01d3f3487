{{- define "keda.webhooks.validatingWebhookConfiguration" }}
{{- $ts := dig "webhooks" dict (.Values.kedaTs | default dict) }}
{{- $register := dig "validatingWebhookConfiguration" "enabled" true $ts }}
{{- if and (include "keda.webhooks.enabled" .) $register }}
{{- /*
keda-admission: rejects bad ScaledObjects, ScaledJobs, (Cluster)TriggerAuthentications and (Cluster)CloudEventSources before they are
stored. failurePolicy Ignore (the default) admits objects while the webhook is down. The CA bundle is
written by the controller (self-managed certificates) or injected by cert-manager (annotation).
*/}}
{{- $service := include "keda.webhooks.name" . }}
{{- $webhooks := list
  (dict "name" "vscaledobject.kb.io" "path" "/validate-keda-sh-v1alpha1-scaledobject" "resource" "scaledobjects")
  (dict "name" "vscaledjob.kb.io" "path" "/validate-keda-sh-v1alpha1-scaledjob" "resource" "scaledjobs")
  (dict "name" "vstriggerauthentication.kb.io" "path" "/validate-keda-sh-v1alpha1-triggerauthentication" "resource" "triggerauthentications")
  (dict "name" "vsclustertriggerauthentication.kb.io" "path" "/validate-keda-sh-v1alpha1-clustertriggerauthentication" "resource" "clustertriggerauthentications")
  (dict "name" "vcloudeventsource.kb.io" "path" "/validate-eventing-keda-sh-v1alpha1-cloudeventsource" "resource" "cloudeventsources" "group" "eventing.keda.sh")
  (dict "name" "vclustercloudeventsource.kb.io" "path" "/validate-eventing-keda-sh-v1alpha1-clustercloudeventsource" "resource" "clustercloudeventsources" "group" "eventing.keda.sh") }}
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: {{ include "keda.webhooks.configurationName" . }}
  labels:
    {{- include "keda.labels" (dict "ctx" $ "component" "webhook" "name" $service) | nindent 4 }}
  {{- include "keda.annotations" (dict "ctx" $ "extra" (include "keda.certManager.injectAnnotation" . | fromYaml)) | nindent 2 }}
webhooks:
  {{- range $webhooks }}
  - name: {{ .name }}
    admissionReviewVersions: [v1]
    clientConfig:
      service:
        name: {{ $service }}
        namespace: {{ $.Release.Namespace }}
        port: 443
        path: {{ .path }}
    failurePolicy: {{ $.Values.webhooks.failurePolicy | default "Ignore" }}
    matchPolicy: Equivalent
    sideEffects: None
    timeoutSeconds: {{ $.Values.webhooks.timeoutSeconds | default 10 }}
    namespaceSelector:
      {{- toYaml ($ts.namespaceSelector | default dict) | nindent 6 }}
    objectSelector:
      {{- toYaml ($ts.objectSelector | default dict) | nindent 6 }}
    rules:
      - apiGroups: [{{ .group | default "keda.sh" }}]
        apiVersions: [v1alpha1]
        operations: [CREATE, UPDATE]
        resources: [{{ .resource }}]
  {{- end }}
{{- end }}
{{- end }}
