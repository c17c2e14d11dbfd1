r"""Second-order bounds of the quantal-response utilities on a box of coverages.

Used by the spatial branch-and-bound of :mod:`.spatial` (no PWLA: the bounds hold on the
continuous problem). Notation as in :mod:`.objective` and :mod:`.cell_curvature` (paper 003
Sec. 3.2): for one attacker type, ``h_j(z_j) = exp(lam Ua_j(z_j))``, ``u_j(z_j) = Ud_j(z_j)``,
``q_j = h_j / sum_k h_k``, ``f = sum_j q_j u_j``, ``a_j = DR_j - DP_j``, ``b_j = lam (AP_j -
AR_j)``, ``e_j = u_j - f``, ``s_j = a_j + b_j e_j``.

Box ``Q = [lo, hi]`` (a sub-box of ``[0, 1]^M``), centre ``c``, half-widths ``w / 2``.

1. **Range.** ``h_j`` and ``u_j`` are monotone in ``z_j`` (exponential and affine), so on ``Q``
   ``h_j in [hmin_j, hmax_j]`` and ``u_j in [umin_j, umax_j]`` (end values). Then ``f >=
   min_{h in [hmin, hmax]} sum_j h_j umin_j / sum_j h_j``; a linear-fractional function over a
   box is minimised at a vertex where ``h_j = hmax_j`` exactly for the ``umin_j`` below the
   optimal ratio, i.e. at one of the ``M + 1`` prefixes of ``umin`` sorted ascending: the minimum
   over these prefixes is the exact minimum (every prefix is attained). Likewise ``fmax`` with
   ``umax`` sorted descending.
2. **Curvature.** For every direction ``d`` and every ``tau > 0`` (:mod:`.cell_curvature`,
   Lemma; Cauchy-Schwarz under ``sum q = 1`` and ``2|XY| <= tau X^2 + Y^2 / tau``)::

       +- d' Hess f d <= sum_j q_j phi+-_j d_j^2,
       phi+-_j = +-(b_j^2 e_j + 2 a_j b_j) + tau b_j^2 + s_j^2 / tau

   (the Hessian ``d' Hess f d = sum_j q_j (b_j^2 e_j + 2 a_j b_j) d_j^2 - 2 (sum_j q_j b_j d_j)
   (sum_k q_k s_k d_k)``). On ``Q``: ``e_j in [umin_j - fmax, umax_j - fmin]`` and ``phi+-_j`` is
   convex in ``e_j``, so its maximum is at an end point; ``0 <= q_j <= qmax_j = hmax_j / (hmax_j +
   sum_{k != j} hmin_k)``, so ``sum_j q_j phi_j d_j^2 <= sum_j qmax_j max(0, phi_j) d_j^2``.
3. **Taylor at the centre.** For ``z`` in ``Q`` the segment from ``c`` stays in ``Q`` and
   ``|z_j - c_j| <= w_j / 2``, so with the integral remainder::

       -err_down <= f(z) - f(c) - grad f(c)'(z - c) <= err_up,
       err_up/down = (1/8) sum_j qmax_j max(0, max phi+-_j) w_j^2

   second order in the box width (``tau`` is chosen per type from a short list; any value is
   valid).

Bounds on the node (rigorous for ANY ``P`` of the ball ``B`` / ``B+`` of :mod:`.dual_bound`:
``Phi(f(z)) <= P'f(z)`` for every ``z``; ``Phi`` the VR or chi-square objective, ``P = p`` for
ERM). With ``g = f(c) - J c`` and ``Z = {z in Q : sum z <= R}``::

    linear: max_{z in Z} P'f(z) <= P'g + P+'err_up + P-'err_down + max_{z in Z} (J'P)'z
    range:  max_{z in Z} P'f(z) <= sum_n max(P_n fmin_n, P_n fmax_n)

(``P+ / P-`` the positive / negative parts; the last term is a continuous knapsack).
Floating point: the errors and the ranges are widened by a relative ``1e-12`` and every bound
is raised by :data:`ROUND` times the sum of the absolute values of its terms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dro_opt.models.security_game.instance import SSGInstance
from dro_opt.models.security_game.objective import values_and_jacobian

ROUND = 1e-12  # relative allowance for the floating-point evaluation of a bound
TAU_FACTORS = np.array([0.25, 0.5, 1.0, 2.0, 4.0])


@dataclass
class BoxModel:
    """Linearisation ``L(z) = f(c) + J (z - c)`` of every ``f_n`` on one box with one-sided
    Taylor errors (module docstring); ``share_*[n, j]`` is target ``j``'s part of ``err_*[n]``
    (used to choose the branching target)."""

    lo: np.ndarray
    hi: np.ndarray
    center: np.ndarray
    values: np.ndarray  # f(c), (N,)
    jacobian: np.ndarray  # J(c), (N, M)
    err_up: np.ndarray  # f <= L + err_up on the box, (N,)
    err_down: np.ndarray  # f >= L - err_down, (N,)
    share_up: np.ndarray  # target shares of err_up, (N, M)
    share_down: np.ndarray
    fmin: np.ndarray  # (N,)
    fmax: np.ndarray  # (N,)


def box_model(instance: SSGInstance, lo: np.ndarray, hi: np.ndarray) -> BoxModel:
    """Centre values, Jacobian, Taylor error and utility range of every type on ``[lo, hi]``."""
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    c = 0.5 * (lo + hi)
    f0, J = values_and_jacobian(instance, c)
    a = instance.defender_reward - instance.defender_penalty
    b = instance.lam * (instance.attacker_penalty - instance.attacker_reward)
    u_lo = instance.defender_penalty + lo * a
    u_hi = instance.defender_penalty + hi * a
    umin, umax = np.minimum(u_lo, u_hi), np.maximum(u_lo, u_hi)
    g_lo = instance.lam * (
        instance.attacker_reward + lo * (instance.attacker_penalty - instance.attacker_reward)
    )
    g_hi = instance.lam * (
        instance.attacker_reward + hi * (instance.attacker_penalty - instance.attacker_reward)
    )
    shift = np.maximum(g_lo, g_hi).max(axis=1, keepdims=True)
    hmin = np.exp(np.minimum(g_lo, g_hi) - shift)
    hmax = np.exp(np.maximum(g_lo, g_hi) - shift)
    fmin = _extreme_ratio(umin, hmin, hmax, lowest=True)
    fmax = _extreme_ratio(umax, hmin, hmax, lowest=False)
    scale = np.maximum(np.abs(umin).max(axis=1), np.abs(umax).max(axis=1))
    fmin = fmin - 1e-12 * scale
    fmax = fmax + 1e-12 * scale

    qmax = hmax / (hmax + hmin.sum(axis=1, keepdims=True) - hmin)
    e_ends = np.stack([umin - fmax[:, None], umax - fmin[:, None]])  # (2, N, M)
    diag = b * b * e_ends + 2.0 * a * b  # (2, N, M)
    sq = (a + b * e_ends) ** 2
    w2 = (hi - lo) ** 2
    up = _taylor_shares(diag, sq, b, qmax, w2)
    down = _taylor_shares(-diag, sq, b, qmax, w2)
    return BoxModel(
        lo=lo, hi=hi, center=c, values=f0, jacobian=J, err_up=up.sum(axis=1),
        err_down=down.sum(axis=1), share_up=up, share_down=down, fmin=fmin, fmax=fmax,
    )  # fmt: skip


def _taylor_shares(
    diag: np.ndarray, sq: np.ndarray, b: np.ndarray, qmax: np.ndarray, w2: np.ndarray
) -> np.ndarray:
    """``(1/8) qmax_j max(0, max_e phi_j) w_j^2`` (N, M) with ``phi_j = diag_j + tau b_j^2 +
    s_j^2 / tau`` at the two end values of ``e_j`` (convex in ``e_j``), ``tau`` per type the
    best of a short list around the minimiser of the sum (module docstring, item 2)."""
    num = (qmax * w2 * sq.max(axis=0)).sum(axis=1)
    den = (qmax * w2 * b * b).sum(axis=1)
    tau0 = np.sqrt(np.maximum(num, 1e-300) / np.maximum(den, 1e-300))
    t = (tau0[None, :] * TAU_FACTORS[:, None])[:, None, :, None]  # (T, 1, N, 1)
    phi = (diag[None] + t * (b * b)[None, None] + sq[None] / t).max(axis=1)  # (T, N, M)
    shares = 0.125 * qmax[None] * np.maximum(phi, 0.0) * w2  # (T, N, M)
    best = shares.sum(axis=2).argmin(axis=0)  # (N,)
    return shares[best, np.arange(best.size)] * (1.0 + 1e-12)


def _extreme_ratio(u: np.ndarray, hmin: np.ndarray, hmax: np.ndarray, lowest: bool) -> np.ndarray:
    """Row-wise ``min`` (``lowest``) or ``max`` of ``sum h u / sum h`` over ``hmin <= h <= hmax``:
    the best of the ``M + 1`` prefixes of ``u`` sorted towards the optimum (module docstring)."""
    order = np.argsort(u if lowest else -u, axis=1, kind="stable")
    us = np.take_along_axis(u, order, axis=1)
    hx = np.take_along_axis(hmax, order, axis=1)
    hn = np.take_along_axis(hmin, order, axis=1)
    zero = np.zeros((u.shape[0], 1))
    num_hi = np.hstack([zero, np.cumsum(hx * us, axis=1)])
    den_hi = np.hstack([zero, np.cumsum(hx, axis=1)])
    num_lo = (hn * us).sum(axis=1, keepdims=True) - np.hstack([zero, np.cumsum(hn * us, axis=1)])
    den_lo = hn.sum(axis=1, keepdims=True) - np.hstack([zero, np.cumsum(hn, axis=1)])
    ratio = (num_hi + num_lo) / np.maximum(den_hi + den_lo, 1e-300)
    return ratio.min(axis=1) if lowest else ratio.max(axis=1)


def knapsack_max(g: np.ndarray, lo: np.ndarray, hi: np.ndarray, budget: float) -> float:
    """``max g'z`` over ``lo <= z <= hi``, ``sum z <= budget`` (greedy by ``g``, exact);
    ``-inf`` if ``sum lo > budget``."""
    room = budget - float(lo.sum())
    if room < -1e-12:
        return -np.inf
    room = max(room, 0.0)
    value = float(g @ lo)
    pos = np.flatnonzero(g > 0)
    if pos.size == 0:
        return value
    order = pos[np.argsort(-g[pos], kind="stable")]
    width = (hi - lo)[order]
    before = np.concatenate([[0.0], np.cumsum(width)[:-1]])
    take = np.clip(room - before, 0.0, width)
    return value + float(g[order] @ take)


def knapsack_argmax(g: np.ndarray, lo: np.ndarray, hi: np.ndarray, budget: float) -> np.ndarray:
    """A maximiser of :func:`knapsack_max` (``lo`` if infeasible)."""
    z = lo.copy()
    room = max(budget - float(lo.sum()), 0.0)
    pos = np.flatnonzero(g > 0)
    order = pos[np.argsort(-g[pos], kind="stable")]
    width = (hi - lo)[order]
    before = np.concatenate([[0.0], np.cumsum(width)[:-1]]) if order.size else np.zeros(0)
    z[order] += np.clip(room - before, 0.0, width)
    return z


def linear_bound(box: BoxModel, P: np.ndarray, budget: float) -> float:
    """``P'g + |P|'err + max_{z in Z} (J'P)'z`` >= ``max_{z in Z} P'f(z)`` (module docstring)."""
    g = box.values - box.jacobian @ box.center
    slope = box.jacobian.T @ P
    knap = knapsack_max(slope, box.lo, box.hi, budget)
    if not np.isfinite(knap):
        return -np.inf
    err = np.where(P >= 0, box.err_up, box.err_down)
    absP = np.abs(P)
    value = float(P @ g) + float(absP @ err) + knap
    size = float(absP @ (np.abs(g) + err)) + float(
        np.abs(slope) @ np.maximum(np.abs(box.lo), np.abs(box.hi))
    )
    return value + ROUND * (size + 1.0)


def range_bound(box: BoxModel, P: np.ndarray) -> float:
    """``sum_n max(P_n fmin_n, P_n fmax_n)`` >= ``P'f(z)`` on the box (module docstring)."""
    terms = np.maximum(P * box.fmin, P * box.fmax)
    return float(terms.sum()) + ROUND * (float(np.abs(terms).sum()) + 1.0)
