"""The Dockerfile loader: tokenizer, directives, heredocs, ARG expansion, stages, errors, speed."""

from __future__ import annotations

import io
import random
import time
from pathlib import Path

import pytest

from guidecheck.parsers.docker import (
    MARK,
    Dockerfile,
    expand,
    heredoc_is_script,
    parse_dockerfile,
)

from conftest import FIXTURES, SHARED


def names_lines(df: Dockerfile) -> list[tuple[str, int, int]]:
    return [(i.name, i.line, i.end_line) for i in df.instructions]


def messages(df: Dockerfile) -> list[tuple[int, str]]:
    return [(e.line, e.message) for e in df.errors]


# ------------------------------------------------------------ line numbers


def test_line_numbers_continuations_and_comments():
    df = parse_dockerfile(
        "# a comment\n"  # 1
        "FROM alpine:3.20 AS base\n"  # 2
        "\n"  # 3
        "RUN apk add --no-cache \\\n"  # 4
        "    # a comment inside the continuation\n"  # 5
        "    curl \\\n"  # 6
        "\n"  # 7 empty continuation line: BuildKit keeps going
        "    jq\n"  # 8
        "ENV A=1 \\\n"  # 9
        "    B=2\n"  # 10
        "USER 1000\n"  # 11
    )
    assert df.errors == []
    assert names_lines(df) == [("FROM", 2, 2), ("RUN", 4, 8), ("ENV", 9, 10), ("USER", 11, 11)]
    run = df.instructions[1]
    assert run.value.split() == ["apk", "add", "--no-cache", "curl", "jq"]
    assert "comment" not in run.value
    assert df.stages[0].end_line == 11


def test_crlf_bom_and_trailing_continuation_at_eof():
    df = parse_dockerfile("\ufeffFROM alpine:3.20\r\nRUN echo a \\\r\n")
    assert df.errors == []
    assert names_lines(df) == [("FROM", 1, 1), ("RUN", 2, 2)]
    assert df.instructions[1].value == "echo a"


def test_comment_ending_in_backslash_does_not_continue():
    df = parse_dockerfile("FROM alpine:3.20\n# note \\\nRUN true\n")
    assert names_lines(df) == [("FROM", 1, 1), ("RUN", 3, 3)]


def test_lowercase_instructions_are_valid():
    df = parse_dockerfile("from alpine:3.20 as Build\nrun echo hi\nFrom build\n")
    assert df.errors == []
    assert [i.name for i in df.instructions] == ["FROM", "RUN", "FROM"]
    assert df.instructions[1].keyword == "run"
    assert df.stages[0].alias == "build"
    assert df.stages[1].parent_stage == 0


# ---------------------------------------------------------------- heredocs


def test_heredoc_bodies_are_data_not_instructions():
    text = (Path(FIXTURES) / "hostile" / "docker" / "heredoc" / "Dockerfile").read_text()
    df = parse_dockerfile(text)
    assert df.errors == []
    assert names_lines(df) == [("FROM", 2, 2), ("RUN", 3, 7), ("COPY", 8, 11), ("RUN", 12, 15), ("USER", 16, 16)]
    run, copy = df.instructions[1], df.instructions[2]
    assert run.heredoc_names == ["EOF"]
    assert run.heredocs == ["apt-get update\napt-get install -y curl\nUSER root\n"]
    assert copy.heredoc_names == ["CONF"]
    assert "password=hunter2" in copy.heredocs[0] and "FROM=not-an-instruction" in copy.heredocs[0]
    users = [i for i in df.final.instructions if i.name == "USER"]
    assert [(u.value, u.line) for u in users] == [("1000", 16)]


def test_several_heredocs_on_one_line_and_chomp():
    df = parse_dockerfile(
        "FROM alpine:3.20\n"
        'COPY <<a.txt <<"b.txt" /dst/\n'
        "first\n"
        "a.txt\n"
        "second\n"
        "b.txt\n"
        "RUN <<-EOT\n"
        "\techo tabbed\n"
        "\tEOT\n"
        "RUN 3<<X cat /dev/fd/3\n"
        "x\n"
        "X\n"
        "USER app\n"
    )
    assert df.errors == []
    assert names_lines(df) == [("FROM", 1, 1), ("COPY", 2, 6), ("RUN", 7, 9), ("RUN", 10, 12), ("USER", 13, 13)]
    assert df.instructions[1].heredocs == ["first\n", "second\n"]
    assert df.instructions[1].heredoc_names == ["a.txt", "b.txt"]
    assert df.instructions[2].heredocs == ["\techo tabbed\n"]


def test_not_heredocs_quoted_json_spaced_or_other_instructions():
    df = parse_dockerfile(
        "FROM alpine:3.20\n"
        "RUN echo \"<<EOF\" && echo '<<X'\n"
        'RUN ["sh", "-c", "cat <<EOF"]\n'
        "RUN cat << EOF\n"
        'LABEL a="<<EOF"\n'
        "USER app\n"
    )
    assert df.errors == []
    assert [i.name for i in df.instructions] == ["FROM", "RUN", "RUN", "RUN", "LABEL", "USER"]
    assert all(not i.heredocs for i in df.instructions)


def test_onbuild_heredoc_and_unterminated_heredoc():
    df = parse_dockerfile("FROM alpine:3.20\nONBUILD RUN <<EOF\necho hi\nEOF\nUSER app\n")
    assert df.errors == []
    assert names_lines(df) == [("FROM", 1, 1), ("ONBUILD", 2, 4), ("USER", 5, 5)]
    df = parse_dockerfile("FROM alpine:3.20\nRUN <<EOF\necho never closed\nUSER root\n")
    assert messages(df)[0][0] == 2 and "unterminated heredoc" in messages(df)[0][1]
    assert [i.name for i in df.instructions] == ["FROM", "RUN"]  # the body is never read as instructions


def test_heredoc_is_script():
    df = parse_dockerfile(
        "FROM alpine:3.20\n"
        "RUN <<EOF\napk add x\nEOF\n"
        "RUN bash <<EOF\napk add x\nEOF\n"
        "RUN cat <<EOF > /etc/x\napk add x\nEOF\n"
        "RUN python3 <<EOF\nprint(1)\nEOF\n"
        "RUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n"
    )
    runs = [i for i in df.instructions if i.name == "RUN"]
    assert [heredoc_is_script(r) for r in runs] == [[True], [True], [False], [False], [False]]


# --------------------------------------------------------- parser directives


def test_escape_directive_backtick_continuation():
    text = (Path(FIXTURES) / "hostile" / "docker" / "directives_escape" / "Dockerfile").read_text()
    df = parse_dockerfile(text)
    assert df.errors == []
    assert df.directives == {"syntax": "docker/dockerfile:1", "escape": "`"}
    assert names_lines(df) == [("FROM", 3, 3), ("RUN", 4, 6), ("COPY", 7, 7), ("USER", 8, 8)]
    assert df.instructions[2].value == "C:\\src\\app C:\\app"  # backslash is literal with escape=`


