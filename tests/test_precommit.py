"""The pre-commit hook, run by the real ``pre-commit`` against temporary git repositories.

The hook repository is built from the current working tree (src/, rules/,
fixtures/rules/, pyproject.toml, .pre-commit-hooks.yaml ...) and committed in a
temporary directory, so the test does not depend on the state of the
project's own git history.  pre-commit then pip-installs guidecheck from that
repository into its own environment (dependencies come from the package
index): this takes most of the test's time, about a minute, once per session
(PRE_COMMIT_HOME is shared by the session).  Deselect with ``-k "not precommit"``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT

PRE_COMMIT = Path(sys.executable).parent / "pre-commit"
HOOK_FILES = ("src", "rules", "fixtures/rules", "pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml")

pytestmark = [
    pytest.mark.skipif(not PRE_COMMIT.exists(), reason="pre-commit is not installed (pip install -e '.[test]')"),
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
]


def _env(pre_commit_home: Path) -> dict[str, str]:
    """A clean git and pre-commit environment: no user or system git config, no inherited GIT_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        {
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "guidecheck test",
            "GIT_AUTHOR_EMAIL": "test@guidecheck.invalid",
            "GIT_COMMITTER_NAME": "guidecheck test",
            "GIT_COMMITTER_EMAIL": "test@guidecheck.invalid",
            "PRE_COMMIT_HOME": str(pre_commit_home),
            "PRE_COMMIT_COLOR": "never",
            "NO_COLOR": "1",
        }
    )
    return env


def _run(args, cwd, env, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        errors="backslashreplace",
    )


def _git(cwd, env, *args) -> str:
    proc = _run(["git", *args], cwd, env)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc.stdout.strip()


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory):
    """A git repository holding guidecheck as it is in the working tree: (path, commit, env)."""
    base = tmp_path_factory.mktemp("precommit")
    env = _env(base / "pre-commit-home")
    repo = base / "guidecheck-hook"
    repo.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "_rules", "_fixtures", "*.egg-info")
    for name in HOOK_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=ignore)
        elif src.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / name)
    assert (repo / ".pre-commit-hooks.yaml").is_file()
    _git(repo, env, "init", "-q")
    _git(repo, env, "add", "-A")
    _git(repo, env, "commit", "-q", "-m", "guidecheck from the working tree")
    return repo, _git(repo, env, "rev-parse", "HEAD"), env


NON_COMPLIANT = """\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: cart
    spec:
      template:
        spec:
          containers:
            - name: cart
              image: registry.example.com/shop/cart:1.4.2-3f2c1ab
    """

COMPLIANT = """\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: cart
    spec:
      template:
        spec:
          containers:
            - name: cart
              image: registry.example.com/shop/cart:1.4.2-3f2c1ab
              resources:
                limits: {cpu: 500m, memory: 256Mi}
              livenessProbe:
                httpGet: {path: /healthz, port: http}
              readinessProbe:
                httpGet: {path: /ready, port: http}
    """

DOCKERFILE_BAD = 'FROM python:latest\nCOPY . /app\nCMD ["python", "/app/main.py"]\n'
DOCKERFILE_GOOD = textwrap.dedent("""\
    FROM alpine:3.20
    ARG VERSION=0.0.0
    ARG REVISION=unknown
    LABEL org.opencontainers.image.version=$VERSION org.opencontainers.image.revision=$REVISION
    COPY cart /usr/local/bin/cart
    ENTRYPOINT ["/usr/local/bin/cart"]
    """)


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def new_project(project: Path, hook_repo) -> tuple[Path, dict]:
    """A git repository whose .pre-commit-config.yaml uses the hook under test."""
    repo, rev, env = hook_repo
    project.mkdir()
    _git(project, env, "init", "-q")
    write(
        project,
        ".pre-commit-config.yaml",
        f"""\
        repos:
          - repo: {repo}
            rev: {rev}
            hooks:
              - id: guidecheck
        """,
    )
    return project, env


