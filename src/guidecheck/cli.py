"""Command line: ``guidecheck scan | audit | verify-image | rules | explain | coverage``.

Only the command line lives here: options (each shared group declared once),
argument checks, the mapping of errors to exit codes, and writing the reports.
What a scan or an audit does is :mod:`guidecheck.runner`.

Exit codes (docs/exit-codes in README and docs/commands.md):
0 clean; 1 findings at or above --fail-on (parse errors count); 2 usage or
configuration error; 3 scan incomplete (a needed tool or API unavailable, or a
check failed): never 0 when something could not be checked.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import functools
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import click

from guidecheck import __version__, runner

if TYPE_CHECKING:
    from guidecheck.config import Config
    from guidecheck.model import Rule, ScanResult

# what click.option() and the option groups below return: a decorator of a command function
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="guidecheck", message="%(prog)s %(version)s")
def main() -> None:
    """Check microservice repositories, charts and clusters against the deployment guideline."""
    _tune_gc()


def _tune_gc() -> None:
    """Fewer runs of Python's cyclic garbage collector: it cost 9 % of a repository scan and 19 % of a
    20,000-object audit, walking objects that live until the process ends.

    What the imports made is moved out of its reach (``gc.freeze``), and the youngest generation is
    collected after 50,000 allocations instead of 700: the parsed documents are trees (no cycles),
    so collections find little and cost a walk of everything still alive.  Memory stays bounded:
    reference counting frees what is not cyclic at once, and the collector still runs.
    """
    import gc

    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


class _OrderedOutputs(click.Command):
    """Keeps the raw arguments so that each --output pairs with the --format before it."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["raw_args"] = list(args)
        return super().parse_args(ctx, args)


def _pair_outputs(raw: list[str]) -> list[tuple[str, str | None]]:
    pairs: list[list[Any]] = []  # [format, output file or None]
    i = 0
    while i < len(raw):
        tok = raw[i]
        if tok == "--":
            break
        value = None
        for long, short in (("--format", "-f"), ("--output", "-o")):
            if tok in (long, short):
                value = (long, raw[i + 1] if i + 1 < len(raw) else "")
                i += 1
            elif tok.startswith(long + "="):
                value = (long, tok[len(long) + 1 :])
            elif tok.startswith(short) and len(tok) > 2 and not tok.startswith("--"):
                value = (long, tok[2:])
            if value:
                break
        if value and value[0] == "--format":
            pairs.append([value[1], None])
        elif value:
            if not pairs or pairs[-1][1] is not None:
                raise click.UsageError("each --output must follow the --format it is for")
            pairs[-1][1] = value[1]
        i += 1
    return [(f, o) for f, o in pairs]


def _options(*options: Decorator) -> Decorator:
    """Apply click options in the order given (the order ``--help`` lists them)."""

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            func = option(func)
        return func

    return wrap


def _gathered(cls: type[Any], name: str) -> Decorator:
    """Hand the command the parameters named by the fields of dataclass ``cls`` as one argument ``name``.

    An option group declares its options once and its commands take them as one value, instead of
    each command listing (and passing on) every one of them.
    """
    fields = [f.name for f in dataclasses.fields(cls)]

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            kwargs[name] = cls(**{field: kwargs.pop(field) for field in fields})
            return func(*args, **kwargs)

        return command

    return wrap


def config_options(found_from: str) -> Decorator:
    """--config and --isolated; ``found_from`` says where the configuration file is looked for."""
    return _options(
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False, path_type=str),
            help=(
                "Organisation configuration file, trusted (default: $GUIDECHECK_CONFIG). The repository's "
                f".guidecheck.yaml, found upward from {found_from}, may only tighten it unless it says "
                "repository-config: trusted."
            ),
        ),
        click.option(
            "--isolated",
            is_flag=True,
            help="Ignore every configuration file but --config; without it, use the built-in defaults.",
        ),
    )


@dataclasses.dataclass(frozen=True)
class ReportArgs:
    """The options of :func:`report_options`, as the command gets them (argument ``report``)."""

    formats: tuple[str, ...]
    outputs: tuple[str, ...]
    junit_warnings: str
    fail_on: str | None
    select: tuple[str, ...]
    ignore: tuple[str, ...]
    config_path: str | None
    isolated: bool
    no_inline_suppressions: bool
    baseline_path: str | None
    update_baseline: bool
    quiet: bool
    color: bool | None
    previous_report: str | None


def output_options(choices: list[str], default: str | None = None) -> Decorator:
    """--format (repeatable, of ``choices``) and --output, the file of the --format before it (``_pair_outputs``)."""
    return _options(
        click.option(
            "--format",
            "-f",
            "formats",
            multiple=True,
            type=click.Choice(choices),
            help=f"Output format{f' (default: {default})' if default else ''}; repeatable. An --output right "
            "after a --format is its file.",
        ),
        click.option(
            "--output",
            "-o",
            "outputs",
            multiple=True,
            type=click.Path(dir_okay=False, path_type=str),
            help="File for the --format just before it (default: standard output).",
        ),
    )


