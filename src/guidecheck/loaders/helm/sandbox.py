"""The sandbox Helm runs in: its environment (no plugins, no kubeconfig, no network), its limits and chart copies.

Copies hold regular files of the walk only: no symlink, no file outside the scanned tree, no file over the
size cap (a 1 GB sparse file is never copied dense).  Helm runs in a user and network namespace of its own
where the system allows one (``unshare --user --net``: not even loopback is reachable), under an
address-space limit (``RLIMIT_AS``), with its output read as a stream and cut at a cap.
"""

from __future__ import annotations

import functools
import os
import selectors
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass

from guidecheck.loaders.fs import open_beneath, walk

DEFAULT_MAX_MEMORY = 2 * 1024 * 1024 * 1024  # bytes of address space for one Helm process (helm.max-memory-bytes)
MAX_STDERR = 64 * 1024  # bytes of Helm's error output kept (a Go panic dumps every goroutine)


def _sandbox_env(tmp: str, max_memory: int = 2 * 1024 * 1024 * 1024) -> dict[str, str]:
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
        # no network: anything Helm might try to fetch goes to a closed local port (and, in a network
        # namespace of its own, there is no network at all: see isolation_prefix)
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
        "NO_PROXY": "",
        "no_proxy": "",
        **go_runtime_env(max_memory),
    }


