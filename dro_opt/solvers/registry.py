"""Solver registry (linopy-style): names -> backends, default choice by the model's needs.

Default choice (issue #4): MISOCP / mixed-integer exp cone -> SCIP, MILP -> HiGHS,
LP -> HiGHS, continuous conic -> Clarabel. A requested solver lacking a needed capability is
refused with :class:`~dro_opt.errors.CapabilityError`, never silently weakened.
"""

from __future__ import annotations

from collections.abc import Callable
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


# A route takes (problem, solver name or None) and returns a solve function of the options when it
# handles the problem, else None. Routes are registered by the layers above (dro_opt.front_door:
# cvxpy problems, the certified polyhedral sandwich for exponential cones on LP/MILP solvers), so
# this module imports nothing from them.
Route = Callable[[Any, str | None], Callable[[SolveOptions], Result] | None]
_ROUTES: list[tuple[str, Route]] = []


def register_route(name: str, route: Route) -> None:
    """Add (or replace) a solve route consulted by :func:`solve` before the backends."""
    _ROUTES[:] = [(n, r) for n, r in _ROUTES if n != name]
    _ROUTES.append((name, route))


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
    An exponential-cone model asked of an LP/MILP solver (or with no exponential-cone solver
    installed) goes to the certified polyhedral sandwich
    (:mod:`dro_opt.reformulations.exp_cone_polyhedral_solve`). Both routes are registered by
    :mod:`dro_opt.front_door`.

    Keyword arguments ``time_limit``, ``gap``, ``threads``, ``verbose`` build the options when
    ``options`` is not given.
    """
    if options is None:
        options = SolveOptions(**kwargs)  # type: ignore[arg-type]
    for _, route in _ROUTES:
        handler = route(problem, solver)
        if handler is not None:
            return handler(options)
    backend = get_backend(solver or default_solver(problem))
    return backend.solve(problem, options)
