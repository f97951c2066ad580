"""The safe YAML/JSON reader: values as Kubernetes reads them, lines, limits, recovery.

Hostile files end to end (through the CLI) are in test_hostile_*.py; these are
the loader's own contracts (``load_yaml``/``load_json``, YMap/YSeq).
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
import time

import pytest

from guidecheck.parsers.yaml import Limits, YMap, YSeq, check_json, load_json, load_yaml, resolve_plain

from hostile_support import HOSTILE as ROOT_HOSTILE


def one(text: str, **kw):
    docs = load_yaml(textwrap.dedent(text), **kw)
    assert len(docs) == 1, docs
    return docs[0]


def errors(docs):
    return [(e.line, e.column, e.message) for d in docs for e in d.errors]


# ------------------------------------------------------------------ positions


def test_lines_and_columns_of_keys_values_and_items():
    doc = one("""\
        apiVersion: v1
        kind: Pod
        spec:
          containers:
            - name: app
              image: x:1
            - {name: side, image: "y:2"}
        """)
    data = doc.data
    assert isinstance(data, YMap) and (data.line, data.col) == (1, 1)
    assert doc.line == 1
    spec = data["spec"]
    assert data.key_line("spec") == 3 and data.value_line("spec") == 4
    cs = spec["containers"]
    assert isinstance(cs, YSeq) and cs.line == 5
    assert [cs.item_line(0), cs.item_line(1)] == [5, 7]
    assert cs[0].key_line("image") == 6 and cs[0].key_col("image") == 7 and cs[0].value_col("image") == 14
    assert cs[1].key_line("image") == 7
    # unknown keys/indexes fall back to the collection's own place
    assert cs[0].key_line("nope") == 5 and cs.item_line(9) == 5


def test_document_lines_in_a_stream():
    docs = load_yaml("a: 1\n---\n# comment\nb: 2\n--- x\n")
    assert [(d.index, d.line, d.data) for d in docs] == [(0, 1, {"a": 1}), (1, 4, {"b": 2}), (2, 5, "x")]


# ------------------------------------------------------ Kubernetes semantics


@pytest.mark.parametrize(
    "text, value",
    [
        ("on", True),
        ("On", True),
        ("ON", True),
        ("yes", True),
        ("Yes", True),
        ("y", True),
        ("Y", True),
        ("true", True),
        ("True", True),
        ("off", False),
        ("no", False),
        ("n", False),
        ("N", False),
        ("false", False),
        ("FALSE", False),
        ("~", None),
        ("null", None),
        ("", None),
        ("0777", 511),
        ("0o17", 15),
        ("0x1F", 31),
        ("-0x10", -16),
        ("0b101", 5),
        ("1_000", 1000),
        ("+12", 12),
        ("-7", -7),
        ("0", 0),
        ("00", 0),
        ("08", 8.0),
        ("1e3", 1000.0),
        ("1.5", 1.5),
        (".5", 0.5),
        ("-.5", -0.5),
        ("9223372036854775807", 2**63 - 1),
        ("18446744073709551615", 2**64 - 1),
        ("1:20", "1:20"),
        ("2024-01-02", "2024-01-02"),
        ("1.2.3", "1.2.3"),
        ("tRUE", "tRUE"),
        ("Norway", "Norway"),
        ("o", "o"),
        ("-", "-"),
        ("0x", "0x"),
        ("9" * 5000, "9" * 5000),
        ("1" * 400, "1" * 400),
    ],
)
def test_plain_scalars_resolve_as_go_yaml_v2(text, value):
    got = resolve_plain(text)
    assert got == value and type(got) is type(value), (text, got)


def test_special_floats():
    assert math.isnan(resolve_plain(".nan"))
    assert resolve_plain(".inf") == math.inf and resolve_plain("-.Inf") == -math.inf


def test_yaml11_booleans_file_reads_like_kubectl():
    text = (ROOT_HOSTILE / "yaml" / "yaml11_booleans.yaml").read_text(encoding="utf-8")
    [doc] = load_yaml(text)
    spec = doc.data["spec"]
    sc = spec["containers"][0]["securityContext"]
    assert spec["hostNetwork"] is True
    assert sc["privileged"] is True and sc["allowPrivilegeEscalation"] is True and sc["runAsNonRoot"] is False
    assert spec["containers"][0]["ports"][0]["containerPort"] == 511


def test_quoted_scalars_stay_strings_and_keys_stay_text():
    doc = one("""\
        a: "yes"
        b: '0777'
        on: push
        80: http
        true: 1
        c: |
          0777
        """)
    assert doc.data == {"a": "yes", "b": "0777", "on": "push", "80": "http", "true": 1, "c": "0777\n"}
    assert all(isinstance(k, str) for k in doc.data)


def test_explicit_standard_tags():
    doc = one("""\
        a: !!str 0777
        b: !!int "12"
        c: !!float 3
        d: !!bool yes
        e: !!null ""
        f: ! 12
        g: !!binary aGVsbG8=
        h: !!timestamp 2024-01-02
        i: !!map {x: 1}
        j: !!seq [1]
        """)
    assert doc.data == {
        "a": "0777",
        "b": 12,
        "c": 3.0,
        "d": True,
        "e": None,
        "f": "12",
        "g": "aGVsbG8=",
        "h": "2024-01-02",
        "i": {"x": 1},
        "j": [1],
    }
    [bad] = load_yaml("a: 1\nb: !!int abc\n")
    assert bad.data is None and errors([bad]) == [(2, 4, "'abc' cannot be read as !!int")]


def test_local_tags_are_plain_data():
    """Applications' own tags (GitLab's !reference, mkdocs' !ENV) are read as the data they tag."""
    text = "script:\n  - !reference [.setup, script]\n  - echo\nsite: !ENV [SITE, 'x']\nm: !Custom {a: 1}\n"
    [ok] = load_yaml(text)
    assert ok.errors == []
    assert ok.data == {"script": [[".setup", "script"], "echo"], "site": ["SITE", "x"], "m": {"a": 1}}


