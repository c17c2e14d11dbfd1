"""Coverage bound for the chi-square branch-and-bound (:mod:`oa_chi2_branch_and_bound`): a node
whose sets cannot reach enough customers has a tiny worst case.

Setting (paper 003 Sec. 3.2; docs/facility_location.md, 'Structure of the objectives'):
``F(T) = n Phi(f(T))``, ``Phi(theta) = min_{P in B} P'theta`` over the chi-square ball ``B`` of
radius ``radius`` around ``p`` (docs/conventions.md, 'Chi-square DRO'); a node holds the sets
``T = A u X``, ``X`` a ``k``-subset of the candidates ``R``.

**Claim.** Let ``delta > 0``, ``m = 1 / (1 + 2 radius)``, ``s_i(A) = sum_{j in A} exp(a_ij)``
the score of the members (``f_i(A) = s_i(A) / (1 + s_i(A))``, ``phi(s) = s / (1 + s)``),
``e_ij = exp(a_ij)``, ``O_ij`` the sum of the ``k - 1`` largest ``e_il``, ``l in R``, ``l != j``,
``t_ij = phi(s_i(A) + min(k e_ij, e_ij + O_ij))`` (customer ``i``'s capture probability if ``j``
came ``k`` times, or with ``i``'s best ``k - 1`` other candidates), ``C_0 = {i : f_i(A) >
delta}`` and ``C_j = {i not in C_0 : t_ij > delta}``. If

    p(C_0) + (sum of the k largest p(C_j), j in R)  <  1 - m,

then ``F(T) <= n delta`` for every set ``T`` of the node.

*Proof.* The score is modular and ``phi`` is increasing. Let ``j* in X`` have the largest
``e_ij``; then ``sum_{j in X} e_ij <= k e_ij*`` and ``sum_{j in X} e_ij <= e_ij* + O_ij*`` (the
other ``|X| - 1 <= k - 1`` members are among the others), so ``f_i(A u X) = phi(s_i(A) +
sum_{j in X} e_ij) <= t_ij* <= max_{j in X} t_ij``. Hence a customer with ``f_i(T) > delta`` is
in ``C_0`` or in ``C_j`` for some ``j in X``, and the set
``U = {i : f_i(T) <= delta}`` has ``p(U) >= 1 - p(C_0) - sum_{j in X} p(C_j) > m``. The
distribution ``P = p 1_U / p(U)`` has divergence ``sum_i p_i (P_i / p_i - 1)^2 / 2 =
(1 / p(U) - 1) / 2 < (1 / m - 1) / 2 = radius``, so it lies in the ball and
``Phi(f(T)) <= P'f(T) <= delta``. QED.

The branch-and-bound takes ``delta = threshold / n`` (the node is discarded with the bound
``threshold``). The claim is strongest when the optimum is far below 1 (absolute gap) and the
locations reach different customers: HM14_800_50, alpha = 0.1, beta = 5, r = 5, rho = 1e4 (the
optimum is 0 to the gap) is discarded at the root: ``p(C_j)`` of the five largest sums to 0.76
with the submodular form below (at most that with ``t_ij``) against ``1 - m = 0.96``.

``t_ij`` is at most the submodular form ``f_i(A) + k (f_i(A + j) - f_i(A))`` used before (``phi``
is concave: ``phi(s + k e) <= phi(s) + k (phi(s + e) - phi(s))``), so the reached sets are
smaller and the test (and the graded row) is tighter, much so near a location (``s_i(A) = 0``,
``exp(a_ij) = 1``, ``k = 5``: 0.83 against 2.5); the second term cuts the strongest candidates
of a customer whose other candidates are weak (``e_i = (1, 0.1, 0.1, 0.1, 0.1)``, ``k = 5``:
``phi(1.4) = 0.58`` for the first against ``phi(5) = 0.83``).

Rounding: ``t_ij`` is a capture probability computed from a few sums of scores (relative error
a few units of ``1e-16``: :func:`reach`); a customer counts as
reached when ``t_ij`` exceeds ``delta`` minus ``1e-9`` relative and ``1e-15`` absolute, and in
``C_0`` when ``f_i(A)`` exceeds ``delta`` minus the same room, so rounding can only enlarge the
reached sets (a weaker, still valid, test), and the comparison with ``1 - m`` keeps ``1e-12`` of
room for the sums.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit

__all__ = ["coverage_discards", "graded_dominating_row", "reach"]


def coverage_discards(
    p: np.ndarray,
    LA: np.ndarray,
    sub: np.ndarray,
    k: int,
    delta: float,
    radius: float,
    block: int = 65536,
    E_sub: np.ndarray | None = None,
) -> bool:
    """True if every set ``A u X`` (``|X| = k``, ``X`` among the columns of ``sub``) has
    ``F <= n delta`` by the claim of the module docstring. ``LA`` (N,) are the log-scores
    ``log s_i(A)`` (``-inf`` for the empty set), ``sub`` (N, m) the log-odds of the candidates;
    the sums over customers run in row blocks of ``block`` (city scale: no N x m temporaries).
    ``E_sub``: the candidates' scores ``exp(sub)`` if the caller has them without overflow
    (``t_ij`` is then computed in linear space, :func:`reach`)."""
    if k <= 0 or delta <= 0:
        return False
    m = 1.0 / (1.0 + 2.0 * radius)
    reached_A, cov = 0.0, np.zeros(sub.shape[1])
    for lo in range(0, p.size, block):
        rows = slice(lo, lo + block)
        fA = expit(LA[rows])
        C0 = fA > delta * (1.0 - 1e-9) - 1e-15
        reached_A += float(p[rows][C0].sum())
        t = reach(LA[rows], sub[rows], k, None if E_sub is None else E_sub[rows])
        cov += p[rows] @ ((t > delta * (1.0 - 1e-9) - 1e-15) & ~C0[:, None])
    if reached_A >= 1.0 - m:
        return False
    top = cov if k >= cov.size else np.partition(cov, cov.size - k)[cov.size - k :]
    return reached_A + float(top.sum()) < (1.0 - m) - 1e-12


def _others_top(E: np.ndarray, k: int) -> np.ndarray:
    """``O_ij`` = the sum of the ``k - 1`` largest entries of row ``i`` of ``E`` (N, m) other
    than column ``j`` (one copy of ``E_ij`` removed): ``T_k - E_ij`` where ``E_ij`` is at least
    the ``(k - 1)``-th largest value (then it belongs to the top ``k``, ties included), else
    ``T_{k-1}`` (``T_l`` the sum of the ``l`` largest)."""
    m = E.shape[1]
    if k <= 1:
        return np.zeros_like(E)
    if k >= m:
        return E.sum(axis=1, keepdims=True) - E
    top = -np.sort(-np.partition(E, m - k, axis=1)[:, m - k :], axis=1)  # (N, k) descending
    T_k = top.sum(axis=1, keepdims=True)
    kth1 = top[:, k - 2 : k - 1]  # the (k - 1)-th largest
    return np.where(E >= kth1, T_k - E, T_k - top[:, k - 1 :])


def reach(LA: np.ndarray, sub: np.ndarray, k: int, E_sub: np.ndarray | None) -> np.ndarray:
    """``t_ij`` of the module docstring (N, m), ``min(phi(s_i(A) + k e_ij), phi(s_i(A) + e_ij +
    O_ij))`` with ``e_ij = exp(a_ij)`` and ``O_ij`` the ``k - 1`` largest other scores of
    customer ``i`` (:func:`_others_top`): in log space (the scores shifted by each row's
    largest log-odds), or from the scores ``E_sub = exp(sub)`` (no overflow: the caller
    checks) as ``x / (1 + x)`` (a few units in the last place either way)."""
    if E_sub is None:
        shift = np.max(sub, axis=1, keepdims=True)
        shift = np.where(np.isfinite(shift), shift, 0.0)
        Es = np.exp(sub - shift)  # <= 1: no overflow
        with np.errstate(divide="ignore"):
            log_pair = shift + np.log(Es + _others_top(Es, k))
        log_reach = np.minimum(sub + math.log(k), log_pair)
        return expit(np.logaddexp(LA[:, None], log_reach))
    sA = np.exp(LA)[:, None]
    x = sA + np.minimum(k * E_sub, E_sub + _others_top(E_sub, k))
    x /= 1.0 + x
    return x


def graded_dominating_row(
    p: np.ndarray,
    LA: np.ndarray,
    sub: np.ndarray,
    k: int,
    u: np.ndarray,
    levels: np.ndarray,
    E_sub: np.ndarray | None = None,
) -> np.ndarray | None:
    """A vector ``v`` (N,) with ``Phi(f(T)) <= Phi(v)`` for every set ``T = A u X`` of the node
    (uniform ``p`` only; None otherwise): the claim of the module docstring at every level of
    ``levels`` (ascending), graded.

    *Proof.* For a level ``delta`` let ``cov(delta) = p(C_0) + (k largest p(C_j))`` as in the
    claim; every customer with ``f_i(T) > delta`` lies in ``C_0`` or in a ``C_j``, ``j in X``,
    so at least ``N (1 - cov(delta))`` customers have ``f_i(T) <= delta`` and (an integer) at
    least ``c(delta) = floor(N (1 - cov) - 1e-9)`` of them (the sums are exact to far below
    ``1e-9``). Hence the order statistics of ``f(T)`` satisfy ``f_(i) <= delta`` for
    ``i <= c(delta)``, and ``f_(i) <= u_(i)`` (``f(T) <= u`` pointwise, ``u`` the per-customer
    best completions). So ``f_(i) <= v_i = min(u_(i), min {delta : c(delta) >= i})``. With
    uniform ``p``, ``Phi`` depends only on the sorted values and is non-decreasing in each, so
    ``Phi(f(T)) = Phi(sorted f(T)) <= Phi(v)``. QED.

    All levels in one pass: customer ``i`` is in ``C_j`` at level ``delta`` iff
    ``f_i(A) <= delta < t_ij``, an interval of levels, accumulated by a
    difference array per location; the interval ends are widened by ``1e-9`` relative and
    ``1e-15`` absolute (customers near an end count as reached, and may count twice with
    ``C_0``: only larger ``cov``, a weaker, still valid, bound). ``E_sub`` as in
    :func:`coverage_discards`."""
    N = p.size
    if not bool(np.all(p == p[0])) or k <= 0:
        return None
    L = levels.size
    fA = expit(LA)
    t = reach(LA, sub, k, E_sub)  # (N, m): module docstring
    lo = np.searchsorted(levels, fA * (1.0 - 1e-9) - 1e-15, side="left")  # first level >= start
    hi = np.searchsorted(levels, t * (1.0 + 1e-9) + 1e-15, side="left")  # levels < end
    m = sub.shape[1]
    cols = np.arange(m)[None, :] * (L + 1)
    size = m * (L + 1)
    # uniform p: integer customer counts per (location, level), times the weight p_0 at the end
    diff = np.bincount((cols + lo[:, None]).ravel(), minlength=size)
    diff -= np.bincount((cols + np.maximum(hi, lo[:, None])).ravel(), minlength=size)
    cov_j = p[0] * np.cumsum(diff.reshape(m, L + 1), axis=1)[:, :L]  # (m, L): p(C_j) per level
    top = cov_j if k >= m else np.partition(cov_j, m - k, axis=0)[m - k :]
    # p(C_0) at each level: customers with f_i(A) above it (widened the same way)
    c0_end = np.searchsorted(levels, (fA + 1e-15) / (1.0 - 1e-9), side="left")  # levels < end
    c0 = np.cumsum(np.bincount(c0_end, p, minlength=L + 1)[::-1])[::-1][1:]  # sum over end > l
    cov = c0 + top.sum(axis=0)
    count = np.clip(np.floor(N * (1.0 - cov) - 1e-9), 0, N).astype(np.int64)
    ranks = np.maximum.accumulate(count)  # levels ascending: ranks 1..ranks_l are <= levels[l]
    first = np.searchsorted(ranks, np.arange(1, N + 1), side="left")  # smallest such level
    cap = np.where(first < L, levels[np.minimum(first, L - 1)], np.inf)
    return np.minimum(np.sort(u), cap)
