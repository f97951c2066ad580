"""Inline suppressions end to end: comments, annotations, reasons, scope, exit codes.

Every test runs the real console script with ``-f json`` on a temporary
directory, so the loader, engine, reporter and exit code are all exercised.
GC403 (limits) and GC405/GC406 (probes) are the rules under test.
"""

from __future__ import annotations

import json
import textwrap

import pytest

NO_LIMITS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  template:
    spec:
      containers:
        - name: {name}
          image: registry.example.com/shop/{name}:1.4.2-3f2c1ab
"""


def no_limits(name: str, comment: str = "", above: str = "", annotations: tuple[str, ...] = ()) -> str:
    """NO_LIMITS for ``name``; ``comment`` after its container's name, ``above`` a comment line over that
    container, ``annotations`` (``key: value`` lines) on the object."""
    text = NO_LIMITS.format(name=name)
    if annotations:
        meta = f"  name: {name}\n"
        text = text.replace(meta, meta + "  annotations:\n" + "".join(f"    {a}\n" for a in annotations), 1)
    item = f"        - name: {name}\n"
    return text.replace(
        item, (f"        # {above}\n" if above else "") + (f"{item[:-1]}  # {comment}\n" if comment else item)
    )


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def scan(run_cli, tmp_path):
    """Scan files of ``tmp_path``; returns (exit code, findings as dicts, report)."""

    def _scan(*paths: str, select: str = "GC002,GC403", extra: tuple[str, ...] = ()):
        proc = run_cli("scan", "--isolated", "-f", "json", "--select", select, *extra, *paths, cwd=tmp_path)
        assert proc.returncode in (0, 1), proc.stdout + proc.stderr
        report = json.loads(proc.stdout)
        return proc.returncode, report["findings"], report

    return _scan


def brief(findings, suppressed=None):
    return sorted(
        (f["path"], f["line"], f["rule_id"]) for f in findings if suppressed is None or f["suppressed"] is suppressed
    )


def test_comment_on_the_line_and_on_the_line_above(tmp_path, scan):
    write(
        tmp_path,
        "app.yaml",
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: api
        spec:
          template:
            spec:
              containers:
                # guidecheck: ignore=GC403 reason="limits come from the namespace LimitRange"

                - name: api
                  image: registry.example.com/shop/api:1.4.2-3f2c1ab
                - name: proxy  # guidecheck: ignore=GC403 reason='sidecar sized by the mesh'
                  image: registry.example.com/shop/proxy:1.4.2-3f2c1ab
                - name: logs
                  image: registry.example.com/shop/logs:1.4.2-3f2c1ab
        """,
    )
    code, findings, _ = scan("app.yaml")
    assert brief(findings, suppressed=True) == [("app.yaml", 11, "GC403"), ("app.yaml", 13, "GC403")]
    assert brief(findings, suppressed=False) == [("app.yaml", 15, "GC403")]  # the next container is not covered
    by_line = {f["line"]: f for f in findings}
    assert by_line[11]["suppression_reason"] == "limits come from the namespace LimitRange"
    assert by_line[11]["suppressed_by"] == {"origin": "comment", "path": "app.yaml", "line": 9}
    assert by_line[13]["suppression_reason"] == "sidecar sized by the mesh"
    assert code == 1


