"""CI pipeline loader (GitHub Actions, GitLab CI, Jenkinsfile) and the GC701-GC704 checks."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from guidecheck.config import Config, ConfigError, config_from_dict
from guidecheck.loaders import load
from guidecheck.parsers.ci.jenkins import scan_jenkinsfile

from conftest import SHARED, in_process_scan

CORPUS = SHARED / "corpus" / "dev"  # ../shared next to the project; the test is skipped without it


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def one_job(root: Path, steps: str) -> None:
    """.github/workflows/ci.yml run on push: one job ``a`` on ubuntu-latest, ``steps`` its list (line 6 on)."""
    head = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
    write(
        root, {".github/workflows/ci.yml": head + textwrap.indent(textwrap.dedent(steps).strip("\n") + "\n", " " * 6)}
    )


def project_of(root: Path, config: Config | None = None):
    loaded = load([str(root)], config or Config())
    projects = [t.data for t in loaded.targets if t.kind == "ci"]
    errors = sorted((t.path, e.line, e.message) for t in loaded.targets if t.kind == "file" for e in t.data.errors)
    return projects, errors


def scan(root: Path, rules: tuple[str, ...], config: Config | None = None):
    return in_process_scan([root], config, select=rules)


def rel(root: Path, path: str) -> str:
    return path[len(str(root)) + 1 :] if path.startswith(str(root) + "/") else path


# ---------------------------------------------------------------- GitHub Actions


def test_github_on_read_as_yaml11_true_and_push_tags_split(tmp_path):
    write(
        tmp_path,
        {
            ".github/workflows/ci.yml": """
        on:
          push:
            branches: [main]
            tags: ["v*"]
          workflow_dispatch:
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - run: echo hi
        """
        },
    )
    (p,), errors = project_of(tmp_path)
    assert errors == []
    job = p.jobs[0]
    assert sorted(t.event for t in job.triggers) == ["push", "tag", "workflow_dispatch"]
    assert (job.line, job.steps[0].line) == (7, 10)


def test_reusable_workflow_inlined_with_caller_triggers_inputs_and_lines(tmp_path):
    write(
        tmp_path,
        {
            ".github/workflows/release.yml": """
            on:
              push:
                tags: ["v*"]
            jobs:
              publish:
                uses: ./.github/workflows/build.yml
                with:
                  flavour: release
            """,
            ".github/workflows/canary.yml": """
            on: workflow_dispatch
            jobs:
              canary:
                uses: ./.github/workflows/build.yml
                with:
                  flavour: canary
            """,
            ".github/workflows/build.yml": """
            on:
              workflow_call:
                inputs:
                  flavour:
                    type: string
            jobs:
              image:
                runs-on: ubuntu-latest
                steps:
                  - run: make image FLAVOUR=${{ inputs.flavour }}
                  - if: ${{ inputs.flavour == 'canary' }}
                    run: echo canary only
            """,
        },
    )
    (p,), errors = project_of(tmp_path)
    assert errors == []
    inlined = {j.id: j for j in p.jobs if j.path.endswith("build.yml")}
    assert set(inlined) == {"canary.yml:canary/image", "release.yml:publish/image"}
    rel_job = inlined["release.yml:publish/image"]
    assert [t.event for t in rel_job.triggers] == ["tag"]
    assert [s.run for s in rel_job.steps] == ["make image FLAVOUR=release"]  # the canary-only step is dropped
    assert rel_job.steps[0].line == 10 and rel_job.steps[0].path.endswith(".github/workflows/build.yml")
    can_job = inlined["canary.yml:canary/image"]
    assert [t.event for t in can_job.triggers] == ["workflow_dispatch"]
    assert [s.run for s in can_job.steps] == ["make image FLAVOUR=canary", "echo canary only"]
    # the reusable workflow's own workflow_call trigger does not make it a separate pipeline
    assert not any(j.path.endswith("build.yml") and not j.id.count("/") for j in p.jobs)


def test_composite_actions_expanded_and_never_followed_outside(tmp_path):
    write(
        tmp_path,
        {
            "svc/.github/workflows/ci.yml": """
            on: push
            jobs:
              check:
                runs-on: ubuntu-latest
                steps:
                  - uses: ./.github/actions/scan
                    with:
                      target: src
                  - uses: ./.github/actions/missing
                  - uses: ./../elsewhere
            """,
            "svc/.github/actions/scan/action.yml": """
            name: scan
            runs:
              using: composite
              steps:
                - shell: bash
                  run: trivy fs ${{ inputs.target }}
            """,
            "elsewhere/action.yml": """
            runs:
              using: composite
              steps:
                - run: echo never read
            """,
        },
    )
    (p,), errors = project_of(tmp_path)
    assert errors == []
    steps = p.jobs[0].steps
    expanded = [s for s in steps if s.via]
    assert [(s.run, rel(tmp_path, s.path), s.line) for s in expanded] == [
        ("trivy fs src", "svc/.github/actions/scan/action.yml", 6)
    ]
    assert [s.unresolved for s in steps if s.uses and not s.via] == [
        None,
        "not in the scanned tree",
        "points outside the project; not followed",
    ]
    assert not any("never read" in (s.run or "") for s in steps)


def test_a_local_action_under_the_directory_a_checkout_put_the_repository_in(tmp_path):
    """kubetail's release-cli.yml checks the repository out with path: repo and then uses
    ./repo/.github/actions/setup-environment: the repository's own action, not a missing one. Another
    repository checked out there is not this one."""
    workflow = """
            on: push
            jobs:
              check:
                runs-on: ubuntu-latest
                steps:
                  - uses: actions/checkout@v4
                    with:
                      path: repo{other}
                  - uses: ./repo/.github/actions/scan
            """
    action = "runs:\n  using: composite\n  steps:\n    - shell: bash\n      run: trivy fs .\n"
    write(tmp_path, {".github/workflows/ci.yml": workflow.format(other=""), ".github/actions/scan/action.yml": action})
    (p,), _errors = project_of(tmp_path)
    assert [(s.run, s.unresolved) for s in p.jobs[0].steps if s.via or s.uses == "./repo/.github/actions/scan"] == [
        (None, None),
        ("trivy fs .", None),
    ]
    other = "\n                      repository: acme/tools"
    write(tmp_path, {".github/workflows/ci.yml": workflow.format(other=other)})
    (p,), _errors = project_of(tmp_path)
    assert [s.unresolved for s in p.jobs[0].steps if s.uses == "./repo/.github/actions/scan"] == [
        "not in the scanned tree"
    ]


def test_ill_typed_workflow_is_gc001_at_its_line(tmp_path):
    write(
        tmp_path,
        {
            ".github/workflows/ci.yml": """
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - run: echo ok
              - just a string
          b: not-a-job
          c:
            runs-on: ubuntu-latest
            needs: {x: 1}
            steps: []
        """
        },
    )
    result = scan(tmp_path, ("GC001",))
    got = sorted((rel(tmp_path, f.path), f.line, f.message) for f in result.findings)
    assert got == [
        (".github/workflows/ci.yml", 7, "job 'a': step 2 must be a mapping"),
        (".github/workflows/ci.yml", 8, "job 'b' must be a mapping"),
        (".github/workflows/ci.yml", 11, "job 'c': 'needs:' must be a job id or a list of them"),
    ]


def test_workflow_without_triggers_is_reported_and_never_runs(tmp_path):
    write(
        tmp_path,
        {
            ".github/workflows/ci.yml": """
        name: disabled
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - run: pytest
        """
        },
    )
    (p,), errors = project_of(tmp_path)
    assert [(e[1], e[2]) for e in errors] == [(1, "workflow has no 'on:' (its triggers)")]
    assert p.jobs == []


# ---------------------------------------------------------------- GitLab CI


def test_gitlab_includes_extends_default_reference_and_manual_rules(tmp_path):
    write(
        tmp_path,
        {
            ".gitlab-ci.yml": """
            include:
              - local: /ci/base.yml
              - 'ci/jobs/*.yml'
              - template: Jobs/SAST.gitlab-ci.yml
            default:
              before_script:
                - echo default
            stages: [test, deploy]
            deploy-prod:
              extends: .deploy
              variables:
                TARGET: prod
              environment:
                name: production
                deployment_tier: production
              rules:
                - if: $CI_COMMIT_TAG
                  when: manual
                - when: never
            """,
            "ci/base.yml": """
            .base:
              image: alpine:3.20
              variables:
                REGION: eu
                TARGET: none
            .deploy:
              extends: .base
              stage: deploy
              script:
                - !reference [.helpers, login]
                - helm upgrade --install app ./chart
            .helpers:
              login:
                - registry-login
            """,
            "ci/jobs/unit.yml": """
            unit:
              script: pytest
            """,
        },
    )
    (p,), errors = project_of(tmp_path)
    assert errors == []
    jobs = {j.id: j for j in p.jobs}
    assert set(jobs) == {"deploy-prod", "unit"}  # hidden jobs are templates only
    prod = jobs["deploy-prod"]
    assert [(s.run, rel(tmp_path, s.path), s.line) for s in prod.steps] == [
        ("echo default", ".gitlab-ci.yml", 7),
        ("registry-login", "ci/base.yml", 14),
        ("helm upgrade --install app ./chart", "ci/base.yml", 11),
    ]
    assert (prod.stage, prod.environment, prod.environment_tier) == ("deploy", "production", "production")
    assert prod.manual and prod.manual_why.startswith("rules: when: manual at ")
    assert [t.event for t in prod.triggers] == ["tag"]
    assert prod.images == ["alpine:3.20"]
    assert [(s.run, rel(tmp_path, s.path)) for s in jobs["unit"].steps] == [
        ("echo default", ".gitlab-ci.yml"),
        ("pytest", "ci/jobs/unit.yml"),
    ]
    assert [(i.kind, i.resolved != []) for i in p.files[0].includes] == [
        ("local", True),
        ("local", True),
        ("template", False),
    ]


def test_gitlab_rules_reference_whole_and_as_items(tmp_path):
    # rules: !reference [job, rules] (gitlab-runner's .gitlab/ci/test.gitlab-ci.yml) takes the named
    # job's rules; a reference as an item is spliced into the list; one to a job the pipeline does not
    # hold (a remote or component include) is left out
    write(
        tmp_path,
        {
            ".gitlab-ci.yml": """
            include:
              - component: ${CI_SERVER_FQDN}/components/sast/sast@3.4.0
            .rules:mr:
              rules:
                - if: '$CI_PROJECT_NAMESPACE !~ /^gitlab-org/'
                  when: never
                - if: $CI_PIPELINE_SOURCE == "merge_request_event"
            .rules:release:
              rules:
                - if: $CI_COMMIT_TAG
                  when: manual
            whole:
              script: make
              rules: !reference [.rules:mr, rules]
            items:
              script: make
              rules:
                - !reference [.rules:release, rules]
                - !reference [.from-a-component, rules]
                - if: $CI_PIPELINE_SOURCE == "schedule"
            remote-only:
              script: make
              rules: !reference [.from-a-component, rules]
            """
        },
    )
    (p,), errors = project_of(tmp_path)
    assert errors == []
    jobs = {j.id: j for j in p.jobs}
    assert [t.event for t in jobs["whole"].triggers] == ["merge_request"]
    assert not jobs["whole"].manual
    assert [t.event for t in jobs["items"].triggers] == ["schedule", "tag"]
    assert not jobs["items"].manual  # the schedule rule runs it automatically
    # read as a job without rules: it runs in every pipeline that is created
    assert [t.event for t in jobs["remote-only"].triggers] == ["merge_request", "push"]


def test_gitlab_broken_references_are_gc001(tmp_path):
    write(
        tmp_path,
        {
            ".gitlab-ci.yml": """
        include: /ci/nowhere.yml
        stages: [build]
        build:
          extends: .missing
          script: make
        loop-a:
          extends: loop-b
          script: a
        loop-b:
          extends: loop-a
          script: b
        empty:
          stage: build
        wrong: [1, 2]
        """
        },
    )
    result = scan(tmp_path, ("GC001",))
    got = sorted((f.line, f.message) for f in result.findings)
    assert got == [
        (1, "local include /ci/nowhere.yml does not exist in the repository (GitLab fails the pipeline)"),
        (4, "job 'build': 'extends: .missing' names no job or template in the pipeline"),
        (10, "job 'loop-b': 'extends: loop-a' is circular or nests deeper than 8 levels"),
        (12, "job 'empty' has no 'script:' (nor 'trigger:'): GitLab rejects it"),
        (14, "job 'wrong' must be a mapping (its keywords), not a list"),
    ]


# ---------------------------------------------------------------- Jenkins


def test_jenkinsfile_scan_stages_steps_and_input():
    text = textwrap.dedent("""
        pipeline {
          agent any
          stages {
            stage('Test') {
              steps {
                sh 'go test ./...'   // stage('Not a stage')
              }
            }
            stage("Deploy production") {
              steps {
                input message: 'Ship it?'
                sh(script: "helm upgrade --install app ./chart")
                sh '''
                  kubectl rollout status deploy/app
                '''
              }
            }
          }
        }
        """).lstrip("\n")
    jobs, triggers = scan_jenkinsfile(text, "Jenkinsfile")
    assert [(j.label, j.line, j.manual) for j in jobs] == [("Test", 4, False), ("Deploy production", 9, True)]
    assert [(s.run, s.line) for s in jobs[0].steps] == [("go test ./...", 6)]
    assert [(s.run.strip(), s.line) for s in jobs[1].steps] == [
        ("helm upgrade --install app ./chart", 12),
        ("kubectl rollout status deploy/app", 14),
    ]
    assert [t.event for t in triggers] == ["push"]


# ---------------------------------------------------------------- checks


def test_a_linter_named_in_a_flag_or_a_package_is_no_lint_run(tmp_path):
    """pulsar's chart-testing installer takes --yamllint-version; `pip install mypy-boto3` installs stubs."""
    one_job(tmp_path, "- run: ct-install --yamllint-version 1.27 && pip install mypy-boto3\n")
    [f] = scan(tmp_path, ("GC701",)).findings
    assert f.extra["found"]["lint"] == [], f.extra["found"]
    one_job(tmp_path, "- run: ct-install --yamllint-version 1.27 && yamllint .\n")
    [f] = scan(tmp_path, ("GC701",)).findings
    assert [e["line"] for e in f.extra["found"]["lint"]] == [6], f.extra["found"]


