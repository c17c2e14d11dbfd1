"""Chi-square combinatorial branch-and-bound (``dro_opt.algorithms.oa_chi2_branch_and_bound``)
and its hand-over from the outer-approximation master, against independent oracles.

Oracles: brute-force enumeration (``models/facility_location/bruteforce.py``) on instances where
greedy + swap local search is NOT optimal (``HARD`` of ``test_oa_chi2_scale.py``), exhaustive
exact evaluation of the restricted domain (fixings), and the scalar closed form
``chi2_worst_case`` for the batched worst case (sort-free and sorted paths).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from test_oa_chi2_scale import HARD, _two_taste_instance

from dro_opt import interrupt
from dro_opt.algorithms import oa_chi2_branch_and_bound, submodular_oa
from dro_opt.algorithms.capture_objectives import chi2_worst_case
from dro_opt.algorithms.greedy import SetObjective, greedy, local_search
from dro_opt.algorithms.oa_chi2_batch import certify, newton_eta, prefix_eta
from dro_opt.algorithms.oa_chi2_branch_and_bound import (
    branch_and_bound_chi2,
    chi2_batch,
    chi2_batch_eta,
    chi2_batch_eta_sorted,
    count_sets,
    threshold_bound,
)
from dro_opt.models.facility_location import MCFLPInstance, evaluate
from dro_opt.models.facility_location.bruteforce import brute_force
from dro_opt.solvers.status import Status


def _heuristic(inst: MCFLPInstance, r: int, rho: float) -> tuple[np.ndarray, float]:
    obj = SetObjective(inst.a, inst.q, "chi2", rho)
    mask, value, _ = local_search(obj, greedy(obj, r)[-1])
    return mask, value


@pytest.mark.parametrize("radius", [1e-3, 0.05, 0.5, 30.0])
def test_batched_worst_case_is_an_upper_bound_in_the_ball(radius: float) -> None:
    rng = np.random.default_rng(7)
    N = 200
    p = rng.random(N) + 0.01
    p /= p.sum()
    F = rng.random((12, N)) ** 4
    F[1] = 0.25  # constant row: point masses / ties
    F[2, : N // 2] = 0.0  # many ties at the minimum
    F[3] = np.round(F[3], 1)  # ties everywhere
    values, P = chi2_batch(p, F, radius)
    for b in range(F.shape[0]):
        exact, _ = chi2_worst_case(p, F[b], radius)
        assert exact - 1e-14 <= values[b] <= exact + 2e-10
        assert P[b].min() >= 0 and abs(P[b].sum() - 1) <= 1e-12
        divergence = 0.5 * p @ (P[b] / p - 1.0) ** 2
        assert divergence <= radius * (1 + 1e-12)
        assert P[b] @ F[b] == pytest.approx(values[b], abs=1e-13)


@pytest.mark.parametrize("radius", [1e-3, 0.5, 30.0])
def test_threshold_bound_is_an_upper_bound_and_exact_at_the_optimal_threshold(radius) -> None:
    rng = np.random.default_rng(3)
    N = 150
    p = rng.random(N) + 0.05
    p /= p.sum()
    F = rng.random((20, N)) ** 3
    exact = np.array([chi2_worst_case(p, f, radius)[0] for f in F])
    for eta in (rng.random(20), rng.random(20) * 0.1, np.full(20, 2.0)):
        assert np.all(threshold_bound(p, F, eta, radius) >= exact - 1e-14)
    _, _, eta_star = chi2_batch_eta(p, F, radius)
    ok = np.isfinite(eta_star)  # NaN: rows left to the scalar closed form (breakpoint optima)
    assert ok.sum() >= 15
    tight = threshold_bound(p, F[ok], eta_star[ok], radius)
    np.testing.assert_allclose(tight, exact[ok], rtol=0, atol=1e-9)


@pytest.mark.parametrize(("rho", "seed"), HARD)
def test_branch_and_bound_matches_brute_force_when_greedy_is_suboptimal(rho, seed) -> None:
    inst, r = _two_taste_instance(seed), 3
    mask, value = _heuristic(inst, r, rho)
    bf = brute_force(inst, r, "chi2", rho)
    assert value < bf.value * (1 - 1e-3), "precondition: the incumbent heuristics miss it"
    none = np.zeros(inst.num_locations, dtype=bool)
    res = branch_and_bound_chi2(inst.a, inst.q, rho, r, none, none, mask, value, 1e-7)
    assert res.complete and res.sets == count_sets(inst.num_locations, r)
    assert res.evaluated < res.sets  # the bounds discarded some sets ...
    exact = evaluate(inst.a, inst.q, res.mask.astype(float), "chi2", rho)
    assert exact == pytest.approx(bf.value, rel=1e-12)  # ... but not the optimum
    assert bf.value <= res.bound <= bf.value * (1 + 1e-7)


@pytest.mark.parametrize("seed", [1, 6])
def test_branch_and_bound_with_fixings_matches_exhaustive_restricted_search(seed: int) -> None:
    inst, r, rho = _two_taste_instance(seed), 4, 300.0
    D = inst.num_locations
    fixed_one = np.zeros(D, dtype=bool)
    fixed_zero = np.zeros(D, dtype=bool)
    fixed_one[[2]] = True
    fixed_zero[[0, 7]] = True
    free = np.flatnonzero(~fixed_one & ~fixed_zero)
    best = -np.inf
    for X in itertools.combinations(free.tolist(), r - 1):
        z = fixed_one.astype(float)
        z[list(X)] = 1.0
        best = max(best, evaluate(inst.a, inst.q, z, "chi2", rho))
    start = np.zeros(D, dtype=bool)
    start[[1]] = True  # a poor feasible incumbent outside the restricted domain
    v0 = evaluate(inst.a, inst.q, start.astype(float), "chi2", rho)
    res = branch_and_bound_chi2(inst.a, inst.q, rho, r, fixed_zero, fixed_one, start, v0, 1e-9)
    assert res.complete and res.sets == count_sets(free.size, r - 1)
    assert res.mask[2] and not res.mask[[0, 7]].any() and res.mask.sum() == r
    exact = evaluate(inst.a, inst.q, res.mask.astype(float), "chi2", rho)
    assert exact == pytest.approx(best, rel=1e-12)
    assert best <= res.bound <= best * (1 + 1e-8)


def test_branch_and_bound_stops_incomplete_at_the_deadline() -> None:
    inst, r, rho = _two_taste_instance(1), 3, 100.0
    mask, value = _heuristic(inst, r, rho)
    none = np.zeros(inst.num_locations, dtype=bool)
    res = branch_and_bound_chi2(
        inst.a, inst.q, rho, r, none, none, mask, value, 1e-7, deadline_at=0.0
    )
    assert not res.complete and res.bound is None
    assert np.array_equal(res.mask, mask) and res.value == value


def _stalled_master(oracle, initial_rows, **kwargs) -> dict:
    """A master that ran out of its slice without any bound (forces the hand-over)."""
    return {"status": "timelimit", "dual_bound": np.inf, "rounds": 0, "frac_rounds": 0, "nodes": 0}


@pytest.mark.parametrize(("rho", "seed"), HARD[:2])
def test_solve_oa_hands_over_to_the_branch_and_bound(monkeypatch, rho: float, seed: int) -> None:
    inst, r = _two_taste_instance(seed), 3
    bf = brute_force(inst, r, "chi2", rho)
    monkeypatch.setattr(
        submodular_oa, "_run_master", lambda name, o, rows, kw: _stalled_master(o, rows)
    )
    res = submodular_oa.solve_oa(inst, r, "chi2", rho, gap=1e-7)
    assert res.status is Status.OPTIMAL and "branch-and-bound" in res.message, res.message
    assert res.value == pytest.approx(bf.value, rel=1e-12)
    assert res.bound >= bf.value * (1 - 1e-12)
    # without the branch-and-bound the stalled master proves nothing, and nothing is claimed
    off = submodular_oa.solve_oa(inst, r, "chi2", rho, gap=1e-7, branch_and_bound=False)
    assert off.status is not Status.OPTIMAL
    assert off.bound is None or off.bound >= bf.value * (1 - 1e-12)


@pytest.mark.parametrize(("rho", "gap", "seed"), [(300.0, 1e-7, 3), (5e4, 1e-4, 4)])
def test_deeper_trees_and_tiny_values_match_brute_force(rho: float, gap: float, seed: int) -> None:
    """r = 5 of D = 12 (internal include/exclude levels above the batched last two), and a huge
    radius whose optimum is far below 1, where the absolute gap lets ``n Phi(u)`` prune."""
    inst, r = _two_taste_instance(seed, N=60, D=12), 5
    mask, value = _heuristic(inst, r, rho)
    bf = brute_force(inst, r, "chi2", rho)
    none = np.zeros(inst.num_locations, dtype=bool)
    res = branch_and_bound_chi2(inst.a, inst.q, rho, r, none, none, mask, value, gap)
    assert res.complete and res.sets == count_sets(12, r)
    exact = evaluate(inst.a, inst.q, res.mask.astype(float), "chi2", rho)
    assert res.bound >= bf.value
    assert res.bound - exact <= gap * max(1.0, exact) + 1e-9  # the proof the caller reports
    assert exact <= bf.value * (1 + 1e-12) + 1e-15


def test_huge_log_odds_take_the_log_space_path() -> None:
    """Customers with log-odds near 800 (scores beyond double range: the log-space branch of the
    batched pairs) and the rest ordinary; optimum and bound against brute force."""
    inst = _two_taste_instance(6, N=50, D=9)
    a = inst.a.copy()
    a[:5] += 800.0
    inst = MCFLPInstance(inst.q, a)
    r, rho = 4, 200.0
    mask, value = _heuristic(inst, r, rho)
    bf = brute_force(inst, r, "chi2", rho)
    none = np.zeros(inst.num_locations, dtype=bool)
    res = branch_and_bound_chi2(inst.a, inst.q, rho, r, none, none, mask, value, 1e-7)
    exact = evaluate(inst.a, inst.q, res.mask.astype(float), "chi2", rho)
    assert res.complete and bf.value <= res.bound <= bf.value * (1 + 1e-7)
    assert exact == pytest.approx(bf.value, rel=1e-12)


def _rows(seed: int, B: int = 40, N: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Rows with near-zero minima (HM14-like capture probabilities), ties and point masses."""
    rng = np.random.default_rng(seed)
    p = rng.random(N) + 0.05
    p /= p.sum()
    F = rng.random((B, N)) ** 6 * rng.random((B, 1))
    F[0] = 0.3  # constant row
    F[1, : N // 2] = 1e-30  # half the customers at (almost) zero
    F[2] = np.round(F[2], 2)  # ties everywhere
    return p, F


def _dual_maximum(p: np.ndarray, f: np.ndarray, radius: float) -> float:
    """Independent oracle: ``max_eta eta - c sqrt(E_p (eta - f)_+^2)`` (a lower bound on ``Phi``
    at every ``eta``, equal at the maximiser) by bounded Brent search on the concave dual and a
    grid, whichever is higher."""
    from scipy.optimize import minimize_scalar

    c = math.sqrt(1.0 + 2.0 * radius)

    def h(eta: float) -> float:
        return eta - c * math.sqrt(p @ np.maximum(eta - f, 0.0) ** 2)

    mean, sd = p @ f, math.sqrt(p @ (f - p @ f) ** 2)
    lo, hi = float(f.min()), max(float(f.max()), mean + sd / math.sqrt(c * c - 1)) + 1.0
    brent = minimize_scalar(
        lambda t: -h(t),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-15, "maxiter": 2000},
    )
    grid = np.linspace(lo, hi, 801)
    on_grid = grid - c * np.sqrt(np.maximum(grid[:, None] - f[None, :], 0.0) ** 2 @ p)
    return max(h(float(brent.x)), float(on_grid.max()))


