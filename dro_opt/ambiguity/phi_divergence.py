"""Generalized phi-divergence balls around the nominal distribution (paper 002 Section 3.1).

The set is ``{ P : D_phi(P, p) <= r }`` with ``D_phi`` of paper 002 Def. 3.2 / Lemma 3.4 and the
radius ``r`` used as written (paper 002 eq. (1)). For a loss vector ``l`` the worst case

    sup { sum_i P_i l_i : P >= 0, sum_i P_i = 1, D_phi(P, p) <= r }                      (W)

is computed two independent ways:

* primal: (W) as a convex program in the likelihood ratio ``w = P / p`` (cvxpy, Clarabel), and
  the maximiser ``P(lam)`` of the Lagrangian ``P @ l - lam D_phi(P, p)`` with ``lam`` found by
  root-finding on ``D_phi(P(lam), p) = r`` (conic residuals are not small relative to tiny
  radii); each candidate is made exactly feasible (clip, renormalise, mix toward ``p``:
  ``D((1-s) P + s p) <= (1-s) D(P)`` by convexity) and the better one is returned, with
  ``value = P @ l``. TV and the degenerate cases have closed forms;
* dual: ``inf_{lam >= 0, eta} eta + lam r + lam sum_i p_i phi*((l_i - eta) / lam)`` (the
  ``lam -> 0`` closure is ``max_i l_i``), minimised by nested bounded scalar searches; any
  ``(lam, eta)`` gives an upper bound, so ``value <= sup <= dual_value``.

The bracket holds however the points were found: the primal ``P`` passes an exact feasibility
check, the dual point is feasible by construction (weak duality).

Generalized form (paper 002 Prop. 3.6): given ``sup_loss`` (the loss's supremum over the support)
and ``phi'_inf < inf``, one extra atom of nominal mass 0 carrying the loss ``sup_loss`` may receive
mass ``P_{N+1}`` at cost ``phi'_inf P_{N+1}`` (Lemma 3.4); the dual gets the constraint
``sup_loss - eta <= lam phi'_inf``. When ``phi'_inf = inf`` the extra atom gets no mass
(Prop. 3.6); ``probabilities`` still has ``N + 1`` entries, the last ``0``. Atoms of the given
samples with ``p_i = 0`` are treated the same way. If ``r >= phi(0) + phi'_inf`` the worst case is
supported on ``argmax l`` (paper 002 Remark 3.7); more generally it is whenever ``r`` is at least
the divergence of ``p`` conditioned on the argmax atoms, which is checked first.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import cvxpy as cp
import numpy as np
from scipy.optimize import brentq, minimize_scalar

from dro_opt.ambiguity.base import (
    ReweightingSet,
    WorstCase,
    check_bracket,
    check_losses,
    check_radius,
    check_weights,
)
from dro_opt.ambiguity.divergences import Divergence, divergence
from dro_opt.errors import ParameterError

#: Clarabel settings of the primal program (tight, the result is checked against the dual).
CLARABEL_SETTINGS: dict[str, float] = {
    "tol_gap_abs": 1e-10,
    "tol_gap_rel": 1e-10,
    "tol_feas": 1e-10,
    "tol_ktratio": 1e-8,
    "max_iter": 300,
}
#: Largest log(lam) searched: any lam >= 0 gives a valid dual bound, so capping the search keeps
#: every evaluation finite for subnormal radii (lam_max = spread / r overflows there).
_LOG_LAMBDA_CAP = math.log(1e300)
_LOG_LAMBDA_RANGE = 28.0  # the dual searches lam in [lam_max e^-28, lam_max] (and lam = 0)


def augment(
    losses: Any, weights: Any, sup_loss: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Checked inputs ``(l_aug, p_aug, p, extra)`` of a worst-case call.

    ``p`` are the nominal weights; ``l_aug, p_aug`` append the extra atom ``(sup_loss, 0)`` to the
    losses and ``p`` when ``sup_loss`` is given (paper 002 Prop. 3.6; ``extra`` is then True).
    ``sup_loss`` must be finite and ``>= max(losses)``, else :class:`ParameterError`.
    """
    l = check_losses(losses)
    p = check_weights(weights, l.size)
    if sup_loss is None:
        return l, p, p, False
    try:
        u = float(sup_loss)
    except (TypeError, ValueError):
        u = math.nan
    if not math.isfinite(u):
        raise ParameterError(f"sup_loss must be a finite number, got {sup_loss!r}")
    if u < l.max():
        raise ParameterError(
            f"sup_loss = {u:.12g} is below max(losses) = {l.max():.12g}; pass the supremum of "
            "the loss over the support (>= every sample loss) or omit sup_loss"
        )
    return np.append(l, u), np.append(p, 0.0), p, True


