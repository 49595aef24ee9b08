{{/* Labels on every object. */}}
{{- define "selmount.labels" -}}
app.kubernetes.io/name: selmount
app.kubernetes.io/part-of: selmount
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* The controller pods' selector. */}}
{{- define "selmount.selector" -}}
app.kubernetes.io/name: selmount
app.kubernetes.io/component: controller
{{- end }}
