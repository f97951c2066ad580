"""The one sanitiser every report goes through: control characters, surrogates, secrets."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET

import pytest

from guidecheck.sanitize import MAX_TEXT, clean, mask_secrets, path

# canaries: none may survive clean()
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GH_TOKEN = "ghp_" + "0" * 36
PEM_BODY = "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu"
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"

RAW_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


@pytest.mark.parametrize(
    "text, secret",
    [
        (f"key {AWS_KEY_ID} here", AWS_KEY_ID),
        (f"secretAccessKey: {AWS_SECRET}", AWS_SECRET),
        (f"aws_secret_access_key={AWS_SECRET}", AWS_SECRET),
        ('password: "GC-CANARY-7f3a9c1e-hunter2"', "GC-CANARY-7f3a9c1e-hunter2"),
        ("DB_PASSWORD=hunter2hunter2", "hunter2hunter2"),
        ("password.txt: hunter2hunter2", "hunter2hunter2"),  # a data key named as a file still names a secret
        ('{"token": "tok-0123456789abcdef"}', "tok-0123456789abcdef"),
        ("postgres://admin:GC-CANARY-pw-42@db.internal:5432/app", "GC-CANARY-pw-42"),
        (f"image registry.example.com/app:{GH_TOKEN}", GH_TOKEN),
        (
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP",
            "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP",
        ),
        ("glpat-abcdefghij0123456789", "abcdefghij0123456789"),
        ("xoxb-123456789012-abcdefghijkl", "123456789012-abcdefghijkl"),
        (f"Authorization: Bearer {JWT}", JWT),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
        (f"jwt {JWT} end", JWT),
        (f"tls.key: |\n{PEM}\n", PEM_BODY),
        (f"duplicate key '-----BEGIN RSA PRIVATE KEY-----{PEM_BODY}' at lines 3 and 4", PEM_BODY),
        (f"a line quoting {PEM_BODY[:-4]}Zz9/ alone", PEM_BODY[:-4]),  # key material without its header
    ],
)
def test_secrets_are_masked(text, secret):
    out = clean(text)
    assert secret not in out
    assert "****" in out


def test_masking_keeps_kind_and_context():
    assert clean(f"container '{AWS_KEY_ID}' has no limits") == "container 'AKIA****(20 chars)' has no limits"
    assert clean("DB_PASSWORD=hunter22 and more") == "DB_PASSWORD=**** and more"
    out = clean(f"duplicate key '-----BEGIN RSA PRIVATE KEY-----{PEM_BODY}' at lines 3 and 4")
    assert out.endswith("' at lines 3 and 4")


@pytest.mark.parametrize(
    "text",
    [
        "container 'cart' has no resources.limits.memory",
        "image sha256:" + "0123456789abcdef" * 4,  # digests are hex: not secrets
        "commit 3f2c1ab9e0d44b5b8f0c1f6f2a9e6c1d2b3a4f5e",
        "src/main/java/com/example/Service1/ControllerFactory/Thing2.java",
        # a path whose slashes, dashes and plus would have made its class change often (seen in a GC701 message)
        "job 'test-e2e' (/work/corpus4/Azure-Samples+aks-store-demo/.github/workflows/test-e2e-main.yaml:17)",
        # an image whose repository names a secret, and its tag (OWASP wrongsecrets, bitnami's sealed-secrets)
        "image 'jeroenwillemsen/wrongsecrets:1.13.5-no-vault' of container 'secret-challenge'",
        "image 'bitnami/sealed-secrets-controller:latest' uses the floating tag 'latest'",
        # a file named for a secret, and its line: Helm's "execution error at (...)"
        "execution error at (temporal/templates/server-secret.yaml:5:14): No valid driver configured",
        "valueFrom.secretKeyRef: db-creds",  # a reference to a secret, not a secret
        "secretName: cart-tls",
        "tokenPath: /var/run/secrets/token",
        "registry.example.com/shop/cart:1.4.2-3f2c1ab",
        "suppression of GC403 has no reason: comment",
        # keys that name secrets, with values that are not secrets (seen in real charts and workflows)
        "automountServiceAccountToken: true",
        "persist-credentials: false",
        "id-token: write",
        "secrets: inherit",
        "secretNamespace: default",
        "usePasswordFiles: true",
        "password: ${DB_PASSWORD}",
        'token: "{{ .Values.token }}"',
        "GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
        "api_key: <your-api-key>",
        "## Basic authentication",
        "Bearer token authentication",
    ],
)
def test_ordinary_text_is_not_masked(text):
    assert clean(text) == text


def test_tool_text_can_skip_masking():
    text = "Store the token: mount it from a Secret."
    assert clean(text, mask=False) == text


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("a\nb", "a\\x0ab"),
        ("a\rb", "a\\x0db"),
        ("tab\there", "tab\\x09here"),
        ("\x1b[2J\x1b[1;32mALL CHECKS PASSED\x1b[0m", "\\x1b[2J\\x1b[1;32mALL CHECKS PASSED\\x1b[0m"),
        ("\x00\x07\x1b]0;pwned\x07", "\\x00\\x07\\x1b]0;pwned\\x07"),
        ("del\x7f c1\x85\x9b", "del\\x7f c1\\x85\\x9b"),
        ("rtl-\u202egnp.yaml", "rtl-\\u202egnp.yaml"),
        ("iso\u2066late\u2069", "iso\\u2066late\\u2069"),
        ("line\u2028sep\u2029", "line\\u2028sep\\u2029"),
        ("bad\udcffutf8.yaml", "bad\\udcffutf8.yaml"),
        ("lone \ud800 high", "lone \\ud800 high"),
        ("nonchar \ufffe\uffff", "nonchar \\ufffe\\uffff"),
        ("ünïcödé-名前 ✓ 🚀", "ünïcödé-名前 ✓ 🚀"),
    ],
)
def test_control_characters_are_escaped(raw, shown):
    assert clean(raw) == shown
    assert path(raw) == shown


def test_keep_newlines_keeps_only_lf_and_tab():
    assert clean("a\nb\tc\rd\x1be", keep_newlines=True) == "a\nb\tc\\x0dd\\x1be"


def test_paths_are_escaped_but_never_masked():
    name = f"k8s/{AWS_KEY_ID}.yaml"
    assert path(name) == name
    assert path("gh\n::error file=README.md,line=1::x.yaml") == "gh\\x0a::error file=README.md,line=1::x.yaml"


def test_output_is_always_writable_utf8_and_xml():
    nasty = "".join(chr(c) for c in range(0, 0x100)) + "\ud800\udfff\ufffe\uffff\u202e"
    for out in (clean(nasty), clean(nasty, keep_newlines=True), path(nasty)):
        out.encode("utf-8")  # no lone surrogate left
        ET.fromstring(f"<a b={quote_attr(out)}>{escape_text(out)}</a>")


def quote_attr(text: str) -> str:
    return '"' + text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;") + '"'


def escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


def test_clean_is_idempotent():
    samples = ["a\nb\x1b", f"{AWS_KEY_ID} {GH_TOKEN}", PEM, "x" * (MAX_TEXT * 3), "\udcff" * 10, "DB_PASSWORD=hunter22"]
    for s in samples:
        once = clean(s)
        assert clean(once) == once
        assert path(path(s)) == path(s)


def test_long_text_is_cut_with_a_note():
    out = clean("x" * 100_000)
    assert len(out) < MAX_TEXT + 60
    assert out.endswith("... (100000 characters in all)")
    assert clean("y" * MAX_TEXT) == "y" * MAX_TEXT


def test_cut_never_splits_an_escape():
    out = clean("x" * (MAX_TEXT - 2) + "\x1b" * 100)
    head = out.split("...")[0]
    assert not re.search(r"\\x?[0-9a-f]?$", head)


def test_secret_at_the_cut_is_masked():
    text = "x " * (MAX_TEXT // 2 - 5) + AWS_KEY_ID + " tail" * 2000
    assert AWS_KEY_ID not in clean(text)


def test_linear_time_on_hostile_text():
    samples = [
        "a." * 500_000,  # many word boundaries for the key=value pattern
        "password" * 100_000,
        "-----BEGIN RSA PRIVATE KEY-----" * 30_000,
        "Ab1" * 300_000,  # one long mixed-class run
        "://" * 300_000,
        "\x1b" * 1_000_000,
    ]
    for s in samples:
        start = time.process_time()  # CPU time: a loaded machine stretches wall time, not this
        clean(s)
        mask_secrets(s[:200_000])
        assert time.process_time() - start < 2.0, s[:20]


def test_non_strings_are_accepted():
    assert clean(42) == "42"
    assert clean(None) == "None"
    assert path(3) == "3"


def test_no_raw_control_character_survives():
    for c in range(0, 0x110000, 7):
        ch = chr(c)
        assert not RAW_CONTROL.search(clean(f"a{ch}b")), hex(c)


def test_blob_masking_judges_runs_by_character_class_changes():
    """The translate-table count of class changes decides as the character-by-character one did."""
    import random
    import re as _re
    from itertools import pairwise

    from guidecheck import sanitize

    def by_char(m: _re.Match[str]) -> str:
        value = m.group()
        classes = [0 if c.islower() else 1 if c.isupper() else 2 for c in value if c.isalnum()]
        if not {0, 1, 2} <= set(classes):
            return value
        changes = sum(1 for a, b in pairwise(classes) if a != b)
        return sanitize._masked(value) if changes >= 0.4 * (len(classes) - 1) else value

    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/_-"
    rng = random.Random(14)
    masked = 0
    for _ in range(2000):
        chars = rng.sample(alphabet, k=rng.choice([1, 2, 3, 5, len(alphabet)]))
        text = "x " + "".join(rng.choice(chars) for _ in range(rng.randint(40, 90))) + "=" * rng.randint(0, 2) + " y"
        expected = sanitize._BLOB.sub(by_char, text)
        assert sanitize._BLOB.sub(sanitize._mask_blob, text) == expected
        masked += expected != text
    assert 200 < masked < 1800  # both kinds of runs were tried


def test_names_of_secret_keys_are_not_remembered_as_secrets():
    """prometheus-rabbitmq-exporter's existingPasswordSecretKey: password masked every 'password' of the report."""
    from guidecheck import sanitize

    sanitize.forget_secrets()
    try:
        assert (
            sanitize.remember_secrets([("existingPasswordSecretKey", "password"), ("existingSecret", "db-creds")]) == 0
        )
        assert sanitize.remember_secrets([("password", "db_password"), ("token", "api-token")]) == 0
        assert sanitize.remember_secrets([("password", "hunter2hunter2")]) > 0
        # made of such words, it is a password all the same (docker's postgres examples)
        assert sanitize.remember_secrets([("password", "mysecretpassword"), ("password", "password1")]) > 0
        text = "config.datasource.password is required; the password hunter2hunter2 leaked"
        assert sanitize.clean(text) == "config.datasource.password is required; the password hunt****(14 chars) leaked"
    finally:
        sanitize.forget_secrets()


def test_a_word_of_the_chart_s_own_name_is_not_remembered_as_a_secret():
    """helm/charts' tensorflow-notebook sets `password: tensorflow`: masking it masked 'tensorflow' in every chart
    name and image of the scan (tens****(10 chars)/tens****(10 chars):1.6.0)."""
    from guidecheck import sanitize

    sanitize.forget_secrets()
    try:
        public = ["stable", "tensorflow", "notebook"]
        assert sanitize.remember_secrets([("password", "tensorflow")], public=public) == 0
        # the whole name too (helm/charts' express-gateway: `password: express-gateway`)
        assert sanitize.remember_secrets([("password", "express-gateway")], public=["express-gateway"]) == 0
        assert sanitize.remember_secrets([("password", "tensorflow2024pw")], public=public) > 0
        assert sanitize.clean("image tensorflow/tensorflow:1.6.0") == "image tensorflow/tensorflow:1.6.0"
        assert "tensorflow2024pw" not in sanitize.clean("the password tensorflow2024pw leaked")
    finally:
        sanitize.forget_secrets()
