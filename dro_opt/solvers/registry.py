"""Solver registry (linopy-style): names -> backends, default choice by the model's needs.

Default choice (issue #4): MISOCP / mixed-integer exp cone -> SCIP, MILP -> HiGHS,
LP -> HiGHS, continuous conic -> Clarabel. A requested solver lacking a needed capability is
refused with :class:`~dro_opt.errors.CapabilityError`, never silently weakened.
"""

from __future__ import annotations

from typing import Any

from dro_opt.conic.problem import ConicProblem
from dro_opt.solvers.base import SolveOptions, required_features
from dro_opt.solvers.catalogue import (  # noqa: F401  (re-exported)
    SOLVER_NAMES,
    all_backends,
    get_backend,
    installed_supporting,
    register_backend,
)
from dro_opt.solvers.result import Result


def solvers_supporting(problem: ConicProblem) -> list[str]:
    """Installed solvers whose declared features cover the problem's needs (open ones first)."""
    return installed_supporting(problem)


def default_solver(problem: ConicProblem) -> str:
    """The registry's choice for ``problem`` (see module docstring)."""
    needs = required_features(problem)
    nonlinear = needs & {"soc", "rsoc", "exp", "pow"}
    if "integer" in needs:
        return "scip" if nonlinear else "highs"
    return "clarabel" if nonlinear else "highs"


def solve(
    problem: ConicProblem | Any,
    solver: str | None = None,
    options: SolveOptions | None = None,
    **kwargs: object,
) -> Result:
    """Solve ``problem`` with ``solver`` (default: :func:`default_solver`).

    ``problem`` is a :class:`ConicProblem` or a ``cvxpy.Problem`` (then see
    :func:`dro_opt.dro.solve.solve_cvxpy`: imported with ``from_cvxpy``, solved, values written
    back onto the cvxpy variables, certificate from exact re-evaluation of every robust term).

    Keyword arguments ``time_limit``, ``gap``, ``threads``, ``verbose`` build the options when
    ``options`` is not given.
    """
    if options is None:
        options = SolveOptions(**kwargs)  # type: ignore[arg-type]
    if not isinstance(problem, ConicProblem) and type(problem).__module__.startswith("cvxpy"):
        from dro_opt.dro.solve import solve_cvxpy

        return solve_cvxpy(problem, solver, options)
    if "exp" in problem.needs():  # LP/MILP solver asked for, or no exp solver: certified sandwich
        from dro_opt.reformulations import exp_cone_polyhedral_solve as ecp

        if (lp_solver := ecp.polyhedral_route(problem, solver)) is not None:
            return ecp.solve_exp_polyhedral(problem, lp_solver, options)
    backend = get_backend(solver or default_solver(problem))
    return backend.solve(problem, options)
