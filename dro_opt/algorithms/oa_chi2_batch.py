"""Batched chi-square worst case without a sort per row: the exact evaluations of the
branch-and-bound (:mod:`oa_chi2_branch_and_bound`).

For rows ``F_b`` (B, N), weights ``p`` and radius ``radius`` (the ball ``B`` of
docs/conventions.md, 'Chi-square DRO'; paper 003 Sec. 3.2), the worst case
``Phi(F_b) = min_{P in B} P'F_b`` has the dual (reward form)::

    Phi(f) = max_eta  h(eta),   h(eta) = eta - c sqrt(m2(eta)),   c = sqrt(1 + 2 radius),
    m1(eta) = E_p (eta - f)_+,   m2(eta) = E_p (eta - f)_+^2,   PA(eta) = P_p(f < eta).

**Newton step on the active set.** On the active set ``A = {f < eta}`` the moments are
polynomials in ``d``: ``m1(eta + d) = m1 + PA d``, ``m2(eta + d) = m2 + 2 m1 d + PA d^2``; the
stationarity condition of ``h``, ``c m1 = sqrt(m2)``, is the quadratic
``PA k d^2 + 2 m1 k d + (c^2 m1^2 - m2) = 0`` with ``k = c^2 PA - 1``, whose root with
``m1 + PA d > 0`` is::

    eta + d = eta - m1 / PA + sqrt((PA m2 - m1^2) / k) / PA     (k > 0; PA m2 >= m1^2 by
                                                                 Cauchy-Schwarz)

i.e. the closed form ``mu_A + sigma_A / sqrt(c^2 P_A - 1)`` of ``capture_objectives.
chi2_worst_case`` with its moments taken about ``eta`` itself (no cancellation). When ``eta``
already has the optimal active set, one step lands on the optimum.

**Start.** Either a threshold per row given by the caller (a warm start: the optimal threshold
of a related row, e.g. a subset one element smaller), or the prefix search of
:func:`prefix_eta` on the sorted values (one ``np.sort`` of the values only, no gathers).

**Certificate, per row** (nothing here needs the iteration to converge). At the final ``eta``:

* ``lower = eta - c sqrt(m2)`` is a lower bound on ``Phi`` (weak duality);
* ``P = p (eta - f)_+ / m1`` is a distribution with divergence ``D = (m2 / m1^2 - 1) / 2``;
  ``P_s = s P + (1 - s) p`` with ``s = (1 - SHRINK) min(1, sqrt(radius / D))`` has divergence
  ``s^2 D < radius`` (the divergence is a convex quadratic in the mixture weight, zero at
  ``p``), so it lies in the ball and ``upper = P_s'f >= Phi(f)`` (the rounding of ``D`` is far
  below the ``SHRINK = 1e-10`` relative room).

A row is accepted when the primal value before the shrink is within ``1e-11`` of ``lower``;
its value is ``upper`` (an upper bound on ``Phi`` within ``1e-11 + SHRINK`` of it: the shrink
moves it by at most ``SHRINK (p'f - P'f) <= SHRINK``) and its worst case ``P_s``. The other
rows (a start far from the optimum, ties at the threshold, ``k <= 0``) go to the sort-based
closed form :func:`oa_chi2_branch_and_bound.chi2_batch_eta_sorted`, which has the same contract
and places the rows it cannot by :func:`bisect_eta` and this certificate (every value returned
is a certified upper bound with a distribution of the ball).

Measured side by side with the sort-based closed form (2 shared cores, load 10-15, CPU
seconds of the whole branch-and-bound from the greedy + swap incumbent, gap 1e-4, two runs
each): HM14_800_25 alpha = 0.1, beta = 5, r = 5, rho = 100 (42,389 sets evaluated of 53,130)
8.7 / 7.5 s before, 7.2 / 6.5 s after; alpha = 0.05, beta = 1, r = 5, rho = 1000 2.6 / 3.0 s
vs 2.1 / 2.1 s; the README row (alpha = 0.05, beta = 1, r = 5, rho = 100, ``solve_oa`` gap 1e-6)
5.1 / 5.4 s vs 4.4 / 4.1 s. The prefix search still takes half of the evaluation time (it
sorts); the warm starts of the pairs did not change the totals beyond the noise.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "SHRINK",
    "bisect_eta",
    "certify",
    "newton_eta",
    "prefix_eta",
    "sorted_prefix_candidates",
]

#: shrink towards ``p`` that keeps a threshold distribution strictly inside the ball
SHRINK = 1e-10
#: accepted primal-dual difference of a row (``Phi`` units: probabilities)
TOLERANCE = 1e-11


def prefix_eta(p: np.ndarray, F: np.ndarray, c: float) -> np.ndarray:
    """A threshold per row near the optimum: the stationary point of a consistent active prefix
    of the sorted row (prefix sums; may be slightly inaccurate, :func:`newton_eta` polishes it
    and :func:`certify` decides). ``h`` is concave, so every stationary point consistent with
    its prefix (``g_k <= eta_k <= g_{k+1}``) is a maximiser; the first one is taken. Uniform
    ``p`` sorts the values only and looks only at prefixes of mass above ``1 / c^2`` (the
    others have no stationary point); otherwise the weights are gathered."""
    B, N = F.shape
    if not bool(np.all(p == p[0])):
        return _prefix_eta_weighted(p, F, c)
    fs = np.sort(F, axis=1)
    shift = fs @ p
    g = fs - shift[:, None]  # centred values: prefix moments lose less to cancellation
    M1 = np.cumsum(g, axis=1)
    M2 = np.cumsum(g * g, axis=1)
    PA = p[0] * np.arange(1, N + 1, dtype=float)
    k0 = int(np.searchsorted(c * c * PA, 1.0, side="right"))  # first prefix with c^2 PA > 1
    if k0 >= N:
        return np.full(B, np.nan)
    PA = PA[k0:]
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = M1[:, k0:] * (p[0] / PA)
        var = M2[:, k0:] * (p[0] / PA) - mu * mu
        eta = mu + np.sqrt(np.maximum(var, 0.0) / (c * c * PA - 1.0))
    ok = eta >= g[:, k0:]
    ok[:, :-1] &= eta[:, :-1] <= g[:, k0 + 1 :]
    k = np.argmax(ok, axis=1)
    return np.take_along_axis(eta, k[:, None], axis=1)[:, 0] + shift


def sorted_prefix_candidates(p: np.ndarray, F: np.ndarray, c: float) -> dict[str, np.ndarray]:
    """The sorted closed form on every active prefix (weights gathered with the sort order):
    for each row the order, the sorted weights ``ps``, the centred sorted values ``g`` (about
    ``shift``, the mean: prefix moments lose less to cancellation), and per prefix length
    ``k + 1`` the stationary threshold ``eta`` (centred) and the dual value ``cand`` where the
    threshold is consistent with its prefix (``g_k <= eta <= g_{k+1}``, ``c^2 PA > 1``),
    ``-inf`` elsewhere. ``h`` is concave, so the best consistent candidate is the optimum."""
    B = F.shape[0]
    order = np.argsort(F, axis=1)  # introsort: 2.7x faster than stable here; ties are harmless
    fs = np.take_along_axis(F, order, axis=1)
    ps = p[order]
    PA = np.cumsum(ps, axis=1)
    shift = np.einsum("bn,bn->b", ps, fs)  # the mean (any permutation)
    g = fs - shift[:, None]
    M1 = np.cumsum(ps * g, axis=1)
    M2 = np.cumsum(ps * g * g, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        den = c * c * PA - 1.0
        mu = M1 / PA
        eta = mu + np.sqrt(np.maximum(M2 / PA - mu * mu, 0.0) / den)
        nxt = np.concatenate([g[:, 1:], np.full((B, 1), np.inf)], axis=1)
        ok = (den > 0) & (eta >= g) & (eta <= nxt)
        S = PA * eta * eta - 2.0 * M1 * eta + M2
        cand = np.where(ok, eta - c * np.sqrt(np.maximum(S, 0.0)), -np.inf)
    return {"order": order, "ps": ps, "g": g, "shift": shift, "eta": eta, "cand": cand}


def _prefix_eta_weighted(p: np.ndarray, F: np.ndarray, c: float) -> np.ndarray:
    """:func:`prefix_eta` for non-uniform weights: the best consistent candidate of
    :func:`sorted_prefix_candidates`."""
    sc = sorted_prefix_candidates(p, F, c)
    k = np.argmax(sc["cand"], axis=1)
    return np.take_along_axis(sc["eta"], k[:, None], axis=1)[:, 0] + sc["shift"]


def _moments(p: np.ndarray, F: np.ndarray, eta: np.ndarray):
    w = np.maximum(eta[:, None] - F, 0.0)
    return w, w @ p, (w * w) @ p


def newton_eta(p: np.ndarray, F: np.ndarray, c: float, eta: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` Newton steps on the active set (module docstring); rows where a step is not
    defined (``k <= 0`` or no active customer) keep their threshold."""
    c2 = c * c
    for _ in range(steps):
        w, m1, m2 = _moments(p, F, eta)
        PA = (w > 0.0) @ p
        kap = c2 * PA - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            new = eta - m1 / PA + np.sqrt(np.maximum(PA * m2 - m1 * m1, 0.0) / kap) / PA
        eta = np.where((kap > 0) & np.isfinite(new), new, eta)
    return eta


