"""The rule catalogue: metadata in ``rules/*.yaml``, validated by a JSON Schema; the single source of truth.

A rule is either *declarative* (evaluated by :mod:`guidecheck.checks.declarative`)
or names a Python check function ``module:function`` (with ``options:`` when one
function serves several rules).  Nothing registers itself by being imported: this
module reads the YAML files and resolves the function names explicitly, under the
``guidecheck.checks`` package only.

Every setting of ``.guidecheck.yaml`` is declared once here, under ``settings:``
of the rule that reads it (type, default, merge policy, description; other rules
list it under ``reads:``), or in ``rules/_settings.yaml`` for the settings of the
engine and the audit.  :data:`guidecheck.config.DEFAULT_SETTINGS`, the ``settings``
part of ``config.schema.json`` and the settings table of docs/configuration.md are
built from these declarations (:func:`load_settings`, :func:`config_schema`).
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from guidecheck.model import Hit, Rule, Severity, Target

if TYPE_CHECKING:
    from guidecheck.checks import Context

# what a rule's check is: a function from a target and the scan's context to the problems found
Check: TypeAlias = "Callable[[Target, Context], Iterable[Hit]]"

SCHEMA_DIR = Path(__file__).parent / "schemas"
SHARED_SETTINGS = "_settings.yaml"  # in the rules directory: settings no single rule owns
MERGE_POLICIES = ("replace", "extend", "merge-keys")


class CatalogError(Exception):
    """The rule catalogue itself is broken (a packaging or authoring bug)."""


@dataclass(frozen=True)
class Setting:
    """One setting of ``.guidecheck.yaml`` (``settings:``), declared once in the catalogue."""

    name: str
    schema: dict[str, Any]  # JSON Schema of a value (the declaration's ``type:``)
    default: Any
    merge: str  # how a user's value combines with the default: one of MERGE_POLICIES
    description: str
    declared_by: str | None = None  # the rule whose YAML declares it; None: rules/_settings.yaml
    readers: tuple[str, ...] = ()  # the other rules that list it under reads:
    used_by: str | None = None  # readers outside the rules (the engine, guidecheck audit), for the docs
    default_text: str | None = None  # the default in words, for the docs (when the value is long)

    @property
    def rules(self) -> tuple[str, ...]:
        """Every rule that reads the setting: the declaring rule, then the readers."""
        return ((self.declared_by,) if self.declared_by else ()) + self.readers

    def combine(self, value: Any) -> Any:
        """The effective value: ``value`` (from Config.settings) combined with the default by the merge policy."""
        return merge_value(self.merge, self.default, value)

    def json_schema(self) -> dict[str, Any]:
        """The setting's schema in ``config.schema.json``: its type, with description and default."""
        return {**self.schema, "description": " ".join(self.description.split()), "default": self.default}


def merge_value(policy: str, default: Any, value: Any) -> Any:
    """Combine a configured value with the default.

    ``replace``: the value replaces the default.  ``extend``: lists are the
    default's items followed by the value's new ones, mappings are extended key
    by key (a new key is added).  ``merge-keys``: a mapping whose keys replace
    the default's keys one by one; a key set to null drops that default.
    Combining the default with itself gives the default, so a value that was
    never configured (Config.settings holds the default then) is unchanged.
    """
    if policy == "extend":
        return _extend(default, value)
    if policy == "merge-keys" and isinstance(default, dict) and isinstance(value, dict):
        return {k: v for k, v in {**default, **value}.items() if v is not None}
    return value


def _extend(default: Any, value: Any) -> Any:
    if isinstance(default, list) and isinstance(value, list):
        return [*default, *(x for x in value if x not in default)]
    if isinstance(default, dict) and isinstance(value, dict):
        out = {k: _extend(v, value[k]) if k in value else v for k, v in default.items()}
        out.update((k, v) for k, v in value.items() if k not in default)
        return out
    return default if value is None else value


def rules_dir() -> Path:
    """``rules/`` at the top of a checkout, or ``guidecheck/_rules`` in a wheel."""
    packaged = Path(__file__).parent / "_rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "rules"


@cache
def load_schema(name: str) -> dict[str, Any]:
    with open(SCHEMA_DIR / name, encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


def _schema_for(path: Path) -> dict[str, Any]:
    """rule.schema.json, or its ``settingsFile`` definition for rules/_settings.yaml."""
    schema = load_schema("rule.schema.json")
    if path.name != SHARED_SETTINGS:
        return schema
    return {"$ref": "#/$defs/settingsFile", "$defs": schema["$defs"]}


def _validate(data: Any, schema: dict[str, Any], where: str, checker: Any = None) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema, format_checker=checker)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        loc = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        raise CatalogError(f"{where}: {loc}: {e.message}")


