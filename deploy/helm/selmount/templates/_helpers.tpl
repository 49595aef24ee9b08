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

{{/* What every validating webhook shares. */}}
{{- define "selmount.podRules" -}}
- apiGroups: [""]
  apiVersions: [v1]
  operations: [CREATE, UPDATE]
  resources: [pods]
  scope: Namespaced
{{- end }}

{{/* Only pods with a claim or an ephemeral volume can conflict. */}}
{{- define "selmount.podHasClaim" -}}
- name: has-claim
  expression: >-
    has(object.spec.volumes) && object.spec.volumes.exists(v, has(v.persistentVolumeClaim) || has(v.ephemeral))
{{- end }}

{{/* Ends with the namespaceSelector's matchExpressions: callers may add more. */}}
{{- define "selmount.validatingCommon" -}}
admissionReviewVersions: [v1]
clientConfig:
  service:
    name: selmount-webhook
    namespace: {{ .Release.Namespace }}
    path: /validate
    port: 443
failurePolicy: Ignore
matchPolicy: Equivalent
sideEffects: None
timeoutSeconds: {{ .Values.webhook.timeoutSeconds }}
# Never kube-system or selmount's own namespace.
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values: [kube-system, {{ .Release.Namespace }}]
{{- end }}

{{/* Non-empty when the pods allocate MCS levels (--allocate-levels): the
webhook unless webhook.allocateLevels=false, the controller alone with the
admission policy. */}}
{{- define "selmount.allocateLevels" -}}
{{- if .Values.webhook.enabled -}}
{{- if .Values.webhook.allocateLevels }}true{{ end -}}
{{- else if .Values.admissionPolicy.enabled -}}
true
{{- end -}}
{{- end }}
