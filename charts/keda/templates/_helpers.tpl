{{- /*
Named templates of the chart. The values follow KEDA's chart layout (operator, metricsServer, webhooks, and
per-topic blocks such as resources.operator); keda-ts's own settings are under kedaTs.
*/ -}}

{{- /* Object names: KEDA's, so that the apps' defaults, KEDA's docs and dashboards apply unchanged. */ -}}
{{- define "keda.controller.name" -}}{{ .Values.operator.name | default "keda-operator" }}{{- end }}
{{- define "keda.metricsAdapter.name" -}}{{ printf "%s-metrics-apiserver" (include "keda.controller.name" .) }}{{- end }}
{{- define "keda.webhooks.name" -}}{{ .Values.webhooks.name | default "keda-admission-webhooks" }}{{- end }}
{{- define "keda.webhooks.configurationName" -}}keda-admission{{- end }}
{{- define "keda.apiService.name" -}}v1beta1.external.metrics.k8s.io{{- end }}
{{- define "keda.certManager.certificateName" -}}keda-operator-tls-certificates{{- end }}

{{- /* Whether each component is installed ("true" or empty). */ -}}
{{- define "keda.controller.enabled" -}}{{ if (dig "operator" "enabled" true (.Values.kedaTs | default dict)) }}true{{ end }}{{- end }}
{{- define "keda.metricsAdapter.enabled" -}}{{ if (dig "enabled" true (.Values.metricsServer | default dict)) }}true{{ end }}{{- end }}
{{- define "keda.webhooks.enabled" -}}{{ if (dig "enabled" true (.Values.webhooks | default dict)) }}true{{ end }}{{- end }}

{{- /* Ports that tie the Deployments, Services, APIService and webhook configuration together. */ -}}
{{- define "keda.controller.grpcPort" -}}{{ .Values.operator.metricsServiceTargetPort | default 9666 }}{{- end }}
{{- define "keda.controller.probePort" -}}8081{{- end }}
{{- define "keda.metricsAdapter.probePort" -}}8081{{- end }}
{{- define "keda.metricsAdapter.securePort" -}}{{ .Values.service.portHttpsTarget | default 6443 }}{{- end }}
{{- define "keda.webhooks.port" -}}{{ .Values.webhooks.port | default 9443 }}{{- end }}
{{- define "keda.webhooks.probePort" -}}{{ .Values.webhooks.healthProbePort | default 8081 }}{{- end }}

{{- /* The gRPC address the metrics adapter dials: the controller Service in the release namespace. */ -}}
{{- define "keda.controller.grpcAddress" -}}
{{- printf "%s.%s.svc.%s:%s" (include "keda.controller.name" .) .Release.Namespace (.Values.clusterDomain | default "cluster.local") (include "keda.controller.grpcPort" .) -}}
{{- end }}

{{- /* Labels of every object. Call with (dict "ctx" $ "component" "operator" "name" "keda-operator"). */ -}}
{{- define "keda.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: keda
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Values.customManagedBy | default .ctx.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version }}
{{- with .ctx.Values.additionalLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- /* Labels a Deployment selects its Pods by; never change between releases. */ -}}
{{- define "keda.selectorLabels" -}}
app: {{ .name }}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- end }}

{{- /* metadata.annotations: `extra` (a dict) and additionalAnnotations; nothing when both are empty. */ -}}
{{- define "keda.annotations" -}}
{{- with (merge (dict) (.extra | default dict) (.ctx.Values.additionalAnnotations | default dict)) }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- /*
registry/repository:tag of a component image. Call with (dict "ctx" $ "image" .Values.image.keda "ours" "keda-ts/keda-ts-controller").
KEDA's own images (kedacore/keda, kedacore/keda-metrics-apiserver, kedacore/keda-admission-webhooks, as a KEDA
values.yaml names them) are replaced by keda-ts's, with the chart's appVersion: they run KEDA, not keda-ts.
global.image.registry wins over the image's registry, as in KEDA's chart.
*/ -}}
{{- define "keda.image" -}}
{{- $image := .image | default dict -}}
{{- $repository := $image.repository | default .ours -}}
{{- $tag := $image.tag | default .ctx.Chart.AppVersion -}}
{{- if regexMatch "(^|/)kedacore/keda(-metrics-apiserver|-admission-webhooks)?$" $repository -}}
{{- $repository = .ours -}}
{{- $tag = .ctx.Chart.AppVersion -}}
{{- end -}}
{{- $registry := (dig "image" "registry" "" (.ctx.Values.global | default dict)) | default $image.registry -}}
{{- if hasPrefix "ghcr.io/" $repository }}{{ $registry = "" }}{{ end -}}
{{- if $registry }}{{ $registry }}/{{ end }}{{ $repository }}:{{ $tag }}
{{- end }}

