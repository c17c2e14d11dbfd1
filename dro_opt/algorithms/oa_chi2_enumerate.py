"""Certified screened enumeration for chi-square DRO facility location on small search spaces.

Problem (paper 003 Sec. 3.2; docs/facility_location.md): ``max F(T)`` over ``|T| <= r`` with
``F(T) = n Phi(f(T))``, ``Phi(theta) = min_{P in B} P'theta`` over the chi-square ball ``B`` of
radius ``rho / n`` (docs/conventions.md, 'Chi-square DRO'). ``F`` is non-decreasing, so the
maximum is attained on a set of size ``min(r, D)``; after the fixings of the bound tightening
(``submodular_oa`` step 3: ``base`` forced in, some locations forced out) only the sets
``base u X``, ``X`` a ``k``-subset of the free locations, remain.

Why enumerate at all: every convex relaxation of the hypograph of ``F`` (any outer-approximation
master, at the root) is at least ``max {Phi(theta) : theta in conv{f(T) : |T| <= r}}``, because
every ``(1_T, f(T))`` is feasible for it and ``Phi`` is concave. Measured on HM14_800_25,
alpha = 0.05, beta = 1, r = 5, rho = 100 (``submodular_oa`` docstring) that convex-hull value is
26.02 (n units) while the optimum is 13.52: no master can be tight there, and a branch-and-bound
must look at a good part of the ``C(25, 5) = 53,130`` sets anyway.

Screening (exact, nothing is skipped without a bound): sets are visited as children
``A + j`` of prefixes ``A`` of size ``k - 1`` (``j`` after the last element of ``A``). For any
``P`` in the ball, ``F(T) <= n P'f(T)`` for every ``T``; with ``P_A`` the worst case at ``f(A)``
(its supergradient: the surrogate is exact at ``A`` and tight near it) and ``P_inc`` the worst
case at the incumbent, a child whose surrogate ``n min(P_A'f(T), P_inc'f(T))`` is at most the
threshold (incumbent value plus half the allowed gap) is not evaluated; the others are evaluated
exactly. Returned bound: the largest exact value or pruned surrogate seen, plus a rounding
margin, so it bounds ``max F`` over the restricted domain.

Exactness of the batched worst case (:func:`chi2_batch`): for each row the dual
``eta - c sqrt(E_p (eta - f)_+^2)`` (a lower bound on ``Phi``) is evaluated at the stationary
point of the best active prefix (the same closed form as ``capture_objectives.
chi2_worst_case``). The primal ``P = c p (eta - f)_+ / sqrt(S)``, normalised to a distribution,
is accepted if its divergence ``D(P) = sum_i p_i (P_i / p_i - 1)^2 / 2`` is at most
``radius (1 + 1e-10)``; it is then shrunk to ``P_s = (1 - lam) P + lam p``, ``lam = 1e-10``,
whose divergence ``(1 - lam)^2 D(P) < radius`` puts it inside the ball (the rounding of ``D`` is
far below ``1e-10`` relative), so ``P_s'f >= Phi(f)`` is an upper bound, above ``P'f`` by at
most ``lam``. Rows whose primal and dual differ by more than ``1e-11`` or whose ``P`` fails the
check fall back to ``chi2_worst_case``. The final bound adds a rounding margin of
``1e-9 max(1, |F|) + 1e-12 n`` (``n`` units).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.special import expit

from dro_opt import interrupt
from dro_opt.algorithms.capture_objectives import chi2_worst_case, logsumexp_rows

__all__ = ["EnumerationResult", "chi2_batch", "count_sets", "enumerate_chi2"]

#: sets times customers screened per block (memory of one block: about 8 bytes per unit)
BLOCK_WORK = 4_000_000
#: shrink of the batched worst case towards ``p`` that keeps it inside the ball
SHRINK = 1e-10


@dataclass
class EnumerationResult:
    """Outcome of :func:`enumerate_chi2`.

    Attributes
    ----------
    mask : (D,) best set found (exact value ``value``), the incumbent if nothing beat it.
    value : its value as computed here (the caller re-evaluates it exactly).
    bound : proven upper bound on ``max F`` over the restricted domain (None if not complete).
    complete : every set was evaluated or bounded (False after the deadline).
    sets : number of sets of the restricted domain.
    evaluated : sets evaluated exactly (the others were bounded by a surrogate).
    """

    mask: np.ndarray
    value: float
    bound: float | None
    complete: bool
    sets: int
    evaluated: int


def count_sets(free: int, k: int) -> int:
    """Number of sets the enumeration visits: ``C(free, min(k, free))``."""
    return math.comb(free, min(max(k, 0), free))


def chi2_batch(p: np.ndarray, F: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """``(Phi(F_b), P_b)`` for each row ``F_b`` of ``F`` (B, N): the worst-case value over the
    chi-square ball of radius ``radius`` around ``p`` as the upper bound ``P_b'F_b`` with
    ``P_b`` in the ball (within ``1e-11 + 1e-10`` of the dual lower bound; module docstring),
    and ``P_b``."""
    F = np.atleast_2d(np.asarray(F, dtype=float))
    B, N = F.shape
    c = math.sqrt(1.0 + 2.0 * radius)
    order = np.argsort(F, axis=1, kind="stable")
    fs = np.take_along_axis(F, order, axis=1)
    ps = p[order]
    shift = np.einsum("bn,bn->b", ps, fs)
    g = fs - shift[:, None]
    PA = np.cumsum(ps, axis=1)
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
    k = np.argmax(cand, axis=1) + 1  # active prefix length of the best consistent candidate
    # two-pass moments on the chosen prefix, then direct primal and dual evaluations
    active = np.arange(N)[None, :] < k[:, None]
    wa = np.where(active, ps, 0.0)
    P_k = wa.sum(axis=1)
    mu = np.einsum("bn,bn->b", wa, g) / P_k
    var = np.einsum("bn,bn->b", wa, (g - mu[:, None]) ** 2) / P_k
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = mu + np.sqrt(var / (c * c * P_k - 1.0))
    diff = np.maximum(eta[:, None] - g, 0.0)
    S = np.einsum("bn,bn->b", ps, diff * diff)
    dual = eta - c * np.sqrt(S)
    with np.errstate(divide="ignore", invalid="ignore"):
        P_sorted = ps * diff
        P_sorted /= P_sorted.sum(axis=1, keepdims=True)
        div = 0.5 * np.einsum("bn,bn->b", ps, (P_sorted / ps - 1.0) ** 2)
    primal = np.einsum("bn,bn->b", P_sorted, g)
    good = (
        np.isfinite(cand.max(axis=1))
        & (S > 0)
        & np.isfinite(primal)
        & (div <= radius * (1.0 + SHRINK) + 1e-15)
        & (primal - dual <= 1e-11)
    )
    P = np.empty_like(P_sorted)
    np.put_along_axis(P, order, P_sorted, axis=1)
    P = (1.0 - SHRINK) * P + SHRINK * p[None, :]  # strictly inside the ball (module docstring)
    values = np.einsum("bn,bn->b", P, F)
    for b in np.flatnonzero(~good):  # ties / breakpoint optima: the scalar closed form
        values[b], P[b] = chi2_worst_case(p, F[b], radius)
    return values, P


def enumerate_chi2(
    a: np.ndarray,
    q: np.ndarray,
    rho: float,
    budget: int,
    fixed_zero: np.ndarray,
    fixed_one: np.ndarray,
    incumbent: np.ndarray,
    incumbent_value: float,
    gap: float,
    deadline_at: float | None = None,
) -> EnumerationResult:
    """Maximise ``F`` over the sets ``fixed_one u X``, ``X`` a subset of the free locations
    (not fixed either way) of size ``min(budget - |fixed_one|, #free)``, by screened enumeration
    (module docstring). ``incumbent`` (any feasible set, value ``incumbent_value`` in ``n``
    units) seeds the threshold; ``gap`` is the relative gap of :func:`solve_oa`;
    ``deadline_at`` a ``time.perf_counter()`` instant after which it stops incomplete."""
    a = np.asarray(a, dtype=float)
    q = np.asarray(q, dtype=float)
    N = a.shape[0]
    n = float(q.sum())
    p = q / n
    radius = rho / n
    fixed_zero = np.asarray(fixed_zero, dtype=bool)
    fixed_one = np.asarray(fixed_one, dtype=bool)
    free = np.flatnonzero(~fixed_zero & ~fixed_one)
    k = min(int(budget) - int(fixed_one.sum()), free.size)
    total = count_sets(free.size, k)
    best_mask = np.asarray(incumbent, dtype=bool).copy()
    best = float(incumbent_value)
    L0 = logsumexp_rows(a[:, fixed_one], axis=1) if fixed_one.any() else np.full(N, -np.inf)
    _, P_inc = chi2_worst_case(p, expit(logsumexp_rows(a[:, best_mask], axis=1)), radius)
    pruned_max = -np.inf
    evaluated = 0

    def allowance(v: float) -> float:
        return 0.5 * gap * max(1.0, abs(v))

    def consider(values: np.ndarray, sets: np.ndarray) -> None:
        nonlocal best, best_mask
        i = int(np.argmax(values))
        if values[i] > best:
            best = float(values[i])
            best_mask = fixed_one.copy()
            best_mask[sets[i]] = True

    if k <= 0:
        vals, _ = chi2_batch(p, expit(L0)[None, :], radius)
        consider(n * vals, np.zeros((1, 0), dtype=np.int64))
        evaluated = 1
    # prefixes of size k - 1 grouped by the position ``last`` of their last element; their
    # children add one free location after it (every k-subset exactly once)
    lasts = [None] if k == 1 else list(range(k - 2, free.size - 1)) if k > 1 else []
    for last in lasts:
        if last is None:
            children, heads = free, np.zeros((1, 0), dtype=np.int64)
        else:
            children = free[last + 1 :]
            if k > 2:
                heads = np.array(list(combinations(free[:last].tolist(), k - 2)), dtype=np.int64)
            else:
                heads = np.zeros((1, 0), dtype=np.int64)
            heads = np.hstack([heads, np.full((heads.shape[0], 1), free[last])])
        step = max(1, BLOCK_WORK // max(N * children.size, 1))
        for lo in range(0, heads.shape[0], step):
            late = deadline_at is not None and time.perf_counter() > deadline_at
            if late or interrupt.requested():  # the caller's budget or Ctrl-C
                return EnumerationResult(best_mask, best, None, False, total, evaluated)
            pre = heads[lo : lo + step]  # (B, k - 1) prefixes
            LA = np.broadcast_to(L0, (pre.shape[0], N))
            if pre.shape[1]:
                LA = np.logaddexp(LA, logsumexp_rows(a[:, pre].transpose(1, 0, 2), axis=2))
            _, P_A = chi2_batch(p, expit(LA), radius)
            Fc = expit(np.logaddexp(LA[:, :, None], a[None, :, children]))  # (B, N, C)
            sur = n * np.minimum(
                np.einsum("bn,bnc->bc", P_A, Fc), np.einsum("n,bnc->bc", P_inc, Fc)
            )
            keep = sur > best + allowance(best)
            if (~keep).any():
                pruned_max = max(pruned_max, float(sur[~keep].max()))
            bi, ci = np.nonzero(keep)
            if bi.size:
                vals, _ = chi2_batch(p, Fc[bi, :, ci], radius)
                evaluated += bi.size
                consider(n * vals, np.hstack([pre[bi], children[ci][:, None]]))
    margin = 1e-9 * max(1.0, abs(best)) + 1e-12 * n  # rounding (module docstring)
    bound = max(best, pruned_max) + margin
    return EnumerationResult(best_mask, best, bound, True, total, evaluated)