def report_options(found_from: str, suppressions: str) -> Decorator:
    """What every command that reports findings takes (scan, audit, verify-image), as ``report: ReportArgs``.

    ``found_from`` as for :func:`config_options`; ``suppressions`` names what
    --no-inline-suppressions ignores.
    """
    return _options(
        output_options(["text", "json", "junit", "sarif", "html", "markdown"] + ["github", "gitlab"]),
        click.option(
            "--junit-warnings",
            type=click.Choice(["failure", "skipped", "passed"]),
            default="failure",
            show_default=True,
            help="In JUnit reports, a rule and target with only warnings (or info) is a failed, skipped or "
            "passed test case (failures make a Jenkins build UNSTABLE).",
        ),
        click.option(
            "--fail-on",
            type=click.Choice(["error", "warning", "info", "never"]),
            help="Lowest severity that makes the exit code 1 (default: error, or the config's fail-on).",
        ),
        click.option("--select", multiple=True, help="Only these rule ids or prefixes (comma-separated, repeatable)."),
        click.option("--ignore", multiple=True, help="Skip these rule ids or prefixes (comma-separated, repeatable)."),
        config_options(found_from),
        click.option(
            "--no-inline-suppressions", is_flag=True, help=f"Ignore {suppressions}; findings are reported as active."
        ),
        click.option(
            "--baseline",
            "baseline_path",
            type=click.Path(dir_okay=False, path_type=str),
            help="Accept the findings recorded in this baseline file (they are reported as suppressed).",
        ),
        click.option(
            "--update-baseline",
            is_flag=True,
            help="Write the current active findings to the --baseline file and exit 0 (adopting the gate).",
        ),
        click.option("--quiet", "-q", is_flag=True, help="Only the findings: no fix hints, no summary line."),
        click.option("--color/--no-color", default=None, help="Colour the text output (default: only on a terminal)."),
        click.option(
            "--previous-report",
            metavar="FILE",
            type=click.Path(dir_okay=False, path_type=str),
            help="An earlier JSON report of the same target: carries on since when each finding and bullet fails.",
        ),
        _gathered(ReportArgs, "report"),
    )


@dataclasses.dataclass(frozen=True)
class RegistryArgs:
    """The registry options of :func:`verify_options`, as the command gets them (argument ``registry``)."""

    keys: tuple[str, ...]
    insecure_registries: tuple[str, ...]
    docker_config: str | None
    registry_cache: str | None


def verify_options(flag: bool) -> Decorator:
    """The signature verification's options (GC705) as ``registry: RegistryArgs``; ``flag`` adds --verify-images
    (scan and audit opt in)."""
    options: list[Decorator] = [
        click.option(
            "--key",
            "keys",
            multiple=True,
            type=click.Path(dir_okay=False, path_type=str),
            metavar="FILE",
            help="Cosign public key (PEM, cosign.pub) trusted for every image; repeatable. Adds to "
            "settings.image-signature-keys.",
        ),
        click.option(
            "--insecure-registry",
            "insecure_registries",
            multiple=True,
            metavar="HOST",
            help="Registry (host[:port] glob) read without TLS verification or over plain HTTP; repeatable.",
        ),
        click.option(
            "--docker-config",
            type=click.Path(dir_okay=False, path_type=str),
            metavar="FILE",
            help="Docker config.json with registry credentials (default: $DOCKER_CONFIG, ~/.docker/config.json).",
        ),
        click.option(
            "--registry-cache",
            type=click.Path(file_okay=False, path_type=str),
            metavar="DIR",
            help="On-disk cache of manifests and signatures by digest (default: settings.image-signature-cache-dir).",
        ),
        _gathered(RegistryArgs, "registry"),
    ]
    if flag:
        options.insert(
            0,
            click.option(
                "--verify-images",
                is_flag=True,
                help="Verify the cosign signatures of every workload image over its registry (GC705; talks to "
                "registries).",
            ),
        )
    return _options(*options)


def _verify_options(config: Config, registry: RegistryArgs) -> Any:
    """GC705's settings and the command line as :class:`guidecheck.signatures.VerifyOptions`; exit 2 on a bad key."""
    from guidecheck import signatures

    base = config.settings_base()  # the directory of the file that gave the settings (docs/ci-gate.md)
    try:
        return signatures.options_from_settings(
            config.settings,
            base,
            extra_keys=registry.keys,
            insecure=registry.insecure_registries,
            cache_dir=registry.registry_cache,
            docker_config=registry.docker_config,
        )
    except signatures.SetupProblem as exc:
        click.echo(f"guidecheck: {exc}", err=True)
        sys.exit(EXIT_USAGE)


listing_format = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="Output format.",
)


