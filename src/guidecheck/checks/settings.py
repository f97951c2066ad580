"""A setting's effective value for helpers handed the settings mapping instead of the Context.

Checks read settings with :meth:`guidecheck.checks.Context.setting`.  A few
public helpers (``repo.analyse_tests``, ``backup_index.merged_patterns``) take
``Config.settings`` itself, so that tools and tests can call them without a
scan; :func:`effective` gives them the same value: the configured one combined
with the catalogue's default by the setting's declared merge policy.
:func:`default` is the declared default, for checks that fall back to it when
a value of the wrong type was handed to them.

(This lives apart from :mod:`guidecheck.checks` because the catalogue imports
that package: reading the declarations there would close an import cycle.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guidecheck.catalog import load_settings


def effective(settings: Mapping[str, Any], name: str) -> Any:
    """``name`` from ``settings`` (a default where absent) combined with its default by its merge policy.

    ``name`` must be declared in the catalogue (KeyError otherwise).
    """
    spec = load_settings()[name]
    return spec.combine(settings.get(name, spec.default))


def default(name: str) -> Any:
    """``name``'s declared default: what a check falls back to when given a value of the wrong type.

    A validated configuration never holds one (``.guidecheck.yaml`` is checked
    against the declared types); a ``Config`` or a settings mapping built in code
    may, and a check must not fail on it.
    """
    return load_settings()[name].default
