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
import re
from dataclasses import dataclass, field, replace
from typing import Any

from guidecheck import globs
from guidecheck.model import Severity, Suppression
from guidecheck.yamlsafe import Limits

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
    from guidecheck.yamlsafe import load_yaml

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
    validator = jsonschema.Draft202012Validator(load_schema("config.schema.json"))
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
        raise ConfigError(f"{where}:{line}: '{keys or '(top level)'}': {e.message}")
    settings = dict(DEFAULT_SETTINGS)
    for key, value in (data.get("settings") or {}).items():
        settings[key] = value
    try:
        re.compile(settings["image-tag-pattern"])
    except re.error as exc:
        raise ConfigError(f"{where}: 'settings.image-tag-pattern' is not a valid regular expression: {exc}") from None
    from guidecheck.backup import invalid_patterns  # backups (8.a-8.c): name -> regex settings

    for bad in invalid_patterns(settings):
        raise ConfigError(f"{where}: '{bad}' is not a valid regular expression")
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
