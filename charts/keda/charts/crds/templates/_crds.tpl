{{- define "keda.crds" }}
{{- /*
The keda.sh CRDs, rendered from the files libs/api generates into charts/keda/crds (read through the link
generated-crds, since .helmignore keeps Helm from installing crds/ on its own). As templates, `helm upgrade`
updates them and `helm uninstall` removes them, and with them every ScaledObject, ScaledJob and
TriggerAuthentication, unless kedaTs.crds.keep is set.
Include it with the keda chart's root context: its .Files (not this library's) hold generated-crds/.
*/}}
{{- if .Values.crds.install }}
{{- range $path, $_ := .Files.Glob "generated-crds/*.yaml" }}
{{- range $doc := regexSplit "(?m)^---[ \t]*$" ($.Files.Get $path) -1 }}
{{- $crd := fromYaml $doc }}
{{- if and $crd (eq (get $crd "kind") "CustomResourceDefinition") }}
{{- $meta := $crd.metadata }}
{{- $labels := merge (dict "app.kubernetes.io/part-of" "keda" "app.kubernetes.io/component" "crds" "app.kubernetes.io/managed-by" ($.Values.customManagedBy | default $.Release.Service) "app.kubernetes.io/instance" $.Release.Name "app.kubernetes.io/version" $.Chart.AppVersion "helm.sh/chart" (printf "%s-%s" $.Chart.Name $.Chart.Version)) (default (dict) $meta.labels) (default (dict) $.Values.additionalLabels) }}
{{- $annotations := merge (dict) (default (dict) $meta.annotations) (default (dict) $.Values.crds.additionalAnnotations) }}
{{- if (dig "crds" "keep" false ($.Values.kedaTs | default dict)) }}
{{- $_ := set $annotations "helm.sh/resource-policy" "keep" }}
{{- end }}
{{- $_ := set $meta "labels" $labels }}
{{- if $annotations }}
{{- $_ := set $meta "annotations" $annotations }}
{{- end }}
---
# Source: generated/{{ base $path }}
{{ toYaml $crd }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
