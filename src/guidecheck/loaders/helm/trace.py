"""Values tracing: which values files lines supply the ``.Values`` a template line reads.

The template side (actions, the dot, the paths read) is pure text and lives in
:mod:`guidecheck.parsers.helm_template`; this module reads the values files and
the subcharts' ``Chart.yaml`` to follow precedence.
"""

from __future__ import annotations

import os
from typing import Any

from guidecheck.loaders.fs import ReadError, read_text
from guidecheck.loaders.helm.charts import _ChartJob, _shown_of
from guidecheck.loaders.helm.deps import _dependency_meta, _quick_meta
from guidecheck.loaders.helm.sandbox import _inside
from guidecheck.parsers.chart import _deps
from guidecheck.parsers.helm_template import _action_refs, _camel_words, template_actions
from guidecheck.parsers.yaml import YMap, load_yaml


class ValuesTrace:
    """Which values file lines supply the ``.Values`` a template line uses (computed on demand).

    ``get(line)`` looks at the template line and the control lines right after
    it (``{{- toYaml .Values.resources | nindent 12 }}`` under ``resources:``),
    and for each ``.Values.a.b`` finds the highest-precedence values file that
    sets it: ``--set``, then the profile's files (last first), then the chart's
    ``values.yaml``; for a subchart, the parent's files under the subchart's
    name, then the subchart's own ``values.yaml``.
    """

    __slots__ = ("job", "template", "lines", "files", "shown", "cache", "sets", "_memo")

    def __init__(
        self,
        job: _ChartJob,
        template: str,
        lines: list[str],
        files: list[str],
        shown: list[str],
        cache: dict,
        sets: list[str],
    ) -> None:
        self.job, self.template, self.lines = job, template, lines
        self.files, self.shown, self.cache, self.sets = files, shown, cache, sets
        self._memo: dict[int | tuple[int, str], list] = {}

    def __repr__(self) -> str:
        return f"ValuesTrace({self.template})"

    def get(self, line: int, default: Any = None) -> Any:
        if line not in self._memo:
            try:
                self._memo[line] = self._compute(line)
            except Exception:  # noqa: BLE001 - tracing is a help: never break a report
                self._memo[line] = []
        return self._memo[line] or default

    def about(self, line: int, field: str) -> list[dict]:
        """Values lines for a field a container lacks or gets wrong, the container starting at ``line``.

        The container's template lines (from its ``- name:`` line to the next line at its
        indentation or less, at most 400) are searched for values read by the field's block:
        paths with a key naming the field (``resources``; ``livenessProbe``, ``liveness``,
        ``probes.liveness.enabled``, ``upgradeJobResources``; not ``customResourceState``).  A field
        that no template line renders has nothing to trace.
        """
        key = (line, field)
        if key not in self._memo:
            try:
                self._memo[key] = self._compute(line, self._field_refs(line, field))
            except Exception:  # noqa: BLE001 - tracing is a help: never break a report
                self._memo[key] = []
        return self._memo[key]

    def _field_refs(self, line: int, field: str) -> list[str]:
        if not 0 < line <= len(self.lines):
            return []
        words = {field.lower(), field.lower().removesuffix("probe")}
        first = self.lines[line - 1]
        indent = len(first) - len(first.lstrip(" "))
        actions = self._actions()
        refs: list[str] = []
        for n in range(line, min(line + 400, len(self.lines) + 1)):
            text = self.lines[n - 1]
            stripped = text.strip()
            if (
                n > line
                and stripped
                and not stripped.startswith(("{{", "#"))
                and len(text) - len(text.lstrip(" ")) <= indent
            ):
                break  # the next container, or the end of the list
            for body, dot in actions.get(n, ()):
                for r in _action_refs(body, dot):
                    if any(_camel_words(part) & words for part in r.split(".")) and r not in refs:
                        refs.append(r)
        return refs[:4]

    def _refs(self, line: int) -> list[str]:
        if not 0 < line <= len(self.lines):
            return []
        actions = self._actions()
        refs = [r for text, dot in actions.get(line, ()) for r in _action_refs(text, dot)]
        if not refs and self.lines[line - 1].rstrip().endswith(":"):  # a block that comes from the lines below
            for n in range(line + 1, min(line + 4, len(self.lines) + 1)):
                s = self.lines[n - 1].strip()
                if not (s.startswith("{{") and s.endswith("}}")):
                    break
                refs.extend(r for text, dot in actions.get(n, ()) for r in _action_refs(text, dot))
        out = []
        for r in refs:
            if r not in out:
                out.append(r)
        return out[:4]

    def _actions(self) -> dict[int, list[tuple[str, str | None]]]:
        key = ("actions", self.template)
        if key not in self.cache:
            self.cache[key] = template_actions("\n".join(self.lines))
        return self.cache[key]

    def _compute(self, line: int, refs: list[str] | None = None) -> list[dict]:
        app_default = refs is None and self._defaults_to_app_version(line)
        refs = self._refs(line) if refs is None else refs
        if not refs:
            return []
        chain = self._chain()
        out: list[dict] = []
        for ref in refs:
            keys = ref.split(".")
            for s in self.sets:
                k = s.split("=", 1)[0]
                if k == ref or ref.startswith(k + "."):
                    out.append({"key": ref, "set": k})
                    break
            else:
                found: dict | None = None
                for shown, data, prefix in chain:
                    node, ok, kline = data, True, None
                    for key in prefix + keys:
                        if isinstance(node, YMap) and key in node:
                            kline = node.key_line(key)
                            node = node[key]
                        else:
                            ok = False
                            break
                    if ok and kline:
                        found = {"key": ref, "path": shown, "line": kline}
                        if node in (None, "") and app_default:
                            found = None  # empty: Helm's default takes the chart's appVersion
                        break
                if found is None and app_default and (app := self._app_version(ref)) is not None:
                    found = app
                if found is not None and found not in out:
                    out.append(found)
        return out

    def _defaults_to_app_version(self, line: int) -> bool:
        """Whether the line's actions fall back to the chart's appVersion (``| default .Chart.AppVersion``)."""
        return any("default" in body and ".Chart.AppVersion" in body for body, _dot in self._actions().get(line, ()))

    def _app_version(self, ref: str) -> dict | None:
        """The ``appVersion:`` line of the Chart.yaml of the chart that holds the template, for a value that is
        empty or unset and so falls back to it."""
        chart_dir, shown = self.job.abspath, self.job.prefix.rstrip("/")
        chain_dirs = self._sub_dirs()
        if chain_dirs:
            chart_dir, shown = chain_dirs[-1]
        key = ("chart-yaml", chart_dir)
        if key not in self.cache:
            data = None
            try:
                docs = load_yaml(read_text(os.path.join(chart_dir, "Chart.yaml"), 1024 * 1024, root=self.job.root))
                data = docs[0].data if docs else None
            except ReadError:
                pass
            self.cache[key] = data
        data = self.cache[key]
        if not isinstance(data, YMap) or "appVersion" not in data:
            return None
        path = f"{shown}/Chart.yaml" if shown else "Chart.yaml"
        return {"key": ref, "path": path, "line": data.key_line("appVersion"), "default": "Chart.AppVersion"}

    def _values(self, abspath: str) -> Any:
        if abspath not in self.cache:
            data = None
            try:
                root = self.job.root if _inside(abspath, self.job.root) else None
                docs = load_yaml(read_text(abspath, 8 * 1024 * 1024, root=root))
                data = docs[0].data if docs else None
            except ReadError:
                pass
            self.cache[abspath] = data
        return self.cache[abspath]

    def _sub_dirs(self) -> list[tuple[str, str]]:
        """(directory, display path) of the subcharts down to the one holding the template (none: the chart)."""
        return self._subcharts()[1]

    def _chain(self) -> list[tuple[str, Any, list[str]]]:
        """(display path, parsed values, key prefix), highest precedence first."""
        job = self.job
        sub_names, sub_dirs = self._subcharts()
        chain = []
        for f, shown in reversed(list(zip(self.files, self.shown, strict=False))):
            chain.append((shown, self._values(f), sub_names))
        chain.append((job.prefix + "values.yaml", self._values(os.path.join(job.abspath, "values.yaml")), sub_names))
        for i, (d, shown) in enumerate(sub_dirs):
            chain.append((shown + "/values.yaml", self._values(os.path.join(d, "values.yaml")), sub_names[i + 1 :]))
        return [c for c in chain if isinstance(c[1], YMap)]

    def _subcharts(self) -> tuple[list[str], list[tuple[str, str]]]:
        """The names (aliases) and (directory, display path) of the subcharts holding the template."""
        job = self.job
        # which subchart (by name path) holds the template
        rel = self.template[len(job.prefix) :] if self.template.startswith(job.prefix) else self.template
        parts = rel.split("/")
        sub_names: list[str] = []
        sub_dirs: list[tuple[str, str]] = []
        base_abs = job.abspath
        while len(parts) >= 3 and parts[0] == "charts":
            d = os.path.join(base_abs, parts[0], parts[1])
            meta = _quick_meta(os.path.join(d, "Chart.yaml"))
            name = str(meta.get("name") or parts[1])
            alias = next(
                (
                    str(x.get("alias"))
                    for x in _deps(_dependency_meta(base_abs)[0])
                    if x.get("name") == name and x.get("alias")
                ),
                name,
            )
            sub_names.append(alias)
            sub_dirs.append((d, _shown_of(d, job)))
            base_abs = d
            parts = parts[2:]
        if not sub_names and not self.template.startswith(job.prefix) and job.prefix:
            # a subchart outside the chart directory (file:// or from the tree): find it among the charts
            for a, shown, cname, _m in job.all_charts:
                if self.template.startswith(shown + "/"):
                    sub_names = [cname or os.path.basename(a)]
                    sub_dirs = [(a, shown)]
        return sub_names, sub_dirs