@pytest.mark.parametrize(
    "payload",
    [
        "!!python/object/apply:os.system ['touch /tmp/guidecheck_PWNED_unit']",
        "!!python/object/new:subprocess.check_output [['true']]",
        "!!python/name:os.system",
        "!!python/tuple [1, 2]",
        "!!set {a, b}",
        "!!omap [a: 1]",
        "!<tag:yaml.org,2002:python/object:os.system> x",
        "!<tag:example.com,2024:custom> {x: 1}",
    ],
)
def test_non_standard_tags_are_errors_never_objects(payload):
    docs = load_yaml(f"kind: ConfigMap\ndata:\n  a: {payload}\n")
    assert docs[0].data is None
    [(line, _, msg)] = errors(docs)
    assert line == 3 and msg.startswith("unsupported YAML tag")


@pytest.mark.parametrize("payload", ["!!string 5", "!!String x", "!<tag:yaml.org,2002:string> '7'"])
def test_a_global_tag_of_no_language_on_a_scalar_keeps_the_text_as_go_yaml_does(payload):
    """helm/charts' pgadmin renders `value: !!string {{ ... }}`: Helm and Kubernetes read it (go-yaml keeps the
    text of a scalar whose tag it does not know); a language's tag (!!python/...) stays an error, above."""
    [doc] = load_yaml(f"kind: ConfigMap\ndata:\n  a: {payload}\n")
    assert doc.errors == []
    assert doc.data["data"]["a"] == payload.rsplit(" ", 1)[-1].strip("'")


def test_tag_on_a_key_is_checked_too():
    docs = load_yaml("? !!python/name:os.system\n: 1\n")
    assert docs[0].data is None and errors(docs)[0][2].startswith("unsupported YAML tag")


# ---------------------------------------------------------------- duplicates


def test_duplicate_key_names_both_lines_and_keeps_the_last():
    doc = one("""\
        a: 1
        b:
          x: 1
        a: 2
        """)
    assert doc.data["a"] == 2 and doc.data.key_line("a") == 4
    assert errors([doc]) == [(4, 1, "duplicate key 'a' at lines 1 and 4 (the last value is used, as Kubernetes does)")]


def test_quoted_and_plain_spellings_of_a_key_are_duplicates():
    doc = one('a: 1\n"a": 2\n')
    assert "duplicate key 'a' at lines 1 and 2" in doc.errors[0].message


# ------------------------------------------------------------ anchors, merges