# --------------------------------------------------------------------------- primal
def _argmax_candidate(div: Divergence, la: np.ndarray, pa: np.ndarray, active: np.ndarray):
    """All mass on the argmax atoms, spread proportionally to ``p`` (the cheapest such ``P`` by
    Jensen; singular atoms only when no argmax atom has ``p_i > 0``), and its divergence."""
    top = active & (la == la[active].max())
    P = np.zeros_like(pa)
    if (top & (pa > 0)).any():
        P[top & (pa > 0)] = pa[top & (pa > 0)] / pa[top & (pa > 0)].sum()
    else:
        P[np.flatnonzero(top)[-1]] = 1.0
    return P, div.divergence_value(P, pa)


def _tv_primal(r: float, la: np.ndarray, pa: np.ndarray) -> np.ndarray:
    """TV ball ``sum_i |P_i - p_i| <= r`` (``p_i = 0`` atoms included, ``phi'_inf = 1``): move
    mass ``min(r/2, 1 - p_*)`` from the lowest losses to one argmax atom (an LP vertex)."""
    top = la == la.max()
    cand = top & (pa > 0)
    star = int(np.flatnonzero(cand)[0]) if cand.any() else int(np.flatnonzero(top)[-1])
    budget = min(0.5 * r, 1.0 - pa[star])
    others = np.delete(np.arange(la.size), star)
    order = others[np.argsort(la[others], kind="stable")]
    before = np.cumsum(pa[order]) - pa[order]
    remove = np.clip(budget - before, 0.0, pa[order])
    P = pa.copy()
    P[order] -= remove
    P[star] += remove.sum()
    return P


def _solve_primal(
    div: Divergence, r: float, la: np.ndarray, pa: np.ndarray, active: np.ndarray
) -> np.ndarray | None:
    """(W) in ``w = P / p`` on the atoms with ``p_i > 0`` plus singular masses ``y`` (cvxpy,
    Clarabel); ``None`` if the solver fails."""
    pos = pa > 0
    sing = active & ~pos
    top, bottom = la[active].max(), la[active].min()
    scale = max(top - bottom, 1e-300)
    pp = pa[pos]
    w = cp.Variable(int(pos.sum()), nonneg=True)
    objective = cp.multiply(pp, (la[pos] - top) / scale) @ w
    mass = pp @ w
    cost = pp @ div.cvx_phi(w)
    if sing.any():
        y = cp.Variable(int(sing.sum()), nonneg=True)
        objective = objective + ((la[sing] - top) / scale) @ y
        mass = mass + cp.sum(y)
        cost = cost + div.phi_inf * cp.sum(y)
    budget = cost / r <= 1 if r >= 1e-200 else cost <= r  # 1 / r overflows for tiny radii
    prob = cp.Problem(cp.Maximize(objective), [mass == 1, budget])
    with warnings.catch_warnings():  # "may be inaccurate": the result is repaired and checked
        warnings.simplefilter("ignore", UserWarning)
        try:
            prob.solve(solver=cp.CLARABEL, **CLARABEL_SETTINGS)
        except (cp.SolverError, ValueError):  # ValueError: cvxpy refused non-finite data
            return None
    if w.value is None:
        return None
    P = np.zeros_like(pa)
    P[pos] = pp * w.value
    if sing.any():
        P[sing] = y.value
    return P


def kkt_primal(div: Divergence, r: float, la: np.ndarray, pa: np.ndarray) -> np.ndarray | None:
    """The maximiser ``P(lam)`` of ``P @ l - lam D_phi(P, p)`` on the simplex, with ``lam``
    solving ``D_phi(P(lam), p) = r`` (``D`` is non-increasing in ``lam``); ``None`` on failure.

    ``P_i = p_i t_i`` with ``t_i = (phi*)'((l_i - eta) / lam)`` the maximiser of
    ``s t - phi(t)``, and ``eta`` fixing the mass; when ``eta = L_0 - lam phi'_inf`` binds, the
    singular atom with the largest loss ``L_0`` takes the rest (paper 002 Lemma 3.4, Prop. 3.6).
    Used to polish the conic solution: for small radii the conic residuals are not small
    relative to ``r``. Any ``P`` it returns is checked like the solver's (:func:`make_feasible`).
    """
    pos = pa > 0
    lp, pp = la[pos], pa[pos]
    sing = (pa == 0) & (div.phi_inf < math.inf)
    l0 = la[sing].max() if sing.any() else -math.inf
    slope = div.derivative(1.0 / pp)
    top, mean = max(lp.max(), l0), float(pp @ lp)

    def mass(eta: float, lam: float) -> float:  # clipped at 2/p: finite and still monotone
        return float(pp @ np.minimum(div.conjugate_argmax((lp - eta) / lam), 2.0 / pp))

    def p_of(lam: float) -> np.ndarray:
        c = l0 - lam * div.phi_inf if sing.any() else -math.inf
        a, hi = max(lp.min(), float(np.max(lp - lam * slope))), float(lp.max())
        P = np.zeros_like(pa)
        if c >= a and mass(c, lam) <= 1.0:
            eta = c
            P[np.flatnonzero(sing & (la == l0))[-1]] = 1.0 - mass(c, lam)
        else:
            a = max(a, c)
            eta = a
            if hi - a > 0 and mass(a, lam) > 1.0:
                z = brentq(lambda z: mass(a + z, lam) - 1.0, 0.0, hi - a, xtol=1e-15 * (hi - a))
                eta = a + z
        P[pos] = pp * np.minimum(div.conjugate_argmax((lp - eta) / lam), 1.0 / pp)
        return P

    def excess(u: float) -> float:
        return div.divergence_value(p_of(math.exp(u)), pa) - r

    try:
        u_hi = _log_lambda_max(top - mean, r)
        u_lo = u_hi - _LOG_LAMBDA_RANGE
        if excess(u_lo) <= 0:
            return p_of(math.exp(u_lo))
        if not excess(u_hi) <= 0:
            return None
        return p_of(math.exp(brentq(excess, u_lo, u_hi, xtol=1e-14)))
    except (ValueError, RuntimeError):
        return None