def bisect_eta(p: np.ndarray, F: np.ndarray, c: float, steps: int = 200) -> np.ndarray:
    """Thresholds by bisection on the sign of ``h'(eta) = 1 - c m1 / sqrt(m2)`` (``h`` is
    concave, so ``h'`` is non-increasing): the returned end ``hi`` keeps ``h'(hi) <= 0`` and
    ``hi > min f`` (so ``m1 > 0``); for rows the closed forms cannot place (ties, point
    masses). Any threshold gives a valid :func:`certify` upper bound; this one is the optimum
    to within the bisection's resolution."""
    lo = F.min(axis=1)
    mean = F @ p
    sd = np.sqrt(np.maximum(((F - mean[:, None]) ** 2) @ p, 0.0))
    # every customer active and eta >= mean + sd / sqrt(c^2 - 1): h'(hi) <= 0 (module docstring)
    hi = np.maximum(F.max(axis=1), mean + sd / math.sqrt(c * c - 1.0)) + 1.0
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        _, m1, m2 = _moments(p, F, mid)
        with np.errstate(divide="ignore", invalid="ignore"):
            down = ~(c * m1 < np.sqrt(m2))  # h'(mid) <= 0 (m1 = 0 counts as rising)
        down &= m1 > 0
        hi = np.where(down, mid, hi)
        lo = np.where(down, lo, mid)
    return hi


