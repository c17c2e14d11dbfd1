r"""Representatives with a checked coupling, and the certified reduction built on them.

Paper 003 Sec. 4 replaces the N weighted samples by K weighted representatives, either the
centres of a clustering (Thm. 3) or samples drawn per stratum (Thm. 4; App. L: clustering is the
special case of one representative per stratum). Every model that reduces its data does the
same steps, written once here; only what a representative IS differs by model, so that part
comes in as callables:

1. :func:`choose_representatives`: weighted k-means of the model's feature vectors
   (:func:`~dro_opt.reductions.clustering.weighted_kmeans`); for clustering, each cluster is one
   representative with the cluster's weight and the coupling sends every sample to its centre
   (``pi_i,l(i) = q_i``); for stratified sampling the clusters are the strata and
   :func:`~dro_opt.reductions.stratified.stratified_sample` draws ``per_stratum`` samples per
   stratum with the product coupling. The coupling is validated (rows sum to ``q``, columns to
   the representatives' weights; :func:`~dro_opt.reductions.coupling_bounds.check_coupling`)
   and ``rows`` lists the sample of every stored entry in CSR order, so that per-pair bounds
   ``d`` computed for ``(rows, coupling.indices)`` are aligned with ``coupling.data``.
2. :func:`reduce_and_certify`: the reduced instance (``from_centres`` or ``from_sample``), the
   model's per-pair bounds ``d_ik >= sup_z |f_i(z) - f_k(z)|`` (``pair_bounds``), and the
   certificate line ``OPT_full <= OPT_reduced + upper / n`` in mean units, with ``upper`` the
   decision-uniform error of :func:`~dro_opt.reductions.coupling_bounds.uniform_errors`
   (docs/facility_location.md, 'Reduction error bounds').
3. Optionally (``representative_bounds``, clustering only) a model's own bound ``b_k >=
   sup_z |fhat_k(z) - g_k(z)|`` on each representative's coupled MEAN reward ``fhat_k = sum_i
   L(i|k) f_i`` (``L(i|k) = pi_ik / w_k``), e.g. a second-order one that uses the centroid being
   the mean (``models/facility_cost/cluster_taylor.py``). Then ``e_k = min(b_k, sum_i L(i|k)
   d_ik)`` (both bound ``|fhat_k - g_k|``) and :func:`representative_line` gives the line.

:func:`representative_line` (mean units, ``||e||_{2,w} = sqrt(sum_k (w_k / n) e_k^2)``), for
every decision ``z``, with ``F`` the full and ``G`` the reduced objective:

* ERM: ``F - G = sum_k (w_k / n)(fhat_k - g_k) <= sum_k (w_k / n) e_k``;
* VR, ``E f - c sd(f)`` with ``c = sqrt(2 rho / n)``: put ``(I, K) ~ pi / n`` on one space, so
  ``E[f_I | K] = fhat_K``. The means differ by at most ``sum_k (w_k / n) e_k``; by the law of
  total variance ``sd(f_I) >= sd(fhat_K)``, and ``sd(g_K) <= sd(fhat_K) + ||g_K - fhat_K||_2 <=
  sd(fhat_K) + ||e||_{2,w}``, so ``F - G <= sum_k (w_k / n) e_k + c ||e||_{2,w}``. With
  ``e_k = sum_i L(i|k) d_ik`` this is never above the coupling line ``E_pi[d] + c rms_pi(d)``
  (Jensen);
* chi-square: ``F - G <= sqrt(1 + 2 rho / n) ||e||_{2,w}`` (the reverse-kernel proof of
  :mod:`~dro_opt.reductions.coupling_bounds` only uses ``|fhat_k - g_k| <= e_k``), and also
  ``F - G <= max_k e_k``: the reverse kernel carries every ``P~`` of the reduced ball to a
  ``P`` of the full ball (data processing) with ``E_P f = E_P~ fhat``, so ``F <= Phi_red(fhat)``,
  and the worst case ``Phi_red`` is 1-Lipschitz in the sup-norm.

So ``OPT_full <= OPT_reduced + line`` as before (only this side enters the certificate).

Samples of zero weight carry no mass: they are left out of the clustering coupling (their
entries would be zero and change no bound).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp

from dro_opt.certify import CertificateLine
from dro_opt.reductions.clustering import weighted_kmeans
from dro_opt.reductions.coupling_bounds import check_coupling, summarize_coupling, uniform_errors
from dro_opt.reductions.stratified import stratified_sample

__all__ = ["Representatives", "choose_representatives", "reduce_and_certify", "representative_line"]

Reduced = TypeVar("Reduced")


@dataclass(frozen=True)
class Representatives:
    """K weighted representatives of N samples and a feasible coupling between them.

    Attributes
    ----------
    method : "clustering" or "stratified sampling".
    labels : (N,) cluster (= stratum) of every sample.
    strata : number of clusters / strata actually formed (k-means may return fewer).
    weights : (K,) representatives' weights, summing to ``sum q``.
    centres : (K, D) weighted centroids in feature space (clustering), else None.
    indices : (K,) drawn samples (stratified sampling), else None.
    coupling : (N, K) CSR, validated, canonical.
    rows : sample index of every stored coupling entry (aligned with ``coupling.data``).
    """

    method: str
    labels: np.ndarray
    strata: int
    weights: np.ndarray
    centres: np.ndarray | None
    indices: np.ndarray | None
    coupling: sp.csr_matrix
    rows: np.ndarray

    @property
    def cols(self) -> np.ndarray:
        """Representative of every stored coupling entry (aligned with ``coupling.data``)."""
        return self.coupling.indices


def choose_representatives(
    features: np.ndarray,
    q: np.ndarray,
    *,
    clusters: int | None = None,
    strata: int | None = None,
    per_stratum: int | None = None,
    seed: int = 0,
    max_iter: int = 100,
) -> Representatives:
    """Clustering (``clusters``) or stratified sampling (``strata`` and ``per_stratum``) of the
    rows of ``features`` with weights ``q`` (module docstring, step 1). Counts above N are
    capped at N; the caller validates the arguments."""
    q = np.asarray(q, dtype=float)
    N = q.shape[0]
    count = clusters if clusters is not None else strata
    if count is None or (clusters is None and per_stratum is None):
        raise ValueError("give clusters, or strata with per_stratum")
    km = weighted_kmeans(features, q, min(int(count), N), seed=int(seed), max_iter=max_iter)
    K = km.centres.shape[0]
    if clusters is not None:
        rows = np.flatnonzero(q > 0)
        coupling = sp.csr_matrix((q[rows], (rows, km.labels[rows])), shape=(N, K))
        pi = check_coupling(coupling, q, km.weights)  # one entry per positive row, row order
        return Representatives("clustering", km.labels, K, km.weights, km.centres, None, pi, rows)
    sample = stratified_sample(km.labels, q, int(per_stratum), seed=int(seed))  # type: ignore[arg-type]
    pi = check_coupling(sample.coupling, q, sample.weights)
    rows = np.repeat(np.arange(N), np.diff(pi.indptr))
    return Representatives(
        "stratified sampling", km.labels, K, sample.weights, None, sample.indices, pi, rows
    )


# fmt: off
def reduce_and_certify(
    features: np.ndarray, q: np.ndarray, objective: str, rho: float, *,
    clusters: int | None, strata: int | None, per_stratum: int | None, seed: int,
    from_centres: Callable[[np.ndarray, np.ndarray], Reduced],
    from_sample: Callable[[np.ndarray, np.ndarray], Reduced],
    pair_bounds: Callable[[Reduced, np.ndarray, np.ndarray], np.ndarray],
    samples: str, pair_note: str,
    representative_bounds: Callable[[Reduced, Representatives], np.ndarray] | None = None,
) -> tuple[Reduced, list[CertificateLine], dict[str, Any]]:
    # fmt: on
    """The reduced instance, its certificate line (mean units) and a description.

    Parameters
    ----------
    features, q : the samples' feature vectors (N, D) and weights (N,).
    objective, rho : what the reduced problem optimises ("erm" | "variance" | "chi2").
    clusters / strata, per_stratum, seed : as :func:`choose_representatives`.
    from_centres : ``(centres, weights) -> reduced instance`` (clustering).
    from_sample : ``(indices, weights) -> reduced instance`` (stratified sampling).
    pair_bounds : ``(reduced, rows, cols) -> d`` with ``d_t >= sup_z |f_rows[t] - f_cols[t]|``.
    samples, pair_note : wording of the line, e.g. "clients" and "capture".
    representative_bounds : ``(reduced, reps) -> b`` with ``b_k >= sup_z |fhat_k - g_k|``
        (module docstring, step 3); used for clustering only.
    """
    reps = choose_representatives(
        features, q, clusters=clusters, strata=strata, per_stratum=per_stratum, seed=seed
    )
    if reps.centres is not None:
        reduced = from_centres(reps.centres, reps.weights)
    else:
        reduced = from_sample(reps.indices, reps.weights)  # type: ignore[arg-type]
    d = pair_bounds(reduced, reps.rows, reps.cols)
    summary = summarize_coupling(reps.coupling, q, reps.weights, d)
    value = coupling_value = uniform_errors(summary, objective, rho)[0] / summary.n
    N, K = reps.coupling.shape
    how = f"coupling bound with the per-pair {pair_note} bound (max {summary.max_d:.4g})"
    if representative_bounds is not None and reps.centres is not None:
        pi = reps.coupling
        spread = sp.csr_matrix((pi.data * d, pi.indices, pi.indptr), shape=pi.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            e_rev = np.asarray(spread.sum(axis=0)).ravel() / reps.weights
        e_rev = np.where(reps.weights > 0, e_rev, 0.0)
        e = np.minimum(e_rev, np.asarray(representative_bounds(reduced, reps), dtype=float))
        value = min(value, representative_line(e, reps.weights, objective, rho))
        how = (
            f"per-representative bound (min of the model's mean bound and the per-pair {pair_note} "
            f"bound, max {summary.max_d:.4g}; coupling line alone {coupling_value:.4g})"
        )
    line = CertificateLine(
        "reduction", value, True, f"{reps.method} of {N} {samples} to {K}: {how}, uniform in z"
    )
    info = {
        "method": reps.method,
        "representatives": K,
        "clusters": clusters,
        "strata": strata,
        "per_stratum": per_stratum,
        "seed": int(seed),
        "error_bound": value,
        "coupling_bound": coupling_value,
        "max_pair_bound": summary.max_d,
    }
    return reduced, [line], info


def representative_line(e: np.ndarray, w: np.ndarray, objective: str, rho: float) -> float:
    """Line (mean units) from ``e_k >= sup_z |fhat_k - g_k|`` and the representatives' weights
    ``w`` (module docstring): ERM ``E_w e``; VR ``E_w e + sqrt(2 rho / n) ||e||_{2,w}``;
    chi-square ``min(max e, sqrt(1 + 2 rho / n) ||e||_{2,w})`` (the worst case is 1-Lipschitz
    in the sup-norm, so ``max e`` bounds it too). The same function of per-sample errors as the
    PWLA line: :func:`dro_opt.reformulations.pwla_fractional.pwla_objective_error`."""
    from dro_opt.reformulations.pwla_fractional import pwla_objective_error

    return pwla_objective_error(e, w, objective, rho)
