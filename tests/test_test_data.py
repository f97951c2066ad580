"""Go's ``testdata/`` directories: the inputs of a project's tests, not scanned unless the configuration asks.

fluxcd/source-controller keeps charts with missing dependencies for its dependency tests, stackrox/kube-linter
deliberately broken manifests, linkerd2 golden renderings of its install: judged as the repository's own, they
were hundreds of findings on files nobody deploys, and an HPA in one project's testdata satisfied another's
Deployments. The report lists what it left out; a kustomization naming a file inside one still reads it.
"""

from __future__ import annotations

import json
import shutil

import jsonschema
import pytest

from test_kustomize import DEPLOY_NO_LIMITS as DEPLOY  # a Deployment without limits: GC403 fails it

from conftest import ROOT

KUBECTL = shutil.which("kubectl") or shutil.which("kustomize")


def _repo(tmp_path):
    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    (repo / "deploy" / "web.yaml").write_text(DEPLOY)
    golden = repo / "pkg" / "render" / "testdata"
    golden.mkdir(parents=True)
    (golden / "broken.yaml").write_text("a: [1,\n")
    (golden / "web.yaml").write_text(DEPLOY.replace("name: web\n", "name: golden\n", 1))
    chart = repo / "internal" / "testdata" / "charts" / "withdeps"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(
        "apiVersion: v2\nname: withdeps\nversion: 1.0.0\n"
        "dependencies:\n  - {name: grafana, version: '>=5.7.0', repository: https://grafana.github.io/helm-charts}\n"
    )
    return repo


def _scan(run_cli, *args, cwd):
    p = run_cli("scan", "-f", "json", "--select", "GC001,GC401,GC403", *args, cwd=cwd, timeout=120)
    assert p.returncode in (0, 1, 3), p.stderr
    return json.loads(p.stdout)


def test_testdata_is_not_scanned_and_the_report_says_so(run_cli, tmp_path):
    _repo(tmp_path)
    report = _scan(run_cli, "--isolated", "repo", cwd=tmp_path)
    assert sorted((f["rule_id"], f["path"]) for f in report["findings"]) == [("GC403", "repo/deploy/web.yaml")]
    assert report["not_scanned"] == ["repo/internal/testdata/", "repo/pkg/render/testdata/"]
    jsonschema.validate(report, json.loads((ROOT / "src/guidecheck/schemas/report.schema.json").read_text()))
    text = run_cli("scan", "--isolated", "--select", "GC403", "repo", cwd=tmp_path).stdout
    assert "test data not scanned (scan-test-data: true scans it): repo/internal/testdata/, repo/pkg/render/" in text


def test_scan_test_data_scans_it_like_any_directory(run_cli, tmp_path):
    _repo(tmp_path)
    (tmp_path / "gc.yaml").write_text("scan-test-data: true\n")
    report = _scan(run_cli, "--config", "gc.yaml", "repo", cwd=tmp_path)
    assert sorted((f["rule_id"], f["path"]) for f in report["findings"]) == [
        ("GC001", "repo/pkg/render/testdata/broken.yaml"),
        ("GC401", "repo/internal/testdata/charts/withdeps/Chart.yaml"),
        ("GC403", "repo/deploy/web.yaml"),
        ("GC403", "repo/pkg/render/testdata/web.yaml"),
    ]
    assert "not_scanned" not in report


def test_a_test_input_named_on_the_command_line_is_listed_not_read(run_cli, tmp_path):
    """pre-commit passes every changed file: a changed test input is left out as in a directory scan."""
    _repo(tmp_path)
    report = _scan(run_cli, "--isolated", "pkg/render/testdata/broken.yaml", "deploy/web.yaml", cwd=tmp_path / "repo")
    assert [(f["rule_id"], f["path"]) for f in report["findings"]] == [("GC403", "deploy/web.yaml")]
    assert report["not_scanned"] == ["pkg/render/testdata/broken.yaml"]


def test_a_repository_cannot_leave_out_what_the_organisation_scans(run_cli, tmp_path):
    repo = _repo(tmp_path)
    (repo / ".guidecheck.yaml").write_text("scan-test-data: false\n")
    org = tmp_path / "org.yaml"
    org.write_text("scan-test-data: true\n")
    p = run_cli("scan", "-f", "json", "--select", "GC001", "repo", cwd=tmp_path, env={"GUIDECHECK_CONFIG": str(org)})
    report = json.loads(p.stdout)
    assert [f["path"] for f in report["findings"]] == ["repo/pkg/render/testdata/broken.yaml"]
    assert report["gate"]["ignored_from_repository"] == ["scan-test-data"]


@pytest.mark.skipif(KUBECTL is None, reason="run scripts/install-test-tools.sh (real kubectl needed)")
def test_a_kustomization_naming_a_base_in_testdata_still_renders_it(run_cli, tmp_path):
    repo = tmp_path / "repo"
    base = repo / "testdata" / "base"
    base.mkdir(parents=True)
    (base / "web.yaml").write_text(DEPLOY)
    (base / "kustomization.yaml").write_text("resources:\n  - web.yaml\n")
    (repo / "prod").mkdir()
    (repo / "prod" / "kustomization.yaml").write_text("resources:\n  - ../testdata/base\n")
    report = _scan(run_cli, "--isolated", "repo", cwd=tmp_path)
    assert [(f["rule_id"], f["path"], f["units"]) for f in report["findings"]] == [
        ("GC403", "repo/testdata/base/web.yaml", ["repo/prod"])
    ]
