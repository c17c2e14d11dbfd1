r"""Cell-dependent second-order PWLA error of the security game (valid when ``R K`` is integral).

Refines :mod:`.curvature` (same averaging over grid corners, paper 003 Thm. 2 / App. C made
rigorous) with bounds that depend on the cell and weight every target by its attack
probability, so the constant is not ``M`` times a global Hessian norm.

Notation (one type, paper 003 Sec. 3.2): ``h_j(t) = exp(lam Ua_j(t))`` (any positive scaling),
``u_j(t) = Ud_j(t)`` (any common shift), ``q_j = h_j / sum_k h_k``, ``f = sum_j q_j u_j``,
``a_j = DR_j - DP_j``, ``b_j = lam (AP_j - AR_j)``, ``e_j = u_j - f``, ``s_j = a_j + b_j e_j``
(``df / dz_j = q_j s_j``). Differentiating ``f = N / D`` twice, for every direction ``d``::

    d' Hess f d = sum_j q_j (b_j^2 e_j + 2 a_j b_j) d_j^2
                  - 2 (sum_j q_j b_j d_j) (sum_k q_k s_k d_k).

Lemma (separable curvature bounds). For every ``tau > 0``, with ``2 |X Y| <= tau X^2 + Y^2 /
tau`` and Cauchy-Schwarz under ``sum_j q_j = 1`` (``X^2 <= sum_j q_j b_j^2 d_j^2``, likewise
``Y``)::

    -d' Hess f d <= sum_j q_j beta_j d_j^2,   beta_j = max(0, phi_j),
        phi_j = -(b_j^2 e_j + 2 a_j b_j) + tau b_j^2 + s_j^2 / tau,
    |d' Hess f d| <= sum_j q_j gamma_j d_j^2,
        gamma_j = |b_j^2 e_j + 2 a_j b_j| + tau b_j^2 + s_j^2 / tau,
    +d' Hess f d <= sum_j q_j beta+_j d_j^2,  beta+_j = max(0, phi+_j),
        phi+_j = +(b_j^2 e_j + 2 a_j b_j) + tau b_j^2 + s_j^2 / tau.

On a cell ``Q = Q_1 x ... x Q_M`` of the grid, ``u_j`` ranges over its (linear) end values and
``f`` over the type's range ``[lo, hi]`` on the feasible set (:mod:`.value_range`; every point
between a feasible ``z`` and a feasible corner is feasible), so ``e_j`` lies in ``[min u_j - hi,
max u_j - lo]``; ``phi_j`` is a convex quadratic and ``|.|`` of an affine function, so the end
points of that interval give ``beta_j(Q_j)``, ``gamma_j(Q_j)`` and ``S_j(Q_j) >= |s_j|``.
``h_j`` is monotone on ``Q_j`` (exp of an affine function): ``hmin_j(Q_j) <= h_j <=
hmax_j(Q_j)`` from the end values, and ``q_j <= hmax_j(Q_j) / sum_k hmin_k(Q_k)`` on ``Q``.
``tau`` is chosen per type from a fixed geometric list (any positive value is valid).

Theorem (ERM, in the model). Let ``z`` be feasible in cell ``Q``. As in :mod:`.curvature`
(``R K`` integral: totally unimodular budget polytope), ``z = sum_c w_c c`` over feasible grid
corners ``c`` of ``Q``. Taylor from ``z`` to ``c`` (``d_c = c - z``, the segment stays in ``Q``):
``f(c) = f(z) + grad f(z) d_c + r_c`` with ``r_c >= -(1/2) sum_j qmax_j beta_j d_cj^2``. Averaging
cancels the gradient (``sum_c w_c d_c = 0``) and ``sum_c w_c d_cj^2 = delta_j^2 x_j (1 - x_j) <=
delta_j^2 / 4``, so::

    f_n(z) <= sum_c w_c f_n(c) + e_n(Q),   e_n(Q) = (1/8) sum_j delta_j^2 qmax_nj(Q) beta_nj(Q_j).

Let ``rho_n = min over targets j and grid points t_k of min(h on the cells adjacent to t_k) /
h(t_k)`` and ``Gamma_njk = delta_j^2 / (8 rho_n) max over the cells adjacent to t_k of hmax beta``.
For every corner ``c`` of ``Q`` (``c_j`` an end point of ``Q_j``), ``sum_k hmin_k(Q_k) >= rho_n
D_n(c)``, hence ``e_n(Q) <= sum_j Gamma_nj(c_j) / D_n(c)``. Therefore::

    E_p f(z) <= sum_c w_c E_p [ (N_n(c) + sum_j Gamma_nj(c_j)) / D_n(c) ]
             <= max over feasible grid points c of E_p [(N_n + sum_j Gamma_nj) / D_n](c).

The right-hand side is the grid MISOCP with the numerator values ``g_nj(t_k)`` raised by
``Gamma_njk`` -- still linear-fractional in the binaries, so the McCormick rows stay exact (only
binary x continuous products). Its proven bound is an upper bound on the CONTINUOUS ERM optimum
with no additive line; the error is cell-dependent and ``O(1 / K^2)``.

Corollary (the other side, for negative sample weights; :mod:`.dual_bound`). The same proof
with ``beta+`` for ``beta`` (the remainder ``r_c <= (1/2) sum_j qmax_j beta+_j d_cj^2``) gives
``f_n(z) >= sum_c w_c f_n(c) - e+_n(Q)`` and, with ``Gamma+`` built from ``beta+`` as
``Gamma`` from ``beta``, ``f_n(z) >= sum_c w_c (N_n(c) - sum_j Gamma+_nj(c_j)) / D_n(c)``
(:meth:`CellCurvature.offsets` with ``convex=True``).

Theorem (VR and chi-square, a line). Same decomposition, ``u_c = grad f(z) d_c``, ``kappa =
sqrt(2 rho / n)``. The standard deviation is a seminorm and ``E_w Std_p(u_c) <= ||G||_{2,p}`` with
``G_n = max_Q sum_j (delta_j / 2) qmax_nj S_nj`` (Jensen and Minkowski, ``sd_w(c_j) <= delta_j /
2``; or ``max_jk delta_j S_njk / 2`` as ``sum_j q_j = 1``);
``E_w ||r_c||_{2,p} <= (1/8) sum_j delta_j^2 max_k ||A_.jk||_{2,p}`` with ``A_njk = hmax_njk
gamma_njk / Dmin_n`` (``Dmin_n = sum_j min_k hmin_njk``) by Minkowski; ``-E_w p'r_c <= E_p e_n``,
``e_n = max_Q e_n(Q)``. Hence ``OPT_cont <= OPT_grid + line`` with::

    VR:   kappa ||G||_{2,p} + E_p e + (kappa / 8) sum_j delta_j^2 max_k ||A_.jk||_{2,p}
    chi2: kappa ||G||_{2,p} + min((1/8) sum_j delta_j^2 max_k max_n B_njk,
                                  sqrt(1 + 2 rho / n) (1/8) sum_j delta_j^2 max_k ||B_.jk||_{2,p})

(``B`` as ``A`` with ``beta`` for ``gamma``; for chi-square ``Phi(f + y) <= Phi(f) + max_P P'y``
and ``max_P P'(-u) <= -p'u + kappa Std_p(u)``). Every maximum over cells ``Q`` of a ratio is
computed exactly by :func:`~dro_opt.reformulations.pwla_fractional.max_cell_ratio`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dro_opt.certify import CertificateLine
from dro_opt.models.security_game.curvature import applies
from dro_opt.models.security_game.instance import SSGInstance
from dro_opt.models.security_game.value_range import feasible_utility_range
from dro_opt.reformulations.pwla_fractional import PWLAGrid, max_cell_ratio, pwla_grid

TAU_FACTORS = np.geomspace(1.0 / 16.0, 16.0, 17)


@dataclass(frozen=True)
class CellCurvature:
    """Per type, target and cell (``(N, M, K)``) bounds of the module docstring."""

    grid: PWLAGrid
    h_values: np.ndarray  # (N, M, K + 1) h at the grid points (row-scaled as in .misocp)
    h_min: np.ndarray
    h_max: np.ndarray
    beta: np.ndarray  # one-sided (concavity) weights
    gamma: np.ndarray  # two-sided weights
    slope: np.ndarray  # S >= |s|
    tau: np.ndarray  # (N,)
    beta_convex: np.ndarray | None = None  # one-sided (convexity) weights, ``phi+`` (docstring)

    def offsets(self, convex: bool = False) -> np.ndarray:
        """``Gamma_njk`` (N, M, K + 1): the numerator raise of the ERM model (docstring);
        ``convex=True``: ``Gamma+_njk`` from the convexity weights, the numerator LOWERING that
        makes ``(N_n - sum_j Gamma+_nj) / D_n`` at the corners a lower estimate of ``f_n``."""
        H = self.h_values
        weights = self.beta if not convex else self.beta_convex
        if weights is None:
            raise ValueError("this CellCurvature was built without the convexity weights")
        hb = self.h_max * weights
        adjacent = np.maximum(_pad(hb, -np.inf)[..., :-1], _pad(hb, -np.inf)[..., 1:])
        hmin_adj = np.minimum(_pad(self.h_min, np.inf)[..., :-1], _pad(self.h_min, np.inf)[..., 1:])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(H > 0, hmin_adj / H, 1.0)
        rho = ratio.min(axis=(1, 2))  # (N,)
        if not (rho > 0).all():
            raise ArithmeticError("h underflowed on a cell; the ERM curvature offsets need h > 0")
        d2 = self.grid.delta[None, :, None] ** 2
        return d2 * adjacent / (8.0 * rho[:, None, None])

    def concavity_errors(self) -> np.ndarray:
        """``e_n = max_Q e_n(Q)`` (N,), the uniform one-sided second-order error."""
        d2 = self.grid.delta[None, :, None] ** 2
        return max_cell_ratio(d2 * self.h_max * self.beta / 8.0, self.h_min)

    def gradient_spread(self) -> np.ndarray:
        """``G_n = max_Q sum_j (delta_j / 2) qmax_nj S_nj``, or ``max_jk delta_j S_njk / 2`` when
        smaller (``sum_j q_j |s_j| <= max_j S_j``), shape (N,)."""
        half = 0.5 * self.grid.delta[None, :, None]
        weighted = max_cell_ratio(half * self.h_max * self.slope, self.h_min)
        return np.minimum(weighted, (half * self.slope).max(axis=(1, 2)))  # sum_j q_j = 1


def averaging_applies(instance: SSGInstance, grid: PWLAGrid) -> bool:
    """The corner decomposition needs one cell width ``delta`` for all targets with ``R /
    delta`` and every ``lower_j / delta`` integral (then the budget polytope of a cell is
    integral, as in :mod:`.curvature`); checked to 1e-9."""
    d = grid.delta
    if not (d > 0).all() or np.ptp(d) > 1e-12 * d.max():
        return False
    ratios = np.r_[instance.budget, grid.lower] / d[0]
    return bool(np.all(np.abs(ratios - np.round(ratios)) <= 1e-9))


def cell_curvature(
    instance: SSGInstance, pieces: int, box: tuple[np.ndarray, np.ndarray] | None = None
) -> CellCurvature:
    """Cell bounds for the ``pieces``-cell grid of ``[0, 1]^M`` or of the sub-box ``box =
    (lower, upper)`` (vectorised over n, j, k)."""
    M = instance.num_targets
    grid = pwla_grid(np.zeros(M), np.ones(M), pieces) if box is None else pwla_grid(*box, pieces)
    t = grid.points[None]
    AR, AP = instance.attacker_reward[:, :, None], instance.attacker_penalty[:, :, None]
    DR, DP = instance.defender_reward[:, :, None], instance.defender_penalty[:, :, None]
    logit = instance.lam * (AR + t * (AP - AR))
    H = np.exp(logit - logit.max(axis=(1, 2), keepdims=True))
    U = DP + t * (DR - DP)
    lo, hi = feasible_utility_range(instance)
    e_lo = np.minimum(U[..., :-1], U[..., 1:]) - hi[:, None, None]  # (N, M, K)
    e_hi = np.maximum(U[..., :-1], U[..., 1:]) - lo[:, None, None]
    a = DR - DP
    b = instance.lam * (AP - AR)
    s_ends = np.stack([a + b * e_lo, a + b * e_hi])
    lin_ends = np.stack([b * b * e_lo + 2 * a * b, b * b * e_hi + 2 * a * b])
    S = np.abs(s_ends).max(axis=0)
    s2max = (s_ends**2).max(axis=0)
    h_min = np.minimum(H[..., :-1], H[..., 1:])
    h_max = np.maximum(H[..., :-1], H[..., 1:])
    b2 = np.broadcast_to(b * b, S.shape)
    scale = S.max(axis=(1, 2)) / np.maximum(np.abs(b).max(axis=(1, 2)), 1e-300)  # (N,)
    beta, best_tau = _best_weights(-lin_ends, s_ends, b2, scale, h_min, h_max)
    beta_convex, _ = _best_weights(lin_ends, s_ends, b2, scale, h_min, h_max)
    tau = best_tau[:, None, None]
    gamma = np.abs(lin_ends).max(axis=0) + tau * b2 + s2max / tau
    return CellCurvature(grid, H, h_min, h_max, beta, gamma, S, best_tau, beta_convex)


def _best_weights(
    lin_ends: np.ndarray,
    s_ends: np.ndarray,
    b2: np.ndarray,
    scale: np.ndarray,
    h_min: np.ndarray,
    h_max: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``max(0, max over the interval ends of lin + tau b^2 + s^2 / tau)`` (``beta`` with
    ``lin = -(b^2 e + 2 a b)``, ``beta+`` with ``lin = +(...)``), ``tau`` per type the best of a
    fixed list of 17 candidates (any ``tau > 0`` is valid), vectorised over n, j, k."""
    best_tau = np.full(h_min.shape[0], np.nan)
    best_val = np.full(h_min.shape[0], np.inf)
    weights = np.zeros_like(b2)
    for factor in TAU_FACTORS:
        tau = np.maximum(scale * factor, 1e-12)[:, None, None]
        cand = np.maximum(0.0, (lin_ends + tau * b2 + s_ends**2 / tau).max(axis=0))
        val = (h_max * cand).max(axis=2).sum(axis=1) / h_min.min(axis=2).sum(axis=1)
        better = val < best_val
        best_val = np.where(better, val, best_val)
        best_tau = np.where(better, tau[:, 0, 0], best_tau)
        weights = np.where(better[:, None, None], cand, weights)
    return weights, best_tau