@contextlib.contextmanager
def _setup_errors() -> Iterator[None]:
    """A setup problem exits 2 with its message; a bad option value is a usage error (exit 2 with usage)."""
    try:
        yield
    except runner.SetupError as exc:
        click.echo(f"guidecheck: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except runner.OptionError as exc:
        raise click.UsageError(str(exc)) from None


def _report_pairs(default: str = "text") -> list[tuple[str, str | None]]:
    """(format, output file or None for standard output) of each --format, in order."""
    pairs = _pair_outputs(click.get_current_context().meta.get("raw_args", [])) or [(default, None)]
    if sum(1 for _, out in pairs if out is None) > 1:
        raise click.UsageError("only one --format can go to standard output; give the others an --output")
    return pairs


def _prepare(first_path: str, report: ReportArgs) -> runner.Prepared:
    """The report options as :func:`guidecheck.runner.prepare` takes them; exit 2 on a setup error."""
    if report.update_baseline and not report.baseline_path:
        raise click.UsageError("--update-baseline needs --baseline FILE")
    with _setup_errors():
        return runner.prepare(
            first_path,
            config_path=report.config_path,
            isolated=report.isolated,
            fail_on=report.fail_on,
            select=report.select,
            ignore=report.ignore,
            inline_suppressions=not report.no_inline_suppressions,
            baseline=report.baseline_path,
            update_baseline=report.update_baseline,
        )


@main.command(cls=_OrderedOutputs)
@click.argument("paths", nargs=-1, type=click.Path(path_type=str, readable=False))
@report_options("the first path", "suppression comments and annotations (CI policy)")
@click.option(
    "--helm",
    "helm_binary",
    metavar="PATH",
    help="Helm executable for rendering charts (default: helm on PATH, or the config's helm.binary).",
)
@click.option(
    "--helm-optional",
    is_flag=True,
    help="Without a usable Helm, check charts' files as they are (a note on stderr) instead of "
    "reporting the scan incomplete (exit 3). The default pre-commit hook uses it.",
)
@click.option(
    "--values",
    "helm_values",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=str),
    metavar="FILE",
    help="Values file for Helm charts (repeatable): adds the value profile 'cli'.",
)
@click.option(
    "--set",
    "helm_set",
    multiple=True,
    metavar="KEY=VALUE",
    help="Helm value (repeatable, as helm --set): adds the value profile 'cli'.",
)
@click.option(
    "--profile",
    "helm_profiles",
    multiple=True,
    metavar="NAME",
    help="Render charts only with these value profiles (repeatable; 'default' is the chart's "
    "values.yaml, 'cli' the --values/--set ones).",
)
@click.option("--release-name", metavar="NAME", help="Helm release name used to render charts (default: release-name).")
@click.option("--namespace", "helm_namespace", metavar="NS", help="Namespace charts are rendered for.")
@click.option(
    "--kustomize",
    "kustomize_binary",
    metavar="PATH",
    help="kubectl or kustomize executable for rendering kustomizations (default: kustomize or kubectl on PATH, "
    "or the config's kustomize.binary).",
)
@click.option(
    "--no-render",
    is_flag=True,
    help="Render neither Helm charts nor kustomizations (a pre-commit hook without the tools); what is skipped "
    "is listed in the summary. Not for a CI gate.",
)
@click.option(
    "--stdin-filename",
    metavar="NAME",
    default="<stdin>",
    show_default=True,
    help="The name findings give the stream read from stdin (the path '-').",
)
@click.option(
    "--cache-dir",
    metavar="DIR",
    help="The incremental cache's directory (default: $GUIDECHECK_CACHE_DIR, else ~/.cache/guidecheck/scans, "
    "under $XDG_CACHE_HOME when set). Safe to delete; see docs/cache.md.",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Neither read nor write the incremental cache (also: GUIDECHECK_NO_CACHE=1).",
)
@click.option("--verbose", "-v", is_flag=True, help="Print what was rendered and how long it took to stderr.")
@verify_options(flag=True)
def scan(
    paths: tuple[str, ...],
    report: ReportArgs,
    registry: RegistryArgs,
    helm_binary: str | None,
    helm_optional: bool,
    helm_values: tuple[str, ...],
    helm_set: tuple[str, ...],
    helm_profiles: tuple[str, ...],
    release_name: str | None,
    helm_namespace: str | None,
    kustomize_binary: str | None,
    no_render: bool,
    stdin_filename: str,
    verbose: bool,
    cache_dir: str | None = None,
    no_cache: bool = False,
    verify_images: bool = False,
) -> None:
    """Scan repositories (directories) and files (as pre-commit passes them).

    A directory is checked as a service repository: repository rules (GC201-GC204)
    apply to it. Files given one by one are checked on their own.
    """
    inputs = list(paths) or ["."]
    if inputs.count("-") > 1:
        raise click.UsageError("'-' (stdin) may be given once")
    missing = [p for p in inputs if p != "-" and _absent(p)]
    if missing:
        raise click.UsageError(f"no such path: {', '.join(missing)}")
    pairs = _report_pairs()
    previous = _read_previous(report.previous_report)
    prep = _prepare(inputs[0] if inputs[0] != "-" else ".", report)
    with _setup_errors():
        options = runner.scan_options(
            prep.config,
            verbose=verbose,
            helm_binary=helm_binary,
            helm_values=helm_values,
            helm_set=helm_set,
            helm_profiles=helm_profiles,
            release_name=release_name,
            helm_namespace=helm_namespace,
            helm_optional=helm_optional,
            kustomize_binary=kustomize_binary,
            no_render=no_render,
            stdin=_read_stdin(stdin_filename, prep.config.max_file_bytes) if "-" in inputs else None,
        )
    if verify_images:
        options["verify-images"] = _verify_options(prep.config, registry)
    store = None
    if not no_cache and "-" not in inputs:  # a stream on stdin is never cached
        from guidecheck.cache import open_store

        store = open_store(inputs, cache_dir, verbose=verbose)
    result = runner.scan(
        inputs, prep.config, prep.rules, prep.checks, baseline=prep.baseline, options=options, cache=store
    )
    if store is not None:
        store.prune()
        if verbose:
            click.echo(f"guidecheck: {store.summary()}", err=True)
            for note in store.errors:
                click.echo(f"guidecheck: cache: {note}", err=True)
    _finish(
        result, prep, pairs, inputs, report, _evidence_meta(prep, previous, _scan_subject(inputs), None), scanned=True
    )