def test_directives_only_at_the_top():
    df = parse_dockerfile(
        "# check=skip=JSONArgsRecommended\n# Syntax = docker/dockerfile:1.7\n"
        "FROM alpine:3.20\n# escape=`\nRUN a \\\n b\n"
    )
    assert df.directives == {"check": "skip=JSONArgsRecommended", "syntax": "docker/dockerfile:1.7"}
    assert names_lines(df)[-1] == ("RUN", 5, 6)  # escape after an instruction is a comment
    df = parse_dockerfile("# hello\n# escape=`\nFROM alpine:3.20\n")
    assert df.directives == {}  # a plain comment ends the directives
    df = parse_dockerfile("# unknown=1\n# escape=`\nFROM alpine:3.20\n")
    assert df.directives == {}


def test_bad_directives_are_errors():
    df = parse_dockerfile("# escape=`\n# escape=\\\nFROM alpine:3.20\n")
    assert messages(df) == [(2, "only one escape parser directive can be used")]
    df = parse_dockerfile("# escape=|\nFROM alpine:3.20\n")
    assert messages(df)[0][0] == 1 and "invalid escape token" in messages(df)[0][1]


# ----------------------------------------------------------------- flags


def test_builder_flags_repeated_and_quoted():
    df = parse_dockerfile(
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n"
        'RUN --mount=type=cache,target=/root/.cache/go-build --mount=type=secret,id="my id" --network=none go build\n'
        "COPY --from=build --chmod=0755 /out/app /app\n"
        "COPY --link -- --weird-name /x\n"
    )
    assert df.errors == []
    run = df.instructions[1]
    assert run.flag_list == [
        ("mount", "type=cache,target=/root/.cache/go-build"),
        ("mount", "type=secret,id=my id"),
        ("network", "none"),
    ]
    assert run.flags["network"] == "none" and run.value == "go build"
    assert df.instructions[2].flags == {"from": "build", "chmod": "0755"}
    assert df.instructions[3].flags == {"link": ""} and df.instructions[3].value == "--weird-name /x"
    assert df.stages[0].platform == "linux/amd64"


# --------------------------------------------------------- ARG and FROM


def test_hostile_from_arg_resolution():
    text = (Path(FIXTURES) / "hostile" / "docker" / "from_arg" / "Dockerfile").read_text()
    df = parse_dockerfile(text)
    assert df.errors == []
    assert df.global_args == {"REGISTRY": "registry.example:8099", "BASE": "ubuntu", "TAG": None}
    s0, s1, s2 = df.stages
    assert s0.image == "registry.example:8099/library/ubuntu:latest" and s0.alias == "build"
    assert s1.image == "registry.example:8099:8099/build_base/alpine-base:1.0.0"  # what BuildKit would expand
    assert s2.parent_stage == 0 and s2.image == s0.image and s2.expanded == "build"


@pytest.mark.parametrize(
    "word, expected",
    [
        ("$A", "1"),
        ("${A}", "1"),
        ("x${A}y", "x1y"),
        ("${NODEF:-d}", "d"),
        ("${NODEF-d}", "d"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${A:+set}", "set"),
        ("${NODEF:+set}", ""),
        ("${A+set}", "set"),
        ('alpine:"${Q}"', "alpine:3.19"),
        ("'$A'", "$A"),
        ("\\$A", "$A"),
        ("${V#v}", "1.2.3"),
        ("${V%.*}", "v1.2"),
        ("${V/./-}", "v1-2.3"),
        ("${V//./-}", "v1-2-3"),
        ("$", "$"),
        ("a$1b", "a$1b"),
        ("${TARGETARCH}", "amd64"),
        ("${NODEF:-${A}}", "1"),
    ],
)
def test_expand_resolves(word, expected):
    env = {"A": "1", "NODEF": None, "EMPTY": "", "Q": "3.19", "V": "v1.2.3"}
    assert expand(word, env) == (expected, [])


@pytest.mark.parametrize(
    "word, missing",
    [
        ("${NODEF}", ["NODEF"]),
        ("$UNDECLARED", ["UNDECLARED"]),
        ("${NODEF:?required}", ["NODEF"]),
        ("${NODEF:-$OTHER}", ["OTHER"]),
        ("golang:${GO}-${OS}", ["GO", "OS"]),
    ],
)
def test_expand_reports_what_is_missing(word, missing):
    assert expand(word, {"NODEF": None}) == (None, missing)


def test_arg_forms_and_stage_scope():
    df = parse_dockerfile(
        'ARG ALPINE_TAG="3.19" BASE=alpine\n'
        "ARG IMAGE=${BASE}:${ALPINE_TAG}\n"
        "ARG NODEFAULT\n"
        "FROM ${IMAGE} AS one\n"
        "ARG LOCAL=1\n"
        "FROM alpine:${LOCAL}\n"
        "FROM golang:${NODEFAULT}\n"
    )
    assert df.errors == []
    assert df.global_args == {"ALPINE_TAG": "3.19", "BASE": "alpine", "IMAGE": "alpine:3.19", "NODEFAULT": None}
    one, two, three = df.stages
    assert one.image == "alpine:3.19"
    assert two.image is None and two.unresolved == "LOCAL is not declared as an ARG before the first FROM"
    assert three.image is None and three.unresolved == "ARG NODEFAULT has no default"
    assert three.unresolved_args == ("NODEFAULT",)
    assert three.partial == f"golang:{MARK}"
    assert [p for i in one.instructions for p in i.pairs] == [("LOCAL", "1")]


def test_stage_aliases_scratch_and_forward_references():
    df = parse_dockerfile(
        "FROM scratch AS Empty\n"
        "FROM later AS first\n"  # 'later' is defined below: an image name, not a stage
        "FROM EMPTY\n"
        "FROM alpine:3.20 AS later\n"
        "FROM first\n"
    )
    assert df.errors == []
    s = df.stages
    assert s[0].is_scratch and s[0].alias == "empty"
    assert s[1].image == "later" and s[1].parent_stage is None
    assert s[2].parent_stage == 0 and s[2].is_scratch
    assert s[4].parent_stage == 1 and s[4].image == "later"
    assert [x.index for x in df.lineage(s[4])] == [4, 1]
    assert df.root_of(s[2]) is s[0]


def test_label_and_env_pairs():
    df = parse_dockerfile(
        "FROM alpine:3.20\n"
        'LABEL a=b c="d e" \\\n'
        '      "org.opencontainers.image.version"=$VERSION\n'
        "LABEL maintainer Jane Doe <jane@example.com>\n"
        "ENV PATH=/opt/bin:$PATH LANG=C.UTF-8\n"
        "ENV LEGACY value with spaces\n"
    )
    assert df.errors == []
    pairs = [i.pairs for i in df.instructions[1:]]
    assert pairs == [
        [("a", "b"), ("c", "d e"), ("org.opencontainers.image.version", "$VERSION")],
        [("maintainer", "Jane Doe <jane@example.com>")],
        [("PATH", "/opt/bin:$PATH"), ("LANG", "C.UTF-8")],
        [("LEGACY", "value with spaces")],
    ]


# -------------------------------------------------------------- bad lines


def test_junk_lines_are_reported_and_valid_lines_kept():
    text = (Path(FIXTURES) / "hostile" / "docker" / "lowercase_and_junk" / "Dockerfile").read_text()
    df = parse_dockerfile(text)
    errs = messages(df)
    assert [e[0] for e in errs] == [3, 4, 5, 6]
    assert "unknown instruction: NOTANINSTRUCTION" in errs[0][1]
    assert "ONBUILD ONBUILD" in errs[1][1]
    assert "HEALTHCHECK requires at least one argument" in errs[2][1]
    assert "invalid proto: ip" in errs[3][1]
    assert df.stages[0].image == "alpine"
    assert [i.name for i in df.final.instructions][:1] == ["RUN"]


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ("RUN echo before\nFROM alpine:3.20\n", 1, "before the first FROM"),
        ("FROM alpine:3.20\nFROM a b\n", 2, "one or three arguments"),
        ("FROM alpine:3.20 AS 1st\n", 1, "invalid name for build stage"),
        ("FROM alpine:3.20\nSHELL /bin/bash -c\n", 2, "JSON form"),
        ("FROM alpine:3.20\nCOPY onlyone\n", 2, "at least two arguments"),
        ('FROM alpine:3.20\nCMD ["a", 1]\n', 2, "strings only"),
        ("FROM alpine:3.20\nLABEL a=b c\n", 2, "can't find ="),
        ("FROM alpine:3.20\nENV ONLYKEY\n", 2, "two arguments"),
        ("FROM alpine:3.20\nEXPOSE 99999\n", 2, "invalid port"),
        ("FROM alpine:3.20\nHEALTHCHECK --interval=5s PING x\n", 2, "unknown type"),
        ("FROM alpine:3.20\nONBUILD FROM x\n", 2, "isn't allowed as an ONBUILD trigger"),
        ("FROM alpine:3.20\nUSER\n", 2, "exactly one argument"),
        ("FROM alpine:3.20\nRUNN echo\n", 2, "did you mean RUN"),
        ("ARG ONLY=1\n", 1, "no FROM instruction"),
        ("", 1, "no FROM instruction"),
    ],
)
def test_bad_line_errors(text, line, fragment):
    df = parse_dockerfile(text)
    assert any(e.line == line and fragment in e.message for e in df.errors), messages(df)


