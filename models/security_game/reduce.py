r"""Attacker-type reductions for the security game with rigorous, decision-uniform bounds.

Paper 003 Sec. 4 (clustering, stratified sampling; Thms. 3-4) with the coupling bounds of
:mod:`dro_opt.reductions.coupling_bounds` (docs/facility_location.md, 'Reduction error bounds'),
which need a per-pair bound ``d_ik >= sup_z |f_i(z) - f_k(z)|`` between a full-data type ``i``
and a representative ``k``. For the quantal-response utility ``f = sum_j q_j Ud_j``::

    f_i - f_k = sum_j q^i_j (Ud^i_j - Ud^k_j) + sum_j (q^i_j - q^k_j) Ud^k_j.

The first sum is at most ``dD = max_j max(|DR^i_j - DR^k_j|, |DP^i_j - DP^k_j|)`` (``Ud`` is a
convex combination of the two payoffs). For the second, the logits differ by
``Delta_j = lam (Ua^i_j - Ua^k_j)`` with ``|Delta_j| <= m = lam dA`` (``dA`` likewise for the
attacker payoffs), so ``q^i_j / q^k_j`` lies in ``[e^{-2m}, e^{2m}]``, the total variation is
at most ``(e^{2m} - 1) / 2`` (and at most 1), and ``|sum_j (q^i - q^k)_j u_j| <= TV * (max u -
min u)`` with ``u = Ud^k`` whose spread over the targets is at most ``osc_k = max_j max(DR^k, DP^k)
- min_j min(DR^k, DP^k)``. Hence::

    d_ik = min( dD + min(1, (e^{2 lam dA} - 1) / 2) osc_k,  range of both utilities ).

Clustering: weighted k-means of the types in payoff space (the ``4 M`` payoffs), each cluster
represented by its weighted centroid (a legitimate game whose payoffs are averages), weight = the
cluster's weight, coupling = each type to its centre. Stratified sampling: strata = the k-means
clusters, ``per_stratum`` types drawn per stratum (their own payoffs), weights ``N_s / S_s``, the
product coupling within each stratum (:mod:`dro_opt.reductions.stratified`). The certificate line
is the coupling bound ``OPT_full <= OPT_reduced + upper`` (mean units).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from dro_opt.certify import CertificateLine
from dro_opt.models.security_game.instance import PAYOFFS, SSGInstance
from dro_opt.models.security_game.objective import utility_range
from dro_opt.reductions.clustering import weighted_kmeans
from dro_opt.reductions.coupling_bounds import check_coupling, summarize_coupling, uniform_errors
from dro_opt.reductions.stratified import stratified_sample


def payoff_features(instance: SSGInstance) -> np.ndarray:
    """``(N, 4 M)``: the four payoff arrays side by side."""
    return np.hstack([getattr(instance, k) for k in PAYOFFS])


def pair_bounds(
    full: SSGInstance, reduced: SSGInstance, rows: np.ndarray, cols: np.ndarray
) -> np.ndarray:
    """``d_ik`` of the module docstring for the pairs ``(rows[t], cols[t])``."""
    DR, DP = full.defender_reward[rows], full.defender_penalty[rows]
    AR, AP = full.attacker_reward[rows], full.attacker_penalty[rows]
    dr, dp = reduced.defender_reward[cols], reduced.defender_penalty[cols]
    ar, ap = reduced.attacker_reward[cols], reduced.attacker_penalty[cols]
    dD = np.maximum(np.abs(DR - dr), np.abs(DP - dp)).max(axis=1)
    dA = np.maximum(np.abs(AR - ar), np.abs(AP - ap)).max(axis=1)
    osc = np.maximum(dr, dp).max(axis=1) - np.minimum(dr, dp).min(axis=1)
    with np.errstate(over="ignore"):
        tv = np.minimum(1.0, 0.5 * np.expm1(2.0 * full.lam * dA))
    lo_f, hi_f = utility_range(full)
    lo_r, hi_r = utility_range(reduced)
    span = np.maximum(hi_f[rows], hi_r[cols]) - np.minimum(lo_f[rows], lo_r[cols])
    return np.minimum(dD + tv * osc, span)


def reduce_types(
    instance: SSGInstance,
    objective: str,
    rho: float,
    clusters: int | None,
    strata: int | None,
    per_stratum: int | None,
    seed: int,
) -> tuple[SSGInstance, list[CertificateLine], dict[str, Any]]:
    """The reduced game, its certificate line (mean units) and a description."""
    X = payoff_features(instance)
    q = instance.weights
    N = instance.num_types
    n = instance.n
    if clusters is not None:
        km = weighted_kmeans(X, q, min(int(clusters), N), seed=int(seed))
        K = km.centres.shape[0]
        parts = np.split(km.centres, 4, axis=1)
        reduced = SSGInstance(
            instance.budget, instance.lam, *parts, weights=km.weights,
            name=f"{instance.name}_clusters{K}", meta=dict(instance.meta),
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
    pi = check_coupling(coupling, q, reduced.weights)
    # d aligned with pi.data (CSR order), as summarize_coupling expects
    rows_csr = np.repeat(np.arange(N), np.diff(pi.indptr))
    d_csr = pair_bounds(instance, reduced, rows_csr, pi.indices)
    summary = summarize_coupling(pi, q, reduced.weights, d_csr)
    upper, _ = uniform_errors(summary, objective, rho)
    value = upper / n
    line = CertificateLine(
        "reduction",
        value,
        True,
        f"{method} of {N} attacker types to {reduced.num_types}: coupling bound with the "
        f"per-pair utility bound (max {summary.max_d:.4g}), uniform in z",
    )
    info = {
        "method": method,
        "representatives": reduced.num_types,
        "clusters": clusters,
        "strata": strata,
        "per_stratum": per_stratum,
        "seed": int(seed),
        "error_bound": value,
        "max_pair_bound": summary.max_d,
    }
    return reduced, [line], info