def make_feasible(div: Divergence, r: float, P: np.ndarray, pa: np.ndarray) -> np.ndarray:
    """Clip, renormalise and, if ``D_phi(P, p) > r``, mix toward ``p``:
    ``D((1 - s) P + s p) <= (1 - s) D(P)`` by convexity, so ``s = 1 - r / D`` suffices in exact
    arithmetic; ``s`` grows until the float check passes (``s = 1`` gives ``p``)."""
    P = np.maximum(np.nan_to_num(P, nan=0.0), 0.0)
    P = P / P.sum() if P.sum() > 0 else pa.copy()
    d = div.divergence_value(P, pa)
    if d <= r:
        return P
    s0 = 1.0 - r / d if math.isfinite(d) else 0.0
    for k in range(30):
        s = min(s0 + 1e-15 * 4.0**k, 1.0)
        Q = (1.0 - s) * P + s * pa
        if div.divergence_value(Q, pa) <= r:
            return Q
    return pa.copy()


def primal_worst_case(div: Divergence, r: float, la: np.ndarray, pa: np.ndarray) -> np.ndarray:
    """A feasible maximiser of (W) on the atoms ``la`` with nominal ``pa`` (zeros allowed)."""
    active = (pa > 0) | (div.phi_inf < math.inf)
    if r == 0.0:
        return pa.copy()
    P, cost = _argmax_candidate(div, la, pa, active)
    if cost <= r:  # covers one atom, equal losses and Remark 3.7
        return P
    if div.name == "tv":
        return make_feasible(div, r, _tv_primal(r, la, pa), pa)
    found = [_solve_primal(div, r, la, pa, active), kkt_primal(div, r, la, pa)]
    cands = [make_feasible(div, r, P, pa) for P in found if P is not None] or [pa.copy()]
    return max(cands, key=lambda P: float(P @ la))


# --------------------------------------------------------------------------- dual
def dual_worst_case(
    div: Divergence, r: float, la: np.ndarray, pa: np.ndarray
) -> tuple[float, float, float]:
    """``(value, lam, eta)`` of the dual ``inf_{lam >= 0, eta} eta + lam r
    + lam sum_{p_i > 0} p_i phi*((l_i - eta) / lam)`` s.t. ``l_j - eta <= lam phi'_inf`` for the
    singular atoms ``p_j = 0`` (paper 002 Prop. 3.6, Thm. 5.5 with ``theta_1 -> inf``).

    For fixed ``lam`` the optimal ``eta`` lies in ``[lo, hi]`` with ``lo = max(min l,
    max_i l_i - lam phi'_+(1/p_i), L_0 - lam phi'_inf)`` (``sum_i p_i (phi*)'(s_i) = 1`` forces
    ``(phi*)'(s_i) <= 1/p_i``) and ``hi = max(max l, L_0 - lam phi'_inf)``; and
    ``lam <= (max l - E_p l) / r`` since ``phi*(s) >= s``. Both searches are bounded Brent
    (``log lam`` for the outer one: ``g(e^u)`` is unimodal).
    """
    pos = pa > 0
    lp, pp = la[pos], pa[pos]
    sing = (pa == 0) & (div.phi_inf < math.inf)
    l0 = la[sing].max() if sing.any() else -math.inf
    top = max(lp.max(), l0)
    mean = float(pp @ lp)
    if r == 0.0:
        return mean, math.inf, mean
    if top - mean <= 0.0:
        return float(top), 0.0, float(top)
    slope = div.derivative(1.0 / pp)

    def h(eta: float, lam: float) -> float:
        # callers keep eta >= l0 - lam phi'_inf (the singular atoms' constraint) via the bracket
        return float(eta + lam * r + lam * (pp @ div.conjugate((lp - eta) / lam)))

    def inner(lam: float) -> tuple[float, float]:
        c = l0 - lam * div.phi_inf if sing.any() else -math.inf
        lo = max(lp.min(), float(np.max(lp - lam * slope)), c)
        hi = max(lp.max(), c)
        best = min((h(lo, lam), lo), (h(hi, lam), hi))
        if hi - lo > 1e-15 * max(1.0, abs(hi)):
            res = minimize_scalar(
                lambda x: h(lo + x * (hi - lo), lam),
                bounds=(0.0, 1.0),
                method="bounded",
                options={"xatol": 1e-12},
            )
            eta = lo + float(res.x) * (hi - lo)
            best = min(best, (h(eta, lam), eta))
        return best

    u_hi = _log_lambda_max(top - mean, r)
    res = minimize_scalar(
        lambda u: inner(math.exp(u))[0],
        bounds=(u_hi - _LOG_LAMBDA_RANGE, u_hi),
        method="bounded",
        options={"xatol": 1e-10},
    )
    lam = math.exp(float(res.x))
    value, eta = inner(lam)
    if top <= value:  # the lam -> 0 closure: eta = max l
        return float(top), 0.0, float(top)
    return value, lam, float(eta)


