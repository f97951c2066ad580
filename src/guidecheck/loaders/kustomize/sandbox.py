"""The sandbox kustomize runs in: an environment without network, plugins or kubeconfig, and a capped child.

The child (``kubectl kustomize`` or ``kustomize build``) runs in its own session with:

* a wall-clock timeout (the whole process group is killed);
* an address-space cap (``RLIMIT_AS``; Go needs about 1 GiB of address space to start) and a
  soft Go heap limit (``GOMEMLIMIT``);
* an output cap: stdout is read as it streams and the child is killed past the cap, so a
  kustomization that expands without bound never fills guidecheck's memory;
* no network: proxies point to a closed local port, ``PATH`` holds no ``git``, no kubeconfig;
* no plugins: an empty ``KUSTOMIZE_PLUGIN_HOME``, and guidecheck never passes
  ``--enable-alpha-plugins``, ``--enable-exec``, ``--enable-helm`` or ``--network``;
* the load restrictor ``LoadRestrictionsRootOnly`` (no file outside each kustomization's directory),
  run on a copy holding only regular files of the scanned tree.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from dataclasses import dataclass

from guidecheck.loaders.helm.sandbox import go_runtime_env
from guidecheck.parsers.yaml import BIG_CRD, without_crd_schemas


@dataclass
class Caps:
    timeout: float = 60.0  # seconds of wall clock per kustomization
    memory: int = 2048 * 1024 * 1024  # bytes of address space
    output: int = 64 * 1024 * 1024  # bytes of rendered output read


@dataclass
class RunResult:
    rc: int
    out: bytes
    err: str
    problem: str | None = None  # a cap the child hit (timeout, memory, output): not a kustomize error


def sandbox_env(tmp: str, caps: Caps) -> dict[str, str]:
    empty = os.path.join(tmp, "empty-bin")
    plugins = os.path.join(tmp, "plugins")
    os.makedirs(empty, exist_ok=True)
    os.makedirs(plugins, exist_ok=True)
    closed = "http://127.0.0.1:9"
    return {
        "PATH": empty,  # no git, no helm, no shell for exec functions
        "HOME": tmp,
        "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": os.path.join(tmp, "config"),
        "XDG_CACHE_HOME": os.path.join(tmp, "cache"),
        "KUSTOMIZE_PLUGIN_HOME": plugins,
        "KUBECONFIG": os.path.join(tmp, "no-kubeconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "HTTP_PROXY": closed,
        "HTTPS_PROXY": closed,
        "http_proxy": closed,
        "https_proxy": closed,
        "ALL_PROXY": closed,
        "NO_PROXY": "",
        "no_proxy": "",
        **go_runtime_env(caps.memory),
    }


def _limits(memory: int):
    def apply() -> None:  # runs in the child between fork and exec
        import resource

        try:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        except (ValueError, OSError):
            pass
        try:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        except (ValueError, OSError):
            pass

    return apply


def run(cmd: list[str], *, env: dict[str, str], cwd: str, caps: Caps) -> RunResult:
    """Run the child under the caps; never raises for the child's own failures."""
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_limits(caps.memory),
        )
    except OSError as exc:
        return RunResult(126, b"", "", f"cannot run {cmd[0]}: {exc.strerror or exc}")
    out = bytearray()
    err = bytearray()
    over = threading.Event()

    def kill() -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass

    def read_out() -> None:
        assert proc.stdout is not None
        while True:
            chunk = proc.stdout.read1(65536)  # type: ignore[attr-defined]
            if not chunk:
                return
            if len(out) + len(chunk) > caps.output:
                over.set()
                kill()
                return
            out.extend(chunk)

    def read_err() -> None:
        assert proc.stderr is not None
        while True:
            chunk = proc.stderr.read1(65536)  # type: ignore[attr-defined]
            if not chunk:
                return
            if len(err) < 256 * 1024:
                err.extend(chunk[: 256 * 1024 - len(err)])

    readers = [threading.Thread(target=read_out, daemon=True), threading.Thread(target=read_err, daemon=True)]
    for t in readers:
        t.start()
    timed_out = False
    try:
        proc.wait(timeout=caps.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill()
        proc.wait()
    for t in readers:
        t.join(timeout=5)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    text = err.decode("utf-8", "replace")
    if timed_out:
        return RunResult(124, b"", text, f"timed out after {caps.timeout:g} s (kustomize.timeout)")
    if over.is_set():
        return RunResult(
            125,
            b"",
            text,
            f"the rendered output is more than the {_size(caps.output)} guidecheck reads (8 x limits.max-file-bytes)",
        )
    if proc.returncode != 0 and _MEMORY_EXHAUSTED.search(text):
        return RunResult(
            proc.returncode,
            b"",
            text,
            f"ran out of the {_size(caps.memory)} of memory it may use (kustomize.max-memory-mb)",
        )
    return RunResult(proc.returncode, bytes(out), text)


# how a child that hit the address-space cap says so: Go's runtime ("fatal error: runtime: out of
# memory", "failed to reserve page summary memory"), or ENOMEM's "Cannot allocate memory"
_MEMORY_EXHAUSTED = re.compile(r"out of memory|failed to reserve|cannot allocate", re.IGNORECASE)


def _size(n: int) -> str:
    if n >= 1024 * 1024 * 1024:
        return f"{n / 1024 / 1024 / 1024:.1f} GiB"
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def copy_files(src: str, files: list[str], dest: str, slim: frozenset[str] = frozenset()) -> list[str]:
    """Copy the walk's files of ``src`` (relative paths) to ``dest``: regular files only, never through a link.
    Each is an input of the scan (the incremental cache checks that the vendored ones have not changed).

    A file of ``slim`` (a resource file) is copied without the schemas of its large CustomResourceDefinitions
    (:func:`guidecheck.parsers.yaml.without_crd_schemas`): kustomize spends about a second of CPU per megabyte
    of CRD (kserve's overlays: 28 s), and guidecheck reads no CRD schema of its output. Returns the files so
    copied; the caller builds again with them whole when kustomize fails (a patch into a CRD's spec)."""
    import shutil

    from guidecheck.cache import note_read

    slimmed: list[str] = []
    for rel in files:
        s = os.path.join(src, rel)
        note_read(s)
        d = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        try:
            fd = os.open(s, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if st.st_mode & 0o170000 != 0o100000:
                continue
            with open(fd, "rb", closefd=False) as fh, open(d, "wb") as out:
                raw = fh.read(_SLIM_MAX_BYTES + 1) if rel in slim and st.st_size >= BIG_CRD else b""
                if len(raw) <= _SLIM_MAX_BYTES and (text := _slim_text(raw)) is not None:
                    out.write(text)
                    slimmed.append(rel)
                    continue
                fh.seek(0)
                shutil.copyfileobj(fh, out)
        finally:
            os.close(fd)
    return slimmed


_SLIM_MAX_BYTES = 64 * 1024 * 1024  # a file read whole to leave its CRD schemas out, at most (larger: copied as is)


def _slim_text(raw: bytes) -> bytes | None:
    """``raw`` without its large CRD schemas, or None when it holds none (or is no UTF-8 text)."""
    if b"CustomResourceDefinition" not in raw:
        return None

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    slim = without_crd_schemas(text)
    return None if slim is text else slim.encode("utf-8")


def link_files(links: list[tuple[str, str]], dest: str) -> None:
    """Make each ``(link, target)`` (relpaths of the scanned tree, the target inside it) a relative symlink in
    the copy ``dest``: it points to the copy's own file or directory, never back into the repository, and
    kustomize resolves it (and applies its load restrictor) as it would there."""
    for link, target in links:
        d = os.path.join(dest, link)
        if os.path.lexists(d):
            continue
        os.makedirs(os.path.dirname(d), exist_ok=True)
        rel = os.path.relpath(os.path.join(dest, target), os.path.dirname(d))
        try:
            os.symlink(rel, d)
        except OSError:
            continue
