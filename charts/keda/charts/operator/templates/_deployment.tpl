{{- define "keda.operator.deployment" }}
{{- if include "keda.controller.enabled" . }}
{{- $name := include "keda.controller.name" . }}
{{- $op := .Values.operator | default dict }}
{{- $ts := dig "operator" dict (.Values.kedaTs | default dict) }}
{{- $le := $ts.leaderElection | default dict }}
{{- $prom := dig "operator" dict (.Values.prometheus | default dict) }}
{{- $certs := .Values.certificates }}
{{- $log := dig "operator" dict (.Values.logging | default dict) }}
{{- $volumes := dig "keda" dict (.Values.volumes | default dict) }}
{{- $azure := dig "azureWorkload" "enabled" false (.Values.podIdentity | default dict) }}
{{- $ctx := dict "ctx" $ "component" "operator" "name" $name "block" $op
  "strategy" (dig "operator" dict (.Values.upgradeStrategy | default dict))
  "podLabels" (merge (dict) (dig "keda" dict (.Values.podLabels | default dict)) ($azure | ternary (dict "azure.workload.identity/use" "true") dict))
  "podAnnotations" (dig "keda" dict (.Values.podAnnotations | default dict)) }}
{{- include "keda.deploymentHead" $ctx }}
    spec:
      {{- include "keda.podSpec" (dict "ctx" $ "block" $op "sa" .Values.serviceAccount.operator
          "podSecurityContext" (dig "operator" dict (.Values.podSecurityContext | default dict))
          "tsc" (dig "operator" list (.Values.topologySpreadConstraints | default dict))
          "grace" $ts.terminationGracePeriodSeconds) | nindent 6 }}
      {{- with $op.extraInitContainers }}
      initContainers:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: controller
          image: {{ include "keda.image" (dict "ctx" $ "image" .Values.image.keda "ours" "keda-ts/keda-ts-controller") | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy | default "IfNotPresent" }}
          args:
            - --log-level={{ include "keda.logLevel" $log.level }}
            - --health-probe-bind-address=:{{ include "keda.controller.probePort" . }}
            {{- if $prom.enabled }}
            - --metrics-bind-address=:{{ $prom.port | default 8080 }}
            {{- end }}
            {{- with (include "keda.extraArgs" (dig "keda" dict (.Values.extraArgs | default dict)) | trim) }}
            {{- . | nindent 12 }}
            {{- end }}
          env:
            {{- include "keda.commonEnv" (dict "format" $log.format) | nindent 12 }}
            - name: WATCH_NAMESPACE
              value: {{ .Values.watchNamespace | default "" | quote }}
            {{- with .Values.watchLabelSelector }}
            - name: WATCH_LABEL_SELECTOR
              value: {{ . | quote }}
            {{- end }}
            {{- with .Values.watchLabelSelectorForTriggerauth }}
            - name: WATCH_LABEL_SELECTOR_FOR_TRIGGERAUTH
              value: {{ . | quote }}
            {{- end }}
            - name: LEADER_ELECT
              value: {{ kindIs "invalid" $le.enabled | ternary true $le.enabled | quote }}
            - name: LEADER_ELECTION_ID
              value: {{ $op.leaderElectionID | default "operator.keda.sh" | quote }}
            - name: KEDA_OPERATOR_LEADER_ELECTION_LEASE_DURATION
              value: {{ $le.leaseDuration | default "15s" | quote }}
            - name: KEDA_OPERATOR_LEADER_ELECTION_RENEW_DEADLINE
              value: {{ $le.renewDeadline | default "10s" | quote }}
            - name: KEDA_OPERATOR_LEADER_ELECTION_RETRY_PERIOD
              value: {{ $le.retryPeriod | default "2s" | quote }}
            - name: METRICS_SERVICE_BIND_ADDRESS
              value: ":{{ include "keda.controller.grpcPort" . }}"
            - name: ENABLE_PROMETHEUS_METRICS
              value: {{ $prom.enabled | default false | quote }}
            {{- /* KEDA's opentelemetry.operator.enabled / .collector.uri: OTLP push (docs/opentelemetry.md). */}}
            {{- $otel := .Values.opentelemetry | default dict }}
            {{- if dig "operator" "enabled" false $otel }}
            - name: ENABLE_OPENTELEMETRY_METRICS
              value: "true"
            {{- end }}
            {{- with dig "collector" "uri" "" $otel }}
            - name: OTEL_EXPORTER_OTLP_ENDPOINT
              value: {{ . | quote }}
            {{- end }}
            - name: CERT_DIR
              value: {{ $certs.mountPath | quote }}
            - name: CERT_SECRET_NAME
              value: {{ $certs.secretName | quote }}
            - name: ENABLE_CERT_ROTATION
              value: {{ (include "keda.certs.selfManaged" .) | eq "true" | quote }}
            {{- $apiServicePatching := dig "operator" "apiServicePatching" "enabled" nil ($certs | default dict) }}
            {{- if not (kindIs "invalid" $apiServicePatching) }}
            - name: ENABLE_APISERVICE_PATCHING
              value: {{ $apiServicePatching | quote }}
            {{- end }}
            - name: OPERATOR_SERVICE_NAME
              value: {{ $name }}
            {{- /* The Service keda-operator has no selector: the leader points it at POD_IP (its EndpointSlice). */}}
            - name: METRICS_SERVICE_ENDPOINT_SLICE
              value: {{ $name }}
            - name: POD_IP
              valueFrom:
                fieldRef:
                  fieldPath: status.podIP
            - name: METRICS_SERVER_SERVICE_NAME
              value: {{ include "keda.metricsAdapter.name" . }}
            - name: WEBHOOKS_SERVICE_NAME
              value: {{ include "keda.webhooks.name" . }}
            - name: VALIDATING_WEBHOOK_NAME
              value: {{ include "keda.webhooks.configurationName" . }}
            - name: K8S_CLUSTER_DOMAIN
              value: {{ .Values.clusterDomain | default "cluster.local" | quote }}
            - name: K8S_CLUSTER_NAME
              value: {{ .Values.clusterName | default "kubernetes-default" | quote }}
            - name: KEDA_HTTP_DEFAULT_TIMEOUT
              value: {{ dig "timeout" 3000 (.Values.http | default dict) | quote }}
            {{- with $ts.scalerEgress }}
            {{- if .denyCidrs }}
            - name: KEDA_TS_SCALER_EGRESS_DENY_CIDRS
              value: {{ join "," .denyCidrs | quote }}
            {{- end }}
            {{- if .allowCidrs }}
            - name: KEDA_TS_SCALER_EGRESS_ALLOW_CIDRS
              value: {{ join "," .allowCidrs | quote }}
            {{- end }}
            {{- if .allowLinkLocal }}
            - name: KEDA_TS_SCALER_EGRESS_ALLOW_LINK_LOCAL
              value: "true"
            {{- end }}
            {{- end }}
            {{- with $ts.maxConcurrentScalerReads }}
            - name: KEDA_TS_MAX_CONCURRENT_SCALER_READS
              value: {{ . | quote }}
            {{- end }}
            {{- with $ts.boundServiceAccountToken }}
            {{- if .shortLived }}
            - name: KEDA_TS_BOUND_SERVICE_ACCOUNT_TOKEN_SHORT_LIVED
              value: "true"
            {{- end }}
            {{- if .audiences }}
            - name: KEDA_TS_BOUND_SERVICE_ACCOUNT_TOKEN_AUDIENCE
              value: {{ join "," .audiences | quote }}
            {{- end }}
            {{- end }}
            - name: KEDA_CLUSTER_OBJECT_NAMESPACE
              value: {{ .Release.Namespace | quote }}
            {{- if dig "operator" "restrict" "secret" false (.Values.permissions | default dict) }}
            - name: KEDA_RESTRICT_SECRET_ACCESS
              value: "true"
            {{- end }}
            {{- include "keda.userEnv" (dict "ctx" $ "own" $op.env) | nindent 12 }}
          ports:
            - name: probes
              containerPort: {{ include "keda.controller.probePort" . }}
              protocol: TCP
            - name: metricsservice
              containerPort: {{ include "keda.controller.grpcPort" . }}
              protocol: TCP
            {{- if $prom.enabled }}
            - name: metrics
              containerPort: {{ $prom.port | default 8080 }}
              protocol: TCP
            {{- end }}
          {{- include "keda.probes" $op | nindent 10 }}
          resources:
            {{- toYaml (dig "operator" dict (.Values.resources | default dict)) | nindent 12 }}
          securityContext:
            {{- toYaml (dig "operator" dict (.Values.securityContext | default dict)) | nindent 12 }}
          volumeMounts:
            {{- include "keda.certs.volumeMount" . | nindent 12 }}
            {{- include "keda.tmp.volumeMount" . | nindent 12 }}
            {{- if .Values.grpcTLSCertsSecret }}
            - name: grpc-certs
              mountPath: /grpccerts
              readOnly: true
            {{- end }}
            {{- if .Values.hashiCorpVaultTLS }}
            - name: vault-certs
              mountPath: /vault
              readOnly: true
            {{- end }}
            {{- with $volumes.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
        {{- with $op.extraContainers }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      volumes:
        {{- /* The controller writes this Secret itself when it manages certificates, so it may be absent at start. */}}
        {{- include "keda.certs.volume" (dict "ctx" $ "component" "operator" "optional" (include "keda.certs.selfManaged" . | eq "true")) | nindent 8 }}
        {{- include "keda.tmp.volume" . | nindent 8 }}
        {{- with .Values.grpcTLSCertsSecret }}
        - name: grpc-certs
          secret:
            secretName: {{ . }}
        {{- end }}
        {{- with .Values.hashiCorpVaultTLS }}
        - name: vault-certs
          secret:
            secretName: {{ . }}
        {{- end }}
        {{- with $volumes.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
{{- with (include "keda.pdb" (dict "ctx" $ "component" "operator" "name" $name "pdb" (dig "operator" dict (.Values.podDisruptionBudget | default dict)))) }}
---
{{ . }}
{{- end }}
{{- include "keda.monitoring" (dict "ctx" $ "component" "operator" "name" $name "prometheus" $prom) }}
{{- end }}
{{- end }}
