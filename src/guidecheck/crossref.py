"""Cross-object context: which other objects a rule may look at when judging one.

A workload's metrics scrape config, its HorizontalPodAutoscaler, the mesh policy
or backup schedule covering it are separate objects, often in other files.
Rules see every object of the scan, but an object is only ever related to
objects of the same *scope*:

* plain manifests: the same scanned directory (``origin["repo"]``, the display
  prefix of the directory argument; files named one by one share the scope ``""``);
* rendered Helm output: the same repository, and of the same value profile
  (objects of another profile are another deployment of the same service),
  plus the repository's plain manifests and other charts' default profile;
* a cluster: the same cluster (``origin["repo"] == "cluster/<context>"``).

The origin contract (every ``k8s`` target): ``origin["source"]`` is
``manifest`` | ``helm`` | ``cluster`` | ``dump``; ``origin["repo"]`` the scope;
rendered objects add ``chart`` (chart directory as displayed), ``template``,
``profile`` (``default`` for the chart's own values.yaml), ``release``.
Namespaces: an object without ``metadata.namespace`` (plain manifests applied
with ``-n``) is taken to be in every namespace.

Deployment units (``origin["unit"]``, ``origin["unit_kind"]``: ``kustomize`` for a rendered
kustomization, ``helm`` for a chart with one value profile, ``manifests`` for plain manifests,
named by their directory; see docs/kustomize.md) narrow the scope further
(:func:`unit_visible`): evidence in the same unit always counts; evidence rendered by a
kustomization counts for nothing outside its unit, and nothing outside counts for it except
plain manifests; plain-manifest evidence counts for the *nearest copy* of its target by
directory (among the objects of the scope with the target's kind, name and namespace, those
whose directory is fewest steps away from the evidence's), so that an HPA kept in one manifest
set never covers the copy of the Deployment in another, while ``k8s/deploy/`` and ``k8s/hpa/``
side by side (one copy) still match.  Targets without a unit (a cluster, a dump) are unaffected.
"""

from __future__ import annotations

from collections.abc import Iterable

from guidecheck.model import Target
from guidecheck.parsers import k8s


def scope(target: Target) -> str:
    origin = target.origin or {}
    if "repo" not in origin and target.kind == "repo":
        return "" if target.path == "." else target.path.rstrip("/") + "/"  # a repository is its own scope
    return str(origin.get("repo", ""))


def profile(target: Target) -> str | None:
    p = (target.origin or {}).get("profile")
    return p if isinstance(p, str) else None


def _by_scope(ctx) -> dict[str, list[Target]]:
    def build(c) -> dict[str, list[Target]]:
        index: dict[str, list[Target]] = {}
        for t in c.of_kind("k8s"):
            index.setdefault(scope(t), []).append(t)
        return index

    return ctx.cached("crossref.by_scope", build)


def visible(a: Target, b: Target) -> bool:
    """Whether object ``b`` may satisfy a requirement of object ``a`` (same scope assumed)."""
    pa, pb = profile(a), profile(b)
    if pb is None or pa == pb:
        return True
    if pa is None:
        return pb == "default"
    # two profiles: only another chart's default rendering (a monitoring chart next to the app chart)
    return pb == "default" and (a.origin or {}).get("chart") != (b.origin or {}).get("chart")


def unit(target: Target) -> str | None:
    u = (target.origin or {}).get("unit")
    return u if isinstance(u, str) else None


def unit_kind(target: Target) -> str | None:
    k = (target.origin or {}).get("unit_kind")
    return k if isinstance(k, str) else None


def location(target: Target) -> str:
    """The directory a copy of an object lives in: its file's, its kustomization's or its chart's."""
    kind = unit_kind(target)
    if kind == "kustomize":
        return unit(target) or "."
    if kind == "helm":
        return str((target.origin or {}).get("chart") or ".")
    return target.path.rsplit("/", 1)[0] if "/" in target.path else "."


def distance(a: str, b: str) -> int:
    """Steps between two directories ('a/b' and 'a/c': 2)."""
    pa = [x for x in a.split("/") if x not in ("", ".")]
    pb = [x for x in b.split("/") if x not in ("", ".")]
    common = 0
    for x, y in zip(pa, pb, strict=False):
        if x != y:
            break
        common += 1
    return len(pa) + len(pb) - 2 * common


def _copies(ctx) -> dict[tuple[str, object, object], list[Target]]:
    def build(c) -> dict[tuple[str, object, object], list[Target]]:
        index: dict[tuple[str, object, object], list[Target]] = {}
        for t in c.of_kind("k8s"):
            if isinstance(t.data, dict) and unit_kind(t) is not None:
                index.setdefault((scope(t), t.data.get("kind"), name(t.data)), []).append(t)
        return index

    return ctx.cached("crossref.copies", build)


def _copy_locations(a: Target, ctx) -> tuple[str, tuple[str, ...]] | None:
    """``a``'s directory and those of every copy of it in its scope; None when it has no other copy."""

    def compute() -> tuple[str, tuple[str, ...]] | None:
        if not isinstance(a.data, dict) or name(a.data) is None:
            return None
        key = (scope(a), a.data.get("kind"), name(a.data))
        # the copies ``a`` sees depend on its namespace only (same_namespace): found once per group
        locations = ctx.memoized(
            "crossref.copy-group", (key, namespace(a.data)), lambda: _group_locations(key, a.data, ctx)
        )
        if locations is None:
            return None
        return location(a), locations

    return ctx.memoized("crossref.copy-locations", id(a), compute)