def test_a_remote_reusable_workflow_is_named_by_its_file(tmp_path):
    """opentelemetry-collector-releases' job 'analysis' calls shared-workflows/.../scorecard.yml (not fetched)."""
    write(
        tmp_path,
        {
            ".github/workflows/ossf.yml": "on: push\njobs:\n  analysis:\n"
            "    uses: open-telemetry/shared-workflows/.github/workflows/scorecard.yml@main\n",
        },
    )
    [f] = scan(tmp_path, ("GC701",)).findings
    assert [e["line"] for e in f.extra["found"]["security"]] == [3], f.extra["found"]


def test_gc703_sits_on_the_release_step_where_the_fix_goes(tmp_path):
    """litmus-helm: chart-releaser publishes from release.yml; the finding was on test.yml, its main file."""
    write(
        tmp_path,
        {
            ".github/workflows/test.yml": "on: pull_request\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
            "    steps:\n      - run: ct lint\n",
            ".github/workflows/release.yml": "on: push\njobs:\n  r:\n    runs-on: ubuntu-latest\n"
            "    steps:\n      - uses: actions/checkout@v4\n      - uses: helm/chart-releaser-action@v1\n",
        },
    )
    [f] = scan(tmp_path, ("GC703",)).findings
    assert (rel(tmp_path, f.path), f.line) == (".github/workflows/release.yml", 7), f
    assert (
        "would write them with the environment variable CR_GENERATE_RELEASE_NOTES: true (or generate-release-notes: true in its cr.yaml)"
        in f.message
    ), f.message


def test_gc703_names_the_release_input_as_it_is_spelt(tmp_path):
    """ncipollo/release-action's input is generateReleaseNotes; GitHub matches inputs without regard to case."""
    one_job(tmp_path, "- uses: ncipollo/release-action@v1\n")
    [f] = scan(tmp_path, ("GC703",)).findings
    assert "would write them with the input generateReleaseNotes: true" in f.message, f.message
    one_job(tmp_path, "- uses: ncipollo/release-action@v1\n  with:\n    GenerateReleaseNotes: true\n")
    assert scan(tmp_path, ("GC703",)).findings == []


def test_gc703_a_goreleaser_build_is_no_release_step(tmp_path):
    """cloudnative-pg: e2e workflows run goreleaser-action with build arguments; the release is published by
    action-gh-release in release-publish.yml."""
    write(
        tmp_path,
        {
            ".github/workflows/e2e.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - uses: goreleaser/goreleaser-action@v6\n        with:\n          args: ${{ env.BUILD_ARGS }}\n"
            "      - uses: goreleaser/goreleaser-action@v6\n        with:\n          args: release --snapshot\n",
            ".github/workflows/release.yml": "on: push\njobs:\n  r:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - uses: softprops/action-gh-release@v2\n        with:\n          body_path: notes.md\n"
            "      - uses: goreleaser/goreleaser-action@v6\n        with:\n          args: release --clean\n",
        },
    )
    [f] = scan(tmp_path, ("GC703",)).findings
    assert (rel(tmp_path, f.path), f.line) == (".github/workflows/release.yml", 6), f
    assert "the input generate_release_notes: true" in f.message, f.message


def test_an_e2e_make_target_is_no_unit_test(tmp_path):
    """nats-io/nack's e2e workflow runs `make test-e2e`: integration tests, not unit tests."""
    one_job(tmp_path, "- run: make test-e2e\n")
    [f] = scan(tmp_path, ("GC701",)).findings
    assert f.extra["found"]["unit-tests"] == [], f.extra["found"]
    one_job(tmp_path, "- run: make test-unit\n")
    [f] = scan(tmp_path, ("GC701",)).findings
    assert [e["line"] for e in f.extra["found"]["unit-tests"]] == [6], f.extra["found"]


def test_gc704_quotes_the_whole_make_target(tmp_path):
    """oauth2-proxy's `make push-docker-all`: the pattern's \\b stops inside the target's name."""
    one_job(tmp_path, "- run: make push-docker-all\n")
    write(tmp_path, {"Dockerfile": "FROM alpine:3.20.3\n"})
    [f] = scan(tmp_path, ("GC704",)).findings
    assert "(`make push-docker-all`)" in f.message, f.message


def test_gc704_signing_in_a_downstream_job_counts_and_unsigned_names_the_job(tmp_path):
    write(
        tmp_path,
        {
            ".github/workflows/image.yml": """
        on: push
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - uses: docker/build-push-action@v6
                with:
                  push: true
          sign:
            needs: build
            runs-on: ubuntu-latest
            steps:
              - run: cosign sign --yes ghcr.io/x/y@sha256:abc
          other:
            runs-on: ubuntu-latest
            steps:
              - run: |
                  docker build -t ghcr.io/x/z:1 .
                  docker push ghcr.io/x/z:1
                  cosign sign-blob --yes z.tar
              - uses: docker/build-push-action@v6
                with:
                  push: false
        """
        },
    )
    result = scan(tmp_path, ("GC704",))
    assert [(rel(tmp_path, f.path), f.line, f.extra["jobs"]) for f in result.findings] == [
        (".github/workflows/image.yml", 19, ["other"])
    ]


def test_gc701_user_patterns_extend_defaults(tmp_path):
    write(
        tmp_path,
        {
            ".github/workflows/ci.yml": """
        on: push
        jobs:
          all:
            runs-on: ubuntu-latest
            steps:
              - run: ruff check . && pytest && trivy fs .
              - run: ./scripts/contract-suite.sh
        """
        },
    )
    result = scan(tmp_path, ("GC701",))
    (f,) = result.findings
    assert f.extra["missing"] == ["integration-tests"]
    assert f.extra["found"]["security"] == [
        {"what": "`ruff check . && pytest && trivy fs .`", "path": f.path, "line": 6}
    ]
    config = config_from_dict(
        {"settings": {"ci-stage-patterns": {"integration-tests": {"commands": [r"contract-suite\.sh"]}}}}
    )
    assert config.settings["ci-stage-patterns"]["integration-tests"]["commands"] == [r"contract-suite\.sh"]
    assert scan(tmp_path, ("GC701",), config).findings == []


def test_ci_regex_settings_are_validated():
    with pytest.raises(ConfigError, match="ci-production-environments"):
        config_from_dict({"settings": {"ci-production-environments": ["(prod"]}})


def test_gc703_repository_judged_through_its_pipeline_once(tmp_path):
    one_job(tmp_path, "- run: make")
    result = scan(tmp_path, ("GC703",))
    assert [(rel(tmp_path, f.path), f.line) for f in result.findings] == [(".github/workflows/ci.yml", 1)]
    statuses = sorted((o.target.kind, o.status.value) for o in result.outcomes if o.rule_id == "GC703")
    assert statuses == [("ci", "fail"), ("repo", "not_applicable")]
    write(tmp_path, {"package.json": '{"name": "x", "release": {"branches": ["main"]}}'})
    assert scan(tmp_path, ("GC703",)).findings == []


def test_gc703_github_generated_release_notes_count(tmp_path):
    """kubernetes-mixin releases with softprops/action-gh-release and generate_release_notes: true."""
    release = "- uses: softprops/action-gh-release@v2\n  with:\n    generate_release_notes: {}\n"
    one_job(tmp_path, release.format("false"))
    assert len(scan(tmp_path, ("GC703",)).findings) == 1  # a release without notes generates no changelog
    one_job(tmp_path, release.format("true"))
    assert scan(tmp_path, ("GC703",)).findings == []
    one_job(tmp_path, "- run: make")
    write(tmp_path, {".github/release.yml": "changelog:\n  categories: [{title: Fixes, labels: [bug]}]\n"})
    assert scan(tmp_path, ("GC703",)).findings == []


def test_gc703_chart_releaser_with_generated_notes_counts(tmp_path):
    """prometheus-community releases charts with helm/chart-releaser-action and CR_GENERATE_RELEASE_NOTES."""
    step = "- uses: helm/chart-releaser-action@v1.7.0\n  env:\n    CR_TOKEN: x\n    CR_GENERATE_RELEASE_NOTES: {}\n"
    one_job(tmp_path, step.format("false"))
    assert len(scan(tmp_path, ("GC703",)).findings) == 1
    one_job(tmp_path, step.format("true"))
    assert scan(tmp_path, ("GC703",)).findings == []
    # chart-releaser reads CR_GENERATE_RELEASE_NOTES: a lower-case variable is another variable
    one_job(tmp_path, step.replace("CR_GENERATE_RELEASE_NOTES", "cr_generate_release_notes").format("true"))
    assert len(scan(tmp_path, ("GC703",)).findings) == 1


def test_gc703_chart_releaser_s_config_file_generating_notes_counts(tmp_path):
    """falcosecurity/charts gives chart-releaser-action `config: cr.yaml`, which sets generate-release-notes."""
    one_job(tmp_path, "- uses: helm/chart-releaser-action@v1.7.0\n  with:\n    config: cr.yaml\n")
    write(tmp_path, {"cr.yaml": "release-name-template: '{{ .Name }}-{{ .Version }}'\ngenerate-release-notes: false\n"})
    assert len(scan(tmp_path, ("GC703",)).findings) == 1
    write(tmp_path, {"cr.yaml": "release-name-template: '{{ .Name }}-{{ .Version }}'\ngenerate-release-notes: true\n"})
    assert scan(tmp_path, ("GC703",)).findings == []
    from guidecheck.parsers.ci.release import from_chart_releaser
    from guidecheck.parsers.yaml import load_yaml

    [rc] = from_chart_releaser("cr.yaml", load_yaml("owner: x\ngenerate-release-notes: true\n")[0].data)
    assert (rc.tool, rc.line) == ("chart-releaser", 2)


def test_kubescape_is_security_validation(tmp_path):
    """bitnami's ci-verify runs `kubescape scan framework ...` on each chart."""
    one_job(tmp_path, '- run: kubescape scan framework "MITRE,NSA" ./bitnami/x --format json')
    [f] = scan(tmp_path, ("GC701",)).findings
    assert [e["line"] for e in f.extra["found"]["security"]] == [6], f.extra["found"]


@pytest.mark.parametrize(
    "name, security",
    [
        ("Securely delete the PGP key and passphrase", False),  # cloudnative-pg/charts' release
        ("Security scan", True),
        ("Run security checks", True),
        ("Secure code analysis", True),
    ],
)
def test_a_step_named_for_security_is_a_hint_securely_is_not(tmp_path, name, security):
    one_job(tmp_path, f"- name: {name}\n  run: ./hack/run.sh\n")
    [f] = scan(tmp_path, ("GC701",)).findings
    assert bool(f.extra["found"].get("security")) is security, f.extra["found"]


def test_gc703_a_changelog_script_writing_the_changelog_counts(tmp_path):
    """argo-workflows runs `./hack/changelog.sh > CHANGELOG.md` on every tag; writing it by hand does not count."""
    one_job(tmp_path, "- run: echo 'v1.2.3: fixes' > CHANGELOG.md")
    assert len(scan(tmp_path, ("GC703",)).findings) == 1
    one_job(tmp_path, "- run: ./hack/changelog.sh > CHANGELOG.md")
    assert scan(tmp_path, ("GC703",)).findings == []


def test_installing_a_test_tool_or_asking_its_version_runs_no_test(tmp_path):
    """vault-helm's setup action runs `sudo npm install -g bats@${BATS_VERSION}` and `bats -v`."""
    one_job(tmp_path, "- run: sudo npm install -g bats@1.11.0\n- run: bats -v\n- run: golangci-lint --version")
    [f] = scan(tmp_path, ("GC701",)).findings
    assert f.extra["found"]["unit-tests"] == [] and f.extra["found"]["lint"] == [], f.extra["found"]
    one_job(tmp_path, "- run: sudo npm install -g bats@1.11.0\n- run: bats --tap ./test/unit")
    [f] = scan(tmp_path, ("GC701",)).findings
    assert [e["line"] for e in f.extra["found"]["unit-tests"]] == [7], f.extra["found"]


def test_a_job_named_for_a_lint_tool_is_lint(tmp_path):
    """vault-helm's job `actionlint` calls a remote reusable workflow: its name says what it runs."""
    write(
        tmp_path,
        {
            ".github/workflows/lint.yml": "on: [push]\njobs:\n  actionlint:\n"
            "    uses: hashicorp/vault-workflows-common/.github/workflows/actionlint.yaml@main\n"
        },
    )
    [f] = scan(tmp_path, ("GC701",)).findings
    assert [e["what"] for e in f.extra["found"]["lint"]] == ["job 'actionlint'"], f.extra["found"]


