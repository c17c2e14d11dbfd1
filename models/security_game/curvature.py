r"""Averaged PWLA lines for the security game (valid when ``R K`` is an integer).

The generic PWLA line (:mod:`dro_opt.reformulations.pwla_fractional`) rounds a continuous
coverage down to the grid and pays the first-order change ``O(|DR - DP| / K)``. For the ERM
objective ``F(z) = E_p f(z)`` a better grid point exists, at second-order cost.

Claim. Let the grid be ``{0, 1/K, ..., 1}^M``, ``R K`` an integer, and ``H_n`` bound the spectral
norm of the Hessian of ``f_n`` on ``[0, 1]^M``. Then for every feasible ``z`` (``sum z <= R``)
some feasible grid point ``c`` has::

    F(c) >= F(z) - (M / (8 K^2)) E_p H,      so   OPT_cont <= OPT_grid + (M / (8 K^2)) E_p H.

Proof. Let ``l`` be ``z`` rounded down to the grid, ``x = K (z - l) in [0, 1)^M`` with
``x_j = 0`` where ``l_j = 1``. ``x`` lies in ``P = {x in [0,1]^M : sum x <= R K - K sum l,
x_j = 0 where l_j = 1}``, whose right-hand sides are integers and whose matrix (identity rows
and one all-ones row) is totally unimodular, so ``P`` is an integral polytope: ``x = sum_c w_c
x_c`` with 0/1 vectors ``x_c`` in ``P``, i.e. feasible grid corners ``c = l + x_c / K`` of ``z``'s
cell with ``sum_c w_c c = z``. Taylor at ``z`` with the integral remainder: ``f_n(c) >= f_n(z) +
grad f_n(z) (c - z) - H_n ||c - z||^2 / 2``; averaging with ``w`` cancels the gradient term and
``sum_c w_c ||c - z||^2 = K^-2 sum_j x_j (1 - x_j) <= M / (4 K^2)``. Hence ``max_c F(c) >=
sum_c w_c F(c) >= F(z) - (M / (8 K^2)) E_p H``. QED.

VR and chi-square (same decomposition; ``kappa = sqrt(2 rho / n)``, ``d_c = c - z``,
``u_c = J(z) d_c``, ``r_c`` the Taylor remainders, ``|r_nc| <= H_n ||d_c||^2 / 2``). The standard
deviation is a seminorm, so ``VR(c) >= VR(z) + p'u_c - kappa Std_p(u_c) - p'|r_c| - kappa
||r_c||_{2,p}``; for the chi-square worst case ``Phi(f) = min_{P in ball} P'f``,
``Phi(f(c)) >= Phi(f(z)) + min_P P'u_c - max_P P'|r_c|`` and ``min_P P'u >= p'u - kappa
Std_p(u)`` (Cauchy-Schwarz on ``P/p - 1``, centred). Averaging with ``w`` removes ``p'u_c``, and
``E_w Std_p(u_c) <= sqrt(sum_n p_n Var_w(J_n d_c)) <= (1 / (2K)) ||G||_{2,p}`` with
``G_n >= sum_j |df_n / dz_j|`` (Minkowski: ``sd_w(c_j) = sqrt(x_j (1 - x_j)) / K <= 1 / (2K)``).
Hence ``OPT_cont <= OPT_grid + line`` with::

    VR:   kappa ||G||_{2,p} / (2K) + (M / (8 K^2)) (E_p H + kappa ||H||_{2,p})
    chi2: kappa ||G||_{2,p} / (2K) + (M / (8 K^2)) sqrt(1 + 2 rho / n) ||H||_{2,p}

(ERM is ``kappa = 0``). ``G_n = max_j S_j`` below bounds ``sum_j q_j |s_j|``.

Hessian bound (paper 003 Sec. 3.2 utility; ``q = softmax(lam Ua)``, ``a_j = DR_j - DP_j``,
``b_j = lam (AP_j - AR_j)``, ``s_j = a_j + b_j (Ud_j - f)`` so that ``df/dz_j = q_j s_j``)::

    d2f / dz_j dz_k = [j = k] q_j b_j (s_j + a_j) - q_j q_k (b_k s_j + b_j s_k).

With ``|s_j| <= S_j = |a_j| + |b_j| (hi - lo)`` (``Ud_j`` and ``f`` lie in the type's utility range
``[lo, hi]``), ``q_j <= 1`` and ``||q||_2 <= 1``, the diagonal part has norm ``<= max_j |b_j|
(S_j + |a_j|)`` and the rank-two part ``<= 2 ||q o s||_2 ||q o b||_2 <= 2 max_j S_j max_j |b_j|``.
"""

from __future__ import annotations

import numpy as np

from dro_opt.certify import CertificateLine
from dro_opt.models.security_game.instance import SSGInstance
from dro_opt.models.security_game.objective import utility_range


def hessian_bounds(instance: SSGInstance) -> np.ndarray:
    """``H_n`` (N,): spectral-norm bounds of the Hessian of ``f_n`` on the box (docstring)."""
    a = np.abs(instance.defender_reward - instance.defender_penalty)
    b = np.abs(instance.lam * (instance.attacker_penalty - instance.attacker_reward))
    lo, hi = utility_range(instance)
    S = a + b * (hi - lo)[:, None]
    return (b * (S + a)).max(axis=1) + 2.0 * S.max(axis=1) * b.max(axis=1)


def applies(instance: SSGInstance, pieces: int) -> bool:
    """The claim needs ``R K`` integral (up to 1e-9)."""
    rk = instance.budget * pieces
    return abs(rk - round(rk)) <= 1e-9


def gradient_bounds(instance: SSGInstance) -> np.ndarray:
    """``G_n >= sum_j |d f_n / d z_j|`` on the box (``max_j S_j``, docstring)."""
    a = np.abs(instance.defender_reward - instance.defender_penalty)
    b = np.abs(instance.lam * (instance.attacker_penalty - instance.attacker_reward))
    lo, hi = utility_range(instance)
    return (a + b * (hi - lo)[:, None]).max(axis=1)


def averaged_line(
    instance: SSGInstance, pieces: int, objective: str = "erm", rho: float = 0.0
) -> CertificateLine | None:
    """The line of the docstring (mean units), or None when ``R K`` is not integral."""
    if not applies(instance, pieces):
        return None
    n = instance.n
    p = instance.weights / n
    H = hessian_bounds(instance)
    M, K = instance.num_targets, float(pieces)
    quad = M / (8.0 * K * K)
    if objective == "erm" or rho == 0.0:
        value = quad * float(p @ H)
    else:
        kappa = np.sqrt(2.0 * rho / n)
        G2 = float(np.sqrt(p @ gradient_bounds(instance) ** 2))
        H2 = float(np.sqrt(p @ H**2))
        first = kappa * G2 / (2.0 * K)
        if objective == "variance":
            value = first + quad * (float(p @ H) + kappa * H2)
        else:
            value = first + quad * np.sqrt(1.0 + 2.0 * rho / n) * H2
    note = (
        f"PWLA grid restriction, averaged over grid corners ({objective}, K = {pieces}): every "
        "feasible coverage is a convex combination of feasible grid corners of its cell "
        "(totally unimodular budget polytope); Taylor with gradient and Hessian bounds"
    )
    return CertificateLine("pwla", float(value), True, note)


def erm_curvature_line(instance: SSGInstance, pieces: int) -> CertificateLine | None:
    """The ERM case of :func:`averaged_line`."""
    return averaged_line(instance, pieces, "erm", 0.0)
