"""Import layering of the package: no module imports a higher layer, and no import cycles.

Every module of ``dro_opt`` (with ``models/`` and ``instances/`` as ``dro_opt.models`` and
``dro_opt.instances``) is parsed with :mod:`ast`; every ``import`` counts, at module level and
inside functions alike. Only imports under ``if TYPE_CHECKING:`` are left out: they never run.

The layers, low to high (a module may import its own layer and the ones below). They follow the
data flow of docs/modelling.md: canonical form -> rewrite rules / files -> backends -> modelling
front ends and algorithms -> application models -> tools.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"dro_opt": ROOT / "dro_opt", "dro_opt.models": ROOT / "models"}
PACKAGES["dro_opt.instances"] = ROOT / "instances"

# (layer name, module prefixes); the longest matching prefix decides a module's layer.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("utilities", ("dro_opt.errors", "dro_opt.interrupt", "dro_opt.deadline", "dro_opt.validate")),
    ("canonical form", ("dro_opt.conic", "dro_opt.certify")),
    (
        "rules, sets, files",
        (
            "dro_opt.reformulations",
            "dro_opt.ambiguity",
            "dro_opt.io",
            "dro_opt.reductions",
            "dro_opt.dro.losses",
        ),
    ),
    ("solvers", ("dro_opt.solvers",)),
    (
        "routes on the solvers",
        ("dro_opt.reformulations.exp_cone_polyhedral_solve", "dro_opt.dro"),
    ),
    ("algorithms", ("dro_opt.algorithms",)),
    ("front door", ("dro_opt.front_door", "dro_opt.cli_common", "dro_opt.progress_line")),
    ("package", ("dro_opt.__root__",)),
    ("models", ("dro_opt.models", "dro_opt.instances")),
    ("compare", ("dro_opt.compare",)),
    ("command", ("dro_opt.cli",)),
]


def module_files() -> dict[str, Path]:
    out = {}
    for pkg, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([pkg, *parts])] = path
    return out


MODULES = module_files()


def layer_of(module: str) -> int:
    key = "dro_opt.__root__" if module == "dro_opt" else module
    best, level = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (key == p or key.startswith(p + ".")) and len(p) > best:
                best, level = len(p), i
    assert level is not None, f"module {module} is in no layer: add it to LAYERS"
    return level


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                lines.update(range(sub.lineno, (sub.end_lineno or sub.lineno) + 1))
    return lines


def imports_of(module: str, path: Path) -> list[tuple[str, int]]:
    """``(imported dro_opt module, line)`` of every runtime import in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    skip = _type_checking_lines(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            # "from pkg import sub" imports the submodule pkg.sub
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        else:
            continue
        for name in names:
            target = _known(name)
            if target is not None and target != module:
                out.append((target, node.lineno))
    return out


def _known(name: str) -> str | None:
    """The package module ``name`` refers to (the longest known prefix), or None."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


GRAPH = {m: imports_of(m, p) for m, p in MODULES.items()}


def test_every_module_is_in_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


def test_no_module_imports_a_higher_layer() -> None:
    bad = []
    for module, targets in GRAPH.items():
        here = layer_of(module)
        for target, line in targets:
            if layer_of(target) > here:
                bad.append(
                    f"{MODULES[module].relative_to(ROOT)}:{line}: {module} "
                    f"({LAYERS[here][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
                )
    assert not bad, "lower layers import higher ones:\n" + "\n".join(bad)


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative): the components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_import_cycles() -> None:
    graph = {m: {t for t, _ in targets} for m, targets in GRAPH.items()}
    cycles = strongly_connected(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from dro_opt.compare.trajectory import gap_series\n", "dro_opt.compare.trajectory"),
        ("def f():\n    from dro_opt.cli import main\n", "dro_opt.cli"),
        ("import dro_opt.models.portfolio as p\n", "dro_opt.models.portfolio"),
        ("from dro_opt import cli\n", "dro_opt.cli"),
    ],
)
def test_the_checker_sees_every_kind_of_import(tmp_path: Path, source: str, expected: str) -> None:
    """A lower module importing a higher one -- at module level, inside a function, as
    ``import x.y`` or ``from pkg import module`` -- is found and ranks above it."""
    path = tmp_path / "fake.py"
    path.write_text(source)
    found = [t for t, _ in imports_of("dro_opt.conic.fake", path)]
    assert found == [expected]
    assert layer_of(expected) > layer_of("dro_opt.conic.fake")


def test_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_type_checking_imports_are_left_out(tmp_path: Path) -> None:
    path = tmp_path / "fake.py"
    path.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from dro_opt.cli import main\n"
    )
    assert imports_of("dro_opt.conic.fake", path) == []


def test_layers_cover_the_package_in_order() -> None:
    assert layer_of("dro_opt.errors") < layer_of("dro_opt.conic.problem")
    assert layer_of("dro_opt.conic.problem") < layer_of("dro_opt.solvers.base")
    assert layer_of("dro_opt.solvers.trajectory") < layer_of("dro_opt.algorithms.oa_master_scip")
    assert layer_of("dro_opt.algorithms.submodular_oa") < layer_of("dro_opt.models.portfolio")
    assert layer_of("dro_opt.models.portfolio") < layer_of("dro_opt.compare.worker")
    assert layer_of("dro_opt.compare.worker") < layer_of("dro_opt.cli")
    assert len({name for name, _ in LAYERS}) == len(LAYERS)
    assert sum(len(set(GRAPH[m])) for m in GRAPH) > 100  # the parser does see the imports
