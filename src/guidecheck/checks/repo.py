"""Repository rules GC201-GC204 (guideline section 2: repository structure).

They look at a :class:`guidecheck.loaders.RepoInfo`, built when a *directory*
is scanned: the inventory of regular files (the walker skips ``.git``,
``node_modules``, ``vendor`` ...), the Dockerfiles and the Helm charts.  When
pre-commit passes single files there is no repository target and these rules
do not run.

What counts as *production* (shared by the four rules):

* a Dockerfile or chart under a test, example or documentation directory
  (``test/``, ``tests/``, ``testdata/``, ``e2e/``, ``examples/``, ``docs/``,
  ``hack/``, ``tools/``, ``sdk/`` ..., any directory named ``*-test``/``test-*``, and hidden
  directories such as ``.github/`` or ``.devcontainer/``) is not production;
* ``Dockerfile.dev``, ``Dockerfile-debug``, ``Dockerfile.test``, ``Dockerfile.ci``,
  ``Dockerfile.local``, ``dev.Dockerfile`` ... are development variants;
* ``Dockerfile.<anything else>`` / ``Dockerfile-<anything else>`` next to a
  ``Dockerfile`` are variants of the same image (``Dockerfile.cross``,
  ``Dockerfile-windows``, ``Dockerfile.alpine``): one service per directory;
  ``<name>.Dockerfile`` names a separate image ``<name>``.

Findings of GC202-GC204 are about something missing, so they sit on the
repository itself (its path, line 1).  GC201 is pinned to the first service
over the limit (its Dockerfile or Chart.yaml, line 1), where an editor can
show it; the message and ``extra.services`` list every service found.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from guidecheck import crossref, globs
from guidecheck.checks import Context, NotApplicable
from guidecheck.checks import settings as settings_of
from guidecheck.model import Hit, Target
from guidecheck.parsers import k8s

# Directories whose content is not the service itself.
NON_PRODUCTION_DIRS = frozenset(
    {
        "test",
        "tests",
        "testing",
        "testdata",
        "test-data",
        "test_data",
        "__tests__",
        "e2e",
        "e2e-tests",
        "integration",
        "integration-tests",
        "it",
        "spec",
        "fixtures",
        "example",
        "examples",
        "sample",
        "samples",
        "demo",
        "demos",
        "archive",
        "archived",
        "_archived",
        "doc",
        "docs",
        "documentation",
        "hack",
        # developer and build tooling: grafana/oncall's tools/migrators (a one-off migration a README runs with
        # docker run --rm), tempo's tools/Dockerfile and pixie's tools/docker/* (build images)
        "tools",
        "tooling",
        # a client SDK generated for the service's API (jobset's sdk/python, whose Dockerfile runs its unit tests)
        "sdk",
        "k6",
        "benchmark",
        "benchmarks",
        "molecule",  # Ansible Molecule's test scenarios and their driver images (kiali-operator's molecule/docker)
        "cypress",  # end-to-end tests of a UI (ory/hydra's cypress/: its JavaScript is the tests')
        "playwright",
    }
)
# test-e2e/, scale-test/, and with a leading underscore (kubernetes/git-sync's _test_tools/)
_TESTISH_DIR = re.compile(r"^_?(?:tests?|e2e)(?:[-_]|$)|[-_](?:tests?|e2e)$", re.IGNORECASE)
# a documentation site's tooling, named for its generator or for docs (trivy-operator's
# build/mkdocs-material/Dockerfile serves a preview of its documentation): no deployable service
_DOCS_TOOL_DIR = re.compile(
    r"^(?:mkdocs|sphinx|jekyll|docusaurus|antora|gitbook|hugo)(?:[-_].*)?$|^docs?[-_]|[-_]docs?$", re.IGNORECASE
)

# Words in a Dockerfile name that mark a development-only variant.
DEV_VARIANT_WORDS = frozenset(
    {
        "dev",
        "devel",
        "develop",
        "development",
        "debug",
        "test",
        "tests",
        "testing",
        "ci",
        "local",
        "e2e",
        "devcontainer",
        "integration",
        "profile",  # flagd's profile.Dockerfile: the service built with pprof, for profiling it
        "pprof",
        "profiling",
    }
)

# Words of a <name>.Dockerfile that name another way to build the directory's image, not another image:
# traefik/whoami's buildx.Dockerfile (multi-platform), cross, goreleaser's, a base-image flavour
BUILD_VARIANT_WORDS = frozenset(
    {
        "buildx",
        "cross",
        "multiarch",
        "multi",
        "arch",
        "platform",
        "arm",
        "arm64",
        "amd64",
        "windows",
        "linux",
        "goreleaser",
        "release",
        "alpine",
        "debian",
        "ubuntu",
        "ubi",
        "distroless",
        "slim",
        "static",
    }
)

_DOCKERFILE_BASES = ("dockerfile", "containerfile")
_SUFFIXES = (".dockerfile", ".containerfile")
_WORD_SPLIT = re.compile(r"[.\-_]+")

MAX_LISTED = 6


# ---------------------------------------------------------------- helpers


def _inventory(target: Target) -> Any:
    info = target.data
    inventory = getattr(info, "inventory", None)
    if not isinstance(inventory, list):
        raise NotApplicable("not a repository")
    return info


# A JVM source set's language directory (src/main/java, src/test/kotlin, ...): the directories below it are
# package names (com/example/demo, org/springframework/samples/...), never example or docs folders.
_JVM_SOURCE_LANGS = frozenset({"java", "kotlin", "scala", "groovy"})


def layout_dirs(directory: str) -> list[str]:
    """The segments of ``directory`` that say what its files are for: all of them, except the package
    directories below a source set's language directory (``src/<set>/java/com/example/...``), whose names
    are the code's namespace (``com.example.demo``), not a sample or documentation folder."""
    segs = directory.split("/") if directory else []
    for i in range(2, len(segs)):
        if segs[i].lower() in _JVM_SOURCE_LANGS and segs[i - 2] == "src":
            return segs[: i + 1]
    return segs


