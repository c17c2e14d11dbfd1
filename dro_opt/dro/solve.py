"""Solve a cvxpy problem through dro_opt, with a certificate for the ORIGINAL problem.

:func:`solve_cvxpy` (reached as ``dro_opt.solve(cvxpy_problem)``):

1. imports the problem into the canonical conic form with
   :func:`~dro_opt.conic.from_cvxpy.from_cvxpy` (cvxpy's own DCP canonicalisation; boolean and
   integer variables with exponential cones included, which cvxpy itself refuses to send to SCIP);
2. solves it on the registry's choice (SCIP for mixed-integer conic, HiGHS for MILP/LP,
   Clarabel for continuous conic) or the requested solver;
3. writes the values back onto the cvxpy variables (integer ones rounded);
4. certifies: every robust term of :func:`dro_opt.dro.worst_case` is re-evaluated exactly at the
   returned decision by its ambiguity set (a primal worst-case distribution and an independent
   dual value; the dual value -- an upper bound of the supremum -- is used, so the decision's
   value is conservative), the user's constraints are checked at the returned decision, and

   * ``Certificate`` for ``min``: ``upper`` = objective of the returned decision with every
     robust term at its exact worst case; ``lower`` = the solver's proven bound of the conic model,
     which is exact (no approximation in the rules), widened by the line ``solver_tolerance`` =
     ``|solver objective - exact value|`` of the decision (a solver's bound is valid only up to
     its feasibility tolerances: Clarabel at its default 1e-8 tolerances was measured to stop
     with primal and dual objectives both 1.5e-7 above the optimum), so ``lower <= OPT <= upper``
     to solver precision;
   * mirrored for ``max``.

The returned :class:`~dro_opt.solvers.result.Result` has ``objective`` = the certified value of
the returned decision, ``bound`` = the solver's proven bound, ``status`` ``optimal`` only when the
certificate's gap is within the requested tolerance (otherwise ``feasible`` with the reason in
``message``); ``extra["model_objective"]`` keeps the solver's own objective value.
"""

from __future__ import annotations

import math
from typing import Any

import cvxpy as cp
import numpy as np

from dro_opt.certify import Certificate, CertificateLine
from dro_opt.errors import InvalidModelError
from dro_opt.solvers.base import SolveOptions
from dro_opt.solvers.result import Result
from dro_opt.solvers.status import Status

#: Relative constraint violation above which a returned decision is not called feasible.
FEASIBILITY_TOL = 1e-6


def solve_cvxpy(
    problem: cp.Problem, solver: str | None = None, options: SolveOptions | None = None
) -> Result:
    """Solve ``problem`` (a ``cvxpy.Problem``) with a certificate (module docstring)."""
    from dro_opt.conic.from_cvxpy import assign_solution, from_cvxpy
    from dro_opt.dro.robust import robust_terms
    from dro_opt.solvers.registry import solve as solve_conic

    options = options or SolveOptions()
    conic = from_cvxpy(problem)
    result = solve_conic(conic, solver, options)
    sense = conic.sense
    result.extra["model_objective"] = result.objective
    if not (result.status.has_solution and result.solution):
        return result
    assign_solution(problem, result)
    terms = robust_terms(problem)

    lines: list[CertificateLine] = []
    robust_ids: set[int] = set()
    saved: list[tuple[cp.Variable, Any]] = []
    for k, term in enumerate(terms):
        wc = term.evaluate()
        saved.append((term.t, term.t.value))
        term.t.value = np.asarray(wc.dual_value, dtype=float)
        robust_ids.update(id(c) for c in term.constraints)
        lines.append(
            CertificateLine(
                f"robust_term[{k}]",
                max(0.0, wc.gap),
                True,
                f"{term.ambiguity.describe()}: exact worst case at the returned decision in "
                f"[{wc.value:.10g}, {wc.dual_value:.10g}] (primal distribution, dual bound); "
                "the dual bound is used",
            )
        )
    value = _objective_value(problem)
    violation = _max_violation(problem, robust_ids)
    for t, old in saved:  # the solver's own values stay on the variables
        t.value = old
    feasible = violation <= FEASIBILITY_TOL
    lines.append(
        CertificateLine(
            "constraint_violation",
            violation,
            feasible,
            "largest violation of the user's constraints at the returned decision "
            f"(robust terms at their exact worst case); tolerance {FEASIBILITY_TOL:g}",
        )
    )
    errors = []
    model_obj = result.extra.get("model_objective")
    if feasible and model_obj is not None and math.isfinite(model_obj):
        errors.append(
            CertificateLine(
                "solver_tolerance",
                abs(float(model_obj) - value),
                True,
                "|solver's objective - exact value| of the returned decision: how far the "
                "solver's view is from the exact re-evaluation; widens the solver's bound, whose "
                "validity holds only up to the solver's feasibility tolerances (interior-point "
                "duals and MIP relaxations alike), not in exact arithmetic",
            )
        )
    cert = Certificate.for_sense(
        sense,
        value if feasible else None,
        result.bound,
        errors,
        bound_note="solver's proven bound of the exact conic model of the robust problem",
    )
    if result.certificate is not None:  # e.g. the polyhedral exp-cone sandwich's own lines
        cert.lines.extend(ln for ln in result.certificate.lines if ln.name != "solver_bound")
    cert.lines.extend(lines)
    result.certificate = cert
    result.objective = value if feasible else result.objective
    _settle_status(result, options)
    result.extra["robust_terms"] = [
        {
            "set": term.ambiguity.describe(),
            "primal": term.last.value if term.last else None,
            "dual": term.last.dual_value if term.last else None,
        }
        for term in terms
    ]
    return result


