{{- define "jitsi-gate.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "jitsi-gate.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "jitsi-gate.labels" -}}
{{ include "jitsi-gate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "jitsi-gate.secretFile" -}}
{{- printf "%s/%s" .root.Values.secrets.mountPath .key -}}
{{- end -}}

{{/* The config file: chart-managed keys (listener, secrets as *_file,
store, metrics) around the admin's backends, rules and extraConfig. No
secret value is ever rendered here. */}}
{{- define "jitsi-gate.config" -}}
{{- $v := .Values -}}
{{- $cfg := dict
  "server" (dict
    "listen" (printf "0.0.0.0:%v" $v.service.port)
    "public_url" $v.publicURL
    "trusted_proxies" $v.trustedProxies
    "shutdown_delay" $v.shutdownDelay
    "shutdown_timeout" $v.shutdownTimeout)
  "jitsi" (merge (dict "signing" (dict "algorithm" "HS256" "secret_file" (include "jitsi-gate.secretFile" (dict "root" . "key" $v.secrets.keys.jwtAppSecret)))) (deepCopy $v.jitsi))
  "session" (merge (dict "secret_file" (include "jitsi-gate.secretFile" (dict "root" . "key" $v.secrets.keys.sessionSecret))) (deepCopy $v.session))
  "backends" $v.backends
  "rules" $v.rules
  "log" $v.log
-}}
{{- if $v.store.driver -}}
{{- $_ := set $cfg "store" (dict "driver" $v.store.driver "dsn_file" (include "jitsi-gate.secretFile" (dict "root" . "key" $v.secrets.keys.postgresDSN))) -}}
{{- end -}}
{{- if $v.metrics.enabled -}}
{{- $_ := set $cfg "metrics" (dict "listen" (printf "0.0.0.0:%v" $v.metrics.port)) -}}
{{- end -}}
{{- toYaml (merge $cfg (deepCopy $v.extraConfig)) -}}
{{- end -}}
