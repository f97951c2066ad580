"""GC401 for kustomizations: the kustomization renders with the real kustomize, and renders a workload.

The ``kustomization`` targets come from :mod:`guidecheck.loaders.kustomize`, which already
ran kustomize on every unit; this check only reads what it found (a
:class:`~guidecheck.parsers.kustomization.KustomizationModel`).
"""

from __future__ import annotations

from collections.abc import Iterator

from guidecheck.checks import Context, NotApplicable
from guidecheck.model import Hit, Target
from guidecheck.parsers.kustomization import KustomizationModel


def kustomization_renders(target: Target, ctx: Context) -> Iterator[Hit]:
    model = target.data
    if not isinstance(model, KustomizationModel):
        raise NotApplicable("not a kustomization")
    for issue in model.issues:
        yield Hit(issue.message, line=issue.line, column=issue.column, path=issue.path, unchecked=True)
    if model.issues:
        return
    if not model.rendered:
        raise NotApplicable(model.skipped or "not rendered")
    if model.workloads == 0 and model.kind == "Kustomization":
        kinds = ", ".join(ctx.settings.get("workload-kinds") or ()) or "none"
        yield Hit(
            f"the kustomization renders no workload ({model.objects} object(s), none of kind {kinds}): "
            "a deployment unit deploys the service",
            line=1,
        )
