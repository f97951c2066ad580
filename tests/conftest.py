from __future__ import annotations

import os
import shutil
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


def gc_bin() -> list[str]:
    exe = Path(sys.executable).parent / "guidecheck"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "guidecheck"]


@pytest.fixture
def run_cli():
    """Run the real console script; returns CompletedProcess (text)."""

    def _run(*args: str, cwd: str | os.PathLike | None = None, timeout: float = 60, env=None):
        return subprocess.run([*gc_bin(), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              env=env, errors="backslashreplace")

    return _run


@pytest.fixture(scope="session")
def rules():
    from guidecheck.catalog import load_rules

    return load_rules()