def test_a_fragment_without_from_is_one_error():
    """coherence-operator's debug/Tools.Dockerfile holds RUNs its Makefile appends to the Dockerfile
    (`cat Dockerfile debug/Tools.Dockerfile`): one defect, one finding, not one more per instruction."""
    df = parse_dockerfile("\nRUN yum -y install bind-utils\nRUN echo done\n")
    assert [(e.line, e.message.split(":")[0]) for e in df.errors] == [(2, "no FROM instruction")], messages(df)
    assert "fragment" in df.errors[0].message


def test_valid_constructs_are_not_errors():
    df = parse_dockerfile(
        "FROM alpine:3.20\n"
        "EXPOSE 80 443/tcp 53/udp 8000-8010 ${PORT}\n"
        "HEALTHCHECK --interval=30s CMD wget -q -O- http://localhost:8080/healthz || exit 1\n"
        "HEALTHCHECK NONE\n"
        'SHELL ["/bin/ash", "-eo", "pipefail", "-c"]\n'
        "ONBUILD COPY . /src\n"
        "STOPSIGNAL SIGTERM\n"
        'VOLUME ["/data"]\n'
        "MAINTAINER someone\n"
        "CMD []\n"
        "COPY <<EOF /etc/x\nhello\nEOF\n"
    )
    assert df.errors == [], messages(df)


def test_never_raises_on_random_input():
    rng = random.Random(1234)
    tokens = [
        "FROM",
        "RUN",
        "ARG",
        "LABEL",
        "COPY",
        "ONBUILD",
        "HEALTHCHECK",
        "\\",
        "`",
        "<<EOF",
        "<<-'X'",
        "EOF",
        "X",
        "${",
        "}",
        "$A",
        "${A:-",
        '"',
        "'",
        "=",
        "--mount=",
        "[",
        "]",
        "#",
        "# escape=`",
        "AS",
        "\n",
        "\n",
        "\t",
        " ",
        "alpine:3",
        "scratch",
        ":",
        "@sha256:",
        "\r",
        "\x0b",
    ]
    for _ in range(400):
        text = "".join(rng.choice(tokens) + rng.choice([" ", "", "\n"]) for _ in range(rng.randrange(1, 60)))
        df = parse_dockerfile(text)
        assert isinstance(df, Dockerfile)
        assert all(e.line >= 1 for e in df.errors)


# ------------------------------------------------------------------ speed
# CPU time of this process (time.process_time), with margin: a loaded machine stretches wall time, not
# CPU time; what these guard against is a super-linear parser.  Timings: benchmarks/bench.py --parsers.


def test_twenty_thousand_continuations_parse_fast():
    text = (
        "FROM alpine:3.19\nRUN true \\\n"
        + "".join(f"    && echo line{i} \\\n" for i in range(20000))
        + "    && true\nUSER 1000\n"
    )
    t0 = time.process_time()
    df = parse_dockerfile(text)
    elapsed = time.process_time() - t0
    assert elapsed < 1.0, elapsed
    assert names_lines(df) == [("FROM", 1, 1), ("RUN", 2, 20003), ("USER", 20004, 20004)]


def test_one_megabyte_line_parses_fast():
    text = "FROM alpine\nRUN echo " + "A" * 1_000_000 + ' "unclosed ${X:-\n'
    t0 = time.process_time()
    df = parse_dockerfile(text)
    assert time.process_time() - t0 < 1.0
    assert names_lines(df) == [("FROM", 1, 1), ("RUN", 2, 2)]


def test_many_instructions_and_heredocs_parse_fast():
    text = "FROM alpine:3.20\n" + 'RUN <<EOF\necho x\nEOF\nLABEL a=b c="d"\n' * 9999
    t0 = time.process_time()
    df = parse_dockerfile(text)
    assert time.process_time() - t0 < 2.0
    assert len(df.instructions) == 19999 and df.errors == []