def _group_locations(key: tuple[str, object, object], obj: dict, ctx) -> tuple[str, ...] | None:
    """The directories of the copies of ``key`` that share ``obj``'s namespace; None for fewer than two copies."""
    copies = [c for c in _copies(ctx).get(key, ()) if same_namespace(obj, c.data)]
    if len(copies) <= 1:
        return None
    locations = tuple(sorted({location(c) for c in copies}))
    # one object for every group with the same directories (the objects of one tree copied elsewhere): lookups
    # key by its identity (see UnitView.ordinals), and such groups see the same objects
    return ctx.memoized("crossref.locations", locations, lambda: locations)


def _parts(directory: str) -> tuple[str, ...]:
    """A directory's steps, as :func:`distance` counts them."""
    return tuple(x for x in directory.split("/") if x not in ("", "."))


def _location_set(locations: tuple[str, ...], ctx) -> frozenset[str]:
    """A copy group's directories as a set (memoised by the group tuple's identity)."""
    return ctx.memoized("crossref.location-set", id(locations), lambda: frozenset(locations))


def _nearest_distance(locations: tuple[str, ...], where: str, ctx) -> int:
    """The fewest steps from ``where`` to one of ``locations`` (memoised: the same for every copy).

    ``locations`` is a copy group's memoised tuple, keyed by identity: hashing it for every lookup would cost
    its length each time, and a policy library's thousands of test suites hold thousands of copies of one
    name. Evidence that sits with a copy is 0 steps from it, found without measuring every copy.
    """

    def compute() -> int:
        members = _location_set(locations, ctx)
        if where in members:
            return 0
        return min(distance(loc, where) for loc in locations)

    return ctx.memoized("crossref.nearest-distance", (id(locations), where), compute)


def unit_visible(a: Target, b: Target, ctx) -> bool:
    """Whether ``b`` may be evidence for ``a`` across deployment units (see the module docstring).

    :class:`UnitView` answers it for a whole list of candidates, without testing each.
    """
    ka, kb = unit_kind(a), unit_kind(b)
    if ka is None or kb is None or (ka == kb and unit(a) == unit(b)):
        return True
    if kb == "manifests":
        info = _copy_locations(a, ctx)
        if info is None:
            return True
        here, locations = info
        where = location(b)
        return distance(here, where) == _nearest_distance(locations, where, ctx)
    return ka != "kustomize" and kb != "kustomize"


class _Dir:
    """A directory in a :class:`UnitView`: the plain-manifest candidates there, and its subdirectories."""

    __slots__ = ("children", "ordinals", "parts", "where")

    def __init__(self, parts: tuple[str, ...]) -> None:
        self.parts = parts
        self.children: dict[str, _Dir] = {}
        self.ordinals: list[int] = []
        self.where = ""  # a location(t) spelling of this directory (all spellings count the same steps)


