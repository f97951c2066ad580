"""The rule catalogue: metadata in ``rules/*.yaml``, validated by a JSON Schema.

A rule is either *declarative* (evaluated by :mod:`guidecheck.checks.declarative`)
or names a Python check function ``module:function``.  Nothing registers itself
by being imported: this module reads the YAML files and resolves the function
names explicitly, under the ``guidecheck.checks`` package only.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from guidecheck.model import Severity

SCHEMA_DIR = Path(__file__).parent / "schemas"


class CatalogError(Exception):
    """The rule catalogue itself is broken (a packaging or authoring bug)."""


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    bullet: str | None
    severity: Severity
    targets: tuple[str, ...]
    rationale: str
    remediation: str
    status: str
    check: str | None
    declarative: dict[str, Any] | None
    evidence: str | None
    options: dict[str, Any] = field(default_factory=dict)
    file: str = ""
    scope: str = "target"  # "repository": needs the whole repository's objects (not run on files one by one)
    gate: bool = False  # a failure means the target could not be checked: counted even when the rule is off

    @property
    def guideline(self) -> str:
        return self.bullet or "—"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "bullet": self.bullet,
            "severity": str(self.severity),
            "targets": list(self.targets),
            "status": self.status,
            "rationale": self.rationale,
            "remediation": self.remediation,
            "evidence": self.evidence,
            "scope": self.scope,
        }


def rules_dir() -> Path:
    """``rules/`` at the top of a checkout, or ``guidecheck/_rules`` in a wheel."""
    packaged = Path(__file__).parent / "_rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "rules"


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict[str, Any]:
    with open(SCHEMA_DIR / name, encoding="utf-8") as fh:
        return json.load(fh)


def _validate(data: Any, schema_name: str, where: str) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema(schema_name))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        loc = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        raise CatalogError(f"{where}: {loc}: {e.message}")


def _validate_catalog(loaded: list[tuple[Path, bytes, Any]]) -> None:
    """Validate every rule file against the schema.

    Validation needs jsonschema (about 80 ms to import), so a successful
    validation is remembered by the SHA-256 of the schema and every rule
    file's bytes in the user's cache directory; a changed or new rule file
    is validated again.  Set GUIDECHECK_NO_CACHE=1 to always validate.
    """
    import hashlib

    from guidecheck import __version__

    h = hashlib.sha256(__version__.encode())
    h.update((SCHEMA_DIR / "rule.schema.json").read_bytes())
    for path, raw, _ in loaded:
        h.update(str(path).encode("utf-8", "surrogateescape") + b"\0" + raw + b"\0")
    cache = _cache_dir()
    stamp = cache / f"catalog-{h.hexdigest()[:32]}.ok" if cache else None
    try:
        if stamp is not None and stamp.is_file():
            return
    except OSError:  # an unreadable cache directory (another user's HOME): validate
        stamp = None
    for path, _, data in loaded:
        _validate(data, "rule.schema.json", str(path))
    if stamp is not None:
        try:
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_bytes(b"")
        except OSError:
            pass  # a read-only home is fine: we validate every time


def _cache_dir() -> Path | None:
    if os.environ.get("GUIDECHECK_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "guidecheck"


def load_rules(directory: Path | None = None, extra_dirs: tuple[str, ...] = ()) -> list["Rule"]:
    """Read every ``*.yaml`` in the rules directory, plus the team's own rule directories.

    The team's own rules (``custom-rules:`` in .guidecheck.yaml) are
    declarative only and may not use guidecheck's ``GC`` id prefix.
    """
    from guidecheck.parsers.yaml import load_yaml

    builtin = directory or rules_dir()
    loaded: list[tuple[Path, bytes, Any]] = []
    custom: set[Path] = set()
    for d in [builtin, *map(Path, extra_dirs)]:
        if not d.is_dir():
            raise CatalogError(f"rules directory not found: {d}")
        for name in sorted(os.listdir(d)):
            if not name.endswith(".yaml"):
                continue
            path = d / name
            raw = path.read_bytes()
            try:
                docs = load_yaml(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise CatalogError(f"{path}: not UTF-8 text") from None
            if len(docs) != 1 or docs[0].errors or not isinstance(docs[0].data, dict):
                errs = docs[0].errors if docs else []
                raise CatalogError(f"{path}: not a single YAML mapping {[e.message for e in errs]}")
            loaded.append((path, raw, docs[0].data))
            if d != builtin:
                custom.add(path)
    _validate_catalog(loaded)
    rules: dict[str, Rule] = {}
    for path, _, data in loaded:
        if path in custom:
            if data["id"].startswith("GC"):
                raise CatalogError(f"{path}: rule ids starting with GC are reserved for guidecheck's catalogue; "
                                   "use your own prefix (e.g. ACME001)")
            if "check" in data:
                raise CatalogError(f"{path}: custom rules are declarative; 'check:' names built-in code only")
        if data["id"] != path.stem:
            raise CatalogError(f"{path}: id {data['id']} does not match the file name")
        if data["id"] in rules:
            raise CatalogError(f"{path}: rule {data['id']} defined twice")
        rules[data["id"]] = Rule(
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
            options=dict(data.get("options") or {}),
            file=str(path),
        )
    return [rules[k] for k in sorted(rules)]


_ALLOWED_MODULE_PREFIX = "guidecheck.checks."


def resolve_check(rule: Rule) -> Callable:
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
        return getattr(module, func_name)
    except AttributeError:
        raise CatalogError(f"{rule.id}: {module_name} has no function {func_name}") from None
