"""``.guidecheck.yaml``: strict configuration with the guideline's thresholds as defaults.

The defaults and the schema of ``settings:`` come from the rule catalogue
(:mod:`guidecheck.catalog`), where each setting is declared once by the rule that
reads it.

Strict on configuration: an unknown key or a wrong type is a :class:`ConfigError`
(exit 2) naming the key.

Two files, two levels of trust (see docs/ci-gate.md): the *organisation*
configuration (``--config FILE``, else the ``GUIDECHECK_CONFIG`` environment
variable) is trusted; the *repository* configuration (``.guidecheck.yaml`` found
upward from the first scanned path) is written by whoever changes the
repository, so by default it may only tighten the gate (:func:`layered`).  The
organisation's ``repository-config:`` says ``tighten-only`` (the default, also
without an organisation configuration), ``trusted`` or ``ignore``.
``--isolated`` ignores every configuration file but ``--config``.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import functools
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from guidecheck import globs
from guidecheck.catalog import config_schema, load_settings
from guidecheck.model import Severity, Suppression
from guidecheck.parsers.yaml import Limits, item_line, key_line, line_of

CONFIG_NAMES = (".guidecheck.yaml", ".guidecheck.yml")
ORG_CONFIG_ENV = "GUIDECHECK_CONFIG"
TRUST_MODES = ("tighten-only", "trusted", "ignore")
DEFAULT_TRUST = "tighten-only"
_FAIL_ON_ORDER = ("info", "warning", "error", "never")  # strictest first

# The guideline's thresholds and every other setting, as declared in the rule catalogue
# (``settings:`` in rules/*.yaml and rules/_settings.yaml: type, default, merge policy,
# description); rules read them from Context.settings.  A configured value replaces the
# default here; Context.setting(name) combines it with the default by the setting's merge policy.
DEFAULT_SETTINGS: dict[str, Any] = {name: s.default for name, s in load_settings().items()}


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
    def _path_matcher(self) -> Callable[[str, str | None], bool]:
        return globs.matcher(self.paths)

    def expired(self, today: _dt.date) -> bool:
        return today > self.expires

    def describe(self) -> str:
        who = f"owner {self.owner}" + (f", ticket {self.ticket}" if self.ticket else "")
        return f"waiver until {self.expires.isoformat()} ({who})"


class ConfigError(Exception):
    """A configuration or usage error: exit code 2."""


@dataclass(frozen=True)
class Trust:
    """Which configuration files made the gate, and what the repository's could not change (docs/ci-gate.md)."""

    organisation: str | None = None  # --config / GUIDECHECK_CONFIG
    repository: str | None = None  # .guidecheck.yaml of the scanned tree (None: none, or not read)
    mode: str = DEFAULT_TRUST  # the organisation's repository-config
    loosened: tuple[str, ...] = ()  # keys of the repository configuration that loosened the gate (trusted)
    ignored: tuple[str, ...] = ()  # keys of the repository configuration ignored because they would loosen it
    repo_severity: tuple[tuple[str, str], ...] = ()  # severity entries of the repository config, judged later
    base_severity: tuple[tuple[str, str], ...] = ()  # the organisation's severity entries

    def to_json(self) -> dict[str, Any]:
        return {
            "organisation_config": self.organisation,
            "repository_config": self.repository,
            "repository_trust": self.mode,
            "loosened_by_repository": sorted(self.loosened),
            "ignored_from_repository": sorted(self.ignored),
        }


