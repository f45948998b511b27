"""arc-top installs as one import package, `arc_top`: the layer folders at the repository's root are reached through
the links in `arc_top/`, and no code imports a layer by its bare name (which would load a second copy of it, or
another distribution's package of the same name)."""

from __future__ import annotations

import ast
import importlib.metadata
import pathlib

import arc_top.kube
import arc_top.tui

ROOT = pathlib.Path(__file__).resolve().parents[1]
LAYERS = ("core", "kube", "probes", "checks", "fixes", "tui", "widgets", "cli", "sandbox")


def test_the_installed_distribution_has_one_top_level_name():
    dist = importlib.metadata.distribution("arc-top")
    assert (dist.read_text("top_level.txt") or "").split() == ["arc_top"]
    provided = {name for name, dists in importlib.metadata.packages_distributions().items() if "arc-top" in dists}
    assert provided == {"arc_top"}


def test_the_entry_point_is_inside_the_package():
    (script,) = [e for e in importlib.metadata.entry_points(group="console_scripts") if e.name == "arc-top"]
    assert script.value == "arc_top.cli.main:main"
    assert callable(script.load())


def test_each_layer_is_reached_through_arc_top():
    for layer in LAYERS:
        link = ROOT / "arc_top" / layer
        assert link.is_symlink() and link.resolve() == (ROOT / layer).resolve(), f"arc_top/{layer} is not a link"
    assert pathlib.Path(arc_top.kube.__file__).parent.resolve() == (ROOT / "kube").resolve()
    assert pathlib.Path(arc_top.tui.__file__).parent.resolve() == (ROOT / "tui").resolve()


def _bare_imports(path: pathlib.Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            if name.split(".")[0] in LAYERS:
                yield node.lineno, name


def test_no_code_imports_a_layer_by_its_bare_name():
    wrong = []
    for folder in (*LAYERS, "tests", "bench", "scripts"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            wrong += [f"{path.relative_to(ROOT)}:{line} imports {name}" for line, name in _bare_imports(path)]
    assert wrong == [], "import arc_top.<layer> instead:\n" + "\n".join(wrong)