def cell_line(
    instance: SSGInstance, pieces: int, objective: str, rho: float
) -> CertificateLine | None:
    """The uniform line of the docstring (mean units); ERM: ``E_p e``. None unless ``R K`` is
    integral."""
    if not applies(instance, pieces):
        return None
    cc = cell_curvature(instance, pieces)
    p = instance.weights / instance.n
    e = cc.concavity_errors()
    if objective == "erm" or rho == 0.0:
        value = float(p @ e)
    else:
        kappa = math.sqrt(2.0 * rho / instance.n)
        d2 = cc.grid.delta**2 / 8.0
        Dmin = cc.h_min.min(axis=2).sum(axis=1)[:, None, None]
        first = kappa * math.sqrt(float(p @ cc.gradient_spread() ** 2))
        if objective == "variance":
            A = cc.h_max * cc.gamma / Dmin
            norms = np.sqrt(np.einsum("n,njk->jk", p, A * A)).max(axis=1)
            value = first + float(p @ e) + kappa * float(d2 @ norms)
        else:
            B = cc.h_max * cc.beta / Dmin
            by_max = float(d2 @ B.max(axis=(0, 2)))
            norms = np.sqrt(np.einsum("n,njk->jk", p, B * B)).max(axis=1)
            value = first + min(by_max, math.sqrt(1.0 + 2.0 * rho / instance.n) * float(d2 @ norms))
    note = (
        f"PWLA grid restriction, cell-dependent curvature ({objective}, K = {pieces}): every "
        "feasible coverage is a convex combination of feasible grid corners of its cell; "
        "attack-probability-weighted second-order bounds per cell"
    )
    return CertificateLine("pwla", value, True, note)


def _pad(x: np.ndarray, fill: float) -> np.ndarray:
    """``x`` (..., K) with one ``fill`` column on each side (cells adjacent to grid points)."""
    pad = np.full((*x.shape[:-1], 1), fill)
    return np.concatenate([pad, x, pad], axis=-1)