@dataclass(frozen=True)
class Config:
    """The settings of one run, from the configuration file and the command line."""

    fail_on: str = "error"
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: dict[str, str] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    inline_suppressions: bool = True
    scan_test_data: bool = False  # 'scan-test-data: true': testdata/ directories are scanned too
    limits: Limits = Limits()
    max_file_bytes: int = 8 * 1024 * 1024
    settings: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_SETTINGS))
    waivers: tuple[Waiver, ...] = ()
    custom_rules: tuple[str, ...] = ()  # directories of the team's own rules, absolute
    path: str | None = None
    helm: dict[str, Any] = field(default_factory=dict)  # the 'helm:' section (guidecheck.loaders.helm)
    kustomize: dict[str, Any] = field(default_factory=dict)  # the 'kustomize:' section (guidecheck.loaders.kustomize)
    preview: bool = False  # 'preview: true': preview rules run like the others when selected
    trust: Trust = Trust()  # which files made this configuration (see layered)
    # the directory relative paths in `settings` are resolved against (key files, caches): the file that gave
    # them; None: the configuration file's directory (`path`), or the current directory
    settings_dir: str | None = None

    def settings_base(self) -> str:
        """Where a relative path in ``settings`` is resolved from (see ``settings_dir``)."""
        if self.settings_dir:
            return self.settings_dir
        return os.path.dirname(os.path.abspath(self.path)) if self.path else os.getcwd()

    @functools.cached_property
    def exclude_matcher(self) -> Callable[[str, str | None], bool]:
        return globs.matcher(self.exclude)

    def enabled(self, rule_id: str) -> bool:
        if self.select and not _matches(rule_id, self.select):
            return False
        return not _matches(rule_id, self.ignore)

    def runs(self, rule_id: str, status: str = "stable") -> bool:
        """Whether a rule of this catalogue status runs: enabled, not removed, and opted in if a preview.

        A preview rule runs (when selected) only with ``preview: true``, or when its
        full id is named in ``select`` (``--select GC999``): a prefix or ``ALL`` never
        turns preview rules on.
        """
        if status == "removed" or not self.enabled(rule_id):
            return False
        return status != "preview" or self.preview or rule_id in self.select

    def severity_for(self, rule_id: str, default: Severity) -> Severity:
        best: tuple[str, str] | None = None
        for pattern, sev in self.severity.items():
            if _matches(rule_id, (pattern,)) and (best is None or len(pattern) > len(best[0])):
                best = (pattern, sev)
        return Severity.parse(best[1]) if best else default

    def threshold(self) -> Severity | None:
        return None if self.fail_on == "never" else Severity.parse(self.fail_on)


def _matches(rule_id: str, patterns: Iterable[str]) -> bool:
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
    data = read_config(path)
    return Config(path=path) if data is None else config_from_dict(data, path)


def read_config(path: str) -> Any:
    """The validated document of a configuration file (None when it is empty); raises :class:`ConfigError`."""
    from guidecheck.loaders.fs import ReadError, read_text
    from guidecheck.parsers.yaml import load_yaml

    try:
        text = read_text(path, 1024 * 1024)
    except ReadError as exc:
        raise ConfigError(f"{path}: {exc.error.message}") from None
    docs = [d for d in load_yaml(text) if d.data is not None or d.errors]
    if not docs:
        return None
    if len(docs) > 1:
        raise ConfigError(f"{path}:{docs[1].line}: a configuration file holds one YAML document")
    doc = docs[0]
    if doc.errors:
        e = doc.errors[0]
        raise ConfigError(f"{path}:{e.line}:{e.column}: {e.message}")
    _validate(doc.data, path)
    return doc.data


# ----------------------------------------------------------------- two files: organisation and repository


def layered(org_path: str | None, repo_path: str | None) -> Config:
    """The configuration of the organisation file (trusted) with the repository file (``.guidecheck.yaml``) on top.

    With ``repository-config: tighten-only`` (the organisation's default, and the default without an
    organisation file) the repository file may only tighten the gate; what would loosen it is ignored and
    listed in ``Config.trust.ignored`` (see docs/ci-gate.md for the meaning of "tighten" per key).  With
    ``trusted`` it applies in full and what loosened the gate is listed in ``Config.trust.loosened``; with
    ``ignore`` it is not read.  Paths in a repository file (``custom-rules``, ``helm.charts``) must stay inside
    the repository (its directory) whatever the trust: a :class:`ConfigError` that never shows what is outside.
    """
    org = read_config(org_path) if org_path else None
    org = org if org is not None else {}
    mode = str(org.get("repository-config", DEFAULT_TRUST))
    repo = read_config(repo_path) if repo_path and mode != "ignore" else None
    if repo_path and mode == "ignore":
        repo_path = None
    org_abs = _absolute_paths(org, org_path)
    if repo is None:
        cfg = config_from_dict(org_abs, org_path) if org_path else Config()
        return replace(cfg, trust=Trust(org_path, repo_path if repo is not None else None, mode))
    assert repo_path is not None
    _paths_inside(repo, repo_path)
    repo_abs = _absolute_paths(repo, repo_path)
    base = config_from_dict(org_abs, org_path)
    accepted, refused = _tighten(org_abs, repo_abs, base)
    loosened: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    if mode == "trusted":
        merged, loosened = _overlay(org_abs, repo_abs), tuple(refused)
    else:
        merged, ignored = _overlay(org_abs, accepted), tuple(refused)
    cfg = config_from_dict(merged, repo_path)
    repo_waivers = _waivers(repo, repo_path)  # checked (dates) even where they are not applied
    waivers = base.waivers + (repo_waivers if mode == "trusted" else ())
    sev = accepted.get("severity") or {}
    # relative paths in settings belong to the file that gave them: the repository's only when it is trusted
    # and has settings (a repository must not supply the key file an organisation's relative path names)
    settings_from = repo_path if mode == "trusted" and repo.get("settings") else org_path
    return replace(
        cfg,
        waivers=waivers,
        settings_dir=os.path.dirname(os.path.abspath(settings_from)) if settings_from else None,
        trust=Trust(
            org_path,
            repo_path,
            mode,
            loosened,
            ignored,
            tuple(sorted(sev.items())),
            tuple(sorted(base.severity.items())),
        ),
    )


