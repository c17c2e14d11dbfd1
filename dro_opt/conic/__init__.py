"""Canonical conic form (docs/conventions.md, 'Canonical conic form') and its bulk builder.

``from_cvxpy`` / ``assign_solution`` (:mod:`dro_opt.conic.from_cvxpy`) are loaded lazily on first
access so that ``import dro_opt`` does not import cvxpy.
"""

from dro_opt.conic.builder import ConicBuilder
from dro_opt.conic.cones import EXP, NONNEG, POW, RSOC, SOC, ZERO, ConeRun
from dro_opt.conic.problem import (
    BINARY,
    CONTINUOUS,
    INTEGER,
    MAX,
    MIN,
    ConBlock,
    ConicProblem,
    VarBlock,
)

_LAZY = {"from_cvxpy", "assign_solution", "cvxpy_block_names"}


def __getattr__(name: str) -> object:
    """Lazy export of the cvxpy importer (cvxpy takes about a second to import)."""
    if name in _LAZY:
        import importlib

        mod = importlib.import_module("dro_opt.conic.from_cvxpy")
        # importing the submodule bound the package attribute ``from_cvxpy`` to the module;
        # rebind every lazy name to the function it stands for.
        globals().update({k: getattr(mod, k) for k in _LAZY})
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BINARY",
    "CONTINUOUS",
    "EXP",
    "INTEGER",
    "MAX",
    "MIN",
    "NONNEG",
    "POW",
    "RSOC",
    "SOC",
    "ZERO",
    "ConBlock",
    "ConeRun",
    "ConicBuilder",
    "ConicProblem",
    "VarBlock",
    "assign_solution",
    "cvxpy_block_names",
    "from_cvxpy",
]