class UnitView:
    """Candidates ``(position, object)`` filed so that a lookup touches only those a target may see.

    Testing :func:`unit_visible` for every candidate costs each lookup the whole list; with copies of a
    tree in one scope (overlays, environments, a monorepo's services, the benchmark's corpus copies),
    each copy's targets would test every copy's candidates: copies x copies. Here the candidates are
    filed by what :func:`unit_visible` looks at: without a unit (seen by every target), rendered by a
    kustomization (seen by that unit), by a chart (seen by all but kustomizations), plain manifests
    (seen by their own unit, else by the nearest copy: a trie of their directories, in which a lookup
    skips every subdirectory where another copy of the target is nearer). :meth:`seen_by` is exactly
    the candidates :func:`unit_visible` accepts, in the list's order.
    """

    def __init__(self, pairs: list[tuple[int, Target]]) -> None:
        self.pairs = pairs  # held: views of memoised lists are cached by the list's id
        self.free: list[int] = []
        self.open: list[int] = []
        self.kustomize: dict[str | None, list[int]] = {}
        self.manifests: list[int] = []
        self.manifests_by_unit: dict[str | None, list[int]] = {}
        self.root = _Dir(())
        self.memo: dict[tuple, list[int]] = {}
        self.prepared: dict[tuple[str, ...], dict[_Dir, tuple[list[_Dir], list[tuple[int, _Dir]]]]] = {}
        self.visits = 0  # directories a nearest-copy lookup looked at (tests bound the work with it)
        for i, (_, t) in enumerate(pairs):
            kind = unit_kind(t)
            if kind is None:
                self.free.append(i)
            elif kind == "kustomize":
                self.kustomize.setdefault(unit(t), []).append(i)
            elif kind == "manifests":
                self.manifests.append(i)
                self.manifests_by_unit.setdefault(unit(t), []).append(i)
                where = location(t)
                node = self.root
                for part in _parts(where):
                    child = node.children.get(part)
                    if child is None:
                        child = node.children[part] = _Dir((*node.parts, part))
                    node = child
                node.ordinals.append(i)
                node.where = where
            else:
                self.open.append(i)

    def ordinals(self, a: Target, ctx) -> list[int]:
        """Indexes into the list (ascending) of the candidates :func:`unit_visible` accepts for ``a``."""
        ka = unit_kind(a)
        if ka is None:
            return list(range(len(self.pairs)))
        info = _copy_locations(a, ctx) if self.manifests else None
        ua = unit(a)
        # a copy group's locations by identity (one memoised tuple per group): hashing thousands of them per
        # lookup made a policy library's test suites quadratic
        key = (ka, ua if ka in ("kustomize", "manifests") else None, info and (info[0], id(info[1])))
        found = self.memo.get(key)
        if found is None:
            parts = [self.free, self.open if ka != "kustomize" else self.kustomize.get(ua, [])]
            if info is None:
                parts.append(self.manifests)
            else:
                if ka == "manifests":
                    parts.append(self.manifests_by_unit.get(ua, []))
                parts.append(self._nearest(info, ctx))
            found = sorted({i for part in parts for i in part})
            self.memo[key] = found
        return found

    def seen_by(self, a: Target, ctx) -> list[tuple[int, Target]]:
        """The candidates ``a`` may see across deployment units (``a`` itself and :func:`visible` not applied)."""
        pairs = self.pairs
        return [pairs[i] for i in self.ordinals(a, ctx)]

    def _nearest(self, info: tuple[str, tuple[str, ...]], ctx) -> list[int]:
        """The plain-manifest candidates for which ``here`` is a nearest of ``locations`` (``info``).

        A directory D off the way to ``here`` with a location k steps below it is skipped, with all
        it holds, when ``here`` is more than k steps from D: every candidate under D is nearer to that
        location (through D) than to ``here``. Such directories are not even looked at: the
        subdirectories holding a location are sorted by how far down it is, once per ``locations``.
        Each directory looked at is decided as :func:`unit_visible` decides it.
        """
        here, locations = info
        hp = _parts(here)
        table = self.prepared.get(locations)
        if table is None:
            table = self.prepared[locations] = self._prepare(locations)
        out: list[int] = []
        stack = [(self.root, 0)]
        while stack:
            node, common = stack.pop()
            self.visits += 1
            depth = len(node.parts)
            on_way = common == depth  # ``here`` or one of its parents
            from_here = len(hp) + depth - 2 * common
            if node.ordinals and from_here == _nearest_distance(locations, node.where, ctx):
                out.extend(node.ordinals)
            way = node.children.get(hp[depth]) if on_way and depth < len(hp) else None
            if way is not None:
                stack.append((way, common + 1))
            entry = table.get(node)
            if entry is None:  # no location below any subdirectory: none can be skipped
                stack.extend((child, common) for child in node.children.values() if child is not way)
                continue
            free, located = entry
            stack.extend((child, common) for child in free if child is not way)
            off = from_here + 1  # steps from ``here`` to any subdirectory off its way
            for steps, child in located:  # farthest location first
                if off > steps:
                    break  # this one and the rest: another copy is nearer to all they hold
                if child is not way:
                    stack.append((child, common))
        return out

    def _prepare(self, locations: tuple[str, ...]) -> dict[_Dir, tuple[list[_Dir], list[tuple[int, _Dir]]]]:
        """Directory -> (subdirectories without a location, those with one by steps down to it, farthest first)."""
        below: dict[_Dir, int] = {}  # directory -> fewest steps down from it to a location
        for loc in locations:
            lp = _parts(loc)
            at, k = self.root, 0
            while True:
                if below.get(at, len(lp) + 1) > len(lp) - k:
                    below[at] = len(lp) - k
                deeper = at.children.get(lp[k]) if k < len(lp) else None
                if deeper is None:
                    break  # no candidate further down: nothing there to skip
                at, k = deeper, k + 1
        table = {}
        for node in below:
            free = [c for c in node.children.values() if c not in below]
            located = sorted(((below[c], c) for c in node.children.values() if c in below), key=lambda p: -p[0])
            table[node] = (free, located)
        return table


def unit_view(ctx, pairs: list[tuple[int, Target]]) -> UnitView:
    """The :class:`UnitView` of a candidate list that lives as long as the scan (an index's, a memoised one)."""
    views = ctx.cached("crossref.unit-views", lambda c: {})
    view = views.get(id(pairs))
    if view is None or view.pairs is not pairs:
        view = views[id(pairs)] = UnitView(pairs)
    return view


def looked_in(target: Target, ctx) -> str:
    """Where a cross-object rule looked for evidence about ``target``: a parenthesised suffix.

    A rendered kustomization looks in itself and in the plain manifests it is the nearest copy for;
    a plain manifest with copies elsewhere in the scope looks in the manifests nearer to it than to
    any other copy; a chart rendered with a value profile looks in that rendering, the plain
    manifests and the other charts' default renderings of its scope (the same words for every chart
    and profile, so that one template's finding keeps one fingerprint); anything else (a lone plain
    manifest, a repository, a cluster) looks in its whole scope, which the suffix names.
    """
    kind = unit_kind(target)
    if kind == "kustomize":
        # the same words for every overlay: the finding is merged across them and lists them (its units)
        return (
            " (looked in each kustomization that renders it, and in plain manifests nearer to it than to other copies)"
        )
    if kind == "manifests" and isinstance(target.data, dict):
        info = _copy_locations(target, ctx)  # memoised per copy group: not a walk over every copy per target
        here = location(target)
        # a copy in the same directory (velero's nginx-app: base.yaml and with-pv.yaml) is as near to every
        # manifest as this one: both see the same evidence, and it bounds nothing
        others = _other_locations(info, here, ctx) if info is not None else (0, [])
        if others[0]:
            count, first = others
            shown = ", ".join(first) + (f" and {count - 3} more" if count > 3 else "")
            return f" (looked in the manifests nearer to {here} than to its other copies in {shown})"
    whole = _scope_words(scope(target))
    if kind == "helm":
        # neither the chart nor the profile by name: a template rendered on its own and inside a parent
        # chart, or with two profiles, is one finding (one fingerprint) and its units name them
        return (
            " (looked in its chart rendered with the same values, and in the plain manifests and other "
            f"charts' default renderings of {whole})"
        )
    return f" (looked in {whole})"


