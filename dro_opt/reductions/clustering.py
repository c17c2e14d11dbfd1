"""Weighted k-means (k-means++ seeding + Lloyd iterations), vectorised.

Used by paper 003 Sec. 4 ("clustering approach") to pick representatives, and to form the
strata of stratified sampling. Written here because ``scipy.cluster.vq.kmeans2`` takes no sample
weights (customers carry demand weights ``q``).

Objective: ``min sum_i q_i ||x_i - c_{l(i)}||_2^2``. Seeding (Arthur & Vassilvitskii 2007,
weighted): the first centre is drawn with probability ``proportional to q_i``, each next one with
probability ``proportional to q_i * min_c ||x_i - c||^2``. Lloyd: assign each point to its nearest
centre (squared distances from one matrix product), move each centre to the weighted mean of
its points; stop when no assignment changes, the relative decrease of the objective is below
``tol`` (default 1e-4), or after ``max_iter`` rounds. Points with ``q_i = 0`` are assigned but
never move or seed a centre. Clusters that end up with no positive weight are dropped.

Why not scikit-learn's ``KMeans(n_init=1).fit(X, sample_weight=q)`` (a dependency since issue
12): measured with ``benchmarks/kmeans_vs_sklearn.py`` on the customers of the NYC-scale
synthetic instance (2-D home coordinates; the 59-dimensional clipped log-odds that
``reduce_by_clustering`` clusters), 2-core machine shared with ~8 other jobs (seconds noisy),
best of 3, inertia the mean over 3 seeds, Lloyd rounds ours/sklearn::

    space     N       K    ours s  sklearn s  inertia sklearn/ours  rounds
    2-D       800     50    0.004    0.012          0.941            14/10
    2-D       800    200    0.009    0.089          0.848             8/5
    2-D       82341   50    2.137    1.356          0.989            45/50
    2-D       82341  200    8.200    6.436          0.994            54/45
    log-odds  800     50    0.042    0.212          0.953            12/10
    log-odds  800    200    0.104    0.324          0.837             6/5
    log-odds  82341   50   10.813    5.728          0.990            42/89
    log-odds  82341  200   15.808   25.808          0.998            48/85

(an earlier run: 2-D N = 82,341, K = 200 took 3.4 s here vs 10.8 s in scikit-learn). scikit-learn
finds a lower weighted inertia on every row (0.2 % to 16 %; its greedy k-means++ seeding tries
``2 + log K`` candidates per centre, and it runs more rounds at large N), but it is not within
1.2x of this loop's time: 3x to 10x slower at N = 800 and between 0.5x and 1.6x at N = 82,341
in the same run, so this implementation is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

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


def _relative_sq_dist(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    """(N, K) ``||x - c||^2 - ||x||^2 = ||c||^2 - 2 x'c`` (same argmin), in ``X``'s dtype."""
    C = C.astype(X.dtype, copy=False)
    G = X @ C.T
    G *= -2.0
    G += (C * C).sum(axis=1)[None, :]
    return G


def _seed(X: np.ndarray, q: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    x_sq = (X * X).sum(axis=1)
    first = rng.choice(X.shape[0], p=q / q.sum())
    centres = [X[first]]
    best = _sq_dist(X, x_sq, X[first][None, :])[:, 0]
    for _ in range(1, k):
        score = q * best
        total = score.sum()
        if not total > 0:  # fewer distinct weighted points than k
            break
        nxt = rng.choice(X.shape[0], p=score / total)
        centres.append(X[nxt])
        best = np.minimum(best, _sq_dist(X, x_sq, X[nxt][None, :])[:, 0])
    return np.array(centres)


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
    """Cluster the rows of ``X`` (N, D) with sample weights into at most ``k`` clusters.

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
    rng = np.random.default_rng(seed)
    C = _seed(X, q, int(k), rng)
    x_sq = (X * X).sum(axis=1)
    labels = np.full(N, -1)
    inertia = np.inf
    it = 0
    rows = np.arange(N)
    X32 = X.astype(np.float32)  # assignments only; centres and inertia stay float64
    for it in range(1, max_iter + 1):  # noqa: B007 -- iteration count reported
        rel = _relative_sq_dist(X32, C)
        new = np.argmin(rel, axis=1)
        new_inertia = float(q @ np.maximum(x_sq + rel[rows, new].astype(float), 0.0))
        changed = not np.array_equal(new, labels)
        labels = new
        sums, w = _means(X, q, labels, C.shape[0])
        keep = w > 0
        C = np.where(keep[:, None], sums / np.where(keep, w, 1.0)[:, None], C)
        done = not changed or inertia - new_inertia <= tol * max(new_inertia, 1e-300)
        inertia = new_inertia
        if done:
            break
    # final assignment to the final centres, then drop weightless clusters
    labels = np.argmin(_relative_sq_dist(X, C), axis=1)
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
    return KMeansResult(labels, centres, w[keep], inertia, it)
