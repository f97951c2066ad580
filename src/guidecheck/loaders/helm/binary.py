"""The Helm executable: where it is, which version it is, and refusing versions with known vulnerabilities."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile

from guidecheck.loaders.helm.sandbox import _sandbox_env

# Oldest Helm releases without known template-time vulnerabilities:
# 3.18.5 fixes GHSA-9h84-qmv7-982p (values.schema.json $ref fetched/read while rendering);
# 3.18.4 fixed GHSA-f9f8-9pmf-xv68 (panic on a malformed Chart.yaml) and CVE-2025-53547
# (Chart.lock symlink written by dependency update).  Helm 4.0.0 ships all of them.
MIN_HELM = {3: (3, 18, 5), 4: (4, 0, 0)}
INSTALL_HINT = (
    "install Helm >= 3.18.5 or 4.x (https://helm.sh/docs/intro/install/) and put it on PATH, "
    "or give its path with --helm / helm.binary"
)


def _beside_interpreter(name: str) -> str | None:
    """``name`` installed in the same environment as guidecheck (``.venv/bin/helm``).

    A virtual environment's tools are on PATH once it is activated; run as
    ``.venv/bin/guidecheck`` it is not, so the environment's own scripts
    directory is looked at after PATH (``scripts/install-test-tools.sh`` links
    Helm there).
    """
    import sysconfig

    scripts = sysconfig.get_path("scripts")
    return shutil.which(name, path=scripts) if scripts else None


def find_helm(binary: str | None) -> tuple[str | None, str]:
    """The Helm executable to use, or None and a one-line reason (how to install it)."""
    path = shutil.which(binary) if binary else (shutil.which("helm") or _beside_interpreter("helm"))
    if binary and path is None and os.path.isfile(binary) and os.access(binary, os.X_OK):
        path = os.path.abspath(binary)
    if path is None:
        where = f"'{binary}' not found" if binary else "no 'helm' on PATH"
        return None, f"{where}: {INSTALL_HINT}"
    path = os.path.abspath(path)  # Helm runs in a temporary directory: a relative PATH entry would not resolve
    version = helm_version(path)
    if version is None:
        return None, f"{path} did not report a Helm version: {INSTALL_HINT}"
    problem = version_problem(version)
    if problem:
        return None, f"{path} is Helm {'.'.join(map(str, version))}: {problem}"
    return path, ""


_VERSIONS: dict[str, tuple[int, int, int] | None] = {}


def helm_version(path: str) -> tuple[int, int, int] | None:
    if path in _VERSIONS:
        return _VERSIONS[path]
    try:
        with tempfile.TemporaryDirectory(prefix="guidecheck-helm-") as tmp:
            out = subprocess.run(
                [path, "version", "--short"],
                capture_output=True,
                text=True,
                timeout=20,
                env=_sandbox_env(tmp),
                stdin=subprocess.DEVNULL,
            ).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    m = re.search(r"v?(\d+)\.(\d+)\.(\d+)", out or "")
    v = (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None
    _VERSIONS[path] = v
    return v


def version_problem(v: tuple[int, int, int]) -> str | None:
    if v[0] < 3:
        return "Helm 2 cannot render v2 charts offline; " + INSTALL_HINT
    minimum = MIN_HELM.get(v[0])
    if minimum and v < minimum:
        return (
            f"older than {'.'.join(map(str, minimum))}, which fixes template-time vulnerabilities "
            f"(GHSA-9h84-qmv7-982p: values.schema.json $ref read or fetched while rendering); "
            f"refusing to run it: {INSTALL_HINT}"
        )
    return None
