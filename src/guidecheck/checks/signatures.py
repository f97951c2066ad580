"""GC705: deployed images carry a cosign signature valid for a trusted key.

The verification itself (registry I/O, cryptography) runs before the engine,
when asked (``guidecheck scan --verify-images``, ``guidecheck audit
--verify-images``, ``guidecheck verify-image``): :mod:`guidecheck.signatures`
hands its results over as ``live`` records (``probe: signature``).  This check
judges them at each workload's container ``image:`` line, and accepts an
admission policy that verifies the image's signatures in the workload's
namespace (Kyverno ``verifyImages``, a Sigstore ``ClusterImagePolicy``, a
Ratify constraint: :mod:`guidecheck.parsers.admission`) as evidence.  An image
whose registry could not be asked is not judged here: it is a coverage gap
(GC004) and the run is incomplete.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from guidecheck.checks import Context, NotApplicable, NotATarget, workload_object
from guidecheck.model import Hit, Target

_PROBE = "signature"


def _records(ctx: Context) -> dict[str, dict[str, Any]]:
    def build(c: Context) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for t in c.of_kind("live"):
            if isinstance(t.data, dict) and t.data.get("probe") == _PROBE and isinstance(t.data.get("image"), str):
                out[t.data["image"]] = t.data
        return out

    return ctx.cached("gc705:records", build)


def _policies(ctx: Context) -> tuple[list[Any], dict[str, Any]]:
    def build(c: Context) -> tuple[list[Any], dict[str, Any]]:
        from guidecheck.parsers import admission

        found: list[Any] = []
        labels: dict[str, Any] = {}
        for t in c.of_kind("k8s"):
            obj = t.data
            if not isinstance(obj, dict):
                continue
            if obj.get("kind") == "Namespace" and obj.get("apiVersion") == "v1":
                raw_meta = obj.get("metadata")
                meta: dict = raw_meta if isinstance(raw_meta, dict) else {}
                name, ns_labels = meta.get("name"), meta.get("labels")
                if isinstance(name, str):
                    labels[name] = ns_labels if isinstance(ns_labels, dict) else {}
                continue
            found.extend(admission.policies(obj))
        return found, labels

    return ctx.cached("gc705:policies", build)


def signed_images(target: Target, ctx: Context) -> Iterator[Hit]:
    """GC705: every image of a workload is verified (or verified at admission); live records of verify-image."""
    if target.kind == "live":
        yield from _standalone(target)
        return
    obj = workload_object(target, ctx)
    from guidecheck.parsers import admission, k8s
    from guidecheck.signatures import running_digests

    records = _records(ctx)
    policies, ns_labels = _policies(ctx)
    raw_meta = obj.get("metadata")
    meta: dict = raw_meta if isinstance(raw_meta, dict) else {}
    raw_ns = meta.get("namespace")
    namespace = raw_ns if isinstance(raw_ns, str) else None
    running = running_digests(obj)
    judged = 0
    unknown: list[str] = []
    passed: list[str] = []
    for c in k8s.containers(obj, "every"):
        raw = c.data.get("image")
        if not isinstance(raw, str) or not raw.strip():
            continue
        image = running.get(c.name, raw.strip())
        where = f"{'init ' if c.section == 'initContainers' else ''}container '{c.name}'"
        covering = admission.covering(
            policies,
            kind=str(obj.get("kind")),
            namespace=namespace,
            image=image,
            namespace_labels=ns_labels.get(namespace or "default"),
        )
        record = records.get(image)
        line, col = c.data.value_line("image"), c.data.value_col("image")
        if record is not None and record.get("status") == "failed":
            judged += 1
            yield Hit(
                f"image '{image[:200]}' of {where} has no valid signature by a trusted key: {record.get('message')}",
                line=line,
                column=col,
                container=c.name,
                extra={"image": image, "problem": record.get("problem"), "digest": record.get("digest")},
            )
        elif record is not None and record.get("status") == "verified":
            judged += 1
            passed.append(f"'{image[:120]}' {record.get('message')} ({str(record.get('digest'))[:19]}...)")
        elif covering:
            judged += 1
            names = ", ".join(p.label for p in covering[:3])
            passed.append(f"'{image[:120]}' is verified at admission by {names}")
        elif record is not None:  # status error: a GC004 coverage gap, the run is incomplete
            unknown.append(f"the registry of '{image[:120]}' could not be asked: {record.get('message')}")
        else:
            unknown.append(
                f"'{image[:120]}' was not verified (run with --verify-images, or enforce an admission policy "
                "that verifies it)"
            )
    if judged:
        if passed and not unknown:
            ctx.note_evidence(target, "; ".join(passed))
        return
    if unknown:
        raise NotApplicable("; ".join(unknown[:3]))
    raise NotApplicable("no container names an image")


def _standalone(target: Target) -> Iterator[Hit]:
    data = target.data
    if not isinstance(data, dict) or data.get("probe") != _PROBE or not data.get("standalone"):
        raise NotATarget("not a verify-image record")
    if data.get("status") == "failed":
        yield Hit(
            f"image '{str(data.get('image'))[:200]}' has no valid signature by a trusted key: {data.get('message')}",
            extra={"image": data.get("image"), "problem": data.get("problem"), "digest": data.get("digest")},
        )
    elif data.get("status") != "verified":
        raise NotApplicable(f"the registry could not be asked: {data.get('message')}")


__all__ = ["signed_images"]
