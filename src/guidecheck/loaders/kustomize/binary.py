"""Which kustomize: ``--kustomize PATH``, ``kustomize.binary``, else ``kustomize`` or ``kubectl`` on PATH,
else the one in guidecheck's own environment (``.venv/bin``), as Helm is found."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sysconfig
import tempfile
from dataclasses import dataclass

INSTALL_HINT = (
    "install kubectl (>= 1.27, which embeds kustomize v5) or kustomize v5 and put it on PATH, "
    "or give its path with --kustomize / kustomize.binary (docs/kustomize.md)"
)


@dataclass(frozen=True)
class Kustomize:
    path: str
    flavour: str  # kubectl | kustomize
    version: str  # kustomize's version, e.g. v5.7.1

    def command(self, directory: str, load_restrictor: str = "root-only") -> list[str]:
        sub = ["kustomize"] if self.flavour == "kubectl" else ["build"]
        restrictor = "LoadRestrictionsNone" if load_restrictor == "none" else "LoadRestrictionsRootOnly"
        return [self.path, *sub, "--load-restrictor", restrictor, directory]


def _beside_interpreter(name: str) -> str | None:
    scripts = sysconfig.get_path("scripts")
    return shutil.which(name, path=scripts) if scripts else None


_CACHE: dict[str, tuple[Kustomize | None, str]] = {}


def find_kustomize(binary: str | None) -> tuple[Kustomize | None, str]:
    """The kustomize to run, or None and a one-line reason (how to install one)."""
    if binary:
        path = shutil.which(binary)
        if path is None and os.path.isfile(binary) and os.access(binary, os.X_OK):
            path = binary
        if path is None:
            return None, f"'{binary}' not found: {INSTALL_HINT}"
        candidates = [os.path.abspath(path)]
    else:
        found = [
            shutil.which("kustomize"),
            shutil.which("kubectl"),
            _beside_interpreter("kustomize"),
            _beside_interpreter("kubectl"),
        ]
        candidates = [os.path.abspath(p) for p in found if p]
        if not candidates:
            return None, f"no 'kubectl' or 'kustomize' on PATH: {INSTALL_HINT}"
    why = ""
    for path in candidates:
        if path not in _CACHE:
            _CACHE[path] = _probe(path)
        k, why = _CACHE[path]
        if k is not None:
            return k, ""
    return None, why


def _probe(path: str) -> tuple[Kustomize | None, str]:
    name = os.path.basename(path)
    with tempfile.TemporaryDirectory(prefix="guidecheck-kustomize-") as tmp:
        env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "KUBECONFIG": os.path.join(tmp, "none")}
        try:
            if "kustomize" in name and "kubectl" not in name:
                out = _run([path, "version"], env, tmp)
                m = re.search(r"v?(\d+)\.(\d+)\.(\d+)", out)
                flavour = "kustomize"
            else:
                out = _run([path, "version", "--client", "-o", "json"], env, tmp)
                data = json.loads(out) if out.strip().startswith("{") else {}
                m = re.search(r"v?(\d+)\.(\d+)\.(\d+)", str(data.get("kustomizeVersion") or ""))
                flavour = "kubectl"
        except (OSError, subprocess.SubprocessError, ValueError):
            return None, f"{path} did not run: {INSTALL_HINT}"
    if not m:
        return None, f"{path} did not report a kustomize version: {INSTALL_HINT}"
    version = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if version < (5, 0, 0):
        return None, f"{path} embeds kustomize {'.'.join(map(str, version))}: kustomize v5 is needed: {INSTALL_HINT}"
    return Kustomize(path, flavour, "v" + ".".join(map(str, version))), ""


def _run(cmd: list[str], env: dict[str, str], cwd: str) -> str:
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=20, env=env, cwd=cwd, stdin=subprocess.DEVNULL
    ).stdout
