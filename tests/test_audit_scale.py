"""Large audits stay linear, and every dump format gives the same findings.

A cluster is one cross-object scope of thousands of objects: the rules that relate objects
(an HPA per workload, the monitors that scrape it) look them up by key (checks/lookup.py), so the
work grows with the objects, not with their square; here that is bounded by counting the
comparisons (timings are measured in benchmarks/audit.py, never here).  ``kubectl get -o json``
dumps are read by a one-pass reader (cluster/jsonlist.py) that must build exactly what the general
JSON path builds, positions included.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys

import pytest

from guidecheck import crossref, runner
from guidecheck.cluster import jsonlist
from guidecheck.model import ScanResult
from guidecheck.parsers.yaml import Limits, YMap, YSeq, item_line, load_json

from hostile_support import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from audit import synthetic_cluster, write_dumps

NOW = _dt.datetime(2026, 11, 2, tzinfo=_dt.UTC)


def run_audit(path) -> ScanResult:
    config, _ = runner.configure(str(path), isolated=True)
    return runner.audit(config, dumps=[str(path)], context="prod", now=NOW, today=NOW.date()).result


def keyed(result: ScanResult) -> list[tuple]:
    """Findings without their location (each format puts an object on other lines)."""
    return sorted((f.rule_id, str(f.object), str(f.container), f.message) for f in result.findings)


@pytest.fixture(scope="module")
def dumps(tmp_path_factory):
    d = tmp_path_factory.mktemp("dumps")
    return write_dumps(synthetic_cluster(300, namespaces=3), d)


def test_every_dump_format_gives_the_same_findings(dumps):
    reports = {f: run_audit(p) for f, p in dumps.items()}
    own = keyed(reports["own"])
    assert {"GC402", "GC501", "GC903"} <= {k[0] for k in own}  # the cross-object rules did judge
    assert keyed(reports["kubectl-json"]) == own
    assert keyed(reports["kubectl-yaml"]) == own
    # kubectl's JSON and YAML put an object's keys on their own lines: findings point into the object
    assert {f.line for f in reports["kubectl-json"].findings} != {1}


def test_the_fast_kubectl_json_path_reports_exactly_what_the_general_one_does(dumps, monkeypatch):
    fast = run_audit(dumps["kubectl-json"])

    def refuse(text, limits):
        raise jsonlist.NotFast("the general path, for comparison")

    monkeypatch.setattr(jsonlist, "list_items", refuse)
    slow = run_audit(dumps["kubectl-json"])
    assert fast.findings == slow.findings  # lines, columns and spans included
    assert fast.outcomes == slow.outcomes


def _nodes(node):
    """A parsed value with every position in it."""
    if isinstance(node, YMap):
        return ("map", node.line, node.col, [(k, node._pos[k], _nodes(v)) for k, v in node.items()])
    if isinstance(node, YSeq):
        return ("seq", node.line, node.col, list(node._pos), [_nodes(v) for v in node])
    return (type(node).__name__, node)


OBJ = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "é-ü", "annotations": {'a"b': "x\ny", "c": "<&>", "d": "😀 日本", "t": "a\tb", "e": ""}},
    "spec": {"n": [3, 1.5, 1e5, -0, 10**30, True, None, [], {}, [1, [2, {"x": []}]], "s", 2.5e-3]},
}


def _list(*items, **dump_options) -> str:
    return json.dumps({"apiVersion": "v1", "items": list(items), "kind": "List"}, **dump_options)


@pytest.mark.parametrize(
    "text",
    [
        _list(OBJ, OBJ, indent=4, sort_keys=True, ensure_ascii=False),  # kubectl's layout
        _list(OBJ, 5, "x", [1], {"no": "kind"}, OBJ, separators=(",", ":"), ensure_ascii=False),
        _list(OBJ, indent="\t", ensure_ascii=False),
        _list(OBJ, indent=2, ensure_ascii=False).replace("\n", "\r\n"),
        '{"kind": "List",\t"apiVersion": "v1" ,\n\t"items" :\n [ {"a" :\t1 , "b":[ ] ,"c":{ } } ,\n\n 2 ] }\n\n',
        '{"kind": "List", "items": [{"kind":\n "A", "apiVersion":\n\n   {"a":\n[\n1\n,2]}}]}',
        '{"kind": "List", "items": [{"k\\u00e9y": 1, "q\\"": {"\\n": "x\\/y\\b\\f\\r"}, "' + "k" * 995 + '": 1}]}',
    ],
    ids=["kubectl", "compact", "tabs", "crlf", "spaces", "values-on-next-lines", "escapes-and-long-key"],
)
def test_fast_json_items_are_built_exactly_as_the_general_path_builds_them(text):
    fast = [(_nodes(node), line) for node, line in jsonlist.list_items(text, Limits())]
    (doc,) = load_json(text, Limits())
    assert not doc.errors
    items = doc.data["items"]
    assert fast == [(_nodes(node), item_line(items, i, 1)) for i, node in enumerate(items)]


@pytest.mark.parametrize(
    "text",
    [
        '{"kind": "Deployment", "apiVersion": "v1", "items": []}',  # not a List
        '{"kind": "List", "items": [{"a": 1, "a": 2}]}',  # duplicate key
        '{"kind": "List", "items": []} x',
        '{"kind": "List", "items": [{"a": 1,}]}',
        '{"kind": "List", "items": [{"a": NaN}]}',
        '{"kind": "List", "items": [{"a": "\\ud83d\\ude00"}]}',  # the YAML reader refuses surrogate escapes
        '{"kind": "List", "items": [{"a": "x\u0085y"}]}',  # YAML counts NEL as a line break
        '{"kind": "List", "items": [{"a":\r1}]}',  # and a lone CR
        '{"kind": "List", "items": [{"a"\n: 1}]}',  # a YAML key is on one line with its ':'
        '{"kind": "List", "items": [' + "[" * 120 + "]" * 120 + "]}",
        '{"kind": "List", "items": [{"a": [1}]}',
        '{"kind": "List", "items": [' + "1" * 4301 + "]}",
    ],
)
def test_fast_json_path_leaves_what_it_does_not_read_exactly_to_the_general_path(text):
    with pytest.raises(jsonlist.NotFast):
        list(jsonlist.list_items(text, Limits()))


def test_a_broken_kubectl_json_dump_is_still_a_gc001_finding_with_its_line(tmp_path):
    bad = tmp_path / "cluster.json"
    items = [json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}}) for i in range(3)]
    text = '{"apiVersion": "v1", "items": [\n' + ",\n".join(items) + ',\n{"apiVersion": "v1",\n "kind": ]\n}\n'
    bad.write_text(text)
    result = run_audit(bad)  # the fast path met the error after handing over three objects: read again
    assert [(f.rule_id, f.line) for f in result.findings] == [("GC001", 6)]
    assert result.incomplete


COUNTED = ("scale_target_ref", "namespace_selected", "monitor_selects_service", "monitor_selects_pods", "name")


def _work(tmp_path, n: int, monkeypatch) -> int:
    """Calls of the comparisons the HPA and monitor lookups make, auditing ``n`` objects in one namespace."""
    (tmp_path / str(n)).mkdir()
    path = write_dumps(synthetic_cluster(n, namespaces=1), tmp_path / str(n), formats=("own",))["own"]
    calls = [0]
    with monkeypatch.context() as m:
        for name in COUNTED:
            original = getattr(crossref, name)

            def counted(*args, _original=original, **kwargs):
                calls[0] += 1
                return _original(*args, **kwargs)

            m.setattr(crossref, name, counted)
        config, _ = runner.configure(str(path), isolated=True)
        runner.audit(config, dumps=[str(path)], context="prod", now=NOW, today=NOW.date())
    return calls[0]


def test_autoscaler_and_monitor_lookups_grow_linearly_with_the_cluster(tmp_path, monkeypatch):
    # one namespace: every HPA and ServiceMonitor is a candidate for every Deployment; before the
    # lookups were keyed, 2N objects made about 4x the comparisons of N
    small, large = _work(tmp_path, 200, monkeypatch), _work(tmp_path, 400, monkeypatch)
    assert large <= 2.3 * small, (small, large)
