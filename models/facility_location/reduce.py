r"""Customer reductions for MC-FLP with rigorous, decision-uniform error bounds.

Paper 003 Sec. 4 (clustering, stratified sampling; Thms. 3-4) and App. L (the weighted objective
keeps the MISOCP form): replace the N customers by K weighted representatives, solve the small
problem, and account for the error. docs/facility_location.md, "Reduction error bounds", gives the
bounds (implemented generically in :mod:`dro_opt.reductions.coupling_bounds`) in terms of a
per-pair bound ``d_ik >= sup_z |f_i(z) - g_k(z)|``; this module supplies ``d_ik`` for MC-FLP.

Per-pair bound. ``f(z) = sigma(LSE_S(a))``, ``LSE_S(a) = log sum_{j in S} exp(a_j)``, S the open
set. The simple bound is ``min(1, ||a_i - a_k||_inf / 4)`` (LSE is 1-Lipschitz in the sup-norm,
sigma is 1/4-Lipschitz); available as ``method="lipschitz"``. The default ``"refined"`` bound is
never larger and is proved as follows. Let ``u = max(a_i, a_k)``, ``l = min(a_i, a_k)``
coordinatewise, ``delta_j = u_j - l_j``, ``gap_j = e^{u_j} - e^{l_j}``. By monotonicity both
values lie in ``[sigma(LSE_S l), sigma(LSE_S u)]``, so ``|f_i - f_k| <= h(S) := sigma(LSE_S u) -
sigma(LSE_S l)``.

(i) For any split of the coordinates into F and R, let ``m = (u on F, l on R)``. Then
    ``sigma(LSE_S u) - sigma(LSE_S m) <= tanh(max_{R} delta / 4)`` (the vectors differ only on R,
    by at most that much in sup-norm, and ``sup_t sigma(t + c) - sigma(t) = tanh(c / 4)``), and
    ``sigma(LSE_S m) - sigma(LSE_S l) <= sum_{F} gap`` (``s -> s / (1 + s)`` is 1-Lipschitz in
    the sum of exponentials). The best F is a prefix of the coordinates sorted by ``delta``
    descending, so the minimum over all F costs one sort.
(ii) For any threshold ``tau``: if S holds a j with ``l_j >= tau`` then both values are
    ``>= sigma(tau)`` and ``h(S) <= sigma(-tau)``; otherwise S lies in ``{l < tau}`` and (i)
    applies to those coordinates only. So ``h(S) <= max(sigma(-tau), (i) on {l < tau})``; we take
    the minimum over a fixed grid of ``tau`` (any tau is valid).

Clipping. Log-odds of irrelevant locations can be -inf or hundreds below zero (HM14, beta = 10).
Bounds are computed on ``clip(a, -40, 40)``: clipping below at ``c`` changes the sum of
exponentials by at most ``D e^c`` and ``f`` by at most the same; clipping above at ``C`` matters
only when an open ``a_j >= C``, where both values lie in ``[sigma(C), 1]``. So
``|f - fbar| <= (D + 1) e^{-40}`` on each side, added to ``d`` (about 1e-16).

Representatives. Clustering: weighted k-means of the customers in ``clip(a, -10, 10)``
(log-odds utility space, with irrelevant locations flattened so they do not dominate the
distances); each cluster is represented by the weighted centroid ``a_k`` of its members' log-odds
``clip(a, -40, 40)`` (a legitimate reduced sample: the reduced objective is evaluated at it
exactly; the bound uses ``d_ik`` between the true ``a_i`` and ``a_k``) with weight
``w_k = sum_{i in k} q_i``; coupling: each customer to its centre. Stratified sampling:
strata = the k-means clusters, ``per_stratum`` customers drawn per stratum (their own
utilities), weights ``Q_s q_k / sum_drawn q``, the product coupling within each stratum
(:mod:`dro_opt.reductions.stratified`).
The reported ``radius`` is the max over coupled pairs of ``||a_i - a_k||_inf`` in the k-means
space ``clip(a, -10, 10)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from dro_opt.certify import CertificateLine
from dro_opt.errors import ParameterError
from dro_opt.models.facility_location.instance import MCFLPInstance
from dro_opt.reductions.coupling_bounds import (
    CouplingSummary,
    summarize_coupling,
    uniform_errors,
    uniform_errors_from_max,
)
from dro_opt.reductions.representatives import choose_representatives

__all__ = [
    "CLIP",
    "SPACE_CLIP",
    "Reduction",
    "clipped_log_odds",
    "pair_bounds",
    "reduce_by_clustering",
    "reduce_by_stratified_sampling",
    "space_radius",
]

CLIP = 40.0  # clip of log-odds when bounding pairs (slack (D + 1) e^-40 per side)
SPACE_CLIP = 10.0  # clip of log-odds for the k-means space and the reported radius
TAU_GRID = (0.0, 1.5, 3.0, 4.5, 6.0, 8.0, 11.0, 15.0, 20.0, 30.0)


def clipped_log_odds(a: np.ndarray, clip: float = CLIP) -> np.ndarray:
    """``clip(a, -clip, clip)`` (-inf becomes -clip)."""
    return np.clip(a, -clip, clip)


def clip_slack(num_locations: int, clip: float = CLIP) -> float:
    """``(D + 1) e^{-clip}``: bound on ``|f_i(z) - fbar_i(z)|`` for every z (module docstring)."""
    return (num_locations + 1) * math.exp(-clip)


def _prefix_bound(ts: np.ndarray, gs: np.ndarray) -> np.ndarray:
    """Rows sorted by ``delta`` descending, ``ts = tanh(delta / 4)`` (entries may be zeroed):
    ``min_m max_{t >= m} ts_t + sum_{t < m} gs_t``, the best split F = first m coordinates
    (module (i); tanh is increasing, so the max of tanh is tanh of the max)."""
    P = ts.shape[0]
    far = np.cumsum(gs, axis=1)
    rest = np.maximum.accumulate(ts[:, ::-1], axis=1)[:, ::-1]  # max over t >= m
    best = np.minimum(rest[:, 0], far[:, -1])  # m = 0 and m = D
    if ts.shape[1] > 1:
        best = np.minimum(best, (rest[:, 1:] + far[:, :-1]).min(axis=1))
    return best if P else np.zeros(0)


def _refined_bound(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Per row, a bound on ``sup_S |sigma(LSE_S A_p) - sigma(LSE_S B_p)|`` (module (i), (ii)).

    One sort per row by ``delta`` descending; zeroing the coordinates with ``l >= tau`` keeps
    that order valid for the restricted problem of (ii) (the suffix maximum handles the gaps).
    """
    hi, lo = np.maximum(A, B), np.minimum(A, B)
    order = np.argsort(lo - hi, axis=1, kind="stable")  # delta descending
    hi = np.take_along_axis(hi, order, axis=1)
    lo = np.take_along_axis(lo, order, axis=1)
    ts = np.tanh((hi - lo) / 4.0)
    gs = np.exp(hi) - np.exp(lo)
    best = _prefix_bound(ts, gs)  # tau = +inf: every coordinate allowed
    for tau in TAU_GRID:
        floor = expit(-tau)
        if best.size == 0 or floor >= best.max():
            continue  # cannot improve any row
        allowed = lo < tau
        case2 = _prefix_bound(np.where(allowed, ts, 0.0), np.where(allowed, gs, 0.0))
        best = np.minimum(best, np.maximum(floor, case2))
    return best


