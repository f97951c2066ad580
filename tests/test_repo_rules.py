"""Repository rules GC201-GC204: what counts as a service, a chart, source code and a test.

The fixtures (fixtures/rules/GC20x/) cover the typical cases end to end; these
tests pin the edges: Dockerfile naming, chart nesting, glob semantics,
language detection, bad data and speed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import pytest

from guidecheck import globs
from guidecheck.checks import Context, NotApplicable, repo
from guidecheck.config import DEFAULT_SETTINGS
from guidecheck.loaders import ChartInfo, RepoInfo, find_charts
from guidecheck.loaders.fs import walk
from guidecheck.model import ObjectRef, Target


def ctx(**settings) -> Context:
    return Context(settings={**DEFAULT_SETTINGS, **settings}, options={})


def repo_target(inventory, dockerfiles=None, charts=(), path=".") -> Target:
    if dockerfiles is None:
        from guidecheck.loaders.fs import is_dockerfile_name

        dockerfiles = [p for p in inventory if isinstance(p, str) and is_dockerfile_name(p.rsplit("/", 1)[-1])]
    info = RepoInfo(
        root="/nowhere", name="svc", inventory=list(inventory), dockerfiles=list(dockerfiles), charts=list(charts)
    )
    return Target(kind="repo", path=path, line=1, ref=ObjectRef("Repository", None, "svc"), data=info)


def chart(path, type_="application", parent=None, has_templates=True, name=None) -> ChartInfo:
    chart_yaml = "Chart.yaml" if path == "." else f"{path}/Chart.yaml"
    return ChartInfo(
        path=path,
        chart_yaml=chart_yaml,
        name=name or path.rsplit("/", 1)[-1],
        type=type_,
        has_templates=has_templates,
        subchart_of=parent,
    )


def hits(check, target, c=None):
    return list(check(target, c or ctx()))


# ------------------------------------------------------------ Dockerfiles


@pytest.mark.parametrize(
    "path, production",
    [
        ("Dockerfile", True),
        ("Containerfile", True),
        ("build/docker/Dockerfile", True),
        ("cmd/loki/Dockerfile.cross", True),
        ("docker/Dockerfile-windows", True),
        ("docker/Dockerfile-mariner", True),
        ("Dockerfile.alpine", True),
        ("api.Dockerfile", True),
        ("Dockerfile.dev", False),
        ("Dockerfile-debug", False),
        ("Dockerfile.test", False),
        ("Dockerfile.ci", False),
        ("Dockerfile.local", False),
        ("Dockerfile.Development", False),
        ("tools/dev/loki-tsdb/dev.dockerfile", False),
        ("integration-test.Dockerfile", False),
        ("test/Dockerfile", False),
        ("tests/apps/actorjava/Dockerfile", False),
        ("pkg/testdata/Dockerfile", False),
        ("examples/client/Dockerfile", False),
        ("docs/build/Dockerfile", False),
        ("hack/Dockerfile", False),
        ("e2e/Dockerfile", False),
        (".devcontainer/Dockerfile", False),
        (".gitlab-ci/Dockerfile", False),
        ("production/helm/loki/src/helm-test/Dockerfile", False),
        ("contest/Dockerfile", True),  # not a test directory
        ("latest/Dockerfile", True),
        ("build/mkdocs-material/Dockerfile", False),  # trivy-operator's documentation preview
        ("website/sphinx/Dockerfile", False),
        ("api-docs/Dockerfile", False),
        ("hugoapp/Dockerfile", True),  # not named for the generator alone
        ("bundle.Dockerfile", False),  # operator-sdk's OLM bundle: manifests, FROM scratch
        ("deploy/csv/redhat/bundle-1.7.0.Dockerfile", False),  # percona's bundle of each release
        ("bundle-service.Dockerfile", True),
        ("demo/docker-images/Dockerfile-PARSEC", False),  # node-feature-discovery's benchmark demo
        ("_archived/cluster-dns/images/frontend/Dockerfile", False),  # kubernetes/examples' retired examples
        ("flagd/profile.Dockerfile", False),  # the service built with pprof
        ("_test_tools/httpd/Dockerfile", False),  # kubernetes/git-sync's test servers
        ("_tests/Dockerfile", False),
        ("_tools/Dockerfile", True),
        ("k6/Dockerfile", False),  # load tests (grafana/quickpizza)
        ("docker/dev/Dockerfile", False),  # slok/sloth's toolchain image
        ("docker/prod/Dockerfile", True),
        ("olm/catalog.Dockerfile", False),  # rabbitmq/cluster-operator's OLM catalog
        ("catalog.Dockerfile", True),  # a catalog service
        ("benchmarks/Dockerfile", False),
        ("dockerfiles/Dockerfile", True),
        ("tools/migrators/Dockerfile", False),  # grafana/oncall's one-off migration tool
        ("tools/docker/etcd_image/Dockerfile", False),  # pixie's build images
        ("toolsvc/Dockerfile", True),
        ("sdk/python/Dockerfile", False),  # jobset's Python SDK: its unit tests' image
        ("docs.Dockerfile", False),  # robusta's documentation preview
        ("api-docs.Dockerfile", False),
        ("docstore.Dockerfile", True),
    ],
)
def test_production_dockerfile(path, production):
    key, why = repo.classify_dockerfile(path)
    assert (why is None) is production, (path, why)


def test_platform_variants_are_one_service_and_named_dockerfiles_are_separate():
    images, skipped = repo.dockerfile_services(
        [
            "docker/Dockerfile-windows",
            "docker/Dockerfile",
            "docker/Dockerfile-dev",
            "docker/Dockerfile.cross",
            "operator/Dockerfile",
            "operator/calculator.Dockerfile",
            "tests/apps/Dockerfile",
            # traefik/whoami: another way to build the same image (multi-platform with buildx)
            "whoami/Dockerfile",
            "whoami/buildx.Dockerfile",
            "whoami/goreleaser.Dockerfile",
        ]
    )
    assert images == [
        ["docker/Dockerfile", "docker/Dockerfile-windows", "docker/Dockerfile.cross"],
        ["operator/Dockerfile"],
        ["operator/calculator.Dockerfile"],
        ["whoami/Dockerfile", "whoami/buildx.Dockerfile", "whoami/goreleaser.Dockerfile"],
    ]
    assert skipped == ["docker/Dockerfile-dev (development variant)", "tests/apps/Dockerfile (under tests/)"]


def test_gc201_pins_the_first_service_over_the_limit_under_the_scan_prefix():
    inv = [f"src/svc{i:02d}/Dockerfile" for i in range(12)] + ["src/svc00/Dockerfile.debug"]
    t = repo_target(inv, path="shop")
    [h] = hits(repo.single_service, t)
    assert h.path == "shop/src/svc01/Dockerfile" and h.line == 1
    assert "12 images" in h.message and "and 6 more" in h.message
    assert len(h.extra["services"]["dockerfiles"]) == 12
    # raising the limit
    assert hits(repo.single_service, t, ctx(**{"max-services-per-repo": 12})) == []
    [h] = hits(repo.single_service, t, ctx(**{"max-services-per-repo": 3}))
    assert h.path == "shop/src/svc03/Dockerfile" and "more than 3 deployable services" in h.message


def test_gc201_versions_of_one_image_side_by_side_are_one_service():
    """aks-voting-app keeps src/voting-app/1.0, 1.1 and 2.0 (and the same for its other images)."""
    inv = [f"src/voting-app/{v}/Dockerfile" for v in ("1.0", "1.1", "2.0")]
    assert hits(repo.single_service, repo_target(inv)) == []
    [h] = hits(repo.single_service, repo_target(inv + ["src/voting-analytics/1.0/Dockerfile"]))
    assert h.path == "src/voting-app/1.0/Dockerfile" and "2 images" in h.message, (h.path, h.message)


def test_gc201_counts_application_charts_not_library_subchart_or_example_charts():
    charts = [
        chart("deploy"),
        chart("deploy/charts/redis", parent="deploy"),
        chart("charts/common", "library"),
        chart("examples/demo"),
    ]
    inv = [
        "Dockerfile",
        "deploy/Chart.yaml",
        "deploy/templates/deployment.yaml",
        "deploy/charts/redis/Chart.yaml",
        "deploy/charts/redis/templates/statefulset.yaml",
        "charts/common/Chart.yaml",
        "charts/common/templates/_helpers.tpl",
        "examples/demo/Chart.yaml",
        "examples/demo/templates/pod.yaml",
    ]
    assert hits(repo.single_service, repo_target(inv, charts=charts)) == []
    inv += ["charts/api/Chart.yaml", "charts/api/templates/deployment.yaml"]
    [h] = hits(repo.single_service, repo_target(inv, charts=charts + [chart("charts/api")]))
    assert h.path == "deploy/Chart.yaml" and "2 application charts" in h.message


def test_gc201_release_lines_of_one_chart_count_once():
    """camunda-platform-helm keeps charts/camunda-platform-8.3 ... -8.10, each named camunda-platform."""
    lines = [chart(f"charts/camunda-platform-8.{n}", name="camunda-platform") for n in (8, 9)]
    inv = [f"charts/camunda-platform-8.{n}/{f}" for n in (8, 9) for f in ("Chart.yaml", "templates/deployment.yaml")]
    assert hits(repo.single_service, repo_target(inv, charts=lines)) == []
    other = chart("charts/connectors", name="connectors")
    inv += ["charts/connectors/Chart.yaml", "charts/connectors/templates/deployment.yaml"]
    [h] = hits(repo.single_service, repo_target(inv, charts=lines + [other]))
    assert "2 application charts (charts/camunda-platform-8.8/Chart.yaml, charts/connectors" in h.message, h.message


# ------------------------------------------------------------ charts


def test_gc203_chart_with_only_helpers_or_notes_or_tests_renders_nothing():
    inv = [
        "chart/Chart.yaml",
        "chart/templates/_helpers.tpl",
        "chart/templates/NOTES.txt",
        "chart/templates/tests/test-connection.yaml",
    ]
    [h] = hits(repo.has_chart, repo_target(inv, charts=[chart("chart")]))
    assert "chart/Chart.yaml (no templates/ to render)" in h.message
    inv.append("chart/templates/deployment.yaml")
    assert hits(repo.has_chart, repo_target(inv, charts=[chart("chart")])) == []


def test_gc203_nested_umbrella_and_chart_at_the_root():
    charts = [chart("."), chart("charts/mid", parent="."), chart("charts/mid/charts/leaf", parent="charts/mid")]
    inv = [
        "Chart.yaml",
        "charts/mid/Chart.yaml",
        "charts/mid/charts/leaf/Chart.yaml",
        "charts/mid/charts/leaf/templates/deployment.yaml",
    ]
    assert hits(repo.has_chart, repo_target(inv, charts=charts)) == []
    assert hits(repo.single_service, repo_target(inv, charts=charts)) == []


def test_find_charts_on_a_real_tree(tmp_path):
    (tmp_path / "deploy" / "charts" / "cart" / "templates").mkdir(parents=True)
    (tmp_path / "deploy" / "Chart.yaml").write_text("apiVersion: v2\nname: shop\nversion: 1.0.0\n")
    (tmp_path / "deploy" / "charts" / "cart" / "Chart.yaml").write_text("apiVersion: v2\nname: cart\nversion: 1.0.0\n")
    (tmp_path / "deploy" / "charts" / "cart" / "templates" / "deployment.yaml").write_text("kind: Deployment\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "Chart.yaml").write_text("apiVersion: v2\nname: lib\ntype: library\nversion: 1.0.0\n")
    charts = {c.path: c for c in find_charts(walk(str(tmp_path)))}
    assert charts["deploy/charts/cart"].subchart_of == "deploy"
    assert charts["deploy"].subchart_of is None and not charts["deploy"].has_templates
    assert charts["lib"].type == "library"


# ------------------------------------------------------------ globs


@pytest.mark.parametrize(
    "pattern, path, matches",
    [
        ("tests/**/*.py", "tests/test_app.py", True),
        ("tests/**/*.py", "tests/unit/deep/x.py", True),
        ("tests/**/*.py", "svc/tests/x.py", True),  # from any directory boundary
        ("tests/**/*.py", "mytests/x.py", False),
        ("/tests/*.py", "svc/tests/x.py", False),  # a leading / anchors at the root
        ("/tests/*.py", "tests/x.py", True),
        ("src/test/**/*.java", "module-a/src/test/java/com/ex/CartTest.java", True),
        ("src/test/**/*.java", "src/main/java/com/ex/Cart.java", False),
        ("*.Tests/**/*.cs", "src/Cart.Tests/CartTests.cs", True),
        ("__tests__/**/*.js", "web/__tests__/a/b.js", True),
        ("src/*.py", "src/a/b.py", False),  # * stays within a directory
        ("src/**", "src/a/b.py", True),
        ("t?st/[a-c]*.py", "test/b.py", True),
        ("t?st/[!a-c]*.py", "test/b.py", False),
    ],
)
def test_path_globs(pattern, path, matches):
    assert globs.Glob(pattern).match(path) is matches


@pytest.mark.parametrize("pattern", ["[", "[]", "[!", "**", "***", "a/**/**/b", "\\", "(", "?*?*?*?*?*?*?*?*?*x"])
def test_odd_globs_do_not_crash_or_hang(pattern):
    started = time.process_time()  # CPU time: a loaded machine stretches wall time, not this
    found = repo.analyse_tests(
        ["a" * 200 + "/" + "b" * 200 + ".py", "src/app.py"], {"unit-test-patterns": {"python": [pattern]}}
    )
    assert set(found) == {"sources", "tests", "patterns"}
    assert time.process_time() - started < 1


# ------------------------------------------------------------ languages and tests


def langs(inv, **settings):
    return sorted(repo.analyse_tests(inv, {**DEFAULT_SETTINGS, **settings})["sources"])


def test_language_detection():
    assert langs(["main.go", "go.mod", "main_test.go"]) == ["go"]
    # JavaScript files without a package manifest are static assets of another service
    assert langs(["app.py", "static/site.js"]) == ["python"]
    assert langs(["app.py", "static/site.js", "package.json"]) == ["javascript", "python"]
    # a bundler's output is not source (kuberhealthy's Vite build in assets/ui/dist/)
    assert langs(["main.go", "ui/package.json", "ui/dist/assets/index-CdzaHT0j.js"]) == ["go"]
    # a test suite's package.json (TeaStore's Cypress suite in e2e-tests/) is not the assets' manifest
    assert langs(["App.java", "webui/js/site.js", "e2e-tests/package.json", "e2e-tests/cypress/a.cy.js"]) == ["java"]
    assert langs(["App.java", "webui/js/site.js", "webui/package.json", "e2e-tests/package.json"]) == [
        "java",
        "javascript",
    ]
    assert langs(["web/src/a.ts", "web/tsconfig.json"]) == ["typescript"]
    assert langs(["types/index.d.ts", "package.json"]) == []
    # tool configuration, generated code, tests, docs, examples and hidden dirs are not source
    assert (
        langs(
            [
                "jest.config.js",
                ".eslintrc.js",
                "package.json",
                "setup.py",
                "docs/conf.py",
                "examples/client/main.go",
                ".github/scripts/release.py",
                "api/cart.pb.go",
                "api/cart_pb2.py",
                "tests/helpers.py",
                "hack/gen.go",
                "pkg/testdata/x.go",
            ]
        )
        == []
    )
    # a library bundled under lib/ with a licence of its own is another project (fluent-bit's lib/onigmo), and
    # markdownlint.rb is mdl's style file; lib/ without a licence is the service's own code
    assert langs(["lib/onigmo/LICENSE", "lib/onigmo/tool/enc.rb", "lib/cmetrics/markdownlint.rb", "main.go"]) == ["go"]
    assert langs(["lib/util/helpers.rb", "Gemfile", "main.go"]) == ["go", "ruby"]
    assert langs(["build/gen.py", "main.go"]) == ["go"]  # chaos-mesh's build helpers
    assert langs(["release-tools/boilerplate/boilerplate.py", "main.go"]) == ["go"]  # kubernetes-csi's subtree
    # a directory named like a test one (longhorn's dev/scale-test/, e2e-tests/) holds test material
    assert langs(["dev/scale-test/scale-test.py", "e2e-tests/run.py", "test-utils/x.go", "main.go"]) == ["go"]
    # ory/keto: protoc-gen-es' gen/es/*_pb.js, connect-es' *_connect.js beside them, docs samples and example
    # configurations named with more words, test fixtures; a hand-written db_connect.js is the service's own
    generated = ["package.json", "gen/es/keto/check_pb.js", "gen/es/keto/check_connect.js", "gen/x_grpc_pb.ts"]
    samples = ["contrib/docs-code-samples/list.js", "contrib/cat-videos-example/ns.ts", "internal/testfixtures/a.js"]
    assert langs([*generated, *samples, "main.go"]) == ["go"]
    assert langs([*generated, "src/db_connect.js", "main.go"]) == ["go", "javascript"]
    # shell only counts when nothing else is there
    assert langs(["entrypoint.sh"]) == ["shell"]
    assert langs(["entrypoint.sh", "main.go"]) == ["go"]


def test_gc204_names_the_languages_without_tests():
    t = repo_target(
        [
            "go.mod",
            "cmd/cart/main.go",
            "internal/cart/cart_test.go",
            "requirements.txt",
            "tools/report/report.py",
            "web/package.json",
            "web/src/app.ts",
            "web/src/app.spec.ts",
        ]
    )
    [h] = hits(repo.has_unit_tests, t)
    assert h.message.startswith("no unit tests for python:") and "tools/report/report.py" in h.message
    assert h.extra == {"languages": ["go", "python", "typescript"], "without_tests": ["python"]}


def test_gc204_a_language_whose_files_a_tool_generated_has_no_code_to_test(tmp_path):
    """kyverno/chainsaw's only Ruby file is chainsaw.rb, the Homebrew formula GoReleaser writes ("This file was
    generated by GoReleaser. DO NOT EDIT."); a Ruby file someone wrote still needs its tests."""
    (tmp_path / "chainsaw.rb").write_text(
        "# typed: false\n# This file was generated by GoReleaser. DO NOT EDIT.\nclass Chainsaw < Formula\nend\n"
    )
    t = repo_target(["chainsaw.rb", "main.go", "main_test.go"])
    t.data.root = str(tmp_path)
    assert hits(repo.has_unit_tests, t) == []
    (tmp_path / "chainsaw.rb").write_text("class Chainsaw\n  def run; end\nend\n")
    [h] = hits(repo.has_unit_tests, t)
    assert h.message.startswith("no unit tests for ruby:"), h.message