def _read_stdin(name: str, limit: int) -> tuple[str, str | None]:
    """The stream on stdin (at most ``limit`` bytes; None when larger) under the name findings give it."""
    data = sys.stdin.buffer.read(limit + 1)
    return name, (None if len(data) > limit else data.decode("utf-8", "replace"))


def _parse_at(at_time: str | None) -> _dt.datetime | None:
    """--at as an aware datetime (UTC when no zone is given)."""
    if not at_time:
        return None
    try:
        now = _dt.datetime.fromisoformat(at_time.replace("Z", "+00:00"))
    except ValueError:
        raise click.UsageError(f"--at: not an ISO 8601 time: {at_time!r}") from None
    return now if now.tzinfo else now.replace(tzinfo=_dt.UTC)


@main.command(cls=_OrderedOutputs)
@click.argument("dump_files", nargs=-1, type=click.Path(path_type=str), metavar="[DUMP]...")
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False, path_type=str),
    help="Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config). Its exec credential plugins run.",
)
@click.option("--context", help="Kubeconfig context (default: the current context).")
@click.option("--in-cluster", is_flag=True, help="Use the pod's service account (when running inside the cluster).")
@click.option("--cluster-name", help="Name of the cluster in finding paths cluster/<name>/... (default: the context).")
@click.option(
    "--namespace",
    "-n",
    "namespaces",
    multiple=True,
    help="Audit only this namespace (repeatable). Default: all namespaces but the excluded ones.",
)
@click.option(
    "--include-namespace",
    "include_namespaces",
    multiple=True,
    metavar="GLOB",
    help="With all namespaces: only namespaces matching this glob (repeatable).",
)
@click.option(
    "--exclude-namespace",
    "exclude_namespaces",
    multiple=True,
    metavar="GLOB",
    help="Leave out namespaces matching this glob (repeatable; adds to settings.audit-exclude-namespaces).",
)
@click.option("--selector", "-l", help="Label selector applied to every list (e.g. app.kubernetes.io/part-of=shop).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600,
    show_default=True,
    help="Seconds for the whole audit; what is not read by then is a coverage gap (exit 3).",
)
@click.option(
    "--page-size",
    type=click.IntRange(min=1, max=5000),
    default=500,
    show_default=True,
    help="Objects per list request (limit/continue paging).",
)
@click.option(
    "--probe-metrics",
    is_flag=True,
    help="Probe :9100/metrics of one running pod per workload through the API server (GC502).",
)
@click.option("--probe-logs", is_flag=True, help="Sample recent log lines of those pods and count JSON lines (GC503).")
@click.option("--probe-max-pods", type=click.IntRange(min=0), default=20, show_default=True, help="Most pods probed.")
@click.option(
    "--probe-max-bytes",
    type=click.IntRange(min=1024),
    default=256 * 1024,
    show_default=True,
    help="Most bytes read per probe.",
)
@click.option(
    "--probe-timeout", type=click.FloatRange(min=0.1), default=5.0, show_default=True, help="Seconds per probe request."
)
@click.option(
    "--log-lines",
    type=click.IntRange(min=1, max=10000),
    default=100,
    show_default=True,
    help="Recent log lines sampled per container (tailLines).",
)
@click.option(
    "--from-dump",
    "from_dump",
    multiple=True,
    type=click.Path(path_type=str),
    help="Audit `kubectl get -o yaml|json` output (or a --dump file) instead of a live cluster; "
    "repeatable, and further DUMP arguments are read too.",
)
@click.option(
    "--dump",
    "dump_path",
    type=click.Path(dir_okay=False, path_type=str),
    help="Also write what the live audit read to this file (JSON List; Secrets as metadata only).",
)
@click.option(
    "--at",
    "at_time",
    metavar="TIME",
    help="The audit's clock for age rules, ISO 8601 (default: now; for a guidecheck dump, its time).",
)
@click.option("--progress/--no-progress", default=True, help="Progress line on stderr when it is a terminal.")
@verify_options(flag=True)
@report_options("the current directory", "guidecheck.io/ignore annotations on objects")
def audit(
    dump_files: tuple[str, ...],
    kubeconfig: str | None,
    context: str | None,
    in_cluster: bool,
    cluster_name: str | None,
    namespaces: tuple[str, ...],
    include_namespaces: tuple[str, ...],
    exclude_namespaces: tuple[str, ...],
    selector: str | None,
    timeout: float,
    page_size: int,
    probe_metrics: bool,
    probe_logs: bool,
    probe_max_pods: int,
    probe_max_bytes: int,
    probe_timeout: float,
    log_lines: int,
    from_dump: tuple[str, ...],
    dump_path: str | None,
    at_time: str | None,
    progress: bool,
    report: ReportArgs,
    registry: RegistryArgs,
    verify_images: bool = False,
) -> None:
    """Audit a live cluster (read-only) or cluster dumps against the guideline.

    Every Kubernetes rule runs on the objects read; live-only rules judge what the
    audit saw (GC004 coverage, GC502 metrics and GC503 logs probes, opt-in).
    Findings are named cluster/<context>/<namespace>/<Kind>/<name>. Exit 3 when
    something could not be read. See docs/audit.md.
    """
    import time as _time

    pairs = _report_pairs()
    dumps = list(from_dump) + list(dump_files)
    if dump_files and not from_dump:
        raise click.UsageError("DUMP arguments are read only with --from-dump (a live audit takes no paths)")
    if dumps and (dump_path or in_cluster or kubeconfig or probe_metrics or probe_logs):
        raise click.UsageError(
            "--from-dump reads files: --dump, --in-cluster, --kubeconfig and probes are for live audits"
        )
    if in_cluster and kubeconfig:
        raise click.UsageError("--in-cluster and --kubeconfig exclude each other")
    if report.update_baseline and not report.baseline_path:
        raise click.UsageError("--update-baseline needs --baseline FILE")
    now = _parse_at(at_time)
    previous = _read_previous(report.previous_report)
    prep = _prepare(".", report)
    live = None
    if not dumps:
        _need_cluster_client()
        from guidecheck.cluster.model import AuditOptions

        live = AuditOptions(
            kubeconfig=kubeconfig,
            context=context,
            in_cluster=in_cluster,
            cluster_name=cluster_name,
            namespaces=tuple(namespaces),
            include_namespaces=tuple(include_namespaces),
            exclude_namespaces=tuple(exclude_namespaces),
            selector=selector,
            timeout=timeout,
            page_size=page_size,
            probe_metrics=probe_metrics,
            probe_logs=probe_logs,
            probe_max_pods=probe_max_pods,
            probe_max_bytes=probe_max_bytes,
            probe_timeout=probe_timeout,
            log_lines=log_lines,
            dump=dump_path,
            progress=progress,
        )
    verify = _verify_options(prep.config, registry) if verify_images else None
    from guidecheck.cluster.model import relax_gc

    relax_gc()  # every object read is kept until the report is written: collect cycles less often
    started = _time.monotonic()
    with _setup_errors():
        run = runner.audit(
            prep.config,
            prep.rules,
            prep.checks,
            dumps=dumps,
            live=live,
            baseline=prep.baseline,
            context=cluster_name or context,
            now=now,
            verify_images=verify,
        )
    audited = run.audited
    if not report.quiet:
        st = audited.stats
        if dumps:
            summary = (
                f"guidecheck audit: {len(dumps)} dump file(s), "
                f"{sum(1 for t in audited.targets if t.kind == 'k8s')} objects checked"
            )
        else:
            summary = (
                f"guidecheck audit: cluster {audited.context} ({st.get('server')}): "
                f"{st.get('objects', 0)} objects read, {st.get('targets', 0)} checked, "
                f"{st.get('gaps', 0)} coverage gap(s), {st.get('probes', 0)} probe(s), "
                f"{st.get('requests', 0)} requests"
            )
        click.echo(f"{summary} in {_time.monotonic() - started:.1f} s", err=True)
    subject = {"kind": "dump" if dumps else "cluster", "name": audited.context or cluster_name or context or "cluster"}
    _finish(run.result, prep, pairs, audited.inputs, report, _evidence_meta(prep, previous, subject, audited.now))