def test_instruction_cap_and_expansion_depth_are_clear_errors():
    from guidecheck.parsers.docker import MAX_INSTRUCTIONS

    t0 = time.process_time()
    df = parse_dockerfile("FROM alpine:3.20\n" + "RUN x\n" * (MAX_INSTRUCTIONS + 5000))
    assert time.process_time() - t0 < 2.0
    assert len(df.instructions) == MAX_INSTRUCTIONS
    assert messages(df) == [
        (
            MAX_INSTRUCTIONS + 1,
            f"more than {MAX_INSTRUCTIONS} instructions: parsing stopped here; the rest of the file is not checked",
        )
    ]
    df = parse_dockerfile("ARG A\nFROM ${A:-" + "${A:-" * 5000 + "x" + "}" * 5001 + "\n")
    assert df.errors == [] and df.final.image is None and "nested more than" in df.final.unresolved


# ------------------------------------------ agreement with dockerfile-parse
# dockerfile-parse is a dependency of the test extra only: an independent parser used as a differential
# oracle for instruction names and line spans.  It is wrong on heredocs (bodies become instructions), so files
# with heredocs are left out, and on an empty line inside a continuation or a byte-order mark (not used here).


def _dockerfiles() -> list[Path]:
    roots = [FIXTURES / "rules", FIXTURES / "hostile", SHARED / "corpus" / "dev"]  # the corpus when present
    out = []
    for root in roots:
        if root.is_dir():
            out += [
                p
                for p in root.rglob("*")
                if p.is_file()
                and p.name.lower().startswith(("dockerfile", "containerfile"))
                or p.name.endswith(".Dockerfile")
            ]
    return sorted(out)


def _oracle():
    return pytest.importorskip("dockerfile_parse", reason="dockerfile-parse (the test extra) is the oracle")


def _theirs(dockerfile_parse, text: str) -> list[tuple[str, int, int]]:
    parser = dockerfile_parse.DockerfileParser(fileobj=io.BytesIO(text.encode()), env_replace=False)
    return [
        (d["instruction"], d["startline"] + 1, d["endline"] + 1)
        for d in parser.structure
        if d["instruction"] != "COMMENT"
    ]


def test_instruction_lines_agree_with_dockerfile_parse_without_heredocs():
    """Where dockerfile-parse is right (no heredocs), both parsers find the same instructions at the same lines."""
    dockerfile_parse = _oracle()
    from guidecheck.loaders.fs import ReadError, read_text

    checked = 0
    for path in _dockerfiles():
        try:
            text = read_text(str(path), 8 << 20)
        except ReadError:
            continue
        if "<<" in text or len(text) > 200_000:
            continue
        theirs = _theirs(dockerfile_parse, text)
        assert names_lines(parse_dockerfile(text)) == theirs, path
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize(
    "text",
    [
        "# escape=`\nFROM mcr.microsoft.com/windows\nRUN dir `\n  c:\\\nUSER app\n",
        "# syntax=docker/dockerfile:1\n# check=skip=all\n\nFROM alpine\nRUN a\n",
        "FROM alpine\r\nRUN a \\\r\n  b\r\nUSER app\r\n",
        "FROM alpine\nRUN a \\\n# a comment inside the continuation\n  b \\\n  c\nUSER app\n",
        'FROM alpine\nrun a\nRUNN b\nONBUILD RUN ["a"]\n',
    ],
    ids=["escape-directive", "directives", "crlf-continuation", "comment-in-continuation", "keywords"],
)
def test_directives_escape_and_continuations_agree_with_dockerfile_parse(text):
    assert names_lines(parse_dockerfile(text)) == _theirs(_oracle(), text)


# ------------------------------------------------------- the rules' edges


def run_rule(text: str, func: str, **settings) -> list[tuple[int, str]]:
    from guidecheck.checks import Context, NotApplicable, docker
    from guidecheck.config import DEFAULT_SETTINGS
    from guidecheck.model import ObjectRef, Target

    df = parse_dockerfile(text)
    assert df.errors == [], messages(df)
    target = Target("docker", "Dockerfile", 1, ObjectRef("Dockerfile", None, "Dockerfile"), df)
    ctx = Context(settings={**DEFAULT_SETTINGS, **settings}, options={})
    try:
        return [(h.line, h.message) for h in getattr(docker, func)(target, ctx)]
    except NotApplicable as na:
        return [(0, f"n/a: {na}")]


@pytest.mark.parametrize(
    "run, flagged",
    [
        ("apk add --no-cache curl", False),
        ("apk --no-cache add curl", False),
        ("apk add curl && rm -rf /var/cache/apk/*", False),
        ("apk update && apk add -U curl", True),
        ("/sbin/apk add curl", True),
        ("apk add curl && apk cache clean", False),
        ("--mount=type=cache,target=/var/cache/apk apk add curl", False),
        ("--mount=type=cache,target=/root/.npm apk add curl", True),
        ("apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*", False),
        ("apt-get update && apt-get install -y curl && apt-get clean", True),
        ("apt update && apt install -y curl", True),
        # debian-base's clean-install and bitnami's install_packages remove the lists when done
        ("apt update && apt upgrade -y && clean-install ca-certificates mount", False),
        ("install_packages curl ca-certificates", False),
        ("apt-get update && apt-get install -y curl && echo clean-install", True),
        ("apt-get -o Acquire::Retries=3 install -y ./pkg.deb", True),
        ("--mount=type=cache,target=/var/lib/apt,sharing=locked apt-get update && apt-get install -y curl", False),
        ("pip install --no-cache-dir flask", False),
        # optparse expands an unambiguous start of a long option (robusta's Dockerfile); --no-c may be --no-color
        ("pip install -U robusta-cli --no-cache", False),
        ("pip install --no-c flask", True),
        ("pip3 install flask", True),
        ("python3 -m pip install --upgrade pip", True),
        ("PIP_NO_CACHE_DIR=1 pip install flask", False),
        ("pip install flask && rm -rf /root/.cache/pip", False),
        ("pip install flask && pip cache purge", False),
        ("--mount=type=cache,target=/root/.cache/pip pip install flask", False),
        ("uv pip install flask", False),
        ("pip wheel -w /wheels flask", False),
        ('sh -c "pip install flask"', True),
        ("dnf install -y tar && dnf clean all", False),
        ("microdnf install -y tar", True),
        ("yum -y update && yum -y install tar && rm -rf /var/cache/yum", False),
        ('npm ci && echo "then run apk add"', False),
        ("echo no package manager here", False),
    ],
)
def test_gc303_cache_detection(run, flagged):
    hits = run_rule(f"FROM alpine:3.20\nRUN {run}\n", "package_caches")
    assert bool(hits) == flagged, hits