def _other_locations(info: tuple[str, tuple[str, ...]], here: str, ctx) -> tuple[int, list[str]]:
    """How many of a copy group's (sorted) directories are not ``here``, and the first three of them; without a
    walk over the whole group for each of its members."""
    locations = info[1]
    members = _location_set(locations, ctx)
    count = len(locations) - (1 if here in members else 0)
    return count, [loc for loc in locations[:4] if loc != here][:3]


def _scope_words(sc: str) -> str:
    """A scope as a reader knows it: the cluster, the scanned directory, or the files named one by one."""
    if sc.startswith("cluster/"):
        return f"cluster {sc[len('cluster/') :]}"
    # not the directory's name: it is spelled as the command line spelled it (., svc, ../svc, /abs/svc),
    # and the message is part of the fingerprint, which must not depend on that (baselines); the
    # finding's path names the directory
    return "the whole scan"


def _by_scope_kind(ctx) -> dict[tuple[str, object], list[tuple[int, Target]]]:
    """(scope, kind) -> [(load position, target)]: a kind's objects without walking the whole scope."""

    def build(c) -> dict[tuple[str, object], list[tuple[int, Target]]]:
        index: dict[tuple[str, object], list[tuple[int, Target]]] = {}
        for sc, targets in _by_scope(c).items():
            for i, t in enumerate(targets):
                if isinstance(t.data, dict):
                    kind = t.data.get("kind")
                    index.setdefault((sc, kind if isinstance(kind, str) else None), []).append((i, t))
        return index

    return ctx.cached("crossref.by_scope_kind", build)


def related(target: Target, ctx, kinds: Iterable[str] | None = None, *, units: bool = True) -> list[Target]:
    """The k8s targets in ``target``'s scope that it may relate to (itself excluded), in load order.

    ``units=False`` leaves out the deployment-unit rule (:func:`unit_visible`): for a list memoised
    per scope view, which each target then filters with :func:`unit_visible` itself.
    """
    if kinds is not None:
        index = _by_scope_kind(ctx)
        sc = scope(target)
        lists = [index.get((sc, k), []) for k in set(kinds)]
        if units:
            return [t for _, t in _seen(target, ctx, *lists) if t is not target and visible(target, t)]
        found = sorted((pair for pairs in lists for pair in pairs), key=lambda p: p[0])
        return [t for _, t in found if t is not target and visible(target, t)]
    if units:
        everything = _scope_objects(ctx).get(scope(target), [])
        return [t for _, t in _seen(target, ctx, everything) if t is not target and visible(target, t)]
    out = []
    for t in _by_scope(ctx).get(scope(target), ()):
        if t is target or not isinstance(t.data, dict):
            continue
        if visible(target, t):
            out.append(t)
    return out


def _scope_objects(ctx) -> dict[str, list[tuple[int, Target]]]:
    """scope -> ``(load position, object)`` of its objects (those with a mapping): :func:`related`'s candidates."""

    def build(c) -> dict[str, list[tuple[int, Target]]]:
        return {
            sc: [(i, t) for i, t in enumerate(targets) if isinstance(t.data, dict)]
            for sc, targets in _by_scope(c).items()
        }

    return ctx.cached("crossref.scope-objects", build)


SMALL = 8  # candidate lists shorter than this are tested one by one (a view costs more than it saves)


def _seen(target: Target, ctx, *lists: list[tuple[int, Target]]) -> list[tuple[int, Target]]:
    """The candidates of ``lists`` that :func:`unit_visible` lets ``target`` see, in position order.

    Each list is ``(load position, object)`` of ``target``'s scope and lives as long as the scan (an
    index's list, a memoised one): its :class:`UnitView` is kept and reused by every lookup.
    """
    found: list[tuple[int, Target]] = []
    for pairs in lists:
        if len(pairs) < SMALL:
            found.extend(p for p in pairs if unit_visible(target, p[1], ctx))
        elif pairs:
            found.extend(unit_view(ctx, pairs).seen_by(target, ctx))
    if len(lists) > 1:
        found.sort(key=lambda p: p[0])
    return found


def scope_kind_index(ctx, kind: str) -> dict[str, list[tuple[int, Target]]]:
    """scope -> ``(load position, object)`` of every object of ``kind``: for indexes of one kind's objects."""
    return {sc: pairs for (sc, k), pairs in _by_scope_kind(ctx).items() if k == kind}


def kind_positions(target: Target, ctx, kinds: Iterable[str]) -> list[tuple[int, Target]]:
    """``(load position, object)`` of every object of ``kinds`` in ``target``'s scope (itself included), in order.

    Memoised per scope and kinds (a list that lives as long as the scan: do not change it).
    """
    index = _by_scope_kind(ctx)
    sc = scope(target)
    wanted = frozenset(kinds)
    return ctx.memoized(
        "crossref.kind-positions",
        (sc, wanted),
        lambda: sorted((pair for k in wanted for pair in index.get((sc, k), ())), key=lambda p: p[0]),
    )


def related_among(target: Target, ctx, candidates: Iterable[tuple[int, Target]]) -> list[Target]:
    """:func:`related` restricted to ``candidates`` (``(load position, object)`` of ``target``'s scope), in order.

    For a rule that looks only at objects with some property of their own (holding alerting rules,
    selecting something): the candidates are computed once per scope, each target filters them. A
    list of :data:`SMALL` candidates or more must live as long as the scan (a memoised list, an
    index's): it is filed once by deployment unit (:class:`UnitView`), not tested per target.
    """
    if not isinstance(candidates, list):
        candidates = list(candidates)
    return [t for _, t in _seen(target, ctx, candidates) if t is not target and visible(target, t)]


