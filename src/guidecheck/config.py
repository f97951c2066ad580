"""``.guidecheck.yaml``: strict configuration with the guideline's thresholds as defaults.

Strict on configuration: an unknown key or a wrong type is a :class:`ConfigError`
(exit 2) naming the key.  The file is found upward from the first scanned path,
or given with ``--config``; ``--isolated`` ignores every configuration file.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import functools
import os
from dataclasses import dataclass, field, replace
from typing import Any

from guidecheck import globs
from guidecheck.model import Severity, Suppression
from guidecheck.parsers.yaml import Limits

CONFIG_NAMES = (".guidecheck.yaml", ".guidecheck.yml")

# The guideline's thresholds.  Documented in docs/configuration.md (a test
# checks every key is documented); rules read them from Context.settings.
DEFAULT_SETTINGS: dict[str, Any] = {
    # 3.a: glob patterns matched against the image reference without digest,
    # e.g. "alpine:3.20", "python:3.12-alpine3.20", "registry.example/base/alpine:3".
    "allowed-base-images": ["alpine", "alpine:*", "*/alpine", "*/alpine:*", "*:*alpine*"],
    # 3.c: tags that move; an image on one of these is not reproducible.
    "floating-tags": [
        "latest", "stable", "main", "master", "edge", "dev", "develop", "nightly", "head",
        "current", "lts", "mainline", "rolling", "canary", "next", "release", "unstable", "testing",
    ],
    # 3.c: a tag carrying a version and a commit hash, e.g. 1.4.2-3f2c1ab or v2.0.0-sha-3f2c1ab9.
    "image-tag-pattern": r"^v?[0-9]+(\.[0-9]+){1,3}([-+._][0-9A-Za-z.]+)*[-+._](sha-|g)?[0-9a-f]{7,40}$",
    "required-oci-labels": ["org.opencontainers.image.version", "org.opencontainers.image.revision"],
    "workload-kinds": [
        "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController",
        "Job", "CronJob", "Pod", "DeploymentConfig", "Rollout",
    ],
    "metrics-port": 9100,
    "metrics-path": "/metrics",
    "key-rotation-hours": 24,
    "snapshot-interval-hours": 12,
    "restore-test-days": 15,
    "max-services-per-repo": 1,
    # 2.d: globs (matched against repository-relative paths) that count as unit tests, per language.
    "unit-test-patterns": {
        "python": ["test_*.py", "*_test.py", "tests/**/*.py", "conftest.py"],
        "go": ["*_test.go"],
        "javascript": ["*.test.js", "*.spec.js", "*.test.mjs", "__tests__/**/*.js"],
        "typescript": ["*.test.ts", "*.spec.ts", "*.test.tsx", "*.spec.tsx", "__tests__/**/*.ts"],
        "java": ["src/test/**/*.java", "*Test.java", "*Tests.java"],
        "kotlin": ["src/test/**/*.kt", "*Test.kt"],
        "csharp": ["*Tests.cs", "*Test.cs", "*.Tests/**/*.cs", "*.Test/**/*.cs", "*Tests/**/*.cs"],
        "ruby": ["*_spec.rb", "test_*.rb", "*_test.rb"],
        "rust": ["tests/**/*.rs", "*_test.rs"],
        "php": ["*Test.php"],
        "shell": ["*.bats"],
    },
    # ---- observability and autoscaling (GC501, GC503-GC505, GC903, GC904) ----
    # 5.a: annotation prefixes read as Prometheus scrape annotations (<prefix>/scrape, /port, /path)
    # on a pod template or a Service.
    "metrics-annotation-prefixes": ["prometheus.io"],
    # 5.c: Fluent Bit output plugins that ship to Loki.
    "fluent-bit-loki-outputs": ["loki", "grafana-loki"],
    # 5.b: parser names taken as JSON parsers when the scanned configuration does not define
    # them (Fluent Bit's stock parsers.conf defines 'json' with Format json).
    "fluent-bit-json-parsers": ["json"],
    # 5.b: parsers that decode a container runtime's log envelope, not the application's line:
    # using one of them is not JSON parsing of the logs, even if its Format is json.
    "fluent-bit-envelope-parsers": ["docker", "docker-daemon", "docker_no_time", "cri", "containerd"],
    # 5.d / 9.c: Python regular expressions (searched case-insensitively in an alert's or
    # recording rule's query) that classify it as a latency, errors or availability rule.
    "alert-signal-patterns": {
        "latency": [
            r"histogram_quantile\s*\(.*(duration|latency|response_time|request_time|_time)\w*_bucket",
            r"(duration|latency|response_time|request_time)\w*(_seconds|_milliseconds|_ms)?(_sum|_avg|\{[^}]*quantile)",
            r"(latency|duration)\w*:\w*(quantile|p[0-9]{2}|mean|avg)",
        ],
        "errors": [
            r"\b(code|status|status_code|response_code|http_status|http_code)\s*=~?\s*[\"'][^\"']*5",
            r"5xx",
            r"grpc_code\s*(!=\s*[\"']OK|=~?\s*[\"'][^\"']*(Internal|Unavailable|Unknown|DeadlineExceeded))",
            r"(error|errors|failed|failures|exceptions)(_total|_count|_rate|:|\b)",
        ],
        "availability": [
            r"(?<![\w:.])up(?![\w:(])",
            r"\babsent(_over_time)?\s*\(",
            r"probe_success",
            r"replicas_(un)?available",
            r"\b(code|status|status_code|response_code)\s*!~\s*[\"'][^\"']*5",
            r"(availability|success_?rate|success_?ratio|burn_?rate|error_budget|slo[:_])",
        ],
    },
    # 5.d / 9.c: more patterns, added to the ones above (the easy way to extend the defaults).
    "extra-alert-signal-patterns": {},
    # 9.c: pod labels whose values name the service (besides the workload's and its Services'
    # names) when matching an alert's selectors against a workload.
    "service-name-labels": ["app", "app.kubernetes.io/name", "app.kubernetes.io/instance", "k8s-app", "name"],
    # 9.b: workload kinds that must have a HorizontalPodAutoscaler, and the resource metrics
    # that count (an HPA on other metrics only does not scale on CPU/memory usage).
    "autoscaled-kinds": ["Deployment", "StatefulSet"],
    "autoscaling-resources": ["cpu", "memory"],
    # ---- 6.a, 6.b, 6.c, 9.a: OpenAPI documents, service authentication, key rotation (GC601-GC603, GC901, GC902)
    # API paths (fnmatch globs, '*' also matches '/') exempt from GC601/GC603: health and metrics endpoints.
    "openapi-exempt-paths": [
        "*/health", "*/health/*", "*/healthz", "*/healthz/*", "*/livez", "*/livez/*", "*/readyz", "*/readyz/*",
        "*/liveness", "*/readiness", "*/ready", "*/live", "*/ping", "*/metrics",
    ],
    # GC601: Istio's root namespace: mesh policies there apply to every namespace.
    "mesh-root-namespace": "istio-system",
    # GC601: Service port names (globs) that only serve metrics; a workload exposed only on these (or on
    # metrics-port) receives no service-to-service calls.
    "metrics-port-names": ["*metrics*", "*telemetry*", "*prometheus*"],
    # GC602: labels or annotations ("key" or "key=value") marking a CronJob, Certificate or ExternalSecret as the
    # rotation mechanism of a signing key, and name globs that mark one too.
    "key-rotation-selectors": ["guidecheck.io/key-rotation"],
    "key-rotation-name-patterns": ["*key-rotat*", "*rotate-key*", "*rotate-*-key*", "*jwks-rotat*"],
    # GC602: labels or annotations marking a Secret (or Certificate, ExternalSecret) as holding a signing key,
    # and name globs (of the object or of the Secret it writes) that mark one too.
    "signing-key-selectors": ["guidecheck.io/signing-key"],
    "signing-key-name-patterns": ["*signing-key*", "*jwt-key*", "*jwt-signing*", "*jwks*"],
    # GC602 (live): annotations holding the time a key Secret was last rotated (RFC 3339).
    "key-rotated-at-annotations": ["guidecheck.io/rotated-at"],
    # --- backups (8.a-8.c: GC801-GC803, guidecheck.backup) ---
    # name -> regular expression (case-insensitive) over a workload's commands, args, env values and the
    # ConfigMap scripts it mounts; a name given in .guidecheck.yaml replaces that default, null drops it.
    # CronJobs whose commands take a backup of volumes (they cover the claims they mount, else their namespace).
    "backup-job-patterns": {
        "volumesnapshot-manifest": r"[\"']?kind[\"']?\s*:\s*[\"']?VolumeSnapshot\b",
        "kubectl-create-volumesnapshot": r"\b(?:kubectl|oc)\b[^\n;|&]*\b(?:create|apply)\b[^\n;|&]*volumesnapshot",
        "restic-backup": r"\brestic\b[^\n;|&]*\sbackup\b",
        "kopia-snapshot-create": r"\bkopia\s+snapshot\s+create\b",
        "borg-create": r"\bborg\s+create\b",
    },
    # steps that verify backup contents against checksums (GC802).
    "backup-verification-patterns": {
        "checksum-check": r"\b(?:sha1|sha224|sha256|sha384|sha512|md5|b2|sha)sum\b[^\n;|&]*\s(?:-c|--check)\b",
        "restic-check-read-data": r"\brestic\b[^\n;|&]*\scheck\b[^\n;|&]*--read-data(?:-subset)?\b",
        "kopia-verify": r"\bkopia\s+(?:snapshot|content)\s+verify\b",
        "pgbackrest-verify": r"\bpgbackrest\b[^\n;|&]*\sverify\b",
        "barman-check-backup": r"\bbarman\s+(?:check-backup|verify-backup)\b",
        "pg-verifybackup": r"\bpg_verifybackup\b",
        "borg-check-verify-data": r"\bborg\s+check\b[^\n;|&]*--verify-data\b",
    },
    # CronJob commands that restore a backup somewhere isolated, as a test (GC803).
    "restore-test-patterns": {
        "velero-restore-namespace-mappings":
            r"\bvelero\s+(?:restore\s+create|create\s+restore)\b[^\n;|&]*--namespace-mappings?\b",
        "restic-restore": r"\brestic\b[^\n;|&]*\srestore\b",
        "kopia-restore": r"\bkopia\s+(?:snapshot\s+)?restore\b",
        "pgbackrest-restore": r"\bpgbackrest\b[^\n;|&]*\srestore\b",
        "barman-cloud-restore": r"\bbarman-cloud-restore\b",
    },
    # ---- 7. CI/CD pipelines (GC701-GC704). Regular expressions are case-insensitive and searched
    # in the text; action patterns are owner/repo[/path] prefixes (no @ref); globs match paths relative
    # to the pipeline's project. Lists given in .guidecheck.yaml are ADDED to these defaults.
    "ci-stage-patterns": {
        "lint": {
            "names": [r"(^|[^a-z])lint", r"static[-_ ]?analysis", r"code[-_ ]?(style|quality)", r"format(ting)?[-_ ]?check"],
            "actions": [
                "golangci/golangci-lint-action", "hadolint/hadolint-action", "github/super-linter",
                "super-linter/super-linter", "reviewdog/", "psf/black", "astral-sh/ruff-action",
                "chartboost/ruff-action", "pre-commit/action", "wearerequired/lint-action",
                "stackrox/kube-linter-action", "ludeeus/action-shellcheck", "rhysd/actionlint",
                "davidanson/markdownlint-cli2-action", "dominikh/staticcheck-action", "ibiqlik/action-yamllint",
            ],
            "commands": [
                r"\b(ruff|flake8|pylint|pyflakes|pycodestyle|mypy|eslint|tslint|stylelint|golangci-lint|staticcheck|revive|hadolint|shellcheck|yamllint|kube-linter|kubeconform|kubeval|markdownlint(-cli2)?|rubocop|ktlint|detekt|checkstyle|tflint|actionlint|swiftlint|phpcs|phpstan|buf\s+lint|codespell)\b",
                r"\b(black|isort|prettier)\s+(\S+[ \t]+)*(--check|-c)\b", r"\bgo\s+vet\b", r"\bgofmt\s+-[ld]",
                r"\b(helm|ct)\s+lint\b", r"\bcargo\s+(clippy|fmt\b.*--check)", r"\bspotless:?[Cc]heck\b",
                r"\bpre-commit\s+run\b", r"\b(make|mage|npm\s+run|yarn|pnpm(\s+run)?|task|just)\s+([\w:-]*[-:])?(lint|check-fmt|fmt-check|vet)\w*",
            ],
            "includes": ["*Code-Quality*"],
        },
        "unit-tests": {
            "names": [r"(^|[^a-z])unit", r"^tests?$", r"^(run[-_ ])?tests?[-_ ]?(go|python|node|java|js|ts)?$", r"^build[-_ ]and[-_ ]test"],
            "actions": [],
            "commands": [
                r"\b(pytest|py\.test|nosetests|gotestsum|ginkgo|jest|vitest|mocha|karma|rspec|phpunit|ctest|bats)\b",
                r"\bpython\d?(\.\d+)?\s+-m\s+(pytest|unittest)\b", r"(^|&&|;|\|\|)\s*(tox|nox)\b", r"\bgo\s+test\b",
                r"\b(npm|yarn|pnpm|bun)\s+(run\s+)?test\b", r"\bmvnw?\b(?!.*-D(skipTests|maven\.test\.skip))(?!.*-DskipTests).*\b(test|verify|install|package)\b",
                r"\bgradlew?\b.*\b(test|check|build)\b", r"\bcargo\s+(test|nextest)\b", r"\bdotnet\s+test\b",
                r"\brake\s+(test|spec)\b", r"\bmeson\s+test\b", r"\b(make|mage|task|just)\s+(test|tests|check|unit|unit[-_:]?tests?|tests?[-_:]unit\w*)(\s|$)",
                r"\bmake\s+(\S+[ \t]+)*tests?[-_][\w${}.-]+",
                r"(^|[\s/])(run[-_])?(unit[-_])?tests?\.sh\b",
                r"\b(swift|mix)\s+test\b",
            ],
            "includes": [],
        },
        "integration-tests": {
            "names": [r"integration", r"(^|[^a-z])e2e", r"end[-_ ]?to[-_ ]?end", r"acceptance", r"(^|[^a-z])smoke", r"system[-_ ]tests?"],
            "actions": [
                "helm/kind-action", "container-tools/kind-action", "engineerd/setup-kind", "absaoss/k3d-action",
                "nolar/setup-k3d-k3s", "medyagh/setup-minikube", "cypress-io/github-action",
                "isbang/compose-action", "hoverkraft-tech/compose-action",
            ],
            "commands": [
                r"\bdocker[\s-]compose\b.*\b(up|run)\b", r"testcontainers", r"\bkind\s+create\s+cluster\b",
                r"\bk3d\s+cluster\s+create\b", r"\bminikube\s+start\b", r"\bct\s+(lint-and-)?install\b", r"\bhelm\s+test\b",
                r"-tags[= ]\S*(integration|e2e)", r"\b(make|mage|npm\s+run|yarn|pnpm(\s+run)?|task|just)\s+\S*(integration|e2e|acceptance|smoke)",
                r"\b(cypress\s+run|playwright\s+test|newman\s+run)\b", r"\bmvnw?\b.*\b(failsafe|integration-test)\b",
                r"\bgradlew?\b.*\b(integrationTest|e2eTest)\b", r"\b(go\s+test|pytest|ginkgo)\b.*\b(e2e|integration)",
                r"\b(kuttl|chainsaw)\s+test\b",
            ],
            "images": [r"(^|/)(postgres|mysql|mariadb|redis|mongo|rabbitmq|kafka|elasticsearch|opensearch|localstack|minio|docker:[\w.-]*dind)\b"],
            "includes": [],
        },
        "security": {
            "names": [r"secur", r"(^|[^a-z])(sast|dast)([^a-z]|$)", r"vulnerab", r"codeql", r"(^|[^a-z])cve", r"secret[-_ ]?(scan|detect)", r"(^|[^a-z])scan([^a-z]|$)", r"dependency[-_ ]?(review|check|scan)"],
            "actions": [
                "github/codeql-action", "aquasecurity/trivy-action", "aquasecurity/tfsec-action", "snyk/actions",
                "anchore/scan-action", "securego/gosec", "returntocorp/semgrep-action", "semgrep/semgrep-action",
                "bridgecrewio/checkov-action", "gitleaks/gitleaks-action", "zricethezav/gitleaks-action",
                "trufflesecurity/trufflehog", "ossf/scorecard-action", "actions/dependency-review-action",
                "golang/govulncheck-action", "docker/scout-action", "sonarsource/sonarqube-scan-action",
                "sonarsource/sonarcloud-github-action", "zaproxy/action-baseline", "zaproxy/action-full-scan",
                "pypa/gh-action-pip-audit", "google/osv-scanner-action", "checkmarx/kics-github-action",
                "knqyf263/trivy-issue-action", "anchore/grype-action",
            ],
            "commands": [
                r"\btrivy(\.exe)?\s+(image|fs|filesystem|repo|repository|config|k8s|kubernetes|sbom|rootfs|vm|--?[a-z])",
                r"\bgrype\s+\S", r"\bsnyk\s+(test|monitor|container|code|iac)\b", r"\bsemgrep\b(?!-)",
                r"\b(bandit|gosec|govulncheck|checkov|tfsec|kubesec|gitleaks|trufflehog|osv-scanner|pip-audit|brakeman|kics|terrascan|kube-bench)\b",
                r"\b(npm|yarn|pnpm)\s+audit\b", r"\bsafety\s+(check|scan)\b", r"\bcargo\s+(audit|deny)\b",
                r"\bbundle(r)?[-\s]audit\b", r"\bdependency-check\b", r"\bzap-(baseline|full-scan|api-scan)\b",
                r"\bcodeql\s+database\b", r"\bdocker\s+scout\s+(cves|quickview)\b",
            ],
            "includes": ["*Security/*", "*SAST*", "*Dependency-Scanning*", "*Container-Scanning*",
                         "*Secret-Detection*", "*DAST*"],
        },
    },
    # GC702: environment names (regular expressions) of staging and production; a name matching
    # both is staging (pre-prod), GitLab deployment_tier wins over the name.
    "ci-staging-environments": [r"(^|[^a-z])(stag(e|ing)|pre-?prod\w*|uat|qa)([^a-z]|$)"],
    "ci-production-environments": [r"(^|[^a-z])(prod|production|prd|live)([^a-z]|$)"],
    # GC702: a job without environment: is a deployment when its name says deploy and names an
    # environment, or when one of these commands runs in it.
    "ci-deploy-commands": [
        r"\bhelm(file)?\s+(upgrade|install|sync|apply)\b", r"\bkubectl\s+(apply|create|replace|set\s+image|rollout\s+restart)\b",
        r"\bargocd\s+app\s+(sync|set|create)\b", r"\bflux\s+reconcile\b", r"\bgcloud\s+(run\s+deploy|deploy\s+releases)\b",
        r"\bskaffold\s+(run|deploy)\b", r"\baws\s+ecs\s+update-service\b", r"\baz\s+(webapp|containerapp)\s+(deploy|up|update)\b",
        r"\bkustomize\s+build\b.*\|\s*kubectl\s+apply\b",
    ],
    # GC703: files that configure changelog generation (globs; a pattern without '/' matches a file name anywhere)
    "changelog-files": [
        "release-please-config.json", ".release-please-manifest.json", ".releaserc", ".releaserc.*", "release.config.*",
        "cliff.toml", ".changeset/config.json", ".cz.toml", "cz.toml", ".cz.json", "cz.json", ".cz.yaml", "cz.yaml",
        "towncrier.toml", ".github/release-drafter.yml", ".github/release-drafter.yaml", ".chglog/config.yml",
        ".versionrc", ".versionrc.json", ".auto-changelog",
    ],
    "changelog-actions": [
        "googleapis/release-please-action", "google-github-actions/release-please-action", "cycjimmy/semantic-release-action",
        "codfish/semantic-release-action", "changesets/action", "orhun/git-cliff-action", "tj-actions/git-cliff",
        "release-drafter/release-drafter", "commitizen-tools/commitizen-action", "mikepenz/release-changelog-builder-action",
        "triPSs/conventional-changelog-action", "requarks/changelog-action",
    ],
    "changelog-commands": [
        r"\bsemantic-release\b", r"\bgit[- ]cliff\b", r"\bchangeset\s+(version|publish)\b", r"\bcz\s+(bump|changelog|ch)\b",
        r"\btowncrier\s+build\b", r"\brelease-please\b", r"\bconventional-changelog\b", r"\bstandard-version\b",
        r"\bauto-changelog\b", r"\bgithub_changelog_generator\b", r"\bgit-chglog\b", r"\bgh\s+release\s+create\b.*--generate-notes",
    ],
    # GC704: steps that push an image (action[input] = the action pushes when that input is true)
    "image-push-actions": [
        "docker/build-push-action[push]", "docker/bake-action[push]", "redhat-actions/push-to-registry",
        "mr-smithers-excellent/docker-build-push", "elgohr/publish-docker-github-action", "ko-build/setup-ko[push]",
    ],
    "image-push-commands": [
        r"\b(docker|podman|buildah|nerdctl)\s+(image\s+)?push\b", r"\bdocker\s+buildx\s+(build|bake)\b.*--push\b",
        r"\bko\s+(build|publish|resolve|apply)\b(?!.*--push=false)(?!.*\s(-L|--local)\b)", r"/kaniko/executor\b(?!.*--no-push)",
        r"\bexecutor\b.*--destination\b", r"\bjib(:build|\s+build)\b", r"\bcrane\s+(push|copy|cp)\b",
        r"\bskopeo\s+copy\b.*\bdocker://", r"\bdocker\s+manifest\s+push\b", r"\bimgpkg\s+push\b",
        r"docker push \(Docker Pipeline \.push\(\)\)",
        # scripts and make targets named for pushing images (their content is not visible)
        r"(?<![\w.-])[\w.-]*(docker|image|container)s?[-_]push[\w.-]*\.sh\b",
        r"\bmake\s+(\S+[ \t]+)*(docker|image|container)s?[-_]push\b|\bmake\s+(\S+[ \t]+)*push[-_](docker|images?|containers?)\b",
    ],
    # GC704: commands that sign an image with cosign (cosign-installer alone only installs it)
    "image-sign-commands": [r"\bcosign\s+sign\b(?!-blob)"],
    # --- live cluster audit (guidecheck audit; docs/audit.md) ---
    # resources the audit lists, as RBAC names them (resource.group; "pods" for the core group; "*" = every
    # listable resource); custom resources are read only where discovery shows their API installed
    "audit-resources": [
        "namespaces", "pods", "services", "configmaps", "secrets", "persistentvolumeclaims",
        "replicationcontrollers", "serviceaccounts",
        "deployments.apps", "statefulsets.apps", "daemonsets.apps", "replicasets.apps",
        "jobs.batch", "cronjobs.batch", "horizontalpodautoscalers.autoscaling",
        "poddisruptionbudgets.policy", "networkpolicies.networking.k8s.io", "ingresses.networking.k8s.io",
        "servicemonitors.monitoring.coreos.com", "podmonitors.monitoring.coreos.com",
        "prometheusrules.monitoring.coreos.com",
        "backups.velero.io", "schedules.velero.io", "restores.velero.io",
        "volumesnapshots.snapshot.storage.k8s.io", "snapshotschedules.snapscheduler.backube",
        "certificates.cert-manager.io",
        "requestauthentications.security.istio.io", "authorizationpolicies.security.istio.io",
        "peerauthentications.security.istio.io",
        "deploymentconfigs.apps.openshift.io", "rollouts.argoproj.io",
    ],
    # namespaces left out of an all-namespaces audit (globs); --namespace overrides
    "audit-exclude-namespaces": ["kube-system", "kube-public", "kube-node-lease"],
    # the largest dump file --from-dump reads
    "audit-dump-max-bytes": 1024 * 1024 * 1024,
    # GC503 live: the share of sampled log lines that must be JSON objects
    "live-logs-min-json-ratio": 0.5,
}

FAIL_ON = ("error", "warning", "info", "never")


@dataclass(frozen=True)
class Waiver(Suppression):
    """A time-limited exception from the configuration (``waivers:``)."""

    paths: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()
    owner: str = ""
    ticket: str | None = None
    expires: _dt.date = _dt.date.max

    def applies(self, rule_id: str, path: str, obj: str | None) -> bool:
        if not self.covers(rule_id):
            return False
        if self.paths and not globs.excluded(path, self._path_matcher):
            return False
        if self.objects and not (obj and any(fnmatch.fnmatchcase(obj, p) for p in self.objects)):
            return False
        return True

    @functools.cached_property
    def _path_matcher(self):
        return globs.matcher(self.paths)

    def expired(self, today: _dt.date) -> bool:
        return today > self.expires

    def describe(self) -> str:
        who = f"owner {self.owner}" + (f", ticket {self.ticket}" if self.ticket else "")
        return f"waiver until {self.expires.isoformat()} ({who})"


class ConfigError(Exception):
    """A configuration or usage error: exit code 2."""


@dataclass(frozen=True)
class Config:
    fail_on: str = "error"
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: dict[str, str] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    inline_suppressions: bool = True
    limits: Limits = Limits()
    max_file_bytes: int = 8 * 1024 * 1024
    settings: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_SETTINGS))
    waivers: tuple[Waiver, ...] = ()
    custom_rules: tuple[str, ...] = ()  # directories of the team's own rules, absolute
    path: str | None = None
    helm: dict[str, Any] = field(default_factory=dict)  # the 'helm:' section (guidecheck.loaders.helm)

    @functools.cached_property
    def exclude_matcher(self):
        return globs.matcher(self.exclude)

    def enabled(self, rule_id: str) -> bool:
        if self.select and not _matches(rule_id, self.select):
            return False
        return not _matches(rule_id, self.ignore)

    def severity_for(self, rule_id: str, default: Severity) -> Severity:
        best = None
        for pattern, sev in self.severity.items():
            if _matches(rule_id, (pattern,)) and (best is None or len(pattern) > len(best[0])):
                best = (pattern, sev)
        return Severity.parse(best[1]) if best else default

    def threshold(self) -> Severity | None:
        return None if self.fail_on == "never" else Severity.parse(self.fail_on)


def _matches(rule_id: str, patterns) -> bool:
    return any(p == "ALL" or rule_id.startswith(p) for p in patterns)


def find_config(start: str) -> str | None:
    """The nearest .guidecheck.yaml in ``start`` or its parents."""
    here = os.path.abspath(start)
    if not os.path.isdir(here):
        here = os.path.dirname(here)
    while True:
        for name in CONFIG_NAMES:
            candidate = os.path.join(here, name)
            if os.path.isfile(candidate):
                return candidate
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def load_config(path: str | None) -> Config:
    if path is None:
        return Config()
    from guidecheck.loaders.fs import ReadError, read_text
    from guidecheck.parsers.yaml import load_yaml

    try:
        text = read_text(path, 1024 * 1024)
    except ReadError as exc:
        raise ConfigError(f"{path}: {exc.error.message}") from None
    docs = [d for d in load_yaml(text) if d.data is not None or d.errors]
    if not docs:
        return Config(path=path)
    if len(docs) > 1:
        raise ConfigError(f"{path}:{docs[1].line}: a configuration file holds one YAML document")
    doc = docs[0]
    if doc.errors:
        e = doc.errors[0]
        raise ConfigError(f"{path}:{e.line}:{e.column}: {e.message}")
    return config_from_dict(doc.data, path)


def config_from_dict(data: Any, path: str | None = None) -> Config:
    import jsonschema

    from guidecheck.catalog import load_schema

    where = path or "configuration"
    # "format": "regex" in the schema marks every setting that holds a regular expression: the format
    # checker compiles each one, so a typo is a usage error at its line, for every such setting alike
    validator = jsonschema.Draft202012Validator(load_schema("config.schema.json"),
                                                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(list(e.absolute_path)), str(e.message)))
    if errors:
        e = errors[0]
        keys = ".".join(str(p) for p in e.absolute_path)
        line = _line_for(data, list(e.absolute_path))
        if e.validator == "additionalProperties":
            extra = sorted(set(e.instance) - set(e.schema.get("properties", {})))
            target = f"{keys}.{extra[0]}" if keys else extra[0]
            line = _line_for(data, [*e.absolute_path, extra[0]])
            raise ConfigError(f"{where}:{line}: unknown key '{target}'")
        if e.validator == "format" and e.validator_value == "regex":
            raise ConfigError(f"{where}:{line}: '{keys}' holds an invalid regular expression {e.instance!r}: "
                              f"{e.cause or 'does not compile'}")
        raise ConfigError(f"{where}:{line}: '{keys or '(top level)'}': {e.message}")
    settings = dict(DEFAULT_SETTINGS)
    for key, value in (data.get("settings") or {}).items():
        settings[key] = value
    lim = data.get("limits") or {}
    limits = Limits(
        max_depth=lim.get("max-depth", Limits.max_depth),
        max_alias_nodes=lim.get("max-alias-nodes", Limits.max_alias_nodes),
        max_line_length=lim.get("max-line-length", Limits.max_line_length),
    )
    waivers = []
    for i, w in enumerate(data.get("waivers") or ()):
        try:
            expires = _dt.date.fromisoformat(w["expires"])
        except ValueError:
            raise ConfigError(f"{where}:{_line_for(data, ['waivers', i, 'expires'])}: "
                              f"'waivers.{i}.expires' is not a valid date: {w['expires']}") from None
        line = _line_for(data, ["waivers", i])
        reason = (w.get("reason") or "").strip() or None
        waivers.append(Waiver(tuple(w["rules"]), reason, where, line, None, "waiver",
                              paths=tuple(w.get("paths", ())), objects=tuple(w.get("objects", ())),
                              owner=w["owner"], ticket=w.get("ticket"), expires=expires))
    base = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
    custom = []
    for i, d in enumerate(data.get("custom-rules") or ()):
        full = os.path.normpath(os.path.join(base, d))
        if not os.path.isdir(full):
            raise ConfigError(f"{where}:{_line_for(data, ['custom-rules', i])}: 'custom-rules': "
                              f"{d} is not a directory")
        custom.append(full)
    return Config(
        custom_rules=tuple(custom),
        waivers=tuple(waivers),
        fail_on=data.get("fail-on", "error"),
        select=tuple(data.get("select", ())),
        ignore=tuple(data.get("ignore", ())),
        severity=dict(data.get("severity", {})),
        exclude=tuple(data.get("exclude", ())),
        inline_suppressions=data.get("inline-suppressions", True),
        limits=limits,
        max_file_bytes=lim.get("max-file-bytes", Config.max_file_bytes),
        settings=settings,
        path=path,
        helm=dict(data.get("helm") or {}),
    )


def _line_for(data: Any, keys: list) -> int:
    node = data
    line = getattr(data, "line", 1)
    for k in keys:
        try:
            if hasattr(node, "key_line") and k in node:
                line = node.key_line(k)
            elif hasattr(node, "item_line") and isinstance(k, int):
                line = node.item_line(k)
            node = node[k]
        except (KeyError, IndexError, TypeError):
            break
    return line


def with_cli(config: Config, **overrides: Any) -> Config:
    """Apply command-line options on top of the file's configuration."""
    changes = {k: v for k, v in overrides.items() if v not in (None, (), [])}
    if "ignore" in changes:
        changes["ignore"] = tuple(config.ignore) + tuple(changes["ignore"])
    return replace(config, **changes)
