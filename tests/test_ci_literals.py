"""The literal prefilter of the CI patterns (guidecheck.checks.literals): never skips a pattern that matches.

Property-style: for every default pattern of the CI settings and a set of tricky ones, over generated
texts and lines of the dev corpus's pipelines, a text the requirement rejects has no match; and
``_search`` over a pattern list returns the match (pattern, span, text) that searching pattern by
pattern does.
"""

from __future__ import annotations

import random
import re

import pytest

from guidecheck.checks import ci as ci_checks
from guidecheck.checks.literals import fold, gate, holds, passes, requirement
from guidecheck.config import DEFAULT_SETTINGS

from conftest import SHARED

CORPUS = SHARED / "corpus" / "dev"

TRICKY = [
    r"(?i)Docker\s+PUSH",
    r"(?-i:Docker)\s+push\b",
    r"(?<!-)\bmake\b(?=\s)",
    r"(?<![\w.-])[\w.-]*(docker|image)s?[-_]push[\w.-]*\.sh\b",
    r"\b(lint|vet)?check\b",
    r"x.*y",
    r"go\b.*\btest",
    r"[Cc]ache[-_]?(dir)?",
    r"(?P<t>ab)(?P=t)",
    r"(ab)\1",
    r"(x)?(?(1)yes|no)",
    r"",
    r"a*",
    r"(?:)",
    r"\b",
    r"^$",
    r"ſtart",
    r"İd",
    r"\u212a8s",
    r"[\u0130x]d",
    r"[k]ube",
    r"[^a]bc",
    r"\d+\.\d+",
    r"[a-f0-9]{7}",
    r"[Z-a]x",
    r"(?x) g o \s+ v e t  # verbose",
    r"abc{2,3}",
    r"(?:ab){2}",
    r"(?:ab){0,2}c",
    r"a++b",
    r"(?>ab|a)c",
    r"(?s:.)push",
    r"(?m)^push$",
    r"\Apush\Z",
    r"(?a)push",
    r"[A-Z]{2}push",
    r"S+tep",
    r"(helm|ct|)\s+lint",
    r"(a|bc|.)d",
    r"(?:one|two|three)(?:-four|-five|six)?(?:seven|eight)",
    r"(?:a|b|c|d|e|f|g|h)(?:i|j|k|l|m|n|o|p)(?:q|r|s|t)",
    r"(?:\bnpm\s+(?:run\s+)?test\b|\bgo\s+vet\b)",
    r"\b(kubectl\s+apply|helm\s+(upgrade|install))\b.*--(namespace|context)",
    r"go.test",  # one character of anything between
    r"kube[^c]tl",
    r"(ab)c\1d",
    r"x(?:ab){0,2}c",
    r"(a)?e(?(1)b|c)d",
]
# texts made to match the tricky patterns where a wrong analysis would claim adjacent literals
HAND_TEXTS = ["go-test", "GO test", "kubeXtl", "abcabd", "xababc", "ecd", "aebd", "AEBD", "ſtart", "İd", "\u212a8s", "ıd",
              "x\ny", "docker-image-push.sh", "make\t", "one-fiveeight", "cache_dir", "CACHEdir", "ZX", "[x"]  # fmt: skip


def default_patterns() -> list[str]:
    out: list[str] = []
    for fields in DEFAULT_SETTINGS["ci-stage-patterns"].values():
        for field in ("names", "commands", "images"):
            out += fields.get(field, [])
    for key in (
        "image-push-commands",
        "image-sign-commands",
        "changelog-commands",
        "ci-deploy-commands",
        "ci-staging-environments",
        "ci-production-environments",
    ):
        out += DEFAULT_SETTINGS[key]
    return out


SPECIAL = {"i": ["İ", "ı", "I"], "s": ["ſ", "S"], "k": ["\u212a", "K"]}
SEPARATORS = [" ", "  ", "\t", "-", "_", "\n", "/", ".", ":", "=", " && ", "; ", " | ", "", "--", " -"]


def generated_texts(patterns: list[str], count: int, seed: int = 14) -> list[str]:
    """Texts made of the patterns' literals (in odd cases, with the characters re.I folds to ASCII),
    digits, words and separators: many come close to a match, many match."""
    rnd = random.Random(seed)
    words = sorted({lit for p in patterns for clause in requirement(p, re.I) for lit in clause})
    words += ["echo", "run", "npm", "ci", "cd", "app", "x", "y", "ab", "abab", "1.2", "deadbee", "yes", "no", "é", "€"]

    def variant(word: str) -> str:
        chars = []
        for ch in word:
            r = rnd.random()
            if ch in SPECIAL and r < 0.15:
                chars.append(rnd.choice(SPECIAL[ch]))
            elif r < 0.25:
                chars.append(ch.upper())
            else:
                chars.append(ch)
        return "".join(chars)

    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rnd.randint(1, 7)):
            parts.append(variant(rnd.choice(words)))
            parts.append(rnd.choice(SEPARATORS))
        texts.append("".join(parts[:-1]) if rnd.random() < 0.5 else "".join(parts))
    return texts