def non_production_dir(relpath: str) -> str | None:
    """The directory segment that makes ``relpath`` test/example/docs material, if any."""
    cut = relpath.rfind("/")
    for seg in layout_dirs(relpath[: max(cut, 0)]):
        if not seg:
            continue
        if seg.startswith("."):
            return seg
        low = seg.lower()
        if low in NON_PRODUCTION_DIRS or _TESTISH_DIR.search(low) or _DOCS_TOOL_DIR.search(low):
            return seg
    return None


def _display(target: Target, rel: str) -> str:
    base = target.path
    return rel if base in ("", ".") else f"{base.rstrip('/')}/{rel}"


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    if len(items) > MAX_LISTED:
        shown += f" and {len(items) - MAX_LISTED} more"
    return shown


def _dirname(rel: str) -> str:
    return rel.rsplit("/", 1)[0] if "/" in rel else "."


_VERSION_DIR = re.compile(r"^v?\d+(?:\.\d+){0,3}$")


# the words of a <name>.Dockerfile's name that say it builds the documentation
_DOCS_WORDS = frozenset({"doc", "docs", "documentation", "mkdocs", "sphinx", "website"})


def classify_dockerfile(rel: str) -> tuple[str, str | None]:
    """``(service key, None)`` for a production Dockerfile, ``("", why)`` otherwise."""
    where = non_production_dir(rel)
    if where is not None:
        return "", f"under {where}/"
    name = rel.rsplit("/", 1)[-1]
    low = name.lower()
    directory = _dirname(rel)
    parent = directory.rsplit("/", 1)[-1].lower()
    if name.startswith("."):
        return "", "development variant"  # .gitpod.Dockerfile: a developer's workspace image (bank-vaults)
    if "/" in directory and _VERSION_DIR.match(parent):
        # versions of one image side by side (aks-voting-app's src/voting-app/1.0, 1.1, 2.0): one service
        directory = directory.rsplit("/", 1)[0]
    if parent in DEV_VARIANT_WORDS:
        return "", "development variant"  # slok/sloth's docker/dev/Dockerfile: the toolchain image of `make`
    if directory != "." and "olm" in directory.lower().split("/") and low.split(".")[0] in ("catalog", "index"):
        return "", "an OLM catalog image: the operator's bundles, not a service"
    if low in _DOCKERFILE_BASES:
        return directory, None
    for suffix in _SUFFIXES:
        if low.endswith(suffix) and len(low) > len(suffix):
            stem = low[: -len(suffix)]
            words = set(_WORD_SPLIT.split(stem)) - {""}
            if words & DEV_VARIANT_WORDS:
                return "", "development variant"
            if words & _DOCS_WORDS:
                # robusta's docs.Dockerfile: a preview of its documentation site (CMD ./docs_autobuild.sh)
                return "", "a documentation image"
            if stem == "bundle" or re.match(r"bundle[-_.]v?\d", stem):
                # operator-sdk's bundle.Dockerfile: FROM scratch, the operator's manifests for OLM (percona keeps
                # one per release: deploy/csv/redhat/bundle-1.7.0.Dockerfile)
                return "", "an OLM bundle image: the operator's manifests, not a service"
            if words <= BUILD_VARIANT_WORDS:
                return directory, None  # buildx.Dockerfile, goreleaser.Dockerfile: the directory's image
            return f"{directory}:{stem}", None
    for base in _DOCKERFILE_BASES:
        if low.startswith(base) and len(low) > len(base) and low[len(base)] in ".-_":
            words = set(_WORD_SPLIT.split(low[len(base) + 1 :])) - {""}
            if words & DEV_VARIANT_WORDS:
                return "", "development variant"
            return directory, None  # Dockerfile.cross, Dockerfile-windows: same image, other platform
    return directory, None