def pair_bounds(
    a_full: np.ndarray,
    a_red: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    method: str = "refined",
) -> np.ndarray:
    """Rigorous ``d`` with ``|f_i(z) - g_k(z)| <= d`` for all z, for pairs ``(rows[t], cols[t])``.

    ``method="refined"`` (default): the interval / partition / threshold bound of the module
    docstring; ``"lipschitz"``: the simple ``min(1, ||a_i - a_k||_inf / 4)``. Both are
    computed on log-odds clipped at ``+-CLIP`` and include the clipping slack of both sides.
    Processed in chunks so memory stays at a few million floats.
    """
    if method not in ("refined", "lipschitz"):
        raise ParameterError(f"unknown pair bound {method!r}; use 'refined' or 'lipschitz'")
    A, B = clipped_log_odds(a_full), clipped_log_odds(a_red)
    D = A.shape[1]
    d = np.empty(rows.size)
    step = max(1, 1_000_000 // max(D, 1))
    for s in range(0, rows.size, step):
        Ar, Bc = A[rows[s : s + step]], B[cols[s : s + step]]
        if method == "lipschitz":
            d[s : s + step] = np.abs(Ar - Bc).max(axis=1, initial=0.0) / 4.0
        else:
            d[s : s + step] = _refined_bound(Ar, Bc)
    return np.minimum(1.0, d + 2.0 * clip_slack(D))


def space_radius(
    a_full: np.ndarray, a_red: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> float:
    """Max over the pairs of ``||clip(a_i) - clip(a_k)||_inf`` in the k-means space."""
    A, B = clipped_log_odds(a_full, SPACE_CLIP), clipped_log_odds(a_red, SPACE_CLIP)
    out = 0.0
    step = max(1, 1_000_000 // max(A.shape[1], 1))
    for s in range(0, rows.size, step):
        diff = np.abs(A[rows[s : s + step]] - B[cols[s : s + step]])
        out = max(out, float(diff.max(initial=0.0)))
    return out


@dataclass
class Reduction:
    """A weighted representative set with a feasible coupling to the full data.

    Attributes
    ----------
    instance : representatives (weights sum to the ORIGINAL ``n = sum q``).
    method : "kmeans" | "stratified".
    radius : max over coupled pairs of ``||a_i - a_k||_inf`` in ``clip(a, -10, 10)``.
    coupling : (N, K) CSR, ``pi_ik >= 0``, rows sum to ``q_i``, columns to ``w_k``.
    pair_bound : rigorous ``d_ik`` per stored coupling entry (:func:`pair_bounds`).
    labels : (N,) cluster / stratum of each customer.
    representatives : (K,) customer index of each representative (stratified) or None.
    """

    instance: MCFLPInstance
    method: str
    radius: float
    coupling: sp.csr_matrix
    pair_bound: np.ndarray
    labels: np.ndarray
    representatives: np.ndarray | None = None
    summary: CouplingSummary = field(init=False)

    def __post_init__(self) -> None:
        self.summary = summarize_coupling(
            self.coupling,
            np.asarray(self.coupling.sum(axis=1)).ravel(),
            self.instance.q,
            self.pair_bound,
        )

    def errors(self, objective: str, rho: float) -> tuple[float, float]:
        """``(upper, lower)``: ``F(z) <= G(z) + upper`` and ``G(z) <= F(z) + lower`` for every z
        (F full, G reduced objective; :func:`coupling_bounds.uniform_errors`)."""
        return uniform_errors(self.summary, objective, rho)

    def error_bound(self, objective: str, rho: float) -> CertificateLine:
        """Rigorous certificate line: ``OPT_full <= OPT_reduced + value`` (uniform in z)."""
        upper, _ = self.errors(objective, rho)
        form = {
            "erm": "n E_pi[d]",
            "variance": "n (E_pi[d] + sqrt(2 rho/n) rms_pi(d))",
            "chi2": "n sqrt(1 + 2 rho/n) ||e||_{2,w}",
        }["erm" if rho == 0 else objective]
        return CertificateLine(
            name=f"reduction_error[{self.method}]",
            value=float(upper),
            rigorous=True,
            note=(
                f"uniform in z: F_full(z) <= G_reduced(z) + {form}, d_ik >= sup_z |f_i - g_k| "
                f"over the coupling ({self.instance.num_customers} representatives, "
                f"E_pi[d] = {self.summary.mean_d:.3g}, radius {self.radius:.3g})"
            ),
        )

    def a_priori_bound(self, objective: str, rho: float) -> CertificateLine:
        """Paper 003 Thm. 3 shape: ``OPT_full - F_full(z_hat) <= value`` for ``z_hat`` optimal on
        the reduced instance, from the radius alone.

        Constants: ``L = 1/4`` (sigma of a 1-Lipschitz LSE, sharpened to ``tanh(eps / 4)``) on
        the sup-norm of clipped log-odds, ``f`` in ``[0, 1]``; every ``d_ik`` is replaced by
        ``d_max = min(1, tanh(radius / 4) + 2 (D + 1) e^{-10})`` (clipping slack of the k-means
        space), and the bound is ``upper + lower`` of :func:`uniform_errors_from_max`. For
        stratified sampling this is the deterministic stratum-radius version: paper Thm. 4's
        high-probability refinement is not computed (it needs a confidence level and a union
        over all decisions to be uniform in z).
        """
        D = self.instance.num_locations
        d_max = float(min(1.0, math.tanh(self.radius / 4.0) + 2.0 * clip_slack(D, SPACE_CLIP)))
        upper, lower = uniform_errors_from_max(self.summary.n, d_max, objective, rho)
        which = "Thm. 3" if self.method == "kmeans" else "Thm. 3 shape (deterministic; not Thm. 4)"
        return CertificateLine(
            name=f"a_priori[{self.method}]",
            value=float(upper + lower),
            rigorous=True,
            note=(
                f"paper 003 {which}: OPT_full - F_full(z_hat) <= value with d_max = {d_max:.3g} "
                f"from radius {self.radius:.3g}; bounds the suboptimality of the reduced "
                "optimum, not OPT itself"
            ),
        )


def _check_count(label: str, value: int, N: int) -> int:
    if not (isinstance(value, int | np.integer) and 1 <= value <= N):
        raise ParameterError(
            f"{label} must be an integer between 1 and the {N} customers, got {value!r}"
        )
    return int(value)


def reduce_by_clustering(
    instance: MCFLPInstance, clusters: int, seed: int = 0, *, max_iter: int = 100
) -> Reduction:
    """Weighted k-means of the customers in ``clip(a, -10, 10)``; centroids as representatives
    (module docstring).

    Parameters
    ----------
    instance : full data.
    clusters : K, 1 <= K <= N (fewer are returned if there are fewer distinct weighted points).
    seed : k-means++ seed.
    """
    N = instance.num_customers
    k = _check_count("clusters", clusters, N)
    reps = choose_representatives(
        clipped_log_odds(instance.a, SPACE_CLIP), instance.q, clusters=k, seed=seed,
        max_iter=max_iter,
    )  # fmt: skip
    coupling, rows, cols, weights = reps.coupling, reps.rows, reps.cols, reps.weights
    # representatives: weighted centroids of the final clusters in clip(a, -CLIP, CLIP)
    centres = (coupling.T @ clipped_log_odds(instance.a)) / weights[:, None]
    d = pair_bounds(instance.a, centres, rows, cols)
    reduced = MCFLPInstance(
        q=weights,
        a=centres,
        name=f"{instance.name}/kmeans{reps.strata}",
        meta={
            **instance.meta,
            "reduction": "kmeans",
            "clusters": int(reps.strata),
            "seed": int(seed),
        },
    )
    radius = space_radius(instance.a, centres, rows, cols)
    return Reduction(reduced, "kmeans", radius, coupling, d, reps.labels)


def reduce_by_stratified_sampling(
    instance: MCFLPInstance, strata: int, per_stratum: int, seed: int = 0, *, max_iter: int = 100
) -> Reduction:
    """Strata from weighted k-means (``strata`` clusters), ``per_stratum`` customers drawn per
    stratum without replacement (seeded), weights ``Q_s q_k / sum_drawn q`` (total n)."""
    N = instance.num_customers
    k = _check_count("strata", strata, N)
    if not (isinstance(per_stratum, int | np.integer) and per_stratum >= 1):
        raise ParameterError(f"per_stratum must be an integer >= 1, got {per_stratum!r}")
    reps = choose_representatives(
        clipped_log_odds(instance.a, SPACE_CLIP), instance.q, strata=k,
        per_stratum=int(per_stratum), seed=seed, max_iter=max_iter,
    )  # fmt: skip
    a_red = instance.a[reps.indices]
    d = pair_bounds(instance.a, a_red, reps.rows, reps.cols)
    reduced = MCFLPInstance(
        q=reps.weights,
        a=a_red,
        name=f"{instance.name}/strat{reps.strata}x{per_stratum}",
        meta={
            **instance.meta,
            "reduction": "stratified",
            "strata": int(reps.strata),
            "per_stratum": int(per_stratum),
            "seed": int(seed),
        },
    )
    radius = space_radius(instance.a, a_red, reps.rows, reps.cols)
    return Reduction(reduced, "stratified", radius, reps.coupling, d, reps.labels, reps.indices)
