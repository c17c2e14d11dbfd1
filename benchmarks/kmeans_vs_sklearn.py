"""Weighted k-means: dro_opt's ``weighted_kmeans`` vs scikit-learn's ``KMeans(sample_weight=q)``.

The facility-location use (paper 003 Sec. 4, ``models/facility_location/reduce.py``): cluster
customers with their demand weights ``q``. Data: the customers of the seeded NYC-scale
synthetic instance (``dro_opt.instances.nyc_synthetic``, integer weights ``q ~ Geometric(0.15)``)

* ``2d``: their 2-D home coordinates (km), N = 800 and N = 82,341;
* ``logodds``: the k-means space that ``reduce_by_clustering`` actually uses, the log-odds
  clipped to [-10, 10] of the 59 candidate sites (N x 59), N = 800 and 82,341;

K in {50, 200}. Both start from weighted k-means++ seeding (one initialisation, ``n_init=1``),
at most 100 Lloyd rounds; ours stops when the relative decrease of the objective is below 1e-4,
scikit-learn when the centres move less than its ``tol=1e-4`` (relative to the data's variance)
-- different but comparable rules. Inertia ``sum_i q_i ||x_i - c_{l(i)}||^2`` is recomputed here
for both from the returned labels and centres; seconds are the best of ``--repeats`` (default 3)
on the same seeds, the inertia the mean over ``--seeds`` (default 3) seeds.

Run from the repository root::

    python benchmarks/kmeans_vs_sklearn.py [--quick]

Measured (2-core machine shared with ~8 other jobs, so seconds vary by up to ~3x between runs;
Python 3.11, scikit-learn 1.9.1)::

    best of 3 (seconds), mean inertia over 3 seeds
    space         N    K   ours s sklearn s  ratio   ours inertia  sklearn inertia   ratio  rounds
    2d          800   50    0.004     0.012   2.70        42761.1          40220.5  0.9406    14/10
    2d          800  200    0.009     0.089  10.32        5675.11           4811.6  0.8478     8/5
    2d        82341   50    2.137     1.356   0.63    5.44456e+06      5.38284e+06  0.9887    45/50
    2d        82341  200    8.200     6.436   0.78     1.4463e+06      1.43766e+06  0.9940    54/45
    logodds     800   50    0.042     0.212   4.99        58065.5          55318.2  0.9527    12/10
    logodds     800  200    0.104     0.324   3.12        8096.47          6775.19  0.8368     6/5
    logodds   82341   50   10.813     5.728   0.53    7.22767e+06      7.15184e+06  0.9895    42/89
    logodds   82341  200   15.808    25.808   1.63    1.95108e+06      1.94804e+06  0.9984    48/85

Conclusion (kept in ``dro_opt/reductions/clustering.py``): scikit-learn's inertia is lower on
every row, its time is not within 1.2x of the hand-written loop's (3-10x slower at N = 800,
0.5-1.6x at N = 82,341), so the hand-written loop stays.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np
from sklearn.cluster import KMeans

from dro_opt.instances.nyc_synthetic import (
    CENTRES,
    NYC_CUSTOMERS,
    _draw_points,
    generate_nyc_synthetic,
)
from dro_opt.models.facility_location.reduce import SPACE_CLIP, clipped_log_odds
from dro_opt.reductions.clustering import weighted_kmeans


def customers_2d(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The first draws of ``generate_nyc_synthetic(seed, customers=n)``: coordinates and q."""
    rng = np.random.default_rng(seed)
    points = _draw_points(rng, n, CENTRES[:, 2], 1.0)
    q = rng.geometric(0.15, size=n).astype(float)
    return points, q


def customers_logodds(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    inst = generate_nyc_synthetic(seed, customers=n)
    return clipped_log_odds(inst.a, SPACE_CLIP), inst.q


def inertia(X: np.ndarray, q: np.ndarray, labels: np.ndarray, centres: np.ndarray) -> float:
    return float(q @ ((X - centres[labels]) ** 2).sum(axis=1))


def ours(X: np.ndarray, q: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    km = weighted_kmeans(X, q, k, seed=seed, max_iter=100)
    return km.labels, km.centres, km.iterations


def sklearn(X: np.ndarray, q: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    km = KMeans(k, init="k-means++", n_init=1, max_iter=100, tol=1e-4, random_state=seed)
    km.fit(X, sample_weight=q)
    return km.labels_, km.cluster_centers_, int(km.n_iter_)


def measure(
    fn: Callable[..., tuple[np.ndarray, np.ndarray, int]],
    X: np.ndarray,
    q: np.ndarray,
    k: int,
    seeds: int,
    repeats: int,
) -> tuple[float, float, float]:
    """(best seconds over repeats of seed 0, mean inertia and mean Lloyd rounds over the
    seeds)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(X, q, k, 0)
        best = min(best, time.perf_counter() - t0)
    runs = [fn(X, q, k, s) for s in range(seeds)]
    values = [inertia(X, q, labels, centres) for labels, centres, _ in runs]
    return best, float(np.mean(values)), float(np.mean([r[2] for r in runs]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 800 only")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args(argv)
    if args.repeats < 1 or args.seeds < 1:
        print("error: --repeats and --seeds must be >= 1", file=sys.stderr)
        return 2
    sizes = [800] if args.quick else [800, NYC_CUSTOMERS]
    print(f"best of {args.repeats} (seconds), mean inertia over {args.seeds} seeds")
    print(
        f"{'space':<8}{'N':>7}{'K':>5} {'ours s':>8} {'sklearn s':>9} {'ratio':>6} "
        f"{'ours inertia':>14} {'sklearn inertia':>16} {'ratio':>7} {'rounds':>11}"
    )
    for space, make in (("2d", customers_2d), ("logodds", customers_logodds)):
        for n in sizes:
            X, q = make(n)
            for k in (50, 200):
                t_o, i_o, r_o = measure(ours, X, q, k, args.seeds, args.repeats)
                t_s, i_s, r_s = measure(sklearn, X, q, k, args.seeds, args.repeats)
                print(
                    f"{space:<8}{n:>7}{k:>5} {t_o:>8.3f} {t_s:>9.3f} {t_s / t_o:>6.2f} "
                    f"{i_o:>14.6g} {i_s:>16.6g} {i_s / i_o:>7.4f} {r_o:>5.0f}/{r_s:<5.0f}",
                    flush=True,
                )
    print("ratio columns: sklearn / ours (time > 1: ours faster; inertia > 1: ours better)")
    print("rounds: mean Lloyd iterations ours/sklearn")
    return 0


if __name__ == "__main__":
    sys.exit(main())