def test_annotation_suppresses_only_its_rules_on_its_object(tmp_path, scan):
    write(
        tmp_path,
        "workers.yaml",
        no_limits(
            "worker",
            annotations=(
                'guidecheck.io/ignore: "GC405,GC406"',
                'guidecheck.io/ignore-reason: "queue consumer without an HTTP endpoint"',
            ),
        )
        + "---\n"
        + NO_LIMITS.format(name="api"),
    )
    code, findings, report = scan("workers.yaml", select="GC002,GC403,GC405,GC406")
    suppressed = [(f["object"]["name"], f["rule_id"]) for f in findings if f["suppressed"]]
    active = [(f["object"]["name"], f["rule_id"]) for f in findings if not f["suppressed"]]
    assert sorted(suppressed) == [("worker", "GC405"), ("worker", "GC406")]
    # GC403 is not in the annotation; the other object is not covered
    assert sorted(active) == [("api", "GC403"), ("api", "GC405"), ("api", "GC406"), ("worker", "GC403")]
    for f in findings:
        if f["suppressed"]:
            assert f["suppression_reason"] == "queue consumer without an HTTP endpoint"
            assert f["suppressed_by"]["origin"] == "annotation" and f["suppressed_by"]["line"] == 6
    assert report["summary"]["suppressed"] == 2
    statuses = {
        (o["target"]["object"]["name"], o["rule_id"]): o["status"]
        for o in report["outcomes"]
        if o["target"]["kind"] == "k8s"
    }
    assert statuses[("worker", "GC405")] == "suppressed" and statuses[("api", "GC405")] == "fail"
    assert code == 1


def test_no_inline_suppressions_makes_everything_active(tmp_path, scan):
    write(
        tmp_path,
        "app.yaml",
        no_limits(
            "api",
            comment='guidecheck: ignore=GC403 reason="LimitRange"',
            annotations=('guidecheck.io/ignore: "GC405"',),
        ),
    )
    code, findings, _ = scan("app.yaml", select="GC002,GC403,GC405")
    assert code == 0  # only the GC002 warning is active
    assert {f["rule_id"] for f in findings if f["suppressed"]} == {"GC403", "GC405"}
    assert brief(findings, suppressed=False) == [("app.yaml", 6, "GC002")]  # annotation without a reason
    code, findings, _ = scan("app.yaml", select="GC002,GC403,GC405", extra=("--no-inline-suppressions",))
    assert code == 1
    assert not [f for f in findings if f["suppressed"]]
    # suppressions are not read at all: nothing to complain about under GC002 either
    assert brief(findings) == [("app.yaml", 11, "GC403"), ("app.yaml", 11, "GC405")]


def test_suppression_without_reason_still_suppresses_and_gc002_warns(tmp_path, scan):
    write(tmp_path, "app.yaml", no_limits("api", comment="guidecheck: ignore=GC403"))
    code, findings, _ = scan("app.yaml")
    [gc403] = [f for f in findings if f["rule_id"] == "GC403"]
    assert gc403["suppressed"] is True and gc403["suppression_reason"] is None
    [gc002] = [f for f in findings if f["rule_id"] == "GC002"]
    assert (gc002["line"], gc002["severity"], gc002["suppressed"]) == (9, "warning", False)
    assert "no reason" in gc002["message"]
    # only a GC002 warning remains: the gate (fail-on error) passes, fail-on warning does not
    assert code == 0
    code, _, _ = scan("app.yaml", extra=("--fail-on", "warning"))
    assert code == 1


def test_exit_code_is_zero_when_every_finding_is_suppressed_with_a_reason(tmp_path, scan):
    write(tmp_path, "app.yaml", no_limits("api", comment='guidecheck: ignore=GC403 reason="LimitRange"'))
    code, findings, report = scan("app.yaml", extra=("--fail-on", "info"))
    assert code == 0
    assert [f["rule_id"] for f in findings] == ["GC403"] and findings[0]["suppressed"]
    assert report["summary"]["findings"] == 0 and report["summary"]["suppressed"] == 1


def test_ignore_file_scope_covers_the_whole_file_and_only_that_file(tmp_path, scan):
    write(
        tmp_path,
        "legacy.yaml",
        '# guidecheck: ignore-file=GC403 reason="legacy batch, moves to the chart in Q3"\n'
        + NO_LIMITS.format(name="a")
        + "---\n"
        + NO_LIMITS.format(name="b"),
    )
    write(tmp_path, "new.yaml", NO_LIMITS.format(name="c"))
    code, findings, _ = scan("legacy.yaml", "new.yaml")
    assert brief(findings, suppressed=True) == [("legacy.yaml", 10, "GC403"), ("legacy.yaml", 21, "GC403")]
    assert brief(findings, suppressed=False) == [("new.yaml", 9, "GC403")]
    assert code == 1


