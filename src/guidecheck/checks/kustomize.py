"""GC401 for kustomizations: the kustomization renders with the real kustomize, and renders something.

The ``kustomization`` targets come from :mod:`guidecheck.loaders.kustomize`, which already
ran kustomize on every unit; this check only reads what it found (a
:class:`~guidecheck.parsers.kustomization.KustomizationModel`).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from guidecheck.checks import Context, NotApplicable
from guidecheck.model import Hit, ObjectRef, Target
from guidecheck.parsers.kustomization import FILE_NAMES, KustomizationModel


def kustomization_renders(target: Target, ctx: Context) -> Iterator[Hit]:
    model = target.data
    if not isinstance(model, KustomizationModel):
        raise NotApplicable("not a kustomization")
    for issue in model.issues:
        # a problem in a base or component the unit lists is that kustomization's: one finding for every overlay
        # listing it (the engine merges them, listing the units), named by the directory that holds it
        shared = issue.path != target.path and issue.path.endswith(FILE_NAMES)
        obj = ObjectRef("Kustomization", None, posixpath.dirname(issue.path) or ".") if shared else None
        yield Hit(issue.message, line=issue.line, column=issue.column, path=issue.path, unchecked=True, obj=obj)
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