def corpus_lines(limit: int) -> list[str]:
    """Lines (and pairs of lines) of the dev corpus's pipeline files holding a literal some pattern needs."""
    if not CORPUS.is_dir():
        return []
    files = sorted(CORPUS.glob("*/.github/workflows/*.y*ml")) + sorted(CORPUS.glob("*/.gitlab-ci.yml"))
    wanted = gate([requirement(p, re.I) for p in default_patterns()])
    assert wanted is not None
    out = []
    for path in files:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        for i, line in enumerate(lines):
            if passes(wanted, fold(line)):
                out.append(line)
                out.append(line + "\n" + (lines[i + 1] if i + 1 < len(lines) else ""))
    return out[:: max(1, len(out) // limit)][:limit]


def test_fold_maps_what_ignorecase_matches_to_ascii():
    """Every non-ASCII character re.IGNORECASE matches to an ASCII character folds to it, in lower case:
    the table in literals.py is what the running Python's re does."""
    everything = "".join(chr(c) for c in range(128, 0x110000) if not 0xD800 <= c < 0xE000)
    matched = {m.group() for m in re.finditer("[\x00-\x7f]", everything, re.I)}
    assert matched  # İ ı ſ and the Kelvin sign, today
    for ch in matched:
        ascii_twins = {a.lower() for a in map(chr, range(128)) if re.fullmatch(re.escape(a), ch, re.I)}
        assert ascii_twins == {fold(ch)}, ch
    assert fold("İD \u212aUBE ſt é") == "id kube st é"


def test_requirements_of_typical_patterns():
    r = requirement
    assert r(r"\bdocker[\s-]compose\b.*\b(up|run)\b", re.I) == (("compose",), ("docker",), ("run", "up"))
    assert r(r"\b(ruff|flake8|mypy)\b", re.I) == (("flake8", "mypy", "ruff"),)
    assert r(r"\bgo\s+vet\b", re.I) == (("vet",), ("go",))
    assert r(r"(?<![\w.-])[\w.-]*(docker|image)s?[-_]push\b", re.I) == (
        tuple(sorted(f"{w}{s}{d}push" for w in ("docker", "image") for s in ("", "s") for d in "-_")),
    )
    assert r(r"\bpytest\b|\bgo\s+test\b", re.I) == (("test",), ("go", "pytest"))  # "pytest" holds "test"
    assert r(r"Docker\s+PUSH") == (("docker",), ("push",))  # case-sensitive: searched in the folded text too
    for anything in ("", "a*", r"\w+", ".", r"(a|.)", "(ab)?", "[^a]", r"(a)?\1", r"(?(1)a|b)"):
        assert r(anything, re.I) == ()
    assert r("\u0130d", re.I) == (("d",),)  # a non-ASCII character is any character
    assert r(b"bytes") == ()
    assert r("(" * 5000 + ")" * 5000) == ()  # too deep for the analysis (compiling it fails too): searched


@pytest.mark.parametrize("flags", [re.I, 0])
def test_a_rejected_text_never_matches(flags):
    """The property: holds(requirement) False => no match, for defaults and tricky patterns, generated
    and corpus texts, case-insensitive and case-sensitive."""
    patterns = default_patterns() + TRICKY
    texts = generated_texts(patterns, 900) + corpus_lines(500) + HAND_TEXTS + ["", "\n", "DOCKER PUSH"]
    rejected = 0
    for source in patterns:
        rx = re.compile(source, flags)
        need = requirement(source, rx.flags)
        for text in texts:
            if not holds(need, fold(text)):
                rejected += 1
                assert rx.search(text) is None, (source, text)
    assert rejected > len(patterns) * len(texts) // 2  # the filter does filter


def test_search_returns_the_match_pattern_by_pattern_search_returns():
    """_search and _may_match over a list (defaults per setting, tricky ones, one joined list) agree with a
    plain search of each pattern in order: the same pattern, span and matched text."""
    lists = [fields.get("commands", []) for fields in DEFAULT_SETTINGS["ci-stage-patterns"].values()]
    lists += [DEFAULT_SETTINGS["image-push-commands"], TRICKY, default_patterns(), [r"\w+", r"\bgo\b"], []]
    texts = generated_texts(default_patterns() + TRICKY, 400, seed=7) + corpus_lines(300) + HAND_TEXTS
    matched = 0
    for sources in lists:
        pats = ci_checks._compiled(sources)
        plain = [re.compile(x, re.I) for x in sources]
        for text in texts:
            expected = next((m for rx in plain if (m := rx.search(text))), None)
            got = ci_checks._search(pats, text)
            assert (got and (got.re.pattern, got.span(), got.group(0))) == (
                expected and (expected.re.pattern, expected.span(), expected.group(0))
            ), (sources, text)
            assert ci_checks._may_match(pats, text) or expected is None
            matched += expected is not None
    assert matched > 100


class _Counting:
    """A compiled pattern that counts its searches."""

    searches = 0

    def __init__(self, source: str) -> None:
        self.rx = re.compile(source, re.I)
        self.pattern, self.flags = self.rx.pattern, self.rx.flags

    def search(self, text: str) -> re.Match | None:
        _Counting.searches += 1
        return self.rx.search(text)


def test_texts_without_the_literals_run_no_regex():
    """The work bound: setup commands (most of a pipeline) run none of the stage patterns' regexes, and a
    text that matches runs a few, not all of them."""
    sources = [x for fields in DEFAULT_SETTINGS["ci-stage-patterns"].values() for x in fields.get("commands", [])]
    pats = ci_checks._Patterns([_Counting(x) for x in sources])  # type: ignore[list-item]
    setup = ["npm ci", "echo building $VERSION", "cd app && ./configure", 'export PATH="$HOME/bin:$PATH"',
             "apt-get install -y jq", "docker build -t app .", "pip install -r requirements.txt"]  # fmt: skip
    _Counting.searches = 0
    for text in setup * 20:
        assert ci_checks._search(pats, text) is None
        assert not ci_checks._may_match(pats, text)
    assert _Counting.searches == 0
    m = ci_checks._search(pats, "set -e\ngo vet ./...\n")
    assert m is not None and m.group(0) == "go vet"
    assert 1 <= _Counting.searches <= 3