def test_aliases_share_values_and_merge_keys_apply():
    doc = one("""\
        base: &base {cpu: 100m, memory: 64Mi}
        small:
          <<: *base
          memory: 32Mi
        list: [&x 1, *x]
        two:
          <<: [{a: 1}, {a: 2, b: 2}]
        """)
    d = doc.data
    assert d["small"] == {"cpu": "100m", "memory": "32Mi"}  # explicit keys win
    assert d["small"].key_line("memory") == 4
    assert d["list"] == [1, 1]
    assert d["two"] == {"a": 1, "b": 2}  # earlier sources win
    assert not doc.errors


def test_anchor_redefinition_takes_the_latest_definition():
    doc = one("a: &x 1\nb: &x 2\nc: *x\n")
    assert doc.data == {"a": 1, "b": 2, "c": 2} and not doc.errors


def test_merge_of_a_scalar_is_an_error():
    docs = load_yaml("a: &s 1\nb:\n  <<: *s\n")
    assert docs[0].data is None and "merge key '<<' needs a mapping" in docs[0].errors[0].message


def test_alias_budget_error_names_the_alias_line():
    text = (ROOT_HOSTILE / "yaml" / "billion_laughs.yaml").read_text(encoding="utf-8")
    start = time.process_time()  # CPU time: a loaded machine stretches wall time, not this
    docs = load_yaml(text)
    assert time.process_time() - start < 1
    assert docs[0].data is None
    assert errors(docs) == [(11, 10, "alias expansion limit exceeded (more than 100000 nodes reached through aliases)")]
    # the budget is configurable: a small one trips earlier
    assert errors(load_yaml(text, Limits(max_alias_nodes=50)))[0][:2] == (7, 25)


def test_recursive_and_undefined_aliases():
    assert errors(load_yaml("&root\nkind: ConfigMap\nself: *root\n")) == [
        (3, 7, "recursive alias: '*root' is inside the node it refers to")
    ]
    assert errors(load_yaml("l: &l [1, *l]\n"))[0][:2] == (1, 11)
    assert errors(load_yaml("a: *missing\n")) == [(1, 4, "undefined alias '*missing'")]


def test_alias_to_a_collection_as_key_is_unhashable():
    docs = load_yaml("a: &m {x: 1}\n*m : 2\n")
    assert docs[0].data is None and docs[0].errors[0].message.startswith("unhashable key")


def test_complex_keys_are_unhashable_with_line():
    docs = load_yaml("a: 1\n? [a, b]\n: list-as-key\n")
    assert errors(docs) == [(2, 3, "unhashable key: a sequence or mapping used as a mapping key")]


# ------------------------------------------------------------------- nesting


@pytest.mark.parametrize(
    "text, line",
    [
        ("x: " + "[" * 10_000 + "]" * 10_000 + "\n", 1),
        ("x: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n", 1),
        ("".join("  " * i + "k:\n" for i in range(300)) + "  " * 300 + "v\n", 101),
        ("- " * 300 + "x\n", 1),
    ],
)
def test_nesting_too_deep(text, line):
    docs = load_yaml(text)
    [(got_line, _, msg)] = errors(docs)
    assert got_line == line and msg == "nesting too deep (more than 100 levels)"


def test_depth_limit_is_configurable_and_exact():
    text = "[" * 100 + "]" * 100
    assert not errors(load_yaml(text))
    assert errors(load_yaml("[" * 101 + "]" * 101))
    assert errors(load_yaml("[" * 11 + "]" * 11, Limits(max_depth=10)))
    assert not errors(load_yaml("[" * 400 + "]" * 400, Limits(max_depth=500)))


