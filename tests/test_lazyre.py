"""guidecheck.lazyre: patterns compiled on first use behave as the compiled pattern."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from guidecheck import lazyre
from guidecheck.lazyre import lazy

SRC = Path(__file__).resolve().parent.parent / "src" / "guidecheck"


def test_compiles_on_first_use_and_then_answers_as_the_compiled_pattern() -> None:
    p = lazy(r"(?P<word>[a-z]+)-(\d+)", re.IGNORECASE)
    assert "search" not in vars(p)  # nothing compiled yet
    compiled = re.compile(r"(?P<word>[a-z]+)-(\d+)", re.IGNORECASE)
    text = "x ABC-12 def-3"
    m = p.search(text)
    assert m is not None and m.group("word") == "ABC" and m.span() == compiled.search(text).span()  # type: ignore[union-attr]
    assert "search" in vars(p) and "finditer" in vars(p)  # later calls skip __getattr__
    assert [m.group() for m in p.finditer(text)] == ["ABC-12", "def-3"]
    assert p.sub("_", text) == compiled.sub("_", text)
    assert p.split(text) == compiled.split(text)
    assert p.findall(text) == compiled.findall(text)
    assert p.fullmatch("abc-1") is not None and p.match(" abc-1") is None
    assert p.subn("", text) == compiled.subn("", text)
    assert (p.pattern, p.flags, p.groups, dict(p.groupindex)) == (
        compiled.pattern,
        compiled.flags,
        compiled.groups,
        dict(compiled.groupindex),
    )


def test_an_attribute_a_pattern_lacks_is_an_attribute_error() -> None:
    p = lazy("a")
    with pytest.raises(AttributeError):
        p.scanner  # type: ignore[attr-defined]  # noqa: B018 - not provided: an error, not a compile
    assert "lazy('a', 0)" == repr(p)


def test_a_bad_pattern_fails_on_first_use() -> None:
    p = lazy("(unclosed")
    with pytest.raises(re.error):
        p.search("x")


def _lazy_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            value, targets = node.value, node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            value, targets = node.value, [node.target]
        else:
            continue
        if any(isinstance(c, ast.Call) and getattr(c.func, "id", None) == "lazy" for c in ast.walk(value)):
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def test_no_module_hands_a_lazy_pattern_to_a_function() -> None:
    """``re.sub(P, ...)``, ``isinstance(P, re.Pattern)`` or a helper taking a pattern would get the stand-in,
    which is no ``re.Pattern``: modules call its methods, nothing else."""
    found = []
    modules = 0
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        names = _lazy_names(tree)
        if not names:
            continue
        modules += 1
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                if isinstance(arg, ast.Name) and arg.id in names:
                    found.append(f"{path.relative_to(SRC)}:{node.lineno}: {arg.id}")
    assert modules >= 5  # the modules on the pre-commit path use it
    assert found == []


def test_the_provided_names_are_pattern_attributes() -> None:
    compiled = re.compile("x")
    assert all(hasattr(compiled, name) for name in lazyre._PROVIDED)
