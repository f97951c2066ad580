"""``.guidecheck.yaml``: strict configuration with the guideline's thresholds as defaults.

The defaults and the schema of ``settings:`` come from the rule catalogue
(:mod:`guidecheck.catalog`), where each setting is declared once by the rule that
reads it.

Strict on configuration: an unknown key or a wrong type is a :class:`ConfigError`
(exit 2) naming the key.  The file is found upward from the first scanned path,
or given with ``--config``; ``--isolated`` ignores every configuration file.
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
    kustomize: dict[str, Any] = field(default_factory=dict)  # the 'kustomize:' section (guidecheck.loaders.kustomize)
    preview: bool = False  # 'preview: true': preview rules run like the others when selected

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