def _absolute_paths(data: Any, path: str | None) -> dict[str, Any]:
    """A plain copy of a configuration document with its file paths made absolute (its own directory)."""
    out = dict(data or {})
    if not path:
        return out
    base = os.path.dirname(os.path.abspath(path))
    if out.get("custom-rules"):
        out["custom-rules"] = [os.path.normpath(os.path.join(base, d)) for d in out["custom-rules"]]
    helm = dict(out.get("helm") or {})
    if helm.get("charts"):
        helm["charts"] = {os.path.normpath(os.path.join(base, d)): v for d, v in helm["charts"].items()}
    binary = helm.get("binary")
    if isinstance(binary, str) and os.sep in binary and not os.path.isabs(binary):
        helm["binary"] = os.path.normpath(os.path.join(base, binary))
    if "helm" in out:
        out["helm"] = helm
    return out


def _paths_inside(data: Any, path: str) -> None:
    """Every path a repository configuration names stays inside the repository (its file's directory)."""
    base = os.path.realpath(os.path.dirname(os.path.abspath(path)))

    def inside(p: str) -> bool:
        real = os.path.realpath(os.path.join(base, p))
        return real == base or real.startswith(base.rstrip(os.sep) + os.sep)

    named: list[tuple[list[str | int], str]] = [
        (["custom-rules", i], d) for i, d in enumerate(data.get("custom-rules") or ()) if isinstance(d, str)
    ]
    helm = data.get("helm") or {}
    named += [(["helm", "charts", d], d) for d in (helm.get("charts") or {})]
    for keys, p in named:
        if not inside(p):
            where = "custom-rules" if keys[0] == "custom-rules" else "helm.charts"
            raise ConfigError(
                f"{path}:{_line_for(data, keys)}: '{where}' names a path outside the repository; a repository "
                "configuration may only name paths inside it (an organisation configuration, --config, may "
                "name others)"
            )


def _tighten(base_data: dict[str, Any], repo: dict[str, Any], base: Config) -> tuple[dict[str, Any], list[str]]:
    """What of a repository configuration only tightens the gate set by ``base``; the keys that would loosen it.

    Severity entries are judged once the rules are known (:func:`judge_severities`).
    """
    accepted: dict[str, Any] = {}
    refused: list[str] = []
    for key, value in repo.items():
        if key == "version":
            accepted[key] = value
        elif key == "repository-config":
            refused.append(key)  # only the organisation sets it
        elif key == "fail-on":
            if _FAIL_ON_ORDER.index(value) <= _FAIL_ON_ORDER.index(base.fail_on):
                accepted[key] = value
            else:
                refused.append(key)
        elif key == "select":
            if not value or "ALL" in value:
                continue
            if base.select and "ALL" not in base.select:
                accepted[key] = list(base.select) + [v for v in value if v not in base.select]  # more rules
            else:
                refused.append(key)  # narrowing what runs
        elif key in ("ignore", "exclude", "waivers", "settings"):
            if value:
                refused.append(key)
        elif key == "severity":
            accepted[key] = dict(value or {})
        elif key in ("inline-suppressions", "preview"):
            # inline-suppressions: false and preview: true tighten; the opposite of the base loosens
            now = base.inline_suppressions if key == "inline-suppressions" else base.preview
            if value == (key == "preview"):
                accepted[key] = value
            elif value != now:
                refused.append(key)
        elif key == "scan-test-data":
            # scanning test data too tightens; leaving out what the base scans loosens
            if value or not base.scan_test_data:
                accepted[key] = value
            else:
                refused.append(key)
        elif key == "custom-rules":
            accepted[key] = list(base_data.get("custom-rules") or ()) + list(value or ())
        elif key == "limits":
            accepted[key] = _tighten_limits(dict(base_data.get("limits") or {}), dict(value or {}), base, refused)
        elif key == "helm":
            accepted[key] = _tighten_helm(dict(base_data.get("helm") or {}), dict(value or {}), refused)
        else:  # a key added to the schema and not judged here: not applied from a repository
            refused.append(key)
    return accepted, refused