@pytest.mark.parametrize(
    "text",
    [
        '"- " * 400_000 + "x"',  # crashed ruamel's C composer (stack overflow) at ~100,000 levels
        '"? " * 400_000 + "x"',
        '"[" * 1_000_000',
        '"".join(" " * i + "k:\\n" for i in range(3000))',
    ],
)
def test_no_input_can_overflow_the_stack(text):
    """Run in a child process: a regression here would kill the interpreter."""
    code = textwrap.dedent(f"""
        import time
        from guidecheck.parsers.yaml import Limits, load_yaml
        start = time.process_time()  # CPU time of the child: load stretches wall time, not this
        docs = load_yaml({text}, Limits(max_line_length=10**8))
        assert time.process_time() - start < 2, time.process_time() - start
        msgs = [e.message for d in docs for e in d.errors]
        assert any(m.startswith(("nesting too deep", "unhashable key")) for m in msgs), msgs
        print("ok")
        """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", (proc.returncode, proc.stderr[-2000:])


def test_line_length_limit():
    text = "a: 1\nb: " + "x" * 600_000 + "\n"
    [doc] = load_yaml(text)
    assert doc.data is None
    assert errors([doc]) == [(2, 1, "line is 600003 characters long, over the limit of 524288; file not parsed")]
    assert not errors(load_yaml(text, Limits(max_line_length=700_000)))


# -------------------------------------------------------------- recovery


def test_bad_middle_document_keeps_the_others():
    text = (ROOT_HOSTILE / "yaml" / "multidoc_bad_middle.yaml").read_text(encoding="utf-8")
    docs = load_yaml(text)
    assert [(d.index, d.line) for d in docs] == [(0, 1), (1, 12), (2, 15)]
    assert docs[0].data["metadata"]["name"] == "first" and docs[2].data["metadata"]["name"] == "third"
    assert docs[2].data.key_line("spec") == 18
    [(line, col, msg)] = errors(docs)
    assert (line, col) == (12, 11)
    assert "flow mapping" in msg and "line 13" in msg


def test_unclosed_quote_does_not_swallow_the_next_document():
    docs = load_yaml('a: 1\n---\nb: "open\n---\nc: 3\n')
    assert [d.data for d in docs] == [{"a": 1}, None, {"c": 3}]
    assert docs[1].errors[0].line == 3  # where the quote was opened


def test_errors_in_the_first_and_last_documents():
    docs = load_yaml("a: [\n---\nb: 2\n---\nc: {\n")
    assert [d.data for d in docs] == [None, {"b": 2}, None]
    assert [(e.line, e.column) for d in docs for e in d.errors] == [(1, 4), (5, 4)]
    assert docs[0].errors[0].message == (
        "flow sequence opened here is not closed, or has a syntax error: did not "
        "find expected node content at line 2, column 1"
    )


def test_deep_document_in_a_stream_keeps_the_others():
    docs = load_yaml("a: 1\n---\n" + "- " * 200_000 + "x\n---\nc: 3\n")
    assert [d.data for d in docs] == [{"a": 1}, None, {"c": 3}]
    assert docs[2].data.key_line("c") == 5


def test_semantic_error_skips_only_its_document():
    docs = load_yaml("a: !!python/name:os.system\n---\nb: 2\n")
    assert [d.data for d in docs] == [None, {"b": 2}]
    assert docs[1].line == 3


def test_one_error_per_document_and_the_rest_is_not_read():
    docs = load_yaml("a: {{ .Values.x }}\nb: [\n")
    assert errors(docs) == [(1, 5, "unhashable key: a sequence or mapping used as a mapping key")]
    start = time.process_time()  # CPU time, as above
    docs = load_yaml("? " * 200_000 + "x\n---\nok: 1\n", Limits(max_line_length=10**7))
    assert time.process_time() - start < 1
    assert [d.data for d in docs] == [None, {"ok": 1}]


def test_tab_indentation_is_reported_with_line_and_column():
    docs = load_yaml("apiVersion: v1\nkind: Pod\nmetadata:\n\tname: tabbed\n")
    assert errors(docs) == [(4, 1, "tab character in indentation (YAML indentation must use spaces)")]


def test_a_character_that_cannot_start_a_token_is_named_and_never_masked():
    from guidecheck.sanitize import clean

    # a Jekyll/Liquid tag at the top of a docs snippet, and a reserved '@'
    docs = load_yaml("{% raw %}\napiVersion: v1\n")
    assert errors(docs) == [(1, 2, "character '%' cannot start a YAML token here: quote the value")]
    assert errors(load_yaml("a: 1\nb: @x\n")) == [
        (2, 4, "character '@' cannot start a YAML token here: quote the value")
    ]
    # ruamel's "while scanning for the next token: found ..." had its 'found' masked as a token's value
    for _line, _col, message in errors(docs):
        assert clean(message) == message


def test_empty_and_null_documents():
    assert load_yaml("") == []
    text = (ROOT_HOSTILE / "yaml" / "null_and_empty_docs.yaml").read_text(encoding="utf-8")
    docs = load_yaml(text)
    assert [d.data for d in docs] == [None, None, None, ["just", "a list"], "a bare string"]
    assert not errors(docs)


def test_never_raises_on_garbage():
    for text in [
        "\x00",
        "\ufeff",
        "%YAML 9.9\n---\na",
        "!!",
        "&",
        "*",
        "? ? ?",
        "[}",
        "'",
        '"\\ud800"',
        "a: b: c",
        "--- |\n  x\n ... y",
        "\u2028",
        "- !!str\n- &a\n- *a",
    ]:
        load_yaml(text)


# ---------------------------------------------------------------------- JSON


def test_json_values_and_lines():
    text = '{\n  "apiVersion": "v1",\n  "kind": "Pod",\n  "spec": {"n": 0777, "x":1}\n}\n'.replace("0777", "777")
    [doc] = load_json(text)
    assert doc.data == {"apiVersion": "v1", "kind": "Pod", "spec": {"n": 777, "x": 1}}
    assert doc.data.key_line("spec") == 4


def test_json_strings_are_never_resolved():
    [doc] = load_json('{"a": "yes", "b": "0777", "c": true, "d": null, "e": 1.5e2}')
    assert doc.data == {"a": "yes", "b": "0777", "c": True, "d": None, "e": 150.0}


@pytest.mark.parametrize(
    "text, line, needle",
    [
        ('{"a": 1,\n "b": NaN}', 2, "non-standard JSON constant NaN"),
        ('{"a":\n Infinity}', 2, "non-standard JSON constant Infinity"),
        ('{"a": -Infinity}', 1, "non-standard JSON constant -Infinity"),
        ('{"a": 1,\n"a": 2}', 2, "duplicate key 'a' at lines 1 and 2"),
        ('{"id":\n ' + "9" * 5000 + "}", 2, "integer too large"),
        ('{"uid": "\\ud800"}', 1, "lone surrogate"),
        ('{"a": [1, 2}', 1, "invalid JSON"),
        ("[" * 100_000 + "]" * 100_000, 1, "nesting too deep"),
    ],
)
def test_strict_json(text, line, needle):
    err = check_json(text)
    assert err is not None and needle in err.message and err.line == line, err
    [doc] = load_json(text)
    assert doc.data is None and doc.errors == [err]


def test_valid_surrogate_pairs_and_escaped_backslashes_are_fine():
    assert check_json('{"a": "\\ud83d\\ude00", "b": "\\\\ud800"}') is None


# ------------------------------------------------------------------- speed


def test_a_megabyte_of_manifests_loads_fast():
    doc = textwrap.dedent("""\
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: d{i}
          labels: {{app: a{i}, tier: web}}
        spec:
          replicas: 2
          template:
            spec:
              containers:
                - name: c
                  image: nginx:1.25
                  ports: [{{containerPort: 8080}}]
                  resources: {{limits: {{cpu: 100m, memory: 64Mi}}}}
        """)
    text = "".join(doc.format(i=i) for i in range(3000))  # ~1 MB, 3,000 documents
    assert len(text) > 900_000
    start = time.process_time()
    docs = load_yaml(text)
    took = time.process_time() - start
    assert len(docs) == 3000 and not errors(docs)
    assert docs[-1].data["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] == 8080
    assert took < 1.5, f"{took:.2f} s of CPU for 1 MB"


# ------------------------------------------------------- pure-Python parser


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: [x, 'y', {c: on}]\n---\n- &a 0777\n- *a\n- !!str 12\n",
        "base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\na: 1\na: 2\n",
        "a: !!python/name:os.system\n---\nb: 2\n",
        "a: [\n---\nb: 2\n",
        "x: " + "[" * 200 + "]" * 200,
        "&r\nself: *r\n",
    ],
)
def test_pure_python_parser_gives_the_same_documents(monkeypatch, text):
    """Where the C extension is missing, ruamel.yaml's own parser feeds the same builder."""
    from guidecheck.parsers import yaml as yamlsafe

    expected = [(d.index, d.line, d.data, [(e.line, e.column) for e in d.errors]) for d in load_yaml(text)]
    monkeypatch.setattr(yamlsafe, "_parser", yamlsafe._PureParser)
    got = [(d.index, d.line, d.data, [(e.line, e.column) for e in d.errors]) for d in load_yaml(text)]
    assert got == expected


