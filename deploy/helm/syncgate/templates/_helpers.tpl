{{/* Names and labels, as `helm create` makes them. */}}
{{- define "syncgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "syncgate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "syncgate.adminName" -}}
{{- printf "%s-admin" (include "syncgate.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "syncgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "syncgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "syncgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "syncgate.labels" -}}
helm.sh/chart: {{ include "syncgate.chart" . }}
{{ include "syncgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "syncgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "syncgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* true when the pods share a Redis (any of the ways to name one). */}}
{{- define "syncgate.hasRedis" -}}
{{- if or .Values.redis.url .Values.redis.existingSecret .Values.redis.cluster .Values.redis.sentinel.masterName }}true{{ end }}
{{- end }}

{{/* The ConfigMap holding the trigger file, "" when there is none. */}}
{{- define "syncgate.triggersConfigMap" -}}
{{- if .Values.triggers.existingConfigMap }}
{{- .Values.triggers.existingConfigMap }}
{{- else if .Values.triggers.content }}
{{- printf "%s-triggers" (include "syncgate.fullname" .) }}
{{- end }}
{{- end }}

{{/* The Secret this chart makes for inline secret values, "" when none is given. */}}
{{- define "syncgate.ownSecret" -}}
{{- if or .Values.admin.token (and .Values.adminUI.passwordHash (not .Values.adminUI.existingSecret)) (and (eq .Values.auth.mode "session") (not .Values.session.oauth.existingSecret) (or .Values.session.oauth.clientID .Values.session.oauth.clientSecret)) }}
{{- include "syncgate.fullname" . }}
{{- end }}
{{- end }}

{{/*
syncgate.validate fails the render with a message naming the value to set, for
configurations that would start but not work.
*/}}
{{- define "syncgate.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not (include "syncgate.hasRedis" .)) }}
{{- fail (printf "replicaCount is %d but no Redis is configured: each pod would deliver only the events of the API calls it proxied itself. Set redis.url (or redis.existingSecret, redis.cluster, redis.sentinel), or replicaCount=1." (int .Values.replicaCount)) }}
{{- end }}
{{- if and (not .Values.upstream.url) (not .Values.demo) }}
{{- fail "upstream.url is required: the base URL of your API, e.g. http://api.default.svc:9000/v1 (or demo=true for the built-in example)" }}
{{- end }}
{{- if and .Values.triggers.content .Values.triggers.existingConfigMap }}
{{- fail "set triggers.content or triggers.existingConfigMap, not both" }}
{{- end }}
{{- if and .Values.redis.url .Values.redis.existingSecret }}
{{- fail "set redis.url or redis.existingSecret, not both" }}
{{- end }}
{{- if gt (len (compact (list (or .Values.redis.url .Values.redis.existingSecret) (join "," .Values.redis.cluster) .Values.redis.sentinel.masterName))) 1 }}
{{- fail "name Redis one way: a URL (redis.url or redis.existingSecret), redis.cluster, or redis.sentinel" }}
{{- end }}
{{- if and .Values.redis.sentinel.masterName (not .Values.redis.sentinel.addresses) }}
{{- fail "redis.sentinel.masterName needs redis.sentinel.addresses (host:port of each Sentinel)" }}
{{- end }}
{{- if not (has .Values.auth.mode (list "proxy" "session")) }}
{{- fail (printf "auth.mode is %q: want proxy or session" .Values.auth.mode) }}
{{- end }}
{{- if and (eq .Values.auth.mode "session") (not .Values.session.oauth.existingSecret) (not (and .Values.session.oauth.clientID .Values.session.oauth.clientSecret)) }}
{{- fail "auth.mode=session needs the OAuth client: session.oauth.existingSecret (keys session.oauth.clientIDKey, clientSecretKey), or session.oauth.clientID and clientSecret" }}
{{- end }}
{{- if and (eq .Values.auth.mode "session") (gt (int .Values.replicaCount) 1) .Values.session.store (ne .Values.session.store "redis") }}
{{- fail (printf "session.store %q is local to one pod: with replicaCount %d use redis (or leave it empty)" .Values.session.store (int .Values.replicaCount)) }}
{{- end }}
{{- if and .Values.adminUI.user (not (or .Values.adminUI.existingSecret .Values.adminUI.passwordHash)) }}
{{- fail "adminUI.user needs the bcrypt hash of its password: adminUI.existingSecret (key adminUI.existingSecretKey) or adminUI.passwordHash" }}
{{- end }}
{{- if and .Values.session.drive.enabled (ne .Values.auth.mode "session") }}
{{- fail "session.drive.enabled needs auth.mode=session" }}
{{- end }}
{{- if and .Values.admin.token (lt (len .Values.admin.token) 16) }}
{{- fail "admin.token must be at least 16 characters" }}
{{- end }}
{{- if lt (int .Values.shutdownTimeoutSeconds) 1 }}
{{- fail "shutdownTimeoutSeconds must be at least 1" }}
{{- end }}
{{- end }}

{{/*
syncgate.envList: environment variables from a dict of name → value, those whose value is
set (not empty, not null); in name order.
*/}}
{{- define "syncgate.envList" -}}
{{- range $name, $v := . }}
{{- if and (not (kindIs "invalid" $v)) (ne (toString $v) "") }}
- name: {{ $name }}
  value: {{ toString $v | quote }}
{{- end }}
{{- end }}
{{- end }}
