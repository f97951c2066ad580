"""The engine: pure, deterministic, outcomes for every rule x target, crashes contained."""

from __future__ import annotations

import dataclasses

from guidecheck import engine
from guidecheck.catalog import load_rules
from guidecheck.config import Config
from guidecheck.loaders import load
from guidecheck.model import Status

from conftest import FIXTURES

CASE = FIXTURES / "rules" / "GC403"
PASS, FAIL = CASE / "pass-limits", CASE / "fail-no-limits"


def run(paths, **cfg):
    config = dataclasses.replace(Config(), **cfg)
    return engine.run(load_rules(), load([str(p) for p in paths], config).targets, config)


def test_outcomes_cover_pass_and_fail():
    result = run([PASS, FAIL], select=("GC403",))
    statuses = sorted(o.status.value for o in result.outcomes)
    assert statuses == ["fail", "pass"]
    fail = next(o for o in result.outcomes if o.status == Status.FAIL)
    assert len(fail.findings) == 3


def test_deterministic_and_sorted():
    a = run([CASE])
    b = run([CASE])

    def key(r):
        return [(f.path, f.line, f.rule_id, f.message) for f in r.findings]

    assert key(a) == key(b)
    assert key(a) == sorted(key(a))


def test_crashing_check_makes_scan_incomplete_not_silent():
    config = Config(select=("GC403",))
    targets = load([str(CASE)], config).targets

    def boom(target, ctx):
        raise KeyError("spec")

    result = engine.run(load_rules(), targets, config, checks={"GC403": boom})
    assert result.incomplete and "GC403 failed on" in result.incomplete[0]


def test_not_applicable_recorded(tmp_path):
    (tmp_path / "job.yaml").write_text(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\n"
        "spec: {template: {spec: {containers: [{name: c, image: x:1}]}}}\n"
    )
    result = run([tmp_path], select=("GC405",))
    [outcome] = result.outcomes
    assert outcome.status == Status.NOT_APPLICABLE and "runs to completion" in outcome.reason


def test_workload_rules_have_no_outcome_on_other_objects(tmp_path):
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    result = run([tmp_path], select=("GC403", "GC002"))
    assert [(o.rule_id, o.status) for o in result.outcomes if o.target.kind == "k8s"] == [("GC002", Status.PASS)]


def test_preview_and_deprecated_status():
    config = Config(select=("GC4",))
    targets = load([str(CASE)], config).targets
    rules = [
        dataclasses.replace(r, status="preview")
        if r.id == "GC403"
        else dataclasses.replace(r, status="deprecated")
        if r.id == "GC404"
        else r
        for r in load_rules()
    ]
    warnings: list[str] = []
    result = engine.run(rules, targets, config, warn=warnings.append)
    ran = {o.rule_id for o in result.outcomes}
    assert "GC403" not in ran and "GC404" in ran  # a preview rule is not opted in by a prefix
    assert len(warnings) == 1 and "GC404" in warnings[0] and "deprecated" in warnings[0]
    result = engine.run(rules, targets, dataclasses.replace(config, preview=True), warn=warnings.append)
    assert "GC403" in {o.rule_id for o in result.outcomes}
    result = engine.run(rules, targets, Config(select=("GC403",)), warn=warnings.append)
    assert {o.rule_id for o in result.outcomes} == {"GC403"} and len(warnings) == 2


def test_probe_rules_are_one_template_with_options():
    rules = {r.id: r for r in load_rules()}
    assert rules["GC405"].check == rules["GC406"].check
    assert (rules["GC405"].options, rules["GC406"].options) == ({"probe": "livenessProbe"}, {"probe": "readinessProbe"})


def test_findings_with_one_identity_are_merged_into_one():
    """One problem is one finding: the same fingerprint twice (a subchart rendered on its own and inside its
    parent) is kept once, the other place listed in ``also_at``; an active finding wins over a suppressed one."""
    from guidecheck.model import Finding, Severity

    def finding(line, chart, suppressed=False, fp="abc"):
        return Finding(
            rule_id="GC403",
            severity=Severity.ERROR,
            message="container 'a' has no limits",
            path="charts/a/templates/d.yaml",
            line=line,
            column=1,
            object=None,
            container="a",
            bullet="4.b",
            remediation="",
            extra={"fingerprint": fp, "origin": {"chart": chart}},
            suppressed=suppressed,
        )

    a, b, other = finding(3, "charts/a", suppressed=True), finding(3, "charts/parent"), finding(9, "x", fp="def")
    merged = engine.merge_same_identity([a, b, other])
    assert merged == [b, other]
    assert b.extra["also_at"] == [{"path": "charts/a/templates/d.yaml", "line": 3, "chart": "charts/a"}]
    assert "also_at" not in other.extra