def dockerfile_services(dockerfiles: Iterable[str]) -> tuple[list[list[str]], list[str]]:
    """Production Dockerfiles grouped by service (sorted), and the others with why they do not count."""
    groups: dict[str, list[str]] = {}
    skipped: list[str] = []
    for rel in sorted(d for d in dockerfiles if isinstance(d, str)):
        key, why = classify_dockerfile(rel)
        if why is not None:
            skipped.append(f"{rel} ({why})")
        else:
            groups.setdefault(key, []).append(rel)

    def primary_first(paths: list[str]) -> list[str]:
        return sorted(paths, key=lambda p: (p.rsplit("/", 1)[-1].lower() not in _DOCKERFILE_BASES, p))

    services = [primary_first(v) for v in groups.values()]
    services.sort(key=lambda paths: paths[0])
    return services, skipped


def rendering_charts(chart_dirs: set[str], inventory: list) -> set[str]:
    """Chart directories with a template Helm renders (not only _helpers.tpl, NOTES.txt or tests/).

    One pass over the inventory, whatever the number of charts.
    """
    found: set[str] = set()
    for p in inventory:
        if not isinstance(p, str) or "templates/" not in p:
            continue
        i = p.find("templates/")
        while i >= 0:
            if i == 0 or p[i - 1] == "/":
                d = p[: i - 1] if i else "."
                rest = p[i + len("templates/") :]
                name = rest.rsplit("/", 1)[-1]
                if (
                    d in chart_dirs
                    and not name.startswith("_")
                    and name != "NOTES.txt"
                    and not rest.startswith("tests/")
                ):
                    found.add(d)
            i = p.find("templates/", i + 1)
    return found


def chart_report(info: Any) -> tuple[list[Any], dict[str, str]]:
    """Deployable application charts, and why each other chart does not count."""
    charts = [c for c in (getattr(info, "charts", None) or []) if isinstance(getattr(c, "path", None), str)]
    rendering = rendering_charts({c.path for c in charts}, info.inventory)
    renders = {c.path: c.path in rendering for c in charts}
    # an umbrella chart deploys through its vendored subcharts (deepest first: nested umbrellas)
    for c in sorted(charts, key=lambda c: -c.path.count("/")):
        parent = getattr(c, "subchart_of", None)
        if parent is not None and renders.get(c.path) and getattr(c, "type", "") != "library":
            renders[parent] = True
    deployable, other = [], {}
    for c in sorted(charts, key=lambda c: c.path):
        where = non_production_dir(c.chart_yaml) if isinstance(c.chart_yaml, str) else None
        if getattr(c, "subchart_of", None) is not None:
            other[c.chart_yaml] = f"subchart of {c.subchart_of}"
        elif getattr(c, "type", "application") == "library":
            other[c.chart_yaml] = "library chart"
        elif where is not None:
            other[c.chart_yaml] = f"under {where}/"
        elif not renders.get(c.path):
            other[c.chart_yaml] = "no templates/ to render"
        else:
            deployable.append(c)
    return deployable, other


# ---------------------------------------------------------------- GC201


_FROM_LINE = re.compile(r"^[ \t]*FROM[ \t]", re.IGNORECASE | re.MULTILINE)


# the images of documentation site generators: a Dockerfile built only FROM one of them serves docs, not the service
_DOCS_IMAGE = re.compile(
    r"^[ \t]*FROM[ \t]+(?:--\S+[ \t]+)*(?:[\w.-]+(?::\d+)?/)?(?:squidfunk/mkdocs-material|[\w-]+/mkdocs\b|"
    r"sphinxdoc/sphinx|jekyll/jekyll|klakegg/hugo|hugomods/hugo|peaceiris/hugo|[\w-]+/docusaurus)",
    re.IGNORECASE | re.MULTILINE,
)


# an OLM catalog (index) image: built FROM operator-framework's opm, or labelled with its file-based catalog's
# location (kube-green's catalog.Dockerfile at the repository root, as operator-sdk scaffolds it): the operator's
# bundles for OLM, not a service, wherever it is
_OLM_CATALOG = re.compile(
    r"^[ \t]*FROM[ \t]+(?:--\S+[ \t]+)*(?:[\w.-]+(?::\d+)?/)?operator-framework/(?:opm|upstream-opm-builder)\b"
    r"|\boperators\.operatorframework\.io\.index\.configs\.v1\b",
    re.IGNORECASE | re.MULTILINE,
)


# a FROM whose image is a template placeholder ({{ base }}, %%BASE%%) or inside Jinja tags: a template of
# Dockerfiles, which GC001 notes as such
_TEMPLATE_FROM = re.compile(r"^[ \t]*FROM[ \t][^\n]*(?:\{\{|%%[A-Z_]+%%)|^[ \t]*\{%-?[ \t]*(?:if|block|for)\b", re.M)


