"""The package's layers: imports point only downward, with no cycles and no imports
hidden inside functions. The layer order is written here, lowest first."""

from __future__ import annotations

import ast
import os

import pytest

PACKAGE = "keras_genzoo"
PACKAGE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), PACKAGE)

#: Lowest first: a module may import from its own layer and the layers before it.
LAYERS = [
    "keras_genzoo.io",
    "keras_genzoo.core",
    "keras_genzoo.data",
    "keras_genzoo.evaluation",
    "keras_genzoo.models",
    "keras_genzoo.presets",
    "keras_genzoo.loading",
    "keras_genzoo.training",
    "keras_genzoo.tuning",
    "keras_genzoo.cli",
    "keras_genzoo",
]


def _modules() -> dict[str, str]:
    found = {}
    for folder, _, files in os.walk(PACKAGE_DIR):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, os.path.dirname(PACKAGE_DIR))[:-3]
                module = relative.replace(os.sep, ".").removesuffix(".__init__")
                found[module] = path
    return found


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The module of `MODULES` that an imported name lives in."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> list[tuple[str, bool]]:
    """(imported package module, at module level?) for every import in `module`."""
    path = MODULES[module]
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    is_package = path.endswith("__init__.py")
    top_level = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    parent = parent.rpartition(".")[0]
                base = f"{parent}.{base}" if base else parent
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            owner = _owner(name) if name.startswith(PACKAGE) else None
            if owner is not None and owner != module:
                found.append((owner, id(node) in top_level))
    return found


def _layer(module: str) -> int:
    matches = [i for i, prefix in enumerate(LAYERS) if module == prefix or module.startswith(prefix + ".")]
    return matches[0]


def test_every_module_has_a_layer():
    assert all(_layer(module) is not None for module in MODULES)


def test_imports_only_point_down():
    upward = [
        f"{module} (layer {LAYERS[_layer(module)]}) imports {target} (layer {LAYERS[_layer(target)]})"
        for module in MODULES
        for target, _ in _imports(module)
        if _layer(target) > _layer(module)
    ]
    assert not upward, "\n".join(upward)


def test_no_import_is_hidden_inside_a_function():
    hidden = [
        f"{module} imports {target}"
        for module in MODULES
        for target, top in _imports(module)
        if not top
    ]
    assert not hidden, "\n".join(hidden)


def test_families_do_not_import_each_other():
    def family(module: str) -> str | None:
        parts = module.split(".")
        return parts[2] if len(parts) > 2 and parts[1] == "models" else None

    crossing = [
        f"{module} imports {target}"
        for module in MODULES
        for target, _ in _imports(module)
        if family(module) and family(target) and family(module) != family(target)
    ]
    assert not crossing, "\n".join(crossing)


def test_there_is_no_import_cycle():
    graph = {module: {target for target, _ in _imports(module)} for module in MODULES}
    # A package's __init__ re-exporting its own submodules is not a cycle of design:
    # leave out edges from a package to the modules inside it.
    graph = {m: {t for t in targets if not t.startswith(m + ".")} for m, targets in graph.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)


@pytest.mark.parametrize("layer", LAYERS[:-1])
def test_no_layer_imports_the_package_root(layer):
    rooted = [
        f"{module} imports {PACKAGE}"
        for module in MODULES
        if _layer(module) == LAYERS.index(layer)
        for target, _ in _imports(module)
        if target == PACKAGE
    ]
    assert not rooted, "\n".join(rooted)
