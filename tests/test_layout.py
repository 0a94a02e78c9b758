"""The package's shape: stages import only the stages before them, no module imports itself
back through others, and no module grows past 500 lines (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "src" / "tilepress"
# What each stage may import of tilepress, besides itself, `errors` and the version. The
# shared core (config, files, outputs, project, cli) comes first; cli and project, which
# join the stages, may import every stage (project only sources; cli runs them all).
ALLOWED = {
    "config": set(),
    "files": set(),
    "geometry": set(),
    "sources": {"config", "files", "geometry"},
    "tiles": {"config", "files", "geometry", "sources"},
    "printing": {"config", "files", "geometry", "sources"},
    "web": {"config", "files", "geometry", "sources", "tiles"},
    "outputs": {"config", "tiles"},
    "project": {"config", "sources"},
    "cli": {"config", "files", "geometry", "sources", "tiles", "printing", "web", "project"},
}
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path) -> set[str]:
    """Every tilepress module ``path`` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [name if name in MODULES else node.module for name in names]
        else:
            continue
        found |= {name for name in names if name.startswith("tilepress.")}
    return found


GRAPH = {name: imported(path) for name, path in MODULES.items()}


def stage(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def test_every_module_is_in_a_known_stage() -> None:
    stages = {stage(name) for name in MODULES} - {"", "errors"}
    assert stages == set(ALLOWED)


def test_stages_import_only_the_stages_before_them() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if stage(module) not in ("", "errors")
        and stage(target) not in ("", "errors", stage(module))
        and stage(target) not in ALLOWED[stage(module)]
    ]
    assert wrong == []


def test_no_module_imports_itself_back() -> None:
    """No import cycle, counting the imports inside functions too."""
    cycles = []
    for start in GRAPH:
        stack, seen = [(start, (start,))], set()
        while stack:
            module, path = stack.pop()
            for target in GRAPH.get(module, ()):
                if target == start:
                    cycles.append(" -> ".join((*path, start)))
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, (*path, target)))
    assert cycles == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module: str) -> None:
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines: split it by concern"


def test_every_subpackage_says_what_it_takes_and_gives() -> None:
    for package in sorted(path.parent for path in PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
        assert doc and len(doc) > 200 and "TODO" not in doc, package.name
