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

from dro_opt.certify import CertificateLine
from dro_opt.models.security_game.instance import PAYOFFS, SSGInstance
from dro_opt.models.security_game.objective import utility_range
from dro_opt.reductions.representatives import reduce_and_certify


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
    """The reduced game, its certificate line (mean units) and a description
    (:func:`dro_opt.reductions.representatives.reduce_and_certify`)."""

    def from_centres(centres: np.ndarray, weights: np.ndarray) -> SSGInstance:
        return SSGInstance(
            instance.budget, instance.lam, *np.split(centres, 4, axis=1), weights=weights,
            name=f"{instance.name}_clusters{centres.shape[0]}", meta=dict(instance.meta),
        )  # fmt: skip

    def from_sample(indices: np.ndarray, weights: np.ndarray) -> SSGInstance:
        return instance.subset(indices, weights, f"{instance.name}_strata")

    def bounds(reduced: SSGInstance, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return pair_bounds(instance, reduced, rows, cols)

    return reduce_and_certify(
        payoff_features(instance), instance.weights, objective, rho, clusters=clusters,
        strata=strata, per_stratum=per_stratum, seed=seed, from_centres=from_centres,
        from_sample=from_sample, pair_bounds=bounds, samples="attacker types",
        pair_note="utility",
    )  # fmt: skip