@main.command("verify-image", cls=_OrderedOutputs)
@click.argument("images", nargs=-1, required=True, metavar="IMAGE...")
@verify_options(flag=False)
@report_options("the current directory", "suppressions (verify-image reads none)")
def verify_image(images: tuple[str, ...], registry: RegistryArgs, report: ReportArgs) -> None:
    """Verify the cosign signatures of images in their registries (GC705), e.g. in CI after the push.

    Each IMAGE (by tag or digest) must carry a signature by a trusted key (--key, or
    settings.image-signature-keys for its repository) over its digest and repository.
    Exit 1 when one is unsigned or signed otherwise, 3 when a registry could not be asked.
    """
    from guidecheck import signatures

    pairs = _report_pairs()
    previous = _read_previous(report.previous_report)
    prep = _prepare(".", report)
    verify = _verify_options(prep.config, registry)
    targets, incomplete = signatures.verify_images(images, verify)
    rules = [r for r in prep.rules if r.id in ("GC705", "GC004")]
    result = runner.evaluate(targets, prep.config, rules, prep.checks, incomplete=incomplete, baseline=prep.baseline)
    result.inputs = list(images)
    if not report.quiet:
        verified = sum(1 for t in targets if t.data.get("status") == "verified")
        click.echo(f"guidecheck verify-image: {verified} of {len(images)} image(s) verified", err=True)
    subject = {"kind": "images", "name": ", ".join(images)[:200]}
    _finish(result, prep, pairs, list(images), report, _evidence_meta(prep, previous, subject, None))


