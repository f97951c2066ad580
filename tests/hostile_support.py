"""Shared helpers of the hostile-input tests (test_hostile_*.py, test_yamlsafe.py).

The hostile inputs that can live in git are in ``fixtures/hostile/``; the rest
(FIFOs, symlinks, unreadable files, odd names, big files) are generated in
``tmp_path`` by the functions below, following ``make_corpus.py`` and
``gen_big.py`` of the project's hostile corpus (shared/hostile).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "fixtures" / "hostile"
SELECT = "GC001,GC002,GC403"

# A Pod whose container has no limits: GC403 at line 6 (the container's "- name:" line).
COMPANION = """apiVersion: v1
kind: Pod
metadata: {name: companion}
spec:
  containers:
    - name: app
      image: registry.example/app:1.4.2-3f2c1ab
"""
COMPANION_LINE = 6


def gc_bin() -> list[str]:
    exe = Path(sys.executable).parent / "guidecheck"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "guidecheck"]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    cpu: float  # user + system seconds of the guidecheck process (and of the processes it waited for)
    maxrss_mb: float  # peak resident memory of the guidecheck process

    def json(self) -> dict:
        return json.loads(self.stdout)

    def findings(self, rule: str | None = None) -> list[dict]:
        return [f for f in self.json()["findings"] if rule is None or f["rule_id"] == rule]


def run_gc(
    *args: str,
    cwd: str | os.PathLike | None = None,
    env: dict | None = None,
    timeout: float = 120,
    user: tuple[int, int] | None = None,
) -> Run:
    """Run the real console script and measure that one process (``os.wait4``).

    The measurement is taken by ``rusage_exec.py``, a small process between pytest
    and guidecheck: measured as pytest's own child, guidecheck's peak RSS would
    include pytest's (Linux keeps the high-water mark across ``execve``).

    ``user=(uid, gid)`` runs it through setpriv as that user (tests run as root,
    and root reads mode-000 files).

    No wall time is kept: on a loaded machine it measures the machine.  Bounds are
    on CPU time and peak memory; ``timeout`` is a generous hang guard only.
    """
    cmd = [*gc_bin(), *args]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user[0]}", f"--regid={user[1]}", "--clear-groups", "--", *cmd]
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        usage_file = Path(tmp) / "usage.json"
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("rusage_exec.py")), str(usage_file), *cmd],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
            raise AssertionError(f"guidecheck {' '.join(args)} did not finish in {timeout} s") from None
        usage = json.loads(usage_file.read_text(encoding="utf-8"))
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "backslashreplace")
        stderr = err.read().decode("utf-8", "backslashreplace")
    return Run(usage["returncode"], stdout, stderr, usage["cpu"], usage["maxrss_kb"] / 1024)


def scan_json(target: str | os.PathLike, *extra: str, **kw) -> Run:
    """``guidecheck scan TARGET -f json --isolated --select GC001,GC002,GC403``."""
    args = ["scan", str(target), "-f", "json"]
    if "--config" not in extra:
        args.append("--isolated")
    if "--select" not in extra:
        args += ["--select", SELECT]
    return run_gc(*args, *extra, **kw)


def case_dir(tmp_path: Path, *sources: Path, companion: bool = True) -> Path:
    """A repository holding copies of ``sources`` (and the GC403 companion)."""
    d = tmp_path / "repo"
    d.mkdir(exist_ok=True)
    for src in sources:
        shutil.copyfile(src, d / src.name)
    if companion:
        (d / "companion.yaml").write_text(COMPANION, encoding="utf-8")
    return d


def rel(finding: dict, base: Path) -> str:
    p = finding["path"]
    prefix = str(base).rstrip("/") + "/"
    return p[len(prefix) :] if p.startswith(prefix) else p


def assert_companion_reported(run: Run, base: Path) -> None:
    hits = [(rel(f, base), f["line"]) for f in run.findings("GC403") if not f["suppressed"]]
    assert ("companion.yaml", COMPANION_LINE) in hits, f"the other file was not checked: {hits}"


def no_traceback(run: Run) -> None:
    assert "Traceback" not in run.stderr, run.stderr
    assert "Traceback" not in run.stdout


def gc001(run: Run, base: Path, name: str) -> list[dict]:
    return [f for f in run.findings("GC001") if rel(f, base) == name]


def pwned_markers(since: float) -> list[str]:
    """Marker files /tmp/guidecheck_PWNED_* written after ``since`` (epoch seconds)."""
    out = []
    for p in Path("/tmp").glob("guidecheck_PWNED_*"):
        try:
            if p.lstat().st_mtime >= since - 1:
                out.append(str(p))
        except OSError:
            continue
    return out


# ----------------------------------------------------------- generators
# (after shared/hostile/make_corpus.py and gen_big.py)


def make_fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


def make_symlink_loop(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "ok.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n")
    for name, target in [("self", "."), ("parent", ".."), ("x", "y"), ("y", "x")]:
        os.symlink(target, d / name)
    return d


def make_symlink_escape(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, target in [("passwd.yaml", "/etc/passwd"), ("rootdir", "/"), ("values.yaml", "/proc/self/environ")]:
        os.symlink(target, d / name)
    return d


ODD_POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: n}\nspec: {hostPID: true, containers: [{name: a, image: x}]}\n"
ODD_NAMES = [
    "new\nline.yaml",
    "gh\n::error file=README.md,line=1::forged annotation.yaml",
    "ünïcödé-名前.yaml",
    "rtl-\u202egnp.yaml",
    "-rf.yaml",
    " leading-space.yaml",
    "semi;colon$(id).yaml",
]


def make_odd_names(d: Path) -> list[bytes]:
    d.mkdir(parents=True, exist_ok=True)
    names = []
    for fname in ODD_NAMES:
        (d / fname).write_text(ODD_POD, encoding="utf-8")
        names.append(os.fsencode(fname))
    raw = b"bad\xffutf8.yaml"
    with open(os.path.join(os.fsencode(d), raw), "wb") as f:
        f.write(ODD_POD.encode())
    names.append(raw)
    return names


BIG_DOC = (
    "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d{i}\n  labels: {{app: a{i}, tier: web}}\n"
    "spec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n        - name: c\n"
    "          image: nginx:latest\n          securityContext: {{privileged: {p}}}\n"
    "          resources: {{limits: {{cpu: 100m, memory: 64Mi}}}}\n"
)


def make_big_stream(path: Path, size: int = 50 * 1024 * 1024) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        i = n = 0
        while n < size:
            s = BIG_DOC.format(i=i, p="true" if i % 1000 == 0 else "false")
            f.write(s)
            n += len(s)
            i += 1
    return path


def make_long_line(path: Path, length: int = 10 * 1024 * 1024) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        f.write("key: " + "a" * length + "\n")
    return path


def make_many_files(d: Path, n: int = 20_000) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (d / f"m{i:05d}.yaml").write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: m{i}}}\n")
    return d


def can_setpriv() -> bool:
    return os.geteuid() == 0 and shutil.which("setpriv") is not None


def world_readable_tmpdir() -> Path:
    """A directory under /tmp that an unprivileged user can enter (pytest's tmp_path is 0700)."""
    d = Path(tempfile.mkdtemp(prefix="gc-hostile-", dir="/tmp"))
    d.chmod(0o755)
    return d
