"""One glob meaning for exclude:, waiver paths: and unit-test patterns."""

from __future__ import annotations

import pytest

from guidecheck import globs


@pytest.mark.parametrize(
    "patterns, path, excluded",
    [
        (["legacy/**"], "legacy/a/b.yaml", True),
        (["legacy/**"], "svc/legacy/b.yaml", True),  # from any directory boundary
        (["/legacy/**"], "svc/legacy/b.yaml", False),  # anchored at the root
        (["legacy"], "a/legacy/deep/x.yaml", True),  # a bare name: file or directory at any depth
        (["*.tpl.yaml"], "k8s/app.tpl.yaml", True),
        (["*.tpl.yaml"], "k8s/app.yaml", False),
        (["examples/*"], "examples/a/b/c.yaml", True),  # below a matching directory
        (["k8s/*.yaml"], "k8s/sub/x.yaml", False),  # '*' stays within a directory
        (["k8s/**/*.yaml"], "k8s/sub/x.yaml", True),
        (["k8s/**/*.yaml"], "k8s/x.yaml", True),  # '**' may match no directory
    ],
)
def test_excluded(patterns, path, excluded):
    assert globs.excluded(path, globs.matcher(patterns)) is excluded


def test_walk_and_single_files_agree(tmp_path, monkeypatch):
    from guidecheck.config import Config
    from guidecheck.loaders import load

    (tmp_path / "examples" / "a").mkdir(parents=True)
    (tmp_path / "examples" / "a" / "d.yaml").write_text("a: [\n")
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "d.yaml").write_text("a: [\n")
    config = Config(exclude=("examples/*",))
    monkeypatch.chdir(tmp_path)
    walked = {t.path for t in load(["."], config).targets if t.kind == "file"}
    single = {t.path for t in load(["examples/a/d.yaml", "k8s/d.yaml"], config).targets if t.kind == "file"}
    assert walked == single == {"k8s/d.yaml"}


@pytest.mark.parametrize(
    "pattern,text,expected",
    [
        ("ci/*.yml", "ci/a.yml", True),
        ("ci/*.yml", "ci/sub/a.yml", False),  # * stays within a directory
        ("ci/**.yml", "ci/sub/a.yml", True),  # ** crosses directories
        ("ci/**/*.yml", "ci/sub/a.yml", True),
        ("ci/?.yml", "ci/a.yml", True),
        ("ci/?.yml", "ci/ab.yml", False),
        ("a?b", "a/b", False),  # ? never matches /
        ("ci/a.yml", "ci/a.yml", True),
        ("ci/a.yml", "ci/a.ymlx", False),  # the whole string
        ("", "", True),
        ("***", "x/y", True),
    ],
)
def test_wildcard_dialect(pattern, text, expected):
    assert globs.wildcard(pattern)(text) is expected


def test_wildcard_question_mark_can_be_literal():
    assert globs.wildcard("a?b", question=False)("a?b") and not globs.wildcard("a?b", question=False)("axb")


def test_wildcard_is_linear_where_a_regular_expression_backtracks():
    """``**a**a...**b`` against a long run of a's: a backtracking regex never finishes (it was GitLab's include
    matcher); the automaton does one step per character."""
    import time

    match = globs.wildcard("**a" * 12 + "**b")
    start = time.process_time()
    assert not match("a" * 20_000)
    assert time.process_time() - start < 2.0
