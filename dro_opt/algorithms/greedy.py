"""Greedy and swap local search incumbents for max-capture facility location (vectorised).

The objective of a set ``S`` is ``F(S) = Phi(f(S))`` with ``f_i(S) = sigmoid(L_i(S))``,
``L_i(S) = logsumexp_{j in S} a_ij``, and ``Phi`` either the weighted sum ``q'f`` (ERM) or the
chi-square worst case ``n min_P P'f`` (paper 003 Sec. 3.2, docs/conventions.md, 'Chi-square DRO').

Candidate screening (exact, not a heuristic shortcut): for chi-square, every ``P`` in the ball
gives ``Phi(f) <= n P'f`` for all ``f``, so with ``P`` the worst case at the current set the
linear surrogates ``n P'f(T)`` are upper bounds of ``F(T)``. Candidates are evaluated exactly in
decreasing order of the surrogate and the scan stops once the best exact value reaches the next
surrogate: the chosen move is the exact best move. For ERM the surrogate is the value itself.

Greedy gives the classical ``(1 - 1/e)`` guarantee for the monotone submodular objectives
(Nemhauser, Wolsey & Fisher 1978); best-improvement 1-swap (and optionally 2-swap) local search
then polishes it. These only supply incumbents and initial cut points; optimality is proved by
the outer approximation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from scipy.special import expit

from dro_opt.algorithms.capture_objectives import chi2_worst_case
from dro_opt.algorithms.capture_objectives import logsumexp_rows as logsumexp

__all__ = ["SetObjective", "greedy", "local_search"]


@dataclass
class SetObjective:
    """Exact set objective with linear upper surrogates.

    Parameters
    ----------
    a : (N, D) log-odds.
    q : (N,) weights.
    kind : "erm" or "chi2".
    rho : chi-square radius parameter (radius ``rho / n``).
    """

    a: np.ndarray
    q: np.ndarray
    kind: str = "erm"
    rho: float = 0.0
    evaluations: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.n = float(self.q.sum())
        self.p = self.q / self.n
        if self.kind == "erm" or self.rho == 0.0:
            self.kind = "erm"

    def from_probabilities(self, f: np.ndarray) -> tuple[float, np.ndarray]:
        """``(F, w)``: exact value and surrogate weights ``w`` with ``F(T) <= w'f(T)`` for all
        ``T`` and equality at this ``f`` (``w = q`` for ERM, ``n P*`` for chi-square)."""
        self.evaluations += 1
        if self.kind == "erm":
            return float(f @ self.q), self.q
        val, P = chi2_worst_case(self.p, f, self.rho / self.n)
        return self.n * val, self.n * P

    def log_scores(self, mask: np.ndarray) -> np.ndarray:
        if not mask.any():
            return np.full(self.a.shape[0], -np.inf)
        return logsumexp(self.a[:, mask], axis=1)

    def value(self, mask: np.ndarray) -> float:
        return self.from_probabilities(expit(self.log_scores(np.asarray(mask, bool))))[0]


def _best_of_candidates(
    obj: SetObjective,
    weights: np.ndarray,
    candidate_f: Callable[[np.ndarray], np.ndarray],
    count: int,
    threshold: float,
    chunk: int,
) -> tuple[int, float]:
    """Exact best candidate index among ``count`` candidates (or -1 if none beats
    ``threshold``). ``candidate_f(idx)`` returns the (k, N) probabilities of candidates idx."""
    surrogate = np.empty(count)
    for start in range(0, count, chunk):
        idx = np.arange(start, min(count, start + chunk))
        surrogate[idx] = candidate_f(idx) @ weights
    if obj.kind == "erm":
        obj.evaluations += count
        k = int(np.argmax(surrogate))
        return (k, float(surrogate[k])) if surrogate[k] > threshold else (-1, threshold)
    best_k, best_v = -1, threshold
    for k in np.argsort(-surrogate):
        if surrogate[k] <= best_v:
            break
        v = obj.from_probabilities(candidate_f(np.array([k]))[0])[0]
        if v > best_v:
            best_k, best_v = int(k), v
    return best_k, best_v


def greedy(obj: SetObjective, budget: int, chunk_elements: int = 4_000_000) -> list[np.ndarray]:
    """Best-addition greedy; returns the masks of every prefix ``S_1, ..., S_r`` (always adds the
    best element, also on ties: the objectives are monotone, so adding never hurts)."""
    a = obj.a
    N, D = a.shape
    mask = np.zeros(D, dtype=bool)
    L = np.full(N, -np.inf)
    _, weights = obj.from_probabilities(expit(L))
    chunk = max(1, chunk_elements // max(N, 1))
    prefixes = []
    for _ in range(min(budget, D)):
        free = np.flatnonzero(~mask)

        def cand(idx: np.ndarray, free: np.ndarray = free, L: np.ndarray = L) -> np.ndarray:
            return expit(np.logaddexp(L[None, :], a[:, free[idx]].T))

        k, _v = _best_of_candidates(obj, weights, cand, free.size, -np.inf, chunk)
        if k < 0:
            break
        j = free[k]
        mask = mask.copy()
        mask[j] = True
        L = np.logaddexp(L, a[:, j])
        _value, weights = obj.from_probabilities(expit(L))
        prefixes.append(mask)
    return prefixes


def _drop_scores(a: np.ndarray, members: np.ndarray, drop: tuple[int, ...]) -> np.ndarray:
    keep = np.setdiff1d(members, np.asarray(drop, dtype=int))
    if keep.size == 0:
        return np.full(a.shape[0], -np.inf)
    return logsumexp(a[:, keep], axis=1)


def local_search(
    obj: SetObjective,
    mask: np.ndarray,
    *,
    two_swap: bool = False,
    max_rounds: int = 100,
    chunk_elements: int = 4_000_000,
) -> tuple[np.ndarray, float, list[np.ndarray]]:
    """Best-improvement swap local search from ``mask`` (size preserved).

    1-swap: replace one member by one non-member. 2-swap (optional, used when 1-swap is stuck):
    replace two members by two non-members. Returns ``(best mask, its value, visited masks)``.
    """
    a = obj.a
    N, _D = a.shape
    mask = np.asarray(mask, dtype=bool).copy()
    chunk = max(1, chunk_elements // max(N, 1))
    visited = [mask.copy()]
    value, weights = obj.from_probabilities(expit(obj.log_scores(mask)))
    for _ in range(max_rounds):
        members, outside = np.flatnonzero(mask), np.flatnonzero(~mask)
        if members.size == 0 or outside.size == 0:
            break
        improved = False
        for size in (1, 2) if two_swap else (1,):
            if members.size < size or outside.size < size:
                break
            drops = list(combinations(members.tolist(), size))
            adds = np.array(list(combinations(outside.tolist(), size)), dtype=int)
            Ld = np.stack([_drop_scores(a, members, d) for d in drops])  # (nd, N)
            n_add = adds.shape[0]

            def cand(idx: np.ndarray, Ld: np.ndarray = Ld, adds: np.ndarray = adds) -> np.ndarray:
                di, ai = np.divmod(idx, adds.shape[0])
                La = (
                    logsumexp(a[:, adds[ai]], axis=2).T
                    if adds.shape[1] > 1
                    else a[:, adds[ai, 0]].T
                )
                return expit(np.logaddexp(Ld[di], La))

            k, v = _best_of_candidates(obj, weights, cand, len(drops) * n_add, value, chunk)
            if k >= 0 and v > value * (1 + 1e-12):
                di, ai = divmod(k, n_add)
                mask[list(drops[di])] = False
                mask[adds[ai]] = True
                value, weights = obj.from_probabilities(expit(obj.log_scores(mask)))
                visited.append(mask.copy())
                improved = True
                break
        if not improved:
            break
    return mask, value, visited
