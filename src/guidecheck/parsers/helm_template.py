"""Helm templates and ``helm template`` output as data: pure text functions.

* :func:`_split_output`: the rendered stream cut into documents by their ``# Source:`` line;
* :func:`align`: each rendered line paired with the template line that produced it, and
  :func:`_remap` / :func:`_map_line`, which move parsed positions onto the template;
* :func:`template_actions` and :func:`_action_refs`: each template action by line, what
  the dot is there, and the ``.Values`` paths an action reads.

They take strings (and parsed YAML nodes), read no file and know no target, so they
live here; :mod:`guidecheck.loaders.helm` reads the files and calls them
(:mod:`~guidecheck.loaders.helm.rendered` for the alignment,
:mod:`~guidecheck.loaders.helm.trace` for values tracing).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from guidecheck.globs import wildcards
from guidecheck.parsers.yaml import MappedText, YMap, YSeq

_SOURCE = re.compile(r"^# Source: (.+?)\s*$")
_DOC_SEP = re.compile(r"^---\s*(#.*)?$")


def _split_output(out: str) -> list[tuple[str, int, str]]:
    """(source, first line number, text) of each rendered document."""
    docs: list[tuple[str, int, str]] = []
    lines = out.split("\n")
    cur: list[str] = []
    start = 1
    source: str | None = None

    def flush() -> None:
        if source and any(x.strip() and not x.lstrip().startswith("#") for x in cur):
            docs.append((source, start, "\n".join(cur) + "\n"))

    for i, line in enumerate(lines, 1):
        if _DOC_SEP.match(line):
            flush()
            cur, start, source = [], i + 1, None
            continue
        m = _SOURCE.match(line)
        if m and source is None and not any(x.strip() for x in cur):
            source = m.group(1)
        cur.append(line)
    flush()
    return docs


# ----------------------------------------------------------------------------- line mapping


_KEY = re.compile(r"""^("(?:[^"\\]|\\.)*"|'[^']*'|[^\s'"#{}\[\],&*!|>%@`-][^:#]*?|-[^\s:#][^:#]*?)\s*:(?:\s|$)""")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


# A line as the alignment compares it: its indentation, then its token (see _token), or ("#", is a template
# line, index) for a line that pairs with no other (a comment, a blank line, a template action alone on its line).
_Line = tuple[object, ...]


def _token(line: str, template: bool) -> tuple[str, str, str] | tuple[str, str] | None:
    """(leading ``- ``s, key, ":") for a key line, (leading ``- ``s, text) for another; None where nothing
    can be compared (a comment, a blank line, a template line whose key or text is a template action)."""
    s = line.strip()
    if not s or s.startswith("#") or s == "---":
        return None
    if template and s.startswith("{{") and s.endswith("}}") and "}}" not in s[2:-2]:
        return None  # a control line ({{- if }}, {{ include ... | nindent }}) renders to other lines or none
    dash = ""
    while s.startswith("- "):
        dash += "- "
        s = s[2:].lstrip()
    m = _KEY.match(s + (" " if s.endswith(":") else ""))
    if m:
        key = m.group(1).strip()
        if template and "{{" in key:
            return None
        return (dash, key.strip("\"'"), ":")
    if template and "{{" in s:
        return None
    return (dash, s)


def _tokens(lines: list[str] | tuple[str, ...], template: bool) -> list[_Line]:
    """Each line as the alignment compares it (see ``_Line``)."""
    out: list[_Line] = []
    for i, line in enumerate(lines):
        t = _token(line, template)
        out.append((_indent(line),) + t if t is not None else ("#", template, i))
    return out


@functools.lru_cache(maxsize=16)
def _template_tokens(lines: tuple[str, ...]) -> list[_Line]:
    """A template file's lines as the alignment compares them, kept for its next documents (a file of many
    objects or CRDs is aligned once per rendered document, against all its lines); never modified."""
    return _tokens(lines, True)