def _tighten_limits(base: dict[str, Any], repo: dict[str, Any], config: Config, refused: list[str]) -> dict[str, Any]:
    """Reading limits: a repository may lower them (more is refused, as GC001), never raise them."""
    out = dict(base)
    current = {
        "max-file-bytes": config.max_file_bytes,
        "max-line-length": config.limits.max_line_length,
        "max-depth": config.limits.max_depth,
        "max-alias-nodes": config.limits.max_alias_nodes,
    }
    for k, v in repo.items():
        if v <= current[k]:
            out[k] = v
        else:
            refused.append(f"limits.{k}")
    return out


_HELM_DEFAULTS = {"timeout": 60, "max-memory-bytes": 2 * 1024 * 1024 * 1024}


def _tighten_helm(base: dict[str, Any], repo: dict[str, Any], refused: list[str]) -> dict[str, Any]:
    out = dict(base)
    for k, v in repo.items():
        if k == "binary":
            refused.append("helm.binary")  # a program to run: only the organisation names it
        elif k == "render":
            if v is False:
                refused.append("helm.render")
        elif k in _HELM_DEFAULTS:
            if v <= base.get(k, _HELM_DEFAULTS[k]):
                out[k] = v
            else:
                refused.append(f"helm.{k}")
        elif k in ("profiles", "charts"):
            out[k] = {**(base.get(k) or {}), **(v or {})}  # more renderings
        else:  # release-name, namespace, api-versions, kube-version, resolve-dependencies-from-tree
            out[k] = v
    return out


