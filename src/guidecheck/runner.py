"""One scan or audit, from configuration to result: what the command line and the tests run.

The flow of ``guidecheck scan``::

    prepare()  configuration (found upward from the first path, or --config; command-line overrides)
               -> rule catalogue (built-in + custom-rules; unknown --select/--ignore/severity ids)
               -> baseline fingerprints
    scan()     load the paths (guidecheck.loaders) -> scan_loaded(): the rules that apply (no
               repository-scope rules without a directory) -> evaluate(): the engine runs every
               enabled rule -> what loading could not do joins ``incomplete`` (exit 3)

``audit()`` is the same with the targets read from a live cluster or from dumps
(guidecheck.cluster) instead of loaded from paths.  Setup problems raise a
:class:`SetupError` (the command line exits 2); a bad option value raises
:class:`OptionError` (a usage error).  Nothing here writes reports or exits:
:mod:`guidecheck.cli` parses arguments, maps errors to exit codes and writes reports.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guidecheck.config import Config
from guidecheck.model import Rule, ScanResult, Target

if TYPE_CHECKING:
    from guidecheck.baseline import Roots
    from guidecheck.cache import Store
    from guidecheck.catalog import Check
    from guidecheck.cluster.model import Audited, AuditOptions
    from guidecheck.loaders import Loaded
    from guidecheck.signatures import VerifyOptions


class SetupError(Exception):
    """The scan cannot start: configuration, catalogue, baseline or cluster credentials (exit 2)."""


class ConfigurationError(SetupError):
    """The configuration file is missing or invalid."""


class CatalogueError(SetupError):
    """The rule catalogue (built-in or ``custom-rules:``) does not load."""


class UnknownRuleError(SetupError):
    """--select, --ignore or ``severity:`` names a rule id or prefix no rule has."""


class BaselineError(SetupError):
    """The --baseline file cannot be read."""


class ClusterAccessError(SetupError):
    """No usable kubeconfig, context or in-cluster credentials."""


class DumpWriteError(SetupError):
    """The live audit's --dump file cannot be written."""


class OptionError(ValueError):
    """An option value that cannot be used (--values, --set, --profile): a usage error."""


@dataclass
class Prepared:
    """What scan and audit share before reading anything."""

    config: Config
    config_file: str | None  # the configuration file read (None: built-in defaults)
    rules: list[Rule]
    checks: dict[str, Check]
    baseline: frozenset[str] = frozenset()  # fingerprints of accepted findings


def split_ids(values: Iterable[str]) -> tuple[str, ...]:
    """``--select GC1,gc2 --select GC3`` as ``("GC1", "GC2", "GC3")``."""
    out: list[str] = []
    for v in values:
        out.extend(p.strip().upper() for p in v.split(",") if p.strip())
    return tuple(out)


def configure(
    first_path: str, config_path: str | None = None, isolated: bool = False, **overrides: Any
) -> tuple[Config, str | None]:
    """Find and load the configuration and apply command-line overrides (see :func:`guidecheck.config.with_cli`).

    Two files (see :func:`guidecheck.config.layered`): the organisation's, ``config_path`` or else the
    ``GUIDECHECK_CONFIG`` environment variable, trusted; and the repository's, the nearest
    ``.guidecheck.yaml`` upward from ``first_path``, which by default may only tighten the gate.
    ``isolated`` reads neither but ``config_path``.  Returns the configuration and the file shown as
    the report's ``config`` (the repository's when it was read, else the organisation's).
    Raises :class:`ConfigurationError`.
    """
    from guidecheck.config import ORG_CONFIG_ENV, ConfigError, find_config, layered, with_cli

    try:
        org_path = config_path or (None if isolated else os.environ.get(ORG_CONFIG_ENV) or None)
        if org_path and not os.path.isfile(org_path):
            where = f"{ORG_CONFIG_ENV}={org_path}" if not config_path else org_path
            raise ConfigError(f"{where}: configuration file not found")
        repo_path = None if isolated else find_config(first_path)
        if repo_path and org_path and os.path.samefile(repo_path, org_path):
            repo_path = None  # the repository's own file named as the trusted one: read once, trusted
        config = with_cli(layered(org_path, repo_path), **overrides)
    except ConfigError as exc:
        raise ConfigurationError(f"configuration error: {exc}") from None
    return config, config.trust.repository or org_path