def align(rendered: list[str], template: list[str]) -> list[tuple[int, int]]:
    """For each rendered line (1-based index - 1): (template line, column shift).

    Lines are compared by their YAML key (or their whole text when they hold no
    key) and indentation; a heaviest common subsequence pairs them (see
    :func:`_pairs`: a pair whose text the template line can produce, or the very
    same text, weighs more than the same key alone), and a tie keeps a block's
    lines together (:func:`_slide_to_successor`).  A rendered line with no
    partner (from an ``include``, ``toYaml`` or a loop) takes the line of the
    nearest paired line above it: the key line that holds the block.  When some lines stay unpaired, keys alone (without
    indentation, for templates that re-indent) are compared too, and the
    pairing that pairs more lines wins.
    """

    scored: dict[tuple[str, str], int] = {}
    stripped = [line.strip() for line in rendered]

    def weight(i: int, j: int) -> int:
        # same key: 1; and text the template line can produce: 2; and the very same text: 3.
        # Breaks ties between documents of one template file (a ServiceAccount's
        # "kind:" and "apiVersion:" lines against the Deployment's own).
        t, r = template[j], stripped[i]
        w = scored.get((t, r))
        if w is None:
            p = _line_pattern(t)
            w = scored[t, r] = (3 if p == r else 1) if isinstance(p, str) else (2 if p.fullmatch(r) else 1)
        return w

    rt, tt = _tokens(rendered, False), _template_tokens(tuple(template))
    pairs = _pairs(rt, tt, weight)
    keyed = sum(1 for t in rt if t[0] != "#")
    if keyed and len(pairs) < keyed:
        alt = _pairs([t[1:] if t[0] != "#" else t for t in rt], [t[1:] if t[0] != "#" else t for t in tt], weight)
        if len(alt) > len(pairs):
            pairs = alt
    _slide_to_successor(pairs, tt, weight)
    first_t = min(pairs.values()) if pairs else _first_content(template)
    out = []
    last = (first_t, 0)
    includes = _include_lines(template)
    block: tuple[int, int] | None = None  # (template line of the include whose output this is, its indent)
    prev_j = -1
    for i, line in enumerate(rendered):
        j = pairs.get(i)
        if j is not None:
            last = (j + 1, _indent(template[j]) - _indent(line))
            out.append(last)
            prev_j, block = j, None
            continue
        # an unpaired line: the output of a named template included on a line of its own (vault's
        # `{{ template "vault.volumeclaims" . }}`), when one starts at this line's indentation after the
        # last paired line; else the holding key's line. Columns point at the line's text
        d = _indent(line) if line.strip() else None
        holder = prev_j >= 0 and template[prev_j].rstrip().endswith(":") and _indent(template[prev_j]) < (d or 0)
        if d is not None and not holder and (block is None or d <= block[1]):
            # the last paired line does not hold this line (it is no key above it: vault's `- "-c"` before its
            # volumeClaimTemplates); a key that holds an include keeps its lines, as `labels:` does
            nxt = next((t for t, ind in includes if t > prev_j and ind == d and (block is None or t > block[0])), None)
            if nxt is not None:
                block = (nxt, d)
        if block is not None:
            out.append((block[0] + 1, -(1 << 20)))  # column 1: no column of the include line is this text's
            continue
        tl = last[0]
        shift = (_indent(template[tl - 1]) - _indent(line)) if 0 < tl <= len(template) else 0
        out.append((tl, shift))
    return out


_INCLUDE_LINE = re.compile(r"^\s*\{\{-?\s*(?:include|template)\s+\"[^\"]+\"[^}]*\}\}\s*$")
_NINDENT = re.compile(r"\|\s*n?indent\s+(\d+)")


def _include_lines(template: list[str]) -> list[tuple[int, int]]:
    """(index, indentation of its output) of each template line that only includes a named template: the
    ``nindent``/``indent`` it pipes through, else the line's own indentation."""
    out = []
    for j, t in enumerate(template):
        if _INCLUDE_LINE.match(t):
            m = _NINDENT.search(t)
            out.append((j, int(m.group(1)) if m else _indent(t)))
    return out


_ACTION_TEXT = re.compile(r"\{\{.*?\}\}")


