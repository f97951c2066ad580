"""The pure parts of benchmarks/bench.py: the table, the goal verdicts, the generated doc blocks, --help.

Nothing here times anything or installs a peer: the benchmark is run by hand (docs/performance.md)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

import bench  # benchmarks/ is not a package
from bench import GOALS, Goal, Measure, issue_rows, markdown_table, replace_block

LABELS = {"checkov": "Checkov 3.3.30", "trivy": "Trivy 0.76.0", "hadolint": "hadolint 2.15.1"}


def numbers() -> dict[str, Measure]:
    return {
        "gc-corpus": Measure(0.8, 0.7, 100, 1),
        "checkov-corpus": Measure(9.6, 12.0, 400, 1),  # 12x wall
        "trivy-corpus": Measure(12.0, 20.0, 450, 0),  # 15x wall: short of 20x
        "gc-warm": Measure(0.06, 0.05, 60, 1),
        "gc-pre": Measure(0.13, 0.10, 30, 1),
        "hadolint-pre": Measure(0.05, 0.03, 35, 1),
        "checkov-pre": Measure(4.0, 3.0, 170, 1),
        "trivy-pre": Measure(1.0, 1.2, 170, 0),
        "gc-docker": Measure(0.25, 0.2, 30, 1),
        "hadolint-docker": Measure(2.0, 2.0, 60, 1),
    }


def test_goal_verdicts():
    faster = Goal("x", at_least=10)
    assert faster.verdict(10.0) == "met"
    assert faster.verdict(9.99) == "**not met**"
    assert faster.verdict(None) == "not measured"
    share = GOALS["memory"]
    assert share.verdict(0.33) == "met" and share.verdict(0.34) == "**not met**"
    assert GOALS["precommit"].verdict(0.12) == "met" and GOALS["precommit"].verdict(0.121) == "**not met**"
    assert bench.ratio(1.0, 0.0) is None and bench.ratio(None, 1.0) is None and bench.ratio(3.0, 2.0) == 1.5


def test_issue_table_from_given_numbers():
    rows = issue_rows(numbers(), LABELS, {}, n_dockerfiles=140)
    by_peer = {r.peer.split(":")[0]: r for r in rows[:2]}
    assert by_peer["Checkov 3.3.30"].ratio == "12.0× wall, 17.1× CPU"
    assert by_peer["Checkov 3.3.30"].verdict == "met"
    assert by_peer["Trivy 0.76.0"].ratio == "15.0× wall, 28.6× CPU"
    assert by_peer["Trivy 0.76.0"].verdict == "**not met**"
    memory, pre, docker, cache = rows[2:]
    assert memory.ratio == "guidecheck uses 0.25 of Checkov's" and memory.verdict == "met"
    assert pre.guidecheck == "0.13 s wall, 0.10 s CPU, 30 MiB" and pre.verdict == "met"
    assert "hadolint 2.15.1: 0.05 s wall, 0.03 s CPU, 35 MiB (the Dockerfile only)" in pre.peer
    assert "Checkov 3.3.30 30.0× CPU" in pre.ratio
    assert docker.work == "the corpus's 140 Dockerfiles, named one by one" and docker.ratio.startswith("8.0× wall")
    assert cache.ratio == "7.5% of the cold run (wall)" and cache.verdict == "met"
    table = markdown_table(rows).splitlines()
    assert table[0] == "| work | guidecheck | peer | peer / guidecheck | goal | |"
    assert len(table) == 2 + 6 and all(line.count(" | ") == 5 for line in table[2:])


def test_missing_peer_and_cache_are_said_not_faked():
    ms = {k: v for k, v in numbers().items() if not k.startswith(("trivy", "gc-warm"))}
    rows = issue_rows(ms, LABELS, {"trivy": "`pip install x` failed: no network"}, 3, "this guidecheck has no cache")
    trivy = rows[1]
    assert trivy.peer == "Trivy 0.76.0: not measured (`pip install x` failed: no network)"
    assert trivy.ratio == "" and trivy.verdict == "not measured"
    assert "Trivy 0.76.0: not measured" in rows[3].peer
    assert rows[-1].guidecheck == "not measured (this guidecheck has no cache)" and rows[-1].verdict == "not measured"


def test_generated_blocks_are_replaced_and_exist_in_the_docs():
    text = "intro\n" + bench.BEGIN.format(name="peers") + "\nold\nlines\n" + bench.END.format(name="peers") + "\nrest\n"
    new = replace_block(text, "peers", "| a |\n")
    assert (
        new == "intro\n" + bench.BEGIN.format(name="peers") + "\n| a |\n" + bench.END.format(name="peers") + "\nrest\n"
    )
    assert replace_block(new, "peers", "| a |") == new
    with pytest.raises(ValueError, match="no generated block 'audit'"):
        replace_block(text, "audit", "x")
    for name, doc in bench.DOC_FILES.items():  # so that --write-docs finds every block it writes
        text = (ROOT / doc).read_text(encoding="utf-8")
        assert text.count(bench.BEGIN.format(name=name)) == 1 and text.count(bench.END.format(name=name)) == 1, name


def test_another_corpus_gets_its_own_block_and_names():
    # bench.py --corpus /work/corpus2 --corpus-name corpus2 --write-docs: the dev corpus's tables stay as they are
    blocks = bench.peer_blocks("corpus2", "table", lambda: "pre-commit")
    assert blocks == {"peers-corpus2": "table"}
    assert bench.peer_blocks("dev", "table", lambda: "pre-commit") == {"peers": "table", "precommit": "pre-commit"}
    assert bench.doc_file("peers-corpus2") == "docs/performance.md" == bench.doc_file("profile-corpus2")
    text = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    assert text.count(bench.BEGIN.format(name="peers-corpus2")) == 1
    assert bench.corpus_label("corpus2") == "second corpus" and bench.corpus_label("dev") == "dev corpus"
    rows = issue_rows(numbers(), LABELS, {}, 82, corpus="second corpus")
    assert rows[0].work == "second corpus, every rule (Helm renders, OpenAPI validation)"
    assert rows[-1].work == "second scan of the unchanged second corpus (cache hit)"


def test_provenance_names_commit_and_machine():
    info = {
        "commit": "abc1234567",
        "date": "2026-12-07 06:00 UTC",
        "cpu": "AMD EPYC",
        "cores": "2",
        "load": "1.0 / 2.0 / 3.0",
        "python": "3.11.7",
        "guidecheck": "guidecheck 0.1.0",
    }
    line = bench.provenance(info, "medians of 3")
    assert line == (
        "Measured on commit `abc1234567`, 2026-12-07 06:00 UTC: AMD EPYC, 2 cores, load average 1.0 / 2.0 / 3.0 "
        "(1/5/15 min) at the start; Python 3.11.7; guidecheck 0.1.0; medians of 3."
    )


def test_profile_groups_sum_own_time_by_module():
    stats = {
        ("/x/src/guidecheck/crossref.py", 1, "f"): (1, 1, 2.0, 2.0, {}),
        ("/x/src/guidecheck/crossref.py", 9, "g"): (1, 1, 1.0, 1.0, {}),
        ("/x/src/guidecheck/checks/__init__.py", 1, "h"): (1, 1, 0.5, 0.5, {}),
        ("/v/lib/python3.11/site-packages/jsonschema/validators.py", 1, "v"): (1, 1, 1.5, 1.5, {}),
        ("~", 0, "<built-in method posix.waitpid>"): (1, 1, 0.25, 0.25, {}),
        ("/usr/lib/python3.11/re/_parser.py", 1, "p"): (1, 1, 0.1, 0.1, {}),
    }
    assert bench.profile_groups(stats) == [
        ("guidecheck.crossref", 3.0),
        ("jsonschema", 1.5),
        ("guidecheck.checks", 0.5),
        ("<built-in method posix.waitpid>", 0.25),
        ("stdlib _parser", 0.1),
    ]


def test_help_lists_the_options():
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    for option in (
        "--all",
        "--write-docs",
        "--tools-dir",
        "--no-install",
        "--no-trivy",
        "--no-hadolint",
        "--repeat",
        "--corpus-name",
    ):
        assert option in done.stdout, option


def test_incremental_table_from_given_numbers():
    """benchmarks/incremental.py's table: each run's share of the cold scan, and the ≤ 10 % verdict."""
    import incremental

    m = {
        "cold": Measure(5.0, 8.0, 110, 1),
        "first": Measure(5.5, 8.5, 115, 1),
        "hit": Measure(0.4, 0.3, 40, 1),
        "dockerfile": Measure(2.0, 2.5, 100, 1),
        "values": Measure(2.5, 3.0, 100, 1),
        "pre-cold": Measure(0.2, 0.1, 30, 1),
        "pre-first": Measure(0.25, 0.12, 30, 1),
        "pre-hit": Measure(0.1, 0.08, 30, 1),
    }
    text = incremental.table({"ms": m, "dockerfile": "a/Dockerfile", "values": "a/charts/x/values.yaml"}, 3)
    assert "| second scan, nothing changed (`scan` layer hit) | 0.40 s | 0.30 s | 40 MiB | 8 % |" in text
    assert "| pre-commit, 3 files, cache hit | 0.10 s | 0.08 s | 30 MiB | 50 % |" in text
    assert "8.0 % of the cold scan (goal ≤ 10 %: met)" in text
    m["hit"] = Measure(0.6, 0.3, 40, 1)
    assert "(goal ≤ 10 %: not met)" in incremental.table({"ms": m, "dockerfile": "d", "values": "v"}, 3)
