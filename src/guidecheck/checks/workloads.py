"""Kubernetes workload rules: images (GC306, GC307), Helm (GC402), requests (GC404), probes (GC405, GC406).

Every check reads a Kubernetes object (``target.data``) through the
type-checking helpers of :mod:`guidecheck.parsers.k8s`: a field holding ``null``, a
string or a number where a mapping is expected counts as absent, never as an
exception (the loader reports the malformed object as GC001).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from guidecheck.checks import Context, NotApplicable, workload_containers, workload_object
from guidecheck.lazyre import lazy
from guidecheck.model import Hit, Target
from guidecheck.parsers import images, k8s
from guidecheck.parsers.yaml import YMap, key_col, key_line

# ------------------------------------------------------------------ helpers


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ------------------------------------------------------------ image references
#
# Placeholders left in a manifest by the tool that fills it in at deploy time:
# ${VAR} / $VAR (envsubst, shell), $(VAR) (make, kustomize vars), {{ ... }}
# (Go templates, Jinja), <your-image> and [YOUR-VERSION] (documentation: kubeedge's edgesite manifests) and
# {attribute} (AsciiDoc: cerbos' docs include their sidecar demo with image: "{app-docker-img}").  None of these
# characters can occur in an image reference (an IPv6 registry's [fd00::1] has colons), so they are never mistaken.
_PLACEHOLDER = lazy(
    r"\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z0-9_]+|\{\{[^}]*\}\}|<[^<>]*>|\{[A-Za-z][\w-]{0,100}\}|\[[A-Za-z][\w-]{0,100}\]"
)
_MAX_IMAGE = 1024

UNTAGGED, FLOATING, TAGGED, PINNED, PLACEHOLDER, INVALID, BAD_DIGEST, EMPTY = (
    images.UNTAGGED,
    images.FLOATING,
    images.TAGGED,
    images.PINNED,
    images.UNKNOWN,
    images.INVALID,
    images.BAD_DIGEST,
    images.EMPTY,
)


_KO_REFERENCE = lazy(r"^ko://[A-Za-z0-9._~-]+(?:/[A-Za-z0-9._~-]+)*$")


def judge_image(
    raw: str,
    floating_tags: list[str] | tuple[str, ...],
    variant_tags: list[str] | tuple[str, ...] = images.VARIANT_TAGS,
) -> images.Judgement:
    """Classify an ``image:`` value for GC306/GC307 (see :func:`guidecheck.parsers.images.judge`).

    A placeholder only makes the verdict unknown where it hides the tag: in
    ``$REGISTRY/app:latest`` the tag is plainly ``latest``, in ``app:${TAG}``
    or ``${IMAGE}`` the tag is chosen at deploy time.  A placeholder in the
    digest (``app@${DIGEST}``) is digest pinning done by the pipeline.  So is a ko build reference
    (``ko://knative.dev/serving/cmd/activator``): ``ko resolve``/``ko apply`` build the Go package and
    replace the reference with the image it pushed, pinned by digest.
    """
    text = raw.strip()
    if len(text) > _MAX_IMAGE:
        return images.Judgement(INVALID, problem=f"longer than {_MAX_IMAGE} characters")
    if _KO_REFERENCE.match(text):
        return images.Judgement(PINNED)
    if text.startswith("(") and text.endswith(")"):
        # a Kyverno Chainsaw binding, evaluated when the test applies the file (emissary's e2e fixtures set
        # `image: (env('KAT_SERVER_IMAGE'))`): no image reference starts with a parenthesis
        return images.Judgement(PLACEHOLDER)
    marked, n = _PLACEHOLDER.subn(images.MARK, text)
    j = images.judge(marked, floating_tags, variant_tags)
    if j.state == INVALID and not n and ("$" in text or "{{" in text):
        return images.Judgement(PLACEHOLDER)  # an unbalanced placeholder
    return j


def _where(c: k8s.Container) -> str:
    """``container 'x'``, ``init container 'x'``, ``sidecar container 'x'``, ``ephemeral container 'x'``."""
    if c.is_sidecar:
        kind = "sidecar container"
    else:
        kind = {"initContainers": "init container", "ephemeralContainers": "ephemeral container"}.get(
            c.section, "container"
        )
    return f"{kind} '{c.name}'"


@dataclass(frozen=True)
class _Image:
    """A container's image reference, where it is written and how it is pinned."""

    container: k8s.Container
    raw: str
    verdict: images.Judgement
    line: int
    column: int
    skaffold: tuple[Any, str] | None = None  # (the Skaffold artifact that retags it, its file)
    set_by: str | None = None  # the build command that replaces it (`kustomize edit set image controller=...`)

    @property
    def where(self) -> str:
        return _where(self.container)


def _images(target: Target, ctx: Context) -> list[_Image]:
    obj = workload_object(target, ctx)
    if k8s.pod_spec(obj) is None:
        raise NotApplicable("no pod spec")
    floating = tuple(t for t in (ctx.settings.get("floating-tags") or ()) if isinstance(t, str))
    raw_variants = ctx.settings.get("floating-variant-tags", images.VARIANT_TAGS)
    variants = tuple(t for t in (raw_variants or ()) if isinstance(t, str))
    out = []
    for c in k8s.containers(obj, "every"):
        raw = c.data.get("image")
        if not isinstance(raw, str):
            continue  # absent (filled by an image trigger or admission) or not a string (GC001)
        art = _skaffold_artifact(target, ctx, raw)
        verdict = judge_image(raw, floating, variants)
        set_by = None
        if art is None:
            line = c.data.value_line("image")
            set_by = _set_image(target, ctx, raw) or _tilt_build(target, ctx, raw) or _values_edit(target, ctx, line)
        if set_by is not None:
            verdict = images.Judgement(PLACEHOLDER)
        out.append(_Image(c, raw, verdict, c.data.value_line("image"), c.data.value_col("image"), art, set_by))
    return out


# `kustomize edit set image NAME=NEW` in a Makefile or script (kubebuilder's `cd config/manager &&
# $(KUSTOMIZE) edit set image controller=${IMG}`): the build replaces the image NAME before it deploys
_SET_IMAGE = lazy(r"(?i)kustomize\W{0,3}\s+edit\s+set\s+image\s+([^\n;&|]*)")
_BUILD_FILE = lazy(r"(?:^|/)(?:[Mm]akefile|GNUmakefile|[^/]+\.mk|[^/]+\.sh)$")


def _set_image(target: Target, ctx: Context, raw: str) -> str | None:
    """Where the repository's build replaces ``raw`` with `kustomize edit set image` (``Makefile:212``), if it
    does: a placeholder the build fills in, as a Skaffold artifact or a ko:// reference is."""
    from guidecheck import crossref
    from guidecheck.parsers import skaffold

    if (target.origin or {}).get("source") != "kustomize":
        # the command edits a kustomization: what it builds; the same image in a manifest applied as it is
        # (aks-store-demo's all-in-one files beside its overlays) is deployed with its own tag
        return None
    repo = crossref.repo_holding(target, ctx)
    if repo is None:
        return None

    def compute() -> dict[str, str]:
        names: dict[str, str] = {}
        for rel, text in _build_texts(repo, ctx):
            if "edit set image" not in text or not _BUILD_FILE.search(rel):
                continue
            for m in _SET_IMAGE.finditer(text):
                for word in m.group(1).split():
                    name, eq, _new = word.strip("'\"").partition("=")
                    if eq and name and "$" not in name:
                        names.setdefault(name, f"{rel}:{text.count(chr(10), 0, m.start()) + 1}")
        return names

    names = ctx.memoized("workloads.set-image", id(repo), compute)
    if not names:
        return None
    rendered = skaffold.repository(raw.strip())
    found = names.get(rendered)
    if found is None:
        # the name the command sets, which an images: entry of the repository's kustomizations renamed into the
        # rendered one (jobset's config/components/manager: `controller` -> its registry's jobset, newTag: main)
        prefix = crossref.repo_prefix(repo)
        renamed = ctx.memoized("workloads.image-renames", id(repo), lambda: _image_renames(ctx, prefix))
        found = next((names[n] for n in renamed.get(rendered, ()) if n in names), None)
    return f"`kustomize edit set image` ({crossref.repo_prefix(repo)}{found})" if found else None


def _image_renames(ctx: Context, prefix: str) -> dict[str, list[str]]:
    """The repository's kustomizations' images: renames, backwards: newName -> the names renamed to it."""
    out: dict[str, list[str]] = {}
    for t in ctx.of_kind("kustomization"):
        if t.path.startswith(prefix):
            for name, new in (getattr(t.data, "images", None) or {}).items():
                out.setdefault(new, []).append(name)
    return out


# a yq command that edits a file in place (`yq -i '.image.digest = "..."' charts/spegel/values.yaml`; through a
# variable: `${YQ} e ".image.tag = \"${GIT_TAG}\"" -i charts/jobset/values.yaml`), the keys it assigns and the
# values files it names
_YQ_INPLACE = lazy(r"(?:\byq\b|\$\{?YQ\}?|\$\(YQ\))[^\n]{0,2000}")
_YQ_ASSIGN = lazy(r"(?<![\w\]])\.([A-Za-z_][\w-]{0,100}(?:\.[A-Za-z_][\w-]{0,100}){0,15})\s*\|?=(?!=)")
_WORKFLOW_FILE = lazy(r"(?:^|/)\.github/workflows/[^/]+\.ya?ml$")


def _values_edit(target: Target, ctx: Context, line: int) -> str | None:
    """The command of the repository's build that rewrites, in place, the chart value a rendered image line
    reads before the chart is packaged (kubernetes-sigs/jobset's hack/helm-chart-package.sh sets .image.tag
    with yq, then helm package): the committed value is a placeholder the release fills in, as the images
    `kustomize edit set image` sets are. The line's values are those the template line names itself (a value
    read inside an included helper template is not traced)."""
    from guidecheck import crossref

    origin = target.origin or {}
    trace = origin.get("_values")
    if origin.get("source") != "helm" or trace is None:
        return None
    repo = crossref.repo_holding(target, ctx)
    if repo is None:
        return None
    prefix = crossref.repo_prefix(repo)
    edits = ctx.memoized("workloads.values-edits", id(repo), lambda: _values_edits(_build_texts(repo, ctx)))
    if not edits:
        return None
    for ref in trace.get(line) or ():
        path, key = ref.get("path"), ref.get("key")
        if not isinstance(path, str) or not isinstance(key, str):
            continue
        rel = path[len(prefix) :] if path.startswith(prefix) else path
        found = edits.get((rel, key))
        if found:
            return f"`yq -i` ({prefix}{found}, which sets {key} in {rel} before the chart is packaged)"
    return None


def _build_texts(repo: Target, ctx: Context) -> list[tuple[str, str]]:
    """The repository's Makefiles, shell scripts and GitHub workflows, as (path, text): the first 256 of them,
    512 KiB of each, read once for every rule that looks at what the build does to images."""

    def compute(info: object = repo.data) -> list[tuple[str, str]]:
        read = getattr(info, "read", None)
        if read is None:
            return []
        paths = [r for r in getattr(info, "inventory", None) or () if _BUILD_FILE.search(r) or _WORKFLOW_FILE.search(r)]
        return [(rel, read(rel, 512 * 1024) or "") for rel in paths[:256]]

    return ctx.memoized("workloads.build-texts", id(repo), compute)


def _values_edits(texts: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(values file, key) -> where a yq command of the repository's scripts, Makefiles or workflows edits it."""
    out: dict[tuple[str, str], str] = {}
    for rel, text in texts:
        if "yq" not in text.lower():
            continue
        for m in _YQ_INPLACE.finditer(text):
            command = m.group(0)
            if not re.search(r"\s(?:-i|--inplace)\b", command):
                continue
            keys = _YQ_ASSIGN.findall(command)
            where = f"{rel}:{text.count(chr(10), 0, m.start()) + 1}"
            for values in _values_files(command):
                for key in keys:
                    out.setdefault((posixpath.normpath(values.removeprefix("./")), key), where)
    return out


def _values_files(command: str) -> list[str]:
    """The words of a command that name a chart's values file (charts/jobset/values.yaml, values-prod.yml)."""
    words = (w.strip("\"'") for w in command.split())
    return [w for w in words if w.endswith((".yaml", ".yml")) and "values" in w.rsplit("/", 1)[-1]]


# Tilt's builds (a Tiltfile is Starlark): docker_build('name', ...), the restart_process extension's
# docker_build_with_restart, custom_build; and the manifests it deploys with them, k8s_yaml('file') or a list
_TILT_BUILD = lazy(r"\b(?:docker_build(?:_with_restart)?|custom_build)\(\s*(?:ref\s*=\s*)?(['\"])([^'\"\n]{1,300})\1")
_TILT_YAML = lazy(r"\bk8s_yaml\(\s*(\[[^\]]{0,4000}\]|(['\"])[^'\"\n]{1,300}\2)")
_QUOTED = lazy(r"(['\"])([^'\"\n]{1,300})\1")
_TILTFILE = lazy(r"(?:^|/)(?:Tiltfile|[^/]+\.tiltfile|Tiltfile\.[^/]+)$")


def _tilt_build(target: Target, ctx: Context, raw: str) -> str | None:
    """The Tiltfile that builds ``raw`` for the manifest ``target`` is in (kubetail's hack/tilt/kubetail.yaml,
    which its Tiltfile's k8s_yaml() loads, names kubetail-dashboard, which docker_build_with_restart() builds):
    Tilt deploys that manifest with the image it built, so the manifest's tag is a placeholder."""
    from guidecheck import crossref
    from guidecheck.parsers import skaffold

    if (target.origin or {}).get("source") not in (None, "manifest"):
        return None  # what Tilt loads is a file as it is
    repo = crossref.repo_holding(target, ctx)
    if repo is None:
        return None
    prefix = crossref.repo_prefix(repo)

    def compute(info: object = repo.data) -> dict[tuple[str, str], str]:
        read = getattr(info, "read", None)
        out: dict[tuple[str, str], str] = {}  # (manifest's repository path, image name) -> Tiltfile:line
        for rel in [r for r in getattr(info, "inventory", None) or () if _TILTFILE.search(r)][:16]:
            text = (read(rel, 512 * 1024) if read is not None else None) or ""
            base = rel.rsplit("/", 1)[0] + "/" if "/" in rel else ""
            loaded = {
                posixpath.normpath(base + q.group(2))
                for m in _TILT_YAML.finditer(text)
                for q in _QUOTED.finditer(m.group(1))
            }
            for m in _TILT_BUILD.finditer(text):
                where = f"{rel}:{text.count(chr(10), 0, m.start()) + 1}"
                for manifest in loaded:
                    out.setdefault((manifest, m.group(2)), where)
        return out

    built = ctx.memoized("workloads.tilt-builds", id(repo), compute)
    if not built or not target.path.startswith(prefix):
        return None
    found = built.get((target.path[len(prefix) :], skaffold.repository(raw.strip())))
    return f"Tilt ({prefix}{found}, for the manifests its k8s_yaml() loads)" if found else None


def _skaffold_artifact(target: Target, ctx: Context, raw: str) -> tuple[Any, str] | None:
    """The Skaffold artifact of ``target``'s repository that builds ``raw`` (Skaffold replaces its tag)."""
    from guidecheck import crossref
    from guidecheck.parsers import skaffold

    def build(c: Context) -> dict[str, dict[str, tuple[Any, str]]]:
        index: dict[str, dict[str, tuple[Any, str]]] = {}
        for t in c.of_kind("k8s"):
            if skaffold.is_skaffold(t.data):
                for a in skaffold.artifacts(t.data):
                    index.setdefault(crossref.scope(t), {}).setdefault(a.image, (a, t.path))
        return index

    arts = ctx.cached("skaffold.artifacts", build).get(crossref.scope(target))
    if not arts:
        return None
    repo = skaffold.repository(raw.strip())
    # Skaffold replaces the references that name the artifact's image exactly (its --default-repo is
    # prefixed to both): an image of another registry with the same last segment is not its build
    return arts.get(repo)


def _unjudged_reason(imgs: list[_Image]) -> str:
    if not imgs:
        return "no container names an image"
    placeholders = [i for i in imgs if i.verdict.state == PLACEHOLDER]
    set_by = [i for i in placeholders if i.set_by]
    if set_by:
        first = set_by[0]
        return (
            f"image '{_short(first.raw.strip())}' of {first.where} is replaced by the build with {first.set_by} "
            "before it deploys: the deployed image is chosen there"
        )
    if placeholders:
        first = placeholders[0]
        return (
            f"image '{_short(first.raw.strip())}' of {first.where} is a placeholder: the deployed tag "
            "is chosen when the placeholder is filled in, so scan the rendered manifests"
        )
    return "every image field is empty (set at deploy time, e.g. by an image trigger)"


def image_tag_pinned(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC306: every container image has a tag that does not move, or a digest."""
    imgs = _images(target, ctx)
    judged = 0
    for im in imgs:
        v = im.verdict
        shown = _short(im.raw.strip())
        if v.state in (PINNED, TAGGED) or im.skaffold is not None:
            judged += 1  # a Skaffold artifact is deployed with the tag its tagPolicy computes
            continue
        if v.state == UNTAGGED:
            msg = f"image '{shown}' of {im.where} has no tag (Kubernetes pulls ':latest') and no digest"
        elif v.state == FLOATING:
            msg = f"image '{shown}' of {im.where} uses the floating tag '{_short(v.tag or '', 60)}' and no digest"
        elif v.state == BAD_DIGEST:
            msg = (
                f"image '{shown}' of {im.where} has a malformed digest "
                f"'{_short((v.ref.digest if v.ref else None) or '', 80)}': it is neither pinned nor pullable"
            )
        elif v.state == INVALID:
            msg = f"image '{shown}' of {im.where} is not a valid image reference" + (
                f": {v.problem}" if v.problem else ""
            )
        else:
            continue  # placeholder or empty: not judged here (see _unjudged_reason)
        judged += 1
        yield Hit(msg, line=im.line, column=im.column, container=im.container.name, extra={"image": im.raw.strip()})
    if not judged:
        raise NotApplicable(_unjudged_reason(imgs))


def image_tag_traceable(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC307: every image tag carries a version and a commit hash, unless pinned by digest.

    Images without a tag or on a floating tag are GC306's findings and are not
    reported again here.
    """
    imgs = _images(target, ctx)
    pattern = ctx.settings.get("image-tag-pattern") or ""
    judged = 0
    for im in imgs:
        v = im.verdict
        if im.skaffold is not None:
            judged += 1
            yield from _skaffold_traceable(im)
            continue
        if v.state == PINNED:
            judged += 1
            continue
        if v.state != TAGGED:
            continue
        judged += 1
        tag = v.tag or ""
        if re.search(pattern, tag):
            continue
        yield Hit(
            f"image '{_short(im.raw.strip())}' of {im.where}: tag '{_short(tag, 60)}' does not carry both a "
            "version and a commit hash (e.g. 1.4.2-3f2c1ab) and the image is not pinned by digest",
            line=im.line,
            column=im.column,
            container=im.container.name,
            extra={"image": im.raw.strip(), "tag": tag},
        )
    if not judged:
        if any(i.verdict.state in (UNTAGGED, FLOATING, BAD_DIGEST, INVALID) for i in imgs):
            raise NotApplicable("no image has a fixed tag to check: the untagged or floating ones are GC306 findings")
        raise NotApplicable(_unjudged_reason(imgs))


def _skaffold_traceable(im: _Image) -> Iterator[Hit]:
    from guidecheck.parsers import skaffold

    assert im.skaffold is not None
    art, path = im.skaffold
    if skaffold.traceable(art):
        return
    yield Hit(
        f"image '{_short(im.raw.strip())}' of {im.where} is built by Skaffold ({path}:{art.line}) with "
        f"tagPolicy {art.policy}: the tag it deploys carries no commit hash or digest (use gitCommit, "
        "inputDigest or sha256, or a template with the commit)",
        line=im.line,
        column=im.column,
        container=im.container.name,
        extra={"image": im.raw.strip(), "skaffold": path},
    )


# -------------------------------------------------------------------- Helm


_HELM_LABEL_VALUES = ("helm", "tiller")  # .Release.Service: "Helm" (Helm 3), "Tiller" (Helm 2)


def _text(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return ""
    return str(value).strip()


def helm_managed(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC402: the workload carries Helm's release labels or annotations."""
    obj = workload_object(target, ctx)
    meta = obj.get("metadata")
    owners = k8s.as_list(meta.get("ownerReferences")) if isinstance(meta, dict) else []
    for o in owners:
        if isinstance(o, dict) and o.get("controller") is True:
            raise NotApplicable(
                f"created by its controller {_text(o.get('kind')) or '?'}/"
                f"{_text(o.get('name')) or '?'}, which is checked instead"
            )
    origin = target.origin or {}
    if origin.get("source") in ("helm", "chart") or origin.get("chart"):
        # rendered from a chart: Helm stamps app.kubernetes.io/managed-by: Helm and meta.helm.sh/release-*
        # on every object it installs, so the deployed object is Helm-managed by construction
        return
    labels = k8s.labels(obj)
    if _helm_marked(labels, k8s.annotations(obj)):
        return
    line, col = _labels_position(target, obj, meta)
    kind = obj.get("kind")
    name = target.ref.name
    what = f"{kind} '{_short(name, 80)}'" if name else str(kind)
    managed_by = _text(labels.get("app.kubernetes.io/managed-by"))
    yield Hit(_not_helm_message(what, target.origin or {}, managed_by), line=line, column=col)


def _helm_marked(labels: dict, ann: dict) -> bool:
    """Helm's chart label, its managed-by (or pre-2019 heritage) label, or Helm 3's release annotation."""
    if _text(labels.get("helm.sh/chart")):
        return True
    if _text(labels.get("app.kubernetes.io/managed-by")).lower() in _HELM_LABEL_VALUES:
        return True
    if _text(labels.get("heritage")).lower() in _HELM_LABEL_VALUES:  # pre-2019 chart convention
        return True
    return bool(_text(ann.get("meta.helm.sh/release-name")))


def _labels_position(target: Target, obj: dict, meta: Any) -> tuple[int, int]:
    """Where a GC402 finding sits: the object's labels, else its metadata, else the object."""
    if isinstance(meta, YMap) and isinstance(meta.get("labels"), dict):
        return key_line(meta, "labels"), key_col(meta, "labels")
    if isinstance(obj, YMap) and "metadata" in obj:
        return key_line(obj, "metadata"), key_col(obj, "metadata")
    return target.line, 1


def _not_helm_message(what: str, origin: dict, managed_by: str) -> str:
    if origin.get("source") in ("cluster", "dump"):  # a live object: Helm 3 annotates what it installs
        return (
            f"{what} runs outside any Helm release: no meta.helm.sh/release-name annotation and no "
            "helm.sh/chart or app.kubernetes.io/managed-by: Helm label"
            + (f" (managed-by is '{_short(managed_by, 60)}')" if managed_by else "")
        )
    if managed_by:
        return (
            f"{what} is not managed by Helm: app.kubernetes.io/managed-by is '{_short(managed_by, 60)}', "
            "and there is no helm.sh/chart label"
        )
    return (
        f"{what} is not managed by Helm: no helm.sh/chart or app.kubernetes.io/managed-by: Helm label "
        "and no meta.helm.sh/release-name annotation"
    )


# ---------------------------------------------------------------- resources

_ZERO = lazy(r"^[+]?0*(?:\.0*)?(?:[eE][+-]?[0-9]+|[a-zA-Z]{0,2})$")


def _is_set(q: Any) -> bool:
    """A quantity that requests something: present, not empty, not zero."""
    if q is None or isinstance(q, (bool, dict, list)):
        return False
    text = str(q).strip()
    if not text:
        return False
    return not (_ZERO.match(text) and "0" in text)


def _zero(q: Any) -> bool:
    return q is not None and not isinstance(q, (bool, dict, list)) and str(q).strip() != "" and not _is_set(q)


def resource_requests(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC404: every container (init included) requests CPU and memory.

    Kubernetes defaults a missing request to the container's limit, so a
    limit alone satisfies the rule; a request of zero does not.
    """
    obj = workload_object(target, ctx)
    for c in workload_containers(obj, "all"):
        res = c.data.get("resources")
        missing: list[str] = []
        zero: list[str] = []
        for resource, label in (("cpu", "CPU"), ("memory", "memory")):
            req = k8s.get(res, "requests", resource)
            lim = k8s.get(res, "limits", resource)
            if _is_set(req) or (req is None and _is_set(lim)):
                continue  # a missing request is set to the limit by Kubernetes
            if _zero(req):
                zero.append(f"a zero {label} request")
            elif req is None and _zero(lim):
                zero.append(f"a zero {label} limit and no {label} request")
            else:
                missing.append(label)
        parts = []
        if missing:
            parts.append(f"no {' or '.join(missing)} request (nor a limit Kubernetes would copy into it)")
        parts.extend(zero)
        if parts:
            yield Hit(
                f"{_where(c)} has " + "; and ".join(parts),
                line=c.line,
                column=c.column,
                container=c.name,
                about="resources",
            )


# -------------------------------------------------------------------- probes

_HANDLERS = {"httpGet": "port", "tcpSocket": "port", "grpc": "port", "exec": "command"}


def probe_problem(probe: Any) -> str | None:
    """Why a probe field does not define a working probe, or None if it does."""
    if not isinstance(probe, dict):
        return "is not a mapping"
    found = [h for h in _HANDLERS if h in probe and probe[h] is not None]
    if not found:
        return "has no handler (httpGet, tcpSocket, exec or grpc)"
    if len(found) > 1:
        return f"has more than one handler ({', '.join(found)})"
    handler = found[0]
    body = probe[handler]
    need = _HANDLERS[handler]
    if not isinstance(body, dict):
        return f"{handler} is not a mapping"
    value = body.get(need)
    if handler == "exec":
        if not isinstance(value, list) or not value or not all(isinstance(x, str) for x in value):
            return "exec has no command"
    elif value is None or isinstance(value, (bool, dict, list)) or str(value).strip() == "":
        return f"{handler} has no port"
    return None


def probe_present(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC405, GC406: every long-running container defines the probe the rule's ``probe`` option names.

    One template for both rules: ``options: {probe: livenessProbe}`` (GC405),
    ``options: {probe: readinessProbe}`` (GC406).
    """
    field = ctx.options["probe"]
    obj = workload_object(target, ctx)
    if not k8s.is_long_running(obj):
        kind = obj.get("kind")
        if kind == "Pod":
            raise NotApplicable(f"a Pod with restartPolicy {k8s.get(obj, 'spec', 'restartPolicy')} runs to completion")
        raise NotApplicable(f"{kind} runs to completion")
    for c in workload_containers(obj, "long-running"):
        what = _where(c)
        if field not in c.data or c.data.get(field) is None:
            yield Hit(f"{what} has no {field}", line=c.line, column=c.column, container=c.name, about=field)
            continue
        problem = probe_problem(c.data.get(field))
        if problem:
            yield Hit(
                f"{what}: {field} {problem}, so it probes nothing",
                line=c.data.key_line(field),
                column=c.data.key_col(field),
                container=c.name,
            )