def test_gc303_pip_env_must_come_before_and_builder_stages_do_not_ship():
    text = (
        "FROM python:3.12-alpine AS build\nRUN pip install build\n"
        "FROM python:3.12-alpine\nRUN pip install app\nENV PIP_NO_CACHE_DIR=1\nRUN pip install other\n"
    )
    assert [h[0] for h in run_rule(text, "package_caches")] == [4]


def test_gc303_heredoc_script_and_data():
    text = (
        "FROM debian:12\nRUN <<EOF\napt-get update\napt-get install -y curl\nrm -rf /var/lib/apt/lists/*\nEOF\n"
        "RUN cat > /x <<EOF\napt-get update\nEOF\n"
        "RUN bash -e <<EOF\npip install flask\nEOF\n"
    )
    assert [h[0] for h in run_rule(text, "package_caches")] == [10]


def test_gc302_groups_and_boundaries():
    text = (
        "FROM alpine:3.20\nRUN a\nRUN b\n# comment\n\nRUN c\nUSER x\nRUN d\n"
        'RUN --mount=type=cache,target=/c e\nRUN --mount=type=cache,target=/c f\nRUN ["g"]\nRUN h\n'
    )
    hits = run_rule(text, "consecutive_runs")
    assert [h[0] for h in hits] == [3, 10]
    assert "3 consecutive RUN instructions" in hits[0][1] and "lines 2-6" in hits[0][1]


def test_gc304_edges():
    text = (
        "ARG GO=1.22\nARG ARCH\nARG REG\n"
        "FROM golang:${GO} AS a\n"  # 4 ok
        "FROM golang@sha256:" + "a" * 64 + "\n"  # 5 ok: digest
        "FROM golang:latest@sha256:" + "b" * 64 + "\n"  # 6 ok: digest wins
        "FROM a\n"  # 7 stage
        "FROM scratch\n"  # 8 exempt
        "FROM ${REG}/alpine:3.20\n"  # 9 ok: tag visible
        "FROM static:latest-${ARCH}\n"  # 10 floating whatever ARCH is
        "FROM static:${ARCH}\n"  # 11 unresolved
        "FROM ${REG}/alpine\n"  # 12 untagged whatever REG is
        "FROM Alpine:3.20\n"  # 13 invalid: upper case
        "FROM alpine:edge\n"  # 14 floating
        "FROM ${REG}/android:${ARCH}\n"
    )  # 15 unresolved tag: only its own ARG is named (cloud-builders-community's android)
    hits = dict(run_rule(text, "from_pinned"))
    assert sorted(hits) == [10, 11, 12, 13, 14, 15]
    assert "ARG ARCH has no default" in hits[15] and "REG" not in hits[15].split(": ", 1)[1]
    assert "whatever ARCH holds" in hits[10]
    assert "ARG ARCH has no default" in hits[11]
    assert "no tag" in hits[12]
    assert "lower-case" in hits[13]
    assert "floating tag 'edge'" in hits[14]


def test_gc301_and_gc305_settings_and_inheritance():
    text = (
        "FROM alpine:3.20 AS base\nLABEL org.opencontainers.image.version=1\n"
        'FROM base\nLABEL org.opencontainers.image.revision=""\n'
    )
    assert run_rule(text, "base_image_alpine") == []
    hits = run_rule(text, "oci_labels")
    assert len(hits) == 1 and hits[0][0] == 3 and "empty LABEL org.opencontainers.image.revision" in hits[0][1]
    assert run_rule(text, "oci_labels", **{"required-oci-labels": ["org.opencontainers.image.version"]}) == []
    assert run_rule("FROM scratch\n", "base_image_alpine", **{"allowed-base-images": ["scratch"]}) == []
    hit = run_rule("FROM distroless/static:nonroot\n", "base_image_alpine", **{"allowed-base-images": ["*/static:*"]})
    assert hit == []
    hit = run_rule('FROM scratch\nCOPY server /server\nENTRYPOINT ["/server"]\n', "base_image_alpine")
    assert 'add "scratch" to settings allowed-base-images' in hit[0][1]


def test_a_default_target_that_picks_a_dev_stage_is_not_the_image_that_ships():
    """vault-csi-provider ends with a bare `FROM dev` ("Set default target to 'dev'"); its pipeline builds the
    release targets. The image rules judge the last release stage, one no other stage builds on or copies from."""
    text = (
        "FROM golang:1.25 AS devbuild\nRUN go build\n"
        "FROM alpine:3.24 AS dev\nCOPY --from=devbuild /bin/app /app\n"
        "FROM alpine:3.24 AS default\nLABEL version=1\n"
        "FROM ubi-minimal:10 AS build-ubi\nRUN make\n"
        "FROM ubi-micro:10 AS release-ubi\nCOPY --from=build-ubi /app /app\n"
        "FROM dev\n"
    )
    [(line, message)] = run_rule(text, "base_image_alpine")
    assert line == 9 and "'ubi-micro:10'" in message, (line, message)
    [(line, message)] = run_rule(text, "oci_labels")
    assert line == 9 and "stage 'release-ubi'" in message, (line, message)
    # a last stage of its own (instructions, or a name) is what ships, as before
    assert run_rule(text.replace("FROM dev\n", "FROM dev AS final\n"), "base_image_alpine") == []


def test_gc301_a_squashed_stage_is_judged_by_the_base_of_what_it_copies():
    """kind's node image squashes its build stage into one layer: FROM scratch, COPY --from=build / /. The image is
    debian:trixie-slim's file system, and allowing scratch would pass it; an Alpine build stage passes."""
    text = (
        "ARG BASE_IMAGE=debian:trixie-slim\nFROM $BASE_IMAGE AS base\nRUN apt-get install -y systemd\n"
        'FROM base AS build\nRUN true\nFROM scratch\nCOPY --from=build / /\nENTRYPOINT ["/sbin/init"]\n'
    )
    [(line, message)] = run_rule(text, "base_image_alpine")
    assert line == 6, line
    assert message.startswith(
        "the final stage is FROM scratch with the whole file system of stage 'build' (COPY --from at line 7), "
        "whose base image 'debian:trixie-slim' is not Alpine-based"
    ), message
    assert run_rule(text.replace("debian:trixie-slim", "alpine:3.20"), "base_image_alpine") == []
    # copying a directory of the stage is a scratch image with that in it
    [(_line, message)] = run_rule(
        text.replace("COPY --from=build / /", "COPY --from=build /app /app"), "base_image_alpine"
    )
    assert 'add "scratch"' in message, message


