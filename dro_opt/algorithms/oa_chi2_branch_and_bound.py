"""Certified combinatorial branch-and-bound for chi-square DRO facility location.

Problem (paper 003 Sec. 3.2; docs/facility_location.md): ``max F(T)`` over ``|T| <= r`` with
``F(T) = n Phi(f(T))``, ``Phi(theta) = min_{P in B} P'theta`` over the chi-square ball ``B`` of
radius ``rho / n`` (docs/conventions.md, 'Chi-square DRO'). ``F`` is non-decreasing, so the
maximum is attained on a set of size ``min(r, D)``; after the fixings of the bound tightening
(``submodular_oa`` step 3: some locations forced in, some out) only the sets
``fixed_one u X``, ``X`` a ``k``-subset of the free locations, remain.

Why not a tighter master: every convex relaxation of the hypograph of ``F`` in ``(z, theta)`` --
any outer-approximation master, at the root -- is at least
``max {n Phi(theta) : theta in conv{f(T) : |T| <= r}}``, because every ``(1_T, f(T))`` is
feasible for it and ``Phi`` is concave. On HM14_800_25, alpha = 0.05, beta = 1, r = 5, rho = 100
that convex-hull value is at least 26.02 (column generation over sets, ``submodular_oa``
docstring) while the optimum is 13.52: the integrality gap of every such master is about 2x,
and the search has to be combinatorial.

Branch-and-bound (depth first; location ``j`` in, then out; strong candidates first by the
incumbent's worst-case weighted singleton value; where the Lagrangian bound ran, ``j`` is the
candidate whose removal lowers it most, i.e. the smallest ``U_out(j)`` of
:func:`oa_chi2_lagrangian.fixings`: the exclude branch gets the lowest bound and the include
branch the set the relaxation leans on. HM14_800_25, alpha = 0.05, beta = 1, r = 10,
rho = 100: 48% of the 3.3 million sets left after 20 s against 90% in the static order;
proven in 12.5 CPU s). Node ``(A, R, k)``: members ``A``, remaining
candidates ``R``, ``k`` slots. Bounds, all valid for every set of the node:

* the coverage bound of :mod:`oa_chi2_coverage` (first, at every node with slots left, and
  switched off like the graded bound when it rarely discards): if the node's sets cannot
  reach customers of mass ``1 - 1 / (1 + 2 radius)`` above the level ``threshold / n``, every
  set is at most the threshold;
* ``n Phi(v)``, ``v`` the graded coverage row of :func:`oa_chi2_coverage.graded_dominating_row`
  (uniform ``p``; otherwise ``v = u``): the sorted per-customer best completions
  ``u_i = f_i(A + the k best candidates of R for customer i)`` capped by the coverage bound
  at the levels ``threshold / n * LEVELS``; every set ``T`` of the node has sorted
  ``f(T) <= v`` and ``Phi`` is non-decreasing and depends on the sorted values only (switched
  off when it rarely discards: :data:`GRADED_TRIAL`; any valid bound may be used at any node);
* at nodes with at least :data:`LAGRANGIAN_MIN_SLOTS` slots, the Lagrangian bound of
  :mod:`oa_chi2_lagrangian`: ``n [P'f(A) + the k largest P-weighted marginal gains]`` for
  distributions ``P`` of the ball (the parent's best, the incumbent's worst case, Frank-Wolfe
  iterates), one completion shared by all customers; with the best ``P`` its reduced-cost
  fixings drop candidates from ``R`` or force them into ``A`` (the node is pushed back
  smaller, the discarded sets' bounds recorded). Sampled nodes of HM14_800_25, alpha = 0.05,
  beta = 1, r = 10, rho = 100: the median bound over the incumbent 1.30 at the root, 1.10 at
  depths 1-3, against 2.43 and 1.5-1.7 for ``n Phi(u)``; but on HM14_800_50, alpha = 0.05,
  beta = 1, r = 5, rho = 100 still 2.66 at the root and 1.43 at depth 2;
* for a set ``T`` and any ``P`` in the ball, ``F(T) <= n P'f(T)``; with ``P`` the worst case at
  a subset of ``T`` one element smaller (the supergradient there: tight when the last element
  changes little) or at the incumbent;
* the threshold bound of :func:`threshold_bound`: the optimal threshold ``eta`` of a
  one-smaller subset turned into a distribution of the ball re-weighted by ``f(T)`` itself
  (no sorting).

Nodes with one or two slots screen all their sets in batches with the last two (and for pairs
``A + i + j`` the bound ``n Phi(u)`` of ``A + i``) and evaluate exactly only those above the
threshold.

Node bounds are computed from the scores ``exp(a)`` (``f = s / (1 + s)``) when no sum of at
most ``D`` scores can overflow (:data:`LINEAR_LIMIT`), else in log space: the same values to a
few units in the last place, without an ``exp`` / ``log`` per customer and candidate (``expit``
of ``logaddexp`` was a third of the time outside the Lagrangian bound; HM14_800_25,
alpha = 0.05, beta = 1, r = 10, rho = 100: the same tree, 10.8 vs 12.4 CPU s).

Why the search, not the bound, sets the time on the hard HM14 rows (sampled nodes of
HM14_800_25, alpha = 0.05, beta = 1, r = 10, rho = 100 at depth 5): the Lagrangian bound is
within 0.3% of ``min_P max_X n P'f(A u X)`` computed by enumeration (48.05 vs 47.92, the
optimum 41.31), so the modular relaxation of ``h_P`` costs nothing; what is left is the gap of
every single-``P`` (convex) bound. The score-space relaxation ``max_x Phi(phi(s(A) + E x))``
over the fractional completions is weaker still (53.4 vs 52.2 at the root).

A node or set is discarded only if its bound is at most the threshold ``F(incumbent) +
gap max(1, |F(incumbent)|) / 2``; the returned bound is the largest exact value or discarded
bound seen, plus a rounding margin, so it bounds ``max F`` over the restricted domain.

Exactness of the batched worst case (:func:`chi2_batch`): for each row the dual
``eta - c sqrt(E_p (eta - f)_+^2)`` (a lower bound on ``Phi``) is evaluated at the stationary
point of the best active prefix (the same closed form as ``capture_objectives.
chi2_worst_case``). The primal ``P = c p (eta - f)_+ / sqrt(S)``, normalised to a distribution,
is accepted if its divergence ``D(P) = sum_i p_i (P_i / p_i - 1)^2 / 2`` is at most
``radius (1 + 1e-10)``; it is then shrunk to ``P_s = (1 - lam) P + lam p``, ``lam = 1e-10``,
whose divergence ``(1 - lam)^2 D(P) < radius`` puts it inside the ball (the rounding of ``D`` is
far below ``1e-10`` relative), so ``P_s'f >= Phi(f)`` is an upper bound, above ``P'f`` by at
most ``lam``. Rows whose primal and dual differ by more than ``1e-11`` or whose ``P`` fails the
check get their threshold by bisection and the certificate of :mod:`oa_chi2_batch` (an upper
bound with a distribution of the ball, at any threshold; the scalar closed form
``chi2_worst_case`` is not used here: away from its optimum its ``P`` need not sum to 1, and
such a ``P`` would not give valid surrogate bounds). The final bound adds a rounding margin of
``1e-11 max(1, |F|) + (2.3e-16 N + 1e-13) n`` (``n`` units; a dot product of ``N`` terms in
``[0, 1]`` with weights summing to 1 rounds by at most about ``N`` units in the last place).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from dro_opt import interrupt
from dro_opt.algorithms.capture_objectives import logsumexp_rows
from dro_opt.algorithms.oa_chi2_batch import (
    SHRINK,
    bisect_eta,
    certify,
    newton_eta,
    prefix_eta,
    sorted_prefix_candidates,
)
from dro_opt.algorithms.oa_chi2_coverage import coverage_discards, graded_dominating_row
from dro_opt.algorithms.oa_chi2_lagrangian import fixings, lagrangian_bound

__all__ = ["EnumerationResult", "branch_and_bound_chi2", "chi2_batch", "count_sets"]

#: sets times customers screened per block (memory of one block: about 8 bytes per unit)
BLOCK_WORK = 4_000_000
#: node bounds in linear space (scores ``exp(a)``) when the largest log-odds plus ``log D`` is
#: below this (no sum of scores overflows); log space otherwise
LINEAR_LIMIT = 700.0
#: seconds between two progress reports of :func:`branch_and_bound_chi2`
PROGRESS_EVERY = 0.5
#: levels of the graded coverage bound, in units of ``threshold / n`` (:mod:`oa_chi2_coverage`)
LEVELS = 1.25 ** np.arange(-8.0, 50.0)
#: the graded bound (and the coverage bound) stays on after its first GRADED_TRIAL nodes only if
#: at least GRADED_RATE of the nodes it bounded were discarded (on the README row the graded
#: bound discards none and costs 20%; on HM14_800_50, alpha = 0.05, beta = 1, r = 5, rho = 100
#: the coverage bound discards none and took 2.1 of 20 s)
GRADED_TRIAL, GRADED_RATE = 300, 0.02
#: nodes with at least this many slots get the Lagrangian bound of :mod:`oa_chi2_lagrangian`
LAGRANGIAN_MIN_SLOTS = 2
#: its Frank-Wolfe steps at nodes with more than two slots / with two (a discarded two-slot node
#: saves only one batch of pairs)
LAGRANGIAN_STEPS, LAGRANGIAN_STEPS_PAIRS = 12, 1
#: ... and stays on after its first LAGRANGIAN_TRIAL nodes only if at least LAGRANGIAN_RATE of
#: them were discarded or made smaller by it (it costs about 1 ms a node at N = 800; on rows
#: whose pruning is in the last two levels it discards almost nothing and cost 10-25%)
LAGRANGIAN_TRIAL, LAGRANGIAN_RATE = 200, 0.2
#: a bound switched off by its rate still runs on every PROBE_EVERY-th node, so that its rate
#: follows the search (a run of poor nodes early in the tree does not switch it off for good)
PROBE_EVERY = 10


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
    covered : nodes discarded by the coverage bound (:mod:`oa_chi2_coverage`).
    lagrangian : nodes discarded by the Lagrangian bound (:mod:`oa_chi2_lagrangian`).
    fixed : candidates its fixings dropped from or forced into a node.
    remaining : sets in the nodes left open (0 when complete; the progress of a stopped run).
    """

    mask: np.ndarray
    value: float
    bound: float | None
    complete: bool
    sets: int
    evaluated: int
    covered: int = 0
    lagrangian: int = 0
    fixed: int = 0
    remaining: int = 0


