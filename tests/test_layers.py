"""The layers import one way: core → probes → kube → checks → fixes → tui → cli; widgets and the sandbox
stand alone but for core, the stdlib-only base every layer may import and which imports none. An AST walk over
every module, so a wrong-way import fails here, named, instead of growing a cycle."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("core", "kube", "probes", "checks", "fixes", "tui", "widgets", "cli", "sandbox")
# package → the project packages it may import (besides itself)
ALLOWED = {
    "core": set(),                 # the base: standard library only (tests/test_core_text.py)
    "kube": {"core", "probes"},    # the probes sit beside kube: it reads the Secrets and hands them over
    "probes": {"core"},
    "checks": {"core", "kube", "probes"},
    "fixes": {"core", "kube", "probes", "checks"},
    "widgets": {"core"},
    "tui": {"core", "kube", "probes", "checks", "fixes", "widgets"},
    "cli": {"core", "kube", "probes", "checks", "fixes", "tui", "widgets", "sandbox"},
    "sandbox": {"core"},
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



def test_no_module_imports_itself_through_others():
    """No import cycle between modules. Every import counts, also one inside a function (it runs at the first call:
    a cycle all the same, only later). `from arc_top.x.y import Z` is the module x.y, or x.y.Z when Z is a module;
    relative imports resolve against the importing module's package."""
    files = {}                                    # module (x.y; a package is its __init__) → file
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def imported(module: str, path: pathlib.Path):
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                bases = [(alias.name, None) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = ".".join([*package[:len(package) + 1 - node.level], *filter(None, [node.module])]) \
                    if node.level else node.module or ""
                bases = [(base, alias.name) for alias in node.names]
            else:
                continue
            for base, name in bases:
                base = "" if base == "arc_top" else base.removeprefix("arc_top.")
                full = f"{base}.{name}".lstrip(".") if name else base
                yield node.lineno, full if full in files else base

    graph: dict[str, dict[str, int]] = {}         # module → {a module it imports: the line of the first import}
    for module, path in files.items():
        graph[module] = {}
        for line, target in imported(module, path):
            if target in files and target != module:
                graph[module].setdefault(target, line)

    cycles, done, stack = [], set(), []           # depth-first: an import of a module on the stack closes a cycle

    def visit(module: str) -> None:
        stack.append(module)
        for target in graph[module]:
            if target in stack:
                cycle = stack[stack.index(target):] + [target]
                cycles.append(" → ".join(f"{a} ({files[a].relative_to(ROOT)}:{graph[a][b]})"
                                         for a, b in zip(cycle[:-1], cycle[1:], strict=True)) + f" → {target}")
            elif target not in done:
                visit(target)
        stack.pop()
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            visit(module)
    assert cycles == [], "import cycles (each module with the line that imports the next):\n" + "\n".join(cycles)
