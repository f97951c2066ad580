#!/usr/bin/env python3
"""What the incremental cache saves: the same tree scanned cold, again unchanged, and after small changes.

Run by hand, not by the tests (see benchmarks/README.md)::

    .venv/bin/python benchmarks/incremental.py               # the table, on the dev corpus
    .venv/bin/python benchmarks/incremental.py --write-docs  # and into docs/cache.md
    .venv/bin/python benchmarks/bench.py --all               # the same, with the rest of issue 14's table

The corpus is copied into a temporary directory (the changes are made to the copy).  Each round, in
order, with a cache directory of its own (``--cache-dir``):

1. ``--no-cache``: the cold scan, no cache read or written;
2. the first scan with an empty cache directory: computes, and writes the entries;
3. the second scan, nothing changed: the ``scan`` layer's hit;
4. one Dockerfile changed (a comment line added): parsing and every rule run again, every render
   and OpenAPI validation is reused;
5. one chart's ``values.yaml`` changed (a comment line added): that chart is rendered again;
6. the pre-commit hook's three files (a Dockerfile and two manifests), first without the cache
   and then with it warm.

Every scan runs as its own process (``os.wait4``: wall, CPU of the process and its children, peak
RSS), ``--repeat`` rounds (medians).  The goal (issue 14): the second scan of an unchanged tree in at
most 10 % of the first.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    """bench.py's measuring helpers (``run``, ``median``, ``guidecheck_cmd``): one way to time a command."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench

    return bench


def _first(tree: Path, pattern: str, under: str = "") -> Path:
    found = sorted(p for p in tree.rglob(pattern) if p.is_file() and not p.is_symlink() and under in p.as_posix())
    if not found:
        raise SystemExit(f"no {pattern} in {tree}")
    return found[0]


def _touch(path: Path, i: int) -> None:
    """A change that alters the file's content and nothing it means: a comment line."""
    with path.open("a", encoding="utf-8") as fh:
        fh.write(f"\n# changed by benchmarks/incremental.py, round {i}\n")


def measure(corpus: Path, repeat: int) -> dict:
    b = _bench()
    gc = b.guidecheck_cmd()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "GUIDECHECK_CACHE_DIR")}
    env.setdefault("NO_COLOR", "1")
    work = Path(tempfile.mkdtemp(prefix="gc-bench-incremental-"))
    try:
        tree = work / "corpus"
        shutil.copytree(corpus, tree, symlinks=True)
        dockerfile = _first(tree, "Dockerfile")
        values = _first(tree, "values.yaml", under="/charts/")
        pre = [str(ROOT / f) for f in b.PRECOMMIT_FILES]

        def scan(cache: Path | None, *target: str, cwd: Path | None = None):
            flags = ["--cache-dir", str(cache)] if cache else ["--no-cache"]
            return b.run(
                [*gc, "scan", *flags, "-q", "-f", "json", "-o", str(work / "out.json"), *target], cwd=cwd, env=env
            )

        runs: dict[str, list] = {}

        def step(key: str, m) -> None:
            runs.setdefault(key, []).append(m)
            print(f"  {key} #{len(runs[key])}: {b.describe(m)}, exit {m.rc}", file=sys.stderr)

        scan(None, str(tree))  # warm-up: bytecode, the file system cache
        for i in range(repeat):
            cache = work / f"cache-{i}"
            step("cold", scan(None, str(tree)))
            step("first", scan(cache, str(tree)))
            step("hit", scan(cache, str(tree)))
            _touch(dockerfile, i)
            step("dockerfile", scan(cache, str(tree)))
            _touch(values, i)
            step("values", scan(cache, str(tree)))
            step("pre-cold", scan(None, "--helm-optional", *pre, cwd=ROOT))
            step("pre-first", scan(cache, "--helm-optional", *pre, cwd=ROOT))
            step("pre-hit", scan(cache, "--helm-optional", *pre, cwd=ROOT))
        return {
            "ms": {k: b.median(v) for k, v in runs.items()},
            "dockerfile": dockerfile.relative_to(tree).as_posix(),
            "values": values.relative_to(tree).as_posix(),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def table(result: dict, repeat: int) -> str:
    ms = result["ms"]
    cold = ms["cold"]

    def row(label: str, key: str, base=cold) -> str:
        m = ms[key]
        share = f"{100 * m.wall / base.wall:.0f} %" if base.wall else ""
        return f"| {label} | {m.wall:.2f} s | {m.cpu:.2f} s | {m.rss_mb:.0f} MiB | {share} |"

    pre_cold = ms["pre-cold"]
    lines = [
        f"Medians of {repeat} rounds; wall and CPU (user + system, children such as `helm` included) of each "
        "scan's process; the share is of the cold scan's wall time (of the pre-commit run without a cache, for "
        "the pre-commit rows).",
        "",
        "| run | wall | CPU | peak RSS | share |",
        "|---|---:|---:|---:|---:|",
        row("`--no-cache` (cold)", "cold"),
        row("first scan, empty cache directory (computes and writes the entries)", "first"),
        row("second scan, nothing changed (`scan` layer hit)", "hit"),
        row(f"one Dockerfile changed (`{result['dockerfile']}`)", "dockerfile"),
        row(f"one chart's values changed (`{result['values']}`: that chart rendered again)", "values"),
        row("pre-commit, 3 files, `--no-cache`", "pre-cold", pre_cold),
        row("pre-commit, 3 files, first run with the cache", "pre-first", pre_cold),
        row("pre-commit, 3 files, cache hit", "pre-hit", pre_cold),
    ]
    hit = ms["hit"].wall / cold.wall if cold.wall else None
    if hit is not None:
        verdict = "met" if hit <= 0.10 else "not met"
        lines += [
            "",
            f"Second scan of the unchanged tree: {100 * hit:.1f} % of the cold scan (goal ≤ 10 %: {verdict}).",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "dev")
    ap.add_argument("--repeat", type=int, default=3, help="rounds (medians; default 3)")
    ap.add_argument("--write-docs", action="store_true", help="write the table into docs/cache.md")
    args = ap.parse_args(argv)
    corpus = args.corpus.resolve()
    if not corpus.is_dir():
        raise SystemExit(f"corpus not found: {corpus}")
    b = _bench()
    info = b.machine_info(b.guidecheck_cmd())
    body = b.provenance(info) + "\n\n" + table(measure(corpus, args.repeat), args.repeat)
    print(body)
    if args.write_docs:
        b.write_docs({"cache": body})
    return 0


if __name__ == "__main__":
    sys.exit(main())
