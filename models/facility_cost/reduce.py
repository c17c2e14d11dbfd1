r"""Client reductions for MC-FCP with rigorous, decision-uniform bounds (paper 003 Sec. 4).

Clustering and stratified sampling of the clients (paper 003 Thms. 3-4) certified by the
coupling bounds of :mod:`dro_opt.reductions.coupling_bounds` (docs/facility_location.md,
'Reduction error bounds'), which need ``d_ik >= sup_z |f_i(z) - f_k(z)|`` for a full-data client
``i`` and a representative ``k`` over the box ``0 <= z <= U'``.

Per-pair bound. ``log A_ij(z) - log A_kj(z) = (bias_ij - bias_kj) + log(expm1(b_ij z) /
expm1(b_kj z))`` (``b`` the rates) is monotone in ``z`` (``d/dz log expm1(b z) = b / (1 -
e^{-b z})`` is increasing in ``b``), so it lies between its limits at ``z -> 0``
(``Dbias + log(b_ij / b_kj)``) and at ``z = U'_j``; let ``m_ij`` be the larger absolute value.
Then ``S_i / S_k`` lies in ``[e^{-m}, e^{m}]`` with ``m = max_j m_ij``, and since ``f = sigmoid(
log S)`` is 1/4-Lipschitz in ``log S`` and both ``f`` lie in ``[0, max(hi_i, hi_k)]``::

    d_ik = min(m / 4, max(hi_i, hi_k)).

(Terms that vanish for both clients -- ``bias = -inf`` -- are skipped; if exactly one vanishes
``m = inf`` and only the range bound remains.)

Clustering: weighted k-means of the clients in ``(bias, rate)`` space; each cluster is
represented by its weighted centroid (a legitimate client: rates stay >= 0), weight = the
cluster's weight. Stratified sampling: strata = the k-means clusters, ``per_stratum`` clients
drawn per stratum (their own parameters), weights ``N_s / S_s``
(:mod:`dro_opt.reductions.stratified`). The certificate line is the coupling bound
``OPT_full <= OPT_reduced + upper`` (mean units); the returned decision is always re-evaluated
on the full data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from dro_opt.certify import CertificateLine
from dro_opt.models.facility_cost.instance import FCPInstance
from dro_opt.models.facility_cost.objective import capture_range
from dro_opt.reductions.clustering import weighted_kmeans
from dro_opt.reductions.coupling_bounds import check_coupling, summarize_coupling, uniform_errors
from dro_opt.reductions.stratified import stratified_sample


def _log_expm1(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.where(x > 30, x, np.log(np.expm1(np.minimum(x, 30))))


def pair_bounds(
    full: FCPInstance,
    reduced: FCPInstance,
    rows: np.ndarray,
    cols: np.ndarray,
    upper: np.ndarray,
) -> np.ndarray:
    """``d_ik`` of the module docstring for the pairs ``(rows[t], cols[t])`` on ``[0, upper]``."""
    ai, ak = full.bias[rows], reduced.bias[cols]
    bi, bk = full.rate[rows], reduced.rate[cols]
    both_zero = np.isneginf(ai) & np.isneginf(ak)
    one_zero = np.isneginf(ai) ^ np.isneginf(ak) | ((bi == 0) ^ (bk == 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        dbias = np.where(both_zero | one_zero, 0.0, ai - ak)
        at0 = np.abs(dbias + np.log(bi) - np.log(bk))
        atU = np.abs(dbias + _log_expm1(bi * upper) - _log_expm1(bk * upper))
    m = np.where(both_zero | (bi == 0) & (bk == 0), 0.0, np.maximum(at0, atU))
    m = np.where(one_zero, np.inf, np.nan_to_num(m, nan=0.0))
    hi_f = capture_range(full, upper)[1]
    hi_r = capture_range(reduced, upper)[1]
    return np.minimum(m.max(axis=1) / 4.0, np.maximum(hi_f[rows], hi_r[cols]))


def _features(instance: FCPInstance) -> np.ndarray:
    bias = instance.bias
    finite = np.isfinite(bias)
    floor = float(bias[finite].min()) - 10.0 if finite.any() else 0.0
    return np.hstack([np.where(finite, bias, floor), instance.rate])


def reduce_clients(
    instance: FCPInstance,
    budget: float,
    objective: str,
    rho: float,
    clusters: int | None,
    strata: int | None,
    per_stratum: int | None,
    seed: int,
) -> tuple[FCPInstance, list[CertificateLine], dict[str, Any]]:
    """The reduced instance, its certificate line (mean units) and a description."""
    X = _features(instance)
    q = instance.q
    N, M = instance.shape
    upper = np.minimum(instance.upper, budget)
    if clusters is not None:
        km = weighted_kmeans(X, q, min(int(clusters), N), seed=int(seed))
        K = km.centres.shape[0]
        bias, rate = km.centres[:, :M], np.maximum(km.centres[:, M:], 0.0)
        reduced = FCPInstance(
            km.weights, bias, rate, instance.upper, f"{instance.name}_clusters{K}",
            dict(instance.meta),
        )  # fmt: skip
        coupling = sp.csr_matrix((q, (np.arange(N), km.labels)), shape=(N, K))
        method = "clustering"
    else:
        assert strata is not None and per_stratum is not None
        km = weighted_kmeans(X, q, min(int(strata), N), seed=int(seed))
        ss = stratified_sample(km.labels, q, int(per_stratum), seed=int(seed))
        reduced = instance.subset(ss.indices, ss.weights, f"{instance.name}_strata")
        coupling = ss.coupling
        method = "stratified sampling"
    pi = check_coupling(coupling, q, reduced.q)
    rows = np.repeat(np.arange(N), np.diff(pi.indptr))  # aligned with pi.data (CSR order)
    d = pair_bounds(instance, reduced, rows, pi.indices, upper)
    summary = summarize_coupling(pi, q, reduced.q, d)
    value = uniform_errors(summary, objective, rho)[0] / instance.n
    line = CertificateLine(
        "reduction",
        value,
        True,
        f"{method} of {N} clients to {reduced.num_clients}: coupling bound with the per-pair "
        f"capture bound (max {summary.max_d:.4g}), uniform in z",
    )
    info = {
        "method": method,
        "representatives": reduced.num_clients,
        "clusters": clusters,
        "strata": strata,
        "per_stratum": per_stratum,
        "seed": int(seed),
        "error_bound": value,
        "max_pair_bound": summary.max_d,
    }
    return reduced, [line], info


__all__ = ["pair_bounds", "reduce_clients"]
