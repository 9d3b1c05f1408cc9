{{- define "sluice.fullname" -}}
{{- printf "%s-sluice" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "sluice.labels" -}}
app.kubernetes.io/name: sluice
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
{{- define "sluice.selector" -}}
app.kubernetes.io/name: sluice
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "sluice.adminSecret" -}}
{{- default (printf "%s-admin" (include "sluice.fullname" .)) .Values.admin.existingSecret -}}
{{- end -}}
{{- define "sluice.store" -}}
{{- printf "%s-seaweedfs" (include "sluice.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "sluice.storeSelector" -}}
app.kubernetes.io/name: sluice-seaweedfs
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{/* The StatefulSet's S3 as the manager reaches it: its Service, or loopback on the node's
network (one node, as on the test cluster). */}}
{{- define "sluice.storeUrl" -}}
{{- $store := .Values.objectStore -}}
{{- if $store.seaweedfs.endpoint -}}
{{- $store.seaweedfs.endpoint -}}
{{- else if .Values.hostNetwork -}}
{{- printf "http://127.0.0.1:%d" (int $store.port) -}}
{{- else -}}
{{- printf "http://%s.%s.svc:%d" (include "sluice.store" .) .Release.Namespace (int $store.port) -}}
{{- end -}}
{{- end -}}
{{/* The manager's API as the store's filer reaches it (for its webhook). */}}
{{- define "sluice.managerUrl" -}}
{{- if .Values.objectStore.seaweedfs.managerUrl -}}
{{- .Values.objectStore.seaweedfs.managerUrl -}}
{{- else if .Values.hostNetwork -}}
{{- $host := ternary "127.0.0.1" .Values.bindAddress (eq .Values.bindAddress "0.0.0.0") -}}
{{- printf "http://%s:%d" $host (int .Values.service.port) -}}
{{- else -}}
{{- printf "http://%s.%s.svc:%d" (include "sluice.fullname" .) .Release.Namespace (int .Values.service.port) -}}
{{- end -}}
{{- end -}}