def test_colon_inside_flow_plain_scalar_is_accepted_as_kubernetes_does():
    """libyaml 0.1 (ruamel.yaml.clib) rejects {k: arn:aws:iam::1:role/x}; go-yaml and YAML 1.2 accept it.
    Taken from grafana/loki production/helm/loki/scenarios/simple-scalable-aws-kube-irsa-values.yaml."""
    from guidecheck.parsers.yaml import load_yaml

    text = (
        "annotations: {\n  eks.amazonaws.com/role-arn: arn:aws:iam::2222222:role/test-role\n}\n"
        "---\nbad: [1,\n---\nk: {r: arn:aws::1}\n"
    )
    docs = load_yaml(text)
    assert docs[0].data == {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::2222222:role/test-role"}}
    assert docs[0].errors == []
    assert docs[1].data is None and docs[1].errors[0].line == 5
    assert docs[2].data == {"k": {"r": "arn:aws::1"}} and docs[2].line == 7


# ------------------------------------------------------------ large CRD schemas


def _crd(schema_tail: str = "", n: int = 3000, head: str = "") -> str:
    props = "".join(f"          p{i}:\n            type: string\n" for i in range(n))
    return (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: x.example.com\n"
        + head
        + "spec:\n  group: example.com\n  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema:\n"
        "        properties:\n" + props + schema_tail + "status:\n  acceptedNames: {kind: ''}\n"
    )


DEPLOY = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web}\n"


