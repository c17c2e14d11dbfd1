"""Certificate helpers for MC-FLP: exact re-evaluation, a greedy witness and solver sanity checks.

The certificate of a solve is the sandwich (docs/conventions.md, 'Result and certificate';
maximisation)::

    lower = F_full(z_returned)  <=  OPT_full  <=  upper = bound(solved model) + sum of error lines

Two checks guard against a solver whose answer does not match the model it was given (issue 5:
HiGHS and SCIP claimed "optimal" with wrong values on the unscaled MC-FLP MILP):

* :func:`incumbent_disagreement` -- the solver's objective versus the exact value of its own ``z``
  on the model it solved. A correct solution has ``y = f~(z)`` up to the feasibility tolerance,
  so the two agree up to about ``n * 1e-6``.
* :func:`bound_falsified` -- a claimed upper bound below the exact value of a *known feasible*
  decision (the greedy witness below, or the returned decision itself) is false.

Both are falsification tests: they can expose a wrong answer, never prove a right one.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit

from dro_opt.models.facility_location.instance import MCFLPInstance
from dro_opt.models.facility_location.objectives import (
    chi2_value,
    erm_value,
    evaluate,
    variance_value,
)

#: Per-customer tolerance on capture probabilities (a solver's default feasibility tolerance).
PROBABILITY_TOL = 1e-6
#: A solver solution violating the model by more than this is treated as a numerical failure.
MAX_VIOLATION = 1e-4


def agreement_tolerance(
    n: float, value: float, *, sensitivity: float = 1.0, violation: float | None = None
) -> float:
    """Absolute tolerance for comparing a solver's objective with an exact value.

    A solution violating the model's rows by ``v`` (the solver's feasibility tolerance, about
    1e-6; or the measured ``violation`` when larger) can shift each ``y_i`` and the SOC heads by
    about ``v``, so the objective moves by up to ``n * sensitivity * v`` with ``sensitivity`` =
    1 + the objective's coefficient on the SOC head (``sqrt(1 + 2 rho / n)`` for chi2,
    ``sqrt(2 rho / n)`` for VR); the factor 2 is a safety margin. ``rel * |value|`` covers
    round-off in the objective itself. Measured on SCIP 10 (random instances, N <= 60):
    ``|objective - exact| / n`` stays below the reported maximum violation.
    """
    v = max(PROBABILITY_TOL, 2.0 * (violation or 0.0))
    return n * sensitivity * v + 1e-6 * max(1.0, abs(value))


def incumbent_disagreement(
    solver_objective: float | None,
    exact_model_value: float,
    n: float,
    *,
    claims_optimal: bool,
    gap: float,
    sensitivity: float = 1.0,
    violation: float | None = None,
) -> str | None:
    """Message if the solver's incumbent value and the exact value of its ``z`` disagree.

    An incumbent *above* the exact value means the solver's point violates the model (its bound
    is then untrustworthy). An incumbent *below* is legitimate for a stopped run (``y`` may have
    slack in the ``<=`` rows) but not when the solver claims optimality within ``gap``.
    """
    if solver_objective is None or not math.isfinite(solver_objective):
        return None
    if violation is not None and violation > MAX_VIOLATION:
        return f"the solver's solution violates the model by {violation:.3g} (> {MAX_VIOLATION:g})"
    tol = agreement_tolerance(n, exact_model_value, sensitivity=sensitivity, violation=violation)
    diff = solver_objective - exact_model_value
    if diff > tol:
        return (
            f"the solver's objective {solver_objective:.10g} exceeds the exact value "
            f"{exact_model_value:.10g} of its own decision by {diff:.3g} (> {tol:.3g}): its "
            "solution violates the model numerically, so its bound is not trusted"
        )
    if claims_optimal and -diff > tol + gap * max(1.0, abs(exact_model_value)):
        return (
            f"the solver claims optimality with objective {solver_objective:.10g}, but its "
            f"decision is worth {exact_model_value:.10g} exactly"
        )
    return None


def bound_falsified(
    bound: float | None, witness_value: float, n: float, *, sensitivity: float = 1.0
) -> bool:
    """Whether a claimed upper ``bound`` is below the exact value of a feasible decision."""
    if bound is None:
        return False
    return witness_value > bound + agreement_tolerance(n, witness_value, sensitivity=sensitivity)


def greedy_decision(
    instance: MCFLPInstance, budget: int, objective: str, rho: float
) -> tuple[np.ndarray, float]:
    """Greedy witness: add the location with the best exact objective, ``budget`` times.

    Returns the best set seen over all sizes ``0..budget`` (VR is not monotone) with its exact
    value. Cost ``O(budget * N * D)`` (plus ``budget * D`` chi-square evaluations), vectorised
    over locations for ERM and VR: incremental log-scores ``logaddexp(L_i, a_ij)``.
    """
    a, q = instance.a, instance.q
    N, D = a.shape
    log_s = np.full(N, -np.inf)
    z = np.zeros(D)
    best_z, best_val = z.copy(), evaluate(a, q, z, objective, rho)
    for _ in range(budget):
        closed = np.flatnonzero(z == 0)
        if closed.size == 0:
            break
        F = expit(np.logaddexp(log_s[:, None], a[:, closed])).T  # (|closed|, N)
        vals = _values(q, F, objective, rho)
        k = int(np.argmax(vals))
        j = int(closed[k])
        z[j] = 1.0
        log_s = np.logaddexp(log_s, a[:, j])
        val = evaluate(a, q, z, objective, rho)
        if val > best_val:
            best_z, best_val = z.copy(), val
    return best_z, float(best_val)


def _values(q: np.ndarray, F: np.ndarray, objective: str, rho: float) -> np.ndarray:
    if objective == "erm" or rho == 0.0:
        return erm_value(q, F)
    if objective == "variance":
        return variance_value(q, F, rho)
    return np.array([chi2_value(q, F[k], rho) for k in range(F.shape[0])])


def open_locations(z: np.ndarray) -> list[int]:
    """Sorted 1-based indices of the open locations of a 0/1 vector."""
    return [int(j) + 1 for j in np.flatnonzero(np.round(np.asarray(z, dtype=float)) > 0.5)]