def test_gc204_test_families_and_waived_languages():
    assert hits(repo.has_unit_tests, repo_target(["package.json", "src/index.js", "test/index.test.ts"])) == []
    assert (
        hits(repo.has_unit_tests, repo_target(["pom.xml", "src/main/kotlin/Cart.kt", "src/test/java/CartTest.java"]))
        == []
    )
    t = repo_target(["Gemfile", "app.rb", "main.go", "main_test.go"])
    assert len(hits(repo.has_unit_tests, t)) == 1
    # a language configured with no patterns needs no tests; other languages keep their defaults
    assert hits(repo.has_unit_tests, t, ctx(**{"unit-test-patterns": {"ruby": []}})) == []


def test_gc204_no_source_at_all():
    [h] = hits(repo.has_unit_tests, repo_target(["Dockerfile", "chart/Chart.yaml", "README.md"]))
    assert h.message.startswith("no source code found to test")


def test_gc202_messages():
    [h] = hits(repo.has_dockerfile, repo_target(["README.md"]))
    assert h.message.startswith("no Dockerfile")
    [h] = hits(repo.has_dockerfile, repo_target(["Dockerfile.dev", "test/Dockerfile"]))
    assert "Dockerfile.dev (development variant)" in h.message and "test/Dockerfile (under test/)" in h.message
    assert hits(repo.has_dockerfile, repo_target(["deploy/cart.Dockerfile"])) == []