@functools.lru_cache(maxsize=8192)
def _line_pattern(template_line: str) -> str | re.Pattern[str]:
    """The template line as a regex (each ``{{ }}`` standing for any text, and text inside an
    inline ``{{ if }}...{{ end }}`` optional), or the stripped line itself when it has no action."""
    line = template_line.strip()
    actions = _ACTION_TEXT.findall(line)
    if not actions:
        return line
    parts = _ACTION_TEXT.split(line)
    # the literal texts between the actions (each run of actions, and the text inside an inline if, one wildcard),
    # matched in linear time (globs.wildcards: ten actions with text between them took 14 s a line)
    literals, depth, wild = [parts[0]], 0, False
    for action, literal in zip(actions, parts[1:], strict=False):
        word = action[2:-2].strip("- ").split(" ", 1)[0]
        depth += 1 if word in ("if", "with", "range") else -1 if word == "end" and depth else 0
        if not wild:  # a wildcard, and the text after it
            literals.append("")
        text = "" if depth else literal
        literals[-1] += text
        wild = not text
    return wildcards(literals, ".", re.S)


def _slide_to_successor(pairs: dict[int, int], tt: list[_Line], weight: Callable[[int, int], int]) -> None:
    """Keep a block's lines together where the pairing is a tie.

    ``- name: storage-volume`` followed by ``persistentVolumeClaim:`` pairs as well
    with ``- name: {{ .name }}`` of an (empty) ``range`` thirty lines up as with the
    ``- name: {{ $storageVolumeName }}`` right above the template's
    ``persistentVolumeClaim:``; the total weight is the same.  A line whose
    partner is not next to its predecessor's partner moves to an unpaired template
    line with the same key right before its successor's partner, if one scores as well.
    """
    used = set(pairs.values())
    order = sorted(pairs)
    for k in range(len(order) - 2, -1, -1):
        i, nxt = order[k], order[k + 1]
        j, j2 = pairs[i], pairs[nxt]
        if nxt != i + 1 or j2 <= j + 1:
            continue
        if k > 0 and order[k - 1] == i - 1 and pairs[order[k - 1]] == j - 1:
            continue  # already next to its predecessor's partner
        cand = j2 - 1
        if (
            cand not in used
            and tt[cand][1:] == tt[j][1:]
            and tt[cand][0] == tt[j][0]
            and weight(i, cand) >= weight(i, j)
        ):
            used.discard(j)
            used.add(cand)
            pairs[i] = cand


def _first_content(template: list[str]) -> int:
    for i, line in enumerate(template):
        s = line.strip()
        if s and not s.startswith("#") and s != "---" and not (s.startswith("{{") and s.endswith("}}")):
            return i + 1
    return 1


_LCS_CELLS = 600_000  # above this, difflib's matching blocks instead of an exact LCS


def _pairs(a: list[_Line], b: list[_Line], weight: Callable[[int, int], int] | None = None) -> dict[int, int]:
    """Pairs (index in a -> index in b) of a heaviest common subsequence of the keyed lines.

    Lines pair when their tokens (key and indentation) are equal; ``weight(i, j)``
    scores a pair (text that matches counts more than a key alone) and the pairing
    of greatest total weight wins.  An exact dynamic programme: difflib's
    longest-block-first matching pairs a ``toYaml`` block of one container with a
    literal block of the next one that happens to read the same
    (httpGet/path/port/scheme) and leaves every line between unpaired, putting a
    whole container on one wrong line.  Past ``_LCS_CELLS`` (after the common head
    and tail are set aside) difflib is used.
    """
    n, m = len(a), len(b)

    def same(i: int, j: int) -> bool:  # a head or tail set aside: the very same text, not just the key
        return a[i] == b[j] and (weight is None or a[i][0] == "#" or weight(i, j) == 3)

    # the common head and tail: lines of the very same text, passing over the lines that pair with nothing
    # (blank and comment lines, a template's {{ if }}/{{ end }} lines): a CRD of 9,000 literal lines between
    # {{- if .Values.crds.install }} and {{- end }} is set aside whole instead of going to difflib
    out: dict[int, int] = {}
    ha = hb = 0
    while ha < n and hb < m:
        if same(ha, hb):
            if a[ha][0] != "#":
                out[ha] = hb
            ha, hb = ha + 1, hb + 1
        elif a[ha][0] == "#":
            ha += 1
        elif b[hb][0] == "#":
            hb += 1
        else:
            break
    ta, tb = n, m  # a[ta:] and b[tb:] are the tail
    while ta > ha and tb > hb:
        if same(ta - 1, tb - 1):
            if a[ta - 1][0] != "#":
                out[ta - 1] = tb - 1
            ta, tb = ta - 1, tb - 1
        elif a[ta - 1][0] == "#":
            ta -= 1
        elif b[tb - 1][0] == "#":
            tb -= 1
        else:
            break
    mid_a, mid_b = a[ha:ta], b[hb:tb]
    if not mid_a or not mid_b:
        return out
    if len(mid_a) * len(mid_b) > _LCS_CELLS:
        out.update(_difflib_pairs(mid_a, mid_b, ha, hb))
    else:
        out.update(_heaviest_pairs(mid_a, mid_b, ha, weight, hb))
    return out