@pytest.mark.parametrize(
    "name, dockerfile",
    [
        ("Dockerfile.dockerignore", False),  # BuildKit's ignore file for Dockerfile (rancher/local-path-provisioner)
        ("api.Dockerfile.dockerignore", False),
        ("Dockerfile.patch", False),
        ("Dockerfile.md", False),
        ("dockerfile-context.mdx", False),  # a documentation page (loft-sh/devspace)
        ("Dockerfile.tsx", False),
        ("Dockerfile.dev", True),
        ("Dockerfile-alpine", True),
        ("api.Dockerfile", True),
        # kaniko's Go package pkg/dockerfile/: source code named for Dockerfiles
        ("dockerfile.go", False),
        ("dockerfile_test.go", False),
        ("Dockerfile.yaml", False),
    ],
)
def test_which_names_are_dockerfiles(name, dockerfile):
    from guidecheck.loaders.fs import classify

    assert (classify(name) == "dockerfile") is dockerfile


def test_a_data_image_from_scratch_has_no_base_image_to_choose():
    """percona's deploy/csv/redhat/bundle-1.7.0.Dockerfile: an OLM bundle, manifests and labels only."""
    bundle = (
        "FROM scratch\n"
        "LABEL operators.operatorframework.io.bundle.mediatype.v1=registry+v1\n"
        "COPY 1.7.0/manifests /manifests/\n"
    )
    [(line, message)] = run_rule(bundle, "base_image_alpine")
    assert line == 0 and message.startswith("n/a: the final stage is FROM scratch with no ENTRYPOINT or CMD")
    # a static binary FROM scratch runs: it is judged, whether its ENTRYPOINT is its own or its parent stage's
    binary = 'FROM scratch AS base\nENTRYPOINT ["/server"]\nFROM base\nCOPY server /server\n'
    assert [line for line, _m in run_rule(binary, "base_image_alpine")] == [3]
    assert [line for line, _m in run_rule(bundle + 'CMD ["/x"]\n', "base_image_alpine")] == [1]


def test_a_placeholder_default_is_no_image():
    """oauth2-proxy's ARG BUILD_IMAGE=placeholder: the Makefile always passes --build-arg; nothing pulls it."""
    text = 'ARG RUNTIME_IMAGE=placeholder\nFROM ${RUNTIME_IMAGE}\nCOPY app /app\nENTRYPOINT ["/app"]\n'
    [(line, message)] = run_rule(text, "base_image_alpine")
    assert line == 2 and "ARG RUNTIME_IMAGE's default 'placeholder' is a placeholder the build replaces" in message
    [(line, message)] = run_rule(text, "from_pinned")
    assert "the tag cannot be checked" in message and "latest" not in message, message
    # a real image name is judged as given
    assert [line for line, _m in run_rule(text.replace("placeholder", "alpine:3.20.3"), "base_image_alpine")] == []


def test_build_push_action_labels_reach_the_dockerfiles_of_a_matrix(tmp_path, run_cli):
    """flagd builds ./${{ matrix.path }}/build.Dockerfile for each service, labelled by docker/metadata-action."""
    import json

    for svc in ("flagd", "flagd-proxy"):
        (tmp_path / svc).mkdir()
        (tmp_path / svc / "build.Dockerfile").write_text("FROM alpine:3.20.3\n")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "Dockerfile").write_text("FROM alpine:3.20.3\n")
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "release.yml").write_text(
        "on: push\njobs:\n  image:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n"
        "        path: [flagd, flagd-proxy]\n    steps:\n      - id: meta\n        uses: docker/metadata-action@v5\n"
        "      - uses: docker/build-push-action@v6\n        with:\n          file: ./${{ matrix.path }}/build.Dockerfile\n"
        "          labels: ${{ steps.meta.outputs.labels }}\n"
    )
    r = run_cli("scan", "--isolated", "--select", "GC305", "-f", "json", str(tmp_path))
    assert [f["path"].rsplit("/", 2)[-2:] for f in json.loads(r.stdout)["findings"]] == [["other", "Dockerfile"]]
    # emberstack/kubernetes-reflector: file: ${{ env.X }}, set in the workflow's env:, with literal labels
    (wf / "release.yml").write_text(
        "on: push\nenv:\n  dockerfile: other/Dockerfile\njobs:\n  image:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          file: ${{ env.dockerfile }}\n"
        "          labels: |\n            org.opencontainers.image.version=1\n"
        "            org.opencontainers.image.revision=${{ github.sha }}\n"
    )
    r = run_cli("scan", "--isolated", "--select", "GC305", "-f", "json", str(tmp_path))
    assert sorted(f["path"].rsplit("/", 2)[-2] for f in json.loads(r.stdout)["findings"]) == ["flagd", "flagd-proxy"]


def test_the_build_push_step_giving_most_labels_counts(tmp_path, run_cli):
    """Forecastle's pull-request previews label the image with the revision alone; its release workflow gives
    both the version and the revision: the Dockerfile is labelled."""
    import json

    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20.3\n")
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    step = (
        "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: docker/build-push-action@v6\n"
        "        with:\n          labels: |\n{labels}"
    )
    (wf / "preview.yml").write_text(step.format(labels="            org.opencontainers.image.revision=abc\n"))
    (wf / "release.yml").write_text(
        step.format(
            labels="            org.opencontainers.image.revision=abc\n            org.opencontainers.image.version=1\n"
        )
    )
    r = run_cli("scan", "--isolated", "--select", "GC305", "-f", "json", str(tmp_path))
    assert json.loads(r.stdout)["findings"] == []
    (wf / "release.yml").unlink()
    r = run_cli("scan", "--isolated", "--select", "GC305", "-f", "json", str(tmp_path))
    [f] = json.loads(r.stdout)["findings"]
    assert "lack it too" in f["message"], f["message"]


def test_docker_build_label_flags_of_the_pipeline_count(tmp_path, run_cli):
    """contour's `make multiarch-build` runs `docker buildx build ... $(DOCKER_BUILD_LABELS)`, a Makefile variable
    of --label flags over continued lines that holds the version and the revision."""
    import json

    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20.3\n")
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "Dockerfile").write_text("FROM alpine:3.20.3\n")
    labels = (
        'LABELS = \\\n\t--label "org.opencontainers.image.version=$(VERSION)" \\\n'
        '\t--label "org.opencontainers.image.revision=$(SHA)"\n'
    )
    (tmp_path / "Makefile").write_text(labels + "container: ## Build\n\tdocker buildx build $(LABELS) \\\n\t\t.\n")
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "ci.yml").write_text(
        "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make container\n"
    )

    def flagged() -> list[str]:
        r = run_cli("scan", "--isolated", "--select", "GC305", "-f", "json", str(tmp_path))
        return sorted(Path(f["path"]).relative_to(tmp_path).as_posix() for f in json.loads(r.stdout)["findings"])

    assert flagged() == ["tools/Dockerfile"]  # the build names no -f: the directory's own Dockerfile
    (tmp_path / "Makefile").write_text(labels + "container:\n\tdocker build $(LABELS) -f tools/Dockerfile .\n")
    assert flagged() == ["Dockerfile"]
    (tmp_path / "Makefile").write_text(labels.replace("revision", "title") + "container:\n\tdocker build $(LABELS) .\n")
    assert flagged() == ["Dockerfile", "tools/Dockerfile"]


