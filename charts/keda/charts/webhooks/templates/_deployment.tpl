{{- define "keda.webhooks.deployment" }}
{{- if include "keda.webhooks.enabled" . }}
{{- $name := include "keda.webhooks.name" . }}
{{- $wh := .Values.webhooks | default dict }}
{{- $ts := dig "webhooks" dict (.Values.kedaTs | default dict) }}
{{- $prom := dig "webhooks" dict (.Values.prometheus | default dict) }}
{{- $log := dig "webhooks" dict (.Values.logging | default dict) }}
{{- $volumes := dig "webhooks" dict (.Values.volumes | default dict) }}
{{- $ctx := dict "ctx" $ "component" "webhook" "name" $name "block" $wh
  "strategy" (dig "webhooks" dict (.Values.upgradeStrategy | default dict))
  "podLabels" (dig "webhooks" dict (.Values.podLabels | default dict))
  "podAnnotations" (dig "webhooks" dict (.Values.podAnnotations | default dict)) }}
{{- include "keda.deploymentHead" $ctx }}
    spec:
      {{- include "keda.podSpec" (dict "ctx" $ "block" $wh "sa" .Values.serviceAccount.webhooks
          "podSecurityContext" (dig "webhooks" dict (.Values.podSecurityContext | default dict))
          "tsc" (dig "webhooks" list (.Values.topologySpreadConstraints | default dict))
          "grace" $ts.terminationGracePeriodSeconds) | nindent 6 }}
      containers:
        - name: webhook
          image: {{ include "keda.image" (dict "ctx" $ "image" .Values.image.webhooks "ours" "keda-ts/keda-ts-webhook") | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy | default "IfNotPresent" }}
          args:
            - --log-level={{ include "keda.logLevel" $log.level }}
            - --health-probe-bind-address=:{{ include "keda.webhooks.probePort" . }}
            - --port={{ include "keda.webhooks.port" . }}
          env:
            {{- include "keda.commonEnv" (dict "format" $log.format) | nindent 12 }}
            - name: CERT_DIR
              value: {{ .Values.certificates.mountPath | quote }}
            {{- if $prom.enabled }}
            - name: METRICS_BIND_ADDRESS
              value: ":{{ $prom.port | default 8080 }}"
            {{- end }}
            {{- include "keda.userEnv" (dict "ctx" $ "own" $wh.env) | nindent 12 }}
          ports:
            - name: probes
              containerPort: {{ include "keda.webhooks.probePort" . }}
              protocol: TCP
            - name: https
              containerPort: {{ include "keda.webhooks.port" . }}
              protocol: TCP
            {{- if $prom.enabled }}
            - name: metrics
              containerPort: {{ $prom.port | default 8080 }}
              protocol: TCP
            {{- end }}
          {{- include "keda.probes" $wh | nindent 10 }}
          resources:
            {{- toYaml (dig "webhooks" dict (.Values.resources | default dict)) | nindent 12 }}
          securityContext:
            {{- toYaml (dig "webhooks" dict (.Values.securityContext | default dict)) | nindent 12 }}
          volumeMounts:
            {{- include "keda.certs.volumeMount" . | nindent 12 }}
            {{- include "keda.tmp.volumeMount" . | nindent 12 }}
            {{- with $volumes.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        {{- /* The serving certificate; the Pod waits for the Secret. */}}
        {{- include "keda.certs.volume" (dict "ctx" $ "component" "webhooks" "optional" false) | nindent 8 }}
        {{- include "keda.tmp.volume" . | nindent 8 }}
        {{- with $volumes.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
{{- with (include "keda.pdb" (dict "ctx" $ "component" "webhook" "name" $name "pdb" (dig "webhooks" dict (.Values.podDisruptionBudget | default dict)))) }}
---
{{ . }}
{{- end }}
{{- include "keda.monitoring" (dict "ctx" $ "component" "webhook" "name" $name "prometheus" $prom) }}
{{- end }}
{{- end }}