# a name that says the file is a template other tooling fills in (Porter's Dockerfile.tmpl, Dockerfile.in,
# Dockerfile.j2): not built as it is
_TEMPLATE_NAME = re.compile(r"\.(?:tmpl|template|tpl|j2|jinja2?|in|mustache|gotmpl)$", re.IGNORECASE)


# an instruction that builds something on a stage (anything but FROM, ARG and the parser directives)
_BUILD_LINE = re.compile(r"^[ \t]*(?!FROM\b|ARG\b|#)[A-Za-z]+[ \t]", re.IGNORECASE | re.MULTILINE)


_AS_NAME = re.compile(r"^[ \t]*FROM[ \t][^\n]*[ \t]AS[ \t]+\S+[ \t]*$", re.IGNORECASE | re.MULTILINE)


# a FROM line's image, and the start of a CMD or ENTRYPOINT instruction
_FROM_IMAGE = re.compile(r"^[ \t]*FROM[ \t]+(?:--\S+[ \t]+)*(\S+)", re.IGNORECASE | re.MULTILINE)
_RUNS = re.compile(r"^[ \t]*(?:CMD|ENTRYPOINT)\b", re.IGNORECASE | re.MULTILINE)


def _data_image(text: str) -> bool:
    """A final stage FROM scratch with no CMD or ENTRYPOINT: files, in which nothing runs (pyroscope's
    frontend.Dockerfile, built with --output to export the UI's assets; an OLM bundle), as GC301 reads it."""
    last = None
    for m in _FROM_IMAGE.finditer(text):
        last = m
    return last is not None and last.group(1).lower() == "scratch" and not _RUNS.search(text, last.end())


def _buildable(info: Any, images: list[list[str]]) -> list[list[str]]:
    """``images`` without the Dockerfiles that hold no FROM: fragments a build appends to another Dockerfile
    (coherence-operator's debug/Tools.Dockerfile, `cat Dockerfile debug/Tools.Dockerfile`), no image of
    their own; and without those built only FROM a documentation generator (flagd's root Dockerfile, FROM
    squidfunk/mkdocs-material) or as an OLM catalog (FROM opm), and data images (a final FROM scratch that runs
    nothing). Read through the repository's bounded reader;
    kept when it cannot be read."""
    read = getattr(info, "read", None)
    if read is None:
        return images
    out = []
    for group in images:
        kept = []
        for rel in group:
            if _TEMPLATE_NAME.search(rel):
                continue
            text = read(rel, 1024 * 1024)
            if text is None:
                kept.append(rel)
                continue
            froms = _FROM_LINE.findall(text)
            if len(froms) > 1 and not _BUILD_LINE.search(text) and len(_AS_NAME.findall(text)) == len(froms):
                continue  # only FROM lines: pinned images a tool reads (opentelemetry-go-instrumentation's)
            if _TEMPLATE_FROM.search(text):
                continue  # a template of Dockerfiles (mongodb's Jinja Dockerfile.template): not built as it is
            if _OLM_CATALOG.search(text):
                continue
            if _data_image(text):
                continue
            if froms and len(_DOCS_IMAGE.findall(text)) < len(froms):
                kept.append(rel)
        if kept:
            out.append(kept)
    return out