def catalogue(config: Config) -> tuple[list[Rule], dict[str, Check]]:
    """The built-in rules plus the team's own (``custom-rules:``) and their checks; raises :class:`CatalogueError`."""
    from guidecheck.catalog import CatalogError, Checks, load_rules, rules_dir

    builtin = str(rules_dir())
    try:
        rules = load_rules(extra_dirs=config.custom_rules)
        # a built-in rule's check module is imported when a target of its kinds is there to check;
        # a team's own rule is resolved now, so that a broken one is a setup error (exit 2)
        checks = Checks(rules, eager=lambda rule: os.path.dirname(rule.file) != builtin)
    except CatalogError as exc:
        raise CatalogueError(f"rule catalogue error: {exc}") from None
    return rules, checks


def prepare(
    first_path: str,
    *,
    config_path: str | None = None,
    isolated: bool = False,
    fail_on: str | None = None,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    inline_suppressions: bool = True,
    baseline: str | None = None,
    update_baseline: bool = False,
) -> Prepared:
    """Configuration, rule catalogue (an unknown rule id or prefix is an error) and the ``baseline`` file's findings.

    ``select``/``ignore`` are the command line's (comma-separated, any case); empty keeps the
    configuration's.  ``inline_suppressions=False`` is --no-inline-suppressions.  With
    ``update_baseline`` the file is not read (it is about to be written), but its directory
    still anchors the fingerprints of files named one by one.
    """
    config, cfg_file = configure(
        first_path,
        config_path,
        isolated,
        fail_on=fail_on,
        select=split_ids(select) or None,
        ignore=split_ids(ignore) or None,
        inline_suppressions=None if inline_suppressions else False,
    )
    rules, checks = catalogue(config)
    from guidecheck.config import judge_severities

    config = judge_severities(config, rules)
    unknown = [
        p
        for p in (*config.select, *config.ignore, *config.severity)
        if p != "ALL" and not any(r.id.startswith(p) for r in rules)
    ]
    if unknown:
        raise UnknownRuleError(f"unknown rule id or prefix: {', '.join(sorted(set(unknown)))}")
    from guidecheck import baseline as bl

    accepted: frozenset[str] = frozenset()
    if baseline and update_baseline:
        accepted = bl.Baseline((), baseline)
    elif baseline:
        try:
            accepted = bl.read(baseline)
        except bl.BaselineError as exc:
            raise BaselineError(f"baseline error: {exc}") from None
    return Prepared(config, cfg_file, rules, checks, accepted)


def scan_options(
    config: Config,
    *,
    verbose: bool = False,
    helm_binary: str | None = None,
    helm_values: Sequence[str] = (),
    helm_set: Sequence[str] = (),
    helm_profiles: Sequence[str] = (),
    release_name: str | None = None,
    helm_namespace: str | None = None,
    helm_optional: bool = False,
    kustomize_binary: str | None = None,
    no_render: bool = False,
    stdin: tuple[str, str | None] | None = None,
) -> dict[str, Any]:
    """The loaders' options (``verbose``, ``helm``) from the command line; raises :class:`OptionError`.

    Every --values file must exist, every --set be KEY=VALUE, every --profile a value profile
    the configuration (or the built-in 'default' and 'cli') knows.
    """
    for v in helm_values:
        if not os.path.isfile(v):
            raise OptionError(f"--values {v}: no such file")
    for s in helm_set:
        if "=" not in s or s.startswith("="):
            raise OptionError(f"--set {s}: expected KEY=VALUE")
    known = {"default", "cli", *(config.helm.get("profiles") or {})}
    for spec in (config.helm.get("charts") or {}).values():
        known.update((spec or {}).get("profiles") or {})
    unknown_profiles = sorted(set(helm_profiles) - known)
    if unknown_profiles:
        raise OptionError(
            f"--profile {', '.join(unknown_profiles)}: not a value profile (known: {', '.join(sorted(known))})"
        )
    return {
        "verbose": verbose,
        "no_render": no_render,
        "stdin": stdin,
        "kustomize": {"binary": kustomize_binary},
        "helm": {
            "binary": helm_binary,
            "values": list(helm_values),
            "set": list(helm_set),
            "profiles": list(helm_profiles),
            "release": release_name,
            "namespace": helm_namespace,
            "optional": helm_optional,
        },
    }


def evaluate(
    targets: list[Target],
    config: Config,
    rules: list[Rule],
    checks: dict[str, Check] | None = None,
    *,
    incomplete: Iterable[str] = (),
    baseline: frozenset[str] = frozenset(),
    now: _dt.datetime | None = None,
    today: _dt.date | None = None,
    roots: Roots | None = None,
) -> ScanResult:
    """The engine over ``targets``; what reading them could not do (``incomplete``) joins the result's.

    ``roots`` anchors fingerprints to the scanned root (see :class:`guidecheck.baseline.Roots`);
    the result says which entries of ``baseline`` (a :class:`guidecheck.baseline.Baseline`) matched nothing.
    """
    from guidecheck import baseline as bl
    from guidecheck import engine

    result = engine.run(rules, targets, config, checks=checks, baseline=baseline, now=now, today=today, roots=roots)
    result.incomplete = sorted(set(result.incomplete) | set(incomplete))
    result.baseline = bl.unmatched(baseline, result, roots)
    return result


