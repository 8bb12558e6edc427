"""No module of slowfast/ imports one that imports it back, directly or through others.

Imports inside functions count too (a lazy import hides a cycle from Python, not from a
reader), and so does the package a module is imported from: ``from slowfast.config.x import y``
runs ``slowfast/config/__init__.py`` first. A module's own enclosing packages are not edges
(Python imports them before the module in any case).
"""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "slowfast"


def _module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _named(node: ast.AST, package: str) -> set[str]:
    """Dotted names an import statement names (``from a import b``: ``a`` and ``a.b``)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if not isinstance(node, ast.ImportFrom):
        return set()
    base = node.module or ""
    if node.level:  # relative: resolve against the importing module's package
        anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
        base = f"{anchor}.{base}" if base else anchor
    return {base} | {f"{base}.{alias.name}" for alias in node.names}


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The slowfast modules and packages importing ``name`` runs, its own packages excepted."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        for dotted in _named(node, package):
            parts = dotted.split(".")
            found.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
    return {m for m in found if m in modules and m != name and not name.startswith(m + ".")}


def _graph() -> dict[str, set[str]]:
    modules = _module_names()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    """A path start -> ... -> start, if there is one (depth-first search)."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(graph[node]):
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, path + [nxt]))
    return None


def test_the_walk_sees_the_package_and_its_imports():
    graph = _graph()
    assert "slowfast.config.loading" in graph and "slowfast.datasets.synthetic.generate" in graph
    assert "slowfast.config.validation" in graph["slowfast.config.loading"]


def test_no_module_imports_one_that_imports_it_back():
    graph = _graph()
    cycles = [" -> ".join(cycle) for name in sorted(graph) if (cycle := _cycle_from(name, graph))]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
