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
   Second form (the smaller of the two is used, per type and side): the Hessian entries
   ``H_jj = q_j b_j (s_j + a_j) - 2 q_j^2 b_j s_j`` and ``H_jk = -q_j q_k (b_k s_j + b_j s_k)``
   (``j != k``) range over ``q_j in [qmin_j, qmax_j]`` (``qmin_j = hmin_j / (hmin_j + sum_{k != j}
   hmax_k)``) and ``s_j`` between its end values: ``H_jj`` is affine in ``s_j`` and quadratic in
   ``q_j`` (extremes at the end values of ``s_j`` and at ``qmin``, ``qmax`` or the clipped
   vertex), ``|H_jk| <= qmax_j qmax_k max |b_k s_j + b_j s_k|`` over the end values; then with
   ``|d_j| <= h_j``: ``+-d' Hess f d <= sum_j max(0, +-H_jj) h_j^2 + sum_{j != k} |H_jk| h_j h_k``.
   Second form (used per type and side where it is smaller): the Hessian entries
   ``H_jj = q_j b_j (s_j + a_j) - 2 q_j^2 b_j s_j`` and ``H_jk = -q_j q_k (b_k s_j + b_j s_k)``
   (``j != k``) range over ``q_j in [qmin_j, qmax_j]`` (``qmin_j = hmin_j / (hmin_j + sum_{k !=
   j} hmax_k)``) and ``s_j`` between its end values: ``H_jj`` is affine in ``s_j`` and quadratic
   in ``q_j`` (extremes at the end values of ``s_j`` and at ``qmin``, ``qmax`` or the clipped
   vertex); ``H_jk`` is a factor in ``[qmin_j qmin_k, qmax_j qmax_k]`` times a form affine in
   ``(s_j, s_k)``. With ``|d_j| <= h_j``: ``+-d' Hess f d <= sum_j max(0, +-H_jj) h_j^2 +
   sum_{j != k} max |H_jk| h_j h_k``.
   Third form: ``d' Hess f(xi) d = d' H(c) d + d' (H(xi) - H(c)) d <= lambda_max(H(c)) ||d||^2 +
   sum_jk |H(xi) - H(c)|_jk h_j h_k`` (``||d||^2 <= sum_j h_j^2``; ``-`` side with
   ``-lambda_min``), with the exact Hessian at the centre and the entrywise ranges above:
   third order in the width where ``H(c)`` is definite. The eigenvalues are computed in floating
   point (error ~1e-15 ``||H||``): the result is widened by a relative ``1e-9``.
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

