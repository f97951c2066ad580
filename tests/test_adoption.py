"""The adoption story of a team: one baseline, written once, holding from any working directory.

``--update-baseline`` from the repository root; then the same tree scanned as ``.`` from the root,
as ``svc`` from its parent, by absolute path and as ``..`` from a subdirectory: the same findings
are accepted every time, a new violation in another file fails the gate, a fixed one is reported
as fixed, and findings that cannot be baselined (GC002) are never written to the file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT

EXAMPLE = ROOT / "examples" / "noncompliant-service"
NEW_VIOLATION = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker, namespace: shop}
spec:
  template:
    spec:
      containers:
        - name: worker
          image: registry.example.com/shop/worker:1.0.0-abcdef1
"""


@pytest.fixture
def svc(tmp_path: Path) -> Path:
    root = tmp_path / "work" / "svc"
    shutil.copytree(EXAMPLE, root)
    return root


def report(run_cli, cwd: Path, path: str, baseline: str, *extra: str) -> tuple[int, dict, str]:
    r = run_cli("scan", path, "--baseline", baseline, "-f", "json", "-f", "text", "-o", "/dev/stderr", *extra, cwd=cwd)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout), r.stderr


def accepted(doc: dict) -> set[tuple[str, str]]:
    return {
        (f["rule_id"], f["fingerprint"])
        for f in doc["findings"]
        if f["suppression_reason"] == "accepted in the baseline"
    }


def active(doc: dict) -> list[tuple[str, str]]:
    return sorted(
        (f["rule_id"], f["path"].rsplit("svc/", 1)[-1].removeprefix("../"))
        for f in doc["findings"]
        if not f["suppressed"]
    )


def test_one_baseline_from_three_working_directories(run_cli, svc):
    base = svc / ".guidecheck-baseline.json"
    r = run_cli("scan", ".", "--baseline", base.name, "--update-baseline", cwd=svc)
    assert r.returncode == 0, r.stderr
    entries = json.loads(base.read_text())["findings"]
    assert len(entries) > 20
    assert "GC002" not in {e["rule_id"] for e in entries}, "a suppression without a reason cannot be baselined"
    assert all(not e["path"].startswith(("/", "..", "svc/")) for e in entries), "paths are relative to the root"

    spellings = [
        (svc, ".", base.name),  # the repository root
        (svc.parent, "svc", "svc/" + base.name),  # its parent
        (svc / "k8s", str(svc), str(base)),  # an absolute path, from elsewhere
        (svc / "k8s", "..", "../" + base.name),  # a subdirectory
    ]
    seen = []
    for cwd, path, baseline in spellings:
        code, doc, _ = report(run_cli, cwd, path, baseline)
        assert code == 0, (path, active(doc))
        assert active(doc) == [("GC002", "k8s/deployment.yaml")], path  # reported, never baselined
        assert doc["baseline"]["matched"] == doc["baseline"]["entries"] == len(entries), path
        assert doc["baseline"]["fixed"] == [] and doc["summary"]["baseline_fixed"] == 0
        seen.append(accepted(doc))
    assert all(s == seen[0] for s in seen) and len(seen[0]) == len(entries)

    # a new violation in another file fails the gate, from every working directory
    (svc / "k8s" / "worker.yaml").write_text(NEW_VIOLATION)
    for cwd, path, baseline in spellings:
        code, doc, _ = report(run_cli, cwd, path, baseline)
        assert code == 1, path
        new = {p for rule, p in active(doc) if rule != "GC002"}
        assert new == {"k8s/worker.yaml"}, (path, new)
    (svc / "k8s" / "worker.yaml").unlink()

    # a fixed finding: the Dockerfile pinned and labelled; its entries are reported as fixed
    dockerfile = svc / "Dockerfile"
    before = {e["fingerprint"] for e in entries if e["path"] == "Dockerfile"}
    assert before
    dockerfile.write_text(
        "FROM alpine:3.20.3\nARG VERSION=0.0.0\nARG REVISION=unknown\n"
        "LABEL org.opencontainers.image.version=$VERSION org.opencontainers.image.revision=$REVISION\n"
        'COPY app /app\nUSER 10001\nENTRYPOINT ["/app"]\n'
    )
    for cwd, path, baseline in spellings[1:3]:
        code, doc, text = report(run_cli, cwd, path, baseline)
        assert code == 0, path
        fixed = doc["baseline"]["fixed"]
        assert {f["fingerprint"] for f in fixed} == before, path
        assert {f["path"] for f in fixed} == {"Dockerfile"}
        assert doc["summary"]["baseline_fixed"] == len(before)
        assert f"{len(before)} baseline entr" in text and "fixed (refresh it with --update-baseline)" in text


def test_files_named_one_by_one_match_the_directory_baseline(run_cli, svc):
    """pre-commit passes files relative to the repository root: they match what a scan of '.' wrote."""
    base = svc / ".guidecheck-baseline.json"
    assert run_cli("scan", ".", "--baseline", base.name, "--update-baseline", cwd=svc).returncode == 0
    code, doc, _ = report(run_cli, svc, "k8s/deployment.yaml", base.name, "Dockerfile")
    assert code == 0, active(doc)
    assert accepted(doc) and doc["baseline"]["matched"] == len(accepted(doc)) + 0
    # only what the scan looked at can be "fixed": entries of other files are out of sight, not fixed
    assert doc["baseline"]["fixed"] == []
    # from a subdirectory, with the baseline file's directory as the root
    code, doc2, _ = report(run_cli, svc / "k8s", "deployment.yaml", "../" + base.name)
    assert code == 0 and accepted(doc2) <= accepted(doc) and accepted(doc2)
