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
``OPT_full <= OPT_reduced + upper`` (mean units); for clustering it uses per-cluster bounds on
the cluster's MEAN capture, the smaller of the first-order pair bound above and the second-order
Taylor bound of :mod:`.cluster_taylor` (the centroid is the mean of its clients' parameters, so
the first-order terms cancel), combined by
:func:`dro_opt.reductions.representatives.representative_line`. The returned decision is always
re-evaluated on the full data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dro_opt.certify import CertificateLine
from dro_opt.models.facility_cost.cluster_taylor import cluster_mean_bounds
from dro_opt.models.facility_cost.instance import FCPInstance
from dro_opt.models.facility_cost.objective import capture_range
from dro_opt.reductions.representatives import Representatives, reduce_and_certify


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
    """The reduced instance, its certificate line (mean units) and a description
    (:func:`dro_opt.reductions.representatives.reduce_and_certify`)."""
    M = instance.num_locations
    upper = np.minimum(instance.upper, budget)

    def from_centres(centres: np.ndarray, weights: np.ndarray) -> FCPInstance:
        bias, rate = centres[:, :M], np.maximum(centres[:, M:], 0.0)
        name = f"{instance.name}_clusters{centres.shape[0]}"
        return FCPInstance(weights, bias, rate, instance.upper, name, dict(instance.meta))

    def from_sample(indices: np.ndarray, weights: np.ndarray) -> FCPInstance:
        return instance.subset(indices, weights, f"{instance.name}_strata")

    def bounds(reduced: FCPInstance, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return pair_bounds(instance, reduced, rows, cols, upper)

    def cluster_bounds(reduced: FCPInstance, reps: Representatives) -> np.ndarray:
        return cluster_mean_bounds(instance, reduced, reps.labels, upper)

    return reduce_and_certify(
        _features(instance), instance.q, objective, rho, clusters=clusters, strata=strata,
        per_stratum=per_stratum, seed=seed, from_centres=from_centres, from_sample=from_sample,
        pair_bounds=bounds, samples="clients", pair_note="capture",
        representative_bounds=cluster_bounds,
    )  # fmt: skip


__all__ = ["pair_bounds", "reduce_clients"]
