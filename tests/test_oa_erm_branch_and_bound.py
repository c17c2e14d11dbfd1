"""ERM Nemhauser-Wolsey branch-and-bound (``oa_erm_branch_and_bound``) and the ERM hand-over of
``solve_oa`` against enumeration.

Oracles: every set of a node evaluated exactly (``evaluate``) for the node bounds and the
fixings; brute-force enumeration (``models/facility_location/bruteforce.py``) for whole runs on
instances where greedy + swap local search is NOT optimal (seeds found by enumeration).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import dro_opt.algorithms.submodular_oa as submodular_oa
from dro_opt.algorithms.greedy import SetObjective, greedy, local_search
from dro_opt.algorithms.oa_chi2_lagrangian import fixing_bounds
from dro_opt.algorithms.oa_erm_branch_and_bound import branch_and_bound_erm
from dro_opt.models.facility_location import evaluate
from dro_opt.models.facility_location.bruteforce import brute_force
from dro_opt.models.facility_location.instance import MCFLPInstance
from dro_opt.solvers.status import Status

# (seed, r): greedy + swap local search ends 0.14-1.3% below the optimum (by enumeration)
HARD = [(9, 4), (44, 3), (49, 3), (235, 3), (276, 4), (286, 4)]


def _instance(seed: int, N: int = 60, D: int = 12) -> MCFLPInstance:
    rng = np.random.default_rng(seed)
    q = rng.integers(1, 8, N).astype(float)
    a = rng.normal(-2.0, 1.5, (N, D))
    a[: N // 3] += rng.normal(0, 2.5, D)  # a minority with other tastes
    return MCFLPInstance(q, a, name=f"taste{seed}")


def _heuristic(inst: MCFLPInstance, r: int) -> tuple[np.ndarray, float]:
    obj = SetObjective(inst.a, inst.q)
    mask, value, _ = local_search(obj, greedy(obj, r)[-1])
    return mask, value


def _value(inst: MCFLPInstance, cols) -> float:
    z = np.zeros(inst.num_locations)
    z[list(cols)] = 1.0
    return float(evaluate(inst.a, inst.q, z, "erm"))


@pytest.mark.parametrize(("seed", "r"), HARD)
def test_branch_and_bound_matches_enumeration_when_greedy_is_suboptimal(seed, r) -> None:
    inst = _instance(seed)
    D = inst.num_locations
    bf = brute_force(inst, r)
    mask, heuristic = _heuristic(inst, r)
    assert heuristic < bf.value * (1 - 1e-3), "precondition: the incumbent heuristics miss it"
    none = np.zeros(D, dtype=bool)
    res = branch_and_bound_erm(inst.a, inst.q, r, none, none, mask, heuristic, 1e-9)
    assert res.complete
    assert res.bound >= bf.value - 1e-12  # a proven bound
    assert res.bound - bf.value <= 1e-8 * bf.value
    assert _value(inst, np.flatnonzero(res.mask)) == pytest.approx(bf.value, rel=1e-12)
    assert res.mask.sum() == r
    # from the worst start (the empty set, value 0) the same optimum and a valid bound
    res0 = branch_and_bound_erm(inst.a, inst.q, r, none, none, none, 0.0, 1e-9)
    assert res0.complete and res0.bound >= bf.value - 1e-12
    assert res0.value == pytest.approx(bf.value, rel=1e-12)


@pytest.mark.parametrize(("seed", "r"), HARD[:3])
def test_branch_and_bound_on_a_restricted_domain(seed, r) -> None:
    """With locations fixed in / out the bound covers the restricted domain; the set found is a
    feasible set (its swap local search may leave the restricted domain) no worse than it."""
    inst = _instance(seed)
    D = inst.num_locations
    rng = np.random.default_rng(seed)
    for _ in range(3):
        perm = rng.permutation(D)
        fixed_one = np.zeros(D, dtype=bool)
        fixed_zero = np.zeros(D, dtype=bool)
        fixed_one[perm[:1]] = True
        fixed_zero[perm[1:4]] = True
        free = np.flatnonzero(~fixed_one & ~fixed_zero)
        best = max(
            _value(inst, list(np.flatnonzero(fixed_one)) + list(X))
            for X in itertools.combinations(free, r - 1)
        )
        res = branch_and_bound_erm(inst.a, inst.q, r, fixed_zero, fixed_one, fixed_one, 0.0, 1e-9)
        assert res.complete and res.mask.sum() == r
        assert res.value == pytest.approx(_value(inst, np.flatnonzero(res.mask)), rel=1e-12)
        assert res.value >= best * (1 - 1e-12)
        assert best - 1e-12 <= res.bound <= res.value * (1 + 1e-8)


def test_fixing_bounds_bound_every_set_of_the_node() -> None:
    """``U_in(j)`` bounds every set of the node containing ``j``, ``U_out(j)`` every set missing
    it, and their maxima are the NW bound (exact enumeration of the node's sets)."""
    inst = _instance(44, N=40, D=10)
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(10):
        A = sorted(rng.choice(10, int(rng.integers(0, 3)), replace=False).tolist())
        R = [j for j in range(10) if j not in A]
        k = int(rng.integers(2, 5))
        base = _value(inst, A)
        g = np.array([_value(inst, [*A, j]) - base for j in R])
        U_in, U_out = fixing_bounds(base, g, k)
        nw = base + np.sort(g)[::-1][:k].sum()
        assert max(U_in.max(), U_out.max()) <= nw + 1e-12
        for X in itertools.combinations(range(len(R)), k):
            v = _value(inst, [*A, *(R[i] for i in X)])
            assert v <= nw + 1e-12
            for pos in range(len(R)):
                limit = U_in[pos] if pos in X else U_out[pos]
                assert v <= limit + 1e-12
                checked += 1
    assert checked > 1000


@pytest.mark.parametrize(("seed", "r"), HARD[:2])
@pytest.mark.parametrize("bb_slice", [30.0, 0.0])
def test_solve_oa_erm_hand_over(monkeypatch, seed, r, bb_slice) -> None:
    """The master's slice ends at once; the branch-and-bound proves the optimum (30 s) or
    stops at once and the master resumes (0 s): both certify the enumerated optimum."""
    monkeypatch.setattr(submodular_oa, "ERM_MASTER_SLICE", 1e-6)
    monkeypatch.setattr(submodular_oa, "ERM_BB_SLICE", bb_slice)
    inst = _instance(seed)
    bf = brute_force(inst, r)
    res = submodular_oa.solve_oa(inst, r, "erm", gap=1e-7)
    assert res.status is Status.OPTIMAL, res.message
    assert res.value == pytest.approx(bf.value, rel=1e-9)
    assert res.bound >= bf.value - 1e-9
    assert "branch-and-bound" in res.message
    assert ("master resumed" in res.message) == (bb_slice == 0.0)


def test_no_slot_left_gives_the_fixed_set() -> None:
    """Every slot fixed (``budget = |fixed_one|``, candidates left): the only set is the fixed one,
    not the fixed ones plus the candidates (a node with ``k = 0`` evaluates its members)."""
    inst = _instance(9)
    D = inst.num_locations
    fixed_one = np.zeros(D, dtype=bool)
    fixed_one[[2, 5, 7]] = True
    none = np.zeros(D, dtype=bool)
    res = branch_and_bound_erm(inst.a, inst.q, 3, none, fixed_one, none, 0.0, 1e-9)
    assert res.complete and res.evaluated == 1
    assert res.mask.sum() == 3  # the local search from it may swap members (module docstring)
    exact = _value(inst, [2, 5, 7])
    assert res.value == pytest.approx(_value(inst, np.flatnonzero(res.mask)), rel=1e-12)
    assert res.value >= exact * (1 - 1e-12)
    assert exact - 1e-12 <= res.bound <= res.value * (1 + 1e-8)


def test_cpu_budget_and_its_extension_by_the_estimate() -> None:
    """``cpu_seconds`` stops the search incomplete (no bound); ``cpu_extend_to`` lets it go on
    while the estimated total is within it, to the same proven optimum as without a budget."""
    inst = _instance(1, N=300, D=30)
    none = np.zeros(30, dtype=bool)
    full = branch_and_bound_erm(inst.a, inst.q, 6, none, none, none, 0.0, 1e-9)
    assert full.complete and full.bound >= full.value
    short = branch_and_bound_erm(inst.a, inst.q, 6, none, none, none, 0.0, 1e-9, cpu_seconds=0.01)
    assert not short.complete and short.bound is None and short.remaining > 0
    long = branch_and_bound_erm(
        inst.a, inst.q, 6, none, none, none, 0.0, 1e-9, cpu_seconds=0.01, cpu_extend_to=1e9
    )
    assert long.complete and long.remaining == 0
    assert long.value == pytest.approx(full.value, rel=1e-12)
    assert long.bound == pytest.approx(full.bound, rel=1e-12)
    assert full.value == pytest.approx(_value(inst, np.flatnonzero(full.mask)), rel=1e-12)