def _need_cluster_client() -> None:
    """A live audit needs the kubernetes client, an optional dependency (the ``audit`` extra): exit 2 without it."""
    import importlib.util

    if importlib.util.find_spec("kubernetes") is None:
        click.echo(
            "guidecheck: a live audit needs the Kubernetes client, which is not installed: "
            "pip install 'guidecheck[audit]' (from a checkout: pip install '.[audit]'); "
            "--from-dump needs nothing more",
            err=True,
        )
        sys.exit(EXIT_USAGE)


def _absent(path: str) -> bool:
    """No such path (a usage error); a path that exists but cannot be reached is GC001, as in a directory."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False  # permission denied on the way: the loader reports it at the path
    return False


def _finish(
    result: ScanResult,
    prep: runner.Prepared,
    pairs: list[tuple[str, str | None]],
    inputs: list[str],
    report: ReportArgs,
    evidence: dict[str, Any],
    *,
    scanned: bool = False,
) -> None:
    """Write the reports and exit with the scan's (or audit's) exit code.

    ``scanned``: the inputs are a scan's paths (fingerprints relative to the scanned root).
    """
    from guidecheck import baseline as bl
    from guidecheck.reporters import stream

    config, quiet, baseline_path = prep.config, report.quiet, report.baseline_path
    if report.update_baseline:
        assert baseline_path is not None  # _prepare refused --update-baseline without --baseline
        roots = bl.Roots(inputs, bl.base_dir(baseline_path)) if scanned else None
        try:
            count = bl.write(baseline_path, result, roots)
        except OSError as exc:
            click.echo(f"guidecheck: cannot write {baseline_path}: {exc.strerror}", err=True)
            sys.exit(EXIT_USAGE)
        click.echo(f"guidecheck: wrote {count} finding(s) to baseline {baseline_path}", err=True)
        sys.exit(EXIT_INCOMPLETE if result.incomplete else EXIT_CLEAN)

    _gate_notes(config)
    threshold = config.threshold()
    failing = threshold is not None and any(f.severity >= threshold for f in result.active())
    if result.incomplete:
        code = EXIT_INCOMPLETE
    elif failing:
        code = EXIT_FINDINGS
    else:
        code = EXIT_CLEAN
    use_color = report.color if report.color is not None else (sys.stdout.isatty() and "NO_COLOR" not in os.environ)
    meta = {
        "version": __version__,
        "exit_code": code,
        "inputs": inputs,
        "config": prep.config_file,
        "quiet": quiet,
        "threshold": str(threshold) if threshold else "never",
        "gate": config.trust.to_json(),
        **evidence,
        "junit_warnings": report.junit_warnings,
    }
    for fmt, out in pairs:
        pieces = stream(fmt, result, {**meta, "color": use_color and out is None and fmt == "text"})
        if out is None:
            _write_stdout(pieces)
        else:
            try:
                with open(out, "w", encoding="utf-8", newline="\n") as fh:
                    fh.writelines(pieces)
            except OSError as exc:
                click.echo(f"guidecheck: cannot write {out}: {exc.strerror}", err=True)
                sys.exit(EXIT_USAGE)
    if not quiet and all(out is not None for _, out in pairs):
        # every report went to a file: the CI log still says what happened, in one line
        from guidecheck.reporters.text import summary

        written = ", ".join(f"{out} ({fmt})" for fmt, out in pairs)
        click.echo(f"guidecheck: {summary(result, meta)}; reports: {written}", err=True)
    sys.exit(code)


def _gate_notes(config: Config) -> None:
    """What the repository's configuration could not change, or did loosen, on stderr (docs/ci-gate.md)."""
    from guidecheck.sanitize import path as clean_path

    trust = config.trust
    if trust.ignored and trust.repository:
        click.echo(
            f"guidecheck: warning: {clean_path(trust.repository)}: ignored, as it would loosen the gate "
            f"(repository-config: {trust.mode}): {', '.join(trust.ignored)}; a trusted configuration "
            "(--config or GUIDECHECK_CONFIG) may set them, see docs/ci-gate.md",
            err=True,
        )
    if trust.loosened and trust.repository:
        click.echo(
            f"guidecheck: note: the gate is loosened by {clean_path(trust.repository)} "
            f"(repository-config: trusted): {', '.join(trust.loosened)}",
            err=True,
        )


def _write_stdout(text: str | Iterable[str]) -> None:
    sys.stdout.flush()
    for piece in [text] if isinstance(text, str) else text:
        sys.stdout.buffer.write(piece.encode("utf-8", "backslashreplace"))
    sys.stdout.flush()