@pytest.mark.parametrize("radius", [1e-3, 0.125, 1.25, 12.5])
@pytest.mark.parametrize("uniform", [True, False])
def test_sort_free_worst_case_matches_the_dual_oracle(radius: float, uniform: bool) -> None:
    """Every value is an upper bound given by a distribution of the ball, within the accepted
    ``1e-11`` plus the shrink (``1e-10 p'f``) of the dual maximum; cold and warm starts (good,
    poor and missing thresholds), and the sorted path. (The scalar closed form
    ``chi2_worst_case`` is not the oracle: on rows like ``F[5]`` here, radius 12.5, it returns
    1.5e-10 where the dual reaches 2.7e-10.)"""
    p, F = _rows(5)
    if uniform:
        p = np.full(p.size, 1.0 / p.size)
    oracle = np.array([_dual_maximum(p, f, radius) for f in F])
    room = 1e-11 + 1e-10 * (F @ p) + 1e-12
    for eta0 in (None, oracle - 0.01, oracle + 0.05, np.full(F.shape[0], np.nan)):
        values, P, eta = chi2_batch_eta(p, F, radius, eta0)
        assert np.all(oracle - 1e-14 <= values) and np.all(values <= oracle + room)
        for b in range(F.shape[0]):
            assert P[b].min() >= 0 and abs(P[b].sum() - 1) <= 1e-12
            assert 0.5 * p @ (P[b] / p - 1.0) ** 2 <= radius * (1 + 1e-12)
            assert P[b] @ F[b] == pytest.approx(values[b], abs=1e-13)
        only, none, _ = chi2_batch_eta(p, F, radius, eta0, want_P=False)
        assert none is None and np.array_equal(only, values)
    # the certificate alone: at any threshold the value is an upper bound; accepted rows are exact
    c = math.sqrt(1 + 2 * radius)
    rng = np.random.default_rng(1)
    for eta in (rng.random(F.shape[0]), newton_eta(p, F, c, prefix_eta(p, F, c), 1)):
        upper, accepted, _ = certify(p, F, radius, eta, False)
        assert np.all(upper >= oracle - 1e-14)
        assert np.all(upper[accepted] <= oracle[accepted] + room[accepted])
    sorted_values, P, _ = chi2_batch_eta_sorted(p, F, radius)
    assert np.all(oracle - 1e-14 <= sorted_values) and np.all(sorted_values <= oracle + room)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_branch_and_bound_stops_on_ctrl_c_and_reports_a_valid_running_bound(monkeypatch) -> None:
    inst, r, rho = _two_taste_instance(3, N=60, D=12), 5, 300.0
    mask, value = _heuristic(inst, r, rho)
    bf = brute_force(inst, r, "chi2", rho)
    none = np.zeros(inst.num_locations, dtype=bool)
    calls = []
    monkeypatch.setattr(
        "dro_opt.algorithms.oa_chi2_branch_and_bound.PROGRESS_EVERY", 0.0
    )  # report between every two nodes

    def progress(best_mask, bound):
        calls.append((best_mask.copy(), bound))
        if len(calls) == 3:
            monkeypatch.setattr(interrupt, "requested", lambda: True)  # Ctrl-C now

    res = branch_and_bound_chi2(
        inst.a, inst.q, rho, r, none, none, mask, value, 1e-7, progress=progress
    )
    assert not res.complete and res.bound is None and len(calls) == 3
    for best_mask, bound in calls:  # every running bound bounds the optimum (the root: inf)
        assert bound >= bf.value * (1 - 1e-12)
        assert best_mask.sum() <= r
    assert np.isfinite(calls[-1][1])  # the parents' bounds replaced the root's inf
    monkeypatch.setattr(interrupt, "requested", lambda: False)
    done = []
    res = branch_and_bound_chi2(
        inst.a, inst.q, rho, r, none, none, mask, value, 1e-7, progress=lambda m, b: done.append(b)
    )
    assert res.complete and done[-1] == res.bound and min(done) >= bf.value * (1 - 1e-12)


