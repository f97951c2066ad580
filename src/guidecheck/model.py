"""The data model shared by loaders, the engine, checks and reporters.

Loaders turn sources into *targets*; the engine runs each *rule* against each
matching target and records an *outcome* per (rule, target) pair, with the
*findings* a failing pair produced.  Everything here is plain data: no I/O.
The target factories (:func:`file_target`, :func:`k8s_target`) are the one way
loaders and the cluster audit make the targets every family shares.  A :class:`Rule`
is what the catalogue (:mod:`guidecheck.catalog`) reads from ``rules/*.yaml``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.IntEnum):
    """Ordered so that ``a >= b`` means *a is at least as serious as b*."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.upper()]

    def __str__(self) -> str:  # "error", "warning", "info"
        return self.name.lower()


class Status(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True, order=True)
class ObjectRef:
    """What a finding is about, e.g. ``Deployment/shop/cart`` or ``stage runtime``."""

    kind: str
    namespace: str | None = None
    name: str | None = None

    def __str__(self) -> str:
        parts = [self.kind]
        if self.namespace:
            parts.append(self.namespace)
        if self.name is not None:
            parts.append(self.name)
        return "/".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name}


@dataclass(frozen=True)
class Suppression:
    """An inline comment or object annotation that silences rule ids."""

    rules: tuple[str, ...]  # rule ids or prefixes; "*" for every rule
    reason: str | None
    path: str
    line: int  # line of the directive itself
    applies_to: tuple[int, int] | None  # inclusive line range; None = whole file/object
    origin: str  # "comment" | "annotation"

    def covers(self, rule_id: str) -> bool:
        return any(r == "*" or rule_id.startswith(r) for r in self.rules)


@dataclass
class SourceFile:
    """A file a loader read (or tried to read).  ``errors`` feed rule GC001."""

    path: str  # display path, relative to the scan root where possible
    kind: str  # dockerfile, yaml, json, chart, ...
    errors: list[LoadError] = field(default_factory=list)
    suppressions: list[Suppression] = field(default_factory=list)
    read: bool = False  # the text was read (it may still have parse errors)
    # why the file, read, is not checked as what its name announces (a JSON file that is no deployment
    # file, a template): GC001 is not applicable to it and says so
    note: str | None = None
    # for a file with a document that did not parse: the object kinds its text names (`kind: Service`; "?" for
    # a kind that is a template expression), so rules can tell what the unread objects may have been
    kinds_named: tuple[str, ...] | None = None


@dataclass(frozen=True)
class LoadError:
    """A problem reading a source, placed at its line and column."""

    message: str
    line: int = 1
    column: int = 1
    severity: Severity = Severity.ERROR
    checked: bool = False  # the content was checked all the same (a duplicate key: its last value)


@dataclass
class Target:
    """Something a rule can be run against.

    ``kind`` is the target family a rule declares (``file``, ``repo``,
    ``docker``, ``k8s``, ...).  ``data`` is the loader's model of it.
    """

    kind: str
    path: str
    line: int
    ref: ObjectRef
    data: Any
    source: SourceFile | None = None
    suppressions: list[Suppression] = field(default_factory=list)
    # where a rendered object came from (template file, chart, profile); free form
    origin: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, int, str, str]:
        return (self.path, self.line, self.kind, str(self.ref))

    @property
    def label(self) -> str:
        return f"{self.path}:{self.line} {self.ref}"


def file_target(src: SourceFile) -> Target:
    """The file itself (line 1); its read and parse errors are GC001's findings, each at its own line."""
    return Target(kind="file", path=src.path, line=1, ref=ObjectRef("File", None, src.path), data=src, source=src)


