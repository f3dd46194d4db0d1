{{/* The prefix of every object's name: <release>-bk-plugin-operator, or the release name when it already holds the chart's. */}}
{{- define "bkp.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels every object carries. */}}
{{- define "bkp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: bk-plugin-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
{{- end -}}

{{/* Selector labels of one component (manager or shim); call with (list . "manager"). */}}
{{- define "bkp.selector" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: bk-plugin-operator
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* An image; call with (list . "manager"). */}}
{{- define "bkp.image" -}}
{{- $ := index . 0 -}}
{{- printf "%s/bk-plugin-%s:%s" $.Values.image.registry (index . 1) ($.Values.image.tag | default $.Chart.AppVersion) -}}
{{- end -}}

{{- define "bkp.managerName" -}}{{ include "bkp.fullname" . }}-manager{{- end -}}
{{- define "bkp.shimName" -}}{{ include "bkp.fullname" . }}-apiserver{{- end -}}

{{/* The callback key's Secret: the user's, or the one the manager creates. */}}
{{- define "bkp.callbackKeySecret" -}}
{{- .Values.callbackKey.existingSecret | default (printf "%s-callback-key" (include "bkp.fullname" .)) -}}
{{- end -}}

{{/* The watched namespace, checked. */}}
{{- define "bkp.watchNamespace" -}}
{{- required "watchNamespace must name the namespace of the PluginVersions and PluginInvocations" .Values.watchNamespace -}}
{{- end -}}

{{/* Pod anti-affinity spreading a component's replicas over nodes. */}}
{{- define "bkp.antiAffinity" -}}
{{- $ := index . 0 -}}
{{- $mode := index . 1 -}}
{{- if eq $mode "hard" }}
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include "bkp.selector" (list $ (index . 2)) | nindent 10 }}
{{- else if eq $mode "soft" }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "bkp.selector" (list $ (index . 2)) | nindent 12 }}
{{- else if ne $mode "" }}
{{- fail (printf "shim.podAntiAffinity is %q; use soft, hard or \"\"" $mode) }}
{{- end }}
{{- end -}}

{{/* The hardened container securityContext both components use. */}}
{{- define "bkp.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: [ALL]
{{- end -}}