def test_gc702_judges_a_reusable_workflow_s_jobs_with_their_caller_s_inputs(tmp_path):
    """dotnet-podcasts' job `prod` calls template-api.yml with environment: prod; the template's job deploys in
    `environment: ${{ inputs.environment }}`. The caller is no ungated production deployment of its own."""
    caller = """
    on: [push, pull_request]
    jobs:
      buildPushDeployStaging:
        name: staging
        if: "!contains(github.ref, 'refs/heads/main')"
        uses: ./.github/workflows/template.yml
        with: {environment: staging}
      buildPushDeployProd:
        name: prod
        if: contains(github.ref, 'refs/heads/main')
        uses: ./.github/workflows/template.yml
        with: {environment: prod}
    """
    template = """
    on:
      workflow_call:
        inputs: {environment: {required: true, type: string}}
    jobs:
      deploy:
        ENV
        runs-on: ubuntu-latest
        steps:
          - run: helm upgrade --install api ./chart
    """
    write(
        tmp_path,
        {
            ".github/workflows/api.yml": caller,
            ".github/workflows/template.yml": template.replace(
                "ENV", "environment: {name: '${{ inputs.environment }}'}"
            ),
        },
    )
    assert scan(tmp_path, ("GC702",)).findings == []
    write(tmp_path, {".github/workflows/template.yml": template.replace("ENV", "name: deploy")})
    [f] = scan(tmp_path, ("GC702",)).findings  # the template's job itself: no environment, so no gate
    assert "has no manual gate" in f.message and f.path.endswith("template.yml"), (f.path, f.message)


def test_single_workflow_file_is_validated_but_not_judged(tmp_path):
    write(
        tmp_path,
        {
            ".github/workflows/ci.yml": """
        on: push
        jobs: [a]
        """
        },
    )
    config = Config()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        loaded = load([".github/workflows/ci.yml"], config)
    finally:
        os.chdir(cwd)
    assert not [t for t in loaded.targets if t.kind == "ci"]
    errors = [(e.line, e.message) for t in loaded.targets if t.kind == "file" for e in t.data.errors]
    assert errors == [(2, "workflow 'jobs:' must be a mapping of job ids to jobs")]


# ---------------------------------------------------------------- real-world corpus


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
def test_corpus_pipelines_load():
    loaded = load([str(CORPUS)], Config())
    projects = [t.data for t in loaded.targets if t.kind == "ci"]
    assert len(projects) == 19  # 18 GitHub projects and libxml2's GitLab pipeline
    assert sum(len(p.jobs) for p in projects) > 400
    errors = sorted(
        (t.path[len(str(CORPUS)) + 1 :], e.line)
        for t in loaded.targets
        if t.kind == "file"
        for e in t.data.errors
        if ".github/" in t.path or "gitlab-ci" in t.path
    )
    # both are real defects: a duplicate job key (the first job is silently dropped by GitLab) and a
    # workflow whose `on:` is commented out (GitHub marks it invalid)
    assert errors == [
        ("GNOME__libxml2/.gitlab-ci.yml", 310),
        ("kubernetes__kube-state-metrics/.github/workflows/pre-release.yml", 1),
    ]


def test_evidence_quoted_from_commands_masks_secrets(tmp_path):
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    one_job(tmp_path, f"- run: echo x | docker login -u bot -p {token} && trivy image app:1")
    (f,) = scan(tmp_path, ("GC701",)).findings
    assert "trivy image" in f.message and token not in f.message and token[8:] not in str(f.extra)


def test_gitlab_child_pipeline_jobs_run_with_the_trigger_job(tmp_path):
    write(
        tmp_path,
        {
            ".gitlab-ci.yml": """
            stages: [build, deploy]
            build:
              stage: build
              script: docker build -t "$IMG" . && docker push "$IMG"
            release:
              stage: deploy
              when: manual
              trigger:
                include: ci/release.yml
            """,
            "ci/release.yml": """
            sign:
              script: cosign sign --yes "$IMG"
            deploy-prod:
              environment: production
              script: helm upgrade --install app ./chart
            """,
        },
    )
    (p,), errors = project_of(tmp_path)
    assert errors == []
    jobs = {j.id: j for j in p.jobs}
    assert set(jobs) == {"build", "release", "release/sign", "release/deploy-prod"}
    child = jobs["release/deploy-prod"]
    assert child.manual and "child pipeline of manual job 'release'" in child.manual_why
    assert rel(tmp_path, child.path) == "ci/release.yml" and child.line == 3
    # the child's deployment is gated by the manual trigger job, and its signing job runs after the
    # push (the trigger job is in a later stage); only the missing staging deployment is reported
    result = scan(tmp_path, ("GC702", "GC704"))
    assert sorted((f.rule_id, rel(tmp_path, f.path), f.line) for f in result.findings) == [
        ("GC702", ".gitlab-ci.yml", 1)
    ]
    assert {o.rule_id: o.status.value for o in result.outcomes} == {"GC702": "fail", "GC704": "pass"}


@pytest.mark.parametrize(
    "cond, events",
    [
        ("github.event_name == 'workflow_dispatch'", ["workflow_dispatch"]),
        (
            "${{ github.event_name == 'release' || github.event_name == 'workflow_dispatch' }}",
            ["release", "workflow_dispatch"],
        ),
        ("github.event_name != 'pull_request'", ["push", "release", "workflow_dispatch"]),
        (
            "github.event_name == 'push' && github.ref == 'refs/heads/main'",  # not understood: unchanged
            ["pull_request", "push", "release", "workflow_dispatch"],
        ),
    ],
)
def test_github_job_if_on_event_name_narrows_triggers(tmp_path, cond, events):
    write(
        tmp_path,
        {
            ".github/workflows/cd.yml": f"""
        on: [push, pull_request, release, workflow_dispatch]
        jobs:
          deploy-production:
            if: "{cond}"
            runs-on: ubuntu-latest
            steps:
              - run: helm upgrade --install app ./chart
        """
        },
    )
    (p,), _ = project_of(tmp_path)
    assert sorted(t.event for t in p.jobs[0].triggers) == events
    gated = events in (["workflow_dispatch"], ["release", "workflow_dispatch"])
    prod = [f for f in scan(tmp_path, ("GC702",)).findings if f.line == 3]
    assert bool(prod) is not gated


def test_gitlab_workflow_rules_limit_when_pipelines_exist(tmp_path):
    write(
        tmp_path,
        {
            ".gitlab-ci.yml": """
        workflow:
          rules:
            - if: $CI_PIPELINE_SOURCE == "schedule"
            - when: never
        deploy-staging:
          environment: staging
          script: helm upgrade --install app ./chart
        deploy-on-push:
          environment: staging
          rules:
            - if: $CI_PIPELINE_SOURCE == "push"
          script: helm upgrade --install app ./chart
        """
        },
    )
    (p,), errors = project_of(tmp_path)
    assert errors == []
    assert {j.id: [t.event for t in j.triggers] for j in p.jobs} == {
        "deploy-staging": ["schedule"],
        "deploy-on-push": [],
    }
    (f,) = scan(tmp_path, ("GC702",)).findings
    assert "is started by schedule" in f.message and "is started by nothing" in f.message


def test_reusable_workflow_input_defaults_apply_when_the_caller_omits_them(tmp_path):
    write(
        tmp_path,
        {
            ".github/workflows/ci.yml": """
            on: push
            jobs:
              image:
                uses: ./.github/workflows/image.yml
            """,
            ".github/workflows/image.yml": """
            on:
              workflow_call:
                inputs:
                  push:
                    type: boolean
                    default: false
            jobs:
              build:
                runs-on: ubuntu-latest
                steps:
                  - uses: docker/build-push-action@v6
                    with:
                      push: ${{ inputs.push }}
            """,
        },
    )
    (p,), _ = project_of(tmp_path)
    assert [s.with_ for j in p.jobs for s in j.steps] == [{"push": "false"}]
    outcomes = {o.rule_id: o.status.value for o in scan(tmp_path, ("GC704",)).outcomes}
    assert outcomes == {"GC704": "not_applicable"}  # builds without pushing


def test_commented_commands_are_not_evidence_and_lines_stay_right(tmp_path):
    one_job(
        tmp_path,
        """
        - run: |
            # trivy fs . (disabled: too slow)
            # a long comment line that shifts the offsets of everything after it
            docker push ghcr.io/x/y:1
        """,
    )
    result = scan(tmp_path, ("GC701", "GC704"))
    by_rule = {f.rule_id: f for f in result.findings}
    assert by_rule["GC701"].extra["missing"] == ["lint", "unit-tests", "integration-tests", "security"]
    assert by_rule["GC704"].line == 9


def test_jenkins_deployments_gated_by_an_input_stage(tmp_path):
    write(
        tmp_path,
        {
            "Jenkinsfile": """
        pipeline {
          agent any
          stages {
            stage('Deploy staging') {
              steps { sh 'helm upgrade --install app ./chart -n staging' }
            }
            stage('Approve') {
              steps { input message: 'Promote to production?' }
            }
            stage('Deploy production') {
              steps { sh 'helm upgrade --install app ./chart -n prod' }
            }
          }
        }
        """
        },
    )
    result = scan(tmp_path, ("GC702",))
    assert result.findings == [] and [o.status.value for o in result.outcomes if o.target.kind == "ci"] == ["pass"]
    lines = (tmp_path / "Jenkinsfile").read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if "stage('Approve')" in line)
    (tmp_path / "Jenkinsfile").write_text("".join(lines[:at] + lines[at + 3 :]))  # no approval stage
    assert [(f.path.rsplit("/", 1)[-1], f.line) for f in scan(tmp_path, ("GC702",)).findings] == [("Jenkinsfile", 7)]


def test_gitlab_block_scalar_scripts_point_at_the_command_line(tmp_path):
    write(
        tmp_path,
        {
            ".gitlab-ci.yml": """
        build:
          script:
            - |
              docker build -t x/y:1 .
              docker push x/y:1
        publish:
          script: |
            crane push image.tar x/y:2
        """
        },
    )
    result = scan(tmp_path, ("GC704",))
    assert sorted(f.line for f in result.findings) == [5, 8]


def test_a_push_shared_by_many_jobs_names_a_few_and_keeps_them_all(tmp_path):
    """One unsigned push in a composite action used by five jobs: one finding, three jobs named."""
    jobs = "".join(
        f"  build-{i}:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ./.github/actions/push\n"
        for i in range(5)
    )
    write(
        tmp_path,
        {
            ".github/workflows/release.yml": "on: push\njobs:\n" + jobs,
            ".github/actions/push/action.yml": """
        name: push
        runs:
          using: composite
          steps:
            - name: Push
              shell: bash
              run: docker push x/y:1
        """,
        },
    )
    [f] = scan(tmp_path, ("GC704",)).findings
    assert f.message.startswith("job 'build-0', 'build-1', 'build-2' and 2 more, step 'Push', pushes an image")
    assert f.extra["jobs"] == [f"build-{i}" for i in range(5)]


# ---------------------------------------------------------------- systems guidecheck does not read (issue 12)


def test_a_pipeline_in_an_unread_system_is_incomplete_coverage_never_a_violation(tmp_path):
    """CircleCI, Travis, Tekton ...: GC701/GC702/GC704 say the pipeline cannot be judged, and the scan is
    incomplete (exit 3), instead of claiming lint, tests or staging deployments are missing."""
    write(
        tmp_path,
        {
            "Dockerfile": "FROM alpine:3.20.3\n",
            "chart/Chart.yaml": "apiVersion: v2\nname: cart\nversion: 1.0.0\n",
            "chart/values.yaml": "{}\n",
            ".circleci/config.yml": "version: 2.1\njobs:\n  test:\n    steps: [checkout, {run: make test}]\n",
        },
    )
    result = scan(tmp_path, ("GC701", "GC702", "GC704"))
    assert result.findings == []
    reasons = {o.rule_id: o.reason for o in result.outcomes if o.target.kind == "ci"}
    assert set(reasons) == {"GC701", "GC702", "GC704"}
    assert all(
        r == f"the pipeline is defined in CircleCI ({tmp_path}/.circleci/config.yml), which guidecheck does not read "
        "(incomplete coverage)"
        for r in reasons.values()
    ), reasons
    assert result.incomplete == [
        f"pipeline of {tmp_path} is defined in CircleCI ({tmp_path}/.circleci/config.yml), which guidecheck does "
        "not read: GC701, GC702 and GC704 do not judge what it runs"
    ]


def test_jenkins_job_builder_definitions_are_an_unread_pipeline_of_their_project(tmp_path):
    """elastic/helm-charts defines its CI as Jenkins Job Builder jobs in .ci/jobs/: not "no CI pipeline"."""
    write(
        tmp_path,
        {
            "Dockerfile": "FROM alpine:3.20.3\n",
            ".ci/jobs/defaults.yml": "- defaults:\n    name: global\n    node: linux\n",
            ".ci/jobs/pr.yml": "- job:\n    name: app+pull-request\n    builders:\n      - shell: make test\n",
            # a list of single-key mappings that names no job is some other data
            "ci/matrix.yml": "- python: '3.12'\n- python: '3.13'\n",
            "jobs/other.yml": "- name: x\n  job: y\n",
        },
    )
    result = scan(tmp_path, ("GC701", "GC702", "GC704"))
    assert result.findings == []
    assert result.incomplete == [
        # defaults.yml only holds defaults for the jobs
        f"pipeline of {tmp_path} is defined in Jenkins Job Builder ({tmp_path}/.ci/jobs/pr.yml), which guidecheck "
        "does not read: GC701, GC702 and GC704 do not judge what it runs"
    ]


