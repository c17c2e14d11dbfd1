r"""A budget-aware PWLA error bound for MC-FCP (tightens paper 003 Thm. 2's line; never looser).

The PWLA rule (:mod:`dro_opt.reformulations.pwla_fractional`, Theorem in its docstring) bounds
``|f_n(z) - f_n(z')|``, ``z'`` = ``z`` rounded down to the grid, for ``z`` in the cells
``(k_1, ..., k_M)`` by::

    r_n(k) = sum_j a_njk_j / (d0_n + sum_j b_njk_j),   a = Og + c_n Oh,   b = lower bound of h,

and takes the maximum over ALL cell choices. A feasible ``z`` cannot sit in the top cell of every
coordinate: ``z_j >= t_j,k_j-1 = (k_j - 1) delta`` (equal cells ``delta`` on every coordinate),
so ``sum_j (k_j - 1) delta <= sum_j z_j <= B``, i.e. ``sum_j (k_j - 1) <= C = floor(B / delta)``
(a point exactly on a grid value may be counted in the cell above it: ``a >= 0``, so the bound
still covers it). Hence::

    eps_n = max { r_n(k) : k_j in 1..K, sum_j (k_j - 1) <= C }

is a valid per-client bound for every FEASIBLE ``z``, which is all the proof of the rule's
Theorem uses (``z`` feasible, ``z'`` feasible by rounding down). It is computed exactly (up to a
relative ``1e-12``, rounded up) by Dinkelbach's parametric form: ``r_n(k) <= theta`` for every
feasible ``k`` iff ``max_feasible sum_j (a_njk_j - theta b_njk_j) - theta d0_n <= 0``; the inner
maximum is a multiple-choice knapsack solved by dynamic programming over the capacity (one
vectorised pass per coordinate and cell, all clients at once), ``theta`` by bisection. The
result is also capped by ``hi_n - lo_n`` (both values lie in the range) and by the rule's own
``eps_n``.

Capture form. For the MC-FCP capture ``f = S / (1 + S)`` (``S`` increasing in ``z``, ``S' <= S <=
S''`` with ``S'`` / ``S''`` the sums of ``A`` at the lower / upper ends of the cells of ``z``)::

    0 <= f(z) - f(z') = (S - S') / ((1 + S)(1 + S')) <= (S - S') / (1 + S)
                      <= (S'' - S') / (1 + S''),

(``x / (1 + S' + x)`` increases in ``x``), again a ratio of separable sums over the cells, bounded
the same way with ``a = A(t_k) - A(t_k-1)`` and ``b = A(t_k)`` (row-scaled like the model). The
model uses the smaller of the two bounds per client.

Reference: W. Dinkelbach (1967). On nonlinear fractional programming. Management Science 13(7).
"""

from __future__ import annotations

import numpy as np


def knapsack_max(values: np.ndarray, capacity: int) -> np.ndarray:
    """``max { sum_j values[:, j, k_j - 1] : sum_j (k_j - 1) <= capacity }`` per row, (N,)."""
    N, M, K = values.shape
    best = np.zeros((N, capacity + 1))  # best[:, c]: coordinates so far, capacity used <= c
    for j in range(M):
        new = np.full_like(best, -np.inf)
        for k in range(min(K, capacity + 1)):  # cell k + 1 uses k units
            cand = best[:, : capacity + 1 - k] + values[:, j, k][:, None]
            np.maximum(new[:, k:], cand, out=new[:, k:])
        best = new
    return best[:, capacity]


def budget_aware_errors(
    a: np.ndarray,
    b: np.ndarray,
    d0: np.ndarray,
    delta: np.ndarray,
    budget: float,
    rule_eps: np.ndarray,
    spread: np.ndarray,
) -> np.ndarray:
    """``eps_n`` of the module docstring; ``a``, ``b`` of shape (N, M, K), ``d0`` (N,).

    Falls back to ``min(rule_eps, spread)`` when the cells are not all of one length.
    """
    eps0 = np.minimum(rule_eps, spread)
    if delta.size == 0 or not np.allclose(delta, delta[0], rtol=1e-12, atol=0.0) or delta[0] <= 0:
        return eps0
    capacity = int(np.floor(budget / float(delta[0]) * (1 + 1e-12)))
    K = a.shape[2]
    capacity = min(capacity, a.shape[1] * (K - 1))
    lo_t = np.zeros(a.shape[0])
    hi_t = eps0 * (1 + 1e-12) + 1e-300  # valid: the rule's bound (and the range) hold already
    for _ in range(200):
        if np.all(hi_t - lo_t <= 1e-12 * np.maximum(hi_t, 1e-300)):
            break
        mid = 0.5 * (lo_t + hi_t)
        phi = knapsack_max(a - mid[:, None, None] * b, capacity) - mid * d0
        ok = phi <= 0  # every feasible cell choice has ratio <= mid
        hi_t = np.where(ok, mid, hi_t)
        lo_t = np.where(ok, lo_t, mid)
    return np.minimum(hi_t * (1 + 1e-12), eps0)


__all__ = ["budget_aware_errors", "knapsack_max"]