def single_service(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC201: at most ``max-services-per-repo`` production images and application charts."""
    info = _inventory(target)
    limit = ctx.settings["max-services-per-repo"]
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        limit = settings_of.default("max-services-per-repo")
    images, _ = dockerfile_services(getattr(info, "dockerfiles", None) or [])
    images = _buildable(info, images)
    charts, _ = chart_report(info)
    charts = [c for c in charts if not _renders_no_workload(c, target, ctx)]
    # release lines of one chart (camunda's charts/camunda-platform-8.3 ... -8.10, all named camunda-platform)
    # deploy one service: the first directory of each chart name counts
    named: set[str] = set()
    charts = [c for c in charts if not c.name or not (c.name in named or named.add(c.name))]  # type: ignore[func-returns-value]
    image_paths = [group[0] for group in images]
    chart_paths = [c.chart_yaml for c in charts]
    if len(image_paths) <= limit and len(chart_paths) <= limit:
        return
    parts = []
    if len(image_paths) > limit:
        parts.append(f"{len(image_paths)} images ({_listed(image_paths)})")
    if len(chart_paths) > limit:
        parts.append(f"{len(chart_paths)} application charts ({_listed(chart_paths)})")
    pin = image_paths[limit] if len(image_paths) > limit else chart_paths[limit]
    yield Hit(
        f"repository holds more than {limit} deployable service{'s' if limit > 1 else ''}: " + "; ".join(parts),
        line=1,
        path=_display(target, pin),
        extra={"services": {"dockerfiles": [list(g) for g in images], "charts": chart_paths}, "limit": limit},
    )


def _renders_no_workload(chart: Any, target: Target, ctx: Context) -> bool:
    """Whether the chart rendered objects and none is a workload (fluent-operator's -crds charts: CRDs only),
    so it deploys no service. A chart that did not render is counted, as its templates say."""
    prefix = crossref.repo_prefix(target)
    shown = prefix.rstrip("/") if chart.path == "." else prefix + chart.path
    kinds = set(ctx.settings.get("workload-kinds") or ())

    def index(c: Context) -> dict[str, bool]:
        out: dict[str, bool] = {}
        for t in c.of_kind("k8s"):
            origin = t.origin or {}
            if origin.get("source") != "helm" or not isinstance(t.data, dict):
                continue
            key = str(origin.get("chart"))
            out[key] = out.get(key, False) or t.data.get("kind") in kinds or k8s.operator_workload(t.data)
        return out

    rendered = ctx.cached("repo.chart-workloads", index)
    return shown in rendered and not rendered[shown]


# ---------------------------------------------------------------- GC202


def has_dockerfile(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC202: a production Dockerfile (Dockerfile, Dockerfile.*, *.Dockerfile, Containerfile)."""
    info = _inventory(target)
    images, skipped = dockerfile_services(getattr(info, "dockerfiles", None) or [])
    if images:
        return
    if skipped:
        yield Hit(f"no production Dockerfile: {_listed(skipped)}", line=1)
    else:
        yield Hit("no Dockerfile (looked for Dockerfile, Dockerfile.*, *.Dockerfile, Containerfile)", line=1)


# ---------------------------------------------------------------- GC203


def has_chart(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC203: an application Helm chart with templates."""
    info = _inventory(target)
    deployable, other = chart_report(info)
    if deployable:
        return
    if other:
        why = [f"{path} ({reason})" for path, reason in sorted(other.items())]
        yield Hit(f"no deployable Helm chart: {_listed(why)}", line=1)
    else:
        yield Hit("no Helm chart (Chart.yaml with templates/)", line=1)


# ---------------------------------------------------------------- GC204

# language -> source file extensions
SOURCE_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "go": (".go",),
    "python": (".py",),
    "javascript": (".js", ".mjs", ".cjs", ".jsx"),
    "typescript": (".ts", ".tsx", ".mts", ".cts"),
    "java": (".java",),
    "kotlin": (".kt",),
    "csharp": (".cs",),
    "ruby": (".rb",),
    "rust": (".rs",),
    "php": (".php",),
}
SHELL_EXTENSIONS = (".sh", ".bash")
# JavaScript/TypeScript files count as the service's code only with a package manifest
# (otherwise they are static assets of a service written in another language).
NEEDS_MANIFEST = {"javascript": ("package.json",), "typescript": ("package.json", "tsconfig.json")}
# tests written in one language of a family count for the other
FAMILIES = ({"javascript", "typescript"}, {"java", "kotlin"})

# generated code: protobuf and gRPC stubs (Go, Python, and protoc-gen-es's / grpc-tools' *_pb.js, *_grpc_pb.js for
# JavaScript and TypeScript: ory/keto's gen/es), Kubernetes deepcopy, type declarations, minified bundles
_GENERATED = re.compile(
    r"(?:\.pb\.go|\.pb\.gw\.go|^zz_generated.*\.go|_pb2(?:_grpc)?\.pyi?|(?:_grpc)?_pb\.[cm]?[jt]s|\.d\.ts|\.min\.js)$"
)
_TOOLING = re.compile(
    r"^(?:\..*|.*\.config\.[cm]?[jt]s|setup\.py|noxfile\.py|conftest\.py|gulpfile\.js|Gruntfile\.js|"
    r"markdownlint\.rb)$"  # markdownlint.rb: mdl's style file (fluent-bit's libraries keep one)
)
# directories holding neither the service's code nor its tests
_NO_CODE_DIRS = frozenset(
    {
        "doc",
        "docs",
        "documentation",
        "example",
        "examples",
        "sample",
        "samples",
        "demo",
        "demos",
        "hack",
        "scripts",
        "script",
        "build",  # build helpers (chaos-mesh's build/*.py), never the service's code
        "dist",  # a bundler's output (kuberhealthy's assets/ui/dist/assets/index-*.js, built by Vite)
        "release-tools",  # kubernetes-csi's shared csi-release-tools subtree (boilerplate.py, prow.sh)
        "testdata",
        "test-data",
        "test_data",
        "fixtures",
    }
)
# k6/ and benchmark(s)/: load and performance tests (grafana/quickpizza's k6 scripts), not the service's code
_TEST_DIRS = frozenset(
    {"test", "tests", "testing", "__tests__", "e2e", "integration", "it", "spec", "k6", "benchmark", "benchmarks"}
)


def unit_test_patterns(settings: Mapping[str, Any]) -> dict[str, list[str]]:
    """``unit-test-patterns`` over the defaults, per language (merge: merge-keys; a language given replaces its
    default list), language names lower-cased, empty and non-string patterns dropped.

    A value of the wrong type (only in settings built in code: the configuration is validated) is ignored: the
    whole setting, or one language's list, falls back to the default.
    """
    defaults = settings_of.default("unit-test-patterns")
    merged = settings_of.effective(settings, "unit-test-patterns")
    if not isinstance(merged, dict):
        merged = defaults
    out: dict[str, list[str]] = {}
    for lang, pats in merged.items():
        if not isinstance(pats, list):
            pats = defaults.get(lang)
        if isinstance(lang, str) and isinstance(pats, list):
            out[lang.lower()] = [p for p in pats if isinstance(p, str) and p]
    return out


_PB_STUB = re.compile(r"_pb\.[cm]?[jt]s$")
_CONNECT_STUB = re.compile(r"_connect\.([cm]?[jt]s)$")

# example, sample and fixture directories named with more words (ory/keto's contrib/docs-code-samples,
# cat-videos-example, internal/check/testfixtures)
_NO_CODE_WORDS = frozenset({"example", "examples", "sample", "samples", "fixture", "fixtures", "testfixtures"})


def _dir_kind(directory: str) -> int:
    """0: a directory of code; 1: of tests; 2: neither (docs, examples, hidden directories)."""
    dirs = [s.lower() for s in layout_dirs(directory)]
    if any(
        s.startswith(".") or s in _NO_CODE_DIRS or not _NO_CODE_WORDS.isdisjoint(_WORD_SPLIT.split(s)) for s in dirs
    ):
        return 2
    # scale-test/, e2e-tests/, test-utils/: test material as non_production_dir() counts it (longhorn's
    # dev/scale-test/scale-test.py is a test driver, not service code without unit tests)
    return 1 if any(s in _TEST_DIRS or _TESTISH_DIR.search(s) for s in dirs) else 0


# directories that hold other projects' sources in C and C++ repositories (fluent-bit's lib/onigmo, lib/cmetrics)
_LIBRARY_PARENTS = frozenset({"lib", "libs", "deps", "external", "extern", "3rdparty", "thirdparty", "contrib"})
_LICENSE_FILE = re.compile(r"^(?:LICEN[CS]E|COPYING)(?:[.-][\w.-]*)?$", re.I)


def _bundled_libraries(inventory: list[str]) -> set[str]:
    """Directories ``lib/<name>`` (deps/, external/, 3rdparty/ ...) with a licence file of their own: another
    project's copy, whose languages and tests are not the service's (fluent-bit bundles Onigmo's Ruby tools)."""
    out: set[str] = set()
    for rel in inventory:
        if not isinstance(rel, str) or rel.count("/") < 2:
            continue
        directory, _, name = rel.rpartition("/")
        parent, _, _lib = directory.rpartition("/")
        if _LICENSE_FILE.match(name) and parent.rpartition("/")[2].lower() in _LIBRARY_PARENTS:
            out.add(directory)
    return out


# the configuration file of a documentation site generator, at the site's root (karpenter's website/hugo.yaml,
# whose package.json and JavaScript build the site): its code is the site's, not the service's
_DOCS_SITE_CONFIG = re.compile(
    r"^(?:hugo\.(?:ya?ml|toml|json)|mkdocs\.ya?ml|docusaurus\.config\.[cm]?[jt]s|antora(?:-playbook)?\.ya?ml|"
    r"book\.toml|\.vitepress)$"
)


def _docs_sites(inventory: list[str]) -> set[str]:
    """Directories (below the repository's root) holding a documentation site generator's configuration."""
    out: set[str] = set()
    for rel in inventory:
        if not isinstance(rel, str) or "/" not in rel:
            continue
        directory, _, name = rel.rpartition("/")
        if _DOCS_SITE_CONFIG.match(name):
            out.add(directory)
        elif name.startswith("config.") and directory.endswith("/.vitepress"):
            parent = directory.rpartition("/")[0]
            if parent:
                out.add(parent)
    return out


def _under_any(directory: str, roots: set[str]) -> bool:
    return bool(roots) and any(directory == r or directory.startswith(r + "/") for r in roots)


class _Files:
    """One pass over the inventory: file names, candidate source files per language, shell scripts, code files."""

    def __init__(self, inventory: list[str]) -> None:
        self.names: set[str] = set()
        self.candidates: dict[str, list[tuple[str, str]]] = {}
        self.shell: list[str] = []
        self.code_files: list[tuple[str, str]] = []  # (path, name) outside docs/examples/hidden dirs
        self.code_names: set[str] = set()  # file names outside test directories too
        self._ext_lang = {ext: lang for lang, exts in SOURCE_EXTENSIONS.items() for ext in exts}
        self._dir_kind: dict[str, int] = {}
        self._bundled = _bundled_libraries(inventory) | _docs_sites(inventory)
        # connect-es' *_connect.js beside protoc-gen-es' *_pb.js of the same stem: generated too (a hand-written
        # db_connect.js has no db_pb.js beside it)
        self._stubs = {rel for rel in inventory if isinstance(rel, str) and _PB_STUB.search(rel)}
        for rel in inventory:
            if isinstance(rel, str) and rel:
                self._add(rel)
        for lang, manifests in NEEDS_MANIFEST.items():
            if lang in self.candidates and not self.code_names.intersection(manifests):
                del self.candidates[lang]

    def _add(self, rel: str) -> None:
        cut = rel.rfind("/")
        directory, name = rel[: max(cut, 0)], rel[cut + 1 :]
        kind = self._dir_kind.get(directory)
        if kind is None:
            kind = self._dir_kind[directory] = 2 if _under_any(directory, self._bundled) else _dir_kind(directory)
        if kind == 2:
            return  # a docs site's package.json (polaris' docs/) makes no JavaScript of the service's assets
        self.names.add(name)
        if kind == 0:
            # a package.json outside test directories: a test suite's own (TeaStore's Cypress suite in e2e-tests/,
            # fission's test functions) makes no JavaScript of the service's static assets
            self.code_names.add(name)
        self.code_files.append((rel, name))
        if kind == 1 or _GENERATED.search(name) or _TOOLING.match(name):
            return
        m = _CONNECT_STUB.search(rel)
        if m and f"{rel[: m.start()]}_pb.{m.group(1)}" in self._stubs:
            return
        dot = name.rfind(".")
        if dot <= 0:
            return
        ext = name[dot:].lower()
        if ext in SHELL_EXTENSIONS:
            self.shell.append(rel)
        elif ext in self._ext_lang:
            self.candidates.setdefault(self._ext_lang[ext], []).append((rel, name))


def _first_tests(code_files: list[tuple[str, str]], pending: list[str], matcher) -> dict[str, str | None]:
    """For each language of ``pending``, the first of ``code_files`` its test patterns match (or None)."""
    tests: dict[str, str | None] = dict.fromkeys(pending)
    checks = [(lang, matcher(lang)) for lang in pending]
    for rel, name in code_files:
        if not checks:
            break
        found = [lang for lang, is_test in checks if is_test(rel, name)]
        if found:
            for lang in found:
                tests[lang] = rel
            checks = [(lang, is_test) for lang, is_test in checks if lang not in found]
    return tests


# languages whose unit tests live inside the source files: Rust's `#[cfg(test)] mod tests` (the Rust book's
# convention; nginx-gateway-fabric's ai-guardrails module holds 99 #[test]s that way, no tests/ directory)
_INLINE_TESTS = {"rust": re.compile(r"#\[cfg\(test\)\]")}
_INLINE_FILES = 200  # source files read per language, at most
_INLINE_BYTES = 512 * 1024  # bytes read per file, at most


def _inline_test(read: Callable[[str, int], str | None], sources: list[str], marker: re.Pattern[str]) -> str | None:
    """The first of ``sources`` holding ``marker`` (``read``: the repository's bounded reader)."""
    for rel in sources[:_INLINE_FILES]:
        text = read(rel, _INLINE_BYTES)
        if text is not None and marker.search(text):
            return rel
    return None


def analyse_tests(
    inventory: list[str], settings: Mapping[str, Any], read: Callable[[str, int], str | None] | None = None
) -> dict[str, Any]:
    """Languages with source files, and for each the first test file found (or None).

    Two passes keep this linear and cheap on large repositories: candidate
    source files are found by extension, then only the detected languages'
    test patterns are tried, stopping at the first test file.
    """
    patterns = unit_test_patterns(settings)
    files = _Files(inventory)
    matchers: dict[str, Any] = {}

    def matcher(lang: str):
        if lang not in matchers:
            matchers[lang] = globs.matcher(patterns.get(lang) or [])
        return matchers[lang]

    sources: dict[str, list[str]] = {}
    for lang, candidates in files.candidates.items():
        is_test = matcher(lang)
        kept = [rel for rel, name in candidates if not is_test(rel, name)]  # a test file is not source
        if kept:
            sources[lang] = kept
    if not sources and files.shell:
        sources["shell"] = files.shell
    # one pass over the files for every language (and family member) still without a test
    pending = sorted({m for lang in sources for m in next((f for f in FAMILIES if lang in f), {lang})})
    tests = _first_tests(files.code_files, pending, matcher)
    if set(sources) == {"shell"} and not tests.get("shell"):
        # scripts are the only code, but the repository holds unit tests of another language (spiffe's chart
        # repository: Ginkgo tests under tests/unit render its charts; its two scripts are release tooling)
        others = _first_tests(files.code_files, sorted(set(patterns) - {"shell"}), matcher)
        tests["shell"] = next((rel for rel in others.values() if rel), None)
    for lang, marker in _INLINE_TESTS.items():
        if read is not None and lang in sources and not tests.get(lang) and patterns.get(lang):
            tests[lang] = _inline_test(read, sources[lang], marker)
    return {"sources": sources, "tests": tests, "patterns": patterns}


def _chart_unit_tests(info: Any) -> list[str]:
    """helm-unittest suites of the repository's application charts: ``<chart>/tests/**/*_test.yaml``, the
    plugin's default ``--file`` pattern."""
    inventory = getattr(info, "inventory", None) or []
    prefixes = tuple(
        ("" if chart.path == "." else chart.path + "/") + "tests/"
        for chart in getattr(info, "charts", None) or ()
        if getattr(chart, "type", "") == "application"
    )
    if not prefixes:
        return []
    return [r for r in inventory if r.startswith(prefixes) and r.endswith(("_test.yaml", "_test.yml"))]


def _chart_go_tests(info: Any) -> list[str]:
    """Go tests that render the repository's charts with terratest's helm module (qdrant-helm's
    test/*_test.go: helm.RenderTemplate), when it has application charts: their unit tests, as helm-unittest
    suites are. The first 64 ``_test.go`` files are read, through the repository's bounded reader."""
    read = getattr(info, "read", None)
    if read is None or not any(getattr(c, "type", "") == "application" for c in getattr(info, "charts", None) or ()):
        return []
    out = []
    for rel in [r for r in getattr(info, "inventory", None) or () if r.endswith("_test.go")][:64]:
        text = read(rel, 256 * 1024) or ""
        if "gruntwork-io/terratest/modules/helm" in text:
            out.append(rel)
    return out


# a generator's mark at the top of a file (GoReleaser's Homebrew formula: "This file was generated by GoReleaser.
# DO NOT EDIT."; Go's "Code generated ... DO NOT EDIT.")
_GENERATED_MARK = re.compile(r"(?i)\b(?:generated by|code generated|do not edit|auto-?generated)\b")


def _all_generated(files: list[str], read: Callable[[str, int], str | None] | None) -> bool:
    """Whether a language's few source files (16 at most) all say, in their first 2 KiB, that a tool generated them
    (kyverno/chainsaw's only Ruby file is the Homebrew formula GoReleaser writes): no code to test."""
    if read is None or not files or len(files) > 16:
        return False
    return all(_GENERATED_MARK.search((read(f, 2048) or "")[:2048]) for f in files)


def has_unit_tests(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC204: every language with source files has at least one unit test file."""
    info = _inventory(target)
    found = analyse_tests(info.inventory, ctx.settings, getattr(info, "read", None))
    sources, tests, patterns = found["sources"], found["tests"], found["patterns"]
    if not sources:
        suites = _chart_unit_tests(info)
        if suites:
            # a chart repository's code is its charts: helm-unittest suites are their unit tests (coredns/helm)
            n = len(suites)
            ctx.note_evidence(target, f"{n} helm-unittest suite{'s' if n != 1 else ''} of its charts, e.g. {suites[0]}")
            return
        go_tests = _chart_go_tests(info)
        if go_tests:
            n = len(go_tests)
            ctx.note_evidence(
                target, f"{n} Go test{'s' if n != 1 else ''} rendering its charts with terratest, e.g. {go_tests[0]}"
            )
            return
        yield Hit(
            "no source code found to test (no Go, Python, JavaScript/TypeScript, Java/Kotlin, C#, Ruby, "
            "Rust or PHP files outside test, example and documentation directories, and no helm-unittest suite "
            "or terratest Go test of a chart)",
            line=1,
        )
        return
    missing = []
    for lang in sorted(sources):
        if lang in patterns and not patterns[lang]:
            continue  # configured with no patterns: this language needs no unit tests
        family = next((f for f in FAMILIES if lang in f), {lang})
        if any(tests.get(member) for member in family):
            continue
        missing.append(lang)
    read = getattr(info, "read", None)
    missing = [lang for lang in missing if not _all_generated(sources[lang], read)]
    if not missing:
        return
    details = []
    for lang in missing:
        pats = patterns.get(lang) or []
        sample = next((f for f in sources[lang] if not f.endswith("/__init__.py")), sources[lang][0])
        n = len(sources[lang])
        details.append(
            f"{lang} ({n} source file{'s' if n != 1 else ''}, e.g. {sample}; "
            f"looked for {', '.join(pats[:4]) or 'no patterns configured'})"
        )
    yield Hit(
        f"no unit tests for {', '.join(missing)}: " + "; ".join(details),
        line=1,
        extra={"languages": sorted(sources), "without_tests": missing},
    )
