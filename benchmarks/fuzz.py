"""Seeded mutation fuzzing of the scanner: YAML manifests, Dockerfiles, OpenAPI documents, CI pipelines, charts.

Each iteration copies a small repository of real fixtures into a temporary directory, mutates one or more
of its files (bytes flipped, structural characters inserted, lines duplicated, deleted or swapped, long runs,
deep nesting, odd Unicode, a NUL), scans it in-process through :mod:`guidecheck.runner` and checks what the
project promises for any input: no exception escapes, the JSON report is written and parses, every finding
names a file and a line >= 1, and one scan stays within a CPU budget.  Charts are rendered with the real Helm
every ``render_every`` iterations (``0``: never); otherwise Helm rendering is off and chart files are read as
the walk reads them.

The CI runs a short, seeded run (tests/test_fuzz.py: a few seconds).  A longer run by hand::

    PYTHONPATH=src .venv/bin/python benchmarks/fuzz.py --iterations 5000 --seed 1 --render-every 25

prints each failing case (seed, iteration, file, mutation) and keeps its tree under ``--keep DIR``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"

# (path in the fuzzed repository, source fixture)
SEEDS: list[tuple[str, Path]] = [
    ("k8s/deployment.yaml", FIXTURES / "golden" / "k8s" / "deployment.yaml"),
    ("Dockerfile", FIXTURES / "golden" / "Dockerfile"),
    ("api/openapi.yaml", FIXTURES / "rules" / "GC902" / "pass-recursive-schemas" / "openapi.yaml"),
    (
        ".github/workflows/ci.yml",
        FIXTURES / "rules" / "GC701" / "fail-github-no-integration-no-security" / ".github" / "workflows" / "ci.yml",
    ),
    (".gitlab-ci.yml", FIXTURES / "rules" / "GC701" / "pass-gitlab-include" / ".gitlab-ci.yml"),
]
CHART = FIXTURES / "charts" / "shop"

_TOKENS = [
    "{", "}", "[", "]", ":", ": ", "- ", "? ", "&a ", "*a", "!!binary ", "!!python/object:x ", "'", '"', "#", "|", ">",
    "\t", "\0", "\r", "\u2028", "\ufeff", "\udcff", "${", "{{", "}}", "$ref", "\\u0024ref", "FROM ", "RUN ", "<<: *a",
    "\n---\n", "\n...\n", "%YAML 1.1\n", "allOf: [", "1e309", "0x", "~", "null", "\\", "`", "\u202e",
]  # fmt: skip


@dataclass
class Failure:
    iteration: int
    path: str
    mutation: str
    problem: str


def mutate(text: str, rng: random.Random) -> tuple[str, str]:
    """One random mutation of ``text``; and a short description of it."""
    if not text:
        return rng.choice(_TOKENS), "empty file given a token"
    lines = text.split("\n")
    pos = rng.randrange(len(text) + 1)
    kind = rng.randrange(9)
    if kind == 0:
        tok = rng.choice(_TOKENS)
        return text[:pos] + tok + text[pos:], f"insert {tok!r} at {pos}"
    if kind == 1:
        n = rng.randint(1, 40)
        return text[:pos] + text[pos + n :], f"delete {n} chars at {pos}"
    if kind == 2:
        i = rng.randrange(len(lines))
        return "\n".join(lines[: i + 1] + lines[i:]), f"duplicate line {i + 1}"
    if kind == 3:
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return "\n".join(lines), f"swap lines {i + 1} and {j + 1}"
    if kind == 4:
        depth = rng.choice((50, 150, 600))
        opener = rng.choice(("[", "{a: ", "- "))
        return text[:pos] + opener * depth + text[pos:], f"nest {opener!r} x{depth} at {pos}"
    if kind == 5:
        n = rng.choice((1000, 70000))
        return text[:pos] + "x" * n + text[pos:], f"run of {n} chars at {pos}"
    if kind == 6:
        i = rng.randrange(len(lines))
        lines[i] = " " * rng.randint(0, 9) + lines[i].lstrip()
        return "\n".join(lines), f"reindent line {i + 1}"
    if kind == 7:
        data = bytearray(text.encode("utf-8", "surrogatepass"))
        if not data:
            return text, "nothing to flip"
        at = rng.randrange(len(data))
        data[at] ^= 1 << rng.randrange(8)
        return data.decode("utf-8", "surrogateescape"), f"flip a bit of byte {at}"
    i = rng.randrange(len(lines))
    return "\n".join(lines[:i] + lines[i + 1 :]), f"drop line {i + 1}"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8", "surrogateescape"))


def one_case(rng: random.Random, base: Path, render: bool) -> list[tuple[str, str]]:
    """Build one fuzzed repository under ``base``: the seeds, one chart, 1-3 mutated files. What was mutated."""
    for rel, src in SEEDS:
        _write(base / rel, src.read_text(encoding="utf-8"))
    shutil.copytree(CHART, base / "chart")
    chart_files = sorted(
        str(p.relative_to(base)) for p in (base / "chart").rglob("*") if p.is_file() and p.suffix in (".yaml", ".tpl")
    )
    targets = [rel for rel, _ in SEEDS] + chart_files
    done = []
    for _ in range(rng.randint(1, 3)):
        rel = rng.choice(targets)
        p = base / rel
        text = p.read_bytes().decode("utf-8", "surrogateescape")
        for _ in range(rng.randint(1, 4)):
            text, what = mutate(text, rng)
            done.append((rel, what))
        _write(p, text)
    (base / ".guidecheck.yaml").write_text("helm:\n  render: false\n" if not render else "helm:\n  timeout: 20\n")
    return done


def check(base: Path, cpu_budget: float) -> str | None:
    """Scan ``base`` in-process; what broke a promise, or None."""
    from guidecheck import runner
    from guidecheck.reporters import stream

    start = time.process_time()
    try:
        prep = runner.prepare(str(base), config_path=str(base / ".guidecheck.yaml"))
        result = runner.scan([str(base)], prep.config, prep.rules, prep.checks)
        report = "".join(stream("json", result, {"version": "fuzz", "exit_code": 0, "inputs": [str(base)]}))
        doc = json.loads(report)
    except Exception as exc:  # noqa: BLE001 - what the fuzzer looks for
        return f"{type(exc).__name__}: {str(exc)[:300]}"
    for f in doc["findings"]:
        if not f.get("path") or not isinstance(f.get("line"), int) or f["line"] < 1:
            return f"finding without a place: {json.dumps(f)[:300]}"
    spent = time.process_time() - start
    if spent > cpu_budget:
        return f"took {spent:.1f} s of CPU (budget {cpu_budget:g} s)"
    return None


def run(
    iterations: int, seed: int, *, render_every: int = 0, cpu_budget: float = 10.0, keep: str | None = None
) -> list[Failure]:
    rng = random.Random(seed)
    failures: list[Failure] = []
    with tempfile.TemporaryDirectory(prefix="guidecheck-fuzz-") as tmp:
        for i in range(iterations):
            base = Path(tmp) / f"case{i}"
            render = bool(render_every) and i % render_every == 0
            done = one_case(rng, base, render)
            problem = check(base, cpu_budget)
            if problem is not None:
                what = "; ".join(f"{p}: {m}" for p, m in done)
                failures.append(Failure(i, done[0][0], what, problem))
                if keep:
                    shutil.copytree(base, Path(keep) / f"seed{seed}-case{i}", dirs_exist_ok=True)
            shutil.rmtree(base, ignore_errors=True)
    return failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--render-every", type=int, default=25, help="render the chart with real Helm every N cases")
    ap.add_argument("--cpu-budget", type=float, default=10.0, help="CPU seconds one scan may take")
    ap.add_argument("--keep", help="copy each failing case's tree under this directory")
    args = ap.parse_args(argv)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    start = time.process_time()
    failures = run(
        args.iterations, args.seed, render_every=args.render_every, cpu_budget=args.cpu_budget, keep=args.keep
    )
    for f in failures:
        print(f"seed {args.seed} case {f.iteration}: {f.problem}\n    mutations: {f.mutation}")
    print(
        f"{args.iterations} case(s), {len(failures)} failure(s), {time.process_time() - start:.1f} s of CPU",
        file=sys.stderr,
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
