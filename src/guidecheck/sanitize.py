"""One sanitiser for every output format.

* control characters (C0, C1, DEL, bidi overrides) are escaped, so a file name
  or value cannot move the terminal cursor, forge a line, or break XML;
* lone surrogates (from undecodable file names) become ``\\udcXX`` escapes, so
  writing UTF-8 never fails;
* secret-looking values in messages are masked (the kind and length stay).
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_CONTROL_WITH_NL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

_SECRET_PATTERNS = [
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),  # GitHub token
    re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b"),  # GitLab token
    re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),  # Slack token
    re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b"),  # JWT
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),  # user:password@ in URLs
]
_ASSIGNMENT = re.compile(r"(?i)\b((?:password|passwd|secret|token|apikey|api_key|access_key)\s*[=:]\s*)([^\s,;'\"]{4,})")


def _escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def clean(text: str, keep_newlines: bool = False) -> str:
    """Escape control characters and lone surrogates; mask secrets."""
    if not isinstance(text, str):
        text = str(text)
    pattern = _CONTROL if keep_newlines else _CONTROL_WITH_NL
    text = pattern.sub(lambda m: _escape(m.group()), text)
    return mask_secrets(text)


def mask_secrets(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(_mask, text)
    return _ASSIGNMENT.sub(lambda m: m.group(1) + _mask(m, 2), text)


def _mask(m: re.Match, group: int = 0) -> str:
    value = m.group(group)
    stripped = value.strip()
    lead = value[: len(value) - len(value.lstrip())]
    if len(stripped) <= 8:
        return lead + "****"
    return f"{lead}{stripped[:4]}****({len(stripped)} chars)"


def path(text: str) -> str:
    """A path for display: control characters escaped, never masked."""
    if not isinstance(text, str):
        text = str(text)
    return _CONTROL_WITH_NL.sub(lambda m: _escape(m.group()), text)
