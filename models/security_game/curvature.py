r"""A second-order PWLA line for the ERM security game (valid when ``R K`` is an integer).

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


def erm_curvature_line(instance: SSGInstance, pieces: int) -> CertificateLine | None:
    """The line ``(M / (8 K^2)) E_p H`` (mean units), or None when ``R K`` is not integral."""
    if not applies(instance, pieces):
        return None
    p = instance.weights / instance.n
    value = instance.num_targets / (8.0 * pieces**2) * float(p @ hessian_bounds(instance))
    note = (
        f"PWLA grid restriction, second order (ERM, K = {pieces}): every feasible coverage is a "
        "convex combination of feasible grid corners of its cell (totally unimodular budget "
        "polytope), Taylor with a Hessian bound"
    )
    return CertificateLine("pwla", value, True, note)
