"""The package's layout is the design: each sub-package says what it owns and what it must not
know, the README's module map names every module where it is, and imports run one way."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "router"
SUBPACKAGES = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
# Who may import whom: a package below never imports one above it.
MAY_IMPORT = {
    "decide": set(),
    "engine": set(),
    "dispatch": {"decide", "engine"},
    "stream": {"decide", "engine", "observe"},
    "observe": {"decide", "stream"},
    "http": set(),  # the front door decides nothing
    "demo": {"http"},
    "report": {"observe"},  # reads what observe wrote, nothing of the live path
}


def modules() -> set[str]:
    found = {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py")}
    return {m for m in found if not m.endswith(("__init__.py", "__main__.py"))}


def readme_map() -> set[str]:
    """The module paths the README's Development section draws, from their indentation."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Development", 1)[1].split("```", 2)[1]
    named, folders = set(), []
    for line in block.splitlines():
        if not (match := re.match(r"( *)(\S+)", line)):
            continue
        depth, name = len(match.group(1)) // 2, match.group(2)
        folders = [*folders[:depth], name] if name.endswith("/") else folders[:depth]
        if name.endswith(".py"):
            named.add("".join(folders) + name)
    return named


def test_the_readme_module_map_names_every_module_where_it_is() -> None:
    drawn, actual = readme_map(), modules()
    assert not actual - drawn, f"modules the README does not name: {sorted(actual - drawn)}"
    assert not drawn - actual, f"the README names modules that do not exist: {drawn - actual}"


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_each_subpackage_says_what_it_owns_and_must_not_know(package: str) -> None:
    doc = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text())) or ""
    assert "Owns" in doc and ("Must not know" in doc or "Nothing in the proxy" in doc), package


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_imports_run_one_way(package: str) -> None:
    wrong = set()
    for path in (PACKAGE / package).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("router."):
                target = node.module.split(".")[1]  # type: ignore[union-attr]
                if target in MAY_IMPORT and target not in MAY_IMPORT[package] | {package}:
                    wrong.add(f"{path.name} -> router.{target}")
    assert not wrong, f"router.{package} imports above itself: {sorted(wrong)}"


def exception_classes(tree: ast.Module) -> set[str]:
    defined = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}

    def is_exception(name: str, seen: frozenset[str] = frozenset()) -> bool:
        node = defined.get(name)
        if node is None or name in seen:
            return name.endswith(("Error", "Exception"))
        bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
        return any(is_exception(base, seen | {name}) for base in bases)

    return {name for name in defined if is_exception(name)}


def test_every_exception_lives_in_errors_py_and_in_its_tree() -> None:
    errors = PACKAGE / "errors.py"
    elsewhere = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in PACKAGE.rglob("*.py")
        if path != errors
        for name in exception_classes(ast.parse(path.read_text()))
    }
    assert not elsewhere, f"exception classes outside router/errors.py: {sorted(elsewhere)}"
    module = ast.parse(errors.read_text())
    doc = ast.get_docstring(module) or ""
    undrawn = {name for name in exception_classes(module) if not re.search(rf"\b{name}\b", doc)}
    assert not undrawn, f"router/errors.py's tree does not draw: {sorted(undrawn)}"