def _objective_value(problem: cp.Problem) -> float:
    val = problem.objective.value
    if val is None:
        raise InvalidModelError("the objective has no value after the solve")
    return float(np.asarray(val, dtype=float))


def _max_violation(problem: cp.Problem, skip: set[int]) -> float:
    worst = 0.0
    for con in problem.constraints:
        if id(con) in skip:
            continue
        try:
            v = _violation(con)
        except (ValueError, TypeError):  # pragma: no cover - no value
            return math.inf
        scale = 1.0
        for arg in con.args:
            if arg.value is not None:
                scale = max(scale, float(np.max(np.abs(arg.value), initial=0.0)))
        worst = max(worst, v / scale)
    return worst


def _violation(con: Any) -> float:
    """Largest violation of one constraint at the variables' values.

    Exponential and power cones are measured in closed form: cvxpy's own ``violation()`` of
    those cones projects with a solver call (it picked an unlicensed MOSEK here and crashed).
    """
    from cvxpy.constraints import ExpCone, PowCone3D

    if isinstance(con, ExpCone):
        x, y, z = (np.asarray(a.value, dtype=float).ravel() for a in con.args)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            pos = y > 0
            lhs = np.where(pos, y * np.exp(np.where(pos, x / np.where(pos, y, 1.0), 0.0)), 0.0)
            v = np.where(pos, lhs - z, np.maximum(-y, 0) + np.maximum(x, 0) + np.maximum(-z, 0))
        return float(np.max(np.maximum(v, 0.0), initial=0.0))
    if isinstance(con, PowCone3D):
        x, y, z = (np.asarray(a.value, dtype=float).ravel() for a in con.args[:3])
        a = np.asarray(con.alpha.value, dtype=float).ravel()
        geo = np.maximum(x, 0) ** a * np.maximum(y, 0) ** (1 - a)
        v = np.abs(z) - geo + np.maximum(-x, 0) + np.maximum(-y, 0)
        return float(np.max(np.maximum(v, 0.0), initial=0.0))
    v = con.violation()
    return float(np.max(np.abs(np.asarray(v, dtype=float)), initial=0.0))


def _settle_status(result: Result, options: SolveOptions) -> None:
    """``optimal`` only when the certificate proves it within the requested gap."""
    cert = result.certificate
    tol = max(options.gap or 0.0, 1e-6)
    if result.status is Status.OPTIMAL:
        gap = None if cert is None else cert.gap
        if gap is None or gap > 10 * tol:
            result.status = Status.FEASIBLE
            result.message = (
                result.message + "; " if result.message else ""
            ) + f"certificate gap {gap if gap is not None else 'unknown'} exceeds {10 * tol:g}"