def _validate_defaults(path: Path, data: Any) -> None:
    """Each declared default is a valid value of its own type (regular expressions compile)."""
    import jsonschema

    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    for name, spec in (data.get("settings") or {}).items():
        _validate(spec["default"], spec["type"], f"{path}: settings/{name}/default", checker)


def _validate_catalog(loaded: list[tuple[Path, bytes, Any]]) -> None:
    """Validate every rule file against the schema, and each declared setting's default against its type.

    Validation needs jsonschema (about 80 ms to import), so a successful
    validation is remembered by the SHA-256 of the schema and every rule
    file's bytes in the user's cache directory; a changed or new rule file
    is validated again.  Set GUIDECHECK_NO_CACHE=1 to always validate.
    """
    cache = _cache_dir()
    stamp = cache / f"catalog-{_catalog_key([(p, raw) for p, raw, _ in loaded])}.ok" if cache else None
    try:
        if stamp is not None and stamp.is_file():
            return
    except OSError:  # an unreadable cache directory (another user's HOME): validate
        stamp = None
    for path, _, data in loaded:
        _validate(data, _schema_for(path), str(path))
        _validate_defaults(path, data)
    if stamp is not None:
        _remember(stamp, b"")  # a read-only home is fine: we validate every time


def _cache_dir() -> Path | None:
    if os.environ.get("GUIDECHECK_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "guidecheck"


def _read_yaml(path: Path, raw: bytes | None = None) -> tuple[Path, bytes, Any]:
    from guidecheck.parsers.yaml import load_yaml

    raw = path.read_bytes() if raw is None else raw
    try:
        docs = load_yaml(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise CatalogError(f"{path}: not UTF-8 text") from None
    if len(docs) != 1 or docs[0].errors or not isinstance(docs[0].data, dict):
        errs = docs[0].errors if docs else []
        raise CatalogError(f"{path}: not a single YAML mapping {[e.message for e in errs]}")
    return path, raw, docs[0].data


def _read_dir(d: Path, builtin: bool) -> list[tuple[Path, bytes, Any]]:
    """Every ``*.yaml`` of a rules directory; in the built-in one, rules/_settings.yaml comes last."""
    if not d.is_dir():
        raise CatalogError(f"rules directory not found: {d}")
    return [_read_yaml(d / n) for n in _names(d, builtin)]


def _names(d: Path, builtin: bool) -> list[str]:
    names = sorted(n for n in os.listdir(d) if n.endswith(".yaml") and not (builtin and n == SHARED_SETTINGS))
    if builtin and (d / SHARED_SETTINGS).is_file():
        names.append(SHARED_SETTINGS)
    return names


def _plain(value: Any) -> Any:
    """A YAML value as plain dicts and lists (the parser's YMap/YSeq carry line numbers)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _settings_of(loaded: list[tuple[Path, bytes, Any]]) -> dict[str, Setting]:
    """The settings declared by the built-in catalogue files, with the rules that read them."""
    declared: dict[str, tuple[Path, str | None, dict[str, Any]]] = {}
    for path, _, data in loaded:
        owner = None if path.name == SHARED_SETTINGS else data["id"]
        for name, spec in (data.get("settings") or {}).items():
            if name in declared:
                raise CatalogError(f"{path}: setting {name} is already declared in {declared[name][0]}")
            default = spec["default"]
            if (
                spec["merge"] == "extend"
                and not isinstance(default, (list, dict))
                or spec["merge"] == "merge-keys"
                and not isinstance(default, dict)
            ):
                raise CatalogError(
                    f"{path}: setting {name}: merge {spec['merge']} needs a "
                    f"{'mapping' if spec['merge'] == 'merge-keys' else 'list or mapping'} default"
                )
            declared[name] = (path, owner, spec)
    readers: dict[str, list[str]] = {}
    for path, _, data in loaded:
        for name in data.get("reads") or ():
            if name not in declared:
                raise CatalogError(f"{path}: reads: no setting {name} is declared")
            if declared[name][1] == data.get("id"):
                raise CatalogError(f"{path}: reads: {name} is declared by this rule")
            readers.setdefault(name, []).append(data["id"])
    return {
        name: Setting(
            name=name,
            schema=_plain(spec["type"]),
            default=_plain(spec["default"]),
            merge=spec["merge"],
            description=" ".join(str(spec["description"]).split()),
            declared_by=owner,
            readers=tuple(sorted(readers.get(name, ()))),
            used_by=spec.get("used-by"),
            default_text=spec.get("default-text"),
        )
        for name, (_, owner, spec) in declared.items()
    }


@cache
def load_settings(directory: Path | None = None) -> dict[str, Setting]:
    """Every setting of ``.guidecheck.yaml``, in catalogue order (rules by id, then rules/_settings.yaml)."""
    if directory is None:
        return _builtin_settings()
    loaded = _read_dir(directory, builtin=True)
    _validate_catalog(loaded)
    return _settings_of(loaded)


def _catalog_key(files: list[tuple[Path, bytes]]) -> str:
    """What a validated catalogue is remembered by: the version, the rule schema, every file's path and bytes."""
    import hashlib

    from guidecheck import __version__

    h = hashlib.sha256(__version__.encode())
    h.update((SCHEMA_DIR / "rule.schema.json").read_bytes())
    for path, raw in files:
        h.update(str(path).encode("utf-8", "surrogateescape") + b"\0" + raw + b"\0")
    return h.hexdigest()[:32]


@lru_cache(maxsize=1)
def _builtin() -> list[tuple[Path, bytes, Any]]:
    """The built-in catalogue's files, read and validated once per process.

    Parsing the 40-odd rule files costs more than a pre-commit scan of three files, so the
    validated catalogue is kept as JSON in the user's cache directory (see
    :func:`_validate_catalog`), named by the SHA-256 of every file's path and bytes, the rule
    schema and guidecheck's version: a changed rule file is read anew.  The entry holds plain
    data (what rules and settings are made of; no line numbers, which only validation errors
    use).  It is the user's own, never the scanned repository's; an unreadable one is ignored.
    """
    d = rules_dir()
    files = [(d / n, (d / n).read_bytes()) for n in _names(d, builtin=True)]
    cache = _cache_dir()
    entry = cache / f"catalog-{_catalog_key(files)}.json" if cache else None
    if entry is not None:
        try:
            data = json.loads(entry.read_bytes())
            if isinstance(data, list) and len(data) == len(files):
                return [(path, raw, item) for (path, raw), item in zip(files, data, strict=True)]
        except (OSError, ValueError):  # missing or truncated: read the files
            pass
    loaded = [_read_yaml(path, raw) for path, raw in files]
    _validate_catalog(loaded)
    if entry is not None:
        _remember(entry, json.dumps([_plain(data) for _, _, data in loaded]).encode())
    return loaded


def _remember(entry: Path, data: bytes, keep: int = 4) -> None:
    """Write ``entry`` atomically (a concurrent run reads the old file or the new one, never half of one), and
    drop all but the ``keep`` newest entries of its kind (one per rule set: they accumulate across versions)."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, entry)
        prefix, suffix = entry.name.split("-", 1)[0] + "-", entry.suffix
        olds = [p for p in entry.parent.iterdir() if p.name.startswith(prefix) and p.name.endswith(suffix)]
        olds.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        for old in olds[keep:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only or shared home: read the files every time


@lru_cache(maxsize=1)
def _builtin_settings() -> dict[str, Setting]:
    return _settings_of(_builtin())


def settings_schema() -> dict[str, Any]:
    """The JSON Schema of the ``settings:`` section of ``.guidecheck.yaml``, built from the catalogue."""
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {name: s.json_schema() for name, s in load_settings().items()},
    }


@lru_cache(maxsize=1)
def config_schema() -> dict[str, Any]:
    """``config.schema.json`` with its ``settings`` part built from the catalogue (what the loader validates).

    The committed file's ``settings`` part is a generated copy of the same
    (``python -m guidecheck.docs`` writes it; a test checks it is current), for
    editors and readers of the schema.
    """
    schema = dict(load_schema("config.schema.json"))
    schema["properties"] = {**schema["properties"], "settings": settings_schema()}
    return schema


def load_rules(directory: Path | None = None, extra_dirs: tuple[str, ...] = ()) -> list[Rule]:
    """Read every ``*.yaml`` in the rules directory, plus the team's own rule directories.

    The team's own rules (``custom-rules:`` in .guidecheck.yaml) are
    declarative only, may not use guidecheck's ``GC`` id prefix, and declare no
    settings (they may list built-in ones under ``reads:``).
    """
    loaded = _read_dir(directory, builtin=True) if directory is not None else _builtin()
    custom = [item for d in extra_dirs for item in _read_dir(Path(d), builtin=False)]
    if directory is not None or custom:
        _validate_catalog(loaded + custom)
    rule_files = [item for item in loaded if item[0].name != SHARED_SETTINGS]
    for path, _, data in custom:
        if data["id"].startswith("GC"):
            raise CatalogError(
                f"{path}: rule ids starting with GC are reserved for guidecheck's catalogue; "
                "use your own prefix (e.g. ACME001)"
            )
        if "check" in data:
            raise CatalogError(f"{path}: custom rules are declarative; 'check:' names built-in code only")
        if "settings" in data:
            raise CatalogError(f"{path}: custom rules declare no settings; 'reads:' may list built-in ones")
    _settings_of(loaded + custom)  # every reads: names a declared setting, none is declared twice
    rules: dict[str, Rule] = {}
    for path, _, data in rule_files + custom:
        if data["id"] != path.stem:
            raise CatalogError(f"{path}: id {data['id']} does not match the file name")
        if data["id"] in rules:
            raise CatalogError(f"{path}: rule {data['id']} defined twice")
        rules[data["id"]] = _rule(path, data)
    return [rules[k] for k in sorted(rules)]


def _rule(path: Path, data: dict[str, Any]) -> Rule:
    return Rule(
        id=data["id"],
        title=data["title"],
        bullet=data.get("bullet"),
        severity=Severity.parse(data["severity"]),
        targets=tuple(data["targets"]),
        rationale=data["rationale"].strip(),
        remediation=data["remediation"].strip(),
        status=data.get("status", "stable"),
        check=data.get("check"),
        declarative=data.get("declarative"),
        evidence=(data.get("evidence") or "").strip() or None,
        scope=data.get("scope", "target"),
        gate=bool(data.get("gate", False)),
        suppressible=bool(data.get("suppressible", True)),
        settings=tuple(data.get("settings") or ()),
        reads=tuple(data.get("reads") or ()),
        options=_plain(dict(data.get("options") or {})),
        file=str(path),
    )


_ALLOWED_MODULE_PREFIX = "guidecheck.checks."


def resolve_check(rule: Rule) -> Check:
    """The Python function a rule names, or the declarative evaluator."""
    if rule.declarative is not None:
        from guidecheck.checks.declarative import make_check

        try:
            return make_check(rule.declarative)
        except ValueError as exc:
            raise CatalogError(f"{rule.file}: declarative: {exc}") from None
    if not rule.check:
        raise CatalogError(f"{rule.id}: neither check nor declarative")
    module_name, _, func_name = rule.check.partition(":")
    if not module_name.startswith(_ALLOWED_MODULE_PREFIX):
        raise CatalogError(f"{rule.id}: check {rule.check!r} must live under {_ALLOWED_MODULE_PREFIX}")
    module = importlib.import_module(module_name)
    try:
        check: Check = getattr(module, func_name)
    except AttributeError:
        raise CatalogError(f"{rule.id}: {module_name} has no function {func_name}") from None
    return check


class Checks(dict):  # type: ignore[type-arg]
    """Rule id -> check function, each resolved (its module imported) on first use.

    A scan of a few files (the pre-commit hook) runs a handful of rules: importing the
    check module of every rule would cost more than the scan.  The built-in catalogue is
    tested to resolve (tests/test_catalog.py); ``eager`` rules (a team's own, whose
    ``check`` may name a missing function) are resolved at once, so that a broken
    custom rule is a setup error (exit 2), not a failure in the middle of a scan.
    """

    def __init__(self, rules: Iterable[Rule], eager: Callable[[Rule], bool] = lambda rule: False) -> None:
        super().__init__()
        self._rules = {rule.id: rule for rule in rules}
        for rule in self._rules.values():
            if eager(rule):
                self[rule.id] = resolve_check(rule)

    def __missing__(self, rule_id: str) -> Check:
        check = resolve_check(self._rules[rule_id])
        self[rule_id] = check
        return check

    def get(self, rule_id: str, default: Any = None) -> Any:
        return self[rule_id] if rule_id in self._rules else default

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules


# Rule is defined with the data model (a ScanResult holds the rules that ran) and exported from here too
__all__ = [
    "MERGE_POLICIES",
    "SCHEMA_DIR",
    "SHARED_SETTINGS",
    "CatalogError",
    "Check",
    "Checks",
    "Rule",
    "Setting",
    "config_schema",
    "load_rules",
    "load_schema",
    "load_settings",
    "merge_value",
    "resolve_check",
    "rules_dir",
    "settings_schema",
]