def test_codefresh_pipelines_are_found_by_content_wherever_they_are(tmp_path):
    """argocd-autopilot keeps its Codefresh pipelines as build/ci.yml: not "no CI pipeline"."""
    write(
        tmp_path,
        {
            "Dockerfile": "FROM alpine:3.20.3\n",
            "build/ci.yml": "version: '1.0'\nmode: parallel\nstages: [Test]\nsteps:\n  test:\n"
            "    stage: Test\n    image: golang:1.22\n    commands: [make test]\n",
            # a version and steps of something else (no typed or image-and-commands step)
            "docs/tour.yml": "version: '1.0'\nsteps:\n  intro: {text: hello}\n",
        },
    )
    result = scan(tmp_path, ("GC701", "GC702", "GC704"))
    assert result.findings == []
    assert result.incomplete == [
        f"pipeline of {tmp_path} is defined in Codefresh ({tmp_path}/build/ci.yml), which guidecheck does not read: "
        "GC701, GC702 and GC704 do not judge what it runs"
    ]


def test_missing_stages_are_not_claimed_when_part_of_the_pipeline_is_unread(tmp_path):
    """A GitHub workflow without tests beside a .travis.yml: the tests may run on Travis."""
    write(
        tmp_path,
        {
            ".github/workflows/lint.yml": """
            on: [push]
            jobs:
              lint:
                runs-on: ubuntu-latest
                steps:
                  - run: golangci-lint run
            """,
            ".travis.yml": "language: go\nscript: go test ./...\n",
            "tekton/run.yaml": """
            apiVersion: tekton.dev/v1
            kind: PipelineRun
            metadata: {name: ci}
            spec: {pipelineRef: {name: build}}
            """,
        },
    )
    [project], _errors = project_of(tmp_path)
    assert sorted((s, rel(tmp_path, p)) for s, p in project.unread) == [
        ("Tekton", "tekton/run.yaml"),
        ("Travis CI", ".travis.yml"),
    ]
    result = scan(tmp_path, ("GC701",))
    assert result.findings == []
    [o] = [o for o in result.outcomes if o.target.kind == "ci"]
    assert o.status.value == "not_applicable" and "unit tests" in o.reason and "Travis CI" in o.reason
    assert any("partly defined in Tekton, Travis CI" in i for i in result.incomplete), result.incomplete
    # nor a missing changelog generator: tekton-operator's releases run in a Tekton pipeline whose task writes them
    result = scan(tmp_path, ("GC703",))
    assert result.findings == []
    [o] = [o for o in result.outcomes if o.target.kind == "ci"]
    assert o.status.value == "not_applicable" and "changelog" in o.reason and "Tekton" in o.reason, o.reason


def test_tekton_runs_that_show_how_to_use_a_task_are_not_the_repository_s_ci(tmp_path):
    """tektoncd/catalog holds 300 sample PipelineRuns of its tasks; its own CI is a GitHub workflow."""
    run = "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: r}\nspec: {pipelineRef: {name: p}}\n"
    pac = run.replace("{name: r}", "{name: r, annotations: {pipelinesascode.tekton.dev/on-event: '[push]'}}")
    write(
        tmp_path,
        {
            ".github/workflows/ci.yml": "on: [push]\njobs:\n  t:\n    runs-on: x\n    steps:\n      - run: go test ./...\n",
            "task/kn/0.1/deploy/pipeline_run.yaml": run,  # beside its task: how to run it
            "pipeline/buildpacks/0.1/samples/cache.yaml": run,
            "docs/ci/run.yaml": run,
            # a policy's test inputs (kyverno/policies): Chainsaw's and Kyverno's test suites
            "tekton/require-bundle/.chainsaw-test/bad-pipelinerun.yaml": run,
            "tekton/require-bundle/.kyverno-test/resource.yaml": pac,
            "tekton/e2e-tests/run.yaml": run,
            # what runs on events: a trigger anywhere outside docs, a Pipelines-as-Code run anywhere
            "config/trigger.yaml": "apiVersion: triggers.tekton.dev/v1beta1\nkind: EventListener\nmetadata: {name: l}\n",
            "build/on-push.yaml": pac,
        },
    )
    [project], _errors = project_of(tmp_path)
    assert sorted((s, rel(tmp_path, p)) for s, p in project.unread) == [
        ("Tekton", "build/on-push.yaml"),
        ("Tekton", "config/trigger.yaml"),
    ]


def test_a_vendored_library_s_travis_file_is_not_part_of_the_pipeline(tmp_path):
    """Travis CI reads the repository root's .travis.yml only: sealed-secrets' vendored kube-libsonnet has one."""
    write(
        tmp_path,
        {
            ".github/workflows/ci.yml": """
            on: [push]
            jobs:
              test:
                runs-on: ubuntu-latest
                steps:
                  - run: go test ./...
            """,
            "vendor_jsonnet/kube-libsonnet/.travis.yml": "language: go\nscript: make test\n",
            "vendor_jsonnet/kube-libsonnet/.circleci/config.yml": "version: 2.1\n",
        },
    )
    [project], _errors = project_of(tmp_path)
    assert project.unread == []
    result = scan(tmp_path, ("GC701",))
    assert result.incomplete == []
    # alone, with no pipeline above it, the file is a project's pipeline that guidecheck cannot judge
    (tmp_path / ".github" / "workflows" / "ci.yml").unlink()
    assert [i.split(" is ")[0] for i in scan(tmp_path, ("GC701",)).incomplete] == [
        f"pipeline of {tmp_path}/vendor_jsonnet/kube-libsonnet"
    ]


def test_a_vendored_library_s_own_pipeline_is_not_a_project(tmp_path):
    """fluent-bit vendors lib/cmetrics with its own .github/workflows: GitHub never runs it for fluent-bit."""
    workflow = """
            on: [push]
            jobs:
              test:
                runs-on: ubuntu-latest
                steps:
                  - run: make test
            """
    write(
        tmp_path,
        {
            "app/.github/workflows/ci.yml": workflow,
            "app/lib/cmetrics/.github/workflows/build.yml": workflow,
            "app/lib/cmetrics/Jenkinsfile": "pipeline { agent any\n stages { stage('t') { steps { sh 'make' } } } }\n",
            "app/lib/cmetrics/appveyor.yml": "build_script: make\n",
            # side by side, two checked-out repositories are two projects
            "other/.github/workflows/ci.yml": workflow,
        },
    )
    projects, _errors = project_of(tmp_path)
    assert sorted((rel(tmp_path, p.root), [rel(tmp_path, f.path) for f in p.files]) for p in projects) == [
        ("app", ["app/.github/workflows/ci.yml"]),
        ("other", ["other/.github/workflows/ci.yml"]),
    ]
    assert all(p.unread == [] for p in projects)


def test_cloud_build_steps_wait_for_each_other_and_images_are_pushed_last(tmp_path):
    write(
        tmp_path,
        {
            "cloudbuild.yaml": """
            steps:
              - id: test
                name: golang:1.22.5
                entrypoint: go
                args: [test, ./...]
              - id: lint
                name: golangci/golangci-lint:v1.59.1
                waitFor: ['-']
                args: [golangci-lint, run]
              - id: sign
                name: gcr.io/projectsigstore/cosign
                args: [sign, --yes, europe-docker.pkg.dev/p/shop/cart]
                waitFor: [test]
            images: [europe-docker.pkg.dev/p/shop/cart]
            """,
        },
    )
    [project], errors = project_of(tmp_path)
    assert errors == []
    jobs = {j.id: j for j in project.jobs}
    assert [(j.id, j.needs, j.steps[0].run) for j in project.jobs] == [
        ("cloudbuild.yaml:test", [], "go test ./..."),
        ("cloudbuild.yaml:lint", [], "golangci-lint golangci-lint run"),
        ("cloudbuild.yaml:sign", ["cloudbuild.yaml:test"], "cosign sign --yes europe-docker.pkg.dev/p/shop/cart"),
        (
            "cloudbuild.yaml:images",
            ["cloudbuild.yaml:test", "cloudbuild.yaml:lint", "cloudbuild.yaml:sign"],
            "docker push europe-docker.pkg.dev/p/shop/cart",
        ),
    ]
    assert {t.event for t in jobs["cloudbuild.yaml:test"].triggers} == {"cloud-build-trigger"}


def test_a_name_dot_cloudbuild_yaml_is_a_cloud_build_pipeline(tmp_path):
    """cloud-run-microservice-template-python runs `gcloud builds submit --config test/advance.cloudbuild.yaml`:
    it was not read, so the repository was said to have no pipeline at all."""
    write(
        tmp_path,
        {
            "Dockerfile": "FROM python:3.12-alpine\n",
            "test/advance.cloudbuild.yaml": """
            steps:
              - id: Push Container Image
                name: gcr.io/cloud-builders/docker
                args: [push, gcr.io/p/app:$COMMIT_SHA]
            """,
        },
    )
    [project], _errors = project_of(tmp_path)
    assert [rel(tmp_path, f.path) for f in project.files] == ["test/advance.cloudbuild.yaml"]
    [f] = scan(tmp_path, ("GC704",)).findings
    assert rel(tmp_path, f.path) == "test/advance.cloudbuild.yaml" and "not signed" in f.message, f.message


def test_azure_pipeline_stages_templates_and_manual_validation(tmp_path):
    write(
        tmp_path,
        {
            "azure-pipelines.yml": """
            trigger: none
            pr: none
            stages:
              - stage: Build
                jobs:
                  - template: templates/build.yml
              - stage: Approve
                jobs:
                  - job: approve
                    pool: server
                    steps:
                      - task: ManualValidation@1
                        inputs: {notifyUsers: ops@example.com}
              - stage: Prod
                jobs:
                  - job: deploy_prod
                    steps:
                      - script: helm upgrade --install cart chart
            """,
            "templates/build.yml": """
            jobs:
              - job: build
                steps:
                  - script: go test ./...
            """,
        },
    )
    [project], errors = project_of(tmp_path)
    assert errors == []
    jobs = {j.id: j for j in project.jobs}
    assert sorted(jobs) == ["Approve/approve", "Build/build", "Prod/deploy_prod"]
    assert jobs["Build/build"].path.endswith("templates/build.yml")
    assert jobs["Prod/deploy_prod"].needs == ["Approve/approve"]
    assert jobs["Prod/deploy_prod"].manual and "ManualValidation" in jobs["Prod/deploy_prod"].manual_why
    assert {t.event for t in jobs["Build/build"].triggers} == {"manual"}


def test_a_hostile_gitlab_include_wildcard_cannot_stall_the_scan(tmp_path):
    """A local include pattern made to backtrack (it hung the scan with a regular expression) is matched in
    linear time, and reported as matching nothing."""
    import time

    pattern = "/" + "**a" * 12 + "**b.yml"
    write(tmp_path, {".gitlab-ci.yml": f"include:\n  - local: '{pattern}'\nbuild:\n  script: [make]\n",
                     "a" * 200 + ".yml": "x: 1\n"})  # fmt: skip
    start = time.process_time()
    _, errors = project_of(tmp_path)
    assert time.process_time() - start < 10.0
    assert (".gitlab-ci.yml", 2, f"local include {pattern} matches no file in the repository") in [
        (rel(tmp_path, p), line, m) for p, line, m in errors
    ]


def test_pattern_lists_find_what_each_pattern_finds():
    """_search over a list (each pattern run only where its literals are, see test_ci_literals.py) answers as
    searching pattern by pattern."""
    import re as _re

    from guidecheck.checks import ci as ci_checks

    lists = [
        [r"\bpytest\b", r"\bgo\s+test\b", r"(a)\1"],  # a backreference
        [r"\bpytest\b", r"\bgo\s+test\b", r"make\s+(test|check)"],
        [r"(?P<x>lint)", r"(?P<x>vet)"],  # the same group name in two patterns
        [r"^tests?$", r"(^|[^a-z])unit"],
    ]
    texts = ["pytest -q", "go  test ./...", "aa", "make check", "lint", "go vet", "tests", "my-unit", "build", ""]
    for sources in lists:
        pats = ci_checks._compiled(sources)
        for text in texts:
            expected = next((m for rx in (_re.compile(x, _re.I) for x in sources) if (m := rx.search(text))), None)
            got = ci_checks._search(pats, text)
            assert (got and (got.re.pattern, got.span())) == (expected and (expected.re.pattern, expected.span()))


