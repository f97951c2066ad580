"""GitHub Actions workflow commands: every active finding as an annotation on the pull request.

``guidecheck scan . --format github`` in a workflow step prints one line per active
finding::

    ::error file=k8s/deploy.yaml,line=18,col=11,title=GC403 Containers set CPU and memory limits::container
    'cart' has no resources.limits.memory [Deployment/shop/cart, guideline 4.b]%0Afix: ...

(one line each, wrapped here)

GitHub turns each into an annotation on the file and line (in the pull request's
"Files changed" view and the run summary), without code scanning.  Severities map to
``error``, ``warning`` and ``notice``; suppressed findings are left out; findings about the
repository as a whole (and cluster objects) carry no ``file``.  A scan that was
incomplete adds an ``::error`` without a file per reason, and a ``::notice`` carries the
summary line.

Escaping follows the runner's parser (``actions/toolkit`` ``command.ts``): in the message
``%``, CR and LF become ``%25``, ``%0D`` and ``%0A``; in property values also ``:`` and
``,`` (``%3A``, ``%2C``).  Every string is sanitised first (:mod:`guidecheck.sanitize`),
so nothing taken from a scanned file can end a command or start another one.  Paths are
as the scan shows them: run the scan from the repository root (the workspace) so they
are relative to it, as GitHub expects.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from guidecheck.model import Finding, ScanResult, Severity
from guidecheck.sanitize import clean
from guidecheck.sanitize import path as clean_path

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: object) -> str:
    """``::name key=value,...::message`` with both parts escaped (properties of value ``None`` left out)."""
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items() if v is not None)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def _is_file(f: Finding) -> bool:
    if f.object is not None and f.object.kind == "Repository":
        return False
    return not f.path.startswith("cluster/") and f.path not in (".", "")


def annotation(f: Finding) -> str:
    context = []
    if f.object is not None and f.object.kind != "Repository" and f.object.name != f.path:
        context.append(clean(str(f.object)) + (f" container {clean(f.container)}" if f.container else ""))
    context.append(f"guideline {f.bullet}" if f.bullet else "tool")
    text = f"{clean(f.message)} [{', '.join(context)}]"
    if not _is_file(f):
        text = f"{clean_path(f.path)}: {text}"
    text += "\nfix: " + clean(" ".join(f.remediation.split()), mask=False)
    props: dict[str, object] = {"title": f"{f.rule_id} {clean(f.title or '', mask=False)}".strip()}
    if _is_file(f):
        props = {"file": clean_path(f.path), "line": f.line or 1, "col": f.column or 1, **props}
    return command(COMMANDS[f.severity], text, **props)


def chunks(result: ScanResult, meta: dict[str, Any]) -> Iterator[str]:
    from guidecheck.reporters.text import summary

    for f in result.findings:
        if not f.suppressed:
            yield annotation(f) + "\n"
    for reason in result.incomplete:
        yield command("error", clean(reason), title="guidecheck: scan incomplete") + "\n"
    yield command("notice", summary(result, meta), title="guidecheck") + "\n"


def render(result: ScanResult, meta: dict[str, Any]) -> str:
    return "".join(chunks(result, meta))
