"""Issue 13: seven holes found by attacking the scanner and the auditor, each driven through the real CLI.

1. Helm and an escaped ``$ref`` in values.schema.json (real helm, a loopback HTTP server that must stay unasked);
2. audit reads without bounds (tests/kube_server.py answering endlessly, slowly, in circles);
3. exponential OpenAPI validation (a CPU budget per document, exit 3);
4. Helm renders without a memory bound, buffered output, sparse files copied dense;
5. deeply nested JSON from the API server; a live object whose ``containers`` is not a list;
6. a directory swapped for a symlink during a scan;
7. a repository's ``.guidecheck.yaml`` loosening the gate.

And the issue's "Also": an unreadable file named on the command line, a dump that does not parse,
secrets of values files in Helm's messages.  CPU time and peak memory are bounded through ``Run.cpu``
and ``Run.maxrss_mb`` (tests/hostile_support.py), never wall time; ``timeout=`` is a hang guard.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import textwrap
import threading
from pathlib import Path

import pytest

from hostile_support import no_traceback, run_gc
from kube_server import KubeServer

HELM = shutil.which("helm")
needs_helm = pytest.mark.skipif(HELM is None, reason="run scripts/install-test-tools.sh (real helm needed)")
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {a: b}\n"


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip("\n") if "\n" in text else text)
    return root


def chart(root: Path, template: str, extra: dict[str, str] | None = None) -> Path:
    return write(
        root,
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
            "chart/values.yaml": "replicas: 1\n",
            "chart/templates/cm.yaml": template,
            **(extra or {}),
        },
    )


def gc401(run) -> list[dict]:
    return [f for f in run.json()["findings"] if f["rule_id"] == "GC401"]


# ------------------------------------------------------------------ 1. Helm and escaped $ref


class _Recorder(http.server.BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # TCP_NODELAY: no 40 ms wait for a delayed ACK

    hits: list[str] = []

    def do_GET(self):
        _Recorder.hits.append(self.path)
        body = b'{"type": "object"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def loopback_server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


@needs_helm
def test_escaped_schema_ref_is_neither_fetched_nor_read(tmp_path, loopback_server):
    _Recorder.hits.clear()
    outside = tmp_path / "outside.json"
    outside.write_text('{"type": "object", "properties": {"replicas": {"type": "string"}}}')
    # "\u0024ref" is "$ref" to a JSON parser: the text never contains "$ref"
    schema = (
        '{"type": "object",\n "properties": {\n'
        f'  "a": {{"\\u0024ref": "http://127.0.0.1:{loopback_server}/schema.json"}},\n'
        f'  "b": {{"$r\\u0065f": "file://{outside}"}}\n'
        " }\n}\n"
    )
    repo = chart(tmp_path / "repo", CONFIGMAP, {"chart/values.schema.json": schema})
    r = run_gc("scan", "--isolated", "-f", "json", "--select", "GC401", str(repo), cwd=tmp_path)
    no_traceback(r)
    assert _Recorder.hits == [], "helm fetched the schema reference"
    found = sorted((f["line"], f["message"]) for f in gc401(r) if "values.schema.json" in f["message"])
    assert [line for line, _ in found] == [3, 4], found
    assert all("outside the schema: not followed" in m for _, m in found), found
    # rendered without schema validation: the outside file (which would fail "replicas: 1") was not read
    assert "specifications of the schema" not in r.stdout


@needs_helm
def test_many_references_to_one_outside_document_are_one_finding(tmp_path):
    """nginx-ingress's values.schema.json refers to 68 definitions of one _definitions.json URL: one fix (vendoring
    the definitions under $defs) removes them all, so it is one finding at the first, with the count."""
    url = "https://raw.githubusercontent.com/example/schemas/master/v1.30.0/_definitions.json"
    props = ",\n".join(
        f'  "p{i}": {{"$ref": "{url}#/definitions/io.k8s.api.core.v1.{kind}"}}'
        for i, kind in enumerate(("Volume", "Container", "EnvVar"))
    )
    schema = '{"type": "object",\n "properties": {\n' + props + ',\n  "q": {"$ref": "other.json"}\n }\n}\n'
    repo = chart(tmp_path / "repo", CONFIGMAP, {"chart/values.schema.json": schema})
    r = run_gc("scan", "--isolated", "-f", "json", "--select", "GC401", str(repo), cwd=tmp_path)
    no_traceback(r)
    found = sorted((f["line"], f["message"]) for f in gc401(r) if "values.schema.json" in f["message"])
    assert [line for line, _ in found] == [3, 6], found
    assert f"refers to '{url}' outside the schema 3 times (first '" in found[0][1], found[0][1]
    assert "refers to 'other.json' outside the schema:" in found[1][1], found[1][1]


@needs_helm
def test_helm_has_no_network_at_all():
    from guidecheck.loaders.helm.sandbox import isolation_prefix, run_limited

    if not isolation_prefix():
        pytest.skip("unshare --user --net is not permitted here (docs/limits.md)")
    probe = "import socket; socket.create_connection(('127.0.0.1', 9), 1)"
    r = run_limited(
        [shutil.which("python3") or "python3", "-c", probe],
        env={"PATH": "/usr/bin:/bin"},
        cwd="/",
        timeout=20,
        max_stdout=1000,
        max_memory=1 << 30,
    )
    assert r.returncode != 0 and b"Network is unreachable" in r.stderr, r


# ------------------------------------------------------------------ 4. Helm's memory, output and chart copies


@needs_helm
def test_helm_memory_is_bounded(tmp_path):
    repo = chart(tmp_path / "repo", "{{ range until 2000000000 }}x{{ end }}\n")
    (repo / "cfg.yaml").write_text("helm:\n  max-memory-bytes: 1073741824\n")
    r = run_gc("scan", "--config", str(repo / "cfg.yaml"), "-f", "json", "--select", "GC401", str(repo / "chart"))
    no_traceback(r)
    assert r.returncode == 1, r.stderr
    [f] = gc401(r)
    assert "helm ran out of memory" in f["message"] and "helm.max-memory-bytes" in f["message"], f["message"]
    assert r.cpu < 20


@needs_helm
def test_helm_output_is_cut_while_it_is_read(tmp_path):
    repo = chart(
        tmp_path / "repo", '{{ range until 5000 }}\n---\nkind: ConfigMap\nmetadata: {name: "c{{ . }}"}\n{{ end }}\n'
    )
    (repo / "cfg.yaml").write_text("limits:\n  max-file-bytes: 1024\n")
    r = run_gc("scan", "--config", str(repo / "cfg.yaml"), "-f", "json", "--select", "GC401", str(repo / "chart"))
    no_traceback(r)
    [f] = gc401(r)
    assert "more than the 8.2 kB guidecheck reads" in f["message"] and "helm was stopped there" in f["message"]


@needs_helm
def test_huge_sparse_chart_file_is_not_copied(tmp_path):
    repo = chart(tmp_path / "repo", CONFIGMAP)
    with open(repo / "chart" / "files.bin", "wb") as fh:
        fh.truncate(300 * 1024 * 1024)  # 300 MB that take no disk
    r = run_gc("scan", "--isolated", "-f", "json", "--select", "GC401,GC001", str(repo / "chart"))
    no_traceback(r)
    msgs = [f["message"] for f in gc401(r)]
    assert any(m.startswith("files.bin is not copied into the render sandbox: 314572800 bytes") for m in msgs), msgs
    assert r.maxrss_mb < 400


# ------------------------------------------------------------------ 2 and 5. the audit against a hostile server


def _audit(srv: KubeServer, tmp_path: Path, *extra: str, settings: str = "") -> object:
    cfg = tmp_path / "audit.yaml"
    cfg.write_text("settings:\n  audit-resources: [deployments.apps]\n" + settings)
    return run_gc(
        "audit",
        "--kubeconfig",
        srv.kubeconfig,
        "--config",
        str(cfg),
        "--no-progress",
        "-f",
        "json",
        "--select",
        "GC004,GC001,GC405",
        *extra,
        timeout=60,
    )


def _gaps(run) -> list[str]:
    return [f["message"] for f in run.json()["findings"] if f["rule_id"] == "GC004"]


@pytest.mark.parametrize(
    ("how", "extra", "settings", "expect"),
    [
        ("endless", (), "  audit-max-response-bytes: 1048576\n", "response too large"),
        ("trickle", ("--timeout", "3"), "", "response too slow"),
        ("same-continue", ("--timeout", "5"), "", "list never ends"),
        ("repeat-uids", (), "", "list repeats objects"),
        ("deep", (), "", "nesting too deep"),
        ("huge", (), "  audit-max-list-objects: 100\n", "list too long"),
    ],
)
def test_hostile_api_server_answers_are_gaps(tmp_path, how, extra, settings, expect):
    with KubeServer([], hostile={"deployments.apps": how}, trickle_interval=0.3) as srv:
        r = _audit(srv, tmp_path, *extra, settings=settings)
    no_traceback(r)
    assert r.returncode == 3, (r.returncode, r.stderr[-2000:])
    gaps = _gaps(r)
    assert any(expect in g for g in gaps), gaps
    assert r.maxrss_mb < 600 and r.cpu < 30
    names = [json.dumps(f["object"]) for f in r.json()["findings"] if f["rule_id"] == "GC405"]
    assert len(names) == len(set(names)), "an object reported twice"


def test_live_object_whose_containers_is_not_a_list_is_gc001(tmp_path):
    bad = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "odd", "namespace": "shop", "uid": "u-odd"},
        "spec": {"template": {"spec": {"containers": {"name": "app", "image": "app:1"}}}},
    }
    with KubeServer([bad]) as srv:
        r = _audit(srv, tmp_path)
    no_traceback(r)
    assert r.returncode == 1, r.stderr
    [f] = [f for f in r.json()["findings"] if f["rule_id"] == "GC001"]
    assert (
        f["path"] == "cluster/test/shop/Deployment/odd" and f["message"] == "containers must be a list, not a mapping"
    )


def test_dump_that_does_not_parse_is_incomplete(tmp_path):
    (tmp_path / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    (tmp_path / "broken.yaml").write_text("items: [\n")
    for name in ("deep.json", "broken.yaml"):
        r = run_gc("audit", "--isolated", "-f", "json", "--from-dump", str(tmp_path / name))
        no_traceback(r)
        assert r.returncode == 3, (name, r.returncode, r.stderr)
        assert any("could not be parsed" in i for i in r.json()["incomplete"]), r.json()["incomplete"]


# ------------------------------------------------------------------ 3. exponential OpenAPI validation


def test_exponential_openapi_document_is_incomplete_not_endless(tmp_path):
    schemas = {"S0": {"type": "object", "properties": {"a": {"type": "string"}}}}
    for i in range(1, 17):
        ref = {"$ref": f"#/components/schemas/S{i - 1}"}
        schemas[f"S{i}"] = {"allOf": [ref, ref]}
    doc = {"openapi": "3.0.3", "info": {"title": "x", "version": "1"}, "paths": {}, "components": {"schemas": schemas}}
    write(tmp_path / "repo", {"api/openapi.json": json.dumps(doc, indent=1)})
    write(tmp_path / "repo", {"other/openapi.yaml": "openapi: 3.0.3\ninfo: {title: svc}\npaths: {}\n"})
    (tmp_path / "cfg.yaml").write_text("settings:\n  openapi-validation-seconds: 1\n")
    r = run_gc(
        "scan", "--config", str(tmp_path / "cfg.yaml"), "-f", "json", "--select", "GC902", str(tmp_path / "repo")
    )
    no_traceback(r)
    assert r.returncode == 3, r.stderr
    by_path = {(f["path"].rsplit("repo/", 1)[-1], f["line"]): f["message"] for f in r.json()["findings"]}
    assert by_path[("api/openapi.json", 2)].startswith("not validated: openapi-spec-validator used more than 1 s")
    assert any(p == "other/openapi.yaml" for p, _ in by_path), by_path  # the other document is still checked
    assert r.cpu < 15


# ------------------------------------------------------------------ 6. a directory swapped for a symlink


def test_read_never_follows_a_directory_swapped_for_a_symlink(tmp_path):
    from guidecheck.loaders.fs import ReadError, read_text, walk

    root = tmp_path / "repo"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.yaml").write_text(CONFIGMAP)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "a.yaml").write_text("stolen: OUTSIDE-CANARY\n")
    w = walk(str(root))
    [f] = w.files
    shutil.rmtree(root / "sub")
    (root / "sub").symlink_to(tmp_path / "outside")  # the swap, after the walk and before the read
    with pytest.raises(ReadError) as exc:
        read_text(f.abspath, 1 << 20, root=w.root)
    assert "symlink" in exc.value.error.message


def test_scan_racing_a_directory_swap_never_reads_outside(tmp_path):
    root = tmp_path / "repo"
    (root / "sub").mkdir(parents=True)
    for i in range(40):
        (root / "sub" / f"f{i}.yaml").write_text(CONFIGMAP)
    (tmp_path / "outside").mkdir()
    for i in range(40):
        (tmp_path / "outside" / f"f{i}.yaml").write_text("OUTSIDE-CANARY: [\n")
    stop = threading.Event()

    def flip():
        real, link, tmp = root / "sub", root / "sub-real", root / "sub-tmp"
        os.rename(real, link)
        while not stop.is_set():
            os.symlink(tmp_path / "outside", tmp)
            os.rename(tmp, real)  # sub -> outside
            os.unlink(real)
            os.symlink(link.name, tmp)
            os.rename(tmp, real)  # sub -> sub-real (inside)
            os.unlink(real)
            os.rename(link, real)
            os.rename(real, link)
        if not real.exists():
            os.rename(link, real)

    t = threading.Thread(target=flip, daemon=True)
    t.start()
    try:
        for _ in range(4):
            r = run_gc("scan", "--isolated", "-f", "json", "--select", "GC001", str(root), timeout=60)
            no_traceback(r)
            assert "OUTSIDE-CANARY" not in r.stdout
            assert all("OUTSIDE" not in f["message"] for f in r.json()["findings"])
    finally:
        stop.set()
        t.join(10)


# ------------------------------------------------------------------ 7. the repository's configuration


def _repo_with_config(tmp_path: Path, config: str) -> Path:
    return write(
        tmp_path / "repo",
        {
            ".guidecheck.yaml": config,
            "k8s/pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - {name: a, image: a:1}\n",
        },
    )


def test_repository_config_cannot_loosen_the_gate(tmp_path):
    repo = _repo_with_config(tmp_path, "ignore: [GC]\nexclude: ['k8s/**']\nfail-on: never\nseverity: {GC403: info}\n")
    r = run_gc("scan", "-f", "json", "--select", "GC403", str(repo))
    assert r.returncode == 1, r.stderr
    rep = r.json()
    assert [f["rule_id"] for f in rep["findings"]] == ["GC403"] and rep["findings"][0]["severity"] == "error"
    assert rep["gate"]["repository_trust"] == "tighten-only"
    assert rep["gate"]["ignored_from_repository"] == ["exclude", "fail-on", "ignore", "severity.GC403"]
    assert "ignored, as it would loosen the gate" in r.stderr
    text = run_gc("scan", "--select", "GC403", str(repo))
    assert "ignored from the repository configuration: exclude, fail-on, ignore, severity.GC403" in text.stdout


def test_repository_config_may_tighten(tmp_path):
    repo = _repo_with_config(tmp_path, "fail-on: warning\nseverity: {GC403: error}\ninline-suppressions: false\n")
    r = run_gc("scan", "-f", "json", "--select", "GC403", str(repo))
    rep = r.json()
    assert rep["fail_on"] == "warning" and rep["gate"]["ignored_from_repository"] == []


def test_organisation_may_trust_the_repository_and_the_report_says_so(tmp_path):
    repo = _repo_with_config(tmp_path, "ignore: [GC403]\n")
    org = tmp_path / "org.yaml"
    org.write_text("repository-config: trusted\n")
    env = dict(os.environ, GUIDECHECK_CONFIG=str(org))
    r = run_gc("scan", "-f", "json", str(repo / "k8s"), env=env)
    rep = r.json()
    assert "GC403" not in {f["rule_id"] for f in rep["findings"]}
    assert rep["gate"]["loosened_by_repository"] == ["ignore"]
    text = run_gc("scan", str(repo / "k8s"), env=env)
    assert "gate LOOSENED by the repository configuration (ignore)" in text.stdout
    org.write_text("repository-config: ignore\n")
    rep = run_gc("scan", "-f", "json", str(repo / "k8s"), env=env).json()
    assert "GC403" in {f["rule_id"] for f in rep["findings"]} and rep["gate"]["repository_config"] is None


def test_repository_config_paths_stay_inside_and_are_never_echoed(tmp_path):
    secret_dir = tmp_path / "elsewhere"
    write(secret_dir, {"rule.yaml": "id: OUTSIDE-CANARY\n"})
    repo = _repo_with_config(tmp_path, f"custom-rules: [../elsewhere, {secret_dir}]\n")
    r = run_gc("scan", str(repo))
    assert r.returncode == 2
    assert "'custom-rules' names a path outside the repository" in r.stderr and "OUTSIDE-CANARY" not in r.stderr


# ------------------------------------------------------------------ Also


def test_unreadable_file_named_on_the_command_line_is_gc001(tmp_path):
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run guidecheck as another user")
    f = tmp_path / "app.yaml"  # pytest's base directory is 0700: another user cannot even stat it
    f.write_text(CONFIGMAP)
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME="/nonexistent")
    r = run_gc("scan", "--isolated", "-f", "json", "--select", "GC001", str(f), user=(65534, 65534), cwd="/", env=env)
    assert r.returncode == 1, r.stderr
    [g] = r.json()["findings"]
    assert g["rule_id"] == "GC001" and g["message"] == "cannot stat: Permission denied", g


@needs_helm
def test_values_secrets_are_masked_in_helm_fail_messages(tmp_path):
    repo = chart(
        tmp_path / "repo",
        '{{ fail (printf "cannot connect with %s / %s" .Values.db.password (.Values.db.password | b64enc)) }}\n',
        {"chart/values.yaml": "db:\n  password: Sup3rS3cretValue\n"},
    )
    r = run_gc("scan", "--isolated", "-f", "json", "--select", "GC401", str(repo / "chart"))
    [f] = gc401(r)
    assert "cannot connect with" in f["message"]
    assert "Sup3rS3cretValue" not in r.stdout and "U3VwM3JTM2NyZXRWYWx1ZQ" not in r.stdout, f["message"]


def test_relative_setting_paths_belong_to_the_organisation_file(tmp_path):
    from guidecheck.config import layered

    org_dir = tmp_path / "org"
    org_dir.mkdir()
    (org_dir / "org.yaml").write_text("settings:\n  image-signature-keys: {'r.example/*': [keys/org.pub]}\n")
    repo = _repo_with_config(tmp_path, "fail-on: warning\n")
    cfg = layered(str(org_dir / "org.yaml"), str(repo / ".guidecheck.yaml"))
    # a repository cannot put its own keys/org.pub where the organisation's relative path would find it
    assert cfg.settings_base() == str(org_dir) and cfg.path == str(repo / ".guidecheck.yaml")