def test_prefix_and_wildcard(tmp_path, scan):
    write(tmp_path, "app.yaml", no_limits("api", above='guidecheck: ignore=GC40 reason="vendor chart, reviewed"'))
    code, findings, _ = scan("app.yaml", select="GC002,GC403,GC405,GC406")
    assert {f["rule_id"] for f in findings if f["suppressed"]} == {"GC403", "GC405", "GC406"}
    assert code == 0


def test_tool_rules_cannot_be_suppressed(tmp_path, scan):
    write(
        tmp_path,
        "broken.yaml",
        """\
        # guidecheck: ignore-file=* reason="trying to hide a parse error"
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cart
        """,
    )
    code, findings, _ = scan("broken.yaml", select="GC001,GC002")
    assert [(f["rule_id"], f["suppressed"]) for f in findings] == [("GC001", False)]
    assert code == 1


def test_misspelt_directive_is_reported_and_suppresses_nothing(tmp_path, scan):
    write(tmp_path, "app.yaml", no_limits("api", comment='guidecheck: ignroe=GC403 reason="typo"'))
    code, findings, _ = scan("app.yaml")
    assert brief(findings, suppressed=False) == [("app.yaml", 9, "GC002"), ("app.yaml", 9, "GC403")]
    assert code == 1


def test_data_in_a_block_scalar_is_not_a_directive(tmp_path, scan):
    """A shell comment inside a ConfigMap script must not silence the file."""
    write(
        tmp_path,
        "app.yaml",
        textwrap.dedent("""\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: scripts
        data:
          run.sh: |  # guidecheck: ignore=GC001 reason="a real comment after the indicator is still read"
            #!/bin/sh
            # guidecheck: ignore-file=* reason="just text in a script"
            exec /app
          notes: >-
            # guidecheck: ignroe=GC403
        ---
        """)
        + NO_LIMITS.format(name="api"),
    )
    code, findings, _ = scan("app.yaml")
    assert brief(findings) == [("app.yaml", 21, "GC403")]
    assert not findings[0]["suppressed"]
    assert code == 1


def test_multidocument_file_with_a_bad_middle_document_keeps_the_others(tmp_path, scan):
    """Documents 1 and 3 are still loaded: 3's suppression applies, 1's finding is reported."""
    write(
        tmp_path,
        "all.yaml",
        NO_LIMITS.format(name="first")
        + textwrap.dedent("""\
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: broken
        ---
        """)
        + no_limits("third", comment='guidecheck: ignore=GC403 reason="LimitRange"'),
    )
    code, findings, _ = scan("all.yaml", select="GC001,GC002,GC403")
    assert brief(findings, suppressed=False) == [("all.yaml", 9, "GC403"), ("all.yaml", 14, "GC001")]
    assert brief(findings, suppressed=True) == [("all.yaml", 24, "GC403")]
    assert code == 1


def test_suppression_comment_in_a_dockerfile(tmp_path, scan, rules):
    ids = {r.id for r in rules}
    if "GC304" not in ids:
        pytest.skip("GC304 (untagged base image) is not in the catalogue")
    write(
        tmp_path,
        "Dockerfile",
        """\
        # guidecheck: ignore=GC304 reason="the upstream image only publishes latest"
        FROM registry.example.com/vendor/agent:latest
        FROM alpine
        """,
    )
    code, findings, _ = scan("Dockerfile", select="GC002,GC304")
    assert brief(findings, suppressed=True) == [("Dockerfile", 2, "GC304")]
    assert brief(findings, suppressed=False) == [("Dockerfile", 3, "GC304")]
    assert code == 1