def count_sets(free: int, k: int) -> int:
    """Number of sets the enumeration visits: ``C(free, min(k, free))``."""
    return math.comb(free, min(max(k, 0), free))


def chi2_batch(p: np.ndarray, F: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """``(Phi(F_b), P_b)`` for each row ``F_b`` of ``F`` (B, N): the worst-case value over the
    chi-square ball of radius ``radius`` around ``p`` as the upper bound ``P_b'F_b`` with
    ``P_b`` in the ball (within ``1e-11 + 1e-10`` of the dual lower bound; module docstring),
    and ``P_b``."""
    values, P, _ = chi2_batch_eta(p, F, radius)
    return values, P


def threshold_bound(p: np.ndarray, F: np.ndarray, eta: np.ndarray, radius: float) -> np.ndarray:
    """Upper bounds on ``Phi(F_m)`` from a threshold ``eta_m`` per row, without sorting.

    ``w = (eta - F_m)_+`` gives the distribution ``P = p w / E_p w`` with divergence
    ``D = (E_p w^2 / (E_p w)^2 - 1) / 2``; if ``D > radius`` it is shrunk to
    ``s P + (1 - s) p`` with ``s = sqrt(radius / D) (1 - 1e-9)``, divergence ``s^2 D < radius``.
    Either way it lies in the ball, so its expectation of ``F_m`` bounds ``Phi(F_m)`` from
    above; it equals ``Phi`` when ``eta`` is the row's optimal threshold. Rows with
    ``E_p w = 0`` or a non-finite ``eta`` get ``+inf``."""
    with np.errstate(invalid="ignore"):
        w = np.maximum(eta[:, None] - F, 0.0)
    pw = w * p[None, :]
    m1 = pw.sum(axis=1)
    m2 = np.einsum("mn,mn->m", pw, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        pf = np.einsum("mn,mn->m", pw, F) / m1
        D = 0.5 * (m2 / (m1 * m1) - 1.0)
        scale = np.where(D > radius, np.sqrt(radius / D) * (1.0 - 1e-9), 1.0)
    out = scale * pf + (1.0 - scale) * (F @ p)
    return np.where(np.isfinite(eta) & (m1 > 0) & np.isfinite(out), out, np.inf)


def chi2_batch_eta(
    p: np.ndarray,
    F: np.ndarray,
    radius: float,
    eta0: np.ndarray | None = None,
    want_P: bool = True,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """:func:`chi2_batch` plus the optimal threshold ``eta`` of each row, without a sort per
    row where possible (:mod:`oa_chi2_batch`): from the thresholds ``eta0`` (a warm start, two
    Newton steps) or the prefix search (one step), accepted per row by its primal-dual
    certificate; the other rows go to :func:`chi2_batch_eta_sorted` (``eta0`` rows first retry
    from the prefix search). ``want_P=False`` returns ``None`` for the distributions."""
    F = np.atleast_2d(np.asarray(F, dtype=float))
    c = math.sqrt(1.0 + 2.0 * radius)
    if eta0 is None:
        eta = newton_eta(p, F, c, prefix_eta(p, F, c), 1)
    else:
        eta = newton_eta(p, F, c, np.asarray(eta0, dtype=float).copy(), 2)
    values, ok, P = certify(p, F, radius, eta, want_P)
    bad = np.flatnonzero(~ok)
    if bad.size:
        if eta0 is not None:
            v, Pb, e = chi2_batch_eta(p, F[bad], radius, None, want_P)
        else:
            v, Pb, e = chi2_batch_eta_sorted(p, F[bad], radius)
        values[bad], eta[bad] = v, e
        if want_P:
            P[bad] = Pb
    return values, P, eta


def chi2_batch_eta_sorted(
    p: np.ndarray, F: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`chi2_batch_eta` by a sort of every row (module docstring, 'Exactness of the
    batched worst case')."""
    F = np.atleast_2d(np.asarray(F, dtype=float))
    N = F.shape[1]
    c = math.sqrt(1.0 + 2.0 * radius)
    sc = sorted_prefix_candidates(p, F, c)
    order, ps, g, shift, cand = sc["order"], sc["ps"], sc["g"], sc["shift"], sc["cand"]
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
    eta = eta + shift
    bad = np.flatnonzero(~good)  # ties / breakpoint optima: bisection and the certificate
    if bad.size:
        eta[bad] = bisect_eta(p, F[bad], c)
        values[bad], _, P[bad] = certify(p, F[bad], radius, eta[bad], True)
    return values, P, eta


def _last_two_levels(p, radius, a, LA, rest, k, P_inc, n, threshold):
    """Sets ``A + X`` of a node with ``k in {1, 2}`` slots, ``X`` from ``rest``, in blocks of at
    most :data:`BLOCK_WORK` (sets x customers). Yields ``(sets (M, k), bounds (M,), F (M, N))``:
    upper bounds on ``F`` of each set (``n min(P'f)`` over ``P_inc`` and the worst cases at the
    set's subsets ``A``, or ``A + i`` and ``A + j`` for a pair ``i < j``, and for pairs the
    bound ``n Phi(u)`` of the prefix ``A + i`` with its best remaining candidate per customer).
    Prefixes whose bound is at most ``threshold()`` yield their pairs with that bound and no
    ``F`` rows (``F`` is None). (The graded coverage row per prefix ``A + i`` halved the exact
    evaluations on the README row, 7,710 -> 3,837, but doubled its CPU time, 4.5 -> 9.2 s: one
    call per prefix; not used here.)"""
    N, m = LA.shape[0], rest.size

    def tighten(sur: np.ndarray, F: np.ndarray, etas: list[np.ndarray]) -> np.ndarray:
        """Threshold bounds (:func:`threshold_bound`) for the rows still above the threshold,
        with the optimal threshold of a one-smaller subset (measured: 60% fewer exact
        evaluations, 20% less time on the README row; more thresholds cost more than they
        save)."""
        up = np.flatnonzero(sur > threshold())
        if up.size:
            Fu = F[up]
            for eta in etas:
                sur[up] = np.minimum(sur[up], n * threshold_bound(p, Fu, eta[up], radius))
        return sur

    if k == 1:
        F = expit(np.logaddexp(LA[None, :], a[:, rest].T))  # (m, N)
        _, P_A, eta_A = chi2_batch_eta(p, expit(LA)[None, :], radius)
        sur = n * np.minimum(F @ P_A[0], F @ P_inc)
        sur = tighten(sur, F, [np.full(m, eta_A[0])])
        yield rest[:, None], sur, F
        return
    ar = a[:, rest]
    best_after = np.maximum.accumulate(ar[:, ::-1], axis=1)[:, ::-1]  # max over columns >= c
    LS = np.logaddexp(LA[None, :], ar.T)  # (m, N): A + i for every candidate i
    # scores in linear space when they cannot overflow (log-odds < 700: exp stays finite and
    # s / (1 + s) is as accurate as the sigmoid of the log-score); otherwise in log space
    linear = bool(np.max(LS, initial=-np.inf) < 700.0)
    if linear:
        S, E = np.exp(LS), np.exp(ar.T)  # (m, N) each
    _, P_S, eta_S = chi2_batch_eta(p, expit(LS), radius)
    step = max(1, BLOCK_WORK // max(N * m, 1))
    for lo in range(0, m - 1, step):
        heads = np.arange(lo, min(m - 1, lo + step))
        hb, _ = chi2_batch(p, expit(np.logaddexp(LS[heads], best_after[:, heads + 1].T)), radius)
        hb = n * hb
        cut = hb <= threshold()
        if cut.any():  # every pair (i, j > i) of these prefixes is below the prefix bound
            yield np.zeros((int(cut.sum()), 2), dtype=np.int64), hb[cut], None
        heads, hb = heads[~cut], hb[~cut]
        if heads.size == 0:
            continue
        hi, ci = np.nonzero(np.arange(m)[None, :] > heads[:, None])  # pairs i < j
        i, j = heads[hi], ci
        if linear:  # f = s / (1 + s) with the scores themselves: no exp / log per pair
            F = S[i] + E[j]
            F /= 1.0 + F
        else:
            F = expit(np.logaddexp(LS[i], ar[:, j].T))  # (M, N)
        sur = np.minimum(np.einsum("mn,mn->m", F, P_S[i]), np.einsum("mn,mn->m", F, P_S[j]))
        sur = np.minimum(n * np.minimum(sur, F @ P_inc), hb[hi])
        sur = tighten(sur, F, [eta_S[j]])
        yield np.stack([rest[i], rest[j]], axis=1), sur, F


def branch_and_bound_chi2(
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
    progress: Callable[[np.ndarray, float], None] | None = None,
    upper: float = math.inf,
) -> EnumerationResult:
    """Maximise ``F`` over the sets ``fixed_one u X``, ``X`` a subset of the free locations (not
    fixed either way) of size ``min(budget - |fixed_one|, #free)``, by depth-first
    include/exclude branch-and-bound (module docstring). Node bound ``n Phi(u)``, ``u_i`` the
    capture probability of the node's members plus customer ``i``'s best ``k`` remaining
    candidates; nodes with one or two slots left screen their sets in batches.
    ``incumbent`` (any feasible set, value ``incumbent_value`` in ``n`` units) seeds the
    threshold; ``gap`` is the relative gap of ``solve_oa``; ``deadline_at`` a
    ``time.perf_counter()`` instant after which it stops incomplete (also on Ctrl-C, checked
    between nodes: :func:`dro_opt.interrupt.requested`).

    ``progress(best_mask, bound)`` is called at most every :data:`PROGRESS_EVERY` seconds and at
    the end with the best set so far and a running bound on ``max F`` over the restricted
    domain: every set not yet evaluated or discarded lies in a node on the stack, which carries
    the bound of its parent (``upper`` for the root: any valid bound the caller has), so
    ``max(best, largest discarded bound, largest parent bound on the stack) + margin`` bounds
    every set of the domain at every moment."""
    a = np.asarray(a, dtype=float)
    q = np.asarray(q, dtype=float)
    N = a.shape[0]
    n = float(q.sum())
    p = q / n
    radius = rho / n
    fixed_zero = np.asarray(fixed_zero, dtype=bool)
    fixed_one = np.asarray(fixed_one, dtype=bool)
    free = np.flatnonzero(~fixed_zero & ~fixed_one)
    k0 = min(int(budget) - int(fixed_one.sum()), free.size)
    total = count_sets(free.size, k0)
    best_mask = np.asarray(incumbent, dtype=bool).copy()
    best = float(incumbent_value)
    L0 = logsumexp_rows(a[:, fixed_one], axis=1) if fixed_one.any() else np.full(N, -np.inf)
    # node bounds in linear space (scores s = exp(log-odds), f = s / (1 + s)) when no sum of at
    # most D scores can overflow; otherwise in log space (the same values to rounding)
    E = (
        np.exp(a)
        if float(np.max(a, initial=-np.inf)) + math.log(max(a.shape[1], 1)) < LINEAR_LIMIT
        else None
    )
    size = int(fixed_one.sum()) + max(k0, 0)
    guide = best_mask | fixed_one
    if guide.sum() < size:  # complete a small incumbent (F is monotone): a better guide P_inc
        gain = p @ expit(np.logaddexp(L0[:, None], a[:, free]))
        extra = [j for j in free[np.argsort(-gain, kind="stable")] if not guide[j]]
        guide[extra[: size - int(guide.sum())]] = True
    value_g, P_inc = chi2_batch(p, expit(logsumexp_rows(a[:, guide], axis=1)), radius)
    value_g, P_inc = float(value_g[0]), P_inc[0]
    completed = not np.array_equal(guide, best_mask)  # value_g: an upper bound (within 1e-10)
    if completed and n * value_g > best and guide.sum() <= budget:
        best, best_mask = n * value_g, guide.copy()
    # strong candidates first (worst-case weighted singleton value): good sets are met early
    single = P_inc @ expit(np.logaddexp(L0[:, None], a[:, free]))
    order = free[np.argsort(-single, kind="stable")]
    pruned_max = -np.inf
    evaluated = 0
    covered = cover_tries = 0  # nodes discarded by the coverage bound / nodes it was tried on
    graded_tries = graded_wins = 0  # nodes bounded with the graded row / discarded then

    def threshold() -> float:
        return best + 0.5 * gap * max(1.0, abs(best))

    def record(value: float, mask_cols: np.ndarray) -> None:
        nonlocal best, best_mask
        if value > best:
            best = value
            best_mask = fixed_one.copy()
            best_mask[mask_cols] = True

    rounding = (N * 2.3e-16 + 1e-13) * n  # dot products of N terms (module docstring)

    def running_bound() -> float:
        open_nodes = max((node[4] for node in stack), default=-math.inf)
        return max(best, pruned_max, open_nodes) + 1e-11 * max(1.0, abs(best)) + rounding

    # (log-scores, members, remaining candidates, k, bound of the parent node, its best P)
    stack = [(L0, np.zeros(0, dtype=np.int64), order, max(k0, 0), float(upper), None)]
    lagrangian_cut = 0  # nodes discarded by the Lagrangian bound
    fixed = 0  # candidates dropped or forced in by its fixings
    lag_tries = lag_wins = 0  # nodes it bounded / discarded or made smaller
    popped = 0  # nodes taken from the stack with slots left
    reported = time.perf_counter()
    while stack:
        now = time.perf_counter()
        late = deadline_at is not None and now > deadline_at
        if late or interrupt.requested():
            left = sum(count_sets(node[2].size, node[3]) for node in stack)
            return EnumerationResult(
                best_mask, best, None, False, total, evaluated, covered, lagrangian_cut, fixed, left
            )
        if progress is not None and now - reported >= PROGRESS_EVERY:
            progress(best_mask, running_bound())
            reported = now
        LA, members, rest, k, _, P_parent = stack.pop()
        if k == 0 or rest.size <= k:  # one set: the members plus every remaining candidate
            L = LA if rest.size == 0 or k == 0 else np.logaddexp(LA, logsumexp_rows(a[:, rest], 1))
            vals, _ = chi2_batch(p, expit(L)[None, :], radius)
            evaluated += 1
            record(n * float(vals[0]), np.concatenate([members, rest[:k]]))
            continue
        sub = a[:, rest]
        E_sub = None if E is None else E[:, rest]  # the candidates' scores (linear space)
        level = threshold()
        probe = popped % PROBE_EVERY == 0  # a switched-off bound is still tried now and then
        popped += 1
        if cover_tries < GRADED_TRIAL or covered >= GRADED_RATE * cover_tries or probe:
            cover_tries += 1
            if coverage_discards(p, LA, sub, k, level / n, radius, E_sub=E_sub):  # F <= level
                pruned_max = max(pruned_max, level)
                covered += 1
                continue
        if E_sub is None:
            top = sub if k >= rest.size else -np.partition(-sub, k - 1, axis=1)[:, :k]
            u = expit(np.logaddexp(LA, logsumexp_rows(top, axis=1)))
        else:  # the same in linear space: customer i's k largest scores
            top = E_sub if k >= rest.size else -np.partition(-E_sub, k - 1, axis=1)[:, :k]
            u = np.exp(LA) + top.sum(axis=1)
            u /= 1.0 + u
        graded = None
        if graded_tries < GRADED_TRIAL or graded_wins >= GRADED_RATE * graded_tries:
            graded = graded_dominating_row(p, LA, sub, k, u, (level / n) * LEVELS, E_sub=E_sub)
        ub, _ = chi2_batch(p, (u if graded is None else graded)[None, :], radius)
        ub = n * float(ub[0])
        evaluated += 1
        graded_tries += graded is not None
        if ub <= threshold():
            pruned_max = max(pruned_max, ub)
            graded_wins += graded is not None
            continue
        P_node, U_out = P_parent, None
        lagrangian_on = (
            lag_tries < LAGRANGIAN_TRIAL or lag_wins >= LAGRANGIAN_RATE * lag_tries or probe
        )
        if k >= LAGRANGIAN_MIN_SLOTS and lagrangian_on:
            lag_tries += 1
            fA = expit(LA)
            if E_sub is None:
                G = expit(np.logaddexp(LA[:, None], sub)) - fA[:, None]
            else:
                G = np.exp(LA)[:, None] + E_sub
                G /= 1.0 + G
                G -= fA[:, None]
            starts = [P_inc] if P_parent is None else [P_parent, P_inc]
            steps = LAGRANGIAN_STEPS if k > 2 else LAGRANGIAN_STEPS_PAIRS
            lag, P_node = lagrangian_bound(p, fA, G, k, radius, n, threshold(), starts, steps)
            if lag <= threshold():
                pruned_max = max(pruned_max, lag)
                lagrangian_cut += 1
                lag_wins += 1
                continue
            ub = min(ub, lag)
            U_in, U_out, drop, force = fixings(P_node, fA, G, k, n, threshold())
            if drop.any() or force.any():  # a smaller node with the same sets above the level
                fixed += int(drop.sum() + force.sum())
                lag_wins += 1
                pruned_max = max(pruned_max, float(np.max(U_in[drop], initial=-np.inf)))
                pruned_max = max(pruned_max, float(np.max(U_out[force], initial=-np.inf)))
                if int(force.sum()) > k:  # every set misses a forced candidate
                    continue
                if force.any():
                    LA = np.logaddexp(LA, logsumexp_rows(a[:, rest[force]], axis=1))
                    members = np.concatenate([members, rest[force]])
                stack.append((LA, members, rest[~drop & ~force], k - int(force.sum()), ub, P_node))
                continue
        if k <= 2:  # the node's sets in a few batches: surrogates, then exact values
            blocks = _last_two_levels(p, radius, a, LA, rest, k, P_inc, n, threshold)
            for sets, sur, F in blocks:
                sur = np.minimum(sur, ub)
                keep = sur > threshold()
                if (~keep).any():
                    pruned_max = max(pruned_max, float(sur[~keep].max()))
                if F is not None and keep.any():
                    # cold starts: from a subset's threshold, two Newton steps were accepted
                    # for only 1-25% of the rows (measured on three HM14 rows)
                    vals, _, _ = chi2_batch_eta(p, F[keep], radius, want_P=False)
                    evaluated += int(keep.sum())
                    i = int(np.argmax(vals))
                    record(n * float(vals[i]), np.concatenate([members, sets[keep][i]]))
            continue
        if U_out is not None:  # branch on the candidate the Lagrangian bound needs most
            rest = rest[np.argsort(U_out, kind="stable")]
        j = rest[0]
        stack.append((LA, members, rest[1:], k, ub, P_node))  # exclude j (explored second)
        child = (np.logaddexp(LA, a[:, j]), np.append(members, j), rest[1:], k - 1, ub, P_node)
        stack.append(child)
    bound = running_bound()  # the stack is empty: max(best, pruned_max) + margins
    if progress is not None:
        progress(best_mask, bound)
    return EnumerationResult(
        best_mask, best, bound, True, total, evaluated, covered, lagrangian_cut, fixed
    )
