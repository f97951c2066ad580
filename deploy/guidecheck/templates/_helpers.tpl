{{- define "guidecheck.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "guidecheck.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "guidecheck.selectorLabels" -}}
app.kubernetes.io/name: {{ include "guidecheck.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "guidecheck.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "guidecheck.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: auditor
{{- end }}

{{- define "guidecheck.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "guidecheck.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "guidecheck.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag }}
{{- end }}
{{- end }}

{{- /* The namespaced resources the audit lists (settings.audit-resources without namespaces), as RBAC
rules: `list` only; Secrets only with rbac.secrets; the probes' subresources only when enabled. */ -}}
{{- define "guidecheck.namespacedRules" -}}
- apiGroups: [""]
  resources: [pods, services, configmaps, persistentvolumeclaims, replicationcontrollers, serviceaccounts]
  verbs: [list]
{{- if .Values.rbac.secrets }}
# Secrets: their metadata only (names, labels, creation and rotation timestamps; GC602)
- apiGroups: [""]
  resources: [secrets]
  verbs: [list]
{{- end }}
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets, replicasets]
  verbs: [list]
- apiGroups: [batch]
  resources: [jobs, cronjobs]
  verbs: [list]
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [list]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [list]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies, ingresses]
  verbs: [list]
- apiGroups: [monitoring.coreos.com]
  resources: [servicemonitors, podmonitors, prometheusrules]
  verbs: [list]
- apiGroups: [velero.io]
  resources: [backups, schedules, restores]
  verbs: [list]
- apiGroups: [snapshot.storage.k8s.io]
  resources: [volumesnapshots]
  verbs: [list]
- apiGroups: [snapscheduler.backube]
  resources: [snapshotschedules]
  verbs: [list]
- apiGroups: [cert-manager.io]
  resources: [certificates]
  verbs: [list]
- apiGroups: [security.istio.io]
  resources: [requestauthentications, authorizationpolicies, peerauthentications]
  verbs: [list]
- apiGroups: [apps.openshift.io]
  resources: [deploymentconfigs]
  verbs: [list]
- apiGroups: [argoproj.io]
  resources: [rollouts]
  verbs: [list]
# namespaced admission policies that verify image signatures (GC705's evidence)
- apiGroups: [kyverno.io]
  resources: [policies]
  verbs: [list]
{{- if .Values.audit.probes.metrics }}
# GET :9100/metrics through the API server's pod proxy (GC502)
- apiGroups: [""]
  resources: [pods/proxy]
  verbs: [get]
{{- end }}
{{- if .Values.audit.probes.logs }}
# the tail of containers' logs (GC503)
- apiGroups: [""]
  resources: [pods/log]
  verbs: [get]
{{- end }}
{{- end }}

{{- /* The cluster-scoped part: the Namespace list and discovery (which APIs this cluster serves). */ -}}
{{- define "guidecheck.clusterRules" -}}
- apiGroups: [""]
  resources: [namespaces]
  verbs: [list]
# cluster-wide admission policies that verify image signatures (GC705's evidence)
- apiGroups: [kyverno.io]
  resources: [clusterpolicies]
  verbs: [list]
- apiGroups: [policy.sigstore.dev]
  resources: [clusterimagepolicies]
  verbs: [list]
- apiGroups: [constraints.gatekeeper.sh]
  resources: [ratifyverification]
  verbs: [list]
# discovery: which APIs (custom resources) this cluster serves
- nonResourceURLs: [/version, /api, /api/*, /apis, /apis/*]
  verbs: [get]
{{- end }}

{{- /* settings.audit-resources of the guidecheck release: the built-in default (rules/_settings.yaml),
written to the configuration only when rbac.secrets is false (then without secrets). */ -}}
{{- define "guidecheck.auditResources" -}}
- namespaces
- pods
- services
- configmaps
- secrets
- persistentvolumeclaims
- replicationcontrollers
- serviceaccounts
- deployments.apps
- statefulsets.apps
- daemonsets.apps
- replicasets.apps
- jobs.batch
- cronjobs.batch
- horizontalpodautoscalers.autoscaling
- poddisruptionbudgets.policy
- networkpolicies.networking.k8s.io
- ingresses.networking.k8s.io
- servicemonitors.monitoring.coreos.com
- podmonitors.monitoring.coreos.com
- prometheusrules.monitoring.coreos.com
- backups.velero.io
- schedules.velero.io
- restores.velero.io
- volumesnapshots.snapshot.storage.k8s.io
- snapshotschedules.snapscheduler.backube
- certificates.cert-manager.io
- requestauthentications.security.istio.io
- authorizationpolicies.security.istio.io
- peerauthentications.security.istio.io
- deploymentconfigs.apps.openshift.io
- rollouts.argoproj.io
- clusterpolicies.kyverno.io
- policies.kyverno.io
- clusterimagepolicies.policy.sigstore.dev
- ratifyverification.constraints.gatekeeper.sh
{{- end }}