def test_copy_from_a_bake_named_context_is_no_image(tmp_path, run_cli):
    """nats-io/nack: docker-bake.hcl gives the goreleaser target `contexts = { src = "." }`: COPY --from=src."""
    import json

    (tmp_path / "cicd").mkdir()
    (tmp_path / "cicd" / "Dockerfile").write_text(
        "FROM golang:1.25.1-alpine3.22 AS build\nCOPY --from=src . /src\nCOPY --from=busybox /bin/sh /sh\n"
    )
    (tmp_path / "docker-bake.hcl").write_text(
        'target "goreleaser" {\n  contexts = {\n    src = "."\n  }\n  dockerfile = "cicd/Dockerfile"\n}\n'
    )
    r = run_cli("scan", "--isolated", "--select", "GC304", "-f", "json", str(tmp_path))
    assert [(f["line"], f["message"].split(":")[0]) for f in json.loads(r.stdout)["findings"]] == [
        (3, "COPY --from=busybox")
    ]


def test_goreleaser_labels_reach_the_dockerfile_beside_its_configuration(tmp_path, run_cli):
    """opentelemetry-collector-releases: distributions/otlp/.goreleaser.yaml (run with that workdir) builds
    dockerfile: Dockerfile, its sibling, with the version and revision labels."""
    import json

    dist = tmp_path / "distributions" / "otlp"
    dist.mkdir(parents=True)
    (dist / "Dockerfile").write_text("FROM alpine:3.20.3\n")
    (dist / ".goreleaser.yaml").write_text(
        "dockers:\n  - dockerfile: Dockerfile\n    build_flag_templates:\n"
        '      - "--label=org.opencontainers.image.version={{.Version}}"\n'
        '      - "--label=org.opencontainers.image.revision={{.FullCommit}}"\n'
    )
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "release.yml").write_text(
        "on: push\njobs:\n  r:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: goreleaser/goreleaser-action@v6\n        with: {workdir: distributions/otlp}\n"
    )
    r = run_cli("scan", "--isolated", "--select", "GC305", "-f", "json", str(tmp_path))
    assert json.loads(r.stdout)["findings"] == []


def test_a_dev_container_image_is_not_judged(tmp_path, run_cli):
    """vcluster's .devcontainer/Dockerfile is VS Code's workspace image (and .gitpod.Dockerfile Gitpod's), and a
    test suite's image is built to be tested against: the image rules judge images that are deployed; the same
    file elsewhere is judged."""
    import json

    text = "FROM mcr.microsoft.com/devcontainers/go:latest\nRUN apt-get update\nRUN apt-get install -y make\n"
    # kratos's .docker/Dockerfile-debug: the service with Delve, for a compose file that mounts the source; a
    # Dockerfile.debugger or a debugging/ directory is not named a debug image. oncall's Dockerfile.dev and
    # listmonk's dev/app.Dockerfile are development builds, which a devtools/ directory does not say
    # a contest/ or attestation/ directory is no test directory
    judged = (
        "build/Dockerfile",
        "build/Dockerfile.debugger",
        "debugging/Dockerfile",
        "devtools/Dockerfile",
        "contest/Dockerfile",
        "attestation/Dockerfile",
    )
    # sigstore/scaffolding's deps/Dockerfile.deps: a pinned image for Dependabot (FROM and a dummy ENV); a
    # deps.Dockerfile that builds is an image
    (tmp_path / "deps").mkdir()
    (tmp_path / "deps" / "Dockerfile.deps").write_text("FROM gcr.io/proxy:2.23.0-alpine\nENV FOO=BAR\n")
    (tmp_path / "cmd").mkdir()
    (tmp_path / "cmd" / "deps.Dockerfile").write_text(text)
    judged += ("cmd/deps.Dockerfile",)
    for where in (
        ".devcontainer/Dockerfile",
        ".gitpod.Dockerfile",
        ".local/Dockerfile",
        ".docker/Dockerfile-debug",
        "Dockerfile.dbg",
        "cmd/delve.Dockerfile",
        "grafana-plugin/Dockerfile.dev",
        "dev/app.Dockerfile",
        "ui/Dockerfile.local",
        "api/dev.Dockerfile",
        "hack/tilt/Dockerfile.kubetail-dashboard",  # what kubetail's Tiltfile builds for live reload
        # test images: tetragon's Dockerfile.test (`CMD go test ./pkg/...`), helm-controller's OSS-Fuzz builder,
        # dapr's e2e test apps, an integration suite's image
        "Dockerfile.test",
        "tests/fuzz/Dockerfile.builder",
        "test/e2e/apps/echo/Dockerfile",
        "integration.Dockerfile",
        "Dockerfile.asserts",  # jaeger-operator's e2e assert jobs
        "tools/linter.Dockerfile",  # inspektor-gadget's `make lint` toolchain
        "chart-tests/Dockerfile",
        *judged,
    ):
        (tmp_path / where).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / where).write_text(text)
    rules = "GC301,GC302,GC303,GC304,GC305"
    r = run_cli("scan", "--isolated", "--select", rules, "-f", "json", str(tmp_path))
    found = {(Path(f["path"]).relative_to(tmp_path).as_posix(), f["rule_id"]) for f in json.loads(r.stdout)["findings"]}
    assert {p for p, _r in found} == set(judged), found
    assert {r for _p, r in found} == {"GC301", "GC302", "GC303", "GC304", "GC305"}, found


@pytest.mark.parametrize(
    "bake, labelled",
    [
        # cloudnative-pg: OCI annotations on the index and manifest, values from bake variables
        (
            'variable "revision" {\n  default = ""\n}\ntarget "default" {\n  dockerfile = "Dockerfile"\n'
            '  context = "."\n  annotations = [\n'
            '    "index,manifest:org.opencontainers.image.version=${buildVersion}",\n'
            '    "index,manifest:org.opencontainers.image.revision=${revision}",\n  ]\n}\n',
            True,
        ),
        (
            'target "image" {\n  labels = {\n    "org.opencontainers.image.version" = "${VERSION}"\n'
            '    "org.opencontainers.image.revision" = "${REVISION}"\n  }\n}\n',
            True,
        ),
        # the bake file docker/metadata-action writes supplies the labels of an inheriting target
        ('target "docker-metadata-action" {}\ntarget "build" {\n  inherits = ["docker-metadata-action"]\n}\n', True),
        # another Dockerfile's target, or a revision missing, does not count
        (
            'target "x" {\n  dockerfile = "other/Dockerfile"\n  labels = {\n'
            '    "org.opencontainers.image.version" = "1"\n    "org.opencontainers.image.revision" = "2"\n  }\n}\n',
            False,
        ),
        ('target "x" {\n  labels = {\n    "org.opencontainers.image.version" = "1"\n  }\n}\n', False),
        (
            '{"target": {"x": {"context": ".", "labels": {"org.opencontainers.image.version": "1",'
            ' "org.opencontainers.image.revision": "2"}}}}',
            True,
        ),
    ],
)
def test_bake_labels_and_annotations_count_for_gc305(tmp_path, run_cli, bake, labelled):
    import json

    (tmp_path / "Dockerfile").write_text('FROM alpine:3.20.3\nCOPY app /app\nENTRYPOINT ["/app"]\n')
    name = "docker-bake.json" if bake.startswith("{") else "docker-bake.hcl"
    (tmp_path / name).write_text(bake)
    r = run_cli("scan", "--isolated", "--select", "GC305", "-f", "json", str(tmp_path))
    findings = json.loads(r.stdout)["findings"]
    assert (findings == []) is labelled, findings
    if findings and "revision" in bake and 'version" = "1"\n  }' in bake:
        assert "lack it too" in findings[0]["message"], findings[0]["message"]


