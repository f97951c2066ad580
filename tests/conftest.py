from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"
TOOLS = ROOT / ".tools" / "bin"  # real Helm binaries (scripts/install-test-tools.sh); rendering tests use them
if TOOLS.is_dir() and str(TOOLS) not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = str(TOOLS) + os.pathsep + os.environ.get("PATH", "")
# the incremental cache (docs/cache.md) is off in the suite, as in mypy with --cache-dir /dev/null: a CLI run
# never writes into fixtures/ and a second run of the same inputs is computed anew; tests/test_cache.py turns it on
os.environ.setdefault("GUIDECHECK_CACHE_DIR", os.devnull)


def gc_bin() -> list[str]:
    exe = Path(sys.executable).parent / "guidecheck"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "guidecheck"]


@pytest.fixture
def run_cli():
    """Run the real console script; returns CompletedProcess (text)."""

    def _run(*args: str, cwd: str | os.PathLike | None = None, timeout: float = 60, env=None):
        return subprocess.run(
            [*gc_bin(), *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            errors="backslashreplace",
        )

    return _run


@pytest.fixture(scope="session")
def rules():
    from guidecheck.catalog import load_rules

    return load_rules()


def in_process_scan(paths, config=None, *, select=None, now=None, targets=(), origin=None, rules=None):
    """Scan ``paths`` in-process through :mod:`guidecheck.runner`, as ``guidecheck scan PATHS`` does.

    ``select`` replaces the configuration's rule selection (and clears its ignores); ``now`` is
    the clock of age-based rules; ``targets`` are added to the loaded ones; ``origin`` replaces
    the origin of every loaded ``k8s`` target (objects as if read from a cluster or a dump).
    """
    import dataclasses

    from guidecheck import runner
    from guidecheck.config import Config
    from guidecheck.loaders import load

    config = config or Config()
    if select is not None:
        config = dataclasses.replace(config, select=tuple(select), ignore=())
    paths = [str(p) for p in paths]
    if origin is None:
        return runner.scan(paths, config, rules, now=now, targets=targets)
    loaded = load(paths, config)
    loaded.targets.extend(targets)
    for t in loaded.targets:
        if t.kind == "k8s":
            t.origin = dict(origin)
    return runner.scan_loaded(loaded, config, rules, now=now)


@pytest.fixture
def scan_paths():
    """``scan_paths(paths, config=None, *, select=None, now=None, targets=(), origin=None)``: a ScanResult.

    See :func:`in_process_scan`; the module-level helpers of the test files call it directly.
    """
    return in_process_scan
