"""Exact MC-FLP optimum by exhaustive enumeration: the oracle for tests and certificates.

Enumerates every set ``S`` of open locations with ``|S| = r`` (ERM and chi-square DRO: both are
non-decreasing in ``z`` -- ``f_i`` is, and ``Phi(f) = min_P P'f`` is monotone -- so some optimal set
uses the whole budget) or every set with ``|S| <= r`` (variance-regularised objective, which is
not monotone in ``z``). Sets are processed in chunks: for a chunk of ``K`` sets with index array
``idx`` (K, s), the log-scores are ``logsumexp`` over the gathered ``a[:, idx]`` (N, K, s), i.e.
exactly :func:`objectives.log_score` restricted to the open columns (closed columns contribute
``exp(-inf) = 0``), at ``N*K*s`` memory instead of the ``N*K*D`` of
:func:`objectives.evaluate_many`. The objective of each row is then computed by the same
vectorised functions the certificates use, and the winner is re-evaluated with
:func:`objectives.evaluate`.
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import numpy as np
from scipy.special import expit, logsumexp

from dro_opt.errors import ParameterError
from dro_opt.models.facility_location import objectives
from dro_opt.models.facility_location.instance import MCFLPInstance

__all__ = ["BruteForceResult", "brute_force", "open_to_z"]

MONOTONE = ("erm", "chi2")


class BruteForceResult(NamedTuple):
    """``(value, open, values)``: best value, its sorted 1-based open set, all values.

    ``values`` (in enumeration order: sizes ascending, each in lexicographic order) is ``None``
    unless requested. Ties are broken by the first set in that order.
    """

    value: float
    open: tuple[int, ...]
    values: np.ndarray | None


def open_to_z(open_set: tuple[int, ...] | list[int], num_locations: int) -> np.ndarray:
    """0/1 vector (D,) of a 1-based open set."""
    z = np.zeros(num_locations)
    z[np.asarray(open_set, dtype=int) - 1] = 1.0
    return z


def _combination_chunks(D: int, s: int, chunk: int):
    it = itertools.combinations(range(D), s)
    while True:
        block = np.fromiter(
            itertools.chain.from_iterable(itertools.islice(it, chunk)), dtype=np.intp
        )
        if block.size == 0:
            return
        yield block.reshape(-1, s)


def _values_of_sets(
    instance: MCFLPInstance, idx: np.ndarray, objective: str, rho: float
) -> np.ndarray:
    """Objective of every set in ``idx`` (K, s) (0-based columns)."""
    if idx.shape[1] == 0:
        F = np.zeros((idx.shape[0], instance.num_customers))
    else:
        F = expit(logsumexp(instance.a[:, idx], axis=2)).T  # (K, N)
    q = instance.q
    if objective == "erm" or rho == 0.0:
        return objectives.erm_value(q, F)
    if objective == "variance":
        return objectives.variance_value(q, F, rho)
    return np.array([objectives.chi2_value(q, F[k], rho) for k in range(F.shape[0])])


def brute_force(
    instance: MCFLPInstance,
    budget: int,
    objective: str = "erm",
    rho: float = 0.0,
    *,
    exact_size: bool | None = None,
    return_values: bool = False,
    max_sets: int = 5_000_000,
    chunk_elements: int = 4_000_000,
) -> BruteForceResult:
    """Maximise ``objective`` over all sets of at most ``budget`` open locations by enumeration.

    Parameters
    ----------
    instance : the (full or reduced) instance.
    budget : r, 0 <= r <= D.
    objective : "erm", "variance" or "chi2" (scales as in :mod:`objectives`).
    rho : radius (>= 0).
    exact_size : enumerate only ``|S| = r``. Default: True for the monotone objectives
        (erm, chi2, or rho = 0), False (all sizes 0..r) for variance.
    return_values : also return every enumerated value.
    max_sets : refuse (ParameterError) to enumerate more sets than this.
    chunk_elements : memory budget per chunk, in floats of the gathered (N, K, s) array.

    Returns
    -------
    BruteForceResult(value, open (1-based, sorted), values or None)
    """
    D = instance.num_locations
    if objective not in objectives.OBJECTIVES:
        raise ParameterError(
            f"unknown objective {objective!r}; use one of {', '.join(objectives.OBJECTIVES)}"
        )
    if not (isinstance(budget, int | np.integer) and 0 <= budget <= D):
        raise ParameterError(f"budget must be an integer between 0 and D = {D}, got {budget!r}")
    if not (math.isfinite(rho) and rho >= 0):
        raise ParameterError(f"rho must be a finite number >= 0, got {rho}")
    if exact_size is None:
        exact_size = objective in MONOTONE or rho == 0.0
    sizes = [int(budget)] if exact_size else list(range(int(budget) + 1))
    total = sum(math.comb(D, s) for s in sizes)
    if total > max_sets:
        raise ParameterError(
            f"brute force would enumerate {total} sets (> max_sets = {max_sets}); use a "
            "smaller instance/budget or raise max_sets"
        )
    N = instance.num_customers
    best_val, best_set = -np.inf, ()
    all_vals: list[np.ndarray] = []
    for s in sizes:
        chunk = max(1, chunk_elements // max(1, N * max(s, 1)))
        for idx in _combination_chunks(D, s, chunk) if s > 0 else [np.zeros((1, 0), np.intp)]:
            vals = _values_of_sets(instance, idx, objective, rho)
            k = int(np.argmax(vals))
            if vals[k] > best_val:
                best_val, best_set = float(vals[k]), tuple(int(j) + 1 for j in idx[k])
            if return_values:
                all_vals.append(vals)
    # re-evaluate the winner with the certificate's exact evaluator
    exact = objectives.evaluate(instance.a, instance.q, open_to_z(best_set, D), objective, rho)
    return BruteForceResult(
        float(exact), best_set, np.concatenate(all_vals) if return_values else None
    )
