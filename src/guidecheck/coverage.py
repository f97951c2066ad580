"""Guideline coverage: which rules check each bullet, and what needs manual evidence.

Every bullet maps to at least one enabled rule, or is listed as needing manual
evidence with the reason: the guideline's own manual items (``data/guideline.yaml``),
bullets whose rules the configuration turned off, and bullets no rule of this
version checks yet.  With scan outcomes, each bullet also gets a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from guidecheck.catalog import Rule
from guidecheck.config import Config
from guidecheck.model import Outcome, Status


@dataclass
class BulletCoverage:
    """How one guideline bullet is covered: its rules, manual evidence and verdict."""

    id: str
    section: str
    text: str
    es: str
    rules: list[str]  # enabled rules checking it
    disabled: list[str]  # rules the configuration turned off
    manual: list[dict[str, str]] = field(default_factory=list)  # {what, reason}
    verdict: str | None = None  # with outcomes: pass | fail | not-checked
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.rules and self.manual:
            return "automated+manual"
        return "automated" if self.rules else "manual"

    def to_json(self) -> dict[str, Any]:
        return {
            "bullet": self.id,
            "section": self.section,
            "text": self.text,
            "text_es": self.es,
            "status": self.status,
            "rules": self.rules,
            "disabled_rules": self.disabled,
            "manual_evidence": self.manual,
            "verdict": self.verdict,
            "outcomes": self.counts,
        }


@lru_cache(maxsize=1)
def guideline() -> dict[str, Any]:
    """The guideline's bullets (``data/guideline.yaml``) as plain data.

    Every report's coverage section reads it; parsing it (and importing the YAML parser for it) took 15 ms
    of a 0.37 s cached rescan. So, like the rule catalogue (:func:`guidecheck.catalog._builtin`), it is kept as
    JSON in the user's cache directory, named by the SHA-256 of guidecheck's version and the file's bytes.
    """
    import hashlib
    import json

    from guidecheck import __version__, catalog

    raw = (Path(__file__).parent / "data" / "guideline.yaml").read_bytes()
    cache = catalog._cache_dir()
    key = hashlib.sha256(__version__.encode() + b"\0" + raw).hexdigest()[:32]
    entry = cache / f"guideline-{key}.json" if cache else None
    if entry is not None:
        try:
            cached = json.loads(entry.read_bytes())
            if isinstance(cached, dict) and isinstance(cached.get("bullets"), list):
                return cached
        except (OSError, ValueError):  # missing or truncated: read the file
            pass
    from guidecheck.parsers.yaml import load_yaml

    data: dict[str, Any] = catalog._plain(load_yaml(raw.decode("utf-8"))[0].data)
    if entry is not None:
        catalog._remember(entry, json.dumps(data).encode())
    return data


def compute(rules: list[Rule], config: Config, outcomes: list[Outcome] | None = None) -> list[BulletCoverage]:
    out = []
    for b in guideline()["bullets"]:
        mine = [r for r in rules if r.bullet == b["id"] and r.status != "removed"]
        enabled = [r.id for r in mine if config.runs(r.id, r.status)]
        disabled = [r.id for r in mine if not config.runs(r.id, r.status)]
        manual = [dict(m) for m in b.get("manual") or []]
        if disabled and not enabled:
            manual.append({"what": "the whole bullet", "reason": _off_reason(mine, config)})
        elif not mine:
            manual.append({"what": "the whole bullet", "reason": "no rule of this guidecheck version checks it yet"})
        cov = BulletCoverage(b["id"], b["section"], b["text"], b["es"], enabled, disabled, manual)
        if outcomes is not None and enabled:
            cov.counts, cov.verdict = _verdict(enabled, outcomes)
        out.append(cov)
    return out


def _verdict(enabled: list[str], outcomes: list[Outcome]) -> tuple[dict[str, int], str]:
    """Outcome counts of the bullet's enabled rules, and the verdict: fail, pass or not-checked."""
    counts = {s.value: 0 for s in Status}
    for o in outcomes:
        if o.rule_id in enabled:
            counts[o.status.value] += 1
    if counts["fail"]:
        return counts, "fail"
    return counts, "pass" if counts["pass"] else "not-checked"


def _off_reason(rules: list[Rule], config: Config) -> str:
    """Why none of a bullet's rules runs: turned off, or preview rules not opted in."""
    off = [r.id for r in rules if not config.enabled(r.id)]
    preview = [r.id for r in rules if config.enabled(r.id) and r.status == "preview"]
    parts = [f"rules {', '.join(off)} are turned off by the configuration"] if off else []
    if preview:
        parts.append(
            f"rules {', '.join(preview)} are previews, not enabled (preview: true in .guidecheck.yaml, "
            "or select them by id)"
        )
    return "; ".join(parts)


def render_text(cov: list[BulletCoverage]) -> str:
    lines = []
    for c in cov:
        verdict = f" [{c.verdict}]" if c.verdict else ""
        rules = ", ".join(c.rules) if c.rules else "-"
        lines.append(f"{c.id:<4} {c.status:<17} {rules:<28}{verdict} {c.text}")
        for m in c.manual:
            lines.append(f"     manual evidence ({m['what']}): {' '.join(m['reason'].split())}")
    automated = sum(1 for c in cov if c.rules)
    lines.append(
        f"{automated}/{len(cov)} bullets checked by rules; {sum(1 for c in cov if c.manual)} need manual evidence"
    )
    return "\n".join(lines) + "\n"


def render_markdown(cov: list[BulletCoverage]) -> str:
    lines = ["| bullet | guideline | rules | manual evidence |", "|---|---|---|---|"]
    for c in cov:
        rules = ", ".join(f"[{r}](rules/{r}.md)" for r in c.rules) or "—"
        manual = "<br>".join(f"*{m['what']}*: {' '.join(m['reason'].split())}" for m in c.manual) or "—"
        lines.append(f"| {c.id} | {c.text} | {rules} | {manual} |")
    return "\n".join(lines) + "\n"
