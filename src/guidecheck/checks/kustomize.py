"""GC401 for kustomizations: the kustomization renders with the real kustomize, and renders something.

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
    # A kustomization that builds objects but no workload is a unit all the same: CRDs, a namespace's
    # configuration, Flux HelmReleases, an overlay that only configures a managed database (unlike a chart,
    # which the guideline has deploy the service). One that builds nothing deploys nothing: a mistake.
    if model.objects == 0 and model.kind == "Kustomization":
        yield Hit(
            "the kustomization renders no object (kubectl kustomize builds an empty stream): it deploys nothing",
            line=1,
        )
