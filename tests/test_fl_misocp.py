"""The paper's MC-FLP MISOCP (paper 003 Sec. 3.2): structure, exactness, accounted utility caps.

Oracles: brute-force enumeration (:mod:`bruteforce`) and the exact objectives. Solver-backed
checks solve the built model with SCIP through the registry and compare with enumeration.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from dro_opt.errors import ParameterError
from dro_opt.models.facility_location import MCFLPInstance, evaluate
from dro_opt.models.facility_location.bruteforce import brute_force, open_to_z
from dro_opt.models.facility_location.misocp import (
    build_mc_flp_misocp,
    build_mc_flp_misocp_model,
    feasible_point,
)
from dro_opt.models.facility_location.objectives import capture_probabilities

CASES = [
    ("erm", 0.0),
    ("variance", 0.0),
    ("variance", 3.0),
    ("variance", 40.0),
    ("chi2", 2.0),
    ("chi2", 40.0),
]


def _instance(seed: int, extreme: bool = False) -> tuple[MCFLPInstance, int]:
    rng = np.random.default_rng(seed)
    N, D = int(rng.integers(8, 40)), int(rng.integers(3, 9))
    r = int(rng.integers(1, min(3, D) + 1))
    q = rng.integers(1, 6, N).astype(float)
    a = rng.normal(-1.5, 2.0, (N, D))
    if extreme:  # utilities far outside double range after exp, both ways
        a[rng.random((N, D)) < 0.15] = rng.uniform(25, 70)
        a[rng.random((N, D)) < 0.15] = rng.uniform(-400, -21)
        a[0, 0] = -np.inf
    return MCFLPInstance(q, a), r


def _all_sets(D: int, r: int):
    for k in range(r + 1):
        for S in itertools.combinations(range(D), k):
            z = np.zeros(D)
            z[list(S)] = 1
            yield z


def test_blocks_sizes_and_problem_class() -> None:
    inst, r = _instance(0)
    N, D = inst.a.shape
    erm = build_mc_flp_misocp_model(inst, r, "erm", 0.0)
    P = erm.pairs.shape[0]
    prob = erm.problem
    assert set(prob.var_blocks) == {"z", "y", "w"}
    assert prob.var_blocks["z"].size == D and prob.var_blocks["w"].size == P
    assert prob.m == N + 3 * P + 1  # fractional rows + 3 McCormick rows per pair + budget
    assert prob.problem_class() == "MILP" and prob.sense == "max"
    assert (prob.vtype[prob.var_blocks["z"].slice] == 2).all()
    vr = build_mc_flp_misocp(inst, r, "variance", 5.0)
    assert vr.problem_class() == "MISOCP" and {"m", "t"} <= set(vr.var_blocks)
    assert vr.con_blocks["fractional"].kind == "zero"  # VR needs the equality
    chi = build_mc_flp_misocp(inst, r, "chi2", 5.0)
    assert chi.problem_class() == "MISOCP" and {"eta", "u", "t"} <= set(chi.var_blocks)
    assert chi.con_blocks["fractional"].kind == "nonneg"  # monotone dual: "<=" suffices
    # rho = 0 is ERM whatever the objective name
    assert build_mc_flp_misocp(inst, r, "chi2", 0.0).problem_class() == "MILP"


def test_ymax_is_the_best_r_capture_probability() -> None:
    inst, r = _instance(1)
    model = build_mc_flp_misocp_model(inst, r, "erm", 0.0)
    F = np.array([capture_probabilities(inst.a, z) for z in _all_sets(inst.num_locations, r)])
    np.testing.assert_allclose(model.ymax, F.max(axis=0), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("objective", "rho"), CASES)
def test_optimal_completion_is_feasible_and_exact(seed: int, objective: str, rho: float) -> None:
    """At every decision z: the completion (y = f(z), w = y z, ...) is feasible and its model
    objective equals the exact objective (no cap active on these instances)."""
    inst, r = _instance(seed)
    model = build_mc_flp_misocp_model(inst, r, objective, rho)
    assert model.error_line().value == 0.0
    for z in _all_sets(inst.num_locations, r):
        x = feasible_point(model, z)
        assert model.problem.max_violation(x) <= 1e-9
        exact = evaluate(inst.a, inst.q, z, objective, rho)
        assert model.problem.objective_value(x) == pytest.approx(exact, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_mccormick_rows_force_w_equal_y_z(seed: int) -> None:
    """Perturbing one w_ij of a feasible point away from y_i z_j violates a McCormick row."""
    inst, r = _instance(seed)
    model = build_mc_flp_misocp_model(inst, r, "variance", 2.0)
    bf = brute_force(inst, r, "variance", 2.0)
    x = feasible_point(model, open_to_z(bf.open, inst.num_locations))
    w = model.problem.var_blocks["w"]
    rng = np.random.default_rng(seed)
    for p in rng.choice(w.size, size=min(10, w.size), replace=False):
        for delta in (1e-3, -1e-3):
            x2 = x.copy()
            x2[w.start + p] += delta
            assert model.problem.max_violation(x2) >= 5e-4


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("objective", "rho"), [("erm", 0.0), ("variance", 3.0), ("chi2", 3.0)])
def test_cap_and_drop_are_accounted(seed: int, objective: str, rho: float) -> None:
    """Utilities beyond double range: the model's f~ is below f by at most e_i for every z,
    and |F(z) - F~(z)| never exceeds the certificate line."""
    inst, r = _instance(seed, extreme=True)
    model = build_mc_flp_misocp_model(inst, r, objective, rho)
    assert model.num_capped > 0 and model.num_dropped > 0
    assert np.isfinite(model.problem.A.data).all()
    assert np.abs(model.problem.A.data).max() <= math.exp(model.max_log_odds) * (1 + 1e-12)
    nz = np.abs(model.problem.A.data)
    assert nz[nz > 0].min() >= math.exp(model.min_log_odds) * (1 - 1e-12)
    line = model.error_line()
    assert line.rigorous and line.value > 0
    for z in _all_sets(inst.num_locations, r):
        f = capture_probabilities(inst.a, z)
        f_model = capture_probabilities(model.a_model, z)
        assert (f_model <= f + 1e-15).all()
        assert (f - f_model <= model.per_customer_error + 1e-15).all()
        exact = evaluate(inst.a, inst.q, z, objective, rho)
        assert abs(exact - model.model_value(z)) <= line.value + 1e-12


def test_unscaled_rows_need_competitor_utilities_and_are_equivalent() -> None:
    inst, r = _instance(2)
    with pytest.raises(ParameterError, match="log_W"):
        build_mc_flp_misocp(inst, r, "erm", 0.0, scale_rows=False)
    rng = np.random.default_rng(0)
    inst.meta["log_W"] = rng.normal(0, 3, inst.num_customers)
    scaled = build_mc_flp_misocp_model(inst, r, "erm", 0.0)
    raw = build_mc_flp_misocp_model(inst, r, "erm", 0.0, scale_rows=False)
    rows = raw.problem.con_blocks["fractional"].slice
    W = np.exp(inst.meta["log_W"])
    np.testing.assert_allclose(
        raw.problem.A[rows].toarray(), W[:, None] * scaled.problem.A[rows].toarray(), rtol=1e-12
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"budget": 0}, "budget"),
        ({"budget": 99}, "budget"),
        ({"budget": 2.0}, "budget"),
        ({"budget": True}, "budget"),
        ({"rho": -1.0}, "rho"),
        ({"rho": float("nan")}, "rho"),
        ({"rho": float("inf")}, "rho"),
        ({"objective": "cvar"}, "objective"),
        ({"max_log_odds": -1.0}, "log_odds"),
    ],
)
def test_bad_parameters(kwargs: dict, match: str) -> None:
    inst, _ = _instance(0)
    args = {"budget": 2, "objective": "variance", "rho": 1.0} | kwargs
    with pytest.raises(ParameterError, match=match):
        build_mc_flp_misocp(inst, **args)


# --------------------------------------------------------------------- solved with SCIP
@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize(("objective", "rho"), [("erm", 0.0), ("variance", 5.0), ("chi2", 5.0)])
def test_scip_optimum_matches_brute_force(seed: int, objective: str, rho: float) -> None:
    from dro_opt.solvers import solve

    rng = np.random.default_rng(100 + seed)
    N, D, r = 20, 6, 2
    inst = MCFLPInstance(rng.integers(1, 4, N).astype(float), rng.normal(-1.5, 2.0, (N, D)))
    model = build_mc_flp_misocp_model(inst, r, objective, rho)
    res = solve(model.problem, "scip", gap=1e-9, threads=1, time_limit=120)
    bf = brute_force(inst, r, objective, rho)
    assert res.status.value == "optimal"
    z = np.round(res["z"])
    assert evaluate(inst.a, inst.q, z, objective, rho) == pytest.approx(bf.value, rel=1e-6)
    assert res.objective == pytest.approx(bf.value, rel=1e-5)
    assert res.bound >= bf.value - 1e-5 * bf.value


# --------------------------------------------------------------- built from the rewrite rules
def test_model_blocks_come_from_the_rewrite_rules() -> None:
    """The MISOCP is assembled by mccormick_fractional, variance_soc and chi2_soc: their blocks,
    one w per kept pair, no fourth McCormick family (y >= 0, z binary: implied by w >= 0)."""
    inst, r = _instance(3, extreme=True)
    N = inst.num_customers
    erm = build_mc_flp_misocp_model(inst, r, "erm", 0.0)
    np.testing.assert_array_equal(erm.pairs, np.column_stack(np.nonzero(np.isfinite(erm.a_model))))
    P = erm.pairs.shape[0]
    cons = erm.problem.con_blocks
    assert {"fractional", "mccormick_w_le_yhi_v", "mccormick_w_le_y", "mccormick_w_ge"} <= set(cons)
    assert "mccormick_w_ge_ylo_v" not in cons
    assert all(cons[k].rows == P for k in cons if k.startswith("mccormick"))
    vr = build_mc_flp_misocp(inst, r, "variance", 3.0)
    assert vr.con_blocks["mean"].rows == 1 and vr.con_blocks["std_soc"].rows == N + 1
    chi = build_mc_flp_misocp(inst, r, "chi2", 3.0)
    assert {"eta", "u", "tau", "t"} <= set(chi.var_blocks)
    assert chi.con_blocks["u_excess"].rows == N and chi.con_blocks["norm"].rows == N + 1
    eta = chi.var_blocks["eta"].start
    assert chi.ub[eta] == 0.0 and chi.lb[eta] < 0  # the rule's eta is minus the capture eta


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("objective", "rho"), [("variance", 3.0), ("chi2", 2.0), ("chi2", 40.0)])
def test_rebuilt_objective_equals_the_inline_formula(seed: int, objective: str, rho: float) -> None:
    """At the brute-force optimum, the rule-built model's objective equals the formula of the
    former inline model: n (m - sqrt(2 rho/n) t) (VR), n (eta - sqrt(1 + 2 rho/n) ||u||_p) with
    u = (eta - y)_+ (chi2, eta = -x[eta] in the rule's sign) -- and the exact objective."""
    inst, r = _instance(seed)
    model = build_mc_flp_misocp_model(inst, r, objective, rho)
    bf = brute_force(inst, r, objective, rho)
    x = feasible_point(model, open_to_z(bf.open, inst.num_locations))
    blocks = model.problem.var_blocks
    n = float(inst.q.sum())
    p = inst.q / n
    val = lambda name: x[blocks[name].slice]  # noqa: E731
    y = val("y")
    if objective == "variance":
        inline = n * (val("m")[0] - math.sqrt(2 * rho / n) * val("t")[0])
    else:
        eta = -val("eta")[0]
        u = np.maximum(eta - y, 0.0)
        np.testing.assert_allclose(val("u"), u, atol=1e-15)
        inline = n * (eta - math.sqrt(1 + 2 * rho / n) * math.sqrt(float(p @ u**2)))
    assert model.problem.max_violation(x) <= 1e-9
    assert model.problem.objective_value(x) == pytest.approx(inline, rel=1e-12, abs=1e-12)
    assert inline == pytest.approx(bf.value, rel=1e-9)