def test_solve_oa_stops_the_branch_and_bound_at_its_deadline(monkeypatch) -> None:
    """The master's slice ends after the caller's time limit: the branch-and-bound starts past
    its deadline, stops at its first node, and nothing is claimed."""
    import time

    inst, r, rho = _two_taste_instance(6), 3, 100.0

    def slow_stalled_master(name, oracle, rows, kwargs) -> dict:
        time.sleep(0.6)
        return _stalled_master(oracle, rows)

    monkeypatch.setattr(submodular_oa, "_run_master", slow_stalled_master)
    res = submodular_oa.solve_oa(inst, r, "chi2", rho, gap=1e-7, time_limit=0.5)
    assert res.status is Status.TIME_LIMIT and "stopped at the time limit" in res.message
    bf = brute_force(inst, r, "chi2", rho)
    assert res.bound is None or res.bound >= bf.value * (1 - 1e-12)


def _local_instance(seed: int, groups: int = 8, hubs: int = 2) -> MCFLPInstance:
    """Locations that reach only their own group of customers (groups of 2 to 10 customers;
    log-odds about 1, else about -30) plus ``hubs`` locations that reach everyone a little
    (about -3): sets without a hub leave many customers at almost zero, the coverage bound's
    case."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 11, groups)
    N = int(sizes.sum())
    a = -30.0 + rng.normal(0, 1.0, (N, groups))
    starts = np.concatenate([[0], np.cumsum(sizes)])
    for g in range(groups):
        a[starts[g] : starts[g + 1], g] = 1.0 + rng.normal(0, 0.5, sizes[g])
    hub = -3.0 + rng.normal(0, 0.7, (N, hubs))
    q = rng.integers(1, 5, N).astype(float)
    return MCFLPInstance(q, np.hstack([a, hub]), name=f"local{seed}")


def test_coverage_bound_never_discards_a_node_with_a_set_above_its_level() -> None:
    from dro_opt.algorithms.oa_chi2_coverage import coverage_discards

    inst, r = _local_instance(0), 4  # two hubs
    a, q = inst.a, inst.q
    n, D = q.sum(), a.shape[1]
    p = q / n
    rng = np.random.default_rng(2)
    fired = held = 0
    for rho in (20.0, 200.0, 2000.0):
        radius = rho / n
        for _ in range(25):
            A = sorted(rng.choice(D, int(rng.integers(0, r)), replace=False).tolist())
            R = [j for j in range(D) if j not in A and rng.random() < 0.8]
            k = r - len(A)
            if len(R) < k:
                continue
            node_max = max(
                evaluate(a, q, np.isin(np.arange(D), A + list(X)).astype(float), "chi2", rho)
                for X in itertools.combinations(R, k)
            )
            LA = np.logaddexp.reduce(a[:, A], axis=1) if A else np.full(a.shape[0], -np.inf)
            for level in (0.5 * node_max, node_max, 2.0 * node_max, 1e-3, 0.05 * n):
                verdict = coverage_discards(p, LA, a[:, R], k, level / n, radius)
                assert verdict == coverage_discards(p, LA, a[:, R], k, level / n, radius, block=7)
                if verdict:
                    fired += 1
                    assert node_max <= level * (1 + 1e-12) + 1e-12
                else:
                    held += 1
    assert fired >= 20 and held >= 20  # both outcomes occur: the test can fail


@pytest.mark.parametrize("lagrangian", [True, False])
@pytest.mark.parametrize(("seed", "hubs", "rho_per_n"), [(5, 1, 10.0), (0, 0, 1.0), (1, 0, 10.0)])
def test_branch_and_bound_with_coverage_discards_matches_brute_force(
    monkeypatch, seed, hubs, rho_per_n, lagrangian
) -> None:
    """A node discarded by coverage with a non-tiny optimum (one hub, 2.48) and whole tiny-valued
    instances (optimum about 3e-11, discarded at the root) against brute force; with the
    Lagrangian bound (``oa_chi2_lagrangian``) and without it (where its fixings would leave
    the coverage bound nothing to discard on the first instance)."""
    if not lagrangian:
        monkeypatch.setattr(oa_chi2_branch_and_bound, "LAGRANGIAN_MIN_SLOTS", 10**9)
    inst, r = _local_instance(seed, hubs=hubs), 3
    rho = rho_per_n * inst.q.sum()
    mask, _ = _heuristic(inst, r, rho)
    bf = brute_force(inst, r, "chi2", rho)
    none = np.zeros(inst.num_locations, dtype=bool)
    start = np.zeros(inst.num_locations, dtype=bool)
    start[:r] = True  # a poor start (no hub) as well as the heuristic's
    covered = 0
    for m0 in (mask, start):
        v0 = evaluate(inst.a, inst.q, m0.astype(float), "chi2", rho)
        res = branch_and_bound_chi2(inst.a, inst.q, rho, r, none, none, m0, v0, 1e-6)
        assert res.complete
        covered += res.covered
        exact = evaluate(inst.a, inst.q, res.mask.astype(float), "chi2", rho)
        assert res.bound >= bf.value * (1 - 1e-12)
        assert res.bound - exact <= 1e-6 * max(1.0, exact) + 1e-9
        assert exact >= bf.value - 1e-6 * max(1.0, bf.value)
    assert covered > 0 or lagrangian  # the coverage bound took part


@pytest.mark.parametrize("seed", [0, 4])
def test_solve_oa_proves_tiny_rows_by_root_coverage(seed: int) -> None:
    inst, r = _local_instance(seed, hubs=0), 3
    rho = 2.0 * inst.q.sum()
    bf = brute_force(inst, r, "chi2", rho)
    res = submodular_oa.solve_oa(inst, r, "chi2", rho, gap=1e-6)
    assert res.status is Status.OPTIMAL and "coverage bound" in res.message, res.message
    assert res.bound >= bf.value * (1 - 1e-12)
    assert res.value >= bf.value - 1e-6 and res.z.sum() <= r
    off = submodular_oa.solve_oa(inst, r, "chi2", rho, gap=1e-6, branch_and_bound=False)
    assert "coverage bound" not in off.message  # the master route alone is unchanged


def _uniform_taste(seed: int) -> MCFLPInstance:
    """Two-taste log-odds with unit weights (uniform ``p``: the graded coverage bound's case)."""
    return MCFLPInstance(np.ones(60), _two_taste_instance(seed, N=60, D=12).a, name=f"u{seed}")


# greedy + swaps end at least 0.1% below the optimum (r = 4, rho = 300; asserted below)
HARD_UNIFORM = [1, 2, 4, 7]


@pytest.mark.parametrize("seed", [1, 4])
def test_graded_coverage_row_dominates_every_sorted_set_of_the_node(seed: int) -> None:
    from dro_opt.algorithms.capture_objectives import capture_probabilities
    from dro_opt.algorithms.oa_chi2_branch_and_bound import LEVELS
    from dro_opt.algorithms.oa_chi2_coverage import graded_dominating_row

    inst, r = _uniform_taste(seed), 4
    a, N, D = inst.a, inst.num_customers, inst.num_locations
    p = np.full(N, 1.0 / N)
    rng = np.random.default_rng(seed)
    tighter = 0
    for _ in range(12):
        A = sorted(rng.choice(D, int(rng.integers(0, r)), replace=False).tolist())
        R = [j for j in range(D) if j not in A and rng.random() < 0.85]
        k = r - len(A)
        if len(R) < k:
            continue
        LA = np.logaddexp.reduce(a[:, A], axis=1) if A else np.full(N, -np.inf)
        sub = a[:, R]
        top = -np.partition(-sub, k - 1, axis=1)[:, :k]
        u = 1.0 / (1.0 + np.exp(-np.logaddexp(LA, np.logaddexp.reduce(top, axis=1))))
        for base in (0.002, 0.02, 0.2):
            v = graded_dominating_row(p, LA, sub, k, u, base * LEVELS)
            assert np.all(np.diff(v) >= 0) and np.all(v <= np.sort(u))
            tighter += bool(np.any(v < np.sort(u) - 1e-9))
            for X in itertools.combinations(R, k):
                z = np.isin(np.arange(D), A + list(X)).astype(float)
                assert np.all(np.sort(capture_probabilities(a, z)) <= v + 1e-15)
    assert tighter >= 5  # the coverage caps do bite on these nodes
    weighted = np.arange(1.0, N + 1.0) / (N * (N + 1) / 2)
    assert graded_dominating_row(weighted, LA, sub, k, u, LEVELS) is None  # uniform p only


@pytest.mark.parametrize("seed", HARD_UNIFORM[:2])
def test_branch_and_bound_with_graded_bound_matches_brute_force(seed: int) -> None:
    inst, r, rho = _uniform_taste(seed), 4, 300.0
    mask, value = _heuristic(inst, r, rho)
    bf = brute_force(inst, r, "chi2", rho)
    assert value < bf.value * (1 - 1e-3), "precondition: the incumbent heuristics miss it"
    none = np.zeros(inst.num_locations, dtype=bool)
    res = branch_and_bound_chi2(inst.a, inst.q, rho, r, none, none, mask, value, 1e-7)
    assert res.complete and res.evaluated < res.sets
    exact = evaluate(inst.a, inst.q, res.mask.astype(float), "chi2", rho)
    assert exact == pytest.approx(bf.value, rel=1e-12)
    assert bf.value <= res.bound <= bf.value * (1 + 1e-7)