def certify(
    p: np.ndarray, F: np.ndarray, radius: float, eta: np.ndarray, want_P: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(upper, accepted, P_s)`` at the thresholds ``eta`` (module docstring): ``upper`` bounds
    ``Phi`` from above for every row with a positive ``m1`` (``+inf`` otherwise), ``accepted``
    marks the rows within :data:`TOLERANCE` of the dual lower bound, ``P_s`` (if ``want_P``)
    the distributions of the ball that give ``upper``."""
    c = math.sqrt(1.0 + 2.0 * radius)
    w, m1, m2 = _moments(p, F, eta)
    mean = F @ p
    with np.errstate(divide="ignore", invalid="ignore"):
        D = 0.5 * (m2 / (m1 * m1) - 1.0)
        s_ball = np.where(D > radius, np.sqrt(radius / D), 1.0)
        s = (1.0 - SHRINK) * s_ball
        pf = (w * F) @ p / m1
        primal = s_ball * pf + (1.0 - s_ball) * mean  # before the shrink (adds <= SHRINK)
        upper = s * pf + (1.0 - s) * mean
        lower = eta - c * np.sqrt(m2)
    valid = (m1 > 0) & np.isfinite(upper)
    upper = np.where(valid, upper, np.inf)
    accepted = valid & (primal - lower <= TOLERANCE)
    P = None
    if want_P:
        with np.errstate(divide="ignore", invalid="ignore"):
            P = (s / np.where(valid, m1, 1.0))[:, None] * w * p[None, :]
        P += (1.0 - s)[:, None] * p[None, :]
    return upper, accepted, P
