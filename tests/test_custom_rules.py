"""A team's own rules as YAML, without forking (custom-rules: in .guidecheck.yaml)."""

from __future__ import annotations

import json
import textwrap

RULE = """\
id: ACME001
title: Containers run as non-root and unprivileged
bullet: null
severity: error
targets: [k8s]
rationale: >
  ACME's platform policy: no container may run as root or privileged on shared clusters.
remediation: Set securityContext.runAsNonRoot to true and drop privileged.
declarative:
  for-each: container
  containers: all
  require: [securityContext.runAsNonRoot]
  forbid: [securityContext.privileged]
  message: "container '{container}' lacks {missing}{present}"
"""

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    spec:
      containers:
        - name: ok
          image: x:1
          securityContext: {runAsNonRoot: true, privileged: false}
        - name: root
          image: x:1
        - name: priv
          image: x:1
          securityContext: {runAsNonRoot: yes, privileged: on}
"""


def repo(tmp_path, rule=RULE, name="ACME001.yaml"):
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / name).write_text(textwrap.dedent(rule))
    (tmp_path / ".guidecheck.yaml").write_text("custom-rules: [policies]\n")
    (tmp_path / "deploy.yaml").write_text(DEPLOY)
    return tmp_path


def test_custom_declarative_rule_runs_with_lines(run_cli, tmp_path):
    repo(tmp_path)
    r = run_cli("scan", str(tmp_path), "--select", "ACME", "-f", "json")
    assert r.returncode == 1, r.stderr
    found = [(f["line"], f["container"], f["message"]) for f in json.loads(r.stdout)["findings"]]
    assert found == [
        (11, "root", "container 'root' lacks securityContext.runAsNonRoot"),
        (13, "priv", "container 'priv' lacks securityContext.privileged"),
    ]
    listed = run_cli("rules", "--config", str(tmp_path / ".guidecheck.yaml"))
    assert "ACME001" in listed.stdout
    assert "ACME001" not in run_cli("rules", "--isolated").stdout


def test_custom_rules_cannot_take_gc_ids_or_run_code(run_cli, tmp_path):
    repo(tmp_path, RULE.replace("ACME001", "GC999"), "GC999.yaml")
    r = run_cli("scan", str(tmp_path))
    assert r.returncode == 2 and "reserved" in r.stderr


def test_custom_rules_cannot_name_python_checks(run_cli, tmp_path):
    rule = RULE.split("declarative:", maxsplit=1)[0] + "check: guidecheck.checks.core:load_errors\n"
    repo(tmp_path, rule)
    r = run_cli("scan", str(tmp_path))
    assert r.returncode == 2 and "declarative" in r.stderr


def test_bad_message_placeholder_is_a_catalogue_error(run_cli, tmp_path):
    repo(tmp_path, RULE.replace("{present}", "{oops}"))
    r = run_cli("scan", str(tmp_path))
    assert r.returncode == 2 and "placeholder" in r.stderr


def test_missing_custom_rules_directory_is_config_error(run_cli, tmp_path):
    (tmp_path / ".guidecheck.yaml").write_text("custom-rules: [nowhere]\n")
    r = run_cli("scan", str(tmp_path))
    assert r.returncode == 2 and "not a directory" in r.stderr


def _findings(run_cli, tmp_path, *args):
    r = run_cli("scan", str(tmp_path), "-f", "json", *args)
    assert r.returncode in (0, 1), r.stderr
    return [f for f in json.loads(r.stdout)["findings"] if not f.get("suppressed")], r.stderr


def test_preview_rules_run_only_when_opted_in(run_cli, tmp_path):
    repo(tmp_path, RULE.replace("severity: error\n", "severity: error\nstatus: preview\n"))
    assert _findings(run_cli, tmp_path, "--select", "ACME")[0] == []  # a prefix does not opt in
    assert not [f for f in _findings(run_cli, tmp_path)[0] if f["rule_id"] == "ACME001"]  # nor the default one
    assert len(_findings(run_cli, tmp_path, "--select", "ACME001")[0]) == 2  # its full id does
    (tmp_path / ".guidecheck.yaml").write_text("custom-rules: [policies]\npreview: true\n")
    assert len(_findings(run_cli, tmp_path, "--select", "ACME")[0]) == 2  # and so does preview: true
    listed = run_cli("rules", "--config", str(tmp_path / ".guidecheck.yaml"))
    assert "Containers run as non-root and unprivileged (preview)" in listed.stdout


def test_deprecated_rules_run_and_warn_once(run_cli, tmp_path):
    repo(tmp_path, RULE.replace("severity: error\n", "severity: error\nstatus: deprecated\n"))
    found, stderr = _findings(run_cli, tmp_path, "--select", "ACME", "-f", "text", "-o", str(tmp_path / "out.txt"))
    assert len(found) == 2
    assert stderr.count("deprecated") == 1 and "ACME001" in stderr
    found, stderr = _findings(run_cli, tmp_path, "--ignore", "ACME001")
    assert "deprecated" not in stderr  # a rule that does not run does not warn
    listed = run_cli("rules", "--config", str(tmp_path / ".guidecheck.yaml"))
    assert "Containers run as non-root and unprivileged (deprecated)" in listed.stdout


def test_unsuppressible_rule_ignores_inline_suppressions(run_cli, tmp_path):
    repo(tmp_path)
    deploy = tmp_path / "deploy.yaml"
    deploy.write_text(DEPLOY.replace("- name: root", '- name: root  # guidecheck: ignore=ACME001 reason="legacy"'))
    assert [f["container"] for f in _findings(run_cli, tmp_path, "--select", "ACME")[0]] == ["priv"]
    (tmp_path / "policies" / "ACME001.yaml").write_text(RULE.replace("targets:", "suppressible: false\ntargets:"))
    assert [f["container"] for f in _findings(run_cli, tmp_path, "--select", "ACME")[0]] == ["root", "priv"]


def test_custom_rules_declare_no_settings_but_may_read_them(run_cli, tmp_path):
    repo(tmp_path, RULE.replace("targets:", "reads: [workload-kinds]\ntargets:"))
    assert len(_findings(run_cli, tmp_path, "--select", "ACME")[0]) == 2
    repo_rule = RULE.replace(
        "targets:",
        "settings:\n  acme-limit:\n    description: a limit of ACME's\n"
        "    type: {type: integer}\n    default: 1\n    merge: replace\ntargets:",
    )
    (tmp_path / "policies" / "ACME001.yaml").write_text(repo_rule)
    r = run_cli("scan", str(tmp_path))
    assert r.returncode == 2 and "declare no settings" in r.stderr
