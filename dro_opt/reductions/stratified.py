"""Stratified sampling of weighted samples with a feasible coupling (paper 003 Sec. 4).

Given strata (a label per sample, e.g. from :func:`weighted_kmeans`), draw ``per_stratum``
distinct samples uniformly without replacement from the positive-weight members of each stratum
(all of them when the stratum is smaller), reproducibly from ``seed``. Weights: stratum ``s``
with total weight ``Q_s`` gives its drawn sample ``k`` the weight ``Q_s q_k / sum_{drawn} q``
(``N_s / S_s`` for unit weights, as in paper 003 Thm. 4), so each stratum keeps its mass and the
total is ``n = sum q`` exactly.

Coupling (needed for the rigorous bounds of :mod:`coupling_bounds`): within stratum ``s``,
``pi_ik = q_i w_k / Q_s`` for every member ``i`` and drawn ``k`` -- the product (independent)
coupling, which is feasible: rows sum to ``q_i`` and columns to ``w_k``. A stratum drawn
completely is coupled by the identity (``pi_ii = q_i``), which costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from dro_opt.errors import ParameterError

__all__ = ["StratifiedSample", "stratified_sample"]


@dataclass(frozen=True)
class StratifiedSample:
    indices: np.ndarray  # (K,) drawn samples (indices into the full data), grouped by stratum
    weights: np.ndarray  # (K,) their weights, summing to sum(q)
    strata: np.ndarray  # (K,) stratum of each drawn sample
    coupling: sp.csr_matrix  # (N, K)


def stratified_sample(
    labels: np.ndarray, q: np.ndarray, per_stratum: int, *, seed: int = 0
) -> StratifiedSample:
    """Draw ``per_stratum`` samples per stratum without replacement (module docstring).

    Raises
    ------
    ParameterError
        ``per_stratum < 1`` or labels/weights inconsistent.
    """
    labels = np.asarray(labels)
    q = np.asarray(q, dtype=float).ravel()
    N = q.shape[0]
    if not (isinstance(per_stratum, int | np.integer) and per_stratum >= 1):
        raise ParameterError(f"per_stratum must be an integer >= 1, got {per_stratum!r}")
    if labels.shape != (N,) or (labels < 0).any():
        raise ParameterError("strata labels must be one non-negative integer per sample")
    if not np.isfinite(q).all() or (q < 0).any() or q.sum() <= 0:
        raise ParameterError("weights must be finite, >= 0 and not all zero")
    rng = np.random.default_rng(seed)
    positive = q > 0
    # random order within each stratum: sort by (stratum, random key); zero weights last
    key = rng.random(N)
    order = np.lexsort((key, ~positive, labels))
    lab_sorted = labels[order]
    starts = np.flatnonzero(np.r_[True, lab_sorted[1:] != lab_sorted[:-1]])
    rank = np.arange(N) - np.repeat(starts, np.diff(np.r_[starts, N]))
    n_strata = int(labels.max()) + 1
    n_pos = np.bincount(labels, weights=positive.astype(float), minlength=n_strata).astype(int)
    take = rank < np.minimum(per_stratum, n_pos[lab_sorted])
    drawn = order[take]  # grouped by stratum (lexsort is stable in the primary key)
    drawn_strata = labels[drawn]
    Q = np.bincount(labels, weights=q, minlength=n_strata)
    q_drawn_total = np.bincount(drawn_strata, weights=q[drawn], minlength=n_strata)
    w = Q[drawn_strata] * q[drawn] / q_drawn_total[drawn_strata]
    K = drawn.size
    col_of = np.full(N, -1)
    col_of[drawn] = np.arange(K)
    complete = n_pos <= per_stratum  # every positive member drawn
    # identity part: positive members of complete strata
    ident = positive & complete[labels]
    rows_i = np.flatnonzero(ident)
    cols_i = col_of[rows_i]
    vals_i = q[rows_i]
    # product part: positive members of incomplete strata x the stratum's drawn samples
    prod = positive & ~complete[labels]
    members = np.flatnonzero(prod)
    s_ptr = np.r_[0, np.cumsum(np.bincount(drawn_strata, minlength=n_strata))]
    counts = (s_ptr[1:] - s_ptr[:-1])[labels[members]]
    rows_p = np.repeat(members, counts)
    offs = np.arange(rows_p.size) - np.repeat(np.r_[0, np.cumsum(counts)[:-1]], counts)
    cols_p = np.repeat(s_ptr[labels[members]], counts) + offs
    vals_p = q[rows_p] * w[cols_p] / Q[labels[rows_p]]
    coupling = sp.csr_matrix(
        (np.r_[vals_i, vals_p], (np.r_[rows_i, rows_p], np.r_[cols_i, cols_p])), shape=(N, K)
    )
    coupling.sum_duplicates()
    coupling.sort_indices()
    return StratifiedSample(drawn, w, drawn_strata, coupling)
