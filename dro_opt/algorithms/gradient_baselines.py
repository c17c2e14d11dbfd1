"""Gradient baselines of paper 003 Sec. 5 and App. J: PGA on (VR) and TT-GAD on (DRO).

Both maximise over a continuous decision ``z`` in ``Z = {L <= z <= U, sum_j z_j <= B}`` a
robust objective of per-sample rewards ``f_i(z)`` (``i = 1..N``, sample weights ``q``,
``n = sum q``, ``p = q / n``; mean units, docs/conventions.md 'Chi-square DRO'):

* ``erm``:      ``E_p f``
* ``variance``: ``E_p f - sqrt(2 rho Var_p f / n)``                (paper 003 eq. (VR))
* ``chi2``:     ``min { E_P f : sum_i p_i phi(P_i / p_i) <= rho / n }``, ``phi(t) = (t - 1)^2 / 2``
  (paper 003 eq. (DRO) with the Duchi & Namkoong 2019 radius convention).

They give **no bound**: each returns the decision of the best of ``restarts`` random starts and
its objective re-evaluated exactly on the full data (never a value of an approximation). The
paper states neither step sizes nor stopping rules (they were lost with its formulas), so the
choices below are ours; they are scale-free (in units of the box and of the ball).

Projected gradient ascent (PGA)
-------------------------------
Ascent direction ``d = g / ||g||_2`` with ``g`` the (super)gradient of the objective:
``J'p`` (erm), ``J'p - kappa J'(p * (f - E_p f)) / Std_p f`` (variance, ``kappa =
sqrt(2 rho / n)``; ``0`` for the last term where ``Std = 0``) and ``J'P*`` with ``P*`` the
worst-case distribution (chi2, Danskin). Normalising the gradient is the "gradient clipping
(clipped away from zero)" of App. J: where choice probabilities are near zero the gradient
vanishes, but the trial step length ``s`` stays in ``z`` units. Trial point
``z+ = Proj_Z(z + s d)``, accepted under the Armijo rule on the projection arc (Bertsekas 1976)
``F(z+) >= F(z) + 1e-4 g'(z+ - z)``, then ``s <- min(2 s, diam)``; otherwise ``s <- s / 2``.
Start ``s = 0.1 diam``, ``diam = max_j (U_j - L_j)``. A restart stops when the projected step
is shorter than ``xtol * diam`` (projected stationarity up to ``xtol``), when ``g = 0``, or
after ``max_iter`` evaluations.

Two-time-scale gradient descent-ascent (TT-GAD; Lin, Jin & Jordan 2020)
-----------------------------------------------------------------------
On ``max_z min_P sum_i P_i f_i(z)`` over the ball ``{P >= 0, sum P = 1, sum_i (P_i - p_i)^2 /
(2 p_i) <= rho / n}``: simultaneous updates

    z_{k+1} = Proj_Z(z_k + s_k J(z_k)'P_k / ||J(z_k)'P_k||),   s_k = z_step diam / sqrt(1 + k / 10)
    P_{k+1} = Proj_ball(P_k - eta_P f(z_k)),   eta_P = p_step R / ||f(z_0) - E_p f(z_0)||_2

with ``R = sqrt(2 (rho / n) max_i p_i)`` (every ``P`` of the ball is within ``R`` of ``p``): the
adversary moves up to ``p_step = 1`` ball radius per step (fast scale; its problem is linear,
so a constant step converges to its best response), the decision a decaying fraction
``z_step = 0.05`` of the box (slow scale, normalised = clipped as in PGA). ``P_0 = p``. The exact
objective is evaluated at every iterate and the best iterate is kept; a restart stops after
``max_iter`` iterations or when neither ``z`` nor ``P`` moves by more than ``xtol``.

Projections (vectorised, no loop over coordinates or samples)
-------------------------------------------------------------
* ``Proj_Z(x) = clip(x - lam, L, U)`` with ``lam = 0`` if that meets the budget, else the root of
  ``sum clip(x - lam, L, U) = B`` found by 200 bisection steps; the feasible end is returned.
* ``Proj_ball(x)``: KKT of ``min ||P - x||^2`` give ``P_i = p_i (x_i + mu - tau)_+ / (p_i + mu)``;
  for fixed ``mu`` the ``tau`` with ``sum P = 1`` is exact (sorted prefix sums, the order of ``x``
  does not depend on ``mu``); ``mu >= 0`` is the root of the (monotone) ball constraint by
  Brent's method, moved to its feasible side.

References
----------
* T. Lin, C. Jin, M. I. Jordan (2020). On gradient descent ascent for nonconvex-concave minimax
  problems. ICML (two-time-scale GDA).
* D. P. Bertsekas (1976). On the Goldstein-Levitin-Polyak gradient projection method. IEEE TAC
  21(2), 174-184 (Armijo rule along the projection arc).
* Paper 003, Sec. 5 ("Baselines"), App. J (vanishing gradients, clipping), Table 2 and Table 4.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq

from dro_opt.algorithms.capture_objectives import chi2_worst_case, objective_from_probabilities
from dro_opt.errors import ParameterError

ValuesAndJacobian = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
OBJECTIVES = ("erm", "variance", "chi2")
ARMIJO = 1e-4
BISECTION_STEPS = 200


@dataclass(frozen=True)
class BaselineResult:
    """Best decision of a gradient baseline (no bound: these methods prove nothing).

    Attributes
    ----------
    z : (M,) the best decision found (feasible: in the box, within the budget).
    objective : EXACT objective of ``z`` on the full data, mean units (module docstring).
    objective_name : ``erm``, ``variance`` or ``chi2``.
    method : ``pga`` or ``tt-gad``.
    iterations : accepted ascent steps (PGA) / GDA iterations (TT-GAD), summed over restarts.
    evaluations : calls of ``values_and_jacobian``, summed over restarts.
    seconds : wall time.
    restarts : restarts actually run (fewer than asked only when ``time_limit`` stopped them).
    restart_objectives : (restarts,) exact objective of each restart's best point.
    time_limited : True when ``time_limit`` cut the run short.
    """

    z: np.ndarray
    objective: float
    objective_name: str
    method: str
    iterations: int
    evaluations: int
    seconds: float
    restarts: int
    restart_objectives: np.ndarray
    time_limited: bool = False


# ---------------------------------------------------------------------------- projections
def project_box_budget(x: Any, lower: Any, upper: Any, budget: float) -> np.ndarray:
    """Euclidean projection of ``x`` onto ``{lower <= z <= upper, sum z <= budget}``."""
    x, lo, hi = (np.asarray(a, dtype=float) for a in (x, lower, upper))
    z = np.clip(x, lo, hi)
    if z.sum() <= budget:
        return z
    a, b = 0.0, float(np.max(x - lo))  # sum clip(x - b, lo, hi) = sum lo <= budget
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (a + b)
        if np.clip(x - mid, lo, hi).sum() > budget:
            a = mid
        else:
            b = mid
        if b - a <= 1e-15 * max(1.0, abs(b)):
            break
    return np.clip(x - b, lo, hi)


def project_chi2_ball(x: Any, p: Any, radius: float) -> np.ndarray:
    """Euclidean projection of ``x`` onto ``{P >= 0, sum P = 1, sum_i (P_i - p_i)^2/(2 p_i) <=
    radius}`` (atoms with ``p_i = 0`` get ``P_i = 0``: the ball forces it)."""
    x, p = np.asarray(x, dtype=float), np.asarray(p, dtype=float)
    out = np.zeros_like(p)
    if radius <= 0:
        return p.copy()
    sup = p > 0
    xs, ps = x[sup], p[sup]
    order = np.argsort(-xs, kind="stable")
    xo, po = xs[order], ps[order]
    two_r = 2.0 * radius

    def at(mu: float) -> np.ndarray:
        a = po / (po + mu)
        c = xo + mu
        A, AC = np.cumsum(a), np.cumsum(a * c)
        H = AC - A * c  # sum_{i<=k} a_i (c_i - c_k): mass when tau = c_k, non-decreasing in k
        k = max(1, int(np.searchsorted(H, 1.0, side="left")))
        tau = (AC[k - 1] - 1.0) / A[k - 1]
        return a * np.maximum(c - tau, 0.0)

    def excess(P: np.ndarray) -> float:
        return float(((P - po) ** 2 / po).sum()) - two_r

    P = at(0.0)
    if excess(P) > 0:
        hi = float(po.max())
        while excess(at(hi)) > 0:
            hi *= 2.0
        mu = brentq(lambda m: excess(at(m)), 0.0, hi, xtol=1e-15 * hi, rtol=1e-14)
        nudge = 1e-15 * hi
        while excess(at(mu)) > 0:  # the feasible side of the root (excess(hi) <= 0)
            mu, nudge = min(hi, mu + nudge), 2.0 * nudge
        P = at(mu)
    res = np.empty_like(P)
    res[order] = P
    out[sup] = res
    return out


# ------------------------------------------------------------------------------ objectives
def exact_objective(f: np.ndarray, weights: np.ndarray, objective: str, rho: float) -> float:
    """``erm`` / ``variance`` / ``chi2`` value of the rewards ``f`` in mean units (exact)."""
    q = np.asarray(weights, dtype=float)
    return objective_from_probabilities(q, f, objective, rho) / float(q.sum())


def _supergradient(
    f: np.ndarray, J: np.ndarray, p: np.ndarray, n: float, objective: str, rho: float
) -> np.ndarray:
    if objective == "erm" or rho == 0.0:
        return J.T @ p
    if objective == "variance":
        mean = float(p @ f)
        dev = f - mean
        std = math.sqrt(max(float(p @ (dev * dev)), 0.0))
        g = J.T @ p
        if std > 0:
            g = g - math.sqrt(2.0 * rho / n) * (J.T @ (p * dev)) / std
        return g
    _, P = chi2_worst_case(p, f, rho / n)
    return J.T @ P


# ------------------------------------------------------------------------------ checking
@dataclass
class _Problem:
    vj: ValuesAndJacobian
    q: np.ndarray
    p: np.ndarray
    n: float
    lower: np.ndarray
    upper: np.ndarray
    budget: float
    rho: float
    evaluations: int = 0

    def __call__(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f, J = self.vj(z)
        f, J = np.asarray(f, dtype=float), np.asarray(J, dtype=float)
        N, M = self.q.size, self.lower.size
        if f.shape != (N,) or J.shape != (N, M):
            raise ParameterError(
                f"values_and_jacobian must return f of shape ({N},) and J of shape ({N}, {M}), "
                f"got {f.shape} and {J.shape}"
            )
        if not (np.isfinite(f).all() and np.isfinite(J).all()):
            raise ParameterError("values_and_jacobian returned NaN or inf; check the model data")
        self.evaluations += 1
        return f, J


def _problem(
    vj: ValuesAndJacobian,
    weights: Any,
    lower: Any,
    upper: Any,
    budget: float,
    rho: float,
    objective: str,
    restarts: int,
    max_iter: int,
    time_limit: float | None,
) -> _Problem:
    if objective not in OBJECTIVES:
        raise ParameterError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    q = np.asarray(weights, dtype=float).ravel()
    if q.size == 0 or not np.isfinite(q).all() or (q < 0).any() or q.sum() <= 0:
        raise ParameterError("weights must be finite, >= 0 and not all zero")
    lo, hi = np.broadcast_arrays(np.asarray(lower, dtype=float), np.asarray(upper, dtype=float))
    if lo.ndim != 1:
        raise ParameterError("lower and upper must be (M,) arrays (one entry per decision)")
    lo, hi = lo.astype(float).copy(), hi.astype(float).copy()
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()) or (lo > hi).any():
        raise ParameterError("bounds must be finite with lower <= upper")
    if not math.isfinite(budget) or budget < lo.sum():
        raise ParameterError(
            f"budget {budget} is below sum(lower) = {lo.sum():g}: no feasible decision; raise it"
        )
    if not (math.isfinite(rho) and rho >= 0):
        raise ParameterError(f"rho must be a finite number >= 0, got {rho}")
    if int(restarts) != restarts or restarts < 1:
        raise ParameterError(f"restarts must be an integer >= 1, got {restarts}")
    if int(max_iter) != max_iter or max_iter < 1:
        raise ParameterError(f"max_iter must be an integer >= 1, got {max_iter}")
    if time_limit is not None and not (time_limit > 0):
        raise ParameterError(f"time_limit must be > 0 seconds, got {time_limit}")
    n = float(q.sum())
    return _Problem(vj, q, q / n, n, lo, hi, float(budget), float(rho))


def _starts(prob: _Problem, restarts: int, seed: int) -> np.ndarray:
    u = np.random.default_rng(seed).uniform(size=(restarts, prob.lower.size))
    raw = prob.lower + u * (prob.upper - prob.lower)
    return np.array([project_box_budget(x, prob.lower, prob.upper, prob.budget) for x in raw])


def _finish(
    method: str,
    objective: str,
    best: list[tuple[float, np.ndarray]],
    prob: _Problem,
    iterations: int,
    t0: float,
    time_limited: bool,
) -> BaselineResult:
    k = int(np.argmax([b[0] for b in best]))
    z = best[k][1]
    value = exact_objective(prob(z)[0], prob.q, objective, prob.rho)  # re-evaluated, full data
    return BaselineResult(
        z=z,
        objective=value,
        objective_name=objective,
        method=method,
        iterations=iterations,
        evaluations=prob.evaluations,
        seconds=time.perf_counter() - t0,
        restarts=len(best),
        restart_objectives=np.array([b[0] for b in best]),
        time_limited=time_limited,
    )


# ---------------------------------------------------------------------------------- PGA
def projected_gradient_ascent(
    values_and_jacobian: ValuesAndJacobian,
    weights: Any,
    lower: Any,
    upper: Any,
    budget: float,
    *,
    objective: str,
    rho: float,
    restarts: int = 10,
    seed: int = 0,
    max_iter: int = 500,
    time_limit: float | None = None,
    xtol: float = 1e-7,
) -> BaselineResult:
    """PGA on ``objective`` (``erm``, ``variance`` = paper 003 (VR), or ``chi2``), best of
    ``restarts`` random starts (module docstring for steps and stopping).

    ``values_and_jacobian(z) -> (f, J)``: rewards ``f`` (N,) and their Jacobian ``J`` (N, M).
    """
    prob = _problem(
        values_and_jacobian, weights, lower, upper, budget, rho, objective, restarts,
        max_iter, time_limit,
    )  # fmt: skip
    t0 = time.perf_counter()
    deadline = math.inf if time_limit is None else t0 + time_limit
    diam = float(np.max(prob.upper - prob.lower))
    best: list[tuple[float, np.ndarray]] = []
    iterations, limited = 0, False

    for z in _starts(prob, restarts, seed):
        if best and time.perf_counter() > deadline:
            limited = True
            break
        f, J = prob(z)
        F = exact_objective(f, prob.q, objective, prob.rho)
        step, evals = 0.1 * diam, 1
        while evals < max_iter and diam > 0:
            g = _supergradient(f, J, prob.p, prob.n, objective, prob.rho)
            gnorm = float(np.linalg.norm(g))
            if gnorm == 0.0 or not math.isfinite(gnorm):
                break
            z_try = project_box_budget(z + step * (g / gnorm), prob.lower, prob.upper, prob.budget)
            move = z_try - z
            if float(np.max(np.abs(move))) <= xtol * diam:
                break
            f_try, J_try = prob(z_try)
            evals += 1
            F_try = exact_objective(f_try, prob.q, objective, prob.rho)
            if F_try >= F + ARMIJO * float(g @ move):
                z, f, J, F = z_try, f_try, J_try, F_try
                step = min(2.0 * step, diam)
                iterations += 1
            else:
                step *= 0.5
            if time.perf_counter() > deadline:
                limited = True
                break
        best.append((F, z))
        if limited:
            break
    return _finish("pga", objective, best, prob, iterations, t0, limited)


# ------------------------------------------------------------------------------- TT-GAD
def two_time_scale_gda(
    values_and_jacobian: ValuesAndJacobian,
    weights: Any,
    lower: Any,
    upper: Any,
    budget: float,
    *,
    rho: float,
    restarts: int = 10,
    seed: int = 0,
    max_iter: int = 1000,
    time_limit: float | None = None,
    objective: str = "chi2",
    z_step: float = 0.05,
    p_step: float = 1.0,
    xtol: float = 1e-9,
) -> BaselineResult:
    """TT-GAD (Lin, Jin & Jordan 2020) on the chi-square DRO min-max, best of ``restarts``
    random starts (module docstring). ``objective`` is the exact objective used to pick the best
    iterate and reported (default ``chi2``, the DRO problem the method solves; ``variance``
    scores the same iterates on (VR))."""
    prob = _problem(
        values_and_jacobian, weights, lower, upper, budget, rho, objective, restarts,
        max_iter, time_limit,
    )  # fmt: skip
    if not (z_step > 0 and p_step > 0):
        raise ParameterError("z_step and p_step must be > 0")
    t0 = time.perf_counter()
    deadline = math.inf if time_limit is None else t0 + time_limit
    diam = float(np.max(prob.upper - prob.lower))
    radius = prob.rho / prob.n
    R = math.sqrt(2.0 * radius * float(prob.p.max()))
    best: list[tuple[float, np.ndarray]] = []
    iterations, limited = 0, False

    for z in _starts(prob, restarts, seed):
        if best and time.perf_counter() > deadline:
            limited = True
            break
        P = prob.p.copy()
        f, J = prob(z)
        dev = f - float(prob.p @ f)
        eta_p = p_step * R / max(float(np.linalg.norm(dev)), 1e-12 * max(1.0, float(abs(f).max())))
        top = (exact_objective(f, prob.q, objective, prob.rho), z)
        for k in range(max_iter):
            gz = J.T @ P
            gnorm = float(np.linalg.norm(gz))
            s = z_step * diam / math.sqrt(1.0 + k / 10.0)
            z_new = z if gnorm == 0 else z + s * gz / gnorm
            z_new = project_box_budget(z_new, prob.lower, prob.upper, prob.budget)
            P_new = project_chi2_ball(P - eta_p * f, prob.p, radius) if radius > 0 else P
            iterations += 1
            still = np.max(np.abs(z_new - z), initial=0.0) <= xtol * max(diam, 1e-300)
            if still and np.max(np.abs(P_new - P)) <= xtol:
                break
            z, P = z_new, P_new
            f, J = prob(z)
            F = exact_objective(f, prob.q, objective, prob.rho)
            if F > top[0]:
                top = (F, z)
            if time.perf_counter() > deadline:
                limited = True
                break
        best.append(top)
        if limited:
            break
    return _finish("tt-gad", objective, best, prob, iterations, t0, limited)


__all__ = [
    "OBJECTIVES",
    "BaselineResult",
    "exact_objective",
    "project_box_budget",
    "project_chi2_ball",
    "projected_gradient_ascent",
    "two_time_scale_gda",
]