def test_a_large_crd_s_schema_is_blanked_line_for_line_and_later_lines_stay_right():
    """kserve holds 118 MB of YAML, mostly CRD schemas no rule reads: they are syntax-checked, not built."""
    from guidecheck.parsers.yaml import without_crd_schemas

    text = "# bundle\n---\n" + _crd() + "---\n" + DEPLOY
    slim = without_crd_schemas(text)
    assert slim.count("\n") == text.count("\n") and len(slim) < len(text) // 10
    docs = load_yaml(text)
    crd, deploy = docs[0].data, docs[1].data
    assert crd["metadata"]["name"] == "x.example.com" and "spec" not in crd and "status" in crd
    assert deploy["kind"] == "Deployment" and docs[1].line == text.split("\n").index("apiVersion: apps/v1") + 1
    assert deploy["metadata"].value_line("labels") == text.split("\n").index("  labels: {app: web}") + 1
    # a small CRD, or any other document, is read whole
    assert without_crd_schemas(DEPLOY) is DEPLOY
    small = _crd(n=10)
    assert without_crd_schemas(small) is small and "spec" in load_yaml(small)[0].data


def test_a_syntax_error_inside_a_blanked_schema_is_still_reported_at_its_line():
    text = _crd(schema_tail="          bad: [unclosed\n          other: 1\n")
    line = text.split("\n").index("          bad: [unclosed") + 1
    errs = errors(load_yaml(text))
    assert errs and line <= errs[0][0] <= line + 2, errs


@pytest.mark.parametrize(
    "tail, why",
    [
        ("          a: &big {x: 1}\n          b: *big\n", "anchors"),
        ("          deep: " + "[" * 80 + "]" * 80 + "\n", "deep flow nesting"),
    ],
)
def test_a_schema_with_anchors_or_deep_flow_nesting_is_built_by_the_bounded_builder(tail, why):
    from guidecheck.parsers.yaml import without_crd_schemas

    text = _crd(schema_tail=tail)
    assert without_crd_schemas(text) is text, why
    assert "spec" in load_yaml(text)[0].data
    # past the builder's bounds, the bound's finding, as for any document
    errs = errors(load_yaml(text, limits=Limits(max_depth=20)))
    assert any("nesting too deep" in m for _l, _c, m in errs) or why == "anchors", errs


def test_a_crd_with_two_specs_keeps_both_for_the_duplicate_key_finding():
    text = _crd() + "spec:\n  group: again\n"
    errs = errors(load_yaml(text))
    assert any("spec" in m and "duplicate" in m.lower() for _l, _c, m in errs), errs


def test_a_key_outside_the_spec_aliasing_into_it_is_read_from_the_whole_text():
    text = _crd(head="", schema_tail="          anchored: &a {type: string}\n").replace(
        "status:\n", "extra: *a\nstatus:\n"
    )
    doc = load_yaml(text)[0]
    assert not doc.errors and doc.data["extra"] == {"type": "string"} and "spec" in doc.data