def _log_lambda_max(spread: float, r: float) -> float:
    """``log(spread / r)`` capped at :data:`_LOG_LAMBDA_CAP` (finite for subnormal ``r``)."""
    return min(math.log(spread) - math.log(r), _LOG_LAMBDA_CAP)


# --------------------------------------------------------------------------- the set
class PhiDivergenceSet(ReweightingSet):
    """``{ P : D_phi(P, p) <= radius }`` (paper 002 eq. (5), Def. 3.2; radius as written).

    Attributes
    ----------
    name : canonical divergence name (see :data:`dro_opt.ambiguity.divergences.DIVERGENCE_NAMES`).
    radius : the radius ``r >= 0``.
    params : the family parameters (``{"m": 3.0}``, ``{"theta": 0.5}`` or ``{}``).
    divergence : the :class:`~dro_opt.ambiguity.divergences.Divergence` catalog entry.
    """

    def __init__(self, div: Divergence, radius: float) -> None:
        self.divergence = div
        self.name = div.name
        self.params = dict(div.params)
        self.radius = check_radius(radius)

    def describe(self) -> str:
        return f"phi-divergence {self.divergence.describe()} radius={self.radius:g}"

    def worst_case_distribution(
        self, losses: Any, weights: Any = None, sup_loss: Any = None, **kwargs: Any
    ) -> WorstCase:
        """Primal and dual worst case of ``E_P[losses]`` (see the module docstring).

        Parameters
        ----------
        losses : (N,) finite losses, one per atom.
        weights : (N,) nominal probabilities ``p`` (uniform when omitted; zeros allowed).
        sup_loss : supremum of the loss over the support (``>= max(losses)``); allows the extra
            atom of paper 002 Prop. 3.6 (mass only when ``phi'_inf < inf``).

        Returns
        -------
        WorstCase with ``value = P @ l`` of a feasible ``P``, ``dual_value`` of a feasible dual
        point, ``probabilities`` (``N`` or ``N + 1`` entries, the extra atom last),
        ``extra_mass`` and ``multipliers = {"lambda": lam, "eta": eta}``.
        """
        if kwargs:
            raise ParameterError(f"unexpected argument(s) {', '.join(sorted(kwargs))}")
        la, pa, _, extra = augment(losses, weights, sup_loss)
        P = primal_worst_case(self.divergence, self.radius, la, pa)
        dual, lam, eta = dual_worst_case(self.divergence, self.radius, la, pa)
        value = float(P @ la)
        check_bracket(value, float(dual), self.describe())
        return WorstCase(
            value=value,
            dual_value=float(dual),
            probabilities=P,
            extra_mass=float(P[-1]) if extra else 0.0,
            multipliers={"lambda": lam, "eta": eta},
        )


def phi_divergence(name: str, radius: float, **params: Any) -> PhiDivergenceSet:
    """The ball ``{ P : sum_i p_i phi(P_i / p_i) <= radius }`` of the divergence ``name``.

    Names (paper 002 Table 1 plus ``chi2`` and Cressie-Read): ``kl``, ``burg``, ``j``,
    ``chi2-distance``, ``modified-chi2``, ``chi2``, ``hellinger``, ``chi-m`` (``m > 1``), ``tv``,
    ``cressie-read`` (``theta`` not in ``{0, 1}``).
    """
    div = divergence(name, **params)
    return PhiDivergenceSet(div, radius)
