"""Weighted k-means: scikit-learn's ``KMeans(...).fit(X, sample_weight=q)`` behind a stable API.

Used by paper 003 Sec. 4 ("clustering approach") to pick representatives, and to form the
strata of stratified sampling; customers carry demand weights ``q``.

Objective: ``min sum_i q_i ||x_i - c_{l(i)}||_2^2``. scikit-learn (a dependency since issue 12)
seeds with weighted greedy k-means++ (Arthur & Vassilvitskii 2007; ``2 + log K`` candidates per
centre, the first drawn with probability proportional to ``q_i``) and runs Lloyd iterations
(one initialisation, ``n_init=1``, seeded by ``seed``) until the centres move less than ``tol``
relative to the data's variance or ``max_iter`` rounds. Afterwards, here: every point is
assigned to its nearest final centre, centres are the weighted means of their points, and
clusters with no positive weight are dropped (points with ``q_i = 0`` never seed a centre nor
move one; with fewer distinct weighted points than ``k`` fewer clusters are returned).

Why scikit-learn replaced the hand-written Lloyd loop (``benchmarks/kmeans_vs_sklearn.py``,
customers of the NYC-scale synthetic instance, 2-core machine shared with ~8 other jobs, so the
seconds are noisy; inertia = mean over 3 seeds, sklearn / hand-written)::

    space     N       K    hand-written s  sklearn s  inertia ratio
    2-D       800     50        0.004        0.012       0.941
    2-D       800    200        0.009        0.089       0.848
    2-D       82341   50        2.137        1.356       0.989
    2-D       82341  200        8.200        6.436       0.994
    log-odds  800     50        0.042        0.212       0.953
    log-odds  800    200        0.104        0.324       0.837
    log-odds  82341   50       10.813        5.728       0.990

(log-odds: the 59-dimensional clipped log-odds that ``reduce_by_clustering`` clusters.)
scikit-learn found a lower weighted inertia on every row (0.6 % to 16 %, mostly its greedy
seeding) and was as fast or faster at N = 82,341; at N = 800 it is slower (up to 0.3 s, against
the milliseconds of the MILP solves that follow it). An earlier run of the same script measured
2-D N = 82,341, K = 200 at 3.4 s (hand-written) vs 10.8 s (sklearn): timings on this shared
machine vary by about 3x.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

from dro_opt.errors import ParameterError

__all__ = ["KMeansResult", "weighted_kmeans"]


@dataclass(frozen=True)
class KMeansResult:
    labels: np.ndarray  # (N,) cluster of each point, 0..K-1
    centres: np.ndarray  # (K, D) weighted centroids
    weights: np.ndarray  # (K,) total weight per cluster (> 0)
    inertia: float  # sum_i q_i ||x_i - c_{l(i)}||^2
    iterations: int


def _sq_dist(X: np.ndarray, x_sq: np.ndarray, C: np.ndarray) -> np.ndarray:
    """(N, K) squared Euclidean distances, clipped at 0 against round-off."""
    return np.maximum(x_sq[:, None] - 2.0 * (X @ C.T) + (C * C).sum(axis=1)[None, :], 0.0)


def _means(X: np.ndarray, q: np.ndarray, labels: np.ndarray, k: int) -> tuple:
    M = sp.csr_matrix((q, (labels, np.arange(X.shape[0]))), shape=(k, X.shape[0]))
    weights = np.asarray(M.sum(axis=1)).ravel()
    sums = M @ X
    return sums, weights


def weighted_kmeans(
    X: np.ndarray,
    weights: np.ndarray,
    k: int,
    *,
    seed: int = 0,
    max_iter: int = 100,
    tol: float = 1e-4,
) -> KMeansResult:
    """Cluster the rows of ``X`` (N, D) with sample weights into at most ``k`` clusters
    (module docstring; ``tol`` is scikit-learn's centre-shift tolerance).

    Raises
    ------
    ParameterError
        ``k`` not an integer in ``[1, N]``, or weights negative/non-finite/all zero.
    """
    X = np.asarray(X, dtype=float)
    q = np.asarray(weights, dtype=float).ravel()
    N = X.shape[0]
    if not (isinstance(k, int | np.integer) and 1 <= k <= N):
        raise ParameterError(f"number of clusters must be an integer in [1, {N}], got {k!r}")
    if q.shape[0] != N or not np.isfinite(q).all() or (q < 0).any() or q.sum() <= 0:
        raise ParameterError("k-means weights must be finite, >= 0, not all zero, one per point")
    if not np.isfinite(X).all():
        raise ParameterError("k-means points must be finite (clip -inf utilities first)")
    km = KMeans(
        int(k), init="k-means++", n_init=1, max_iter=int(max_iter), tol=tol, random_state=seed
    )
    with warnings.catch_warnings():  # fewer distinct weighted points than k: handled below
        warnings.simplefilter("ignore", ConvergenceWarning)
        km.fit(X, sample_weight=q)
    C = np.asarray(km.cluster_centers_, dtype=float)
    x_sq = (X * X).sum(axis=1)
    # final assignment to the final centres, then drop weightless clusters
    labels = np.argmin(_sq_dist(X, x_sq, C), axis=1)
    sums, w = _means(X, q, labels, C.shape[0])
    keep = np.flatnonzero(w > 0)
    remap = np.full(C.shape[0], -1)
    remap[keep] = np.arange(keep.size)
    centres = sums[keep] / w[keep][:, None]
    labels = remap[labels]
    if (labels < 0).any():  # zero-weight points in dropped clusters: nearest kept centre
        lost = labels < 0
        labels[lost] = np.argmin(_sq_dist(X[lost], x_sq[lost], centres), axis=1)
    inertia = float(q @ ((X - centres[labels]) ** 2).sum(axis=1))
    return KMeansResult(labels, centres, w[keep], inertia, int(km.n_iter_))