def k8s_target(
    obj: Any,
    ref: ObjectRef,
    *,
    path: str,
    line: int,
    source: SourceFile | None = None,
    suppressions: list[Suppression] | None = None,
    origin: dict[str, Any] | None = None,
) -> Target:
    """A Kubernetes object as a ``k8s`` target.

    ``ref`` is the object's :func:`guidecheck.parsers.k8s.object_ref`; ``suppressions`` are the
    ones its ``guidecheck.io/ignore`` annotations hold (:func:`guidecheck.suppress.from_annotations`,
    made by the loader, which knows whether inline suppressions are honoured); ``origin`` says
    where it came from (the contract of :mod:`guidecheck.crossref`: source, repo, span, release...).
    """
    return Target(
        kind="k8s",
        path=path,
        line=line,
        ref=ref,
        data=obj,
        source=source,
        suppressions=list(suppressions or ()),
        origin=dict(origin or {}),
    )


@dataclass(frozen=True)
class Rule:
    """A rule of the catalogue (``rules/*.yaml``, read by :func:`guidecheck.catalog.load_rules`)."""

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
    suppressible: bool = True  # False: no inline suppression, waiver or baseline silences its findings
    settings: tuple[str, ...] = ()  # the settings this rule declares (catalog.Setting)
    reads: tuple[str, ...] = ()  # settings declared elsewhere that this rule reads too

    @property
    def guideline(self) -> str:
        return self.bullet or "—"

    @property
    def listed_title(self) -> str:
        """The title, marked ``(preview)`` or ``(deprecated)`` for such rules (``guidecheck rules``)."""
        return f"{self.title} ({self.status})" if self.status in ("preview", "deprecated") else self.title

    @property
    def uses(self) -> tuple[str, ...]:
        """Every setting the rule reads: the ones it declares, then the ones it lists under ``reads:``."""
        return self.settings + self.reads

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


@dataclass
class Finding:
    """One defect a rule found, placed at a file, line and column (and object and container)."""

    rule_id: str
    severity: Severity
    message: str
    path: str
    line: int
    column: int
    object: ObjectRef | None
    container: str | None
    bullet: str | None
    remediation: str
    title: str = ""
    suppressed: bool = False
    suppression_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def sort_key(self) -> tuple[str, int, int, str, str, str, str]:
        return (
            self.path,
            self.line,
            self.column,
            self.rule_id,
            self.message,
            str(self.object or ""),
            self.container or "",
        )


@dataclass
class Outcome:
    """What one rule concluded about one target: pass, fail, not applicable or suppressed."""

    rule_id: str
    target: Target
    status: Status
    findings: list[Finding] = field(default_factory=list)
    reason: str | None = None  # why not applicable / suppressed; a pass's evidence where its check gives one


@dataclass
class ScanResult:
    """Everything one scan produced: findings, outcomes, the rules run and what left it incomplete."""

    findings: list[Finding]
    outcomes: list[Outcome]
    rules: list[Rule]  # the rules that ran
    incomplete: list[str] = field(default_factory=list)  # why coverage is partial
    inputs: list[str] = field(default_factory=list)
    baseline: dict[str, Any] | None = None  # what --baseline matched and its fixed entries (baseline.unmatched)
    skipped: list[str] = field(default_factory=list)  # charts and kustomizations not rendered on request
    not_scanned: list[str] = field(default_factory=list)  # test-data directories (and files) left out

    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed]


@dataclass
class Hit:
    """What a check function yields: a problem at a place, inside its target."""

    message: str
    line: int | None = None
    column: int = 1
    container: str | None = None
    path: str | None = None  # override the target's path (e.g. a values file)
    extra: dict[str, Any] = field(default_factory=dict)
    # the container field a finding is about ("resources", "livenessProbe"): where the finding's
    # line reads no values (a container's "- name:" line), a rendered chart's trace looks for the
    # values that field comes from in the container's template lines
    about: str | None = None
    # the target's contents could not be checked because of this (a parse error, a chart that did
    # not render): counted as an incomplete scan when the rule is not enabled (rules' gate: true)
    unchecked: bool = False
    # the check could not finish on this target (a work budget spent): the finding says so, and the scan is
    # incomplete (exit 3), whether the finding is suppressed or not
    incomplete: bool = False
    # a lower severity than the rule's for this finding (GC001's one note on a template it does not check)
    severity: Severity | None = None
    # the object the finding is about when it is not the target's: a shared base's kustomization, for a problem
    # at its line that stops every overlay listing it (one finding, listing the units)
    obj: ObjectRef | None = None
