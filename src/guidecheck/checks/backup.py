"""Backups (guideline 8.a-8.c): snapshot cadence (GC801), verification (GC802), restore tests (GC803).

The model (what counts as a schedule, a data holder, a restore test, live
evidence) is :mod:`guidecheck.parsers.backup`; its index over the scan's
targets (related objects, commands, settings patterns, coverage, live
evidence) is :mod:`guidecheck.checks.backup_index`; docs/backups.md describes
the evidence each rule accepts.

When a scan holds no persistent data (no PVC-using workload, CloudNativePG
cluster or unmounted PVC) and no backup schedule, the three rules are not
applicable.  When data exists but no backup schedule does, GC801 reports each
data holder, and GC802 and GC803 report once per scope, on its first data
holder, rather than once per workload.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from collections.abc import Iterator

from guidecheck import crossref
from guidecheck.checks import Context, NotApplicable
from guidecheck.checks import backup_index as index
from guidecheck.checks import settings as settings_of
from guidecheck.model import Hit, Target
from guidecheck.parsers import backup as model
from guidecheck.parsers import cron
from guidecheck.parsers.backup import Holder, Producer


def _limit(ctx: Context, key: str, unit: _dt.timedelta) -> _dt.timedelta:
    v = ctx.setting(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
        v = settings_of.default(key)  # a value of the wrong type (settings built in code)
    return unit * v


def _scoped(name: str, target: Target, ctx: Context, pick) -> list:
    """``pick(t)`` over the targets related to ``target`` (itself included), sorted by place.

    ``pick`` runs once per object of the scope; each target then keeps what it may see
    (:func:`crossref.related_pairs`), without walking the scope again.
    """
    memo = ctx.cached(f"backup.scoped.{name}", lambda c: {})
    sc = crossref.scope(target)
    if sc not in memo:
        found = []
        for _, t in sorted(crossref.scope_objects(target, ctx), key=lambda p: p[1].key):
            v = pick(t)
            if v is not None:
                found.append((t, v))
        pairs = [(i, t) for i, (t, _) in enumerate(found)]
        memo[sc] = (found, pairs, {id(t): v for t, v in found}, {id(t) for _, t in crossref.scope_objects(target, ctx)})
    found, pairs, picked, objects = memo[sc]
    mine = [found[i] for i, _ in crossref.related_pairs(target, ctx, pairs)]
    own: tuple[Target, object] | None = None
    if id(target) in picked:
        own = (target, picked[id(target)])
    elif id(target) not in objects:  # not an object of the scope (no mapping): picked for itself
        v = pick(target)
        own = (target, v) if v is not None else None
    if own is not None:
        # before the objects of the same place, as sorting [target, *related] put it
        at = 0
        while at < len(mine) and mine[at][0].key < target.key:
            at += 1
        mine.insert(at, own)
    return [v for _, v in mine]


def _producers(target: Target, ctx: Context) -> list[Producer]:
    return _scoped("producers", target, ctx, lambda t: index.producer(t, ctx))


def _holders(target: Target, ctx: Context) -> list[Holder]:
    return _scoped("holders", target, ctx, lambda t: index.data_holder(t, ctx))


def _verifiers(target: Target, ctx: Context) -> list[tuple[Target, str]]:
    def pick(t):
        how = index.verification(t, ctx)
        return (t, how) if how else None

    return _scoped("verifiers", target, ctx, pick)


def _restore_tests(target: Target, ctx: Context) -> list[model.RestoreTest]:
    return _scoped("restore_tests", target, ctx, lambda t: index.restore_test(t, ctx))


def _named(refs: list[str], paths: list[str]) -> list[str]:
    """Each reference, followed by its file where another of the list has the same one: the list names each
    object once (envoy's default.out.yaml and e2e.out.yaml both hold StatefulSet/monitoring/loki;
    kyverno/policies' test suites each hold Schedule/velero/badschedule01)."""
    dup = {r for r, n in Counter(refs).items() if n > 1}
    return [f"{r} ({path})" if r in dup else r for r, path in zip(refs, paths, strict=True)]


def _producer_names(prods: list[Producer]) -> list[str]:
    return _named([p.ref for p in prods], [getattr(p.target, "path", "?") for p in prods])


def _holder_names(holders: list[Holder]) -> list[str]:
    return _named([str(h.target.ref) for h in holders], [h.target.path for h in holders])


def _fmt(td: _dt.timedelta) -> str:
    return cron.format_duration(td)


def _when(ev: model.Evidence, ctx: Context) -> str:
    return f"{_fmt(ctx.now - ev.when)} ago ({ev.what}, at {ev.when.astimezone(_dt.UTC).isoformat()})"


def _list(items: list[str], n: int = 3) -> str:
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def _holder_or_na(target: Target, ctx: Context) -> Holder:
    h = index.data_holder(target, ctx)
    if h is not None:
        return h
    obj = target.data
    kind = obj.get("kind") if isinstance(obj, dict) else None
    if kind == "PersistentVolumeClaim":
        owner = model.owned(obj)
        raise NotApplicable(
            f"created by {owner}, which is checked instead"
            if owner
            else "mounted by a workload, which is checked instead"
        )
    if isinstance(obj, dict) and model.owned(obj):
        raise NotApplicable(f"created by its controller {model.owned(obj)}, which is checked instead")
    raise NotApplicable("keeps no data in persistent volumes")


# ---------------------------------------------------------------- GC801


def snapshot_coverage(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC801: every persistent volume is backed up by a schedule whose worst-case gap is within the limit."""
    h = _holder_or_na(target, ctx)
    limit = _limit(ctx, "snapshot-interval-hours", _dt.timedelta(hours=1))
    prods = _producers(target, ctx)
    declared = model.declared_backup(h, h.target.line)
    if declared is not None:
        prods = [*prods, declared]
    wref = str(target.ref)
    covering_all: list[Producer] = []
    for claim in h.claims:
        ok, hit = _claim_coverage(h, claim, prods, limit, wref, ctx)
        covering_all.extend(ok)
        if hit is not None:
            yield hit
    if not index.is_live(target):
        return
    # schedules declared on the object (guidecheck.io/backup-cron) run outside the cluster: nothing to see
    covering_all = [p for p in covering_all if p.tool != "declared"]
    evidence = index.backup_evidence(h, covering_all, ctx)
    newest = model.latest(evidence)
    if newest is None:
        if covering_all:
            yield Hit(
                f"no completed snapshot or backup of {wref}'s volumes found in the cluster "
                f"(covered by {_list(sorted({p.ref for p in covering_all}))})"
            )
    elif ctx.now - newest.when > limit:
        yield Hit(
            f"the last completed snapshot/backup of {wref}'s volumes finished {_when(newest, ctx)}: "
            f"older than {_fmt(limit)}"
        )


def _claim_coverage(
    h: Holder, claim: model.Claim, prods: list[Producer], limit: _dt.timedelta, wref: str, ctx: Context
) -> tuple[list[Producer], Hit | None]:
    """The schedules covering one claim of ``h``, and the finding when none does within the limit."""
    why_not: list[str] = []
    ok: list[Producer] = []
    for p in prods:
        reason = index.covers(p, h, claim, ctx)
        if reason is None:
            ok.append(p)
        elif index.relevant(p, h):
            why_not.append(f"{p.ref}: {reason}")
    if any(p.gap is not None and p.gap <= limit for p in ok):
        return ok, None
    what = f"persistent volume {claim.label} of {wref}"
    if ok:
        names = _producer_names(ok)
        parts = [
            f"{name}, but its worst-case gap is {p.describe_gap()}"
            if p.gap is not None
            else f"{name}, but it {p.error}"
            for name, p in zip(names, ok, strict=True)
        ]
        shown = " and by ".join(parts[:3]) + (f" and by {len(parts) - 3} more" if len(parts) > 3 else "")
        return ok, Hit(
            f"{what} is covered by {shown}; the limit is {_fmt(limit)} (settings.snapshot-interval-hours)",
            line=claim.line,
            extra={"gaps": {p.ref: (p.gap.total_seconds() if p.gap is not None else None) for p in ok}},
        )
    where = crossref.looked_in(h.target, ctx)
    if why_not:
        return ok, Hit(f"{what} is covered by no backup schedule: {_list(why_not)}{where}", line=claim.line)
    return ok, Hit(
        f"{what} is covered by no backup schedule (no Velero Schedule, snapscheduler "
        f"SnapshotSchedule, CloudNativePG ScheduledBackup or snapshot CronJob reaches it){where}",
        line=claim.line,
    )


# ---------------------------------------------------------------- GC802

_VERIFY_HINT = (
    "sha256sum -c, restic check --read-data(-subset), kopia snapshot verify, pgbackrest verify, "
    f"barman check-backup, pg_verifybackup, or the annotation {model.ANN_VERIFY}"
)


def _anchor(target: Target, ctx: Context) -> Holder:
    """For a scope without backups: report once, on its first data holder."""
    h = _holder_or_na(target, ctx)
    holders = _holders(target, ctx)
    if holders and holders[0].target is not target:
        raise NotApplicable(f"reported once per scope, on {holders[0].target.ref}")
    return h


def verification(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC802: backups are verified against checksums."""
    p = index.producer(target, ctx)
    if p is not None:
        if index.verification(target, ctx):
            return
        if _verifiers(target, ctx):
            return
        yield Hit(
            f"{p.ref} takes backups, but no step verifies their contents against checksums ({_VERIFY_HINT})",
            line=target.line,
        )
        return
    if index.data_holder(target, ctx) is None:
        raise NotApplicable("neither a backup schedule nor a workload with persistent volumes")
    prods = _producers(target, ctx)
    if prods:
        raise NotApplicable(f"judged on the backup schedules of its scope ({_list([q.ref for q in prods])})")
    _anchor(target, ctx)
    if _verifiers(target, ctx):
        return
    names = _holder_names(_holders(target, ctx))
    yield Hit(
        f"no backup schedule guidecheck reads is in its scope, so no backup is verified: {len(names)} object(s) "
        f"keep data in persistent volumes ({_list(names)}) and no verification step exists ({_VERIFY_HINT})"
    )


# ---------------------------------------------------------------- GC803

_RESTORE_HINT = (
    "a CronJob running velero restore create --namespace-mappings, restic/kopia/pgbackrest "
    f"restore, or marked {model.ANN_RESTORE}"
)


def restore_tests(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC803: backups are restored into an isolated namespace at least every restore-test-days."""
    limit = _limit(ctx, "restore-test-days", _dt.timedelta(days=1))
    rt = index.restore_test(target, ctx)
    if rt is not None:
        yield from _restore_test_hits(target, rt, limit, ctx)
        return
    p = index.producer(target, ctx)
    if p is None and index.data_holder(target, ctx) is None:
        raise NotApplicable("neither a backup schedule nor a workload with persistent volumes")
    tests = _restore_tests(target, ctx)
    if tests:
        raise NotApplicable(f"judged on the restore tests of its scope ({_list([str(t.target.ref) for t in tests])})")
    prods = _producers(target, ctx)
    if prods:
        if prods[0].target is not target:
            raise NotApplicable(f"reported once per scope, on {prods[0].ref}")
        what = f"backups ({_list([q.ref for q in prods])}) are never restore-tested"
    else:
        _anchor(target, ctx)
        names = _holder_names(_holders(target, ctx))
        what = (
            "no backup schedule guidecheck reads is in its scope, "
            f"so no backup is restore-tested ({len(names)} object(s) with persistent volumes: {_list(names)})"
        )
    note = ""
    if index.is_live(target):
        newest = model.latest(index.restore_evidence(target, ctx))
        if newest is not None:
            note = f"; the last isolated restore in the cluster finished {_when(newest, ctx)}"
    yield Hit(
        f"{what}: no scheduled restore test into an isolated namespace at least every {_fmt(limit)} "
        f"({_RESTORE_HINT}){note}"
    )


def _restore_test_hits(target: Target, rt: model.RestoreTest, limit: _dt.timedelta, ctx: Context) -> Iterator[Hit]:
    """GC803 on an object that runs (a CronJob) or declares (another object) restore tests."""
    ref = str(target.ref)
    external = isinstance(target.data, dict) and target.data.get("kind") != "CronJob"
    verb = "declares" if external else "runs"
    if not rt.isolated:
        yield Hit(
            f"{ref} runs velero restore create without --namespace-mappings: it restores over the "
            f"original namespaces instead of into an isolated one",
            line=rt.line,
        )
        return
    if rt.gap is None:
        yield Hit(f"{ref} {verb} restore tests ({rt.how}), but it {rt.error}", line=rt.line)
    elif rt.gap > limit:
        yield Hit(
            f"{ref} {verb} restore tests ({rt.how}), but its worst-case gap is {_fmt(rt.gap)} "
            f"({rt.schedule_text}); the limit is {_fmt(limit)} (settings.restore-test-days)",
            line=rt.line,
            extra={"gap_seconds": rt.gap.total_seconds()},
        )
    if index.is_live(target) and not external:
        newest = model.latest(index.restore_evidence(target, ctx))
        if newest is None:
            yield Hit(
                f"no successful restore test found in the cluster ({ref} has no "
                f"status.lastSuccessfulTime and no Velero Restore into a mapped namespace completed)"
            )
        elif ctx.now - newest.when > limit:
            yield Hit(f"the last successful restore test finished {_when(newest, ctx)}: older than {_fmt(limit)}")


__all__ = ["restore_tests", "snapshot_coverage", "verification"]
