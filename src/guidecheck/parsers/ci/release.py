"""Release tooling declared inside files, as :class:`ReleaseConfig` (a pure parser: text or parsed data in).

package.json ``release`` (semantic-release), pyproject.toml tool tables
(commitizen, towncrier, python-semantic-release, git-cliff), GoReleaser
configurations and chart-releaser configurations that generate release notes.
The CI loader finds the files and reads them.
"""

from __future__ import annotations

import re
from typing import Any

from guidecheck.parsers.ci.model import ReleaseConfig
from guidecheck.parsers.yaml import key_line, line_of

_PYPROJECT_TOOLS = re.compile(r"^\[tool\.(commitizen|towncrier|semantic_release|git-cliff)\]\s*$", re.M)


def from_package_json(display: str, data: Any) -> list[ReleaseConfig]:
    """semantic-release configured in a package.json's ``release`` key."""
    if isinstance(data, dict) and "release" in data:
        return [ReleaseConfig("semantic-release", display, key_line(data, "release"), "package.json 'release'")]
    return []


def from_pyproject(display: str, text: str) -> list[ReleaseConfig]:
    """Release tools configured in a pyproject.toml's ``[tool.<name>]`` tables (found in the text)."""
    out: list[ReleaseConfig] = []
    for m in _PYPROJECT_TOOLS.finditer(text):
        tool = {"semantic_release": "python-semantic-release"}.get(m.group(1), m.group(1))
        out.append(
            ReleaseConfig(tool, display, text.count("\n", 0, m.start()) + 1, f"pyproject.toml [tool.{m.group(1)}]")
        )
    return out


def from_goreleaser(display: str, data: Any) -> list[ReleaseConfig]:
    """A GoReleaser configuration (kept whole: the checks read its changelog and docker settings)."""
    if isinstance(data, dict):
        return [ReleaseConfig("goreleaser", display, line_of(data), "GoReleaser configuration", data=data)]
    return []


def from_chart_releaser(display: str, data: Any) -> list[ReleaseConfig]:
    """A chart-releaser (cr) configuration with ``generate-release-notes: true`` (falcosecurity's cr.yaml,
    which helm/chart-releaser-action reads through its ``config`` input): GitHub's generated notes per release."""
    if isinstance(data, dict) and data.get("generate-release-notes") in (True, "true"):
        return [
            ReleaseConfig(
                "chart-releaser", display, key_line(data, "generate-release-notes"), "generate-release-notes: true"
            )
        ]
    return []
