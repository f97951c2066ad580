"""A ``kustomization.yaml`` as a model: what it references, and the ``kustomization`` target's data.

Pure: a parsed document in, references out (files and directories relative to
the kustomization's directory, each with the line that names it).  The loader
(:mod:`guidecheck.loaders.kustomize`) resolves them against the scanned tree,
decides which kustomizations to render and fills :class:`KustomizationModel`;
GC401 (:mod:`guidecheck.checks.kustomize`) judges it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from guidecheck.parsers.chart import Issue
from guidecheck.parsers.yaml import YMap, YSeq, key_line, line_of, load_yaml, value_line

FILE_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

# a reference kustomize would fetch: a URL, a git or OCI location, a go-getter style host path
_REMOTE = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://|git@|git::|oci:|ssh:|"
    r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?::\d+)?/|"
    r"\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?/|\[[0-9a-f:]+\](?::\d+)?/|localhost(?::\d+)?/)",
    re.IGNORECASE,
)


def is_remote(ref: str) -> bool:
    """Whether kustomize would fetch ``ref`` (a remote base or resource) rather than read a local path.

    A host-like first segment (``example.com/org/repo``) is remote only when no such local path
    exists: the loader checks that before asking.
    """
    return (
        bool(_REMOTE.match(ref.strip()))
        or "?ref=" in ref
        or "?version=" in ref
        or "//" in ref.split("?", maxsplit=1)[0][1:]
    )


@dataclass(frozen=True)
class Ref:
    """One path a kustomization names: ``what`` it is used as, at ``line`` of the kustomization file."""

    what: str  # resource | component | patch | generator-input | plugin | plugin-input | replacement | configuration
    # | crd | openapi
    path: str  # as written, relative to the kustomization's directory
    line: int


@dataclass(frozen=True)
class Patch:
    """A patch of the kustomization (file or inline), with the object it targets when it says so."""

    path: str | None  # relative to the kustomization directory; None for an inline patch
    text: str | None  # the inline patch
    line: int  # the line naming it (inline: the line its text starts on)
    target: dict[str, Any] | None
    json6902: bool = False


@dataclass
class Kustomization:
    """What a kustomization file says (no file system)."""

    kind: str  # Kustomization | Component
    refs: list[Ref] = field(default_factory=list)
    patches: list[Patch] = field(default_factory=list)
    helm_charts: list[tuple[str, int]] = field(default_factory=list)  # (chart name, line)
    errors: list[Issue] = field(default_factory=list)  # the file's own problems (path filled by the loader)
    data: Any = None

    def refs_of(self, *what: str) -> list[Ref]:
        return [r for r in self.refs if r.what in what]


def parse(data: Any) -> Kustomization:
    """The model of one parsed kustomization document (a mapping; anything else is an error)."""
    if not isinstance(data, dict):
        k = Kustomization("Kustomization")
        k.errors.append(Issue("the kustomization is not a mapping", "", line_of(data, 1)))
        return k
    kind = "Component" if data.get("kind") == "Component" else "Kustomization"
    k = Kustomization(kind, data=data)
    for key, what in (
        ("resources", "resource"),
        ("bases", "resource"),
        ("components", "component"),
        ("crds", "crd"),
        ("configurations", "configuration"),
        ("generators", "plugin"),
        ("transformers", "plugin"),
        ("validators", "plugin"),
    ):
        for item, line in _items(data, key):
            if what == "plugin" and isinstance(item, str) and "\n" in item.strip():
                _inline_plugin(item, line, k)
            elif isinstance(item, str) and item.strip():
                k.refs.append(Ref(what, item.strip(), line))
            elif not isinstance(item, (dict, str)):
                k.errors.append(Issue(f"{key}: an entry that is not a path", "", line))
    openapi = data.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        k.refs.append(Ref("openapi", openapi["path"], value_line(openapi, "path", key_line(data, "openapi"))))
    for key in ("replacements",):
        for item, line in _items(data, key):
            if isinstance(item, dict) and isinstance(item.get("path"), str):
                k.refs.append(Ref("replacement", item["path"], line))
    for key in ("configMapGenerator", "secretGenerator"):
        for item, line in _items(data, key):
            if not isinstance(item, dict):
                continue
            for fkey in ("files", "envs"):
                for f, fl in _items(item, fkey, line):
                    if isinstance(f, str) and f.strip():
                        # files: "key=path" or "path"
                        k.refs.append(Ref("generator-input", f.split("=", 1)[-1].strip(), fl))
            if isinstance(item.get("env"), str):
                k.refs.append(Ref("generator-input", item["env"], value_line(item, "env", line)))
    _patches(data, k)
    for item, line in _items(data, "helmCharts"):
        name = item.get("name") if isinstance(item, dict) else None
        k.helm_charts.append((str(name) if name is not None else "?", line))
    return k


# where a builtin generator's or transformer's configuration names a file it reads (PatchTransformer path,
# ConfigMapGenerator files/envs, HelmChartInflationGenerator valuesFile ...)
_PLUGIN_PATH_KEYS = frozenset({"path", "paths", "file", "files", "env", "envs", "valuesFile", "chartHome"})


def _inline_plugin(text: str, line: int, k: Kustomization) -> None:
    """An inline generator/transformer/validator configuration (a YAML document given as a string): the files it
    reads are references like any other (kustomize reads them with the kustomization's load restrictor)."""
    docs = load_yaml(text)
    if not docs or any(d.errors for d in docs):
        k.errors.append(Issue("an inline plugin configuration that is not valid YAML", "", line))
        return
    for doc in docs:
        for value in _plugin_paths(doc.data, 0):
            k.refs.append(Ref("plugin-input", value, line))


def _plugin_paths(node: Any, depth: int) -> list[str]:
    if depth > 20:
        return []
    out: list[str] = []
    if isinstance(node, dict):
        for key, v in node.items():
            if key in _PLUGIN_PATH_KEYS:
                for x in v if isinstance(v, list) else [v]:
                    if isinstance(x, str) and x.strip() and "\n" not in x:
                        out.append(x.split("=", 1)[-1].strip())  # files: "key=path" or "path"
            else:
                out.extend(_plugin_paths(v, depth + 1))
    elif isinstance(node, list):
        for v in node:
            out.extend(_plugin_paths(v, depth + 1))
    return out


def _items(node: Any, key: str, default: int = 1) -> list[tuple[Any, int]]:
    seq = node.get(key) if isinstance(node, dict) else None
    if not isinstance(seq, list):
        return []
    base = key_line(node, key, default) if isinstance(node, YMap) else default
    return [(v, seq.item_line(i) if isinstance(seq, YSeq) else base) for i, v in enumerate(seq)]


def _patches(data: dict[str, Any], k: Kustomization) -> None:
    for item, line in _items(data, "patches"):
        if isinstance(item, str):
            k.refs.append(Ref("patch", item, line))
            k.patches.append(Patch(item, None, line, None))
            continue
        if not isinstance(item, dict):
            continue
        target = item.get("target") if isinstance(item.get("target"), dict) else None
        if isinstance(item.get("path"), str):
            p = item["path"]
            k.refs.append(Ref("patch", p, value_line(item, "path", line)))
            k.patches.append(Patch(p, None, value_line(item, "path", line), target, _is_json_patch_name(p)))
        elif isinstance(item.get("patch"), str):
            k.patches.append(Patch(None, item["patch"], _inline_start(item, "patch", line), target))
    for item, line in _items(data, "patchesStrategicMerge"):
        if isinstance(item, str):
            if "\n" in item or ":" in item.split("\n", 1)[0] and not item.strip().endswith((".yaml", ".yml")):
                k.patches.append(Patch(None, item, line + (1 if "\n" in item else 0), None))
            else:
                k.refs.append(Ref("patch", item, line))
                k.patches.append(Patch(item, None, line, None))
    for item, line in _items(data, "patchesJson6902"):
        if not isinstance(item, dict):
            continue
        target = item.get("target") if isinstance(item.get("target"), dict) else None
        if isinstance(item.get("path"), str):
            k.refs.append(Ref("patch", item["path"], value_line(item, "path", line)))
            k.patches.append(Patch(item["path"], None, value_line(item, "path", line), target, True))
        elif isinstance(item.get("patch"), str):
            k.patches.append(Patch(None, item["patch"], _inline_start(item, "patch", line), target, True))


def _inline_start(item: Any, key: str, default: int) -> int:
    """The line an inline patch's text starts on: a block scalar (``|``) starts on the line after its key."""
    kl, vl = key_line(item, key, default), value_line(item, key, default)
    text = item.get(key)
    return vl + 1 if isinstance(text, str) and "\n" in text and vl == kl else vl


def _is_json_patch_name(path: str) -> bool:
    return path.endswith(".json")


@dataclass
class KustomizationModel:
    """The ``kustomization`` target's data (GC401): what was rendered or why not."""

    path: str  # directory as displayed
    file: str  # the kustomization file as displayed
    kind: str  # Kustomization | Component
    issues: list[Issue] = field(default_factory=list)  # why it did not render (each makes the scan incomplete)
    skipped: str | None = None  # not rendered by choice (--no-render) or because it is rendered through others
    consumed_by: list[str] = field(default_factory=list)  # kustomizations that list it (rendered through them)
    objects: int = 0  # objects rendered
    workloads: int = 0
    seconds: float = 0.0
    rendered: bool = False
    images: dict[str, str] = field(default_factory=dict)  # its images: entries that rename: name -> newName


__all__ = ["FILE_NAMES", "Kustomization", "KustomizationModel", "Patch", "Ref", "is_remote", "parse"]
