"""The layers import one way: probes → kube → checks → fixes → tui → cli; widgets and the sandbox
stand alone. An AST walk over every module, so a wrong-way import fails here, named, instead of growing a cycle."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("kube", "probes", "checks", "fixes", "tui", "widgets", "cli", "sandbox")
# package → the project packages it may import (besides itself)
ALLOWED = {
    "kube": {"probes"},            # the probes sit beside kube: it reads the Secrets and hands them over
    "probes": set(),
    "checks": {"kube", "probes"},
    "fixes": {"kube", "probes", "checks"},
    "widgets": set(),
    "tui": {"kube", "probes", "checks", "fixes", "widgets"},
    "cli": {"kube", "probes", "checks", "fixes", "tui", "widgets", "sandbox"},
    "sandbox": set(),
}


def _imports(path: pathlib.Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, [alias.name.rsplit(".", 1)[-1]]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [a.name for a in node.names]


def _project(module: str) -> tuple[str, list[str]] | None:
    parts = module.split(".")
    if parts[0] == "arc_top":
        parts = parts[1:]
    return (parts[0], parts[1:]) if parts and parts[0] in PACKAGES else None


def test_every_package_imports_only_the_layers_below_it():
    wrong = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, module, _names in _imports(path):
                target = _project(module)
                if target and target[0] != package and target[0] not in ALLOWED[package]:
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert wrong == [], "imports against the layers' direction:\n" + "\n".join(wrong)


def test_no_private_name_is_imported_from_another_module():
    wrong = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, module, names in _imports(path):
                target = _project(module)
                if target is None:
                    continue
                private = [n for n in [*target[1], *names] if n.startswith("_") and not n.startswith("__")]
                if private:
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {', '.join(private)} from {module}")
    assert wrong == [], "private names used across packages:\n" + "\n".join(wrong)


def test_each_package_states_its_rule():
    for package in PACKAGES:
        doc = ast.get_docstring(ast.parse((ROOT / package / "__init__.py").read_text(encoding="utf-8"))) or ""
        assert "import" in doc.lower(), f"{package}/__init__.py does not say what it may import"
