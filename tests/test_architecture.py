"""The house rules of docs/architecture.md, checked on the source: floors, no import cycle, nothing generic
importing the claims, modules under 400 lines (after ``ruff format``), and the doc's module list."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

HARNESS = REPO / "harness"
DOC = REPO / "docs" / "architecture.md"
MAX_LINES = 400

# The floors of the house, bottom first: a module imports its own room or rooms on lower floors only.
FLOORS: tuple[frozenset[str], ...] = (
    frozenset({"harness", "core"}),
    frozenset({"datasets", "codecs", "metrics"}),
    frozenset({"published", "training"}),
    frozenset({"run"}),
    frozenset({"analysis"}),
    frozenset({"render"}),
    frozenset({"pairwise"}),
    frozenset({"cli"}),
    frozenset({"claims"}),
)


def modules() -> dict[str, Path]:
    """Every module of harness/ by dotted name (a package by its ``__init__.py``)."""
    found = {}
    for path in sorted(HARNESS.rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The harness modules ``name`` imports anywhere in its source (functions and TYPE_CHECKING included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                head = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*head, base] if base else head)
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for imported in names:
            while imported and imported not in known:  # `from harness.x import f`: the module harness.x
                imported = imported.rpartition(".")[0]
            if imported.startswith("harness") and imported != name:
                targets.add(imported)
    return targets


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def room(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "harness"


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_no_import_cycle():
    assert cycles(graph()) == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_reaches_up_and_nothing_generic_imports_the_claims():
    floor = {r: level for level, rooms in enumerate(FLOORS) for r in rooms}
    edges = graph()
    assert set(map(room, edges)) <= set(floor), "a new room: give it a floor here and in docs/architecture.md"
    upward = [f"{a} -> {b}" for a, targets in edges.items() for b in sorted(targets)
              if room(a) != room(b) and floor[room(b)] >= floor[room(a)]]
    assert upward == []
    generic = [f"{a} -> {b}" for a, targets in edges.items() for b in targets
               if room(b) == "claims" and room(a) != "claims"]
    assert generic == []


def formatted_sizes(tmp_path: Path) -> dict[str, int]:
    """Line counts of a copy of harness/ formatted with ``ruff format --line-length 120`` (the repo is not
    touched)."""
    shutil.copytree(HARNESS, tmp_path / "harness", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    subprocess.run([sys.executable, "-m", "ruff", "format", "--line-length", "120", "--no-cache", "--quiet",
                    "harness"], cwd=tmp_path, check=True)
    return {str(p.relative_to(tmp_path)): len(p.read_text().splitlines()) for p in (tmp_path / "harness").rglob("*.py")}


def test_no_module_over_400_lines_after_formatting(tmp_path):
    sizes = formatted_sizes(tmp_path)
    assert len(sizes) == len(modules())
    assert {path: n for path, n in sorted(sizes.items()) if n > MAX_LINES} == {}


DOC_ENTRY = re.compile(r"^- `(harness/[\w/]+\.py)`: \S")


def test_architecture_doc_lists_every_module_with_its_purpose():
    listed = [m.group(1) for line in DOC.read_text().splitlines() if (m := DOC_ENTRY.match(line))]
    tree = sorted(str(p.relative_to(REPO)) for p in modules().values())
    assert len(listed) == len(set(listed)), "a module is listed twice"
    assert {"missing from the doc": sorted(set(tree) - set(listed)),
            "listed but not in the tree": sorted(set(listed) - set(tree))} == {
        "missing from the doc": [], "listed but not in the tree": []}


def test_every_module_says_its_purpose():
    silent = [str(path.relative_to(REPO)) for path in modules().values()
              if path.read_text().strip() and not ast.get_docstring(ast.parse(path.read_text()))]
    assert silent == []
