"""Patterns that met hostile input in linear time: each case took seconds to minutes with the pattern it
replaced (a ReDoS: a Dockerfile, workflow, alert rule or chart line that hangs the scan).

Each input is sized so that the old pattern needs several seconds, and the bound is CPU time
(``time.process_time``), which a loaded machine stretches less than wall time: these are hang guards, not
speed measurements (those live in benchmarks/).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from guidecheck.config import DEFAULT_SETTINGS

BOUND = 0.5  # seconds of CPU; the old patterns took 1.4 s to minutes on the same inputs


def cpu(fn: Callable[[], object]) -> tuple[object, float]:
    start = time.process_time()
    out = fn()
    return out, time.process_time() - start


def setting_pattern(path: tuple, flags: int) -> re.Pattern[str]:
    value = DEFAULT_SETTINGS
    for key in path:
        value = value[key]
    return re.compile(value, flags)


@pytest.mark.parametrize(
    "path, flags, text, matches",
    [
        # GC801: `oc create ` repeated on one line (old: 1.4 s at 4 KB, 14 s at 8 KB)
        (("backup-job-patterns", "kubectl-create-volumesnapshot"), re.I | re.S, "oc create " * 500, False),
        (
            ("backup-job-patterns", "kubectl-create-volumesnapshot"),
            re.I | re.S,
            "set -e; kubectl -n db create -f snap.yaml --volumesnapshot",
            True,
        ),
        # GC802: `restic check ` repeated (old: 4.3 s at 10 KB)
        (("backup-verification-patterns", "restic-check-read-data"), re.I | re.S, "restic check " * 800, False),
        (
            ("backup-verification-patterns", "restic-check-read-data"),
            re.I | re.S,
            "restic -r s3:x check --read-data-subset=10%",
            True,
        ),
        # GC505: many histogram_quantile( then many _time (old: 1.7 s at 9.6 KB)
        (
            ("alert-signal-patterns", "latency", 0),
            re.I | re.S,
            "histogram_quantile(" * 400 + "_time" * 400,
            False,
        ),
        (
            ("alert-signal-patterns", "latency", 0),
            re.I | re.S,
            "histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket[5m])) by (le))",
            True,
        ),
    ],
)
def test_default_setting_patterns_are_linear(path, flags, text, matches):
    rx = setting_pattern(path, flags)
    found, took = cpu(lambda: rx.search(text))
    assert (found is not None) is matches
    assert took < BOUND, took


def test_changelog_command_pattern_is_linear():
    """GC703: one long word of `changelog`s and a `>` elsewhere (old: 1.8 s at 1.8 KB, 17 s at 3.6 KB)."""
    [rx] = [re.compile(p, re.I) for p in DEFAULT_SETTINGS["changelog-commands"] if "CHANGELOG(?:" in p and ">>?" in p]
    found, took = cpu(lambda: rx.search("echo " + "changelog" * 200 + "\necho a > b\n"))
    assert found is None and took < BOUND, took
    assert rx.search("./hack/changelog.sh > CHANGELOG.md") is not None


def test_a_workflow_input_condition_is_linear():
    """A reusable workflow step's `if:` of spaces around an inputs comparison (old: 3.9 s at 1.6 KB)."""
    from guidecheck.parsers.ci.github import _INPUT_COND

    cond = " " * 800 + "inputs.a=='x'" + " " * 800 + "x"
    found, took = cpu(lambda: _INPUT_COND.match(cond))
    assert found is None and took < BOUND, took
    assert _INPUT_COND.match("${{ inputs.push == 'true' }}").groups() == ("push", "==", "true")