def related_pairs(target: Target, ctx, candidates: list[tuple[int, Target]]) -> list[tuple[int, Target]]:
    """:func:`related_among`, keeping each object's position (to merge the answers of several lists)."""
    return [p for p in _seen(target, ctx, candidates) if p[1] is not target and visible(target, p[1])]


def scope_objects(target: Target, ctx) -> list[tuple[int, Target]]:
    """``(load position, object)`` of every object of ``target``'s scope (itself included): a scan-lived list."""
    return _scope_objects(ctx).get(scope(target), [])


def _by_scope_kind_ns(ctx) -> dict[tuple[str, object, str | None], list[tuple[int, Target]]]:
    """(scope, kind, namespace or None) -> [(load position, target)]: a cluster is one scope of many namespaces."""

    def build(c) -> dict[tuple[str, object, str | None], list[tuple[int, Target]]]:
        index: dict[tuple[str, object, str | None], list[tuple[int, Target]]] = {}
        for (sc, kind), pairs in _by_scope_kind(c).items():
            for pair in pairs:
                ns = namespace(pair[1].data)
                index.setdefault((sc, kind, ns), []).append(pair)
        return index

    return ctx.cached("crossref.by_scope_kind_ns", build)


def related_same_namespace(target: Target, ctx, kinds: Iterable[str]) -> list[Target]:
    """:func:`related` objects of ``kinds`` that share ``target``'s namespace (objects without one match any).

    The same objects, in the same order, as filtering :func:`related` with :func:`same_namespace`,
    without walking every namespace's objects: a live cluster is one scope of thousands of objects.
    """
    ns = namespace(target.data) if isinstance(target.data, dict) else None
    if ns is None:
        return related(target, ctx, kinds)
    index = _by_scope_kind_ns(ctx)
    sc = scope(target)
    lists = [index.get(key, []) for k in set(kinds) for key in ((sc, k, ns), (sc, k, None))]
    return [t for _, t in _seen(target, ctx, *lists) if t is not target and visible(target, t)]


def view_key(target: Target, ctx=None) -> tuple:
    """Targets with the same key see the same objects (same scope, profile and chart): a cache key.

    The chart matters only to a target rendered with a value profile (see :func:`visible`): live
    objects carry their Helm chart in ``origin`` too, and must not make one key per release.

    Plain-manifest evidence binds to the nearest copy of an object, so the view of a plain manifest
    or a chart's object depends on where its copies are. With ``ctx`` the key says just that (its
    unit, and its directory and those of its copies, or that it has none), so that the objects of one
    directory without copies elsewhere share one view, as :func:`unit_visible` sees them; without
    ``ctx``, every object is a view of its own (its directory and reference).
    """
    p = profile(target)
    kind = unit_kind(target)
    if kind not in ("manifests", "helm"):
        copies: tuple | None = None
    elif ctx is None:
        copies = (location(target), str(target.ref))
    else:
        info = _copy_locations(target, ctx)  # its copy group's locations by identity (see UnitView.ordinals)
        copies = ("unit", kind, unit(target), info and (info[0], id(info[1])))
    return (
        scope(target),
        p,
        (target.origin or {}).get("chart") if p is not None else None,
        unit(target) if kind == "kustomize" else None,
        copies,
    )


def namespace(obj: dict) -> str | None:
    ns = k8s.get(obj, "metadata", "namespace")
    return ns if isinstance(ns, str) and ns else None


def same_namespace(a: dict, b: dict) -> bool:
    na, nb = namespace(a), namespace(b)
    return na is None or nb is None or na == nb


def name(obj: dict) -> str | None:
    n = k8s.get(obj, "metadata", "name")
    return n if isinstance(n, str) else None


def selects_pods_of(selector, workload: dict, *, empty_selects_all: bool) -> bool:
    """Whether a selector (Service map or LabelSelector) selects the pods of ``workload``."""
    sel = k8s.as_map(selector)
    if not sel:
        return empty_selects_all
    return k8s.selector_matches(sel, k8s.pod_labels(workload))


# ------------------------------------------------------------------ indexes
#
# A cross-object rule asks, for each of N targets, which of the other objects refer to it: by a
# label selector (Services, monitors), by kind and name (autoscalers, scale targets).  Walking every
# object of the scope per target is N x N; these indexes, built once per scan, hand each lookup the
# few *candidates* that can match, in load order, and the caller then applies exactly the tests it
# applied to every object before (visibility, deployment units, namespaces, the selector itself), so
# that the answers are the same objects in the same order.


def required_pairs(selector) -> list[tuple[object, str]]:
    """Label pairs ``(key, str(value))`` every object a selector selects must carry (see ``selector_matches``).

    Empty when the selector requires no particular label (an empty LabelSelector, one of
    ``matchExpressions`` only, an empty map): such a selector is a candidate for every lookup.
    """
    sel = k8s.as_map(selector)
    if "matchLabels" in sel or "matchExpressions" in sel:
        return [(k, str(v)) for k, v in k8s.as_map(sel.get("matchLabels")).items()]
    return [(k, str(v)) for k, v in sel.items()]