def _difflib_pairs(a: list[_Line], b: list[_Line], lo: int, lo_b: int) -> dict[int, int]:
    """Pairs of difflib's matching blocks (the middle parts ``a``, ``b`` start at index ``lo``, ``lo_b``)."""
    import difflib

    out: dict[int, int] = {}
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for blk in sm.get_matching_blocks():
        for k in range(blk.size):
            if a[blk.a + k][0] != "#":
                out[lo + blk.a + k] = lo_b + blk.b + k
    return out


def _heaviest_pairs(
    a: list[_Line], b: list[_Line], lo: int, weight: Callable[[int, int], int] | None, lo_b: int | None = None
) -> dict[int, int]:
    """Pairs of a heaviest common subsequence of ``a`` and ``b`` (starting at index ``lo`` and ``lo_b``, by
    default ``lo`` too), exactly."""
    if lo_b is None:
        lo_b = lo
    out: dict[int, int] = {}
    ids: dict[_Line, int] = {}
    ai = [ids.setdefault(x, len(ids)) for x in a]
    bi = [ids.get(x, -1) for x in b]
    na, nb = len(ai), len(bi)
    w: dict[tuple[int, int], int] = {}
    # table[i][j]: best weight of a[i:], b[j:].  Row i is row i + 1 except from each match of a[i] leftwards
    # for as long as the match's gain carries (rows never increase to the right): only those cells are
    # computed, the rest is a copy made at C speed.  The same table as the full loop, cell for cell.
    where: dict[int, list[int]] = {}  # id -> its indices in b, descending
    for j in range(nb - 1, -1, -1):
        if bi[j] >= 0:
            where.setdefault(bi[j], []).append(j)
    table: list[list[int]] = [[]] * na + [[0] * (nb + 1)]
    for i in range(na - 1, -1, -1):
        below, x = table[i + 1], ai[i]
        row = below[:]
        ms: list[int] = where.get(x, [])
        k, nm = 0, len(ms)
        j = ms[0] if nm else -1
        while j >= 0:
            d, r = below[j], row[j + 1]
            best = d if d >= r else r
            if x == bi[j]:
                wt = w[i, j] = weight(lo + i, lo_b + j) if weight is not None else 1
                if below[j + 1] + wt > best:
                    best = below[j + 1] + wt
            row[j] = best
            while k < nm and ms[k] >= j:
                k += 1
            if j > 0 and best > below[j - 1]:
                j -= 1
            else:
                j = ms[k] if k < nm else -1
        table[i] = row
    i = j = 0
    while i < na and j < nb:
        if ai[i] == bi[j] and table[i][j] == table[i + 1][j + 1] + w[i, j]:
            if a[i][0] != "#":
                out[lo + i] = lo_b + j
            i += 1
            j += 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def _map_line(mapping: list[tuple[int, int]] | None, line: int) -> int:
    if mapping is None or not mapping:
        return line
    i = min(max(line, 1), len(mapping)) - 1
    return mapping[i][0]