4. **Second order with the weighted Hessian** (:func:`quadratic_bound`; the first two lose the
   cancellations between types: near a maximum ``Q = sum_n P_n H_n(c)`` is typically negative
   definite while single ``H_n`` are not). With ``d = z - c`` and the Lagrange remainder per
   type, ``P'f(z) = P'f(c) + (J'P)'d + sum_n P_n d' H_n(xi_n) d / 2 <= P'f(c) + (J'P)'d + d'Q d /
   2 + sum_n |P_n| var_n`` with ``var_n = (1/2) sum_jk |H_n(xi) - H_n(c)|_jk h_j h_k`` bounded by
   the entrywise ranges of item 2. Split ``Q = V diag(lam) V'``: ``d'Q d <= d'(Q_- - eps I) d +
   (lam_max+ + eps) ||d||^2`` (``Q_-`` the negative part, ``||d||^2 <= sum_j max(lo_j^2,
   hi_j^2)`` in centred units). For the concave rest, weak duality with ANY multipliers
   ``alpha, beta, mu >= 0`` of ``d <= hi``, ``d >= lo``, ``sum d <= R - sum c``:
   ``max <= (1/2) r' (eps I - Q_-)^{-1} r + alpha'hi - beta'lo + mu (R - sum c)``,
   ``r = J'P - alpha + beta - mu 1`` (the Lagrangian maximised over all ``d``); the multipliers
   come from Clarabel's solution of the box QP (zero if it fails: still valid). Third order in
   the width where ``Q`` is negative definite. Floating point: ``eps = 1e-8 max(1, ||Q||)``
   dominates the eigen-decomposition's error, the quadratic term is raised by a relative
   ``1e-6`` and ``1e-12 ||Q|| ||d||^2`` is added.

Floating point: the errors and the ranges are widened by a relative ``1e-12`` and every bound
is raised by :data:`ROUND` times the sum of the absolute values of its terms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from dro_opt.models.security_game.instance import SSGInstance
from dro_opt.models.security_game.objective import (
    attack_probabilities,
    utilities,
)

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
    hessian: np.ndarray  # H(c), (N, M, M)
    variation: np.ndarray  # (1/2) sum_jk |H(xi) - H(c)|_jk h_j h_k <= this, (N,)


def box_model(instance: SSGInstance, lo: np.ndarray, hi: np.ndarray) -> BoxModel:
    """Centre values, Jacobian, Taylor error and utility range of every type on ``[lo, hi]``."""
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    c = 0.5 * (lo + hi)
    a = instance.defender_reward - instance.defender_penalty
    b = instance.lam * (instance.attacker_penalty - instance.attacker_reward)
    q_c = attack_probabilities(instance, c)  # at the centre: values, Jacobian, Hessian
    _, Ud_c = utilities(instance, c)
    f0 = (q_c * Ud_c).sum(axis=1)
    s_c = a + b * (Ud_c - f0[:, None])
    J = q_c * s_c  # d f_n / d z_j (objective.values_and_jacobian)
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

    qmax = _safe_ratio(hmax, hmax + hmin.sum(axis=1, keepdims=True) - hmin, 1.0)
    e_ends = np.stack([umin - fmax[:, None], umax - fmin[:, None]])  # (2, N, M)
    diag = b * b * e_ends + 2.0 * a * b  # (2, N, M)
    sq = (a + b * e_ends) ** 2
    w2 = (hi - lo) ** 2
    up = _taylor_shares(diag, sq, b, qmax, w2)
    down = _taylor_shares(-diag, sq, b, qmax, w2)
    qmin = _safe_ratio(hmin, hmin + hmax.sum(axis=1, keepdims=True) - hmax, 0.0)
    half = 0.5 * (hi - lo)
    ranges = _hessian_ranges(a, b, a + b * e_ends, qmin, qmax)
    up3, down3, hessian, variation = _centre_hessian_shares(q_c, s_c, a, b, *ranges, half)
    for u2, d2 in (_interval_shares(*ranges, half), (up3, down3)):
        up = np.where((u2.sum(axis=1) < up.sum(axis=1))[:, None], u2, up)
        down = np.where((d2.sum(axis=1) < down.sum(axis=1))[:, None], d2, down)
    return BoxModel(
        lo=lo, hi=hi, center=c, values=f0, jacobian=J, err_up=up.sum(axis=1),
        err_down=down.sum(axis=1), share_up=up, share_down=down, fmin=fmin, fmax=fmax,
        hessian=hessian, variation=variation,
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


def _hessian_ranges(
    a: np.ndarray, b: np.ndarray, s_ends: np.ndarray, qmin: np.ndarray, qmax: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Entrywise ``(H_lo, H_hi)`` (N, M, M) of the Hessian over the box (module docstring, item
    2, second form). ``s_ends`` (2, N, M): ``s_j`` at the two end values of ``e_j``."""
    smin, smax = s_ends.min(axis=0), s_ends.max(axis=0)
    N, M = a.shape
    hi_d = np.full(a.shape, -np.inf)
    lo_d = np.full(a.shape, np.inf)
    for s in (smin, smax):  # H_jj = q b (s + a) - 2 q^2 b s: affine in s, quadratic in q
        A, B = b * (s + a), b * s
        with np.errstate(divide="ignore", invalid="ignore"):
            vertex = np.where(B != 0, A / (4.0 * B), qmin)
        for q in (qmin, qmax, np.clip(vertex, qmin, qmax)):
            h = q * A - 2.0 * q * q * B
            hi_d = np.maximum(hi_d, h)
            lo_d = np.minimum(lo_d, h)
    # H_jk (j != k) = -q_j q_k (b_k s_j + b_j s_k): a factor in [qmin_j qmin_k, qmax_j qmax_k]
    # times a form affine in (s_j, s_k), extreme at the end values
    lin_lo = np.full((N, M, M), np.inf)
    lin_hi = np.full((N, M, M), -np.inf)
    for sj in (smin, smax):
        for sk in (smin, smax):
            val = b[:, None, :] * sj[:, :, None] + b[:, :, None] * sk[:, None, :]
            lin_lo, lin_hi = np.minimum(lin_lo, val), np.maximum(lin_hi, val)
    qq = (qmin[:, :, None] * qmin[:, None, :], qmax[:, :, None] * qmax[:, None, :])
    prods = [-x * y for x in qq for y in (lin_lo, lin_hi)]
    H_lo, H_hi = np.minimum.reduce(prods), np.maximum.reduce(prods)
    diag = np.arange(M)
    H_lo[:, diag, diag], H_hi[:, diag, diag] = lo_d, hi_d
    return H_lo, H_hi


def _interval_shares(
    H_lo: np.ndarray, H_hi: np.ndarray, half: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Target shares (N, M) of ``(1/2) max +-d' Hess f d`` over the box from the entrywise
    ranges: ``sum_j max(0, +-H_jj) h_j^2 + sum_{j != k} max |H_jk| h_j h_k``."""
    M = half.size
    diag = np.arange(M)
    off = np.maximum(np.abs(H_lo), np.abs(H_hi))
    off[:, diag, diag] = 0.0
    cross = (off * half[None, None, :]).sum(axis=2) * half[None, :]
    w = half * half
    up = 0.5 * (np.maximum(H_hi[:, diag, diag], 0.0) * w + cross)
    down = 0.5 * (np.maximum(-H_lo[:, diag, diag], 0.0) * w + cross)
    return up * (1.0 + 1e-12), down * (1.0 + 1e-12)


def _centre_hessian_shares(
    q: np.ndarray,
    s: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    H_lo: np.ndarray,
    H_hi: np.ndarray,
    half: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Target shares (N, M) of ``(1/2) max +-d' Hess f(xi) d`` from the exact Hessian at the
    centre and the entrywise variation over the box (module docstring, item 2, third form);
    also the centre Hessians (N, M, M) and ``(1/2) sum_jk var_jk h_j h_k`` per type; ``q``,
    ``s`` the attack probabilities and ``s_j = a_j + b_j (u_j - f)`` at the centre."""
    M = a.shape[1]
    H = -(q[:, :, None] * q[:, None, :]) * (
        b[:, None, :] * s[:, :, None] + b[:, :, None] * s[:, None, :]
    )
    diag = np.arange(M)
    H[:, diag, diag] += q * b * (s + a)
    var = np.maximum(np.maximum(H_hi - H, H - H_lo), 0.0)  # >= |H(xi) - H(c)| entrywise
    eig = np.linalg.eigvalsh(H)  # ascending, (N, M)
    w = half * half
    cross = (var * half[None, None, :]).sum(axis=2) * half[None, :]
    up = 0.5 * (np.maximum(eig[:, -1], 0.0)[:, None] * w + cross)
    down = 0.5 * (np.maximum(-eig[:, 0], 0.0)[:, None] * w + cross)
    variation = 0.5 * cross.sum(axis=1) * (1.0 + 1e-9)
    return up * (1.0 + 1e-9), down * (1.0 + 1e-9), H, variation


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
    # a prefix whose weights all underflowed says nothing: any ratio is a convex combination
    # of the u's, so the extreme u (the first, sorted towards the optimum) is a valid stand-in
    fallback = us[:, :1] * np.ones((1, us.shape[1] + 1))
    ratio = _safe_ratio(num_hi + num_lo, den_hi + den_lo, fallback)
    return ratio.min(axis=1) if lowest else ratio.max(axis=1)


def _safe_ratio(num: np.ndarray, den: np.ndarray, fallback: float | np.ndarray) -> np.ndarray:
    """``num / den`` where ``den`` is clearly positive (> 1e-250), ``fallback`` elsewhere (the
    weights are exponentials shifted so that the largest is 1; tiny ones may underflow)."""
    ok = den > 1e-250
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, num / np.where(ok, den, 1.0), fallback)


def knapsack_max(g: np.ndarray, lo: np.ndarray, hi: np.ndarray, budget: float) -> float:
    """``max g'z`` over ``lo <= z <= hi``, ``sum z <= budget`` (greedy by ``g``, exact);
    ``-inf`` if ``sum lo > budget``."""
    if budget - float(lo.sum()) < -1e-12:
        return -np.inf
    return float(g @ knapsack_argmax(g, lo, hi, budget))


def knapsack_argmax(g: np.ndarray, lo: np.ndarray, hi: np.ndarray, budget: float) -> np.ndarray:
    """A maximiser of :func:`knapsack_max`: ``lo``, then the room ``budget - sum lo`` given to
    the positive ``g_j`` in decreasing order (``lo`` if infeasible)."""
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


def quadratic_bound(box: BoxModel, P: np.ndarray, budget: float) -> float:
    """Second-order bound ``>= max_{z in Z} P'f(z)`` with the ``P``-weighted centre Hessian
    (module docstring, item 4): ``P'f(c) + max_d [(J'P)'d + d'Q d / 2] + sum_n |P_n| var_n``,
    the concave part of ``Q = sum_n P_n H_n(c)`` kept, its positive part and the box QP bounded
    by weak duality (multipliers from Clarabel; any non-negative ones are valid)."""
    import clarabel

    lo = box.lo - box.center
    hi = box.hi - box.center
    room = budget - float(box.center.sum())
    M = lo.size
    g = box.jacobian.T @ P
    Q = np.einsum("n,njk->jk", P, box.hessian)
    Q = 0.5 * (Q + Q.T)
    lam, V = np.linalg.eigh(Q)
    norm = float(np.abs(lam).max(initial=0.0))
    eps = 1e-8 * max(1.0, norm)
    curv = np.maximum(-lam, 0.0) + eps  # -(Q- - eps I) = V diag(curv) V'
    d2 = float(np.maximum(lo * lo, hi * hi).sum())  # ||d||^2 <= d2 on the box
    # multipliers of: d <= hi (alpha), d >= lo (beta), sum d <= room (mu)
    mult = np.zeros(2 * M + 1)
    A = sp.csc_matrix(np.vstack([np.eye(M), -np.eye(M), np.ones((1, M))]))
    b = np.concatenate([hi, -lo, [room]])
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    try:
        Pm = sp.csc_matrix(np.triu((V * curv) @ V.T))
        sol = clarabel.DefaultSolver(
            Pm, -g, A, b, [clarabel.NonnegativeConeT(2 * M + 1)], settings
        ).solve()
        if str(sol.status) in ("Solved", "AlmostSolved"):
            z = np.asarray(sol.z, dtype=float)
            if np.all(np.isfinite(z)):
                mult = np.maximum(z, 0.0)
    except Exception:  # any solver failure: zero multipliers are valid too
        pass
    alpha, beta, mu = mult[:M], mult[M : 2 * M], mult[2 * M]
    r = g - alpha + beta - mu
    proj = V.T @ r
    quad = 0.5 * float((proj * proj / curv).sum()) * (1.0 + 1e-6)
    dual = quad + float(alpha @ hi) - float(beta @ lo) + mu * room
    positive = 0.5 * (max(float(lam.max(initial=0.0)), 0.0) + eps + 1e-12 * norm) * d2
    absP = np.abs(P)
    value = float(P @ box.values) + dual + positive + float(absP @ box.variation)
    size = float(absP @ (np.abs(box.values) + box.variation)) + abs(dual) + positive
    return value + ROUND * (size + 1.0)
