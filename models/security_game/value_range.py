r"""Rigorous range of each type's defender utility over the FEASIBLE coverages.

:func:`~dro_opt.models.security_game.objective.utility_range` bounds ``f_n`` by the extreme
payoffs (valid on the whole box). The curvature bounds of :mod:`.cell_curvature` only need
``f_n`` on the feasible set ``Z = {z in [0, 1]^M : sum_j z_j <= R}``, which is much narrower (the
budget caps the coverage). With ``phi_j(t; theta) = h_j(t) (u_j(t) - theta)`` (``h_j > 0``, paper
003 Sec. 3.2 notation)::

    f_n <= theta on Z   <=>   max_{z in Z} sum_j phi_j(z_j; theta) <= 0
                         <=   sum_j max_{t in [0,1]} (phi_j(t; theta) - mu t) + mu R <= 0
                              for some mu >= 0   (weak Lagrangian duality),

and symmetrically ``f_n >= theta`` if ``sum_j min_t (phi_j + mu t) - mu R >= 0`` for some ``mu
>= 0``. Each one-dimensional extremum is taken on ``T + 1`` equispaced points and corrected by
``C / (8 T^2)``, ``C >= max |phi_j''|`` on ``[0, 1]`` (``phi'' = h (b^2 (u - theta) + 2 a b)``,
``b = lam (AP - AR)``, ``a = DR - DP``; a function with ``|phi''| <= C`` exceeds its
piecewise-linear interpolant by at most ``C delta^2 / 8``). ``theta`` is found by bisection (all
types at once), ``mu`` by a ternary search of the convex dual function; the bounds are then
widened by a relative ``1e-9``. The result is always inside the payoff range."""

from __future__ import annotations

import numpy as np

from dro_opt.models.security_game.instance import SSGInstance
from dro_opt.models.security_game.objective import utility_range

POINTS = 256
BISECTIONS = 40
TERNARY = 30


def feasible_utility_range(instance: SSGInstance) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` (N,) with ``lo_n <= f_n(z) <= hi_n`` for every feasible ``z`` (docstring)."""
    lo0, hi0 = utility_range(instance)
    t = np.linspace(0.0, 1.0, POINTS + 1)[None, None, :]
    AR, AP = instance.attacker_reward[:, :, None], instance.attacker_penalty[:, :, None]
    DR, DP = instance.defender_reward[:, :, None], instance.defender_penalty[:, :, None]
    logit = instance.lam * (AR + t * (AP - AR))
    h = np.exp(logit - logit.max(axis=(1, 2), keepdims=True))  # (N, M, T + 1)
    u = DP + t * (DR - DP)
    a, b = DR - DP, instance.lam * (AP - AR)
    h_max = h.max(axis=2)
    spread = (hi0 - lo0)[:, None]
    curv = (h_max * (b[..., 0] ** 2 * spread + 2 * np.abs(a[..., 0] * b[..., 0]))).sum(axis=1)
    slack = curv / (8.0 * POINTS**2)  # (N,) interpolation slack summed over the targets
    R = float(instance.budget)
    mu_max = (h_max * (np.abs(b[..., 0]) * spread + np.abs(a[..., 0]))).max(axis=1) + 1.0

    def dual(theta: np.ndarray, mu: np.ndarray, upper: bool) -> np.ndarray:
        phi = h * (u - theta[:, None, None])
        if upper:
            return (phi - mu[:, None, None] * t).max(axis=2).sum(axis=1) + mu * R + slack
        return (phi + mu[:, None, None] * t).min(axis=2).sum(axis=1) - mu * R - slack

    def best_dual(theta: np.ndarray, upper: bool) -> np.ndarray:
        """min over mu (upper) / max over mu (lower) of the convex / concave dual function."""
        sign = 1.0 if upper else -1.0
        left, right = np.zeros_like(theta), mu_max.copy()
        for _ in range(TERNARY):
            m1, m2 = left + (right - left) / 3, right - (right - left) / 3
            worse = sign * dual(theta, m1, upper) > sign * dual(theta, m2, upper)
            left, right = np.where(worse, m1, left), np.where(worse, right, m2)
        cands = [dual(theta, m, upper) for m in (np.zeros_like(theta), left, right)]
        return np.min(cands, axis=0) if upper else np.max(cands, axis=0)

    # hi: the smallest theta with a certificate best_dual(theta) <= 0; hi0 always certifies
    lo_t, hi_t = lo0.copy(), hi0.copy()
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo_t + hi_t)
        ok = best_dual(mid, True) <= 0
        hi_t, lo_t = np.where(ok, mid, hi_t), np.where(ok, lo_t, mid)
    hi = hi_t
    lo_t, hi_t = lo0.copy(), hi0.copy()
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo_t + hi_t)
        ok = best_dual(mid, False) >= 0
        lo_t, hi_t = np.where(ok, mid, lo_t), np.where(ok, hi_t, mid)
    lo = lo_t
    pad = 1e-9 * np.maximum(1.0, np.abs(hi0 - lo0))
    return np.maximum(lo - pad, lo0), np.minimum(hi + pad, hi0)