class SelectorIndex:
    """Objects carrying a label selector, filed under one label pair their selector requires.

    Each object is filed once, under the pair of its selector that the fewest selectors of the index
    require (``app: cart`` rather than ``part-of: shop``), or among those requiring none. The
    candidates for a set of labels are the objects filed under one of its pairs, and those requiring
    none: a superset of what the selectors select, usually the matching few.
    """

    def __init__(self, entries: Iterable[tuple[int, Target, object]]) -> None:
        listed = [(pos, t, required_pairs(sel)) for pos, t, sel in entries]
        counts: dict[tuple[object, str], int] = {}
        for _, _, pairs in listed:
            for pair in pairs:
                counts[pair] = counts.get(pair, 0) + 1
        self.always: list[tuple[int, Target]] = []
        self.by_pair: dict[tuple[object, str], list[tuple[int, Target]]] = {}
        for pos, t, pairs in listed:
            if not pairs:
                self.always.append((pos, t))
            else:
                self.by_pair.setdefault(min(pairs, key=counts.__getitem__), []).append((pos, t))

    def seen_candidates(self, target: Target, ctx, *label_sets: dict) -> list[tuple[int, Target]]:
        """:meth:`candidates` that :func:`unit_visible` lets ``target`` see (the index lives as long as the scan)."""
        lists = [self.always]
        for labels in label_sets:
            for k, v in labels.items():
                pairs = self.by_pair.get((k, str(v)))
                if pairs:
                    lists.append(pairs)
        found = dict(_seen(target, ctx, *lists))  # one entry per object: each is filed once
        return sorted(found.items(), key=lambda p: p[0])

    def candidates(self, *label_sets: dict) -> list[tuple[int, Target]]:
        """``(position, object)`` of the objects whose selector may select one of ``label_sets``."""
        found = dict(self.always)
        for labels in label_sets:
            for k, v in labels.items():
                for pos, t in self.by_pair.get((k, str(v)), ()):
                    found[pos] = t
        return sorted(found.items(), key=lambda p: p[0])


def merged(*lists: Iterable[tuple[int, Target]]) -> list[Target]:
    """The targets of several ``(position, target)`` lists, in position order."""
    found: dict[int, Target] = {}
    for pairs in lists:
        found.update(pairs)
    return [t for _, t in sorted(found.items(), key=lambda p: p[0])]


def _service_index(ctx) -> dict[tuple[str, str | None, bool], SelectorIndex]:
    """(scope, namespace, False) and (scope, None, True) -> the Services with a selector, by selector label."""

    def build(c) -> dict[tuple[str, str | None, bool], SelectorIndex]:
        per_ns: dict[tuple[str, str | None, bool], list[tuple[int, Target, object]]] = {}
        for (sc, kind), pairs in _by_scope_kind(c).items():
            if kind != "Service":
                continue
            for pos, t in pairs:
                sel = k8s.get(t.data, "spec", "selector")
                if not k8s.as_map(sel):
                    continue  # a Service without a selector selects no pods (selects_pods_of)
                entry = (pos, t, sel)
                per_ns.setdefault((sc, namespace(t.data), False), []).append(entry)
                per_ns.setdefault((sc, None, True), []).append(entry)
        return {key: SelectorIndex(entries) for key, entries in per_ns.items()}

    return ctx.cached("crossref.service-index", build)


def services_for(target: Target, ctx) -> list[Target]:
    """Services in scope whose ``spec.selector`` selects the workload's pods (same namespace)."""
    obj = target.data
    labels = k8s.pod_labels(obj)
    index = _service_index(ctx)
    sc = scope(target)
    ns = namespace(obj) if isinstance(obj, dict) else None
    empty = SelectorIndex(())
    if ns is None:
        found = merged(index.get((sc, None, True), empty).seen_candidates(target, ctx, labels))
    else:
        found = merged(
            index.get((sc, ns, False), empty).seen_candidates(target, ctx, labels),
            index.get((sc, None, False), empty).seen_candidates(target, ctx, labels),
        )
    out = []
    for t in found:
        if t is target or not visible(target, t):
            continue
        sel = k8s.get(t.data, "spec", "selector")
        if same_namespace(obj, t.data) and selects_pods_of(sel, obj, empty_selects_all=False):
            out.append(t)
    return out


# ------------------------------------------------------------- support targets
#
# Loader extensions add targets that are not Kubernetes objects (a Fluent Bit
# pipeline read from a file, a Prometheus rule file, a Grafana dashboard).
# They carry ``origin["repo"]`` like k8s targets, and the same scope rules apply.


def related_support(target: Target, ctx, kind: str) -> list[Target]:
    """Targets of a support ``kind`` (e.g. ``fluentbit``, ``alerts``) in ``target``'s scope, in load order."""

    def build(c) -> dict[str, list[Target]]:
        index: dict[str, list[Target]] = {}
        for t in c.of_kind(kind):
            index.setdefault(scope(t), []).append(t)
        return index

    index = ctx.cached(f"crossref.support.{kind}", build)
    return [t for t in index.get(scope(target), ()) if t is not target and visible(target, t)]


def repo_prefix(repo: Target) -> str:
    """A repository target's path as the prefix of its files' paths ("" for a repository at the scanned root)."""
    return "" if repo.path in ("", ".") else repo.path.rstrip("/") + "/"


def repo_holding(target: Target, ctx) -> Target | None:
    """The first repository target whose tree holds ``target``'s file, by path: for targets without a scope of
    their own (a Dockerfile), as for those with one."""
    for t in ctx.of_kind("repo"):
        prefix = repo_prefix(t)
        if not prefix or target.path.startswith(prefix):
            return t
    return None


def repo_target(target: Target, ctx) -> Target | None:
    """The repository target of ``target``'s scope (None for clusters and files named one by one)."""

    def build(c) -> dict[str, Target]:
        out: dict[str, Target] = {}
        for t in c.of_kind("repo"):
            p = "" if t.path == "." else t.path + "/"
            out.setdefault(p, t)
        return out

    return ctx.cached("crossref.repos", build).get(scope(target))


# ------------------------------------------------- ports, monitors, autoscalers