def _catalogue(first_path: str, config_path: str | None, isolated: bool) -> tuple[Config, list[Rule]]:
    """The configuration and rule catalogue for rules, explain and coverage; exit 2 on a setup error."""
    with _setup_errors():
        config, _ = runner.configure(first_path, config_path, isolated)
        rules, _ = runner.catalogue(config)
    return config, rules


@main.command("rules")
@listing_format
@config_options("the current directory")
def rules_cmd(fmt: str, config_path: str | None, isolated: bool) -> None:
    """List every rule: id, severity, guideline bullet, title (the team's own rules included)."""
    _, rules = _catalogue(".", config_path, isolated)
    if fmt == "json":
        import json

        _write_stdout(json.dumps([r.to_json() for r in rules], indent=2) + "\n")
        return
    if fmt == "markdown":
        lines = ["| ID | bullet | severity | targets | title |", "|---|---|---|---|---|"]
        lines += [
            f"| [{r.id}](rules/{r.id}.md) | {r.guideline} | {r.severity} | {', '.join(r.targets)} | {r.listed_title} |"
            for r in rules
        ]
        _write_stdout("\n".join(lines) + "\n")
        return
    width = max(len(r.listed_title) for r in rules)
    lines = [f"{'ID':<6} {'SEVERITY':<8} {'BULLET':<6} {'TARGETS':<16} TITLE", "-" * (42 + width)]
    for r in rules:
        lines.append(f"{r.id:<6} {str(r.severity):<8} {r.guideline:<6} {','.join(r.targets):<16} {r.listed_title}")
    _write_stdout("\n".join(lines) + "\n")


@main.command()
@click.argument("rule_id")
@config_options("the current directory")
def explain(rule_id: str, config_path: str | None, isolated: bool) -> None:
    """Explain a rule: why it exists, how to fix it, a passing and a failing example."""
    from guidecheck.explain import explain_text

    rules = {r.id: r for r in _catalogue(".", config_path, isolated)[1]}
    rule = rules.get(rule_id.upper())
    if rule is None:
        click.echo(f"guidecheck: no rule {rule_id}; see 'guidecheck rules'", err=True)
        sys.exit(EXIT_USAGE)
    _write_stdout(explain_text(rule))


@main.command()
@click.argument("path", required=False, default=".", type=click.Path(path_type=str))
@listing_format
@config_options("PATH")
def coverage(path: str, fmt: str, config_path: str | None, isolated: bool) -> None:
    """Map every guideline bullet to its rules; list what needs manual evidence, and why."""
    from guidecheck import coverage as cov

    config, rules = _catalogue(path, config_path, isolated)
    result = cov.compute(rules, config)
    if fmt == "json":
        import json

        _write_stdout(json.dumps([c.to_json() for c in result], indent=2, ensure_ascii=False) + "\n")
    elif fmt == "markdown":
        _write_stdout(cov.render_markdown(result))
    else:
        _write_stdout(cov.render_text(result))


# ---------------------------------------------------------------- evidence: previous reports, merge, diff


def _read_report(path: str, max_mb: int = 512) -> dict[str, Any]:
    """A JSON report read back (bounded, checked); exit 2 naming the file when it is not one."""
    from guidecheck import fleet

    try:
        return fleet.read_report(path, max_bytes=max_mb * 1024 * 1024)
    except fleet.ReportError as exc:
        click.echo(f"guidecheck: {exc}", err=True)
        sys.exit(EXIT_USAGE)


def _read_previous(path: str | None) -> dict[str, Any] | None:
    return _read_report(path) if path else None


