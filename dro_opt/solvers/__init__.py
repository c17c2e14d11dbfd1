"""Solver backends, the status enum, results and the registry."""

from dro_opt.solvers.base import Availability, Backend, SolveOptions
from dro_opt.solvers.registry import (
    SOLVER_NAMES,
    all_backends,
    default_solver,
    get_backend,
    register_backend,
    solve,
    solvers_supporting,
)
from dro_opt.solvers.result import Result, relative_gap
from dro_opt.solvers.status import Status

__all__ = [
    "SOLVER_NAMES",
    "Availability",
    "Backend",
    "Result",
    "SolveOptions",
    "Status",
    "all_backends",
    "default_solver",
    "get_backend",
    "register_backend",
    "relative_gap",
    "solve",
    "solvers_supporting",
]
