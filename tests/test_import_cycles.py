"""No import cycles among pgm_ar's modules.

Every module's top-level imports (``from .x import y``, ``from ..x import y``, ``import
pgm_ar.x``) are read with ``ast``, without importing anything, and make a directed graph; it
must have no cycle.  Imports inside functions (deliberately lazy) and under ``if
TYPE_CHECKING:`` (never run) are not edges.  Importing ``pgm_ar.a.b`` runs ``pgm_ar/a/__init__``
first, so it is an edge to ``pgm_ar.a`` too, except from inside ``pgm_ar.a`` itself, whose
package is already being imported.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pgm_ar"

#: cycles allowed for now, each as the sorted tuple of its modules; keep this empty
KNOWN_CYCLES: set = set()


def modules(package: Path) -> Dict[str, Tuple[Path, bool]]:
    """``{dotted name: (file, is a package)}`` for every module under ``package``."""
    out = {}
    for f in sorted(package.rglob("*.py")):
        parts = f.relative_to(package.parent).with_suffix("").parts
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (f, is_pkg)
    return out


def top_level_imports(tree: ast.Module) -> Iterator[ast.stmt]:
    """Import statements that run when the module is imported."""
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (s for s in node.orelse if isinstance(s, (ast.Import, ast.ImportFrom)))
            continue
        blocks = [node]
        if isinstance(node, ast.Try):
            blocks = node.body + [s for h in node.handlers for s in h.body] + node.orelse
        elif isinstance(node, ast.If):
            blocks = node.body + node.orelse
        yield from (s for s in blocks if isinstance(s, (ast.Import, ast.ImportFrom)))


def imported(name: str, is_pkg: bool, node: ast.stmt, known: Dict) -> List[str]:
    """The modules of ``known`` that ``node`` (in module ``name``) imports."""
    if isinstance(node, ast.Import):
        targets = [a.name for a in node.names]
    else:
        assert isinstance(node, ast.ImportFrom)
        if node.level:
            base = name.split(".") if is_pkg else name.split(".")[:-1]
            base = base[:len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        # ``from .pkg import sub`` imports the submodule too
        targets = [target] + [f"{target}.{a.name}" for a in node.names
                              if f"{target}.{a.name}" in known]
    own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 2)}
    out = []
    for target in targets:
        parts = target.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            # a parent package counts unless the importer is inside it
            if prefix in known and (prefix == target or prefix not in own):
                out.append(prefix)
    return out


def import_graph(package: Path) -> nx.DiGraph:
    known = modules(package)
    graph = nx.DiGraph()
    for name, (path, is_pkg) in known.items():
        graph.add_node(name)
        for node in top_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            for target in imported(name, is_pkg, node, known):
                if target != name:
                    graph.add_edge(name, target)
    return graph


def test_pgm_ar_has_no_import_cycles():
    graph = import_graph(PACKAGE)
    # the graph is the real one: some edges every version of the package has
    assert graph.has_edge("pgm_ar.io.bif", "pgm_ar.network")
    assert graph.has_edge("pgm_ar.network", "pgm_ar.errors")
    assert not graph.has_edge("pgm_ar.network", "pgm_ar.draw")  # lazy, inside a method
    cycles = {tuple(sorted(c)) for c in nx.simple_cycles(graph)}
    new = sorted(cycles - KNOWN_CYCLES)
    assert not new, "import cycles: " + "; ".join(" -> ".join(c) for c in new)


def write(root: Path, files: Dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


@pytest.mark.parametrize("files, cycle", [
    # a package and its submodule through a name the package defines
    ({"pkg/__init__.py": "from .a import f\n", "pkg/a.py": "from . import CONST\n"},
     ("pkg", "pkg.a")),
    # two modules in different packages, one through ``import pkg.x``
    ({"pkg/__init__.py": "", "pkg/x.py": "import pkg.sub.y\n", "pkg/sub/__init__.py": "",
      "pkg/sub/y.py": "from ..x import g\n"}, ("pkg.sub.y", "pkg.x")),
    # a submodule reached through its package's __init__
    ({"pkg/__init__.py": "", "pkg/x.py": "from .sub import y\n",
      "pkg/sub/__init__.py": "from .y import h\n", "pkg/sub/y.py": "from .. import x\n"},
     ("pkg.sub", "pkg.sub.y", "pkg.x")),
])
def test_the_detector_finds_cycles(tmp_path, files, cycle):
    graph = import_graph(write(tmp_path, files))
    assert cycle in {tuple(sorted(c)) for c in nx.simple_cycles(graph)}


def test_lazy_and_type_checking_imports_are_not_edges(tmp_path):
    graph = import_graph(write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\n"
                    "def f():\n    from .b import g\n    return g\n",
        "pkg/b.py": "from .a import f\n"}))
    assert list(nx.simple_cycles(graph)) == [] and graph.has_edge("pkg.b", "pkg.a")