def test_a_from_whose_arg_picks_a_stage_is_no_image():
    """emojivoto's Dockerfile-multi-arch: `FROM build-$svc_name as build` picks one of the stages
    build-emojivoto-emoji-svc, build-emojivoto-web; a name matching no stage is still an image to check."""
    text = (
        "ARG svc_name\nFROM golang:1.15.0 AS golang\nFROM golang AS build-emoji-svc\nFROM golang AS build-web\n"
        "FROM build-$svc_name AS build\nFROM alpine:3.20.3\nCOPY --from=build /app /app\n"
    )
    assert run_rule(text, "from_pinned") == []
    [(line, message)] = run_rule(text.replace("FROM build-$svc_name", "FROM registry/$svc_name"), "from_pinned")
    assert line == 5 and "the tag cannot be checked" in message, message


def test_an_upper_case_from_word_is_the_build_s_placeholder():
    """kuard's Dockerfile.kuard says `FROM ARG_FROM`; its Makefile's sed writes $(BASEIMAGE) there
    (go-build-template's idiom). Image names are lower case: a placeholder, not an invalid reference."""
    text = 'FROM ARG_FROM\nCOPY bin/kuard /kuard\nENTRYPOINT ["/kuard"]\n'
    [(line, message)] = run_rule(text, "base_image_alpine")
    assert line == 1 and "'ARG_FROM' is an upper-case word, not an image name" in message, message
    assert message.endswith("write the image in the Dockerfile so the base image can be checked"), message
    [(line, message)] = run_rule(text, "from_pinned")
    assert "the tag cannot be checked" in message and "not a valid image reference" not in message, message
    # a stage named in capitals is a stage
    assert run_rule("FROM alpine:3.20.3 AS BUILD\nFROM BUILD\n", "from_pinned") == []


def test_upper_case_words_a_script_replaces_make_a_dockerfile_template(tmp_path, run_cli):
    """sonobuoy's Dockerfile says `FROM BASEIMAGE`, then a line `CMD1` and `ADD BINARY /sonobuoy`, all replaced by
    the sed of scripts/build_funcs.sh: no build runs the file as it is. It is a template (one info note), not a
    Dockerfile with a typo; a typo of an instruction under a real FROM stays an error."""
    import json

    (tmp_path / "Dockerfile").write_text('FROM BASEIMAGE\nCMD1\nADD BINARY /sonobuoy\nCMD ["/sonobuoy"]\n')
    r = run_cli("scan", "--isolated", "-f", "json", str(tmp_path / "Dockerfile"))
    [f] = json.loads(r.stdout)["findings"]
    assert (f["rule_id"], f["severity"]) == ("GC001", "info"), f
    assert f["message"].startswith("a Dockerfile template (upper-case words a script replaces: FROM at line 1, CMD1")
    (tmp_path / "Dockerfile").write_text('FROM alpine:3.20.3\nCMD1\nCMD ["/x"]\n')
    r = run_cli("scan", "--isolated", "--select", "GC001", "-f", "json", str(tmp_path / "Dockerfile"))
    [f] = json.loads(r.stdout)["findings"]
    assert (f["severity"], f["line"]) == ("error", 2) and "unknown instruction: CMD1" in f["message"], f
    # a FROM naming an earlier stage written in capitals is that stage, not a placeholder
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20.3 AS BUILD\nFROM BUILD\nCMD1\n")
    r = run_cli("scan", "--isolated", "--select", "GC001", "-f", "json", str(tmp_path / "Dockerfile"))
    [f] = json.loads(r.stdout)["findings"]
    assert (f["severity"], f["line"]) == ("error", 3) and "unknown instruction: CMD1" in f["message"], f


def test_a_final_stage_that_installs_with_apk_is_alpine_based(tmp_path, run_cli):
    """kaniko's integration image builds FROM docker:20.10, an official image built on Alpine, and runs
    `apk add`: only an Alpine (or apk-based) image has apk."""
    import json

    (tmp_path / "Dockerfile").write_text("FROM docker:20.10\nRUN apk add --no-cache bash\nCOPY x /x\n")
    r = run_cli("scan", "--isolated", "--select", "GC301", "-f", "json", str(tmp_path))
    assert json.loads(r.stdout)["findings"] == []
    (tmp_path / "Dockerfile").write_text("FROM docker:20.10\nRUN apt-get install -y bash\nCOPY x /x\n")
    r = run_cli("scan", "--isolated", "--select", "GC301", "-f", "json", str(tmp_path))
    [f] = json.loads(r.stdout)["findings"]
    assert "'docker:20.10' is not Alpine-based" in f["message"], f["message"]


def test_a_list_of_pinned_images_is_no_image(tmp_path, run_cli):
    """opentelemetry-go-instrumentation's dependencies.Dockerfile: FROM ... AS lines Renovate keeps current and the
    Makefile reads with awk; nothing is built from it. alloy's ARG GO_RUNTIME=mustoverride is a placeholder."""
    import json

    (tmp_path / "dependencies.Dockerfile").write_text("FROM golang:latest AS golang\nFROM python:3.12 AS python\n")
    (tmp_path / "Dockerfile").write_text('FROM alpine:3.20.3\nCOPY app /app\nENTRYPOINT ["/app"]\n')
    r = run_cli("scan", "--isolated", "--select", "GC201,GC301,GC304", "-f", "json", str(tmp_path))
    assert json.loads(r.stdout)["findings"] == []
    [(line, message)] = run_rule("ARG GO_RUNTIME=mustoverride\nFROM ${GO_RUNTIME}\nCOPY x /x\n", "from_pinned")
    assert "ARG GO_RUNTIME's default 'mustoverride' is a placeholder the build replaces" in message, message