def _report_clock() -> _dt.datetime:
    """The time a report states: SOURCE_DATE_EPOCH when set (reproducible reports), else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), _dt.UTC)
    return _dt.datetime.now(_dt.UTC)


def _scan_subject(inputs: list[str]) -> dict[str, str]:
    """What a scan report is about: the repository (directory) scanned, or files."""
    dirs = [p for p in inputs if os.path.isdir(p)]
    names = [os.path.basename(os.path.realpath(p)) or p for p in dirs]
    if dirs and len(dirs) == len(inputs):
        return {"kind": "repository" if len(dirs) == 1 else "repositories", "name": ", ".join(names)}
    return {"kind": "files", "name": os.path.basename(os.path.realpath(".")) or "files"}


def _evidence_meta(
    prep: runner.Prepared, previous: dict[str, Any] | None, subject: dict[str, str], now: _dt.datetime | None
) -> dict[str, Any]:
    """What the JSON, HTML and markdown reports say besides the result (guidecheck.evidence)."""
    from guidecheck import evidence as ev

    moment = now or _report_clock()
    return {
        "time": ev.iso(moment),
        "subject": subject,
        "coverage": ev.coverage_entries(prep.rules, prep.config),
        "catalogue_hash": ev.catalogue_hash(prep.rules),
        "config_hash": ev.config_hash(prep.config),
        "waivers": [ev.waiver_json(w, today=moment.date()) for w in prep.config.waivers],
        "previous": ev.history(previous) if previous else None,
    }


def _write_reports(pairs: list[tuple[str, str | None]], render: Callable[[str], str]) -> None:
    for fmt, out in pairs:
        text = render(fmt)
        if out is None:
            _write_stdout(text)
            continue
        try:
            with open(out, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
        except OSError as exc:
            click.echo(f"guidecheck: cannot write {out}: {exc.strerror}", err=True)
            sys.exit(EXIT_USAGE)


max_report_option = click.option(
    "--max-report-mb",
    type=click.IntRange(min=1),
    default=512,
    show_default=True,
    help="Largest JSON report read, in MiB.",
)


@main.group("report")
def report_group() -> None:
    """Work with JSON reports made elsewhere (each repository's CI, each cluster's auditor)."""


@report_group.command("merge", cls=_OrderedOutputs)
@click.argument("reports", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=str), metavar="REPORT...")
@output_options(["markdown", "html", "json"], default="markdown")
@max_report_option
def report_merge(
    reports: tuple[str, ...], formats: tuple[str, ...], outputs: tuple[str, ...], max_report_mb: int
) -> None:
    """Merge JSON reports (one per repository or cluster) into a fleet view.

    Per guideline bullet and per service or cluster: a matrix of status, the worst
    offenders, the most frequent rules and totals. Reports from another tool version
    or rule catalogue than most are flagged. Exit 0 once written, 2 when a report
    cannot be read.
    """
    from guidecheck import fleet
    from guidecheck.reporters import html, markdown

    pairs = _report_pairs("markdown")
    merged = fleet.merge([_read_report(p, max_report_mb) for p in reports])
    renderers: dict[str, Callable[[dict[str, Any]], str]] = {
        "json": fleet.dumps,
        "markdown": markdown.render_fleet,
        "html": html.render_fleet,
    }
    _write_reports(pairs, lambda fmt: renderers[fmt](merged))


@main.command("diff", cls=_OrderedOutputs)
@click.argument("old", type=click.Path(dir_okay=False, path_type=str), metavar="OLD.json")
@click.argument("new", type=click.Path(dir_okay=False, path_type=str), metavar="NEW.json")
@output_options(["text", "json", "markdown", "html"], default="text")
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "info", "never"]),
    help="Lowest severity of a new finding that makes the exit code 1 (default: the new report's fail_on).",
)
@max_report_option
def diff_cmd(
    old: str, new: str, formats: tuple[str, ...], outputs: tuple[str, ...], fail_on: str | None, max_report_mb: int
) -> None:
    """New, fixed and unchanged findings between two JSON reports, matched by fingerprint.

    Exit 1 when a new finding is at or above --fail-on, 3 when the new report is
    incomplete, 2 when a report cannot be read, else 0.
    """
    from guidecheck import fleet
    from guidecheck.reporters import html, markdown

    pairs = _report_pairs("text")
    result = fleet.diff(_read_report(old, max_report_mb), _read_report(new, max_report_mb), fail_on)
    renderers: dict[str, Callable[[dict[str, Any]], str]] = {
        "text": fleet.diff_text,
        "json": fleet.dumps,
        "markdown": markdown.render_diff,
        "html": html.render_diff,
    }
    _write_reports(pairs, lambda fmt: renderers[fmt](result))
    sys.exit(fleet.diff_exit_code(result))


@main.command()
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False, path_type=str))
@click.option(
    "--org",
    "organisation",
    is_flag=True,
    help="Write the organisation's (trusted) configuration, guidecheck-organisation.yaml, instead of "
    "the repository's .guidecheck.yaml.",
)
@click.option(
    "--output",
    "-o",
    "output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=str),
    help="Write to this file instead ('-': standard output).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(directory: str, organisation: bool, output: str | None, force: bool) -> None:
    """Write a commented configuration file with the guide's defaults.

    Every key and setting this version knows, with its default and the rules that
    read it, commented out. The repository's .guidecheck.yaml may only tighten the
    organisation's configuration (--config FILE or GUIDECHECK_CONFIG) unless that
    one says repository-config: trusted; see docs/configuration.md.
    """
    from guidecheck import init as gc_init

    text = gc_init.render(organisation=organisation)
    if output == "-":
        _write_stdout(text)
        return
    name = gc_init.ORGANISATION_FILE if organisation else gc_init.REPOSITORY_FILE
    path = output or os.path.join(directory, name)
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise click.UsageError(f"no such directory: {os.path.dirname(path) or '.'}")
    try:
        with open(path, "w" if force else "x", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    except FileExistsError:
        click.echo(f"guidecheck: {path} exists; --force overwrites it", err=True)
        sys.exit(EXIT_USAGE)
    except OSError as exc:
        click.echo(f"guidecheck: cannot write {path}: {exc.strerror}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"guidecheck: wrote {path}", err=True)


SCHEMAS = {"report": "report.schema.json", "config": "config.schema.json", "rule": "rule.schema.json"}


@main.command()
@click.argument("name", type=click.Choice(sorted(SCHEMAS)))
def schema(name: str) -> None:
    """Print a JSON Schema shipped with guidecheck.

    report: the --format json report; config: .guidecheck.yaml; rule: a rule file (custom-rules).
    """
    from importlib import resources

    _write_stdout(resources.files("guidecheck").joinpath("schemas", SCHEMAS[name]).read_text(encoding="utf-8"))