{{- /* True ("true") when a KEDA image repository in the values was replaced by keda-ts's. */ -}}
{{- define "keda.image.replaced" -}}
{{- range (list .Values.image.keda .Values.image.metricsApiServer .Values.image.webhooks) }}
{{- if regexMatch "(^|/)kedacore/keda(-metrics-apiserver|-admission-webhooks)?$" ((. | default dict).repository | default "") }}true{{ end }}
{{- end }}
{{- end }}

{{- /* Log level for --log-level from a KEDA level: debug, info, warn, error; a zap verbosity (a number > 0) is debug. */ -}}
{{- define "keda.logLevel" -}}
{{- $level := toString (. | default "info") | lower -}}
{{- if has $level (list "debug" "info" "warn" "error") }}{{ $level }}
{{- else if regexMatch "^[0-9]+$" $level }}{{ if eq $level "0" }}info{{ else }}debug{{ end }}
{{- else }}info{{ end }}
{{- end }}

{{- /* Environment every component gets: who and where it is, its log format, then env and the component's env. */ -}}
{{- define "keda.commonEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: LOG_FORMAT
  value: {{ .format | default "json" | quote }}
{{- end }}

{{- /* Environment variables the user added: the top-level env, then the component's own. */ -}}
{{- define "keda.userEnv" -}}
{{- with .ctx.Values.env }}
{{ toYaml . }}
{{- end }}
{{- with .own }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- /* Where the certificates live: Secret certificates.secretName, mounted at certificates.mountPath. */ -}}
{{- /*
The certificate Secret with `items:`: each Pod gets ca.crt and only its own pair (file name = Secret key).
Self-managed (the controller issues a leaf per component): the controller gets ca.crt, ca.key and
tls.crt/tls.key (its gRPC server), the metrics server metrics-adapter-client.crt/.key (gRPC client) and
metrics-adapter.crt/.key (HTTPS), the webhooks webhook.crt/.key. Certificates a user brings (cert-manager,
autoGenerated=false): KEDA's one shared pair tls.crt/tls.key (and ca.crt) in every Pod, no ca.key.
Arguments: ctx, component (operator, metrics-server, webhooks), optional.
*/ -}}
{{- define "keda.certs.items" -}}
{{- $self := include "keda.certs.selfManaged" .ctx | eq "true" -}}
{{- $keys := list "ca.crt" "tls.crt" "tls.key" -}}
{{- if and $self (eq .component "operator") }}{{ $keys = list "ca.crt" "ca.key" "tls.crt" "tls.key" }}{{ end -}}
{{- if and $self (eq .component "metrics-server") }}{{ $keys = list "ca.crt" "metrics-adapter-client.crt" "metrics-adapter-client.key" "metrics-adapter.crt" "metrics-adapter.key" }}{{ end -}}
{{- if and $self (eq .component "webhooks") }}{{ $keys = list "ca.crt" "webhook.crt" "webhook.key" }}{{ end -}}
{{- range $keys }}
- key: {{ . }}
  path: {{ . }}
{{- end }}
{{- end }}
{{- define "keda.certs.volume" -}}
- name: certificates
  secret:
    secretName: {{ .ctx.Values.certificates.secretName }}
    defaultMode: 420
    items:
      {{- include "keda.certs.items" . | trim | nindent 6 }}
    {{- if .optional }}
    optional: true
    {{- end }}
{{- end }}
{{- define "keda.certs.volumeMount" -}}
- name: certificates
  mountPath: {{ .Values.certificates.mountPath }}
  readOnly: true
{{- end }}

{{- /* True ("true") when the controller generates and rotates the certificates itself. */ -}}
{{- define "keda.certs.selfManaged" -}}
{{- if and .Values.certificates.autoGenerated (not .Values.certificates.certManager.enabled) }}true{{ end -}}
{{- end }}

{{- /* cert-manager CA injection annotation for the APIService and the webhook configuration. */ -}}
{{- define "keda.certManager.injectAnnotation" -}}
{{- $cm := .Values.certificates.certManager -}}
{{- if $cm.enabled }}
{{- if and (not $cm.generateCA) $cm.issuer.generate }}
cert-manager.io/inject-ca-from-secret: {{ printf "%s/%s" .Release.Namespace $cm.caSecretName }}
{{- else }}
cert-manager.io/inject-ca-from: {{ printf "%s/%s" .Release.Namespace (include "keda.certManager.certificateName" .) }}
{{- end }}
{{- end }}
{{- end }}

{{- /* A writable /tmp (the root filesystem is read-only). */ -}}
{{- define "keda.tmp.volume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end }}
{{- define "keda.tmp.volumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{- /* An extraArgs map rendered as --key=value, in key order. */ -}}
{{- define "keda.extraArgs" -}}
{{- range $k, $v := . }}
- {{ printf "--%s=%v" $k $v | quote }}
{{- end }}
{{- end }}

{{- /*
Pod-level settings of a Deployment. Call with (dict "ctx" $ "block" .Values.operator "sa" .Values.serviceAccount.operator
"podSecurityContext" ... "tsc" ... "grace" ... "azure" bool).
*/ -}}
{{- define "keda.podSpec" -}}
{{- $v := .ctx.Values }}
{{- $b := .block | default dict }}
serviceAccountName: {{ .sa.name }}
automountServiceAccountToken: {{ .sa.automountServiceAccountToken }}
enableServiceLinks: {{ kindIs "invalid" $v.enableServiceLinks | ternary true $v.enableServiceLinks }}
terminationGracePeriodSeconds: {{ .grace | default 30 }}
{{- if $b.useHostNetwork }}
hostNetwork: true
{{- end }}
{{- with $b.dnsPolicy }}
dnsPolicy: {{ . }}
{{- end }}
{{- with ($b.dnsConfig | default (dig "dnsConfig" dict ($v.global | default dict))) }}
dnsConfig:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if not (kindIs "invalid" $b.hostUsers) }}
hostUsers: {{ $b.hostUsers }}
{{- end }}
{{- with $v.hostAliases }}
hostAliases:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml (.podSecurityContext | default dict) | nindent 2 }}
{{- with $v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with ($b.nodeSelector | default $v.nodeSelector) }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with ($b.tolerations | default $v.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with ($b.affinity | default $v.affinity) }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tsc }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  {{- if kindIs "string" . }}
  - name: {{ . | quote }}
  {{- else }}
  - {{ toYaml . | nindent 4 | trim }}
  {{- end }}
  {{- end }}
{{- end }}
{{- end }}

{{- /* Liveness and readiness probes on the plain-HTTP probe port (named "probes"). Call with the component block. */ -}}
{{- define "keda.probes" -}}
livenessProbe:
  httpGet:
    path: /healthz
    port: probes
  {{- with .livenessProbe }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
readinessProbe:
  httpGet:
    path: /readyz
    port: probes
  {{- with .readinessProbe }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{- /* The Deployment's metadata and spec up to the Pod template's spec. Call with (dict "ctx" $ "component" .. "name" .. "block" .. "strategy" .. "podLabels" .. "podAnnotations" ..). */ -}}
{{- define "keda.deploymentHead" -}}
{{- $b := .block | default dict }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "keda.labels" . | nindent 4 }}
  {{- include "keda.annotations" (dict "ctx" .ctx) | nindent 2 }}
spec:
  replicas: {{ kindIs "invalid" $b.replicaCount | ternary 1 $b.replicaCount }}
  revisionHistoryLimit: {{ kindIs "invalid" $b.revisionHistoryLimit | ternary 10 $b.revisionHistoryLimit }}
  {{- with .strategy }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "keda.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "keda.labels" . | nindent 8 }}
        app: {{ .name }}
        {{- with .podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with .podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}

{{- /* A PodDisruptionBudget when its KEDA value (podDisruptionBudget.<component>) is not empty. Call with (dict "ctx" $ "component" .. "name" .. "pdb" ..). */ -}}
{{- define "keda.pdb" -}}
{{- $pdb := .pdb | default dict }}
{{- if or (hasKey $pdb "minAvailable") (hasKey $pdb "maxUnavailable") }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .name }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "keda.labels" . | nindent 4 }}
  {{- include "keda.annotations" (dict "ctx" .ctx) | nindent 2 }}
spec:
  {{- if not (kindIs "invalid" $pdb.minAvailable) }}
  minAvailable: {{ $pdb.minAvailable }}
  {{- end }}
  {{- if not (kindIs "invalid" $pdb.maxUnavailable) }}
  maxUnavailable: {{ $pdb.maxUnavailable }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "keda.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end }}

{{- /*
prometheus-operator objects of a component: ServiceMonitor, PodMonitor, PrometheusRule. Call with
(dict "ctx" $ "component" .. "name" .. "prometheus" .Values.prometheus.operator).
*/ -}}
{{- define "keda.monitoring" -}}
{{- $p := .prometheus | default dict }}
{{- $sm := $p.serviceMonitor | default dict }}
{{- $pm := $p.podMonitor | default dict }}
{{- $pr := $p.prometheusRules | default dict }}
{{- if and $p.enabled $sm.enabled }}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ .name }}
  namespace: {{ $sm.namespace | default .ctx.Release.Namespace }}
  labels:
    {{- include "keda.labels" . | nindent 4 }}
    {{- with $sm.additionalLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  {{- with $sm.jobLabel }}
  jobLabel: {{ . }}
  {{- end }}
  {{- with $sm.targetLabels }}
  targetLabels:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $sm.podTargetLabels }}
  podTargetLabels:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  namespaceSelector:
    matchNames:
      - {{ .ctx.Release.Namespace }}
  selector:
    matchLabels:
      {{- include "keda.selectorLabels" . | nindent 6 }}
  endpoints:
    {{- if $sm.targetPort }}
    - targetPort: {{ $sm.targetPort }}
    {{- else }}
    - port: {{ $sm.port | default "metrics" }}
    {{- end }}
      path: /metrics
      scheme: {{ $sm.scheme | default "http" }}
      {{- with $sm.interval }}
      interval: {{ . }}
      {{- end }}
      {{- with $sm.scrapeTimeout }}
      scrapeTimeout: {{ . }}
      {{- end }}
      {{- with (concat ($sm.relabelings | default list) ($sm.relabellings | default list)) }}
      relabelings:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $sm.metricRelabelings }}
      metricRelabelings:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $sm.tlsConfig }}
      tlsConfig:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
{{- if and $p.enabled $pm.enabled }}
---
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: {{ .name }}
  namespace: {{ $pm.namespace | default .ctx.Release.Namespace }}
  labels:
    {{- include "keda.labels" . | nindent 4 }}
    {{- with $pm.additionalLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  namespaceSelector:
    matchNames:
      - {{ .ctx.Release.Namespace }}
  selector:
    matchLabels:
      {{- include "keda.selectorLabels" . | nindent 6 }}
  podMetricsEndpoints:
    - port: metrics
      path: /metrics
      {{- with $pm.interval }}
      interval: {{ . }}
      {{- end }}
      {{- with $pm.scrapeTimeout }}
      scrapeTimeout: {{ . }}
      {{- end }}
      {{- with $pm.relabelings }}
      relabelings:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $pm.metricRelabelings }}
      metricRelabelings:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
{{- if and $p.enabled $pr.enabled }}
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: {{ .name }}
  namespace: {{ $pr.namespace | default .ctx.Release.Namespace }}
  labels:
    {{- include "keda.labels" . | nindent 4 }}
    {{- with $pr.additionalLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  groups:
    - name: {{ .name }}
      rules:
        {{- toYaml ($pr.alerts | default list) | nindent 8 }}
{{- end }}
{{- end }}

{{- /* prometheus.io/* scrape annotations for a Service when metrics are on but no ServiceMonitor is. Call with the prometheus block. */ -}}
{{- define "keda.scrapeAnnotations" -}}
{{- $p := . | default dict }}
{{- if and $p.enabled (not (dig "serviceMonitor" "enabled" false $p)) }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ $p.port | default 8080 | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end }}

{{- /* The watched namespaces (watchNamespace), as a list; empty: all. */ -}}
{{- define "keda.watchedNamespaces" -}}
{{- $watched := list }}
{{- range (splitList "," (.Values.watchNamespace | default "")) }}
{{- if trim . }}{{ $watched = append $watched (trim .) }}{{ end }}
{{- end }}
{{- toJson $watched }}
{{- end }}