# ------------------------------------------------------------ bad data


@dataclass
class Weird:
    inventory: object = None
    dockerfiles: object = None
    charts: object = None
    extra: dict = field(default_factory=dict)


@pytest.mark.parametrize("check", [repo.single_service, repo.has_dockerfile, repo.has_chart, repo.has_unit_tests])
def test_checks_survive_bad_data(check):
    bad_settings = ctx(**{"max-services-per-repo": "two", "unit-test-patterns": "everything"})
    t = Target(kind="repo", path=".", line=1, ref=ObjectRef("Repository"), data=Weird(inventory=None))
    with pytest.raises(NotApplicable):
        list(check(t, bad_settings))
    t.data = Weird(inventory=[None, 3, "", "a//b.go", "Dockerfile"], dockerfiles=[None, "Dockerfile"], charts=None)
    list(check(t, bad_settings))
    t.data = Weird(inventory=["x.py"], dockerfiles="Dockerfile", charts=[object(), None])
    list(check(t, bad_settings))
    t2 = repo_target(["app.py", "test_app.py"])
    list(check(t2, ctx(**{"unit-test-patterns": {"python": [None, 3, "test_*.py"], 7: ["x"]}})))


def test_repo_rules_only_run_on_directories(tmp_path, run_cli):
    (tmp_path / "configmap.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cart\n")
    single = run_cli("scan", "--isolated", "-f", "json", "configmap.yaml", cwd=tmp_path)
    doc = json.loads(single.stdout)
    assert not [o for o in doc["outcomes"] if o["rule_id"].startswith("GC20")]
    assert single.returncode == 0, single.stdout + single.stderr
    whole = run_cli("scan", "--isolated", "-f", "json", "--select", "GC202,GC203,GC204", ".", cwd=tmp_path)
    doc = json.loads(whole.stdout)
    got = sorted((f["rule_id"], f["path"], f["line"]) for f in doc["findings"])
    assert got == [("GC202", ".", 1), ("GC203", ".", 1), ("GC204", ".", 1)]
    assert whole.returncode == 1