def test_task_runner_tasks_are_followed_for_what_they_run(tmp_path):
    """immich runs `mise run local:ci`: its mise.toml task (and those it depends on) creates a kind cluster
    and runs `tilt ci`, the integration tests; just, go-task and npm scripts are followed the same way."""
    write(
        tmp_path,
        {
            ".github/workflows/ci.yml": """
            on: [push]
            jobs:
              a:
                runs-on: ubuntu-latest
                steps:
                  - run: mise run local:ci
                  - run: just lint
                  - run: task security
                  - run: npm test
            """,
            "mise.toml": '[tasks."local:cluster:up"]\nrun = "ctlptl apply -f local/clusters.yaml"\n\n'
            '[tasks."local:ci"]\ndepends = ["local:cluster:up"]\nrun = "tilt ci --file local/Tiltfile"\n',
            "justfile": "# lint everything\nlint: fmt\n    golangci-lint run ./...\n\nfmt:\n    gofmt -l .\n",
            "Taskfile.yml": "version: '3'\ntasks:\n  security:\n    cmds:\n      - trivy fs --exit-code 1 .\n",
            "package.json": '{"name": "x", "scripts": {"test": "jest --ci"}}\n',
        },
    )
    [project], _errors = project_of(tmp_path)
    [job] = project.jobs
    follows = [(f.name, f.path.rsplit("/", 1)[-1], f.line, f.run) for s in job.steps for f in s.follows]
    assert follows == [
        ("mise local:ci", "mise.toml", 4, "tilt ci --file local/Tiltfile"),
        ("mise local:cluster:up", "mise.toml", 1, "ctlptl apply -f local/clusters.yaml"),
        ("just lint", "justfile", 3, "golangci-lint run ./..."),
        ("just fmt", "justfile", 6, "gofmt -l ."),
        ("task security", "Taskfile.yml", 3, "trivy fs --exit-code 1 ."),
        ("npm test", "package.json", 1, "jest --ci"),
    ], follows
    result = scan(tmp_path, ("GC701",))
    assert result.findings == [], [f.message for f in result.findings]


def test_chart_testing_commands_and_super_linter_scanners_count(tmp_path):
    """prometheus-community: `ct lint --config .github/linters/ct.yaml` runs `helm unittest` (its
    additional-commands), super-linter runs gitleaks (VALIDATE_GITLEAKS: true), and a step named for
    helm-unittest that only installs the plugin runs no test."""
    write(
        tmp_path,
        {
            ".github/workflows/ci.yml": """
            on: [pull_request]
            jobs:
              lint:
                runs-on: ubuntu-latest
                steps:
                  - name: install helm unittest plugin
                    run: helm plugin install https://github.com/helm-unittest/helm-unittest.git
                  - run: ct lint --config .github/linters/ct.yaml
                  - uses: super-linter/super-linter/slim@v7
                    env:
                      VALIDATE_GITLEAKS: true
                  - uses: helm/kind-action@v1
            """,
            ".github/linters/ct.yaml": "additional-commands:\n  - helm unittest --strict {{ .Path }}\n",
        },
    )
    [f] = [f for f in scan(tmp_path, ("GC701",)).findings] or [None]
    assert f is None, f.message
    (tmp_path / ".github" / "linters" / "ct.yaml").write_text("chart-dirs: [charts]\n")
    [f] = scan(tmp_path, ("GC701",)).findings
    assert f.extra["missing"] == ["unit-tests"], f.message  # the plugin install alone is no unit test
    assert [e["what"] for e in f.extra["found"]["security"]] == [
        "super-linter/super-linter/slim with VALIDATE_GITLEAKS"
    ], f.extra["found"]


def test_make_targets_and_scripts_a_step_runs_count_for_gc701(tmp_path):
    """kserve's pipeline lints with `make check` (its prerequisites run `go vet` and `golangci-lint run`),
    aws/eks-charts' with `make verify` -> `${REPO_ROOT}/scripts/lint-charts.sh` -> `helm lint`; neither step's
    name says lint. The evidence is the recipe or script line."""
    write(
        tmp_path,
        {
            ".github/workflows/ci.yml": """
            on: [pull_request]
            jobs:
              a:
                runs-on: ubuntu-latest
                steps:
                  - name: Check
                    run: make ci
                  - run: make verify
                  - run: make cluster
                  - uses: aquasecurity/trivy-action@v0
            """,
            "Makefile": "ci: vet\n\nvet:\n\tgo vet ./...\n\nverify:\n\t${REPO_ROOT}/scripts/all.sh\n\n"
            "cluster:\n\tkind create cluster\n",
            "scripts/all.sh": "#!/bin/sh\nset -e\ngo test ./...\n",
        },
    )
    result = scan(tmp_path, ("GC701",))
    assert result.findings == [], [f.message for f in result.findings]
    (tmp_path / "Makefile").write_text(
        "ci: vet\n\nvet:\n\techo vet\n\nverify:\n\t./scripts/all.sh\n\ncluster:\n\ttrue\n"
    )
    [f] = scan(tmp_path, ("GC701",)).findings
    assert f.message.startswith("the pipeline lacks lint and integration tests"), f.message
    assert "unit tests: `go test ./...` (scripts/all.sh:3)" in f.message.replace(str(tmp_path) + "/", ""), f.message


def test_a_script_a_step_only_reads_is_not_followed(tmp_path):
    """external-snapshotter: `cat release-tools/prow.sh | grep ...` reads a Go version; nothing in prow.sh runs."""
    one_job(tmp_path, "- run: cat release-tools/prow.sh | grep GO_VERSION && head -1 hack/lint.sh\n")
    write(
        tmp_path,
        {
            "release-tools/prow.sh": "#!/bin/sh\ngo test ./...\n",
            "hack/lint.sh": "#!/bin/sh\ngolangci-lint run\n",
        },
    )
    [f] = scan(tmp_path, ("GC701",)).findings
    assert f.message.startswith("the pipeline lacks lint, unit tests"), f.message
    assert "prow.sh" not in f.message and "golangci-lint" not in f.message, f.message
    from guidecheck.parsers.ci.scripts import references

    assert [r.path for r in references("sudo FOO=1 bash hack/run.sh; cat a.sh; source env.sh; x.sh")] == [
        "hack/run.sh",
        "env.sh",
        "x.sh",
    ]


def test_prow_and_hashicorp_crt_pipelines_are_unread_not_missing(tmp_path):
    write(tmp_path, {"Dockerfile": "FROM alpine:3.20.3\n", ".prow.sh": "#!/bin/sh\nmake test\n"})
    result = scan(tmp_path, ("GC701", "GC704"))
    assert result.findings == [] and "is defined in Prow" in result.incomplete[0], result.incomplete
    (tmp_path / ".prow.sh").unlink()
    write(tmp_path, {".release/ci.hcl": "schema = 1\n"})
    result = scan(tmp_path, ("GC701", "GC704"))
    assert result.findings == [] and "is defined in HashiCorp CRT" in result.incomplete[0], result.incomplete


def test_bats_in_a_path_is_no_bats_run(tmp_path):
    """jenkinsci/docker's Makefile excludes `./tests/test_helper/bats/*` from hadolint: no unit test run."""
    one_job(tmp_path, "- run: make lint\n")
    write(tmp_path, {"Makefile": 'lint:\n\tfind . -not -path "./tests/test_helper/bats/*" | xargs hadolint\n'})
    [f] = scan(tmp_path, ("GC701",)).findings
    assert "lacks unit tests" in f.message and "unit tests:" not in f.message, f.message


def test_gc703_chloggen_through_a_make_target_counts_and_a_disabled_goreleaser_is_named(tmp_path):
    """grafana/tempo: `make chlog-update` runs `$(CHLOGGEN) update`; its .goreleaser.yml disables the changelog."""
    one_job(tmp_path, "- run: make chlog-update VERSION=v1\n")
    write(
        tmp_path,
        {"Makefile": "chlog-update:\n\techo no\n", ".goreleaser.yml": "builds: [{}]\nchangelog:\n  disable: true\n"},
    )
    [f] = scan(tmp_path, ("GC703",)).findings
    assert "(GoReleaser's changelog is disabled: .goreleaser.yml:2)" in f.message.replace(str(tmp_path) + "/", "")
    write(
        tmp_path, {"Makefile": "CHLOGGEN ?= bin/chloggen\n\nchlog-update:\n\t$(CHLOGGEN) update --version $(VERSION)\n"}
    )
    assert scan(tmp_path, ("GC703",)).findings == []
    write(tmp_path, {"Makefile": "chlog-update:\n\techo no\n", ".chloggen/TEMPLATE.yaml": "change_type:\n"})
    assert scan(tmp_path, ("GC703",)).findings == []


def test_an_echo_only_twin_workflow_is_not_the_main_pipeline_and_find_runs_no_test(tmp_path):
    """spiffe's helm-chart-ci-ignore.yaml mirrors helm-chart-ci.yaml's jobs with `echo "Skipping tests"` (for
    required checks, the same jobs); it sorted first and took the findings. `find -name run-tests.sh` runs no
    test."""
    write(
        tmp_path,
        {
            ".github/workflows/helm-chart-ci-ignore.yaml": """
            on:
              pull_request:
                paths-ignore: ['charts/**']
            jobs:
              lint:
                runs-on: ubuntu-latest
                steps:
                  - run: 'echo "Skipping linter"'
              list:
                runs-on: ubuntu-latest
                steps:
                  - run: examples="$(find examples -maxdepth 2 -type f -name run-tests.sh | xargs -I % dirname %)"
              test:
                runs-on: ubuntu-latest
                steps:
                  - run: 'echo "Skipping tests"'
            """,
            ".github/workflows/helm-chart-ci.yaml": """
            on:
              pull_request:
                paths: ['charts/**']
            jobs:
              lint:
                runs-on: ubuntu-latest
                steps:
                  - run: ct lint
              list:
                runs-on: ubuntu-latest
                steps:
                  - run: ls examples
              test:
                runs-on: ubuntu-latest
                steps:
                  - run: ginkgo ./tests/unit
            """,
        },
    )
    [project], _errors = project_of(tmp_path)
    assert project.main_file().endswith("helm-chart-ci.yaml"), project.main_file()
    [f] = scan(tmp_path, ("GC701",)).findings
    assert f.path.endswith("helm-chart-ci.yaml") and "run-tests.sh" not in f.message, (f.path, f.message)


def test_skaffold_into_the_job_s_own_kind_cluster_pushes_nothing(tmp_path):
    """fission's benchmark job creates a kind cluster (helm/kind-action) and runs `make skaffold-deploy`
    (`skaffold run -p kind-ci`): Skaffold loads the images into kind and pushes nothing to sign."""
    job = """
            on: [push]
            jobs:
              bench:
                runs-on: ubuntu-latest
                steps:
                  - uses: helm/kind-action@v1
                  - run: {cmd}
            """
    write(tmp_path, {"Makefile": "skaffold-deploy:\n\tskaffold run -p $(SKAFFOLD_PROFILE)\n"})
    for cmd, pushes in (
        ("SKAFFOLD_PROFILE=kind-ci make skaffold-deploy", False),
        ("skaffold run -p kind-ci", False),
        ("skaffold run --default-repo ghcr.io/x", True),
        ("skaffold build --push", True),
    ):
        write(tmp_path, {".github/workflows/ci.yml": job.format(cmd=cmd)})
        got = [f.message for f in scan(tmp_path, ("GC704",)).findings]
        assert bool(got) == pushes, (cmd, got)
    # without a local cluster, skaffold run pushes (a remote kube-context)
    write(
        tmp_path,
        {".github/workflows/ci.yml": job.format(cmd="skaffold run").replace("uses: helm/kind-action@v1", "run: echo")},
    )
    assert len(scan(tmp_path, ("GC704",)).findings) == 1


def test_tests_named_so_in_a_job_that_starts_a_cluster_are_integration_tests(tmp_path):
    """clickhouse-operator's 'Run Tests' job starts minikube and runs its regression suites there: the name said
    unit tests, and GC701 reported unit tests found. The same name in a job without a cluster is unit tests."""
    steps = "- uses: medyagh/setup-minikube@master\n- name: Run Tests\n  run: python3 ./tests/regression.py\n"
    one_job(tmp_path, steps + "- run: golangci-lint run\n- uses: aquasecurity/trivy-action@v0\n")
    [f] = scan(tmp_path, ("GC701",)).findings
    assert f.message.startswith("the pipeline lacks unit tests"), f.message
    assert "integration tests: medyagh/setup-minikube" in f.message and "step 'Run Tests'" in f.message, f.message
    one_job(tmp_path, steps.split("\n", 1)[1] + "- run: golangci-lint run\n- uses: aquasecurity/trivy-action@v0\n")
    [f] = scan(tmp_path, ("GC701",)).findings
    assert f.message.startswith("the pipeline lacks integration tests"), f.message


def test_a_test_runner_named_in_a_path_inside_a_value_runs_nothing(tmp_path):
    """kind's e2e script sets GINKGO_SRC_DIR="vendor/github.com/onsi/ginkgo/v2/ginkgo", which GC701 took for a
    ginkgo run, the pipeline's only unit tests. A runner at the end of a path it runs still counts."""
    tail = "- run: golangci-lint run\n- uses: aquasecurity/trivy-action@v0\n- uses: helm/kind-action@v1\n"
    one_job(tmp_path, '- run: GINKGO_SRC_DIR="vendor/github.com/onsi/ginkgo/v2/ginkgo"\n' + tail)
    [f] = scan(tmp_path, ("GC701",)).findings
    assert f.message.startswith("the pipeline lacks unit tests"), f.message
    one_job(tmp_path, "- run: ./node_modules/.bin/jest --ci\n" + tail)
    assert scan(tmp_path, ("GC701",)).findings == []


