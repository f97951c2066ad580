"""Cross-object rules stay linear in the number of objects: bounded *work*, never wall-clock time.

A scan of N objects in one directory, and of twice as many, counts the calls of the comparisons every
cross-object lookup makes (selector matches, visibility and deployment-unit tests): twice the objects
must cost at most about twice the comparisons. Before the indexes in ``crossref`` they grew with
objects x objects (3.2x the time for 2x the manifests). The indexes' own semantics are tested here too:
their candidates are a superset of what the exact tests select, in load order.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

from guidecheck import crossref, runner
from guidecheck.catalog import load_rules
from guidecheck.checks import alerts
from guidecheck.checks.backup_index import _ORDINAL
from guidecheck.config import Config
from guidecheck.model import Target
from guidecheck.parsers import k8s
from guidecheck.parsers.alerts import AlertRule
from guidecheck.parsers.backup import Claim

ROOT = Path(__file__).resolve().parents[1]


def _scaling():
    spec = importlib.util.spec_from_file_location("gc_scaling", ROOT / "benchmarks" / "scaling.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gc_scaling", module)  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def _count_work(monkeypatch, path: Path, rules) -> Counter:
    """Scan ``path`` (every rule) counting the cross-object comparisons."""
    calls: Counter = Counter()

    def counting(module, name):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    counting(k8s, "selector_matches")
    counting(crossref, "visible")
    counting(crossref, "unit_visible")
    counting(crossref, "same_namespace")
    counting(alerts, "refers_to")
    try:
        runner.scan([str(path)], Config(), rules)
    finally:
        monkeypatch.undo()
    calls["total"] = sum(calls.values())
    return calls


def test_manifests_in_one_directory_cost_linear_work(tmp_path, monkeypatch, rules):
    scaling = _scaling()
    small, large = tmp_path / "small", tmp_path / "large"
    scaling.write_manifests(small, 200)
    scaling.write_manifests(large, 400)
    a = _count_work(monkeypatch, small, rules)
    b = _count_work(monkeypatch, large, rules)
    for name in ("selector_matches", "visible", "unit_visible", "refers_to", "total"):
        assert a[name] > 0, name
        assert b[name] <= 2.2 * a[name], f"{name}: {a[name]} for 200 objects, {b[name]} for 400"


def test_copies_of_a_repository_cost_linear_work(tmp_path, monkeypatch, rules):
    """Copies of one tree under one root: each copy binds to its own objects (the nearest copy).

    Each lookup still meets the other copies' objects of the same name or labels and drops them by
    the nearest-copy rule: that part grows with copies x copies, not with objects x objects. So: two
    copies of twice the objects cost twice the work, and a second copy doubles the matching.
    """
    scaling = _scaling()
    for name, copies, n in (("one", 1, 150), ("two", 2, 150), ("two-large", 2, 300)):
        for k in range(1, copies + 1):
            scaling.write_manifests(tmp_path / name / f"copy-{k}" / "k8s", n)
    one = _count_work(monkeypatch, tmp_path / "one", rules)
    two = _count_work(monkeypatch, tmp_path / "two", rules)
    large = _count_work(monkeypatch, tmp_path / "two-large", rules)
    for name in ("selector_matches", "refers_to"):
        assert two[name] <= 2.2 * one[name], f"{name}: {one[name]} for one copy, {two[name]} for two"
    for name in ("selector_matches", "visible", "unit_visible", "refers_to", "total"):
        assert large[name] <= 2.2 * two[name], f"{name}: {two[name]} for 2 x 150 objects, {large[name]} for 2 x 300"


# ------------------------------------------------------------------ the indexes' semantics


def _target(n: int, obj: dict) -> Target:
    return Target(kind="k8s", path=f"m/{n}.yaml", line=1, ref=k8s.object_ref(obj), data=obj)


LABEL_SETS = [
    {},
    {"app": "cart"},
    {"app": "cart", "tier": "web"},
    {"app": "shop", "tier": "web"},
    {"app": 1},
    {"app": "1"},
    {1: "x", "tier": "db"},
]
SELECTORS = [
    {},
    {"app": "cart"},
    {"app": "cart", "tier": "web"},
    {"tier": "web"},
    {"app": 1},
    {"matchLabels": {"app": "cart"}},
    {"matchLabels": {}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]},
    {"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]},
    {"matchLabels": {"tier": "db", 1: "x"}},
    {"matchLabels": None},
    "not a map",
]


def test_selector_index_candidates_cover_every_match_in_load_order():
    entries = [(i, _target(i, {"kind": "Service"}), sel) for i, sel in enumerate(SELECTORS)]
    index = crossref.SelectorIndex(entries)
    for labels in LABEL_SETS:
        got = index.candidates(labels)
        positions = [p for p, _ in got]
        assert positions == sorted(set(positions))
        matching = {i for i, _, sel in entries if k8s.selector_matches(sel, labels)}
        assert matching <= set(positions), (labels, matching - set(positions))
    # a selector requiring a rare label is filed under it: the common one does not bring it back
    common = [(i, _target(i, {}), {"part-of": "shop", "app": f"a{i}"}) for i in range(50)]
    index = crossref.SelectorIndex(common)
    assert [p for p, _ in index.candidates({"part-of": "shop", "app": "a7"})] == [7]


def test_required_pairs_are_what_selector_matches_requires():
    for sel in SELECTORS:
        pairs = crossref.required_pairs(sel)
        for labels in LABEL_SETS:
            if k8s.selector_matches(sel, labels):
                assert all(labels.get(k) is not None and str(labels[k]) == v for k, v in pairs), (sel, labels)


def _rule(expr: str, labels: dict | None = None) -> AlertRule:
    return AlertRule("alert", "r", [expr], "rules.yaml", 1, True, labels or {})


RULE_EXPRS = [
    'histogram_quantile(0.99, rate(http_request_duration_seconds_bucket{service="cart"}[5m])) > 0.5',
    'histogram_quantile(0.9, rate(x_bucket{job="ns/cart"}[5m])) > 1',
    'rate(x_bucket{service=~"cart|shop"}[5m]) > 1',
    'rate(x_bucket{service=~"ca.t"}[5m]) > 1',
    'rate(x_bucket{service=~"(cart"}[5m]) > 1',
    "cart_request_latency_seconds:p99 > 0.3",
    "job:Cart_Api_latency:rate5m > 0.3",
    'rate(x_bucket{service!="cart"}[5m]) > 1',
    "sum(rate(requests_total[5m])) > 1",
]
NAMES = [{"cart"}, {"shop", "web"}, {"cart-api"}, {"other"}, {"ns"}]


def test_rule_keys_find_every_rule_that_refers_to_a_name():
    rules_ = [_rule(e) for e in RULE_EXPRS] + [_rule("up == 0", {"service": "cart"}), _rule("up == 0", {"x": 3})]
    for r in rules_:
        keys = alerts.rule_keys(r)
        for names in NAMES:
            if alerts.refers_to(r, names):
                assert keys is None or keys & alerts.name_keys(names), (r.exprs, r.labels, names)
    assert alerts.rule_keys(_rule('rate(x{service=~"ca.t"}[5m]) > 1')) is None
    assert alerts.rule_keys(_rule("up == 0", {"x": 3})) is None


@pytest.mark.parametrize(
    "claim,pvc,owner",
    [
        (Claim("data", None, "data"), "data", "db"),
        (Claim("data", None, None, template="data"), "data-db-0", "db"),
        (Claim("data", None, None, template="data"), "data-db-x-12", "db-x"),
        (Claim("data", None, None, template="data"), "data-db-", "db"),
        (Claim("data", None, None, template="da-ta"), "da-ta-db-7", "db"),
    ],
)
def test_claims_are_filed_where_their_pvc_names_find_them(claim, pvc, owner):
    keys = {claim.claim} if claim.claim is not None else {f"{claim.template}-{owner}-"}
    m = _ORDINAL.fullmatch(pvc)
    lookups = {pvc} | ({m.group(1) + "-"} if m else set())
    if claim.pvc_matches(pvc, owner):
        assert keys & lookups
    assert re.fullmatch(r"(.*)-\d+", "a-1-2", re.S).group(1) == "a-1"


# ------------------------------------------------------------------ copies of a tree: the nearest copy


def _count_nearest_work(monkeypatch, path: Path, rules) -> Counter:
    """Scan ``path`` counting the deployment-unit tests: one by one, and directories a UnitView visits."""
    views: list[crossref.UnitView] = []

    class Counted(crossref.UnitView):
        def __init__(self, pairs):
            super().__init__(pairs)
            views.append(self)

    monkeypatch.setattr(crossref, "UnitView", Counted)
    calls = _count_work(monkeypatch, path, rules)  # undoes the patch when done
    calls["visits"] = sum(v.visits for v in views)
    calls["nearest"] = calls["unit_visible"] + calls["visits"]
    return calls


def test_more_copies_of_a_tree_cost_linear_work(tmp_path, monkeypatch, rules):
    """Eight copies of a tree cost twice the work of four: a lookup touches only its own copy's candidates.

    Each object has a copy in every copy of the tree, so its evidence (an HPA, a Service, a monitor)
    is among the candidates of every copy's lookups; testing each (``unit_visible``) made the work grow
    with copies x copies (4.6x the scan's own CPU for the dev corpus x4).
    """
    scaling = _scaling()
    for copies in (4, 8):
        for k in range(1, copies + 1):
            # two directories per copy, with objects of the same names: copies within a copy too
            scaling.write_manifests(tmp_path / f"x{copies}" / f"copy-{k}" / "deploy" / "apps", 40)
            scaling.write_manifests(tmp_path / f"x{copies}" / f"copy-{k}" / "deploy" / "more", 24)
    four = _count_nearest_work(monkeypatch, tmp_path / "x4", rules)
    eight = _count_nearest_work(monkeypatch, tmp_path / "x8", rules)
    for name in ("selector_matches", "visible", "nearest", "total"):
        assert four[name] > 0, name
        assert eight[name] <= 2.2 * four[name], f"{name}: {four[name]} for four copies, {eight[name]} for eight"


DIRS = ["", "a", "a/b", "a/c", "a/b/c", "d", "c1/svc", "c2/svc", "c1/svc/k8s", "c2/svc/k8s", "c2/svc/k8s/x", "./c1"]


def _unit_target(rng, n: int) -> Target:
    obj = {
        "kind": rng.choice(["Deployment", "Service"]),
        "metadata": {"name": rng.choice(["a", "b"]), **({"namespace": "x"} if rng.random() < 0.3 else {})},
    }
    d = rng.choice(DIRS)
    kind = rng.choice([None, "manifests", "manifests", "manifests", "kustomize", "helm"])
    origin: dict = {"repo": ""}
    if kind == "manifests":
        origin.update(unit=d or ".", unit_kind=kind)
    elif kind == "kustomize":
        origin.update(unit=rng.choice(DIRS[1:4]), unit_kind=kind)
    elif kind == "helm":
        origin.update(unit=rng.choice(["c1/chart", "c2/chart"]), unit_kind=kind, chart=rng.choice(DIRS[1:]))
    path = f"{d}/{n}.yaml" if d else f"{n}.yaml"
    return Target(kind="k8s", path=path, line=1, ref=k8s.object_ref(obj), data=obj, origin=origin)


def test_unit_view_sees_exactly_what_unit_visible_accepts():
    import random

    from guidecheck.checks import Context

    for seed in range(60):
        rng = random.Random(seed)
        targets = [_unit_target(rng, n) for n in range(rng.randint(2, 40))]
        ctx = Context(settings={}, options={}, targets=targets)
        pairs = [(i, t) for i, t in enumerate(targets) if rng.random() < 0.7]
        view = crossref.UnitView(pairs)
        for a in targets:
            expected = [p for p in pairs if crossref.unit_visible(a, p[1], ctx)]
            assert view.seen_by(a, ctx) == expected, (seed, a.path, a.origin)


def test_many_test_suites_with_the_same_names_cost_linear_work(tmp_path, monkeypatch, rules):
    """kyverno/policies keeps one test suite per policy, each with its `badpod01`: thousands of copies of one
    name. Measuring every copy's distance to each piece of evidence, and walking the whole copy group for
    each "looked in" message, grew with copies x copies (9 of the scan's 41 seconds there)."""
    scaling = _scaling()
    scaling.write_suites(tmp_path / "s100", 100)
    scaling.write_suites(tmp_path / "s200", 200)
    counts = []
    for d in ("s100", "s200"):
        calls: Counter = Counter()
        real = crossref.distance

        def counting(a, b, _real=real, _calls=calls):
            _calls["distance"] += 1
            return _real(a, b)

        monkeypatch.setattr(crossref, "distance", counting)
        work = _count_work(monkeypatch, tmp_path / d, rules)  # undoes both patches when done
        work["distance"] = calls["distance"]
        counts.append(work)
    small, large = counts
    for name in ("distance", "selector_matches", "same_namespace", "total"):
        assert large[name] <= 2.2 * max(small[name], 1), f"{name}: {small[name]} for 100 suites, {large[name]} for 200"