def test_speed_on_a_large_inventory():
    # 50 000 files; the walker that builds such an inventory takes far longer than this
    inv = sorted(
        [f"services/svc{i % 50}/pkg/mod{i % 300}/file{i}.go" for i in range(36000)]
        + [f"services/svc{i % 50}/pkg/mod{i % 300}/file{i}_test.go" for i in range(0, 36000, 9)]
        + [f"web/src/components/c{i}.tsx" for i in range(10000)]
        + ["web/package.json", "web/src/components/c1.test.tsx"]
        + [f"services/svc{i}/Dockerfile" for i in range(50)]
    )
    t = repo_target(inv)
    started = time.process_time()  # CPU time, as above
    for check in (repo.single_service, repo.has_dockerfile, repo.has_chart, repo.has_unit_tests):
        list(check(t, ctx()))
    assert time.process_time() - started < 3.0


# ------------------------------------------------------------ bundled examples


def test_compliant_example_passes(run_cli):
    from conftest import ROOT

    proc = run_cli(
        "scan", "--isolated", "-f", "json", "--select", "GC0,GC2,GC3,GC4", str(ROOT / "examples" / "compliant-service")
    )
    doc = json.loads(proc.stdout)
    assert [(f["rule_id"], f["path"], f["line"], f["message"]) for f in doc["findings"]] == []
    assert proc.returncode == 0
    passed = {o["rule_id"] for o in doc["outcomes"] if o["status"] == "pass"}
    assert {"GC201", "GC202", "GC203", "GC204", "GC301", "GC304", "GC305"} <= passed