def test_a_from_with_many_args_is_matched_to_stage_names_linearly():
    """GC304: `FROM ${x}a${x}a...` against a 40-character stage name (old: 9.4 s)."""
    from guidecheck.checks.docker import _chooses_a_stage
    from guidecheck.parsers.docker import parse_dockerfile

    df = parse_dockerfile(
        "FROM alpine:3.19 AS " + "a" * 40 + "\nARG x\nFROM " + "${x}a" * 8 + "b\nFROM ${x}-web AS c\n"
    )
    found, took = cpu(lambda: _chooses_a_stage(df, df.stages[1]))
    assert found is False and took < BOUND, took
    df = parse_dockerfile("FROM golang AS build-web\nARG svc\nFROM build-${svc}\n")
    assert _chooses_a_stage(df, df.stages[1]) is True


def test_a_template_line_of_many_actions_is_aligned_linearly():
    """A chart template line of ten actions with text between them, against a rendered line (old: 9.8 s)."""
    from guidecheck.parsers.helm_template import align

    template = ["k: " + "{{ .Values.x }}a" * 10 + "b", "k: {{ .Values.y }}"]
    found, took = cpu(lambda: align(["k: " + "a" * 40], template))
    assert took < BOUND, took
    assert found == [(2, 0)]


def test_go_regular_expressions_from_scanned_files_are_matched_with_re2():
    """A PromQL `=~` matcher or a kustomize target name of `(a|a)*b` against a 26-character name: Python's engine
    took 4.6 s (minutes at 32 characters); RE2 answers as Go does, at once."""
    from guidecheck.checks.alerts import refers_to
    from guidecheck.loaders.kustomize.trace import _name_matches
    from guidecheck.parsers.alerts import AlertRule

    rule = AlertRule("alert", "slow", ['rate(x{job=~"(a|a)*b"}[5m]) > 1'], "r.yaml", 1, True)
    found, took = cpu(lambda: refers_to(rule, {"a" * 26}))
    assert found is False and took < BOUND, took
    assert refers_to(AlertRule("alert", "s", ['x{job=~"cart|web"}'], "r.yaml", 1, True), {"web"})
    found, took = cpu(lambda: _name_matches("(a|a)*b", "a" * 26))
    assert found is False and took < BOUND, took
    assert _name_matches("cart-.*", "cart-api") and not _name_matches("cart", "cart-api")
    assert _name_matches("(?=lookahead)", "(?=lookahead)")  # Go refuses it: the very name only


def test_build_push_action_file_expressions_are_matched_linearly(tmp_path):
    """GC305: a build-push-action `file:` of ten `${{ }}` expressions against a Dockerfile in a 40-character
    directory (old: 15 s for the scan)."""
    from conftest import in_process_scan

    (tmp_path / ("a" * 40)).mkdir()
    (tmp_path / ("a" * 40) / "Dockerfile").write_text("FROM alpine:3.20.3\n")
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "ci.yml").write_text(
        "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: docker/build-push-action@v6\n"
        "        with:\n          file: " + "${{ matrix.x }}a" * 10 + "b/Dockerfile\n"
        "          labels: org.opencontainers.image.version=1\n"
    )
    result, took = cpu(lambda: in_process_scan([str(tmp_path)], select=("GC305",)))
    assert [f.rule_id for f in result.findings] == ["GC305"]  # the file: names another Dockerfile
    assert took < 5.0, took  # the scan itself, imports and all, takes about a second


@pytest.mark.parametrize(
    "path, word, text",
    [
        (("ci-stage-patterns", "lint", "commands"), "black", "black " * 6000 + "x"),  # old: 2.4 s
        (("ci-stage-patterns", "unit-tests", "commands"), "make", "make " * 7000 + "x"),  # old: 2.5 s at 32 KB
    ],
)
def test_ci_word_run_patterns_are_bounded(path, word, text):
    """GC701/GC704: `(\\S+[ \\t]+)*` after a command word is quadratic over a long line of that word; the words
    before the flag or target are bounded (32)."""
    value = DEFAULT_SETTINGS
    for key in path:
        value = value[key]
    patterns = [re.compile(p, re.I) for p in value if r"(\S+[ \t]+)" in p and word in p]
    assert patterns
    _found, took = cpu(lambda: [p.search(text) for p in patterns])
    assert took < BOUND, took