def container_port(workload: dict, ref) -> int | None:
    """A pod port (number or container port name) of ``workload`` as a number; None if it does not resolve.

    Only long-running containers count (app containers and native sidecars).
    """
    if isinstance(ref, bool):
        return None
    if isinstance(ref, int):
        return ref if 0 < ref < 65536 else None
    if isinstance(ref, str):
        if ref.isdigit():
            return container_port(workload, int(ref))
        for c in k8s.containers(workload, "long-running"):
            for p in k8s.as_list(c.data.get("ports")):
                p = k8s.as_map(p)
                if p.get("name") == ref and isinstance(p.get("containerPort"), int):
                    return p["containerPort"]
    return None


def service_port_target(service: dict, ref) -> tuple[dict | None, object]:
    """The Service port a monitor endpoint names (by name, or by number) and its targetPort (name or number)."""
    for p in k8s.as_list(k8s.get(service, "spec", "ports")):
        p = k8s.as_map(p)
        if (isinstance(ref, str) and not ref.isdigit() and p.get("name") == ref) or (
            not isinstance(ref, bool)
            and isinstance(ref, (int, str))
            and str(ref).isdigit()
            and p.get("port") == int(ref)
        ):
            target = p.get("targetPort")
            return p, (target if target is not None else p.get("port"))
    return None, None


def namespace_selected(monitor: dict, obj: dict) -> bool:
    """Whether a ServiceMonitor/PodMonitor's ``namespaceSelector`` covers ``obj``'s namespace.

    ``any: true`` covers every namespace; ``matchNames`` the listed ones;
    without a selector, the monitor's own namespace.  An object without a
    namespace (plain manifests applied with ``-n``) is in every namespace.
    """
    ns_sel = k8s.as_map(k8s.get(monitor, "spec", "namespaceSelector"))
    if ns_sel.get("any") is True:
        return True
    names = [n for n in k8s.as_list(ns_sel.get("matchNames")) if isinstance(n, str)]
    if names:
        ns = namespace(obj)
        return ns is None or ns in names
    return same_namespace(monitor, obj)


# kind -> (what it selects, where its endpoints are)
MONITOR_KINDS: dict[str, tuple[str, str]] = {
    "ServiceMonitor": ("Service", "endpoints"),
    "PodMonitor": ("Pod", "podMetricsEndpoints"),
    "VMServiceScrape": ("Service", "endpoints"),  # VictoriaMetrics operator
    "VMPodScrape": ("Pod", "podMetricsEndpoints"),
}


def monitor_selects_service(monitor: dict, service: dict) -> bool:
    sel = k8s.get(monitor, "spec", "selector")
    if not isinstance(sel, dict):
        return False
    return namespace_selected(monitor, service) and k8s.selector_matches(sel, k8s.labels(service))


def monitor_selects_pods(monitor: dict, workload: dict) -> bool:
    sel = k8s.get(monitor, "spec", "selector")
    if not isinstance(sel, dict):
        return False
    return namespace_selected(monitor, workload) and k8s.selector_matches(sel, k8s.pod_labels(workload))


def monitors_in_scope(target: Target, ctx) -> list[Target]:
    return related(target, ctx, kinds=tuple(MONITOR_KINDS))


def _monitor_index(ctx) -> dict[tuple[str, str], SelectorIndex]:
    """(scope, what it selects: Service or Pod) -> the monitors with a selector mapping, by selector label."""

    def build(c) -> dict[tuple[str, str], SelectorIndex]:
        entries: dict[tuple[str, str], list[tuple[int, Target, object]]] = {}
        for (sc, kind), pairs in _by_scope_kind(c).items():
            if kind not in MONITOR_KINDS:
                continue
            what = MONITOR_KINDS[kind][0]
            for pos, t in pairs:
                sel = k8s.get(t.data, "spec", "selector")
                if isinstance(sel, dict):  # any other selector selects nothing (monitor_selects_*)
                    entries.setdefault((sc, what), []).append((pos, t, sel))
        return {key: SelectorIndex(e) for key, e in entries.items()}

    return ctx.cached("crossref.monitor-index", build)


def monitors_selecting(target: Target, services: list[Target], ctx) -> list[Target]:
    """The :func:`monitors_in_scope` of ``target`` that may select one of ``services`` or its pods, in order.

    A monitor left out selects neither (:func:`monitor_selects_service`, :func:`monitor_selects_pods`).
    """
    index = _monitor_index(ctx)
    sc = scope(target)
    empty = SelectorIndex(())
    found = merged(
        index.get((sc, "Service"), empty).seen_candidates(target, ctx, *(k8s.labels(s.data) for s in services)),
        index.get((sc, "Pod"), empty).seen_candidates(target, ctx, k8s.pod_labels(target.data)),
    )
    return [t for t in found if t is not target and visible(target, t)]


def labelled(target: Target, ctx, kinds: Iterable[str], selector, *, pods: bool = False) -> list[tuple[int, Target]]:
    """``(load position, object)`` of the objects of ``kinds`` in ``target``'s scope that ``selector`` may select.

    Candidates, in load order: those carrying the rarest label pair the selector requires (their own
    labels, or with ``pods`` their pods'), or every object of the kinds when it requires none.
    """
    pairs = required_pairs(selector)
    if not pairs:
        return kind_positions(target, ctx, kinds)
    kinds = tuple(sorted(set(kinds)))
    which = "pods" if pods else "own"

    def build(c) -> dict[tuple[object, str], list[tuple[int, Target]]]:
        index: dict[tuple[object, str], list[tuple[int, Target]]] = {}
        for pos, t in kind_positions(target, c, kinds):
            for k, v in (k8s.pod_labels(t.data) if pods else k8s.labels(t.data)).items():
                index.setdefault((k, str(v)), []).append((pos, t))
        return index

    index = ctx.memoized("crossref.labelled", (scope(target), kinds, which), lambda: build(ctx))
    return min((index.get(pair, []) for pair in pairs), key=len)


