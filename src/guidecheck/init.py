"""``guidecheck init``: a commented configuration file with the guide's defaults.

Generated from the rule catalogue (every setting's declaration: description, default, the
rules that read it, merge policy) and from ``config.schema.json``, so the file a team starts
from always names every setting this version knows, with its current default.  Every value
is commented out: an uncommented line is a decision of the team, and a default that a later
version changes is not pinned by a file nobody edited.

Two kinds of file, one per trust level:

* the **repository** configuration, ``.guidecheck.yaml`` in the service repository: found by
  the scan in the scanned tree; it may only tighten the organisation's configuration unless
  that one says ``repository-config: trusted``;
* the **organisation** configuration (``--org``), kept outside the repositories and given with
  ``--config FILE`` or the ``GUIDECHECK_CONFIG`` environment variable (the CI template, the
  auditor chart): trusted; its ``repository-config`` says what repository files may do
  (``tighten-only``, the default; ``trusted``; ``ignore``).
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

from guidecheck import __version__
from guidecheck.catalog import Setting, load_settings

REPOSITORY_FILE = ".guidecheck.yaml"
ORGANISATION_FILE = "guidecheck-organisation.yaml"
WIDTH = 100

_REPOSITORY_HEAD = f"""\
# {REPOSITORY_FILE}: guidecheck's configuration for this service repository (docs/configuration.md)
#
# Written by `guidecheck init` (guidecheck {__version__}) from the rule catalogue: every key and
# setting is listed with the guide's default, commented out. Uncomment and change only what this
# repository needs; `guidecheck rules` and `guidecheck explain ID` say what each rule checks.
#
# Trust: this is the *repository* configuration. The organisation's configuration (given with
# --config FILE or the GUIDECHECK_CONFIG environment variable; `guidecheck init --org` writes one)
# is trusted and wins: this file may only tighten it (a stricter fail-on, more rules, lower
# thresholds) unless the organisation configuration says `repository-config: trusted`
# (`tighten-only` is the default; `ignore` disregards this file).
"""

_ORGANISATION_HEAD = f"""\
# {ORGANISATION_FILE}: the organisation's guidecheck configuration (docs/configuration.md)
#
# Written by `guidecheck init --org` (guidecheck {__version__}) from the rule catalogue: every key and
# setting is listed with the guide's default, commented out.
#
# Trust: this file is trusted. Keep it outside the service repositories (a platform repository,
# the CI template, the auditor chart's ConfigMap) and give it to every scan with
# `guidecheck scan --config {ORGANISATION_FILE}` or GUIDECHECK_CONFIG={ORGANISATION_FILE}.
# A repository's own .guidecheck.yaml is then read as repository-config says:
#   tighten-only  (default) it may only make the gate stricter
#   trusted       it may change anything (the repository's owners are trusted)
#   ignore        it is not read
# repository-config: tighten-only
"""

_KEYS = """\
version: 1

# Lowest severity that fails the scan (exit 1): error | warning | info | never
# fail-on: error

# Rules that run: ids or prefixes (GC4 = every GC4xx rule); ALL is every rule
# select: [ALL]
# ignore: []

# Severity overrides per rule id or prefix: error | warning | info
# severity: {GC307: error}

# Paths left out of scans: globs relative to this file (** crosses directories)
# exclude: [vendor/**, "**/testdata/**"]

# false: suppression comments and annotations do not suppress (a CI policy)
# inline-suppressions: true

# true: rules of status preview run like the others
# preview: false

# Time-limited exceptions: matching findings are suppressed until 'expires', then active again
# (GC003 reports the expired waiver)
# waivers:
#   - rules: [GC403]
#     paths: [k8s/legacy/**]
#     owner: platform-team
#     ticket: OPS-1234
#     reason: legacy batch job, limits set by the namespace LimitRange
#     expires: 2026-12-31

# Directories of the team's own declarative rules (docs/custom-rules.md), relative to this file
# custom-rules: [guidecheck-rules]

# Helm rendering (docs/helm.md)
# helm:
#   binary: helm
#   render: true
#   release-name: release-name
#   profiles: {production: [values-production.yaml]}
"""


def _flow(value: Any) -> str:
    """A default as one line of YAML (JSON is YAML's flow style)."""
    return json.dumps(value, ensure_ascii=False)


def _setting(s: Setting) -> list[str]:
    """A setting as commented lines: its description, who reads it, and ``name: default``."""
    rules = ", ".join(s.rules) or (s.used_by or "the engine")
    about = " ".join(s.description.split()) + f" (read by {rules}; a value given here {_MERGE[s.merge]})"
    out = [f"#   # {line}" for line in textwrap.wrap(about, WIDTH - 6, break_on_hyphens=False)]
    out.append(f"#   {s.name}: {_flow(s.default)}")
    return out


_MERGE = {
    "replace": "replaces the default",
    "extend": "is added to the default",
    "merge-keys": "is merged into the default, key by key",
}


def render(organisation: bool = False) -> str:
    """The configuration file's text."""
    parts = [_ORGANISATION_HEAD if organisation else _REPOSITORY_HEAD, "\n", _KEYS, "\n"]
    parts.append(
        "# The guideline's thresholds and every other setting (docs/configuration.md): uncomment\n"
        "# `settings:` and the lines of the settings to change\n"
    )
    parts.append("# settings:\n")
    parts.append("#\n".join("\n".join(_setting(s)) + "\n" for _, s in sorted(load_settings().items())))
    return "".join(parts)


__all__ = ["ORGANISATION_FILE", "REPOSITORY_FILE", "render"]
