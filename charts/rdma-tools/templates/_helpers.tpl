{{/*
Base name of every object: .Values.name (the rdma-tools chart's), else the release name; at
most 43 characters, so that NAME-periodic is a valid CronJob name (52).
*/}}
{{- define "railcheck.fullname" -}}
{{- default .Release.Name .Values.name | trunc 43 | trimSuffix "-" -}}
{{- end -}}

{{- define "railcheck.selectorLabels" -}}
app.kubernetes.io/name: railcheck
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end -}}

{{- define "railcheck.labels" -}}
{{ include "railcheck.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | quote }}
{{- end -}}

{{- define "railcheck.image" -}}
{{- $tag := toString (default .Chart.AppVersion .Values.image.tag) -}}
{{- if .Values.image.registry -}}
{{- printf "%s/%s:%s" .Values.image.registry .Values.image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "railcheck.tokenSecret" -}}
{{- default (printf "%s-token" (include "railcheck.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}

{{/* DNS name of the headless Service: every A record is a ready agent. */}}
{{- define "railcheck.discoveryName" -}}
{{- printf "%s.%s.svc" (include "railcheck.fullname" .) .Release.Namespace -}}
{{- end -}}

{{/* Renders a value that may hold templates (as the rdma-tools chart's tplvalues.render). */}}
{{- define "railcheck.tplvalues" -}}
{{- if typeIs "string" .value -}}
{{- tpl .value .context -}}
{{- else -}}
{{- tpl (toYaml .value) .context -}}
{{- end -}}
{{- end -}}

{{/* A number as an integer (values arrive as float64: 1048576 would print as 1.048576e+06). */}}
{{- define "railcheck.int" -}}
{{- if kindIs "string" . -}}{{ . }}{{- else -}}{{ int64 . }}{{- end -}}
{{- end -}}

{{/*
The agent container's securityContext: the user's (.Values.securityContext) over the
chart's defaults, IPC_LOCK always among the added capabilities. Root is needed for
IPC_LOCK to take effect (Kubernetes gives a non-root user no capabilities).
*/}}
{{- define "railcheck.agentSecurityContext" -}}
{{- $user := deepCopy (default dict .Values.securityContext) -}}
{{- $defaults := dict "runAsUser" 0 "runAsNonRoot" false "readOnlyRootFilesystem" true -}}
{{- if not $user.privileged -}}
{{- $_ := set $defaults "allowPrivilegeEscalation" false -}}
{{- $_ := set $defaults "capabilities" (dict "drop" (list "ALL")) -}}
{{- end -}}
{{- $sc := mergeOverwrite $defaults $user -}}
{{- $caps := default dict $sc.capabilities -}}
{{- $_ := set $caps "add" (concat (default list $caps.add) (list "IPC_LOCK") | uniq) -}}
{{- $_ := set $sc "capabilities" $caps -}}
{{- toYaml $sc -}}
{{- end -}}

{{/* The coordinator's command line, from .Values.coordinator. */}}
{{- define "railcheck.coordinatorArgs" -}}
{{- $c := .Values.coordinator -}}
{{- if and (not (kindIs "invalid" $c.iters)) (not (kindIs "invalid" $c.duration)) -}}
{{- fail "coordinator.iters and coordinator.duration exclude each other: set one (or neither, for the default)" -}}
{{- end -}}
- coordinator
- --discover={{ include "railcheck.discoveryName" . }}
- --agent-port={{ include "railcheck.int" .Values.agent.port }}
- --tests={{ join "," $c.tests }}
{{- if $c.sizes }}
{{- $sizes := list -}}
{{- range $c.sizes }}{{ $sizes = append $sizes (include "railcheck.int" .) }}{{ end }}
- --size={{ join "," $sizes }}
{{- end }}
{{- if not (kindIs "invalid" $c.iters) }}
- --iters={{ include "railcheck.int" $c.iters }}
{{- end }}
{{- if not (kindIs "invalid" $c.duration) }}
- --duration={{ include "railcheck.int" $c.duration }}
{{- end }}
- --qps={{ include "railcheck.int" $c.qps }}
{{- if $c.bidir }}
- --bidir
{{- end }}
- --pattern={{ $c.pattern }}
- --retries={{ include "railcheck.int" $c.retries }}
- --mem={{ $c.mem }}
{{- if $c.customProfile }}
- --profile=/etc/railcheck/profile/profile.json
{{- else }}
- --profile={{ $c.profile }}
{{- end }}
{{- if gt (int64 $c.expectNodes) 0 }}
- --expect-nodes={{ include "railcheck.int" $c.expectNodes }}
{{- end }}
- --wait={{ include "railcheck.int" $c.waitSeconds }}
- --output-dir=/report
{{- if $c.logResults }}
- --log-results
{{- end }}
- --log-level={{ $c.logLevel }}
{{- range $c.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end -}}

{{/* The coordinator's pod spec, shared by the helm test Job and the CronJob. */}}
{{- define "railcheck.coordinatorPodSpec" -}}
{{- $c := .Values.coordinator -}}
restartPolicy: Never
automountServiceAccountToken: false
enableServiceLinks: false
{{- with .Values.image.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  fsGroup: 10001
  seccompProfile:
    type: RuntimeDefault
{{- with $c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: coordinator
    image: {{ include "railcheck.image" . | quote }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    args:
      {{- include "railcheck.coordinatorArgs" . | nindent 6 }}
    env:
      - name: RAILCHECK_TOKEN_FILE
        value: /etc/railcheck/token/token
    {{- with $c.resources }}
    resources:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities:
        drop: [ALL]
    volumeMounts:
      - name: token
        mountPath: /etc/railcheck/token
        readOnly: true
      - name: report
        mountPath: /report
      {{- if $c.customProfile }}
      - name: profile
        mountPath: /etc/railcheck/profile
        readOnly: true
      {{- end }}
volumes:
  - name: token
    secret:
      secretName: {{ include "railcheck.tokenSecret" . }}
      defaultMode: 0440
  - name: report
    {{- if $c.reportVolume }}
    {{- toYaml $c.reportVolume | nindent 4 }}
    {{- else }}
    emptyDir: {}
    {{- end }}
  {{- if $c.customProfile }}
  - name: profile
    configMap:
      name: {{ include "railcheck.fullname" . }}-profile
  {{- end }}
{{- end -}}