def test_noncompliant_example_fails_readably(run_cli):
    from conftest import ROOT

    proc = run_cli(
        "scan",
        "--isolated",
        "-f",
        "json",
        "--select",
        "GC0,GC2,GC3,GC4",
        str(ROOT / "examples" / "noncompliant-service"),
    )
    doc = json.loads(proc.stdout)
    active = {f["rule_id"] for f in doc["findings"] if not f["suppressed"]}
    assert {
        "GC002",
        "GC203",
        "GC204",
        "GC301",
        "GC302",
        "GC303",
        "GC304",
        "GC305",
        "GC306",
        "GC402",
        "GC403",
        "GC404",
        "GC405",
        "GC406",
    } <= active
    assert "GC001" not in active  # broken on purpose, but every file parses
    assert proc.returncode == 1


def test_compliant_example_unit_tests_pass():
    import subprocess
    import sys

    from conftest import ROOT

    example = ROOT / "examples" / "compliant-service"
    proc = subprocess.run(
        [sys.executable, "-m", "unittest", "discover", "-s", "tests"],
        cwd=example,
        env={"PYTHONPATH": str(example / "src"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


def test_gc204_rust_unit_tests_inside_the_source_files_count(tmp_path):
    """nginx-gateway-fabric's Rust module keeps its tests as `#[cfg(test)] mod tests` in src/*.rs (the Rust
    book's convention), with no tests/ directory or *_test.rs file."""
    (tmp_path / "src").mkdir()
    (tmp_path / "Cargo.toml").write_text("[package]\nname = 'g'\n")
    (tmp_path / "src" / "lib.rs").write_text("pub fn add(a: u8, b: u8) -> u8 { a + b }\n")
    (tmp_path / "src" / "decision.rs").write_text("pub fn d() {}\n")
    inventory = ["Cargo.toml", "src/decision.rs", "src/lib.rs"]

    def target():
        t = repo_target(inventory)
        t.data.root = str(tmp_path)  # RepoInfo.read reads from its root
        return t

    [h] = hits(repo.has_unit_tests, target())
    assert h.message.startswith("no unit tests for rust"), h.message
    (tmp_path / "src" / "decision.rs").write_text(
        "pub fn d() {}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn it() { super::d() }\n}\n"
    )
    assert hits(repo.has_unit_tests, target()) == []


def test_gc204_scripts_as_the_only_code_are_tested_by_another_language_s_unit_tests():
    """spiffe's chart repository: two release scripts are its only code outside tests/, and Ginkgo unit tests
    under tests/unit render its charts; the scripts need no *.bats of their own."""
    inventory = ["helm-docs.sh", "release-chart.sh", "charts/spire/Chart.yaml"]
    [h] = hits(repo.has_unit_tests, repo_target(inventory))
    assert h.message.startswith("no unit tests for shell"), h.message
    assert hits(repo.has_unit_tests, repo_target([*inventory, "tests/unit/spire_test.go"])) == []
    assert hits(repo.has_unit_tests, repo_target([*inventory, "tests/run.bats"])) == []


def test_gc204_a_docs_site_s_package_json_makes_no_javascript_of_static_assets():
    """polaris: a Go dashboard serves pkg/dashboard/assets/js/*.js; the only package.json is the VuePress docs'."""
    inventory = ["go.mod", "main.go", "main_test.go", "pkg/dashboard/assets/js/charts.js", "docs/package.json"]
    assert hits(repo.has_unit_tests, repo_target(inventory)) == []
    [h] = hits(repo.has_unit_tests, repo_target([*inventory, "package.json"]))
    assert h.message.startswith("no unit tests for javascript"), h.message


def test_gc201_a_dockerfile_fragment_without_from_is_no_image(tmp_path):
    """coherence-operator's Makefile appends extras/Tools.Dockerfile (RUN lines, no FROM) to its Dockerfile."""
    (tmp_path / "extras").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\n")
    (tmp_path / "extras" / "Tools.Dockerfile").write_text("\nRUN yum -y install bind-utils\n")
    t = repo_target(["Dockerfile", "extras/Tools.Dockerfile"])
    t.data.root = str(tmp_path)
    assert hits(repo.single_service, t) == []
    (tmp_path / "extras" / "Tools.Dockerfile").write_text("FROM debian:12\nRUN apt-get update\n")
    [h] = hits(repo.single_service, t)
    assert "2 images" in h.message, h.message


def test_gc201_a_documentation_site_image_is_no_service(tmp_path):
    """open-feature/flagd's root Dockerfile builds its docs site FROM squidfunk/mkdocs-material."""
    (tmp_path / "svc").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM squidfunk/mkdocs-material:9.7.1\nRUN pip install x\n")
    (tmp_path / "svc" / "Dockerfile").write_text("FROM golang:1.25-alpine AS b\nFROM alpine:3.20\n")
    t = repo_target(["Dockerfile", "svc/Dockerfile"])
    t.data.root = str(tmp_path)
    assert hits(repo.single_service, t) == []
    # a stage of the docs generator in a service's build is still a service
    (tmp_path / "Dockerfile").write_text("FROM squidfunk/mkdocs-material:9.7.1 AS docs\nFROM nginx:1.27\n")
    [h] = hits(repo.single_service, t)
    assert "2 images" in h.message, h.message


def test_gc201_a_data_image_is_no_service(tmp_path):
    """pyroscope's cmd/pyroscope/frontend.Dockerfile builds the UI and ends FROM scratch with the assets, no CMD
    or ENTRYPOINT (`docker build --output=ui/dist`): nothing runs in it. A scratch image with an ENTRYPOINT is a
    service."""
    (tmp_path / "web").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM golang:1.25-alpine AS b\nFROM alpine:3.20\n")
    (tmp_path / "web" / "frontend.Dockerfile").write_text(
        "FROM node:24 AS builder\nRUN yarn build\nFROM scratch\nCOPY --from=builder /ui/dist /\n"
    )
    t = repo_target(["Dockerfile", "web/frontend.Dockerfile"])
    t.data.root = str(tmp_path)
    assert hits(repo.single_service, t) == []
    (tmp_path / "web" / "frontend.Dockerfile").write_text(
        'FROM node:24 AS builder\nRUN yarn build\nFROM scratch\nCOPY --from=builder /srv /srv\nENTRYPOINT ["/srv"]\n'
    )
    [h] = hits(repo.single_service, t)
    assert "2 images" in h.message, h.message


def test_gc201_an_olm_catalog_image_is_no_service_wherever_it_is(tmp_path):
    """kube-green's catalog.Dockerfile sits at the repository root, as operator-sdk scaffolds it: FROM opm, with
    the file-based catalog's label. A product catalog service's catalog.Dockerfile is a service."""
    (tmp_path / "Dockerfile").write_text("FROM golang:1.25-alpine AS b\nFROM alpine:3.20\n")
    (tmp_path / "catalog.Dockerfile").write_text(
        "FROM quay.io/operator-framework/opm:latest as builder\nADD catalog /configs\n"
        "FROM quay.io/operator-framework/opm:latest\nCOPY --from=builder /configs /configs\n"
        "LABEL operators.operatorframework.io.index.configs.v1=/configs\n"
    )
    t = repo_target(["Dockerfile", "catalog.Dockerfile"])
    t.data.root = str(tmp_path)
    assert hits(repo.single_service, t) == []
    (tmp_path / "catalog.Dockerfile").write_text('FROM node:22-alpine\nCOPY . /app\nCMD ["node", "app"]\n')
    [h] = hits(repo.single_service, t)
    assert "2 images" in h.message, h.message


def test_gc201_a_template_of_dockerfiles_is_no_image(tmp_path):
    """mongodb-kubernetes-operator's Jinja Dockerfile.template (`{% if builder %}`, FROM {{builder_image}})."""
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text("FROM alpine:3.20\n")
    (tmp_path / "Dockerfile.template").write_text("{% if builder %}\nFROM {{builder_image}} AS builder\n{% endif %}\n")
    t = repo_target(["Dockerfile.template", "svc/Dockerfile"])
    t.data.root = str(tmp_path)
    assert hits(repo.single_service, t) == []
    # podtato-head's Porter Dockerfile.tmpl has no template syntax: its name says what it is
    (tmp_path / "porter").mkdir()
    (tmp_path / "porter" / "Dockerfile.tmpl").write_text("FROM debian:stretch\n# PORTER_MIXINS\n")
    t = repo_target(["porter/Dockerfile.tmpl", "svc/Dockerfile"])
    t.data.root = str(tmp_path)
    assert hits(repo.single_service, t) == []
    (tmp_path / "porter" / "Dockerfile").write_text("FROM debian:stretch\n")
    t = repo_target(["porter/Dockerfile", "svc/Dockerfile"])
    t.data.root = str(tmp_path)
    [h] = hits(repo.single_service, t)
    assert "2 images" in h.message, h.message
    # bank-vaults' .gitpod.Dockerfile: a developer's workspace image, not a service
    (tmp_path / ".gitpod.Dockerfile").write_text("FROM gitpod/workspace-full\n")
    t = repo_target([".gitpod.Dockerfile", "svc/Dockerfile"])
    t.data.root = str(tmp_path)
    assert hits(repo.single_service, t) == []


def test_gc204_load_test_scripts_are_no_source_without_tests():
    """grafana/quickpizza's k6/ holds k6 load-test scripts: tests themselves, not JavaScript without tests."""
    inv = ["go.mod", "main.go", "main_test.go", "package.json", "k6/foundations/01.basic.js", "benchmarks/b.js"]
    assert hits(repo.has_unit_tests, repo_target(inv)) == []


def test_gc204_a_test_star_java_file_is_a_test():
    """trust-manager's TestHTTPConnection.java is a Java client its Go test compiles and runs: Maven's Surefire
    counts Test*.java and *TestCase.java as tests too."""
    inv = ["go.mod", "main.go", "main_test.go", "pkg/truststore/TestHTTPConnection.java"]
    assert hits(repo.has_unit_tests, repo_target(inv)) == []
    [h] = hits(repo.has_unit_tests, repo_target(["pom.xml", "src/main/java/App.java"]))
    assert "no unit tests for java" in h.message
    assert hits(repo.has_unit_tests, repo_target(["pom.xml", "src/main/java/App.java", "x/AppTestCase.java"])) == []


def test_gc201_a_chart_that_renders_only_crds_is_no_service(tmp_path, run_cli):
    """fluent-operator's fluent-operator-fluent-bit-crds chart renders CustomResourceDefinitions only."""
    import json
    import shutil

    if shutil.which("helm") is None:
        pytest.skip("helm is needed to render the charts")
    crd = (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
        "  name: outputs.example.io\nspec:\n  group: example.io\n  names: {kind: Output, plural: outputs}\n"
        "  scope: Namespaced\n  versions: []\n"
    )
    deploy = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: op}\nspec:\n  selector: {matchLabels: {a: b}}\n"
        "  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: op, image: op:1.0.0}]}\n"
    )
    for name, template in (("operator", deploy), ("operator-crds", crd)):
        (tmp_path / "charts" / name / "templates").mkdir(parents=True)
        (tmp_path / "charts" / name / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: 1.0.0\n")
        (tmp_path / "charts" / name / "templates" / "t.yaml").write_text(template)
    r = run_cli("scan", "--isolated", "--select", "GC201", "-f", "json", str(tmp_path))
    assert json.loads(r.stdout)["findings"] == []
    (tmp_path / "charts" / "operator-crds" / "templates" / "t.yaml").write_text(deploy.replace("name: op}", "name: x}"))
    r = run_cli("scan", "--isolated", "--select", "GC201", "-f", "json", str(tmp_path))
    assert "2 application charts" in json.loads(r.stdout)["findings"][0]["message"]


def test_gc204_a_documentation_site_s_code_is_not_the_service_s():
    """karpenter's website/ is a Hugo site (hugo.yaml, package.json, assets/js): its JavaScript builds the site,
    and the service has Go with tests. The same files without the generator's configuration are source."""
    inv = ["go.mod", "main.go", "main_test.go", "website/hugo.yaml", "website/package.json", "website/assets/js/a.js"]
    assert hits(repo.has_unit_tests, repo_target(inv)) == []
    [h] = hits(repo.has_unit_tests, repo_target([r for r in inv if r != "website/hugo.yaml"]))
    assert "no unit tests for javascript" in h.message, h.message