def scan(
    paths: Sequence[str],
    config: Config,
    rules: list[Rule] | None = None,
    checks: dict[str, Check] | None = None,
    *,
    baseline: frozenset[str] = frozenset(),
    options: dict[str, Any] | None = None,
    now: _dt.datetime | None = None,
    targets: Iterable[Target] = (),
    cache: Store | None = None,
) -> ScanResult:
    """Scan repositories (directories) and files, as ``guidecheck scan PATHS`` does.

    ``rules``/``checks`` default to the catalogue of ``config``.  ``options`` are the loaders'
    (:func:`scan_options`); ``now`` the clock of age-based rules (default: now); ``targets`` are
    added to the loaded ones (objects read elsewhere); ``cache`` the incremental cache
    (:mod:`guidecheck.cache`; never for a stream on stdin).
    """
    if cache is not None and not targets:
        return _cached_scan(paths, config, rules, checks, baseline=baseline, options=options, now=now, cache=cache)
    from guidecheck.baseline import Roots, base_dir
    from guidecheck.loaders import load

    loaded = load(list(paths), config, {**(options or {}), "on_found": _validate_early(config)})
    loaded.targets.extend(targets)
    roots = Roots(paths, base_dir(getattr(baseline, "path", None)))
    result = scan_loaded(loaded, config, rules, checks, baseline=baseline, now=now, roots=roots)
    result.inputs = list(paths)
    return result


def _cached_scan(
    paths: Sequence[str],
    config: Config,
    rules: list[Rule] | None,
    checks: dict[str, Check] | None,
    *,
    baseline: frozenset[str],
    options: dict[str, Any] | None,
    now: _dt.datetime | None,
    cache: Store,
) -> ScanResult:
    """:func:`scan` through the incremental cache (docs/cache.md).

    The ``scan`` layer: a directory scan whose every input is unchanged (each file of each walk by content,
    every other file the scan read, the configuration, catalogue, options, baseline, Helm and kustomize
    binaries, the UTC date waivers expire by) reuses the whole result. Otherwise the scan runs with the
    lower layers on (renders, OpenAPI validation), and its result is stored.
    """
    import sys

    from guidecheck import cache as gc_cache
    from guidecheck import sanitize

    options = options or {}
    if options.get("stdin") is not None or options.get("verify-images"):
        # a stream is never cached; signatures are the registry's answer of the moment
        return scan(paths, config, rules, checks, baseline=baseline, options=options, now=now)
    if rules is None:
        rules, checks = catalogue(config)
    now = now or _dt.datetime.now(_dt.UTC)
    whole = all(os.path.isdir(p) for p in paths) and not (options.get("helm") or {}).get("set")
    key = _scan_key(paths, config, rules, options, baseline, now) if whole else None
    if key is not None:
        hit = cache.get("scan", key[0])
        if hit is not gc_cache.MISS and _unchanged(hit["reads"]):
            sanitize.remember_known(hit["secrets"])
            if options.get("verbose"):
                sys.stderr.write("guidecheck: cache: the result of an earlier scan of the same inputs; its notes:\n")
            if hit["stderr"]:
                sys.stderr.write(hit["stderr"])
            result: ScanResult = hit["result"]
            return result
    with gc_cache.using(cache), gc_cache.recording_reads() as reads, _Tee() as tee:
        result = scan(paths, config, rules, checks, baseline=baseline, options=options, now=now)
    if key is not None and not result.incomplete:
        # an incomplete scan (a render that timed out on a loaded machine, a tool missing) is not kept:
        # the next run tries again rather than repeat a failure that may have passed
        hashed = key[1]
        extra = sorted({os.path.realpath(r) for r in reads} - hashed)
        extra = [p for p in extra if not _in_sandbox(p)]
        entry = {
            "reads": [(p, gc_cache.file_digest(p)) for p in extra],
            "secrets": sanitize.known_secrets(),
            "stderr": tee.text(),
            "result": _slim(result),
        }
        cache.put("scan", key[0], entry)
    return result