def _overlay(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` on ``base``: keys replaced, except sections merged per key and lists of rules or waivers joined."""
    out = dict(base)
    for k, v in top.items():
        if k in ("settings", "severity", "limits") and isinstance(v, dict):
            out[k] = {**(base.get(k) or {}), **v}
        elif k == "helm" and isinstance(v, dict):
            out[k] = {**(base.get(k) or {}), **v}
        elif k in ("waivers", "custom-rules") and k in base:
            out[k] = list(base[k]) + [x for x in v if x not in base[k]]
        else:
            out[k] = v
    return out


def judge_severities(config: Config, rules: Iterable[Any]) -> Config:
    """Drop the repository's severity entries that lower a rule's severity (tighten-only), or record them
    as loosening (trusted).  ``rules`` are the catalogue's (``id``, ``severity``)."""
    repo = dict(config.trust.repo_severity)
    if not repo:
        return config
    base_map = dict(config.trust.base_severity)
    base = replace(config, severity=base_map)
    lowering = sorted(
        p
        for p, sev in repo.items()
        if any(_matches(r.id, (p,)) and Severity.parse(sev) < base.severity_for(r.id, r.severity) for r in rules)
    )
    if not lowering:
        return config
    keys = tuple(f"severity.{p}" for p in lowering)
    if config.trust.mode == "trusted":
        return replace(config, trust=replace(config.trust, loosened=config.trust.loosened + keys))
    kept = {k: v for k, v in config.severity.items() if k not in lowering}
    kept.update({p: base_map[p] for p in lowering if p in base_map})
    return replace(config, severity=kept, trust=replace(config.trust, ignored=config.trust.ignored + keys))


def config_from_dict(data: Any, path: str | None = None) -> Config:
    where = path or "configuration"
    _validate(data, where)
    settings = dict(DEFAULT_SETTINGS)
    for key, value in (data.get("settings") or {}).items():
        settings[key] = value
    lim = data.get("limits") or {}
    limits = Limits(
        max_depth=lim.get("max-depth", Limits.max_depth),
        max_alias_nodes=lim.get("max-alias-nodes", Limits.max_alias_nodes),
        max_line_length=lim.get("max-line-length", Limits.max_line_length),
    )
    return Config(
        custom_rules=_custom_rule_dirs(data, path, where),
        waivers=_waivers(data, where),
        fail_on=data.get("fail-on", "error"),
        select=tuple(data.get("select", ())),
        ignore=tuple(data.get("ignore", ())),
        severity=dict(data.get("severity", {})),
        exclude=tuple(data.get("exclude", ())),
        inline_suppressions=data.get("inline-suppressions", True),
        scan_test_data=data.get("scan-test-data", False),
        limits=limits,
        max_file_bytes=lim.get("max-file-bytes", Config.max_file_bytes),
        settings=settings,
        path=path,
        helm=dict(data.get("helm") or {}),
        kustomize=dict(data.get("kustomize") or {}),
        preview=data.get("preview", False),
    )


def _validate(data: Any, where: str) -> None:
    """Validate against config.schema.json (its settings part from the catalogue); ConfigError at the key's line."""
    import jsonschema

    # "format": "regex" in the schema marks every setting that holds a regular expression: the format
    # checker compiles each one, so a typo is a usage error at its line, for every such setting alike
    validator = jsonschema.Draft202012Validator(
        config_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(list(e.absolute_path)), str(e.message)))
    if not errors:
        return
    e = errors[0]
    keys = ".".join(str(p) for p in e.absolute_path)
    line = _line_for(data, list(e.absolute_path))
    if e.validator == "additionalProperties":
        extra = sorted(set(e.instance) - set(e.schema.get("properties", {})))
        target = f"{keys}.{extra[0]}" if keys else extra[0]
        line = _line_for(data, [*e.absolute_path, extra[0]])
        raise ConfigError(f"{where}:{line}: unknown key '{target}'")
    if e.validator == "format" and e.validator_value == "regex":
        raise ConfigError(
            f"{where}:{line}: '{keys}' holds an invalid regular expression {e.instance!r}: "
            f"{e.cause or 'does not compile'}"
        )
    raise ConfigError(f"{where}:{line}: '{keys or '(top level)'}': {e.message}")


def _waivers(data: Any, where: str) -> tuple[Waiver, ...]:
    waivers = []
    for i, w in enumerate(data.get("waivers") or ()):
        try:
            expires = _dt.date.fromisoformat(w["expires"])
        except ValueError:
            raise ConfigError(
                f"{where}:{_line_for(data, ['waivers', i, 'expires'])}: "
                f"'waivers.{i}.expires' is not a valid date: {w['expires']}"
            ) from None
        line = _line_for(data, ["waivers", i])
        reason = (w.get("reason") or "").strip() or None
        waivers.append(
            Waiver(
                tuple(w["rules"]),
                reason,
                where,
                line,
                None,
                "waiver",
                paths=tuple(w.get("paths", ())),
                objects=tuple(w.get("objects", ())),
                owner=w["owner"],
                ticket=w.get("ticket"),
                expires=expires,
            )
        )
    return tuple(waivers)


def _custom_rule_dirs(data: Any, path: str | None, where: str) -> tuple[str, ...]:
    base = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
    custom = []
    for i, d in enumerate(data.get("custom-rules") or ()):
        full = os.path.normpath(os.path.join(base, d))
        if not os.path.isdir(full):
            raise ConfigError(f"{where}:{_line_for(data, ['custom-rules', i])}: 'custom-rules': {d} is not a directory")
        custom.append(full)
    return tuple(custom)


def _line_for(data: Any, keys: list[str | int]) -> int:
    """The line of the key (or item) at the end of ``keys``, or of the deepest one that exists."""
    node = data
    line = line_of(data)
    for k in keys:
        if isinstance(node, dict) and k in node:
            line = key_line(node, k, line)
        elif isinstance(node, list) and isinstance(k, int):
            line = item_line(node, k, line)
        try:
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