def test_precommit_hook_blocks_a_non_compliant_commit_and_passes_the_fix(hook_repo, tmp_path):
    project, env = new_project(tmp_path / "cart-service", hook_repo)
    # the rules this test is about; rules added later must not change its outcome
    write(project, ".guidecheck.yaml", "select: [GC001, GC002, GC30, GC403, GC405, GC406]\n")
    proc = _run([PRE_COMMIT, "install"], project, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    write(project, "k8s/deployment.yaml", NON_COMPLIANT)
    write(project, "Dockerfile", DOCKERFILE_BAD)
    write(project, "main.go", "package main\n\nfunc main() {}\n")  # not passed to the hook
    _git(project, env, "add", "-A")
    # the first commit installs the hook's environment (pip): minutes at most
    proc = _run(["git", "commit", "-m", "cart service"], project, env, timeout=900)
    out = proc.stdout + proc.stderr
    log = env["PRE_COMMIT_HOME"] + "/pre-commit.log"
    assert "An unexpected error has occurred" not in out, out + (Path(log).read_text() if os.path.exists(log) else "")
    assert proc.returncode != 0, out
    assert "guidecheck (deployment guideline)" in out and "Failed" in out, out
    assert "k8s/deployment.yaml:9:11: error GC403" in out, out
    assert "GC405" in out and "GC406" in out, out
    assert "Dockerfile:1:1: error GC301" in out and "Dockerfile:1:1: error GC304" in out, out
    assert "main.go" not in out
    assert _run(["git", "rev-parse", "--verify", "-q", "HEAD"], project, env).returncode != 0, "commit was made"

    # fix both files, and add a chart whose templates are Go templates (never parsed as YAML)
    write(project, "k8s/deployment.yaml", COMPLIANT)
    (project / "Dockerfile").write_text(DOCKERFILE_GOOD, encoding="utf-8")
    write(project, "chart/Chart.yaml", "apiVersion: v2\nname: cart\nversion: 1.4.2\n")
    write(project, "chart/templates/_helpers.tpl", '{{- define "cart.fullname" -}}{{ .Chart.Name }}{{- end }}\n')
    write(
        project,
        "chart/templates/deployment.yaml",
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ include "cart.fullname" . }}
        {{- if .Values.podAnnotations }}
          annotations: {{ toYaml .Values.podAnnotations | nindent 4 }}
        {{- end }}
        """,
    )
    _git(project, env, "add", "-A")
    proc = _run(["git", "commit", "-m", "cart service"], project, env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "guidecheck (deployment guideline)" in out and "Passed" in out, out
    assert _run(["git", "rev-parse", "--verify", "-q", "HEAD"], project, env).returncode == 0

    # a reasoned suppression comment lets an exception through
    text = (project / "k8s/deployment.yaml").read_text(encoding="utf-8")
    text += textwrap.indent(
        textwrap.dedent("""\
        # guidecheck: ignore=GC403,GC405,GC406 reason="log shipper sidecar, sized and probed by the platform"
        - name: shipper
          image: registry.example.com/platform/shipper:2.1.0-9ac0e11
        """),
        " " * 8,
    )
    (project / "k8s/deployment.yaml").write_text(text, encoding="utf-8")
    _git(project, env, "add", "-A")
    proc = _run(["git", "commit", "-m", "add the log shipper"], project, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    # only changed files are checked: a commit touching none of them skips the hook
    write(project, "main.go", "package main\n\nfunc main() { println(1) }\n")
    _git(project, env, "add", "-A")
    proc = _run(["git", "commit", "-m", "code only"], project, env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "(no files to check)Skipped" in out.replace(".", ""), out


def test_precommit_hook_honours_excludes_and_reports_parse_errors(hook_repo, tmp_path):
    project, env = new_project(tmp_path / "svc", hook_repo)
    write(project, ".guidecheck.yaml", "select: [GC001, GC403]\nexclude: [legacy/**]\n")
    env["GUIDECHECK_CONFIG"] = ".guidecheck.yaml"  # the developer trusts the repository's file (docs/ci-gate.md)
    write(project, "legacy/old.yaml", NON_COMPLIANT)
    write(project, "k8s/broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cart\n")
    _git(project, env, "add", "-A")
    proc = _run([PRE_COMMIT, "run"], project, env, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "k8s/broken.yaml:3" in out and "GC001" in out, out
    assert "legacy/old.yaml" not in out, out


# ------------------------------------------------------------ fast checks of the hook definition


def _hooks() -> list[dict]:
    from guidecheck.parsers.yaml import load_yaml

    [doc] = load_yaml((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    return doc.data


def _hook() -> dict:
    return _hooks()[0]


def test_hook_definition():
    default, strict = _hooks()
    assert (default["id"], strict["id"]) == ("guidecheck", "guidecheck-strict")
    assert default["entry"] == "guidecheck scan --helm-optional"
    assert strict["entry"] == "guidecheck scan"
    for hook in (default, strict):
        assert hook["language"] == "python"
        assert hook["pass_filenames"] is True
        assert "args" not in hook  # defaults: fix hints and the summary are shown
        assert hook["files"] == default["files"] and hook["types"] == default["types"]


# ------------------------------------------------------------ both hook ids, with and without Helm

CHART = {
    "chart/Chart.yaml": "apiVersion: v2\nname: cart\nversion: 1.4.2\n",
    "chart/values.yaml": "image: registry.example.com/shop/cart:1.4.2-3f2c1ab\n",
    "chart/templates/deployment.yaml": """\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .Release.Name }}
        spec:
          template:
            spec:
              containers:
                - name: cart
                  image: {{ .Values.image }}
        """,
}


def _path_without_helm(env: dict) -> str:
    """PATH with every directory that holds a helm left out."""
    return os.pathsep.join(
        d for d in env.get("PATH", "").split(os.pathsep) if d and not os.access(os.path.join(d, "helm"), os.X_OK)
    )


def test_both_hook_ids_with_and_without_helm(hook_repo, tmp_path):
    """guidecheck renders a chart when Helm is there and checks its files as they are otherwise (saying so);
    guidecheck-strict blocks the commit without Helm, as CI would (exit 3)."""
    repo, rev, env = hook_repo
    project, env = new_project(tmp_path / "cart", hook_repo)
    write(
        project,
        ".pre-commit-config.yaml",
        f"""\
        repos:
          - repo: {repo}
            rev: {rev}
            hooks:
              - id: guidecheck
              - id: guidecheck-strict
                stages: [manual]
        """,
    )
    write(project, ".guidecheck.yaml", "select: [GC001, GC401, GC403]\n")
    for rel, text in CHART.items():
        write(project, rel, text)
    _git(project, env, "add", "-A")
    no_helm = {**env, "PATH": _path_without_helm(env)}

    proc = _run([PRE_COMMIT, "run", "--verbose", "guidecheck"], project, no_helm, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "guidecheck: note: 1 Helm chart(s) checked as files, not rendered" in out, out

    proc = _run([PRE_COMMIT, "run", "--hook-stage", "manual", "guidecheck-strict"], project, no_helm, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "guidecheck (deployment guideline, strict)" in out and "Failed" in out, out
    assert "exit code: 3" in out and "Helm charts not rendered" in out, out

    helm = ROOT / ".tools" / "bin" / "helm"
    if not helm.exists():
        pytest.skip("helm is not installed (scripts/install-test-tools.sh installs it)")
    with_helm = {**env, "PATH": f"{helm.parent}{os.pathsep}{no_helm['PATH']}"}
    for hook in ("guidecheck", "guidecheck-strict"):
        proc = _run([PRE_COMMIT, "run", "--hook-stage", "manual", hook], project, with_helm, timeout=900)
        out = proc.stdout + proc.stderr
        # rendered: the template's container has no limits, found on the template's line
        assert proc.returncode == 1 and "chart/templates/deployment.yaml:9:" in out and "GC403" in out, out
        assert "not rendered" not in out


@pytest.mark.parametrize(
    "name",
    [
        "Dockerfile",
        "svc/Dockerfile",
        "Dockerfile.dev",
        "docker/Dockerfile-windows",
        "Containerfile",
        "build/api.Dockerfile",
        "tools/dev.dockerfile",
        "dockerfile",
        "k8s/deployment.yaml",
        "chart/values.yml",
        "dashboards/latency.json",
        ".guidecheck.yaml",
    ],
)
def test_hook_passes_every_file_guidecheck_reads(name):
    import re

    from guidecheck.loaders.fs import classify

    assert classify(name.rsplit("/", 1)[-1]) is not None
    assert re.search(_hook()["files"], name), name


@pytest.mark.parametrize("name", ["README.md", "main.go", "src/app.py", "Dockerfiles/notes.txt", "mydockerfile"])
def test_hook_skips_other_files(name):
    import re

    assert not re.search(_hook()["files"], name), name


def test_named_files_honour_exclude_and_skip_chart_templates(tmp_path, run_cli):
    """What the hook passes: single files, some excluded, some chart templates, some not ours."""
    write(tmp_path, ".guidecheck.yaml", "select: [GC001, GC403]\nexclude: [legacy/**, '*.generated.yaml']\n")
    write(tmp_path, "legacy/old.yaml", NON_COMPLIANT)
    write(tmp_path, "k8s/app.generated.yaml", NON_COMPLIANT)
    write(tmp_path, "chart/Chart.yaml", "apiVersion: v2\nname: cart\nversion: 1.0.0\n")
    write(tmp_path, "chart/templates/deployment.yaml", "{{- if .Values.enabled }}\nkind: Deployment\n{{- end }}\n")
    write(tmp_path, "k8s/app.yaml", NON_COMPLIANT)
    write(tmp_path, "README.md", "# cart\n")
    trusted = str(tmp_path / ".guidecheck.yaml")  # the repository's file, trusted (docs/ci-gate.md)
    proc = run_cli(
        "scan",
        "-q",
        "--config",
        trusted,
        "legacy/old.yaml",
        "k8s/app.generated.yaml",
        "chart/templates/deployment.yaml",
        "k8s/app.yaml",
        "README.md",
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [
        "k8s/app.yaml:9:11: error GC403 container 'cart' has no resources.limits.cpu and resources.limits.memory "
        "[Deployment/cart container cart, guideline 4.b]"
    ]
    # from a subdirectory, patterns stay relative to the configuration file's directory
    proc = run_cli("scan", "-q", "--config", trusted, "old.yaml", cwd=tmp_path / "legacy")
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout


def test_repository_scope_rules_run_on_directories_not_on_named_files(tmp_path, run_cli):
    """A Deployment whose HPA lives in another file: a directory scan sees both; a lone file would not.

    GC903 (scope: repository) must pass on the directory, fail when the HPA is missing, and not run
    at all when files are named one by one (pre-commit), where the HPA file is out of sight.
    """
    import json

    (tmp_path / "deploy.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
        "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
        "    spec:\n      containers:\n      - {name: web, image: 'web:1.0.0-abcdef1'}\n"
    )
    hpa = (
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\nspec:\n"
        "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n"
        "  minReplicas: 2\n  maxReplicas: 5\n  metrics:\n  - type: Resource\n"
        "    resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}\n"
    )

    def gc903(*paths):
        out = run_cli("scan", "--isolated", "--select", "GC903", "--format", "json", *paths, cwd=tmp_path)
        doc = json.loads(out.stdout)
        return [f["line"] for f in doc["findings"] if f["rule_id"] == "GC903"], [r["id"] for r in doc["rules"]]

    assert gc903(".") == ([1], ["GC903"])  # no HPA anywhere: the Deployment fails
    (tmp_path / "hpa.yaml").write_text(hpa)
    assert gc903(".") == ([], ["GC903"])  # the HPA in another file is found
    (tmp_path / "hpa.yaml").unlink()
    assert gc903("deploy.yaml") == ([], [])  # named file: the rule is not run (not a silent pass)
