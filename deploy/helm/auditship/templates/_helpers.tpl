{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "auditship.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Object names: the release's unless overridden; "auditship" for a release named so. */}}
{{- define "auditship.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "auditship.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "auditship.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Selector labels: stable across upgrades (a DaemonSet's selector is immutable). */}}
{{- define "auditship.selectorLabels" -}}
app.kubernetes.io/name: {{ include "auditship.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "auditship.labels" -}}
{{ include "auditship.selectorLabels" . }}
app.kubernetes.io/part-of: auditship
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "auditship.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "auditship.configMapName" -}}
{{- if .Values.config.existingConfigMap -}}
{{ .Values.config.existingConfigMap }}
{{- else -}}
{{ include "auditship.fullname" . }}-config
{{- end -}}
{{- end -}}

{{- define "auditship.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ default (include "auditship.fullname" .) .Values.serviceAccount.name }}
{{- else -}}
{{ default "default" .Values.serviceAccount.name }}
{{- end -}}
{{- end -}}

{{/* The agent's environment: node name for object keys, GOMEMLIMIT from the memory limit. */}}
{{- define "auditship.env" -}}
- name: NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: {{ .nodeField }}
- name: GOMEMLIMIT
  valueFrom:
    resourceFieldRef:
      {{- if .container }}
      containerName: {{ .container }}
      {{- end }}
      resource: limits.memory
{{- with .root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Volumes every mode mounts into the agent: config and credentials (named with
     .prefix: "" for the DaemonSet, "auditship-" beside kube-audit-rest's own volumes). */}}
{{- define "auditship.commonVolumes" -}}
{{- $v := .root.Values -}}
- name: {{ .prefix }}config
  configMap:
    name: {{ include "auditship.configMapName" .root }}
- name: {{ .prefix }}credentials
  secret:
    secretName: {{ $v.credentials.existingSecret }}
    defaultMode: 0400
    {{- if $v.credentials.optional }}
    optional: true
    {{- end }}
{{- with $v.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The agent's config file: config.inline, else the chart's default (files/auditship.yaml). */}}
{{- define "auditship.configFile" -}}
{{- if .Values.config.inline -}}
{{ toYaml .Values.config.inline }}
{{- else -}}
{{ .Files.Get "files/auditship.yaml" }}
{{- end -}}
{{- end -}}

{{- define "auditship.podAnnotations" -}}
{{- if and (not .Values.config.existingConfigMap) (not .Values.config.hotReload) }}
checksum/config: {{ include "auditship.configFile" . | sha256sum }}
{{- end }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}