def _scan_key(
    paths: Sequence[str],
    config: Config,
    rules: list[Rule],
    options: dict[str, Any],
    baseline: frozenset[str],
    now: _dt.datetime,
) -> tuple[str, set[str]]:
    """The ``scan`` layer's key and the files it hashed (every file of every walk, resolved)."""
    import shutil
    import sys

    from guidecheck import cache as gc_cache
    from guidecheck.loaders.fs import walk

    hashed: set[str] = set()
    parts: list[Any] = ["scan", os.getcwd(), list(paths), repr(config), [repr(r) for r in rules]]
    parts.append(sorted((k, repr(v)) for k, v in options.items()))
    parts.append((getattr(baseline, "path", None), sorted(baseline), repr(getattr(baseline, "__dict__", None))))
    parts.append(now.date().isoformat())  # waivers expire by the UTC date (engine.run)
    parts.append(os.environ.get("GUIDECHECK_HELM_NO_UNSHARE"))
    base = os.path.dirname(os.path.abspath(config.path)) if config.path else os.getcwd()
    referenced = [*((options.get("helm") or {}).get("values") or ()), *_strings(config.helm)]
    for ref in referenced:
        p = os.path.join(base, ref)
        if os.path.isfile(p):
            parts.append((ref, gc_cache.file_digest(p)))
    programs = {
        (options.get("helm") or {}).get("binary"),
        (options.get("kustomize") or {}).get("binary"),
        config.helm.get("binary"),
        config.kustomize.get("binary"),
        "helm",
        "kustomize",
        "kubectl",
    }
    scripts = os.path.dirname(sys.executable)
    for name in sorted(p for p in programs if isinstance(p, str)):
        for found in (shutil.which(name), shutil.which(name, path=scripts), os.path.join(base, name)):
            parts.append((name, gc_cache.binary_identity(found if found and os.path.isfile(found) else None)))
    for raw in paths:
        w = walk(raw, config.exclude)
        files = []
        for rel in w.inventory:
            ab = os.path.join(w.root, rel)
            hashed.add(ab)
            files.append((rel, gc_cache.file_digest(ab, config.max_file_bytes)))
        parts.append((raw, w.root, files, [(rel, e.message) for rel, e in w.problems]))
    return gc_cache.digest(*parts), hashed


def _strings(value: Any) -> list[str]:
    """Every string in a configuration section (the files it may name: values files of profiles)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def _validate_early(config: Config) -> Callable[[Loaded], None]:
    """The loaders' ``on_found`` hook: GC902's validating worker started as soon as the walk's OpenAPI documents
    are found, while the charts still render, so that it runs alongside them (on the second corpus 11.7 s became
    9.9 s of wall time).  The engine keeps that worker when GC902 runs (:func:`guidecheck.checks.openapi.prefetch`)
    and stops it after the rules ran; it is stopped at exit otherwise."""

    def on_found(loaded: Loaded) -> None:
        if loaded.stdin or not config.runs("GC902"):
            return
        targets = [t for t in loaded.targets if t.kind == "openapi"]
        if len(targets) > 1:
            from guidecheck.checks import openapi

            openapi.prefetch(targets, config.settings)

    return on_found


def _unchanged(reads: list[tuple[str, str]]) -> bool:
    from guidecheck.cache import file_digest

    return all(file_digest(p) == d for p, d in reads)


def _in_sandbox(path: str) -> bool:
    from guidecheck.loaders import scratch

    return scratch.inside(path)


def _slim(result: ScanResult) -> ScanResult:
    """The result as reports read it: each outcome's target without its data (kind, path, line, object)."""
    import copy

    slim: dict[int, Target] = {}
    out = copy.copy(result)
    outcomes = []
    for o in result.outcomes:
        t = slim.get(id(o.target))
        if t is None:
            t = slim[id(o.target)] = Target(o.target.kind, o.target.path, o.target.line, o.target.ref, None)
        o2 = copy.copy(o)
        o2.target = t
        outcomes.append(o2)
    out.outcomes = outcomes
    return out


class _Tee:
    """What the scan writes to stderr (notes), kept to be repeated when its result is reused."""

    def __enter__(self) -> _Tee:
        import sys

        self._parts: list[str] = []
        self._stream = sys.stderr
        tee = self

        class _Stream:
            def write(self, s: str) -> int:
                tee._parts.append(s)
                return tee._stream.write(s)

            def __getattr__(self, name: str) -> Any:
                return getattr(tee._stream, name)

        sys.stderr = _Stream()
        return self

    def __exit__(self, *exc: object) -> None:
        import sys

        sys.stderr = self._stream

    def text(self) -> str:
        return "".join(self._parts)


