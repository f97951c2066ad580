"""The incremental cache (docs/cache.md): identical reports with and without it, what invalidates an entry,
concurrent runs, corrupt and planted entries, the size bound, symlinks, --no-cache and stdin.

Hits and misses are read from ``--verbose`` ("cache: N hits, M misses (layer hits/lookups, ...)"), never
timed.  Each run gets its own cache directory and HMAC key home under ``tmp_path``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from guidecheck import cache

from conftest import ROOT, SHARED, gc_bin

CORPUS = Path(os.environ.get("GUIDECHECK_CORPUS", SHARED / "corpus" / "dev"))
EPOCH = "1800000000"


def _env(tmp: Path, cache_dir: Path | None) -> dict[str, str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp / "xdg"), "SOURCE_DATE_EPOCH": EPOCH}
    env.pop("GUIDECHECK_NO_CACHE", None)
    if cache_dir is None:
        env.pop(cache.ENV_DIR, None)
    else:
        env[cache.ENV_DIR] = str(cache_dir)
    return env


def _scan(tmp: Path, target, cache_dir: Path | None, *extra: str, cwd=None, name="r.json", timeout=300):
    out = tmp / name
    proc = subprocess.run(
        [*gc_bin(), "scan", str(target), "--format", "json", "-o", str(out), "-v", *extra],
        capture_output=True,
        text=True,
        env=_env(tmp, cache_dir),
        cwd=cwd,
        timeout=timeout,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    report = out.read_bytes() if out.exists() else b""
    return proc, report


def _counts(stderr: str) -> dict[str, tuple[int, int]]:
    """{layer: (hits, lookups)} from the --verbose summary line."""
    m = re.search(r"cache: (\d+) hits, (\d+) misses(?: \(([^)]*)\))?", stderr)
    assert m, stderr
    return {la: (int(h), int(n)) for la, h, n in re.findall(r"(\w+) (\d+)/(\d+)", m.group(3) or "")}


@pytest.fixture
def service(tmp_path):
    """A service repository with a Helm chart, an OpenAPI document and a failing manifest."""
    svc = tmp_path / "svc"
    shutil.copytree(ROOT / "examples" / "compliant-service", svc)
    shutil.copytree(ROOT / "examples" / "noncompliant-service" / "k8s", svc / "k8s")
    return svc


def _entries(cache_dir: Path) -> list[Path]:
    return sorted(p for p in (cache_dir / cache.FORMAT).rglob("*") if p.is_file())


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the shared corpus is not at {CORPUS} (set GUIDECHECK_CORPUS)")
def test_the_dev_corpus_reports_are_identical_with_and_without_the_cache(tmp_path):
    cache_dir = tmp_path / "cache"
    cwd = CORPUS.parent.parent.parent  # as compare.sh: paths as given
    target = os.path.relpath(CORPUS, cwd)
    plain, without = _scan(tmp_path, target, None, "--no-cache", cwd=cwd, name="a.json", timeout=600)
    first, cold = _scan(tmp_path, target, cache_dir, cwd=cwd, name="b.json", timeout=600)
    second, warm = _scan(tmp_path, target, cache_dir, cwd=cwd, name="c.json", timeout=600)
    assert without and without == cold == warm
    assert plain.returncode == first.returncode == second.returncode
    cold_counts = _counts(first.stderr)
    assert cold_counts["scan"] == (0, 1) and all(h == 0 for h, _ in cold_counts.values())
    assert cold_counts["helm"][1] > 0 and cold_counts["openapi"][1] > 0
    assert _counts(second.stderr) == {"scan": (1, 1)}  # nothing loaded, rendered or validated again
    assert not (CORPUS / cache.DEFAULT_DIR).exists()


def _inproc(service: Path, store: cache.Store | None, select=None):
    """An in-process scan of ``service`` through the runner (as the CLI), its findings as comparable tuples."""
    import datetime as dt

    from guidecheck import runner

    prep = runner.prepare(str(service), select=select or ())
    now = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    result = runner.scan(
        [str(service)],
        prep.config,
        prep.rules,
        prep.checks,
        options=runner.scan_options(prep.config),
        now=now,
        cache=store,
    )
    return sorted((f.rule_id, f.path, f.line, f.column, f.message, str(f.extra)) for f in result.findings)


def _store(tmp_path: Path, bucket: str = "b", secret: bytes = b"k" * 32) -> cache.Store:
    return cache.Store(str(tmp_path / "cache"), secret, bucket)


def test_a_changed_input_misses_and_results_follow_it(tmp_path, service, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plain = _inproc(service, None)
    s1 = _store(tmp_path)
    assert _inproc(service, s1) == plain and s1.misses == {"scan": 1, "helm": 1, "openapi": 1}
    s2 = _store(tmp_path)
    assert _inproc(service, s2) == plain and s2.hits == {"scan": 1} and not s2.misses
    readme = service / "README.md"
    readme.write_text(readme.read_text() + "\n")  # changes no finding, but is an input: the scan runs again
    s3 = _store(tmp_path)
    assert _inproc(service, s3) == plain
    assert s3.misses == {"scan": 1} and s3.hits == {"helm": 1, "openapi": 1}  # unchanged chart and document
    (service / "k8s" / "extra.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: extra\nspec:\n  containers:\n    - name: c\n"
        "      image: nginx:latest\n",
        encoding="utf-8",
    )
    s4 = _store(tmp_path)
    changed = _inproc(service, s4)
    assert s4.misses["scan"] == 1 and changed == _inproc(service, None)
    assert {f[1] for f in changed} - {f[1] for f in plain} == {f"{service}/k8s/extra.yaml"}
    (service / ".guidecheck.yaml").write_text("ignore: [GC306]\n", encoding="utf-8")  # the configuration
    s5 = _store(tmp_path)
    assert _inproc(service, s5) == _inproc(service, None) and s5.misses["scan"] == 1
    s6 = _store(tmp_path)
    _inproc(service, s6, select=["GC3"])  # a command-line option
    assert s6.misses["scan"] == 1


def test_another_version_or_catalogue_is_a_miss(tmp_path, service):
    from guidecheck import runner

    prep = runner.prepare(str(service))
    store = _store(tmp_path, "bucket-a")
    first = runner.scan([str(service)], prep.config, prep.rules, prep.checks, cache=store)
    runner.scan([str(service)], prep.config, prep.rules, prep.checks, cache=store)
    assert store.hits["scan"] == 1 and store.misses["scan"] == 1
    upgraded = _store(tmp_path, "bucket-b")  # another version, code or Python: another bucket
    runner.scan([str(service)], prep.config, prep.rules, prep.checks, cache=upgraded)
    assert upgraded.hits["scan"] == 0 and upgraded.misses["scan"] == 1
    fewer = [r for r in prep.rules if r.id != "GC306"]  # another catalogue
    result = runner.scan([str(service)], prep.config, fewer, prep.checks, cache=store)
    assert store.hits["scan"] == 1 and store.misses["scan"] == 2
    assert {f.rule_id for f in result.findings} == {f.rule_id for f in first.findings} - {"GC306"}
    assert cache.code_identity() == cache.code_identity() != ""


def test_no_cache_writes_nothing_and_stdin_is_never_cached(tmp_path, service):
    cache_dir = tmp_path / "cache"
    _scan(tmp_path, service, cache_dir, "--no-cache")
    assert not cache_dir.exists()
    manifest = next((service / "k8s").iterdir()).read_text()
    proc = subprocess.run(
        [*gc_bin(), "scan", "-", "-v"], input=manifest, capture_output=True, text=True, env=_env(tmp_path, cache_dir)
    )
    assert proc.returncode in (0, 1) and not cache_dir.exists()
    assert "cache:" not in proc.stderr


def test_the_default_directory_is_the_users_tagged_and_never_in_the_tree(tmp_path, service):
    (service / "build-cache").mkdir()
    cache.Store(str(service / "build-cache"), b"k" * 32, "b").put("layer", "ab" * 32, 1)  # another name, tagged
    (service / cache.DEFAULT_DIR).mkdir()  # one put in the tree by hand (--cache-dir .guidecheck_cache)
    (service / cache.DEFAULT_DIR / "junk.yaml").write_text("kind: [\n")
    first, report1 = _scan(tmp_path, service, None, name="1.json")
    default = tmp_path / "xdg" / "guidecheck" / "scans"  # $XDG_CACHE_HOME/guidecheck/scans
    assert (default / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (default / ".gitignore").read_text().splitlines()[-1] == "*"
    assert sorted(p.name for p in (service / cache.DEFAULT_DIR).iterdir()) == ["junk.yaml"]  # nothing written there
    second, report2 = _scan(tmp_path, service, None, name="2.json")
    assert report1 == report2 and _counts(second.stderr) == {"scan": (1, 1)}
    assert b"build-cache" not in report1 and b"guidecheck_cache" not in report1


def test_concurrent_runs_both_succeed_with_identical_reports(tmp_path, service):
    cache_dir = tmp_path / "cache"
    procs = []
    for i in range(2):
        out = tmp_path / f"p{i}.json"
        procs.append(
            (
                subprocess.Popen(
                    [*gc_bin(), "scan", str(service), "--format", "json", "-o", str(out), "-v"],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=_env(tmp_path, cache_dir),
                ),
                out,
            )
        )
    codes = []
    for proc, _ in procs:
        _, err = proc.communicate(timeout=300)
        assert "Traceback" not in err
        codes.append(proc.returncode)
    reports = [out.read_bytes() for _, out in procs]
    assert codes[0] == codes[1] == 1 and reports[0] == reports[1]
    assert not [p for p in _entries(cache_dir) if p.name.startswith(".tmp-")]  # no half-written entry left
    third, report = _scan(tmp_path, service, cache_dir)
    assert report == reports[0] and _counts(third.stderr) == {"scan": (1, 1)}


def test_corrupt_and_planted_entries_are_misses(tmp_path, service, monkeypatch):
    import pickle

    from guidecheck.model import ScanResult

    monkeypatch.chdir(tmp_path)
    plain = _inproc(service, _store(tmp_path))
    entries = _entries(tmp_path / "cache")
    assert len(entries) == 3
    for p in entries:  # truncated (a run killed while writing elsewhere, a full disk)
        p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
    truncated = _store(tmp_path)
    assert _inproc(service, truncated) == plain and not truncated.hits
    # planted: a pull request commits entries signed without this user's key, claiming a clean result
    for p in _entries(tmp_path / "cache"):
        layer, key = p.parent.parent.name, p.parent.name + p.name
        fake = {"reads": [], "secrets": [], "stderr": "", "result": ScanResult([], [], [])}
        payload = pickle.dumps(fake if layer == "scan" else [])
        mac = hmac.new(b"attacker" * 4, f"{layer}\0{key}\0".encode() + payload, hashlib.sha256).digest()
        p.write_bytes(cache.MAGIC + mac + payload)
    planted = _store(tmp_path)
    assert _inproc(service, planted) == plain and not planted.hits
    genuine = _store(tmp_path)  # the planted entries were overwritten
    assert _inproc(service, genuine) == plain and genuine.hits == {"scan": 1}
    # the genuine secret (the key file) is what signs: another user's key is another cache
    assert _inproc(service, _store(tmp_path, secret=b"z" * 32)) == plain


def test_the_size_bound_prunes_the_oldest_entries(tmp_path):
    store = cache.Store(str(tmp_path / "c"), b"k" * 32, "b", max_bytes=1024 * 1024)
    assert not store.put("big", "ab" * 32, b"x" * (300 * 1024))  # over a quarter of the bound: not written
    for i in range(8):
        assert store.put("layer", f"{i:02d}" * 32, b"x" * (200 * 1024))
    paths = sorted(_entries(tmp_path / "c"))
    for i, p in enumerate(sorted(paths, key=lambda p: p.parent.name)):
        os.utime(p, ns=(i * 10**9, i * 10**9))  # entry i used at time i
    assert store.prune() > 0
    left = _entries(tmp_path / "c")
    assert sum(p.stat().st_size for p in left) <= 1024 * 1024
    kept = {p.parent.name for p in left}
    assert "07" in kept and "00" not in kept  # the oldest went first
    assert store.get("layer", "07" * 32) == b"x" * (200 * 1024)
    assert store.get("layer", "00" * 32) is cache.MISS


def test_symlinks_are_never_followed(tmp_path, service):
    outside = tmp_path / "outside"
    outside.mkdir()
    link = service / cache.DEFAULT_DIR
    link.symlink_to(outside)  # planted by a pull request, and named by the CI job
    proc, report = _scan(tmp_path, service, link)
    assert report and list(outside.iterdir()) == []
    assert "cache: not used" in proc.stderr
    link.unlink()
    # a symlink further down (the bucket's directory) is not followed either
    store = cache.Store(str(tmp_path / "c"), b"k" * 32, "b")
    (tmp_path / "c" / cache.FORMAT).mkdir(parents=True)
    (tmp_path / "c" / cache.FORMAT / "b").symlink_to(outside)
    assert not store.put("layer", "ab" * 32, 1)
    assert store.get("layer", "ab" * 32) is cache.MISS
    assert list(outside.iterdir()) == []


def test_an_incomplete_scan_is_not_reused(tmp_path, service):
    """A scan that could not check everything (exit 3) runs again next time: its failure may have passed."""
    (service / ".circleci").mkdir()
    (service / ".circleci" / "config.yml").write_text("version: 2.1\njobs: {}\n")  # a CI system not read
    cache_dir = tmp_path / "cache"
    first, report1 = _scan(tmp_path, service, cache_dir, name="1.json")
    second, report2 = _scan(tmp_path, service, cache_dir, name="2.json")
    assert first.returncode == second.returncode == 3, first.stderr
    assert report1 == report2
    assert _counts(second.stderr)["scan"] == (0, 1)  # looked up, not found: nothing was stored
    assert _counts(second.stderr)["helm"][0] >= 1  # the render itself is still reused


def test_a_sandbox_digest_tells_where_its_links_point(tmp_path):
    """The kustomize sandbox remakes in-tree links: the same files behind another link are another build."""
    from guidecheck.cache import tree_digest

    def sandbox(name: str, target: str):
        root = tmp_path / name
        for d in ("a", "b", "overlay"):
            (root / d).mkdir(parents=True)
            (root / d / "k.yaml").write_text(f"{d}\n")
        (root / "overlay" / "base").symlink_to(f"../{target}", target_is_directory=True)
        (root / "overlay" / "f.yaml").symlink_to(f"../{target}/k.yaml")
        return str(root)

    assert tree_digest(sandbox("one", "a")) == tree_digest(sandbox("two", "a"))
    assert tree_digest(sandbox("three", "a")) != tree_digest(sandbox("four", "b"))