def test_envtest_runs_are_integration_tests(tmp_path):
    """kubebuilder's `make test` runs `go test` with KUBEBUILDER_ASSETS from setup-envtest: the controllers'
    tests then talk to a real kube-apiserver and etcd (the kubebuilder book's integration tests)."""
    one_job(tmp_path, "- run: make test\n- uses: aquasecurity/trivy-action@v0\n- run: golangci-lint run\n")
    write(tmp_path, {"Makefile": "test:\n\tgo test ./...\n"})
    [f] = scan(tmp_path, ("GC701",)).findings
    assert f.message.startswith("the pipeline lacks integration tests"), f.message
    write(tmp_path, {"Makefile": 'test:\n\tKUBEBUILDER_ASSETS="$(shell $(ENVTEST) use 1.30 -p path)" go test ./...\n'})
    assert scan(tmp_path, ("GC701",)).findings == []


def test_ko_into_kind_or_the_local_daemon_pushes_nothing(tmp_path):
    """keda's http-add-on e2e setup runs `make e2e-setup` (`ko apply`) with KO_DOCKER_REPO: kind.local, after
    helm/kind-action: ko loads the images into kind's nodes."""
    write(tmp_path, {"Makefile": "e2e-setup:\n\tkustomize build config/default | ko apply -f -\n"})
    step = "- uses: helm/kind-action@v1\n- run: make e2e-setup\n  env:\n    KO_DOCKER_REPO: {repo}\n"
    one_job(tmp_path, step.format(repo="kind.local"))
    assert scan(tmp_path, ("GC704",)).findings == []
    one_job(tmp_path, "- run: KO_DOCKER_REPO=ko.local ko build ./cmd/x\n")
    assert scan(tmp_path, ("GC704",)).findings == []
    one_job(tmp_path, step.format(repo="ghcr.io/kedacore"))
    assert len(scan(tmp_path, ("GC704",)).findings) == 1
    # traefik's knative conformance: ko-build/setup-ko with KO_DOCKER_REPO: ko.local exports it to the job's later
    # steps, as does a write to $GITHUB_ENV; ko resolve in a script of a later step loads into the daemon
    write(tmp_path, {"upload.sh": "#!/bin/sh\nko resolve -f config/ > out.yaml\n"})
    setup = "- uses: ko-build/setup-ko@v0.6\n  env:\n    KO_DOCKER_REPO: {repo}\n- run: ./upload.sh\n"
    one_job(tmp_path, setup.format(repo="ko.local"))
    assert scan(tmp_path, ("GC704",)).findings == []
    one_job(tmp_path, '- run: echo "KO_DOCKER_REPO=kind.local" >> "$GITHUB_ENV"\n- run: ./upload.sh\n')
    assert scan(tmp_path, ("GC704",)).findings == []
    one_job(tmp_path, setup.format(repo="ghcr.io/traefik"))
    assert len(scan(tmp_path, ("GC704",)).findings) == 1


def test_what_make_prints_with_info_runs_nothing(tmp_path):
    """tekton-operator's `resolve: | $(KO) ; $(info $(M) ko resolve on $(TARGET))` prints a message; its recipe
    runs `ko resolve --push=false`, which pushes nothing. The message was read as a push."""
    recipe = "resolve: | $(KO) ; $(info $(M) ko resolve on $(TARGET)) @ ## Resolve\n\t$(KO) resolve {flags}-f -\n"
    write(tmp_path, {"Makefile": "KO ?= ko\n" + recipe.format(flags="--push=false ")})
    one_job(tmp_path, "- run: make resolve\n")
    assert scan(tmp_path, ("GC704",)).findings == []
    write(tmp_path, {"Makefile": "KO ?= ko\n" + recipe.format(flags="")})
    [f] = scan(tmp_path, ("GC704",)).findings
    assert "Makefile:3" in f.message, f.message  # the recipe's line, not the message's


def test_a_push_a_make_target_makes_sits_on_the_line_that_runs_it(tmp_path):
    """ratelimit's step logs in to Docker Hub on its run block's first line and pushes with `make
    docker_multiarch_push` on the next: the finding sat on the first line."""
    write(tmp_path, {"Makefile": "docker_multiarch_push:\n\tdocker buildx build --push -t x/y:1 .\n"})
    one_job(
        tmp_path,
        "- name: build and push\n  run: |\n"
        '    echo "$PW" | docker login -u me --password-stdin\n    make docker_multiarch_push\n',
    )
    [f] = scan(tmp_path, ("GC704",)).findings
    assert (rel(tmp_path, f.path), f.line) == (".github/workflows/ci.yml", 9), f
    assert "Makefile:2 (make docker_multiarch_push)" in f.message, f.message


def test_a_push_to_a_registry_of_the_runner_publishes_nothing(tmp_path):
    """sigstore's policy-controller e2e jobs start a kind cluster with a registry at registry.local:5000 and push
    there: with KO_DOCKER_REPO in the job's env, and through `KO_DOCKER_REPO=$(KO_PREFIX)/policy-controller` in a
    make recipe, KO_PREFIX given by the step. Nothing leaves the runner; a public registry is still a push."""
    write(tmp_path, {"e2e.sh": "#!/bin/sh\nko publish -B ./cmd/sample\n"})
    one_job(tmp_path, "- run: ./e2e.sh\n  env:\n    KO_DOCKER_REPO: registry.local:5000/policy-controller\n")
    assert scan(tmp_path, ("GC704",)).findings == []
    recipe = "ko:\n\tKO_DOCKER_REPO=$(KO_PREFIX)/policy-controller ko resolve -f config/ > out.yaml\n"
    write(tmp_path, {"Makefile": recipe})
    step = "- run: make ko\n  env:\n    KO_PREFIX: {prefix}\n"
    one_job(tmp_path, step.format(prefix="registry.local:5000/policy-controller"))
    assert scan(tmp_path, ("GC704",)).findings == []
    one_job(tmp_path, step.format(prefix="gcr.io/projectsigstore"))
    assert len(scan(tmp_path, ("GC704",)).findings) == 1
    for cmd, pushes in (
        ("docker push localhost:5000/app:1.0", False),
        ("docker push --quiet 127.0.0.1:5001/app", False),
        ("docker push kind-registry:5000/app", False),
        ("docker push ghcr.io/acme/app:1.0", True),
        ("docker push $IMAGE", True),
    ):
        one_job(tmp_path, f"- run: {cmd}\n")
        assert bool(scan(tmp_path, ("GC704",)).findings) == pushes, cmd


def test_an_installing_lint_action_is_no_lint_and_a_bare_make_runs_the_default_goal(tmp_path):
    """traefik/whoami installs golangci-lint with the action's install-only: true and lints in `run: make`,
    whose default goal runs `golangci-lint run`."""
    steps = (
        "- uses: golangci/golangci-lint-action@v6\n  with:\n    install-only: 'true'\n"
        "- run: make\n- uses: aquasecurity/trivy-action@v0\n- run: go test ./...\n- run: kind create cluster\n"
    )
    one_job(tmp_path, steps)
    write(tmp_path, {"Makefile": "default: check build\n\ncheck:\n\techo no lint here\n\nbuild:\n\tgo build\n"})
    [f] = scan(tmp_path, ("GC701",)).findings
    assert f.message.startswith("the pipeline lacks lint"), f.message
    write(tmp_path, {"Makefile": "default: check build\n\ncheck:\n\tgolangci-lint run\n\nbuild:\n\tgo build\n"})
    assert scan(tmp_path, ("GC701",)).findings == []


def test_goreleaser_before_hooks_run_in_the_pipeline(tmp_path):
    """hashicorp/terraform-k8s builds with goreleaser on every push; its before hooks run `go test ./...`."""
    one_job(tmp_path, "- uses: goreleaser/goreleaser-action@v6\n  with:\n    args: release --snapshot --clean\n")
    write(
        tmp_path, {".goreleaser.yml": "before:\n  hooks:\n    - go mod tidy\n    - cmd: go test ./...\nbuilds: [{}]\n"}
    )
    [f] = scan(tmp_path, ("GC701",)).findings
    assert "lacks lint, integration tests and security validation" in f.message, f.message
    assert "`go test ./...` (" in f.message and ".goreleaser.yml:4)" in f.message, f.message


def test_the_run_lines_of_a_dockerfile_the_pipeline_builds_run_in_it(tmp_path):
    """openfaas builds its gateway image in CI; the Dockerfile's build stage runs a gofmt check and `go test`:
    lint and unit tests of the pipeline, at the Dockerfile's lines."""
    dockerfile = (
        "FROM golang:1.23 AS build\nWORKDIR /src\nCOPY . .\n"
        "RUN test -z \"$(gofmt -l $(find . -name '*.go'))\"\nRUN go test ./... \\\n    -cover\n"
        "FROM alpine:3.20\nCOPY --from=build /src/app /app\n"
    )
    write(tmp_path, {"gateway/Dockerfile": dockerfile})
    for step in (
        "- uses: docker/build-push-action@v6\n  with:\n    context: ./gateway\n    file: ./gateway/Dockerfile\n",
        "- uses: docker/build-push-action@v6\n  with:\n    context: ./gateway\n",
        "- run: docker buildx build -t x --build-arg A=1 ./gateway\n",
        "- run: docker build -f gateway/Dockerfile .\n",
    ):
        one_job(tmp_path, step + "- uses: aquasecurity/trivy-action@v0\n- run: kind create cluster\n")
        result = scan(tmp_path, ("GC701",))
        assert result.findings == [], (step, [f.message for f in result.findings])
    one_job(tmp_path, "- run: docker build -f gateway/Dockerfile .\n")
    [f] = scan(tmp_path, ("GC701",)).findings
    text = f.message.replace(str(tmp_path) + "/", "")
    assert text.startswith("the pipeline lacks integration tests and security validation"), text
    assert "(gateway/Dockerfile:4)" in text and "(gateway/Dockerfile:5)" in text, text  # gofmt, go test


def test_grep_v_integration_is_no_integration_test_run(tmp_path):
    """openfaas' Dockerfile runs `go test $(go list ./... | grep -v integration)`: it leaves them out."""
    one_job(tmp_path, "- run: go test $(go list ./... | grep -v integration | grep -v /vendor/) -cover\n")
    [f] = scan(tmp_path, ("GC701",)).findings
    assert "integration tests:" not in f.message and "lacks lint, integration tests" in f.message, f.message
    one_job(tmp_path, "- run: go test -tags=integration ./...\n")
    [f] = scan(tmp_path, ("GC701",)).findings
    assert "integration tests:" in f.message, f.message


def test_a_script_many_steps_run_is_read_and_searched_once(tmp_path, monkeypatch):
    """rook's workflows call the same test scripts from hundreds of steps: following each again took 64 s."""
    from guidecheck.checks import ci as ci_checks
    from guidecheck.parsers.ci import scripts

    steps = "".join(f"- name: s{i}\n  run: ./tests/scripts/run.sh {i % 3}\n" for i in range(60))
    one_job(tmp_path, steps)
    write(tmp_path, {"tests/scripts/run.sh": "#!/bin/sh\n" + "echo step\n" * 2000 + "go test ./...\n"})
    calls = {"references": 0, "evidence": 0}
    real_refs, real_evidence = scripts.references, ci_checks._followed_evidence

    def refs(command):
        calls["references"] += 1
        return real_refs(command)

    def evidence(*args):
        calls["evidence"] += 1
        return real_evidence(*args)

    monkeypatch.setattr(scripts, "references", refs)
    monkeypatch.setattr(ci_checks, "_followed_evidence", evidence)
    [f] = scan(tmp_path, ("GC701",)).findings
    assert "`go test ./...` (" in f.message, f.message
    # three distinct commands, each followed once, and the script they share searched once
    assert calls["references"] <= 6 and calls["evidence"] == 1, calls


def test_biome_and_goimports_checks_are_lint(tmp_path):
    """grafana/quickpizza lints with `npm run biome-check` (`biome check`) and `make format-check` (`goimports -l`)."""
    for step, files in (
        (
            "- run: cd pkg/web && npm run biome-check\n",
            {"pkg/web/package.json": '{"scripts": {"biome-check": "biome check"}}'},
        ),
        ("- run: make format-check\n", {"Makefile": 'format-check:\n\ttest -z "$$(goimports -l .)"\n'}),
    ):
        write(tmp_path, files)
        one_job(
            tmp_path, step + "- run: go test ./...\n- uses: aquasecurity/trivy-action@v0\n- run: kind create cluster\n"
        )
        assert scan(tmp_path, ("GC701",)).findings == [], step


def test_golangci_lint_running_gosec_is_security_validation(tmp_path):
    """wild-workouts lints each module with golangci-lint, whose .golangci.yml enables gosec."""
    one_job(
        tmp_path, "- run: cd internal/users && golangci-lint run\n- run: go test ./...\n- run: kind create cluster\n"
    )
    write(tmp_path, {"internal/users/.golangci.yml": "linters:\n  disable-all: true\n  enable:\n    - govet\n"})
    [f] = scan(tmp_path, ("GC701",)).findings
    assert f.message.startswith("the pipeline lacks security validation"), f.message
    write(
        tmp_path,
        {"internal/users/.golangci.yml": "linters:\n  disable-all: true\n  enable:\n    - govet\n    - gosec\n"},
    )
    assert scan(tmp_path, ("GC701",)).findings == []
    write(tmp_path, {"internal/users/.golangci.yml": "version: '2'\nlinters:\n  default: all\n  disable: [gosec]\n"})
    assert len(scan(tmp_path, ("GC701",)).findings) == 1
    # grafana-operator runs it as the Make variable that holds its path: `make lint` -> $(GOLANGCI_LINT) run
    write(tmp_path, {"internal/users/.golangci.yml": "linters:\n  enable: [gosec]\n"})
    one_job(tmp_path, "- run: make lint\n- run: go test ./...\n- run: kind create cluster\n")
    write(tmp_path, {"Makefile": "GOLANGCI_LINT ?= bin/golangci-lint\nlint:\n\t$(GOLANGCI_LINT) run ./...\n"})
    assert scan(tmp_path, ("GC701",)).findings == []
    (tmp_path / "Makefile").unlink()
    # gosec configured but golangci-lint never run: no security validation
    one_job(tmp_path, "- run: go vet ./...\n- run: go test ./...\n- run: kind create cluster\n")
    write(tmp_path, {"internal/users/.golangci.yml": "linters:\n  enable: [gosec]\n"})
    [f] = scan(tmp_path, ("GC701",)).findings
    assert f.message.startswith("the pipeline lacks security validation"), f.message


