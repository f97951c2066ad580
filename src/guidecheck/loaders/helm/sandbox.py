"""The sandbox Helm runs in: its environment (no plugins, no kubeconfig, no network) and chart copies.

Copies hold regular files of the walk only: no symlink, no file outside the scanned tree.
"""

from __future__ import annotations

import os
import shutil

from guidecheck.loaders.fs import walk


def _sandbox_env(tmp: str) -> dict[str, str]:
    plugins = os.path.join(tmp, "plugins")
    os.makedirs(plugins, exist_ok=True)
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": tmp,
        "LANG": "C.UTF-8",
        "HELM_PLUGINS": plugins,
        "HELM_CONFIG_HOME": os.path.join(tmp, "config"),
        "HELM_CACHE_HOME": os.path.join(tmp, "cache"),
        "HELM_DATA_HOME": os.path.join(tmp, "data"),
        "HELM_REGISTRY_CONFIG": os.path.join(tmp, "config", "registry.json"),
        "HELM_REPOSITORY_CONFIG": os.path.join(tmp, "config", "repositories.yaml"),
        "HELM_REPOSITORY_CACHE": os.path.join(tmp, "cache", "repository"),
        "KUBECONFIG": os.path.join(tmp, "no-kubeconfig"),
        # no network: anything Helm might try to fetch goes to a closed local port
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
        "NO_PROXY": "",
        "no_proxy": "",
    }


def _inside(path: str, root: str) -> bool:
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _copy_chart(src: str, dest: str, root: str) -> None:
    """Copy a chart directory: regular files inside ``root`` only (the walk's rules)."""
    w = walk(src)
    _copy_files(src, w.inventory, dest)


def _copy_files(src: str, files: list[str], dest: str) -> None:
    for rel in files:
        s = os.path.join(src, rel)
        d = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        try:
            fd = os.open(s, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if not (st.st_mode & 0o170000 == 0o100000):
                continue
            with open(fd, "rb", closefd=False) as fh, open(d, "wb") as out:
                shutil.copyfileobj(fh, out)
        finally:
            os.close(fd)