def _remap(root: Any, mapping: list[tuple[int, int]]) -> None:
    """Rewrite every node's line/column from the rendered document to the template."""
    n = len(mapping)

    def m(line: int, col: int) -> tuple[int, int]:
        i = min(max(line, 1), n) - 1
        tl, shift = mapping[i]
        return tl, max(1, col + shift)

    stack = [root]
    seen = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, YMap):
            node.line, node.col = m(node.line, node.col)
            for k, (kl, kc, vl, vc) in list(node._pos.items()):
                a, b = m(kl, kc)
                c, d = m(vl, vc)
                node._pos[k] = (a, b, c, d)
                v = node.get(k)
                if type(v) is str and "\n" in v:
                    # a block's lines: each on the template line that produced it (a literal block's text
                    # starts on the line after its '|' indicator)
                    first = vl + 1 if vl == kl else vl
                    text = MappedText(v)
                    text.lines = [m(first + i, 1)[0] for i in range(v.count("\n") + 1)]
                    node[k] = text
            stack.extend(v for v in node.values() if isinstance(v, (YMap, YSeq)))
        elif isinstance(node, YSeq):
            node.line, node.col = m(node.line, node.col)
            node._pos = [m(ln, c) for ln, c in node._pos]
            stack.extend(v for v in node if isinstance(v, (YMap, YSeq)))


# ----------------------------------------------------------------------------- template actions


_VALUES_REF = re.compile(r"\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
_ACTION = re.compile(r"\{\{(.*?)\}\}", re.S)
_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_ASSIGN = re.compile(r"^(?:\$[A-Za-z_0-9]*\s*(?:,\s*\$[A-Za-z_0-9]*\s*)?:?=\s*)")
# ".", ".a.b" relative to the dot (not "$.x", "$v.x", "(f).x", "x.y")
_DOT_REF = re.compile(r"(?<![\w$)\].])\.((?:[A-Za-z_][A-Za-z0-9_]*)(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?(?![\w.])")
ROOT_DOT = "$"  # the dot is the chart's top-level context (.Values, .Release, ...)


def _resolve(expr: str, dot: str | None) -> str | None:
    """The values path an expression (the argument of ``with``/``range``) stands for, if one does."""
    m = _VALUES_REF.search(expr)
    if m:
        return m.group(1)[1:]
    if dot is None or dot == ROOT_DOT:
        return None
    m = _DOT_REF.search(expr)
    if m:
        return dot + "." + m.group(1) if m.group(1) else dot
    return None


def template_actions(text: str) -> dict[int, list[tuple[str, str | None]]]:
    """Each template action by line, with what the dot is there.

    The dot is :data:`ROOT_DOT` at the top level, a values path inside
    ``{{ with .Values.a }}`` or ``{{ range .Values.a }}`` (``a``; nested ones
    extend it: ``{{ with .b }}`` gives ``a.b``), and ``None`` where it cannot be
    known from the file (inside ``define``: a named template's dot is whatever
    its caller passes).  ``else`` of a ``with``/``range`` runs with the outer dot.
    """
    out: dict[int, list[tuple[str, str | None]]] = {}
    stack: list[tuple[str, str | None]] = []  # (keyword, the dot outside it)
    dot: str | None = ROOT_DOT
    line, pos = 1, 0
    for m in _ACTION.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        body = _COMMENT.sub("", m.group(1)).strip().lstrip("-").rstrip("-").strip()
        out.setdefault(line, []).append((body, dot))  # an action reads with the dot it starts in
        word, _, rest = body.partition(" ")
        rest = _ASSIGN.sub("", rest.strip())
        if word in ("with", "range"):
            stack.append((word, dot))
            dot = _resolve(rest, dot)
        elif word in ("if", "block", "define"):
            stack.append((word, dot))
            dot = dot if word == "if" else None
        elif word == "else" and stack:
            kw, outer = stack[-1]
            sub, _, cond = rest.partition(" ")
            if sub == "with":
                dot = _resolve(_ASSIGN.sub("", cond.strip()), outer)
            elif kw in ("with", "range"):
                dot = outer
        elif word == "end" and stack:
            dot = stack.pop()[1]
    return out


def _camel_words(key: str) -> set[str]:
    """A values key and its camelCase words, lower-cased: ``upgradeJobResources`` -> {upgradejobresources,
    upgrade, job, resources}."""
    return {key.lower(), *(w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", key))}


def _action_refs(text: str, dot: str | None) -> list[str]:
    """The values paths one action reads: ``.Values.x`` anywhere, and dot-relative paths inside ``with``."""
    refs = [m.group(1)[1:] for m in _VALUES_REF.finditer(text)]
    if dot is not None and dot != ROOT_DOT:
        refs.extend(dot + "." + m.group(1) if m.group(1) else dot for m in _DOT_REF.finditer(text))
    return refs
