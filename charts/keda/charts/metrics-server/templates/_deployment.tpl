{{- define "keda.metricsServer.deployment" }}
{{- if include "keda.metricsAdapter.enabled" . }}
{{- $name := include "keda.metricsAdapter.name" . }}
{{- $ms := .Values.metricsServer | default dict }}
{{- $ts := dig "metricsServer" dict (.Values.kedaTs | default dict) }}
{{- $prom := dig "metricServer" dict (.Values.prometheus | default dict) }}
{{- $log := dig "metricServer" dict (.Values.logging | default dict) }}
{{- $volumes := dig "metricsApiServer" dict (.Values.volumes | default dict) }}
{{- $ctx := dict "ctx" $ "component" "metrics-adapter" "name" $name "block" $ms
  "strategy" (dig "metricsApiServer" dict (.Values.upgradeStrategy | default dict))
  "podLabels" (dig "metricsAdapter" dict (.Values.podLabels | default dict))
  "podAnnotations" (dig "metricsAdapter" dict (.Values.podAnnotations | default dict)) }}
{{- include "keda.deploymentHead" $ctx }}
    spec:
      {{- include "keda.podSpec" (dict "ctx" $ "block" $ms "sa" .Values.serviceAccount.metricServer
          "podSecurityContext" (dig "metricServer" dict (.Values.podSecurityContext | default dict))
          "tsc" (dig "metricsServer" list (.Values.topologySpreadConstraints | default dict))
          "grace" $ts.terminationGracePeriodSeconds) | nindent 6 }}
      containers:
        - name: metrics-adapter
          image: {{ include "keda.image" (dict "ctx" $ "image" .Values.image.metricsApiServer "ours" "keda-ts/keda-ts-metrics-adapter") | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy | default "IfNotPresent" }}
          args:
            {{- /* zapLevel is the adapter's level in KEDA v2.20; level and stderrthreshold are klog's. */}}
            - --log-level={{ include "keda.logLevel" $log.zapLevel }}
            - --health-probe-bind-address=:{{ include "keda.metricsAdapter.probePort" . }}
            - --secure-port={{ include "keda.metricsAdapter.securePort" . }}
            - --metrics-service-address={{ include "keda.controller.grpcAddress" . }}
            {{- with (include "keda.extraArgs" (dig "metricsAdapter" dict (.Values.extraArgs | default dict)) | trim) }}
            {{- . | nindent 12 }}
            {{- end }}
          env:
            {{- include "keda.commonEnv" (dict "format" $log.zapEncoder) | nindent 12 }}
            - name: WATCH_NAMESPACE
              value: {{ .Values.watchNamespace | default "" | quote }}
            - name: CERT_DIR
              value: {{ .Values.certificates.mountPath | quote }}
            {{- if $prom.enabled }}
            - name: METRICS_BIND_ADDRESS
              value: ":{{ $prom.port | default 8080 }}"
            {{- end }}
            {{- include "keda.userEnv" (dict "ctx" $ "own" $ms.env) | nindent 12 }}
          ports:
            - name: probes
              containerPort: {{ include "keda.metricsAdapter.probePort" . }}
              protocol: TCP
            - name: https
              containerPort: {{ include "keda.metricsAdapter.securePort" . }}
              protocol: TCP
            {{- if $prom.enabled }}
            - name: metrics
              containerPort: {{ $prom.port | default 8080 }}
              protocol: TCP
            {{- end }}
          {{- include "keda.probes" $ms | nindent 10 }}
          resources:
            {{- toYaml (dig "metricServer" dict (.Values.resources | default dict)) | nindent 12 }}
          securityContext:
            {{- toYaml (dig "metricServer" dict (.Values.securityContext | default dict)) | nindent 12 }}
          volumeMounts:
            {{- include "keda.certs.volumeMount" . | nindent 12 }}
            {{- include "keda.tmp.volumeMount" . | nindent 12 }}
            {{- with $volumes.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        {{- /* Serving certificate and the CA the controller's gRPC certificate is checked against; the Pod waits for the Secret. */}}
        {{- include "keda.certs.volume" (dict "ctx" $ "component" "metrics-server" "optional" false) | nindent 8 }}
        {{- include "keda.tmp.volume" . | nindent 8 }}
        {{- with $volumes.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
{{- with (include "keda.pdb" (dict "ctx" $ "component" "metrics-adapter" "name" $name "pdb" (dig "metricServer" dict (.Values.podDisruptionBudget | default dict)))) }}
---
{{ . }}
{{- end }}
{{- include "keda.monitoring" (dict "ctx" $ "component" "metrics-adapter" "name" $name "prometheus" $prom) }}
{{- end }}
{{- end }}
