"""One sanitiser for every output format.

* control characters (C0 including TAB, CR and LF, DEL, C1, the Unicode line
  and paragraph separators, bidi controls) are escaped as ``\\xNN`` /
  ``\\uNNNN``, so a file name or value cannot move the terminal cursor, forge
  a line, reorder what a reader sees, or break XML;
* lone surrogates (from undecodable file names, ``surrogateescape``) and the
  XML non-characters U+FFFE/U+FFFF become ``\\udcff``-style escapes, so
  writing UTF-8 or XML never fails;
* secret-looking values in messages are masked (a short prefix, the length),
  and so is every value the scan found under a secret's key in a values file
  (:func:`remember_secrets`), also base64-encoded: a Helm ``fail`` message or
  a value piped through ``b64enc``/``upper`` shows no pattern to match.

:func:`clean` is for messages and names (escapes and masks); :func:`path` is
for file paths (escapes only: a path must stay recognisable, and masking it
would hide which file is meant).  Both are idempotent and run in linear time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from guidecheck.lazyre import lazy

# What never reaches an output verbatim.  XML 1.0 forbids C0 except TAB/LF/CR,
# surrogates and U+FFFE/U+FFFF; terminals act on C0, C1 and DEL; U+2028/2029
# are line breaks to JavaScript and some viewers; bidi controls reorder text
# (the "Trojan Source" trick).
_ALWAYS = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 but TAB and LF, DEL, C1
    "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"  # bidi controls, line/paragraph separators
    "\ud800-\udfff\ufffe\uffff"  # lone surrogates, XML non-characters
)
_CONTROL = lazy(f"[{_ALWAYS}]")  # keeps TAB and LF
_CONTROL_WITH_NL = lazy(f"[\t\n{_ALWAYS}]")

MAX_TEXT = 4000  # longest message kept; a parse error can quote a 10 MB line

_KEYWORDS = r"(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)"

# PEM private keys: the whole block when its END line follows, else the header
# and the base64 after it (a message may quote a truncated key)
_PEM_BEGIN = lazy(r"-----BEGIN (?P<t>[A-Z0-9 ]{0,40}PRIVATE KEY[A-Z ]{0,20})-----")
_PEM_BODY = lazy(r"(?:[A-Za-z0-9+/=\s]|\\n)*")
_PEM_WINDOW = 20000

_SECRET_PATTERNS = [
    lazy(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b"),  # AWS key ids
    lazy(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),  # GitHub tokens
    lazy(r"\bgithub_pat_[A-Za-z0-9_]{40,}\b"),  # GitHub fine-grained tokens
    lazy(r"\bglpat-[A-Za-z0-9_-]{20,}\b"),  # GitLab personal tokens
    lazy(r"\bxox[abeprs]-[A-Za-z0-9-]{10,}\b"),  # Slack tokens
    lazy(r"\bAIza[0-9A-Za-z_-]{35}\b"),  # Google API keys
    lazy(r"\b[rs]k_(?:live|test)_[0-9A-Za-z]{16,}\b"),  # Stripe keys
    lazy(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b"),  # JWT
    lazy(r"(?<=://)[^/\s:@]{1,256}:[^/\s@]{1,256}(?=@)"),  # user:password@ in URLs
    # HTTP credentials (not the words in "Basic authentication")
    lazy(
        r"(?i)(?<=\bbearer )(?=(?-i:[a-z._~-]*[A-Z0-9+/=]))[A-Za-z0-9._~+/=-]{8,}"
        r"|(?<=\bbasic )(?=(?-i:[a-z]*[A-Z0-9+/=]))[A-Za-z0-9+/=]{8,}"
    ),
]
# key: value / key=value where the key names a secret; the key may be a longer
# identifier (DB_PASSWORD, secretAccessKey) but not a reference to one
# (secretKeyRef, passwordFile, tokenPath).
_ASSIGNMENT = lazy(
    r"(?i)(?<![\w.-])(?P<key>[\w.-]{0,40}?" + _KEYWORDS + r"[\w.-]{0,40}?)(?P<sep>['\"]?\s{0,4}[=:]\s{0,4})"
    r"(?P<value>\"[^\"\n]{1,512}\"|'[^'\n]{1,512}'|[^\s,;'\"\]\)}]{4,512})"
)
_REFERENCE_KEY = lazy(
    r"(?i)(?:ref|refs|name|names|file|files|path|dir|key|keys|mode|id|length|type|policy|"
    r"source|url|uri|endpoint|header|env|ttl|seconds|enabled|required|namespace|namespaces|selector|"
    r"label|labels)$"
)
# values that say something about a secret without being one
_NOT_SECRET = frozenset(
    {
        "true",
        "false",
        "yes",
        "no",
        "on",
        "off",
        "null",
        "none",
        "nil",
        "~",
        "write",
        "read",
        "readonly",
        "read-only",
        "required",
        "optional",
        "enabled",
        "disabled",
        "auto",
        "empty",
        "redacted",
        "masked",
        "unset",
        "n/a",
        "inherit",
    }
)
_FILE_NAME = lazy(r"\.(?:ya?ml|json|tpl|txt|toml|ini|conf|cfg|env|sh|gotmpl|tf|py|go|js|ts)$", re.IGNORECASE)
_LINE_COLUMN = lazy(r"\d{1,9}(?::\d{1,9})?$")
_REFERENCE_VALUE = lazy(r"^(?:\$[{(A-Za-z_]|\{\{|<[^>]*>$|%[A-Za-z_({])")
_SECRET_KEY_NAME = lazy(r"(?i)(?:privatekey|secretkey|apikey|accesskey)$")
# every pattern above needs one of these (checked on the lower-cased text: a
# few substring tests are much cheaper than a dozen regular expressions)
_TRIGGER_WORDS = (
    "private key",
    "akia",
    "asia",
    "agpa",
    "aida",
    "aroa",
    "anpa",
    "anva",
    "aipa",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xox",
    "aiza",
    "k_live_",
    "k_test_",
    "eyj",
    "://",
    "bearer ",
    "basic ",
    "passw",
    "pwd",
    "secret",
    "token",
    "key",
    "credential",
)
_TRIGGER = lazy("|".join(map(re.escape, _TRIGGER_WORDS)))  # one pass of C over the text
# a long base64/base64url run with upper, lower and digits: key material
# (hex digests are all lower-case, so image digests and commit hashes stay)
_BLOB = lazy(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{40,}={0,2}")
_BLOB_HINT = lazy(r"[A-Za-z0-9+/_-]{40}")


def _escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def clean(text: object, keep_newlines: bool = False, limit: int | None = MAX_TEXT, mask: bool = True) -> str:
    """Escape control characters and lone surrogates; mask secrets; cap the length.

    ``keep_newlines`` keeps LF and TAB (for multi-line bodies such as a JUnit
    failure text); everything else is always escaped.  ``mask=False`` is for
    the tool's own text (rule titles, remediation), which holds no secrets.
    """
    if type(text) is not str:  # str subclasses (YAML scalars) become plain str too
        text = str(text)
    if len(text) <= 512:  # names, paths and messages repeat across a report
        return _clean_cached(text, keep_newlines, limit, mask)
    return _clean(text, keep_newlines, limit, mask)


@lru_cache(maxsize=32768)
def _clean_cached(text: str, keep_newlines: bool, limit: int | None, mask: bool) -> str:
    return _clean(text, keep_newlines, limit, mask)


def _clean(text: str, keep_newlines: bool, limit: int | None, mask: bool) -> str:
    original = len(text)
    if limit is not None and len(text) > limit * 2:
        # bound the work the masking regexes do; the tail is cut below anyway
        text = text[: limit * 2]
    if mask:
        text = mask_secrets(text)
    pattern = _CONTROL if keep_newlines else _CONTROL_WITH_NL
    if pattern.search(text):
        text = pattern.sub(lambda m: _escape(m.group()), text)
    if limit is not None and len(text) > limit + 40:  # the slack keeps clean() idempotent
        cut = text[:limit]
        cut = cut[: cut.rfind("\\")] if "\\" in cut[-6:] else cut  # never split an escape
        text = f"{cut}... ({original} characters in all)"
    return text


_KNOWN: set[str] = set()
_KNOWN_RE: list[re.Pattern[str] | None] = [None]
_SECRET_KEY = lazy(r"(?i)" + _KEYWORDS)
# a value that only names a key ("password", "db-password", "api_key", "passwordFile"), not a secret one; a
# password made of such words ("mysecretpassword", "password1") is still one
_KEYWORD_VALUE = lazy(r"(?i)(?:[a-z]{1,12}[_.-])?" + _KEYWORDS + r"(?:[_.-]?(?:key|file|name|ref))?")
MIN_KNOWN_SECRET = 6  # shorter values ("admin") would mask ordinary words everywhere


def remember_secrets(pairs: Iterable[tuple[str, object]], public: Iterable[str] = ()) -> int:
    """Remember the values of ``(key, value)`` pairs whose key names a secret: masked in every output from now on.

    Each string value of at least :data:`MIN_KNOWN_SECRET` characters that is not a reference or a keyword is
    remembered as it is, upper- and lower-cased, and base64-encoded (what ``b64enc``, ``upper``, ``lower`` make
    of it in a template).  A value that is one of the ``public`` words (the words of the chart's own name and
    directory: helm/charts' tensorflow-notebook has ``password: tensorflow``) is not: every path of the chart
    shows it, and masking it masked that word in every chart name and image of the scan.  Returns how many new
    strings are masked.
    """
    public_words = {w.lower() for w in public}
    import base64

    added = 0
    for key, value in pairs:
        if not isinstance(value, str) or not _SECRET_KEY.search(str(key)):
            continue
        bare = re.sub(r"[^A-Za-z0-9]", "", str(key))
        if (_REFERENCE_KEY.search(bare) and not _SECRET_KEY_NAME.search(bare)) or bare.lower().startswith("existing"):
            continue  # existingSecret, existingPasswordSecretKey: the name of a Secret or of its key
        v = value.strip()
        if len(v) < MIN_KNOWN_SECRET or v.lower() in _NOT_SECRET or _REFERENCE_VALUE.match(v):
            continue
        if _KEYWORD_VALUE.fullmatch(v):
            continue  # "password", "api-key": the name of a key (secretKeyRef.key); masked, every mention would go
        if v.lower() in public_words:
            continue
        for form in (v, v.upper(), v.lower(), base64.b64encode(v.encode()).decode()):
            if form not in _KNOWN and len(form) >= MIN_KNOWN_SECRET:
                _KNOWN.add(form)
                added += 1
    if added:
        alternatives = sorted(_KNOWN, key=len, reverse=True)  # the longest first: no partial masking
        _KNOWN_RE[0] = re.compile("|".join(re.escape(a) for a in alternatives))
        _clean_cached.cache_clear()
    return added


def known_secrets() -> list[str]:
    """Every remembered form (what :func:`remember_known` restores: a reused scan result masks as its scan did)."""
    return sorted(_KNOWN)


def remember_known(forms: Iterable[str]) -> None:
    """Mask ``forms`` (as :func:`known_secrets` listed them) from now on."""
    new = {f for f in forms if isinstance(f, str) and len(f) >= MIN_KNOWN_SECRET} - _KNOWN
    if new:
        _KNOWN.update(new)
        _KNOWN_RE[0] = re.compile("|".join(re.escape(a) for a in sorted(_KNOWN, key=len, reverse=True)))
        _clean_cached.cache_clear()


def forget_secrets() -> None:
    """Forget every remembered value (tests; a long-lived process scanning unrelated trees)."""
    _KNOWN.clear()
    _KNOWN_RE[0] = None
    _clean_cached.cache_clear()


def mask_secrets(text: str) -> str:
    """Mask secret-looking values: keep the first four characters and the length."""
    known = _KNOWN_RE[0]
    if known is not None:
        text = known.sub(_mask_known, text)
    low = text.lower()
    if "private key" in low:
        text = _mask_pem(text)
    if _TRIGGER.search(low):
        for pattern in _SECRET_PATTERNS:
            text = pattern.sub(_mask, text)
        text = _ASSIGNMENT.sub(_mask_assignment, text)
    if _BLOB_HINT.search(text):
        text = _BLOB.sub(_mask_blob, text)
    return text


def _mask_pem(text: str) -> str:
    """Mask PEM private keys in one left-to-right pass (linear time)."""
    out, pos = [], 0
    while True:
        m = _PEM_BEGIN.search(text, pos)
        if m is None:
            out.append(text[pos:])
            return "".join(out)
        end_marker = f"-----END {m.group('t')}-----"
        end = text.find(end_marker, m.end(), m.end() + _PEM_WINDOW)
        if end >= 0:
            stop = end + len(end_marker)
        else:
            body = _PEM_BODY.match(text, m.end())  # matches the empty string at least
            stop = body.end() if body is not None else m.end()
        out.append(text[pos : m.start()])
        out.append(_masked(text[m.start() : stop]))
        pos = stop


def _mask(m: re.Match[str]) -> str:
    return _masked(m.group())


def _mask_known(m: re.Match[str]) -> str:
    return _masked(m.group())  # as the patterns mask: the first four characters and the length


# what _masked() produced, possibly cut at a space by a later pattern: not masked twice
_ALREADY_MASKED = lazy(r"\*{4}(?:\(\d+(?: chars\))?)?$|\*{4}\(\d+ chars\)")


def _masked(value: str) -> str:
    if _ALREADY_MASKED.search(value):  # clean() is idempotent
        return value
    if len(value) <= 8:
        return "****"
    return f"{value[:4]}****({len(value)} chars)"


def _mask_assignment(m: re.Match[str]) -> str:
    whole: str = m.group()
    key: str = m.group("key")
    if m.start() > 0 and m.string[m.start() - 1] == "/" and m.group("sep") == ":":
        return whole  # the last segment of an image or a path and its tag: jeroenwillemsen/wrongsecrets:1.13.5
    if _FILE_NAME.search(key) and _LINE_COLUMN.match(m.group("value")):
        return whole  # a file and its line, "templates/server-secret.yaml:5:14", not a key and its value
    bare = re.sub(r"[^A-Za-z0-9]", "", key)
    if _REFERENCE_KEY.search(bare) and not _SECRET_KEY_NAME.search(bare):
        return whole
    value: str = m.group("value")
    if _ALREADY_MASKED.search(value.strip("'\"")):
        return whole
    quote = value[0] if value[0] in "'\"" else ""
    inner = value[1:-1] if quote else value
    if not inner.strip() or inner.strip().lower() in _NOT_SECRET or _REFERENCE_VALUE.match(inner.strip()):
        return whole  # empty, a boolean or keyword, a ${VAR} / {{ template }} / <placeholder> reference
    return f"{key}{m.group('sep')}{quote}{_masked(inner)}{quote}"


# a blob's characters by class (lower, upper, digit, other): _BLOB matches ASCII only
_CLASSES = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/_-=",
    "a" * 26 + "A" * 26 + "0" * 10 + "+" * 5,
)


def _mask_blob(m: re.Match[str]) -> str:
    """Mask a run that looks random: all of upper, lower and digits, and the
    class of its letters and digits changes often (random base64 changes at
    ~62% of positions; paths and CamelCase identifiers at far fewer).  The
    separators ``+/_-=`` are left out of the count: a path's slashes and
    dashes (``/work/ci4/Azure-Samples+aks-store-demo/``) would otherwise make
    it look random."""
    value: str = m.group()
    classes = value.translate(_CLASSES).replace("+", "")
    if "a" not in classes or "A" not in classes or "0" not in classes:
        return value
    changes = sum(map(str.__ne__, classes, classes[1:]))
    return _masked(value) if changes >= 0.4 * (len(classes) - 1) else value


def path(text: object) -> str:
    """A path for display: control characters escaped, never masked."""
    if type(text) is not str:
        text = str(text)
    return _CONTROL_WITH_NL.sub(lambda m: _escape(m.group()), text)
