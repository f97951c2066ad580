"""``guidecheck scan --verify-images``: verify the cosign signatures of the images the scan's workloads name.

A loader extension (last in :data:`guidecheck.loaders.EXTENSIONS`, after the
Helm loader has rendered the charts): when the scan's options carry
``verify-images`` (a :class:`guidecheck.signatures.VerifyOptions`, or ``True``
to read GC705's settings), every image of every workload object is verified
once over its registry (:mod:`guidecheck.signatures`), and the results join the
targets as ``live`` records for GC705.  An image whose registry could not be
asked is a GC004 coverage record and makes the scan incomplete (exit 3).
"""

from __future__ import annotations

from typing import Any

from guidecheck.config import Config
from guidecheck.loaders import Loaded


def extend(loaded: Loaded, config: Config, options: dict[str, Any]) -> None:
    wanted = options.get("verify-images")
    if not wanted:
        return
    from guidecheck import signatures

    if isinstance(wanted, signatures.VerifyOptions):
        verify_options = wanted
    else:
        base = config.settings_base()
        try:
            verify_options = signatures.options_from_settings(config.settings, base)
        except signatures.SetupProblem as exc:
            loaded.incomplete.append(f"image signatures were not verified: {exc}")
            return
    kinds = config.settings.get("workload-kinds") or ()
    records, incomplete, _ = signatures.verify_targets(loaded.targets, verify_options, kinds, path="image-signatures")
    loaded.targets.extend(records)
    loaded.incomplete.extend(incomplete)
