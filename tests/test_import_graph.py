"""The layers of guidecheck, read from its source: who may import whom.

The graph is built with ``ast`` over ``src/guidecheck`` (no module is imported):
every ``import``/``from ... import`` counts, at the top of a module or inside a
function, since a function-level import is a dependency all the same.  An edge
goes to the module named (``from guidecheck.parsers import k8s`` is an edge to
``guidecheck.parsers.k8s``; ``from guidecheck.loaders import load`` to the
package ``guidecheck.loaders``).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "guidecheck"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(module: str, path: Path) -> set[str]:
    """The guidecheck modules ``module`` imports (anywhere in its source)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, path, node)
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.add(sub if sub in MODULES else base)
    return {m for m in out if m in MODULES and m != module}


GRAPH = {m: _targets(m, p) for m, p in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _in(module: str, package: str) -> bool:
    full = f"{PACKAGE}.{package}"
    return module == full or module.startswith(full + ".")


def _imports_from(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{m} -> {t}" for m, ts in GRAPH.items() if _in(m, package) for t in ts if any(_in(t, f) for f in forbidden)
    )


def test_the_graph_is_read():
    assert "guidecheck.runner" in GRAPH and "guidecheck.engine" in GRAPH["guidecheck.runner"]
    assert "guidecheck.parsers.k8s" in GRAPH["guidecheck.cluster.objects"]


def test_no_import_cycles():
    assert _cycles(GRAPH) == []


def test_parsers_import_no_loaders_checks_cluster_engine_or_cli():
    assert _imports_from("parsers", ("loaders", "checks", "cluster", "engine", "cli", "runner")) == []


def test_checks_never_import_loaders():
    assert _imports_from("checks", ("loaders",)) == []


def test_model_is_the_bottom_layer():
    """The shared data model imports nothing of guidecheck: every other layer may use it."""
    assert sorted(t for t in GRAPH["guidecheck.model"] if t.startswith(PACKAGE)) == []


def test_loaders_do_not_import_checks_engine_cluster_or_cli():
    assert _imports_from("loaders", ("checks", "engine", "cluster", "cli", "runner", "reporters")) == []


def test_engine_does_not_import_loaders_cluster_reporters_or_cli():
    forbidden = ("loaders", "cluster", "reporters", "cli", "runner")
    assert [e for e in _imports_from("engine", forbidden)] == []


def test_reporters_render_results_only():
    """Reporters see a ScanResult: no loading, no checks, no cluster access."""
    assert _imports_from("reporters", ("loaders", "checks", "cluster", "parsers", "runner", "cli")) == []


def test_cluster_is_reached_only_through_the_runner_and_the_cli():
    users = sorted({m for m, ts in GRAPH.items() if not _in(m, "cluster") for t in ts if _in(t, "cluster")})
    assert users == ["guidecheck.cli", "guidecheck.runner"]
