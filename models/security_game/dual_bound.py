r"""Second-order certified upper bounds for the VR and chi-square security games via the ball dual.

The grid restriction of :mod:`.misocp` loses FIRST order for VR and chi-square: their objectives
``Phi`` are concave in the utility vector ``f = (f_1..f_N)``, so the best grid corner of a cell
can lie ``O(delta)`` below the best point inside it (the uniform line of :mod:`.cell_curvature`
carries ``kappa ||G||_{2,p}``, first order and scaled by ``kappa = sqrt(2 rho / n)``). This module
bounds the continuous optimum through weighted ERM problems instead, whose PWLA error the model
carries inside at second order.

Lemma (both objectives are minima of linear functionals; docs/conventions.md, 'Chi-square DRO'
and 'Variance regularisation (VR)'; ``p = q / n``, ``kappa^2 = 2 rho / n``)::

    chi2(y) = min { P'y : P in B+ },  B+ = {P >= 0, sum P = 1, sum_n (P_n - p_n)^2 / p_n <= kappa^2}
    VR(y)   = E_p y - kappa Std_p(y) = min { P'y : P in B },  B = B+ without P >= 0.

Proof. ``sum_i p_i (P_i / p_i - 1)^2 / 2 <= rho / n`` is the ``B+`` inequality, which gives the
first line (the chi-square ball of docs/conventions.md). For the second write ``P = p (1 + g)``:
``sum P = 1`` iff ``E_p g = 0``, the ball reads ``E_p g^2 <= kappa^2``, and ``P'y = E_p y + E_p[g
(y - E_p y)] >= E_p y - kappa Std_p(y)`` by Cauchy-Schwarz, with equality at ``g = -kappa (y -
E_p y) / Std_p(y)`` (any feasible ``g`` if ``Std_p(y) = 0``). QED.

Theorem (weak duality, the certificate). For every ``P`` in the ball and every feasible ``z``,
``Phi(f(z)) <= P'f(z)``, hence ``OPT_cont <= W(P) := max_z P'f(z)``. ``W(P)`` is a weighted ERM
(signed weights for VR), and its PWLA error goes inside the model exactly as for ERM
(:mod:`.cell_curvature`, Theorem 'ERM, in the model', and its Corollary): with the corner
decomposition ``z = sum_c w_c c`` of the feasible cell corners (``R K`` integral),
``f_n(z) <= sum_c w_c fup_n(c)`` and ``f_n(z) >= sum_c w_c fdown_n(c)`` with the raised / lowered
numerators ``fup_n = (N_n + sum_j Gamma_nj) / D_n``, ``fdown_n = (N_n - sum_j Gamma+_nj) / D_n``.
So, per type by the sign of ``P_n``::

    P'f(z) <= sum_c w_c sum_n P_n fmod_n(c) <= max over feasible grid points c of P'fmod(c),
    fmod_n = fup_n if P_n >= 0 else fdown_n,

the grid MISOCP of :func:`.misocp.build_ssg_misocp` with ``dual_weights = P`` (linear-fractional
in the binaries; McCormick exact). Its proven bound is an upper bound on ``OPT_cont`` with no
additive PWLA line; the error is ``O(delta^2)`` and the duality gap ``min_P W(P) - OPT_cont``
(zero when the continuous problem has a saddle point; it is what the measurements show).

Choosing ``P`` (any ball point is valid; this only decides how good the bound is). The master
``min_{P in ball} max_i P'f(z_i)`` over the coverages ``z_i`` seen so far (the incumbent first:
its value is ``Phi(f(z_0))``, attained by the incumbent's worst case ``P``) is a small SOCP; each
round solves the ``P`` model and adds its decision (Kelley's cutting planes on the convex
function ``W``). The solver's ``P`` is repaired into the ball before use (clip / renormalise /
shrink towards ``p``), so a slightly infeasible solver answer never voids the bound. Every
bound is checked against the exact ``P``-value of the model's own decision
(``P'fmod(c) >= P'f(c)`` for every ``c``); a bound below it is discarded.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dro_opt.errors import ParameterError
from dro_opt.models.security_game.instance import SSGInstance
from dro_opt.models.security_game.misocp import SSGMisocp, build_ssg_misocp
from dro_opt.models.security_game.objective import defender_values, evaluate
from dro_opt.solvers.result import Result

ROUNDS = 4  # P models at most (Kelley rounds)
SHRINK = 1.0 - 1e-9  # the repaired P lies strictly inside the ball


@dataclass
class DualCertificate:
    """``upper``: the smallest proven ``W(P)`` bound (mean units, original payoffs; None if no
    solve proved one), ``weights`` the ``P`` that proved it, ``decision`` / ``value`` the best
    exact ``Phi`` decision seen (may be None), one entry per solve, (build, solve) seconds."""

    upper: float | None
    weights: np.ndarray | None
    decision: np.ndarray | None
    value: float
    solves: list[dict[str, Any]] = field(default_factory=list)
    seconds: tuple[float, float] = (0.0, 0.0)


def ball_weights(values: Any, weights: Any, rho: float, signed: bool) -> np.ndarray:
    """``argmin_{P in ball} max_i P'F_i`` (module docstring) for ``values`` ``F`` (points, N),
    repaired into the ball: ``B`` if ``signed`` (VR) else ``B+`` (chi-square)."""
    import cvxpy as cp

    F = np.atleast_2d(np.asarray(values, dtype=float))
    q = np.asarray(weights, dtype=float)
    n = float(q.sum())
    p = q / n
    kappa = math.sqrt(2.0 * rho / n)
    P = cp.Variable(p.size)
    t = cp.Variable()
    scale = max(1.0, float(np.abs(F).max()))
    cons = [
        cp.sum(P) == 1,
        cp.sum(cp.multiply(cp.square(P - p), 1.0 / p)) <= kappa**2,
        (F / scale) @ P <= t,
    ]
    if not signed:
        cons.append(P >= 0)
    try:
        with warnings.catch_warnings():  # "may be inaccurate": the repair below handles it
            warnings.simplefilter("ignore")
            cp.Problem(cp.Minimize(t), cons).solve(solver="CLARABEL")
        raw = np.asarray(P.value, dtype=float) if P.value is not None else p.copy()
    except cp.error.SolverError:
        raw = p.copy()  # the bound stays valid with P = p (the ERM weights)
    if not np.isfinite(raw).all():
        raw = p.copy()
    return repair(raw, p, kappa, signed)


def repair(P: np.ndarray, p: np.ndarray, kappa: float, signed: bool) -> np.ndarray:
    """``P`` moved into the ball: clipped at 0 (``B+``), renormalised to sum 1, shrunk towards
    ``p`` until ``sum (P - p)^2 / p <= (SHRINK kappa)^2`` (a convex combination with ``p`` keeps
    the sign and the sum)."""
    P = np.asarray(P, dtype=float).copy()
    if not signed:
        P = np.maximum(P, 0.0)
        P = P / P.sum() if P.sum() > 0 else p.copy()
    else:
        P = P + (1.0 - P.sum()) * p
    dist = math.sqrt(float(((P - p) ** 2 / p).sum()))
    if dist > SHRINK * kappa:
        P = p + (P - p) * (SHRINK * kappa / dist)
    P = P + (1.0 - P.sum()) * p  # round-off of the sum
    return P


def dual_certificate(
    instance: SSGInstance,
    objective: str,
    rho: float,
    pieces: int,
    points: list[np.ndarray],
    run: Callable[[SSGMisocp], Result],
    *,
    rounds: int = ROUNDS,
    lower: float = -math.inf,
    gap: float = 0.0,
    stop: Callable[[], bool] | None = None,
    refine: Callable[[np.ndarray, np.ndarray], Any] | None = None,
) -> DualCertificate:
    """The Theorem of the module docstring on ``instance`` (VR or chi-square): up to ``rounds``
    ``P`` models from the master over ``points`` (coverages, the incumbent first), stopping once
    ``upper - max(lower, found) <= gap * max(1, |.|)`` or ``stop()``. ``refine(P, center)``
    (optional) returns a :class:`.refine.Refinement` with the ``P``-weighted local refinement;
    it is tried with the best ``P`` at the end when the gap is still open."""
    if objective not in ("variance", "chi2") or not (math.isfinite(rho) and rho > 0):
        raise ParameterError("the dual bound is for objective 'variance' or 'chi2' with rho > 0")
    if not points:
        raise ParameterError("the dual bound needs at least one coverage to start from")
    signed = objective == "variance"
    F = [defender_values(instance, z) for z in points]
    out = DualCertificate(None, None, None, -math.inf)
    build = solve = 0.0
    best_z: np.ndarray | None = None

    def closed() -> bool:
        if out.upper is None:
            return False
        lo = max(lower, out.value)
        return out.upper - lo <= gap * max(1.0, abs(lo))

    previous: np.ndarray | None = None
    last: float | None = None
    for _ in range(max(1, rounds)):
        if stop is not None and stop() and out.upper is not None:
            break
        P = ball_weights(np.array(F), instance.weights, rho, signed)
        if previous is not None and np.abs(P - previous).max() <= 1e-5:
            break  # the new cut did not move the master: the next model would be the same
        previous = P
        model = build_ssg_misocp(instance, "erm", 0.0, pieces, "curvature", dual_weights=P)
        res = run(model)
        build, solve = build + res.build_seconds, solve + res.solve_seconds
        bound, z = _checked(instance, model, res, P)
        out.solves.append({"part": "dual", "pieces": pieces, "status": res.status.value,
                           "bound": bound})  # fmt: skip
        if z is not None:
            value = evaluate(instance, z, objective, rho)
            if value > out.value:
                out.decision, out.value = z, value
            F.append(defender_values(instance, z))
        if bound is not None and (out.upper is None or bound < out.upper):
            out.upper, out.weights, best_z = bound, P, z if z is not None else points[0]
        if closed() or z is None:
            break
        if bound is not None and last is not None and bound > last - 1e-3 * abs(last - lower):
            break  # Kelley stalls: the ball weights are (near) optimal for these cuts
        last = bound if bound is not None else last
    if refine is not None and out.weights is not None and not closed():
        if stop is None or not stop():
            ref = refine(out.weights, best_z if best_z is not None else points[0])
            if ref is not None:
                build, solve = build + ref.seconds[0], solve + ref.seconds[1]
                out.solves.extend(ref.solves)
                if ref.decision is not None:
                    value = evaluate(instance, ref.decision, objective, rho)
                    if value > out.value:
                        out.decision, out.value = ref.decision, value
                if ref.upper is not None and ref.upper < out.upper:  # type: ignore[operator]
                    out.upper = ref.upper
    out.seconds = (build, solve)
    return out


def _checked(
    instance: SSGInstance, model: SSGMisocp, res: Result, P: np.ndarray
) -> tuple[float | None, np.ndarray | None]:
    """(proven bound of ``W(P)`` in original units or None, the feasible grid decision or None)."""
    bound = None
    if res.bound is not None and math.isfinite(res.bound):
        bound = float(res.bound) - model.shift
    z = None
    if res.status.has_solution and "v" in res.solution:
        z = np.clip(model.decision(res.solution), 0.0, 1.0)
        if z.sum() > instance.budget + 1e-9:
            z = None
    if z is not None and bound is not None:
        value = float(P @ defender_values(instance, z))  # <= P'fmod(z) <= the true bound
        if bound < value - 1e-7 * max(1.0, abs(value)):
            bound = None
    return bound, z
