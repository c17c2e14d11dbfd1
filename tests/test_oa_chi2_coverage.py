"""Coverage bound of the chi-square branch-and-bound (``dro_opt.algorithms.oa_chi2_coverage``):
the score-space reach ``t_ij = phi(s_i(A) + k exp(a_ij))`` against exhaustive enumeration of the
node's sets, and against the submodular form ``f_i(A) + k (f_i(A + j) - f_i(A))`` it replaced
(a reference implementation here)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.special import expit
from test_oa_chi2_master import _local_instance, _uniform_taste

from dro_opt.algorithms.capture_objectives import capture_probabilities
from dro_opt.algorithms.oa_chi2_coverage import coverage_discards, reach
from dro_opt.models.facility_location import evaluate


def _random_nodes(D: int, r: int, rng: np.random.Generator, count: int):
    for _ in range(count):
        A = sorted(rng.choice(D, int(rng.integers(0, r - 1)), replace=False).tolist())
        R = [j for j in range(D) if j not in A and rng.random() < 0.85]
        if len(R) >= r - len(A):
            yield A, R, r - len(A)


def _log_scores(a: np.ndarray, A: list[int]) -> np.ndarray:
    return np.logaddexp.reduce(a[:, A], axis=1) if A else np.full(a.shape[0], -np.inf)


def test_score_reach_bounds_every_customer_of_every_set_and_the_submodular_form() -> None:
    """The proof step ``f_i(A u X) <= max_{j in X} t_ij`` for every set of random nodes, for
    :func:`reach` in linear and in log space; ``t_ij <= f_i(A) + k g_ij`` (concavity), strictly
    somewhere when ``k >= 2``, and below the pigeonhole term ``phi(s_i(A) + k e_ij)`` alone
    somewhere (the best-others term takes part)."""
    rng = np.random.default_rng(3)
    strict = others = 0
    for inst, r in ((_uniform_taste(1), 4), (_local_instance(2), 4), (_local_instance(4), 5)):
        a, D = inst.a, inst.num_locations
        for A, R, k in _random_nodes(D, r, rng, 10):
            LA = _log_scores(a, A)
            t = reach(LA, a[:, R], k, np.exp(a[:, R]))
            assert np.allclose(t, reach(LA, a[:, R], k, None), rtol=1e-12, atol=1e-300)
            fA = expit(LA)
            old = fA[:, None] + k * (expit(np.logaddexp(LA[:, None], a[:, R])) - fA[:, None])
            pigeon = expit(np.logaddexp(LA[:, None], a[:, R] + np.log(k)))
            assert np.all(t <= old + 1e-15) and np.all(t <= pigeon * (1 + 1e-12))
            strict += k >= 2 and bool(np.any(t < old - 1e-3))
            others += bool(np.any(t < pigeon - 1e-3))
            col = {j: c for c, j in enumerate(R)}
            for X in itertools.combinations(R, k):
                f = capture_probabilities(a, np.isin(np.arange(D), A + list(X)).astype(float))
                bound = t[:, [col[j] for j in X]].max(axis=1)
                assert np.all(f <= bound * (1 + 1e-12) + 1e-15)
    assert strict >= 5 and others >= 3  # both terms are tighter somewhere


def _submodular_discards(p, LA, sub, k, delta, radius) -> bool:
    """The coverage test with the submodular reach (before the score form), for comparison."""
    m = 1.0 / (1.0 + 2.0 * radius)
    fA = expit(LA)
    C0 = fA > delta * (1.0 - 1e-9) - 1e-15
    g = expit(np.logaddexp(LA[:, None], sub)) - fA[:, None]
    level = (delta - fA) / k * (1.0 - 1e-9) - 1e-15
    cov = p @ ((g > level[:, None]) & ~C0[:, None])
    reached = float(p[C0].sum())
    return reached + float(np.sort(cov)[::-1][:k].sum()) < (1.0 - m) - 1e-12


def test_score_coverage_discards_only_nodes_below_the_level_and_more_than_before() -> None:
    """Every discard is checked against the node's exhaustive maximum; at least one level is
    discarded by the score form and not by the submodular form (the new test can fail)."""
    rng = np.random.default_rng(5)
    fired = gained = held = 0
    for seed in (0, 3):
        inst, r = _local_instance(seed), 4
        a, q = inst.a, inst.q
        n, D = q.sum(), inst.num_locations
        p = q / n
        for rho in (20.0, 200.0):
            radius = rho / n
            for A, R, k in _random_nodes(D, r, rng, 12):
                node_max = max(
                    evaluate(a, q, np.isin(np.arange(D), A + list(X)).astype(float), "chi2", rho)
                    for X in itertools.combinations(R, k)
                )
                LA = _log_scores(a, A)
                for level in node_max * np.array([0.5, 1.0, 1.5, 3.0, 10.0]):
                    delta = level / n
                    if coverage_discards(p, LA, a[:, R], k, delta, radius):
                        fired += 1
                        assert node_max <= level * (1 + 1e-12) + 1e-12
                        gained += not _submodular_discards(p, LA, a[:, R], k, delta, radius)
                    else:
                        held += 1
                        assert not _submodular_discards(p, LA, a[:, R], k, delta, radius)
    assert fired >= 10 and held >= 10 and gained >= 1


def test_branch_and_bound_node_bounds_agree_in_linear_and_log_space(monkeypatch) -> None:
    """The node bounds in linear space (scores) and in log space (forced by the limit) give the
    same search and the same certified result on an instance where greedy is not optimal."""
    from test_oa_chi2_master import HARD_UNIFORM, _heuristic

    from dro_opt.algorithms import oa_chi2_branch_and_bound as bb
    from dro_opt.models.facility_location.bruteforce import brute_force

    inst, r, rho = _uniform_taste(HARD_UNIFORM[0]), 4, 300.0
    mask, value = _heuristic(inst, r, rho)
    none = np.zeros(inst.num_locations, dtype=bool)
    runs = []
    for limit in (700.0, -np.inf):
        monkeypatch.setattr(bb, "LINEAR_LIMIT", limit)
        runs.append(bb.branch_and_bound_chi2(inst.a, inst.q, rho, r, none, none, mask, value, 1e-7))
    lin, log = runs
    bf = brute_force(inst, r, "chi2", rho)
    for res in runs:
        assert res.complete and bf.value <= res.bound <= bf.value * (1 + 1e-7)
    assert np.array_equal(lin.mask, log.mask) and lin.evaluated == log.evaluated
    assert lin.bound == pytest.approx(log.bound, rel=1e-12)
