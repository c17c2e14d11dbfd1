"""The solve routes above the solver layer, plugged into :func:`dro_opt.solvers.solve`.

:func:`dro_opt.solvers.registry.solve` is the one front door, but two of its routes live in
higher layers: cvxpy problems (:func:`dro_opt.dro.solve.solve_cvxpy`) and exponential-cone models
on LP/MILP solvers (the certified polyhedral sandwich of
:mod:`dro_opt.reformulations.exp_cone_polyhedral_solve`). This module registers both with
:func:`~dro_opt.solvers.registry.register_route`; ``import dro_opt`` imports it, so the routes are
there before any solve. The implementations are imported only when a route is taken.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dro_opt.conic.problem import ConicProblem
from dro_opt.solvers.base import SolveOptions
from dro_opt.solvers.registry import register_route
from dro_opt.solvers.result import Result

Handler = Callable[[SolveOptions], Result]


def cvxpy_route(problem: Any, solver: str | None) -> Handler | None:
    """A ``cvxpy.Problem``: imported with ``from_cvxpy``, solved, values written back."""
    if isinstance(problem, ConicProblem) or not type(problem).__module__.startswith("cvxpy"):
        return None

    def run(options: SolveOptions) -> Result:
        from dro_opt.dro.solve import solve_cvxpy

        return solve_cvxpy(problem, solver, options)

    return run


def polyhedral_route(problem: Any, solver: str | None) -> Handler | None:
    """An exponential-cone model for an LP/MILP solver (or with no exp-cone solver here)."""
    if not isinstance(problem, ConicProblem) or "exp" not in problem.needs():
        return None
    from dro_opt.reformulations import exp_cone_polyhedral_solve as ecp

    lp_solver = ecp.polyhedral_route(problem, solver)
    if lp_solver is None:
        return None
    return lambda options: ecp.solve_exp_polyhedral(problem, lp_solver, options)


register_route("cvxpy", cvxpy_route)
register_route("exp_polyhedral", polyhedral_route)