def monitor_selection(monitor: Target, ctx) -> list[Target]:
    """What a monitor selects in its scope: Services (ServiceMonitor) or workloads (PodMonitor)."""
    kind = monitor.data.get("kind") if isinstance(monitor.data, dict) else None
    what = MONITOR_KINDS[kind][0] if isinstance(kind, str) and kind in MONITOR_KINDS else None
    sel = k8s.get(monitor.data, "spec", "selector")
    if not isinstance(sel, dict):
        return []  # selects nothing (monitor_selects_*)
    if what == "Service":
        found = related_among(monitor, ctx, labelled(monitor, ctx, ("Service",), sel))
        return [t for t in found if monitor_selects_service(monitor.data, t.data)]
    if what == "Pod":
        kinds = tuple(ctx.settings.get("workload-kinds") or ())
        found = related_among(monitor, ctx, labelled(monitor, ctx, kinds, sel, pods=True))
        return [t for t in found if k8s.is_long_running(t.data) and monitor_selects_pods(monitor.data, t.data)]
    return []


def named(target: Target, ctx, kind: str, nm: str) -> list[tuple[int, Target]]:
    """``(load position, object)`` of the objects of ``kind`` named ``nm`` in ``target``'s scope, in load order."""
    return _by_scope_kind_name(ctx).get((scope(target), kind, nm), [])


SCALER_KINDS = ("HorizontalPodAutoscaler", "ScaledObject")  # ScaledObject: KEDA, which creates an HPA


def scale_target_ref(scaler: dict) -> tuple[str | None, str | None]:
    ref = k8s.as_map(k8s.get(scaler, "spec", "scaleTargetRef"))
    kind, nm = ref.get("kind"), ref.get("name")
    if scaler.get("kind") == "ScaledObject" and kind is None:
        kind = "Deployment"  # KEDA's default
    return (kind if isinstance(kind, str) else None, nm if isinstance(nm, str) else None)


def _scalers_by_ref(ctx) -> dict[tuple[str, str | None, str | None], list[tuple[int, Target]]]:
    """(scope, scaleTargetRef kind, name) -> [(load position, autoscaler)]."""

    def build(c) -> dict[tuple[str, str | None, str | None], list[tuple[int, Target]]]:
        index: dict[tuple[str, str | None, str | None], list[tuple[int, Target]]] = {}
        for kind in SCALER_KINDS:
            for sc_kind, pairs in _by_scope_kind(c).items():
                if sc_kind[1] == kind:
                    for pos, t in pairs:
                        index.setdefault((sc_kind[0], *scale_target_ref(t.data)), []).append((pos, t))
        return index

    return ctx.cached("crossref.scalers-by-ref", build)


def scalers_for(target: Target, ctx) -> list[Target]:
    """HorizontalPodAutoscalers (and KEDA ScaledObjects) in scope whose scaleTargetRef names the workload."""
    obj = target.data
    kind, nm = obj.get("kind"), name(obj)
    if kind is not None and not isinstance(kind, str):
        return []  # a scaleTargetRef's kind is a string or None
    # filed kind by kind (SCALER_KINDS): in load order once sorted
    found = sorted(_seen(target, ctx, _scalers_by_ref(ctx).get((scope(target), kind, nm), [])), key=lambda p: p[0])
    return [t for _, t in found if t is not target and visible(target, t) and same_namespace(obj, t.data)]


def _by_scope_kind_name(ctx) -> dict[tuple[str, object, str | None], list[tuple[int, Target]]]:
    """(scope, kind, name) -> [(load position, target)]: an object by name without walking its kind."""

    def build(c) -> dict[tuple[str, object, str | None], list[tuple[int, Target]]]:
        index: dict[tuple[str, object, str | None], list[tuple[int, Target]]] = {}
        for (sc, kind), pairs in _by_scope_kind(c).items():
            for pos, t in pairs:
                index.setdefault((sc, kind, name(t.data)), []).append((pos, t))
        return index

    return ctx.cached("crossref.by_scope_kind_name", build)


def scale_targets(scaler: Target, ctx) -> list[Target]:
    """The objects in scope an autoscaler's scaleTargetRef names (same kind, name and namespace)."""
    tk, tn = scale_target_ref(scaler.data)
    if tk is None or tn is None:
        return []
    found = _seen(scaler, ctx, _by_scope_kind_name(ctx).get((scope(scaler), tk, tn), []))
    return [t for _, t in found if t is not scaler and visible(scaler, t) and same_namespace(scaler.data, t.data)]


__all__ = [
    "MONITOR_KINDS",
    "SCALER_KINDS",
    "container_port",
    "distance",
    "location",
    "looked_in",
    "monitor_selection",
    "monitor_selects_pods",
    "monitor_selects_service",
    "monitors_in_scope",
    "monitors_selecting",
    "merged",
    "required_pairs",
    "SelectorIndex",
    "UnitView",
    "unit_view",
    "namespace",
    "namespace_selected",
    "name",
    "profile",
    "related",
    "related_among",
    "related_pairs",
    "scope_objects",
    "labelled",
    "named",
    "scope_kind_index",
    "kind_positions",
    "related_same_namespace",
    "related_support",
    "repo_target",
    "same_namespace",
    "scale_target_ref",
    "scale_targets",
    "scalers_for",
    "scope",
    "selects_pods_of",
    "service_port_target",
    "services_for",
    "unit",
    "unit_kind",
    "unit_visible",
    "view_key",
    "visible",
]