def test_a_make_variable_naming_a_command_reads_as_that_command(tmp_path):
    """opentelemetry-demo's `make run-telemetry-tests` runs `$(DOCKER_COMPOSE_CMD) ... run traceBasedTests`, with
    `DOCKER_COMPOSE_CMD ?= docker compose`: an integration test. A variable holding a path or flags stays as
    written, and one the Makefile sets to two different commands is not guessed."""
    one_job(tmp_path, "- run: make lint\n- run: go test ./...\n- run: make run-telemetry-tests\n- run: trivy fs .\n")
    makefile = (
        "DOCKER_COMPOSE_CMD ?= docker compose\nDOCKER_COMPOSE_ENV = --env-file .env\nLINT = golangci-lint\n"
        "lint:\n\t$(LINT) run\nrun-telemetry-tests:\n\t$(DOCKER_COMPOSE_CMD) $(DOCKER_COMPOSE_ENV) run tests\n"
    )
    write(tmp_path, {"Makefile": makefile})
    assert scan(tmp_path, ("GC701",)).findings == []
    write(tmp_path, {"Makefile": makefile.replace("?= docker compose", "?= bin/compose")})
    [f] = scan(tmp_path, ("GC701",)).findings
    assert f.message.startswith("the pipeline lacks integration tests"), f.message
    write(tmp_path, {"Makefile": makefile + "DOCKER_COMPOSE_CMD = podman\nDOCKER_COMPOSE_CMD := nerdctl\n"})
    [f] = scan(tmp_path, ("GC701",)).findings
    assert f.message.startswith("the pipeline lacks integration tests"), f.message


def test_a_matrix_job_runs_each_value_s_script_and_is_named_after_it(tmp_path):
    """oathkeeper's job test runs `./test/${{ matrix.name }}/run.sh` for name: [reload, e2e, ...]: each value's
    script is followed, and GitHub names the job "test (e2e)", an integration test's name."""
    ci = (
        "on: push\njobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - run: golangci-lint run\n"
        "      - run: go test ./...\n      - run: trivy fs .\n"
        "  checks:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        suite: [reload, proxy]\n"
        "        include: [{suite: compose}]\n    steps:\n      - run: ./test/${{ matrix.suite }}/run.sh\n"
    )
    write(
        tmp_path,
        {
            ".github/workflows/ci.yml": ci,
            "test/reload/run.sh": "#!/bin/sh\ngo build .\n",
            "test/proxy/run.sh": "#!/bin/sh\ncurl localhost\n",
            "test/compose/run.sh": "#!/bin/sh\ndocker compose up -d\n",
        },
    )
    assert scan(tmp_path, ("GC701",)).findings == []  # the include: entry's script starts the stack
    write(tmp_path, {"test/compose/run.sh": "#!/bin/sh\necho none\n"})
    [f] = scan(tmp_path, ("GC701",)).findings
    assert f.message.startswith("the pipeline lacks integration tests"), f.message
    # the job's name with a value: "checks (e2e)" names an end-to-end test, and the job runs a script
    write(tmp_path, {".github/workflows/ci.yml": ci.replace("include: [{suite: compose}]", "include: [{suite: e2e}]")})
    assert scan(tmp_path, ("GC701",)).findings == []


def test_gc703_kubernetes_release_notes_tool_counts(tmp_path):
    """kueue's release workflow runs hack/releasing/sync-notes.sh, which runs k8s.io/release's `release-notes`."""
    one_job(tmp_path, "- run: ./hack/sync-notes.sh v1.2.3\n")
    write(tmp_path, {"hack/sync-notes.sh": "#!/bin/bash\nrelease-notes --org x --repo y --output=CHANGELOG.md\n"})
    assert scan(tmp_path, ("GC703",)).findings == []


def test_a_sourced_script_is_part_of_the_script_that_sources_it(tmp_path):
    """podtato-head: `make push-microservices-images` runs build/build_images.sh, which sources
    ${root_dir}/scripts/build-image.sh, whose build_image function runs trivy: a source includes the file at the
    script's own level (the follow depth is not spent on it)."""
    one_job(tmp_path, "- run: make push-images\n- run: go test ./...\n- run: golangci-lint run\n")
    write(
        tmp_path,
        {
            "Makefile": "push-images:\n\tapp/build/build_images.sh scratch\n",
            "app/build/build_images.sh": "#!/usr/bin/env bash\n"
            "declare -r this_dir=$(cd $(dirname ${BASH_SOURCE[0]}) && pwd)\n"
            "declare -r root_dir=$(cd ${this_dir}/../.. && pwd)\n"
            "source ${root_dir}/scripts/build-image.sh\n"
            '. "$(dirname "$0")/common.sh"\nbuild_image app\n',
            "scripts/build-image.sh": "build_image() {\n  docker build -t $1 .\n"
            '  trivy image --severity "HIGH,CRITICAL" $1\n}\n',
            "app/build/common.sh": "push() { docker push $1; }\n",
        },
    )
    [project], _errors = project_of(tmp_path)
    [step] = [s for j in project.jobs for s in j.steps if s.run and "push-images" in s.run]
    assert [f.path.removeprefix(str(tmp_path) + "/") for f in step.follows] == [
        "Makefile",
        "app/build/build_images.sh",
        "scripts/build-image.sh",
        "app/build/common.sh",
    ], step.follows
    [f] = scan(tmp_path, ("GC701",)).findings  # integration tests are missing; security validation is not
    assert "lacks integration tests" in f.message and "security validation" not in f.message.split(";")[0]
    assert [(rel(tmp_path, e["path"]), e["line"]) for e in f.extra["found"]["security"]] == [
        ("scripts/build-image.sh", 3)
    ], f.extra["found"]
    # without the sourced file's scan, no security validation is found
    (tmp_path / "scripts/build-image.sh").write_text("build_image() {\n  docker build -t $1 .\n}\n")
    [f] = scan(tmp_path, ("GC701",)).findings
    assert f.extra["found"]["security"] == [] and "security validation" in f.message.split(";")[0], f.message


def test_what_a_script_sources_is_read_as_written_or_not_at_all():
    from guidecheck.parsers.ci.scripts import sourced

    text = (
        'source ${REPO_ROOT}/hack/lib.sh\nif true; then . ./x.sh; fi\nsource "${SCRIPT_DIR}/y.sh"\n'
        "echo . not-sourced\n. $LIB/unknown.sh\nsource /etc/os-release\n"
    )
    assert sourced(text) == ["./hack/lib.sh", "./x.sh", "{here}/y.sh"]


def test_gc703_a_repository_s_release_notes_generator_counts(tmp_path):
    """dapr's release-notes workflow runs python .github/scripts/generate_release_notes.py, which drafts
    docs/release_notes/v<version>.md from the RELEASE NOTE lines of issues and pull requests."""
    one_job(tmp_path, "- run: python .github/scripts/generate_release_notes.py\n")
    assert scan(tmp_path, ("GC703",)).findings == []
    one_job(tmp_path, "- run: python .github/scripts/check_release_notes_format.py\n")
    assert len(scan(tmp_path, ("GC703",)).findings) == 1
    # nocalhost writes the release's body with ./scripts/release/release-note.sh PREV NEW > release_note.md
    one_job(tmp_path, "- run: ./scripts/release/release-note.sh ${PREV} ${NEW} > release_note.md\n")
    assert scan(tmp_path, ("GC703",)).findings == []
    one_job(tmp_path, "- run: ./scripts/release/release-note.sh --check\n")  # prints, writes nothing
    assert len(scan(tmp_path, ("GC703",)).findings) == 1


def test_gc703_automatic_releases_write_a_changelog(tmp_path):
    """karpenter publishes with marvinpinto/action-automatic-releases, which writes the changelog from the
    commits since the previous tag."""
    one_job(tmp_path, "- uses: marvinpinto/action-automatic-releases@v1.2.1\n  with:\n    prerelease: false\n")
    assert scan(tmp_path, ("GC703",)).findings == []


def test_gc703_gh_release_create_is_the_release_step(tmp_path):
    """kiali-operator creates its release with `gh release create` in release.yml; the finding goes there."""
    write(
        tmp_path,
        {
            ".github/workflows/ci.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: make test\n",
            ".github/workflows/release.yml": "on: push\njobs:\n  r:\n    runs-on: ubuntu-latest\n    steps:\n"
            '      - name: Create release\n        run: gh release create "$TAG" --title x\n',
        },
    )
    [f] = scan(tmp_path, ("GC703",)).findings
    assert (rel(tmp_path, f.path), f.line) == (".github/workflows/release.yml", 7), f  # its run: line
    assert f.message.endswith("): add --generate-notes"), f.message


def test_gc703_chart_releaser_s_command_line_is_the_release_step(tmp_path):
    """kubescape's helm-charts release with `cr upload` in a run step; the finding sat on an e2e trigger workflow
    that runs on branch creation. --generate-release-notes is what makes cr write the notes."""
    release = (
        "on: push\njobs:\n  r:\n    runs-on: ubuntu-latest\n    steps:\n"
        '      - name: Upload charts\n        run: |\n          cr upload \\\n            --owner "$owner" \\\n'
        "            --skip-existing\n"
    )
    trigger = "on: create\njobs:\n  e:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make e2e\n"
    write(tmp_path, {".github/workflows/release.yaml": release, ".github/workflows/e2e-trigger.yaml": trigger})
    [f] = scan(tmp_path, ("GC703",)).findings
    assert (rel(tmp_path, f.path), f.line) == (".github/workflows/release.yaml", 8), f
    assert f.message.endswith("): add --generate-release-notes"), f.message
    write(tmp_path, {".github/workflows/release.yaml": release.replace("--skip-existing", "--generate-release-notes")})
    assert scan(tmp_path, ("GC703",)).findings == []


def test_gc703_a_release_command_continued_over_lines_is_read_whole(tmp_path):
    """Reloader's chart release: `gh release create "$tag" \\` with --generate-notes three lines down, as the
    shell reads it; a flag on the next command is not part of it."""
    release = (
        "on: push\njobs:\n  r:\n    runs-on: ubuntu-latest\n    steps:\n"
        '      - name: Create release\n        run: |\n          gh release create "$tag" \\\n'
        '            --title "$tag" \\\n            --generate-notes\n'
    )
    write(tmp_path, {".github/workflows/release.yml": release})
    assert scan(tmp_path, ("GC703",)).findings == []
    # a command on a line of its own is not part of the one before
    write(tmp_path, {".github/workflows/release.yml": release.replace("\\\n            --gen", "\n            --gen")})
    [f] = scan(tmp_path, ("GC703",)).findings
    assert (rel(tmp_path, f.path), f.line) == (".github/workflows/release.yml", 8), f  # the command's line
    assert f.message.endswith("): add --generate-notes"), f.message


def test_gc703_the_release_step_is_the_one_that_creates_the_release(tmp_path):
    """external-dns installs chart-releaser (install_only: true) and releases from scripts/chart-release.sh with
    `gh api -X POST .../releases`: the fix goes to that step, not to the action that only installed `cr`."""
    write(
        tmp_path,
        {
            ".github/workflows/release.yml": "on: push\njobs:\n  r:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - uses: helm/chart-releaser-action@v1.7.0\n        with:\n          install_only: true\n"
            "      - name: Release chart\n        run: scripts/chart-release.sh 1.0.0\n",
            "scripts/chart-release.sh": '#!/bin/sh\ngh api -X POST "repos/${REPO}/releases" \\\n'
            '  -f tag_name="v$1" -F draft=true\n',
        },
    )
    [f] = scan(tmp_path, ("GC703",)).findings
    assert (rel(tmp_path, f.path), f.line) == (".github/workflows/release.yml", 10), f
    assert "`gh api -X POST .../releases`" in f.message and f.message.endswith(
        "): add -F generate_release_notes=true"
    ), f.message


def test_gc703_without_a_release_step_sits_on_the_tag_workflow(tmp_path):
    """hello-kubernetes publishes from a workflow run on tags, with no release action; its main pipeline file
    is a scheduled vulnerability scan."""
    write(
        tmp_path,
        {
            ".github/workflows/a-scan.yml": "on:\n  schedule: [{cron: '0 0 * * *'}]\njobs:\n  t:\n"
            "    runs-on: ubuntu-latest\n    steps:\n      - run: trivy fs .\n",
            ".github/workflows/publish.yml": "on:\n  push:\n    tags: ['v*']\njobs:\n  p:\n"
            "    runs-on: ubuntu-latest\n    steps:\n      - run: make push\n",
        },
    )
    [f] = scan(tmp_path, ("GC703",)).findings
    assert (rel(tmp_path, f.path), f.line) == (".github/workflows/publish.yml", 1), f
    assert "the pipeline that runs on tags or releases is" in f.message, f.message
    # kube-vip: a workflow run on a published release (an SBOM attached afterwards) comes after one run on tags
    (tmp_path / ".github/workflows/a-scan.yml").write_text(
        "on:\n  release:\n    types: [published]\njobs:\n  s:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: syft .\n"
    )
    [f] = scan(tmp_path, ("GC703",)).findings
    assert (rel(tmp_path, f.path), f.line) == (".github/workflows/publish.yml", 1), f