def scan_loaded(
    loaded: Loaded,
    config: Config,
    rules: list[Rule] | None = None,
    checks: dict[str, Check] | None = None,
    *,
    baseline: frozenset[str] = frozenset(),
    now: _dt.datetime | None = None,
    roots: Roots | None = None,
) -> ScanResult:
    """The second half of :func:`scan`: the rules that apply to what was loaded, run on its targets."""
    if rules is None:
        rules, checks = catalogue(config)
    if not loaded.repos and not loaded.stdin:
        # files named one by one (pre-commit): the evidence repository-scope rules look for (a
        # ServiceMonitor, an HPA, a backup schedule, the other pipeline files) is not loaded (a
        # rendered chart is only part of the repository), so running them would report what is
        # merely out of sight; they run in directory scans (CI) and cluster audits
        rules = [r for r in rules if r.scope != "repository"]
    result = evaluate(
        loaded.targets, config, rules, checks, incomplete=loaded.incomplete, baseline=baseline, now=now, roots=roots
    )
    result.skipped = sorted(loaded.skipped)
    result.not_scanned = sorted(loaded.not_scanned)
    return result


@dataclass
class AuditRun:
    """An audit's result and what was read (its context, statistics and inputs, for the summary line)."""

    result: ScanResult
    audited: Audited


def audit(
    config: Config,
    rules: list[Rule] | None = None,
    checks: dict[str, Check] | None = None,
    *,
    dumps: Sequence[str] = (),
    live: AuditOptions | None = None,
    baseline: frozenset[str] = frozenset(),
    context: str | None = None,
    now: _dt.datetime | None = None,
    today: _dt.date | None = None,
    verify_images: VerifyOptions | None = None,
) -> AuditRun:
    """Audit a live cluster (``live``) or else dump files (``dumps``, as --from-dump), as ``guidecheck audit`` does.

    ``context`` names the cluster in dump findings (default: the dump's own); ``now`` is the
    audit's clock for age rules (default: a guidecheck dump's time, or the time of the live
    audit); ``today`` decides which waivers have expired (default: the real date);
    ``verify_images`` verifies the cosign signatures of every workload's image (GC705).  A live
    audit raises :class:`ClusterAccessError` for unusable credentials and
    :class:`DumpWriteError` when its --dump file cannot be written.
    """
    from guidecheck.cluster.model import relaxed_gc

    with relaxed_gc():  # thousands of objects are read and all kept: collect cycles less often
        return _audit(config, rules, checks, dumps, live, baseline, context, now, today, verify_images)


def _audit(
    config: Config,
    rules: list[Rule] | None,
    checks: dict[str, Check] | None,
    dumps: Sequence[str],
    live: AuditOptions | None,
    baseline: frozenset[str],
    context: str | None,
    now: _dt.datetime | None,
    today: _dt.date | None,
    verify_images: VerifyOptions | None,
) -> AuditRun:
    if rules is None:
        rules, checks = catalogue(config)
    if live is None:
        from guidecheck.cluster.dump import read_dumps

        audited = read_dumps(list(dumps), config, context=context, now=now)
    else:
        from guidecheck.cluster.audit import run_live
        from guidecheck.cluster.client import ClusterConfigError

        try:
            audited = run_live(live, config)
        except ClusterConfigError as exc:
            raise ClusterAccessError(str(exc)) from None
        except OSError as exc:
            raise DumpWriteError(f"cannot write the dump {live.dump}: {exc.strerror or exc}") from None
        if now is not None:
            audited.now = now
    if verify_images is not None:  # --verify-images: the cosign signatures of every running image (GC705)
        from guidecheck.cluster.model import safe_segment
        from guidecheck.signatures import verify_targets

        kinds = config.settings.get("workload-kinds") or ()
        path = f"cluster/{safe_segment(audited.context or 'dump')}"
        records, reasons, _ = verify_targets(audited.targets, verify_images, kinds, path=path)
        audited.targets.extend(records)
        audited.incomplete.extend(reasons)
    result = evaluate(
        audited.targets,
        config,
        rules,
        checks,
        incomplete=audited.incomplete,
        baseline=baseline,
        now=audited.now,
        today=today or _dt.date.today(),
    )
    result.inputs = audited.inputs
    return AuditRun(result, audited)


__all__ = [
    "AuditRun",
    "BaselineError",
    "CatalogueError",
    "ClusterAccessError",
    "ConfigurationError",
    "DumpWriteError",
    "OptionError",
    "Prepared",
    "SetupError",
    "UnknownRuleError",
    "audit",
    "catalogue",
    "configure",
    "evaluate",
    "prepare",
    "scan",
    "scan_loaded",
    "scan_options",
    "split_ids",
]
