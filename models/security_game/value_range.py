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
types and both sides at once: the lower bound is the upper bound of ``-f``, i.e. ``u -> -u``),
``mu`` by bisection on the sign of the convex dual function's subgradient; the bounds are then
widened by a relative ``1e-9``. The result is always inside the payoff range, and cached per
instance."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np

from dro_opt import interrupt
from dro_opt.models.security_game.instance import SSGInstance
from dro_opt.models.security_game.objective import utility_range

POINTS = 256
BISECTIONS = 40
MU_BISECTIONS = 30
COARSE = 4  # the mu search uses every 4-th grid point; the certificate uses all
_CACHE: OrderedDict[bytes, tuple[np.ndarray, np.ndarray]] = OrderedDict()
_CACHE_SIZE = 8


def feasible_utility_range(instance: SSGInstance) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` (N,) with ``lo_n <= f_n(z) <= hi_n`` for every feasible ``z`` (docstring).

    Cached by the instance's data (a digest of payoffs, ``lam`` and ``R``): the pieces loop and
    the curvature / line helpers ask for the same instance many times."""
    key = _digest(instance)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        lo, hi = _CACHE[key]
        return lo.copy(), hi.copy()
    lo, hi = _compute(instance)
    if interrupt.requested():  # a range cut short by Ctrl-C is valid but loose: not cached
        return lo, hi
    _CACHE[key] = (lo.copy(), hi.copy())
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return lo, hi


def _digest(instance: SSGInstance) -> bytes:
    h = hashlib.sha1()
    for arr in (
        instance.defender_reward,
        instance.defender_penalty,
        instance.attacker_reward,
        instance.attacker_penalty,
    ):
        h.update(np.ascontiguousarray(arr, dtype=float).tobytes())
        h.update(str(arr.shape).encode())
    h.update(np.array([instance.lam, instance.budget], dtype=float).tobytes())
    return h.digest()


def _compute(instance: SSGInstance) -> tuple[np.ndarray, np.ndarray]:
    """Both sides at once: the upper problem for ``f`` and, on the stacked copy, the upper problem
    for ``-f`` (``u -> -u``), so every dual evaluation covers ``2 N`` types in one numpy call.

    For fixed ``theta`` the dual ``g(mu) = sum_j max_t (phi_j(t) - mu t) + mu R + slack`` is convex
    and piecewise linear in ``mu`` with the subgradient ``R - sum_j t*_j(mu)`` (``t*`` a maximiser);
    ``mu`` is found by bisection on its sign (on a coarser grid). Every ``mu >= 0`` gives a valid
    certificate when ``g`` is evaluated on the full grid, which is what the test uses."""
    lo0, hi0 = utility_range(instance)
    N = instance.num_types
    t1 = np.linspace(0.0, 1.0, POINTS + 1)
    t = t1[None, None, :]
    AR, AP = instance.attacker_reward[:, :, None], instance.attacker_penalty[:, :, None]
    DR, DP = instance.defender_reward[:, :, None], instance.defender_penalty[:, :, None]
    logit = instance.lam * (AR + t * (AP - AR))
    h1 = np.exp(logit - logit.max(axis=(1, 2), keepdims=True))  # (N, M, T + 1)
    u1 = DP + t * (DR - DP)
    a, b = DR - DP, instance.lam * (AP - AR)
    h_max = h1.max(axis=2)
    spread = (hi0 - lo0)[:, None]
    curv = (h_max * (b[..., 0] ** 2 * spread + 2 * np.abs(a[..., 0] * b[..., 0]))).sum(axis=1)
    slack1 = curv / (8.0 * POINTS**2)  # (N,) interpolation slack summed over the targets
    mu_max1 = (h_max * (np.abs(b[..., 0]) * spread + np.abs(a[..., 0]))).max(axis=1) + 1.0
    # stacked: rows 0..N-1 bound f from above, rows N..2N-1 bound -f from above
    h = np.concatenate([h1, h1])
    hu = np.concatenate([h1 * u1, -h1 * u1])
    slack = np.r_[slack1, slack1]
    mu_max = np.r_[mu_max1, mu_max1]
    R = float(instance.budget)

    coarse = slice(None, None, COARSE)
    tc = t1[coarse]

    def best_dual(theta: np.ndarray) -> np.ndarray:
        """A certificate value ``g(mu) <= 0`` test for the stacked types: ``mu`` by bisection on
        the subgradient sign of the dual on every ``COARSE``-th grid point (cheap), then the
        certificate itself on the full grid at that ``mu`` and at ``mu = 0`` (the smaller)."""
        phi = hu - theta[:, None, None] * h
        phic = np.ascontiguousarray(phi[..., coarse])
        left, right = np.zeros_like(theta), mu_max.copy()
        active = tc[phic.argmax(axis=2)].sum(axis=1) > R  # mu = 0 fits the budget: optimal
        for _ in range(MU_BISECTIONS):
            mid = 0.5 * (left + right)
            used = tc[(phic - mid[:, None, None] * tc).argmax(axis=2)].sum(axis=1)
            grow = used > R  # subgradient R - sum t* < 0: the minimiser is to the right
            left = np.where(active & grow, mid, left)
            right = np.where(active & ~grow, mid, right)
        mu = np.where(active, 0.5 * (left + right), 0.0)
        at_mu = (phi - mu[:, None, None] * t).max(axis=2).sum(axis=1) + mu * R
        at_zero = phi.max(axis=2).sum(axis=1)
        return np.minimum(at_mu, at_zero) + slack

    # the smallest theta (per stacked row) with a certificate best_dual(theta) <= 0
    lo_t = np.r_[lo0, -hi0]
    hi_t = np.r_[hi0, -lo0]  # always certifies
    for _ in range(BISECTIONS):
        if interrupt.requested():  # hi_t certifies at every step: stopping only loosens it
            break
        mid = 0.5 * (lo_t + hi_t)
        ok = best_dual(mid) <= 0
        hi_t, lo_t = np.where(ok, mid, hi_t), np.where(ok, lo_t, mid)
    hi, lo = hi_t[:N], -hi_t[N:]
    pad = 1e-9 * np.maximum(1.0, np.abs(hi0 - lo0))
    return np.maximum(lo - pad, lo0), np.minimum(hi + pad, hi0)