def test_a_documentation_workflow_is_neither_the_main_pipeline_nor_the_release_one(tmp_path):
    """listmonk's github-pages.yml publishes the docs site on pushes to docs/**, and robusta's deploy-docs.yaml
    runs on create and on published releases: pipeline findings were pinned there, not on build-sanity.yml (the
    CI) or on release.yaml (the release, where a changelog generator goes)."""
    job = "jobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: {cmd}\n      - run: {cmd} again\n"
    write(
        tmp_path,
        {
            ".github/workflows/github-pages.yml": "on:\n  push:\n    paths: ['docs/**']\n" + job.format(cmd="mkdocs"),
            ".github/workflows/build-sanity.yml": "on: pull_request\n" + job.format(cmd="make build"),
        },
    )
    [project], _errors = project_of(tmp_path)
    assert rel(tmp_path, project.main) == ".github/workflows/build-sanity.yml", project.main
    write(
        tmp_path,
        {
            ".github/workflows/github-pages.yml": "on:\n  create: {}\n  release:\n    types: [published]\n"
            + job.format(cmd="mkdocs"),
            ".github/workflows/release.yaml": "on:\n  release:\n    types: [published]\n" + job.format(cmd="make push"),
        },
    )
    [f] = scan(tmp_path, ("GC703",)).findings
    assert (rel(tmp_path, f.path), f.line) == (".github/workflows/release.yaml", 1), f


def test_a_leftover_gitlab_file_is_not_the_main_pipeline(tmp_path):
    """spark-on-k8s-operator keeps a .gitlab-ci.yml with one docker:stable build job beside the GitHub workflows
    that run its CI: findings about the pipeline go to the workflows' main file."""
    write(
        tmp_path,
        {
            ".gitlab-ci.yml": "build:\n  image: docker:stable\n  script: [docker build .]\n",
            ".github/workflows/main.yaml": "on: push\njobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: make lint\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make test\n",
        },
    )
    [project], _errors = project_of(tmp_path)
    assert rel(tmp_path, project.main) == ".github/workflows/main.yaml", project.main
    # a GitLab pipeline with as many jobs as the workflows stays the main one
    write(tmp_path, {".gitlab-ci.yml": "build:\n  script: [make]\ntest:\n  script: [make test]\n"})
    [project], _errors = project_of(tmp_path)
    assert rel(tmp_path, project.main) == ".gitlab-ci.yml", project.main


@pytest.mark.parametrize(
    "command, lint",
    [
        ("goimports -format-only -l .", True),  # kuma-counter-demo's verify-goimports
        ("gofmt -s -l .", True),
        ("goimports -d ./...", True),
        ("gofmt -s -w .", False),  # rewrites, checks nothing
        ("goimports -local github.com/x -w .", False),
    ],
)
def test_gofmt_and_goimports_list_or_diff_checks_are_lint(tmp_path, command, lint):
    one_job(tmp_path, f"- run: {command}\n- run: go test ./...\n")
    [f] = scan(tmp_path, ("GC701",)).findings
    assert bool(f.extra["found"]["lint"]) is lint, f.extra["found"]


@pytest.mark.parametrize(
    "command, lint",
    [
        ("mvn pmd:pmd", True),  # train-ticket's Jenkinsfile
        ("mvn -B spotbugs:check", True),
        ("./gradlew pmdMain spotbugsMain", True),
        ("mvn package -Dpmd.skip=true", False),  # a property, no analysis run
    ],
)
def test_java_static_analysers_are_lint(tmp_path, command, lint):
    one_job(tmp_path, f"- run: {command}\n- run: mvn test\n")
    [f] = scan(tmp_path, ("GC701",)).findings
    assert bool(f.extra["found"]["lint"]) is lint, f.extra["found"]


def test_gc703_an_installed_goreleaser_is_no_release_step(tmp_path):
    """fission's benchmark workflow installs GoReleaser (install-only: true) for skaffold to call; its release is
    made by release.yaml's goreleaser-action, where the fix goes."""
    steps = "on: push\njobs:\n  r:\n    runs-on: ubuntu-latest\n    steps:\n"
    write(
        tmp_path,
        {
            ".github/workflows/benchmark.yaml": steps + "      - uses: goreleaser/goreleaser-action@v7\n"
            "        with:\n          install-only: true\n      - run: skaffold run\n",
            ".github/workflows/release.yaml": steps + "      - run: make test\n"
            "      - uses: goreleaser/goreleaser-action@v7\n        with:\n          args: release\n",
        },
    )
    [f] = scan(tmp_path, ("GC703",)).findings
    assert (rel(tmp_path, f.path), f.line) == (".github/workflows/release.yaml", 7), f


def test_a_benchmark_workflow_is_not_the_main_pipeline(tmp_path):
    """fission's CI is push_pr.yaml ("Fission CI", one job); benchmark.yaml has more jobs but measures speed."""
    job = "on: [push, pull_request]\njobs:\n{jobs}"
    one = "  {n}:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make {n}\n"
    write(
        tmp_path,
        {
            ".github/workflows/benchmark.yaml": job.format(jobs=one.format(n="a") + one.format(n="b")),
            ".github/workflows/push_pr.yaml": job.format(jobs=one.format(n="test")),
            ".github/workflows/lint.yaml": job.format(jobs=one.format(n="lint") + one.format(n="vet")),
        },
    )
    [project], _errors = project_of(tmp_path)
    assert rel(tmp_path, project.main) == ".github/workflows/push_pr.yaml", project.main


def test_make_targets_in_included_makefiles_and_forwarded_goals_are_followed(tmp_path):
    """envoy-gateway's Makefile hands every goal on (`@$(MAKE) -f tools/make/common.mk $(MAKECMDGOALS)`), and
    common.mk includes the files that define them: `make go.test.coverage` runs `go test ./...` from
    tools/make/golang.mk."""
    write(
        tmp_path,
        {
            "Makefile": "_run:\n\t@$(MAKE) --warn-undefined-variables -f tools/make/common.mk $(MAKECMDGOALS)\n"
            ".PHONY: _run\n$(if $(MAKECMDGOALS),$(MAKECMDGOALS): %: _run)\n",
            "tools/make/common.mk": "include tools/make/golang.mk\n-include tools/make/lint*.mk\n",
            "tools/make/golang.mk": "go.test.coverage: go.test.cel\n\t@$(LOG_TARGET)\n\tgo test ./...\n",
            "tools/make/lint.mk": "lint:\n\t@golangci-lint run\n",
        },
    )
    one_job(tmp_path, "- run: make go.test.coverage\n- run: make lint\n")
    [f] = scan(tmp_path, ("GC701",)).findings
    found = {cat: [(rel(tmp_path, e["path"]), e["line"]) for e in ev] for cat, ev in f.extra["found"].items()}
    assert ("tools/make/golang.mk", 3) in found["unit-tests"], found
    assert ("tools/make/lint.mk", 2) in found["lint"], found


def test_a_make_target_s_help_comment_names_no_prerequisite(tmp_path):
    """contour's `multiarch-build: ## Build and optionally push a multi-arch ... image` is a help text: `push`
    there is no prerequisite, so the build pushes nothing."""
    write(
        tmp_path,
        {
            "Makefile": "multiarch-build: ## Build and optionally push an image; see push\n\tdocker buildx build .\n"
            "push: ## Push the image\n\tdocker push example/app:1\n",
        },
    )
    one_job(tmp_path, "- run: make multiarch-build\n")
    assert scan(tmp_path, ("GC704",)).findings == []
    (tmp_path / "Makefile").write_text(
        "multiarch-build: push ## Build and push\n\tdocker buildx build .\npush:\n\tdocker push example/app:1\n"
    )
    [f] = scan(tmp_path, ("GC704",)).findings
    assert "docker push" in f.message, f.message


def test_a_tool_looked_for_or_installed_in_a_recipe_runs_nothing(tmp_path):
    """kamaji's `make kind ko helm ginkgo` installs tools: `test -s $(LOCALBIN)/ginkgo || go install
    .../ginkgo@v2`; ginkgo runs nowhere, so no unit tests are found."""
    write(
        tmp_path,
        {
            "Makefile": "ginkgo:\n\ttest -s $(LOCALBIN)/ginkgo || GOBIN=$(LOCALBIN) go install "
            "github.com/onsi/ginkgo/v2/ginkgo@v2.19.0\n"
        },
    )
    one_job(tmp_path, "- run: make ginkgo\n- run: command -v pytest\n")
    [f] = scan(tmp_path, ("GC701",)).findings
    assert not f.extra["found"]["unit-tests"], f.extra["found"]
    (tmp_path / "Makefile").write_text("ginkgo:\n\t$(LOCALBIN)/ginkgo -r ./...\n")
    [f] = scan(tmp_path, ("GC701",)).findings
    assert f.extra["found"]["unit-tests"], f.extra["found"]


def test_a_workflow_named_ci_is_the_main_pipeline(tmp_path):
    """jaeger-operator's CI is base-checks.yaml, `name: "CI Workflow"`; e2e.yaml has more jobs. A component's
    CI (`name: helm-chart-ci`) is not the project's."""
    job = "name: {title}\non: [push, pull_request]\njobs:\n{jobs}"
    one = "  {n}:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make {n}\n"
    write(
        tmp_path,
        {
            ".github/workflows/e2e.yaml": job.format(title="E2E tests", jobs=one.format(n="a") + one.format(n="b")),
            ".github/workflows/base-checks.yaml": job.format(title='"CI Workflow"', jobs=one.format(n="ci")),
            ".github/workflows/helm-chart-ci.yaml": job.format(
                title="helm-chart-ci", jobs=one.format(n="c") + one.format(n="d") + one.format(n="e")
            ),
        },
    )
    [project], _errors = project_of(tmp_path)
    assert rel(tmp_path, project.main) == ".github/workflows/base-checks.yaml", project.main


def test_make_command_line_variables_reach_the_recipe(tmp_path):
    """kamaji pushes with `make VERSION=latest KO_LOCAL=false KO_PUSH=true build`, whose recipe runs
    `$(KO) build ./ --local=$(KO_LOCAL) --push=$(KO_PUSH)` with KO_PUSH ?= false: only the release job pushes."""
    write(
        tmp_path,
        {
            "Makefile": "KO ?= $(LOCALBIN)/ko\nKO_PUSH ?= false\nKO_LOCAL ?= true\n"
            "build:\n\t$(KO) build ./ --bare --local=$(KO_LOCAL) --push=$(KO_PUSH)\n"
        },
    )
    one_job(tmp_path, "- run: make VERSION=latest KO_LOCAL=false KO_PUSH=true build\n")
    [f] = scan(tmp_path, ("GC704",)).findings
    assert "`$(KO) build` in " in f.message, f.message
    one_job(tmp_path, "- run: make build\n")  # the defaults: built into the local daemon, pushed nowhere
    assert scan(tmp_path, ("GC704",)).findings == []


def test_what_echo_prints_runs_nothing(tmp_path):
    """tetragon's `make image` builds, then prints `echo "${CONTAINER_ENGINE} push cilium/tetragon:..."` as advice;
    CONTAINER_ENGINE ?= docker comes from its included Makefile.defs. A push in a command substitution runs."""
    write(
        tmp_path,
        {
            "Makefile.defs": "CONTAINER_ENGINE ?= docker\n",
            "Makefile": "include Makefile.defs\nimage:\n\t$(CONTAINER_ENGINE) build -t app:$(VERSION) .\n"
            '\t@echo "Push like this when ready:"\n\t@echo "${CONTAINER_ENGINE} push app:$(VERSION)"\n',
        },
    )
    one_job(tmp_path, "- run: make image\n")
    assert scan(tmp_path, ("GC704",)).findings == []
    one_job(tmp_path, '- run: echo "pushed $(docker push app:1)"\n')
    assert len(scan(tmp_path, ("GC704",)).findings) == 1


def test_gc703_a_release_created_with_curl_is_the_release_step(tmp_path):
    """camel-k's nightly release action creates the release with `curl -s -X POST ... .../releases`: the fix,
    generate_release_notes in the JSON body, goes to that step."""
    write(
        tmp_path,
        {
            ".github/workflows/ci.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: make test\n",
            ".github/workflows/nightly.yml": "on: push\njobs:\n  r:\n    runs-on: ubuntu-latest\n    steps:\n"
            '      - name: Create release\n        run: |\n          curl -s -X POST -H "Authorization: token $T" '
            '-d \'{"tag_name": "nightly"}\' https://api.github.com/repos/${GITHUB_REPOSITORY}/releases\n',
        },
    )
    [f] = scan(tmp_path, ("GC703",)).findings
    assert (rel(tmp_path, f.path), f.line) == (".github/workflows/nightly.yml", 8), f
    assert f.message.endswith('): add "generate_release_notes": true to its JSON body'), f.message
