"""The packages' import graph, read from the source with `ast` (issue 15).

Every import counts, including ones inside functions (a lazy import is still a circle a reader has to
untangle); only `if TYPE_CHECKING:` blocks are left out, since they never run. An import of `a.b.c`
points at the module `a.b.c` itself, not at the packages above it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("assistant", "knowledge", "safety", "adapters", "ui")
# Data flows one way: these never reach up the chain into the application or its faces.
LOWER = ("knowledge", "safety", "adapters")
UPPER = ("assistant", "ui")
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, outside `if TYPE_CHECKING:` bodies."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _target(name: str, known: dict[str, Path]) -> str | None:
    """The longest known module that `name` (a dotted import) is or lies in."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in known:
            return candidate
    return None


def _imports(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from pkg import sub` imports the module pkg.sub when there is one, else a name in pkg.
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names
            ]
        for name in names:
            target = _target(name, known)
            if target and target != module:
                out.add(target)
    return out


def import_graph() -> dict[str, set[str]]:
    """module → the project modules it imports."""
    known = _modules()
    return {m: _imports(m, p, known) for m, p in known.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each as one concrete circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [_one_circle(graph, comp) for comp in components]


def _one_circle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest path from the component's first module back to itself (what the failure prints)."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w == start:
                    return [*paths[v], start]
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    nxt.append(w)
        frontier = nxt
    return component


def test_no_import_circle() -> None:
    circles = _cycles(import_graph())
    assert not circles, "import circles:\n" + "\n".join(" -> ".join(c) for c in circles)


def test_lower_packages_never_import_the_application() -> None:
    bad = [
        f"{m} imports {t}"
        for m, targets in import_graph().items()
        if m.split(".")[0] in LOWER
        for t in sorted(targets)
        if t.split(".")[0] in UPPER
    ]
    assert not bad, "knowledge/safety/adapters reach up the chain:\n" + "\n".join(bad)


def test_no_module_over_600_lines() -> None:
    skip = {"tests", ".venv", ".git", "test-artifacts"}
    long = [
        f"{p.relative_to(ROOT)}: {n} lines"
        for p in sorted(ROOT.rglob("*.py"))
        if not skip.intersection(p.relative_to(ROOT).parts)
        and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert not long, "modules over ~600 lines:\n" + "\n".join(long)


# The checker itself: a circle it must see, a lazy one, and a TYPE_CHECKING one it must not count.
@pytest.mark.parametrize(
    ("graph", "want"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c", "a"]]),
        ({"a": {"b"}, "b": set()}, []),
        ({"a": {"b", "c"}, "b": {"a"}, "c": set()}, [["a", "b", "a"]]),
    ],
)
def test_cycle_finder(graph: dict[str, set[str]], want: list[list[str]]) -> None:
    assert _cycles(graph) == want


def test_function_level_imports_count_and_type_checking_ones_do_not() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import hidden\n"
        "def f():\n    import lazy\n"
        "class C:\n    def m(self):\n        from deep.mod import x\n"
    )
    seen = {a.name for n in _import_nodes(tree) if isinstance(n, ast.Import) for a in n.names} | {
        n.module for n in _import_nodes(tree) if isinstance(n, ast.ImportFrom)
    }
    assert seen == {"typing", "lazy", "deep.mod"}
