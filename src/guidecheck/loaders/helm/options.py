"""Helm options: the ``helm:`` section of the configuration and the command line, resolved once."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from guidecheck.config import Config

CLI_PROFILE = "cli"
DEFAULT_PROFILE = "default"


@dataclass
class HelmOptions:
    binary: str | None = None
    release: str = "release-name"
    namespace: str | None = None
    timeout: float = 60.0
    profiles: dict[str, list[str]] = field(default_factory=dict)
    charts: dict[str, dict] = field(default_factory=dict)  # absolute chart dir -> {profiles, release-name, ...}
    api_versions: list[str] = field(default_factory=list)
    kube_version: str | None = None
    resolve_from_tree: bool = True
    cli_values: list[str] = field(default_factory=list)
    cli_set: list[str] = field(default_factory=list)
    only: tuple[str, ...] = ()  # --profile: render only these profiles
    verbose: bool = False
    render: bool = True
    max_output: int = 64 * 1024 * 1024  # bytes of rendered output read per chart and profile
    max_chart_file: int = 8 * 1024 * 1024  # bytes of one chart file copied into the sandbox
    max_memory: int = 2 * 1024 * 1024 * 1024  # address space of one Helm process (helm.max-memory-bytes)


def options_from(config: Config, options: dict[str, Any]) -> HelmOptions:
    h = dict(getattr(config, "helm", None) or {})
    cli = options.get("helm") or {}
    base = os.path.dirname(os.path.abspath(config.path)) if config.path else os.getcwd()
    charts = {}
    for d, spec in (h.get("charts") or {}).items():
        charts[os.path.normpath(os.path.join(base, d))] = dict(spec or {})
    return HelmOptions(
        binary=_binary(cli, h, base),
        release=cli.get("release") or h.get("release-name") or "release-name",
        namespace=cli.get("namespace") or h.get("namespace"),
        timeout=float(h.get("timeout", 60)),
        profiles={k: list(v or ()) for k, v in (h.get("profiles") or {}).items()},
        charts=charts,
        api_versions=list(h.get("api-versions") or ()),
        kube_version=h.get("kube-version"),
        resolve_from_tree=bool(h.get("resolve-dependencies-from-tree", True)),
        cli_values=[os.path.abspath(v) for v in cli.get("values") or ()],
        cli_set=list(cli.get("set") or ()),
        only=tuple(cli.get("profiles") or ()),
        verbose=bool(options.get("verbose")),
        render=h.get("render", True) is not False,
        max_output=8 * config.max_file_bytes,
        max_chart_file=config.max_file_bytes,
        max_memory=int(h.get("max-memory-bytes", 2 * 1024 * 1024 * 1024)),
    )


def _binary(cli: dict, h: dict, base: str) -> str | None:
    """``--helm``, else ``helm.binary``; a relative path with a directory in the configuration is relative to it."""
    binary = cli.get("binary") or h.get("binary")
    if binary and os.sep in binary and not os.path.isabs(binary) and not cli.get("binary"):
        binary = os.path.normpath(os.path.join(base, binary))
    return binary