def test_cel_and_markdown_ampersands_are_no_anchors():
    from guidecheck.parsers.yaml import without_crd_schemas

    tail = "          rule:\n            x-kubernetes-validations:\n            - rule: 'a && b'\n"
    tail += "              message: R&D and &amp; and a & b\n"
    text = _crd(schema_tail=tail)
    assert without_crd_schemas(text) is not text


@pytest.mark.parametrize(
    "text, line, what",
    [
        ("spec:\n  containers:\n  - name: app\n    image: {username}/torchserve:latest\n", 4, "mapping"),
        ("metadata:\n  name: x\nimage: {docker_username}/iris-classifier\nports: [80]\n", 3, "mapping"),
        ("args:\n- [a]-b\n", 2, "sequence"),
    ],
)
def test_a_value_starting_with_a_bracket_gets_a_quoting_hint(text, line, what):
    """kserve's samples hold `image: {username}/torchserve`: a documentation placeholder YAML reads as a flow
    mapping; libyaml says only "did not find expected key"."""
    errs = errors(load_yaml(text))
    assert len(errs) == 1 and errs[0][0] == line, errs
    assert f"read as a flow {what}: quote the whole value" in errs[0][2], errs


def test_flow_values_that_parse_get_no_hint_and_other_errors_none():
    assert errors(load_yaml("a: {x: 1}\nb: [1, 2]\nc: '{q}/r'\n")) == []
    errs = errors(load_yaml("a: b: c\n"))
    assert errs and "quote the whole value" not in errs[0][2]


@pytest.mark.parametrize(
    "text, value",
    [
        ("n", "n"),
        ("yes", "yes"),
        ("on", "on"),
        ("true", True),
        ("False", False),
        ("~", None),
        ("0777", 777),
        ("0o17", 15),
        ("0x1f", 31),
        ("1_000", "1_000"),
        ("1:20", "1:20"),
        ("1.5", 1.5),
        (".inf", math.inf),
        ("2024-01-01", "2024-01-01"),
    ],
)
def test_core_schema_scalars_read_as_yaml_1_2(text, value):
    """OpenAPI documents are YAML 1.2: quickpizza's path parameter `name: n` is the name n, not false."""
    from guidecheck.parsers.yaml import resolve_core

    assert resolve_core(text) == value and type(resolve_core(text)) is type(value)
    assert load_yaml(f"k: {text}\n", core=True)[0].data["k"] == value


def test_an_openapi_yaml_document_reads_as_yaml_1_2_and_a_manifest_as_kubernetes_does(tmp_path):
    from guidecheck.config import Config
    from guidecheck.loaders import load

    (tmp_path / "api.yaml").write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /b/{n}:\n    get:\n      parameters:\n"
        "        - name: n\n          in: path\n          required: true\n          schema: {type: integer}\n"
        "      responses: {'200': {description: ok}}\n"
    )
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  flag: n\n")
    loaded = load([str(tmp_path)], Config())
    api = next(d for docs in loaded.others if docs.path.endswith("api.yaml") for d in docs.docs)
    assert api.data["paths"]["/b/{n}"]["get"]["parameters"][0]["name"] == "n"
    cm = next(t for t in loaded.targets if t.kind == "k8s")
    assert cm.data["data"]["flag"] is False  # as go-yaml v2 (kubectl) reads it


def test_a_line_read_as_a_key_without_a_colon_is_reported_at_that_line():
    """karmada's .krew.yaml has a `{{addURIAndSha ...}}` template line inside a mapping: the parser stops on the
    next line, but the line to fix is the one without ':'."""
    text = 'platforms:\n- selector:\n    os: linux\n  {{addURIAndSha "https://x" .TagName }}\n- bin: kubectl\n'
    [(line, col, msg)] = errors(load_yaml(text))
    assert line == 4, (line, col, msg)
    # a key without ':' on the last line of a mapping, the next line less indented
    [(line, col, msg)] = errors(load_yaml("a:\n  b: 1\n  c\nd: 2\n"))
    assert line == 3 and "has no ':' (the parser stopped at line 4" in msg, (line, col, msg)