def go_runtime_env(max_memory: int) -> dict[str, str]:
    """Go's garbage collector tuned for a short run: a render lives a fraction of a second.

    ``GOGC=200`` (the heap may grow to three times what is live before a collection, instead of
    twice) cut the CPU of the dev corpus's renders by about a tenth for a tenth more memory;
    ``GOGC=off`` saved more CPU but nearly doubled the largest render's memory, and a small
    ``GOMEMLIMIT`` with it makes a large render collect without end.  ``GOMEMLIMIT`` at half the
    address-space cap (``RLIMIT_AS``) makes a large render collect before it reaches the cap.
    """
    return {"GOGC": "200", "GOMEMLIMIT": str(max(64 * 1024 * 1024, max_memory // 2)), "GOMAXPROCS": "2"}


@functools.lru_cache(maxsize=1)
def isolation_prefix() -> tuple[str, ...]:
    """``unshare --user --net`` when it works here (util-linux, unprivileged user namespaces allowed), else ().

    In a new network namespace only a loopback interface exists, and it is down: Helm can reach nothing,
    not even a server on the host's 127.0.0.1.  Tried once per process with ``true``.
    """
    if os.environ.get("GUIDECHECK_HELM_NO_UNSHARE"):  # documented in docs/limits.md (a debugging switch)
        return ()
    unshare = shutil.which("unshare", path="/usr/bin:/bin:/usr/sbin:/sbin")
    if unshare is None:
        return ()
    prefix = (unshare, "--user", "--net", "--")
    try:
        ok = subprocess.run([*prefix, "true"], capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return ()
    return prefix if ok.returncode == 0 else ()


def _limit_memory(max_bytes: int):
    """The ``preexec_fn`` putting an address-space limit on the child (it runs between fork and exec)."""
    import resource

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))

    return apply


@dataclass
class RunResult:
    returncode: int
    stdout: bytes
    stderr: bytes
    problem: str | None = None  # why the run was stopped (timeout, output cap); None when it ran to its end


def run_limited(
    cmd: list[str], *, env: dict[str, str], cwd: str, timeout: float, max_stdout: int, max_memory: int
) -> RunResult:
    """Run ``cmd`` isolated (:func:`isolation_prefix`), with an address-space limit, reading its output as it comes.

    The child is killed the moment its output passes ``max_stdout`` bytes or ``timeout`` seconds pass; at
    most ``max_stdout`` + one read of output and :data:`MAX_STDERR` bytes of errors are ever held.
    """
    full = [*isolation_prefix(), *cmd]
    try:
        proc = subprocess.Popen(
            full,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            preexec_fn=_limit_memory(max_memory),  # only setrlimit runs between fork and exec
            start_new_session=True,
        )
    except OSError as exc:
        return RunResult(126, b"", b"", f"cannot run {cmd[0]}: {exc.strerror}")
    assert proc.stdout is not None and proc.stderr is not None
    out: list[bytes] = []
    err: list[bytes] = []
    n_out = n_err = 0
    problem = None
    deadline = time.monotonic() + timeout
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, "out")
    sel.register(proc.stderr, selectors.EVENT_READ, "err")
    try:
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                problem = f"helm template timed out after {timeout:g} s"
                break
            for key, _ in sel.select(min(left, 1.0)):
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                if key.data == "out":
                    n_out += len(chunk)
                    if n_out > max_stdout:
                        problem = "output cap"
                        break
                    out.append(chunk)
                elif n_err < MAX_STDERR:
                    err.append(chunk[: MAX_STDERR - n_err])
                    n_err += len(chunk)
            if problem:
                break
    finally:
        sel.close()
        if problem is not None:
            _kill(proc)
        try:
            rc = proc.wait(timeout=max(0.1, deadline - time.monotonic()) if problem is None else 10)
        except subprocess.TimeoutExpired:
            _kill(proc)
            rc = proc.wait()
            problem = problem or f"helm template timed out after {timeout:g} s"
        proc.stdout.close()
        proc.stderr.close()
    if problem == "output cap":
        return RunResult(125, b"", b"", problem)
    if problem is not None:
        return RunResult(124, b"", b"", problem)
    return RunResult(rc, b"".join(out), b"".join(err))


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        try:
            proc.kill()
        except OSError:
            pass


def _inside(path: str, root: str) -> bool:
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _copy_chart(src: str, dest: str, root: str, max_file: int | None = 8 * 1024 * 1024) -> list[tuple[str, str]]:
    """Copy a chart directory: regular files inside ``root`` only (the walk's rules); see :func:`_copy_files`."""
    w = walk(src)
    return _copy_files(src, w.inventory, dest, max_file)


def _copy_files(
    src: str,
    files: list[str],
    dest: str,
    max_file: int | None = None,
    *,
    links: dict[str, str] | None = None,
    link_root: str | None = None,
) -> list[tuple[str, str]]:
    """Copy ``files`` (relative to ``src``) into ``dest``; the files left out, as ``(relative path, why)``.

    Each file is opened from ``src`` without following any link (:func:`~guidecheck.loaders.fs.open_beneath`),
    must be a regular file, and is copied only up to ``max_file`` bytes: a larger one (a sparse file of a
    gigabyte included: its size is what it claims) is not copied, and neither is one that grows past the cap
    while being copied.  A file of ``links`` (a path through a symlink the walk found inside the scanned tree,
    :func:`~guidecheck.loaders.fs.linked_inventory`) is copied from the file it names, opened from
    ``link_root`` the same way: Helm reads a linked file's contents as the chart's own.
    """
    skipped: list[tuple[str, str]] = []
    src_real = os.path.realpath(src)
    link_real = os.path.realpath(link_root) if link_root else src_real
    for rel in files:
        d = os.path.join(dest, rel)
        try:
            if links and rel in links:
                fd = open_beneath(link_real, links[rel])
            else:
                fd = open_beneath(src_real, rel)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if not (st.st_mode & 0o170000 == 0o100000):
                continue
            if max_file is not None and st.st_size > max_file:
                skipped.append((rel, f"{st.st_size} bytes, over the limit of {max_file}"))
                continue
            os.makedirs(os.path.dirname(d), exist_ok=True)
            with open(fd, "rb", closefd=False) as fh, open(d, "wb") as out:
                copied = 0
                while True:
                    chunk = fh.read(1 << 20)
                    if not chunk:
                        break
                    copied += len(chunk)
                    if max_file is not None and copied > max_file:
                        break
                    out.write(chunk)
            if max_file is not None and copied > max_file:
                os.unlink(d)
                skipped.append((rel, f"grew past the limit of {max_file} bytes while being copied"))
        except OSError:
            continue
        finally:
            os.close(fd)
    return skipped
