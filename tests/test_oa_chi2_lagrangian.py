"""Lagrangian (shared-completion) node bound and its fixings (``oa_chi2_lagrangian``) against
enumeration.

Oracles: every set of a node evaluated exactly (``evaluate``) for the node bound and the
fixings, brute-force enumeration (``models/facility_location/bruteforce.py``) for whole
branch-and-bound runs on instances where greedy + swap local search is NOT optimal.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.special import expit
from test_oa_chi2_scale import HARD, _two_taste_instance

from dro_opt.algorithms.greedy import SetObjective, greedy, local_search
from dro_opt.algorithms.oa_chi2_branch_and_bound import branch_and_bound_chi2
from dro_opt.algorithms.oa_chi2_lagrangian import (
    ball_points,
    fixings,
    lagrangian_bound,
    shared_completion_bound,
)
from dro_opt.models.facility_location import evaluate
from dro_opt.models.facility_location.bruteforce import brute_force


def _node(a: np.ndarray, A: list[int], R: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Capture probabilities of ``A`` and the gains ``f(A + j) - f(A)``, ``j in R``."""
    LA = np.logaddexp.reduce(a[:, A], axis=1) if A else np.full(a.shape[0], -np.inf)
    fA = expit(LA)
    return fA, expit(np.logaddexp(LA[:, None], a[:, R])) - fA[:, None]


def _in_ball(P: np.ndarray, p: np.ndarray, radius: float) -> bool:
    divergence = 0.5 * p @ (P / p - 1.0) ** 2
    return P.min() >= 0 and abs(P.sum() - 1) <= 1e-12 and divergence <= radius * (1 + 1e-12)


@pytest.mark.parametrize(
    ("rho", "seed", "uniform"), [(*h, False) for h in HARD[:3]] + [(*HARD[2], True)]
)
def test_node_bound_and_fixings_bound_every_set_of_the_node(rho, seed, uniform) -> None:
    """Uniform weights take the sort-only prefix search of ``oa_chi2_batch.prefix_eta``."""
    inst = _two_taste_instance(seed, N=50, D=10)
    a, q = inst.a, np.ones(50) if uniform else inst.q
    n, D = q.sum(), a.shape[1]
    p, radius = q / n, rho / n
    rng = np.random.default_rng(seed)
    discarded = kept = dropped = checked_out = 0
    for _ in range(12):
        r = int(rng.integers(3, 6))
        A = sorted(rng.choice(D, int(rng.integers(0, r - 1)), replace=False).tolist())
        R = [j for j in range(D) if j not in A and rng.random() < 0.85]
        k = r - len(A)
        if len(R) <= k:
            continue
        values = {}
        for X in itertools.combinations(R, k):
            z = np.isin(np.arange(D), A + list(X)).astype(float)
            values[X] = evaluate(a, q, z, "chi2", rho)
        node_max = max(values.values())
        fA, G = _node(a, A, R)
        # any ball point bounds the node: p, random rows' worst cases, the optimised one
        _, Ps, _ = ball_points(p, rng.random((4, a.shape[0])) ** 3, radius)
        for P in [p, *Ps]:
            assert _in_ball(P, p, radius)
            assert shared_completion_bound(P, fA, G, k, n)[0] >= node_max * (1 - 1e-12)
        for level in (0.8 * node_max, node_max * (1 + 1e-6), 1.2 * node_max, 2 * node_max):
            bound, P = lagrangian_bound(p, fA, G, k, radius, n, level, [p])
            assert bound >= node_max * (1 - 1e-12)
            assert P is not None and _in_ball(P, p, radius)
            discarded += bound <= level
            kept += bound > level
            U_in, U_out, drop, force = fixings(P, fA, G, k, n, level)
            for c, j in enumerate(R):
                with_j = [v for X, v in values.items() if j in X]
                without = [v for X, v in values.items() if j not in X]
                assert U_in[c] >= max(with_j) * (1 - 1e-12)
                if without:
                    assert U_out[c] >= max(without) * (1 - 1e-12)
                    checked_out += 1
            assert np.array_equal(force, ~drop & (U_out <= level))
            dropped += int(drop.sum())
    assert discarded > 0 and kept > 0  # both outcomes occur: the test can fail
    assert dropped > 0 and checked_out > 0


def _heuristic(inst, r: int, rho: float) -> tuple[np.ndarray, float]:
    obj = SetObjective(inst.a, inst.q, "chi2", rho)
    mask, value, _ = local_search(obj, greedy(obj, r)[-1])
    return mask, value


@pytest.mark.parametrize(("rho", "seed", "r"), [(300.0, 3, 5), (100.0, 6, 4), (1000.0, 2, 6)])
def test_branch_and_bound_with_lagrangian_fixings_matches_brute_force(rho, seed, r) -> None:
    """Deeper trees (r = 4..6 of D = 12: internal nodes where the Lagrangian bound and its
    fixings act) against brute force, from the heuristic incumbent and from a poor start."""
    inst = _two_taste_instance(seed, N=60, D=12)
    bf = brute_force(inst, r, "chi2", rho)
    mask, _ = _heuristic(inst, r, rho)
    start = np.zeros(12, dtype=bool)
    start[:r] = True
    none = np.zeros(12, dtype=bool)
    acted = 0
    for m0 in (mask, start):
        v0 = evaluate(inst.a, inst.q, m0.astype(float), "chi2", rho)
        res = branch_and_bound_chi2(inst.a, inst.q, rho, r, none, none, m0, v0, 1e-7)
        assert res.complete
        acted += res.lagrangian + res.fixed
        exact = evaluate(inst.a, inst.q, res.mask.astype(float), "chi2", rho)
        assert exact == pytest.approx(bf.value, rel=1e-12)
        assert bf.value <= res.bound <= bf.value * (1 + 1e-7)
    assert acted > 0  # the Lagrangian bound or its fixings took part
