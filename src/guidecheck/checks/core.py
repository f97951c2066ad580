"""Tool rules: GC001 (could not parse or load) and GC002 (suppression without a reason)."""

from __future__ import annotations

from collections.abc import Iterator

from guidecheck.checks import Context, NotApplicable
from guidecheck.model import Hit, Severity, Target
from guidecheck.suppress import BadDirective


def load_errors(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC001: every read or parse error a loader recorded for the file.

    A note (``Severity.INFO``: a template guidecheck does not check) is reported as an info finding; a file
    read but not judged (``SourceFile.note``: a JSON file that is no deployment file) is not applicable.
    """
    src = target.data
    if src.note and not src.errors:
        raise NotApplicable(src.note)
    for err in src.errors:
        info = err.severity == Severity.INFO
        yield Hit(
            err.message,
            line=err.line,
            column=err.column,
            unchecked=not err.checked,
            severity=Severity.INFO if info else None,
        )


def unexplained_suppressions(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC002: suppression comments (file targets) and annotations (k8s targets) need a reason."""
    if target.kind == "config":
        directives = list(target.data.waivers)
    else:
        directives = target.data.suppressions if target.kind == "file" else target.suppressions
    if target.kind == "file" and not target.data.read:
        raise NotApplicable("file could not be read")
    for s in directives:
        if isinstance(s, BadDirective):
            what = "comment" if s.origin == "comment" else "annotation guidecheck.io/ignore"
            yield Hit(
                f"suppression {what} not understood: expected "
                + (
                    "'# guidecheck: ignore=GC123[,GC456] reason=\"...\"'"
                    if s.origin == "comment"
                    else "a comma-separated list of rule ids"
                ),
                line=s.line,
            )
        elif not s.reason:
            where = {"comment": "comment", "waiver": "waiver in the configuration (add reason:)"}.get(
                s.origin, "annotation (add guidecheck.io/ignore-reason)"
            )
            yield Hit(f"suppression of {','.join(s.rules)} has no reason: {where}", line=s.line)


def expired_waivers(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC003: waivers in the configuration whose expiry date has passed."""
    config = target.data
    if not config.waivers:
        raise NotApplicable("no waivers configured")
    for w in config.waivers:
        if w.expired(ctx.today):
            ticket = f", ticket {w.ticket}" if w.ticket else ""
            yield Hit(
                f"waiver for {','.join(w.rules)} expired on {w.expires.isoformat()} "
                f"(owner {w.owner}{ticket}); its findings are active again",
                line=w.line,
            )
