"""Exponential cone -> polyhedral outer/inner approximation: a certified sandwich on HiGHS.

Checks: the cuts are valid and the rays lie in the cone (vectorised property checks); the
outer optimum <= OPT <= the inner point's original objective (min; mirrored for max) on random
log-sum-exp, entropy, KL-DRO and binary-selection instances against Clarabel / SCIP / brute
force; the sandwich width shrinks strictly along nested grids and the adaptive loop reaches
``tol``; unbounded / infeasible / constant-``y`` cones; the registry routes ``solver="highs"``
to the sandwich while the default choice and other capability errors are unchanged.
"""

from __future__ import annotations

import itertools

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp

import dro_opt
from dro_opt.conic import ConicBuilder, ConicProblem, from_cvxpy
from dro_opt.errors import CapabilityError, InvalidModelError
from dro_opt.instances.reference_models import REFERENCE_MODELS
from dro_opt.reformulations.exp_cone_polyhedral import (
    MU_BLOCK,
    PointSet,
    cone_slacks,
    initial_points,
    inner_approximation,
    outer_approximation,
    ray_vectors,
    tangent_coefficients,
)
from dro_opt.reformulations.exp_cone_polyhedral_solve import (
    LINE_NAME,
    polyhedral_route,
    solve_exp_polyhedral,
)
from dro_opt.solvers import registry
from dro_opt.solvers.base import SolveOptions
from dro_opt.solvers.status import Status

SEEDS = (0, 1, 2)
HIGHS = dro_opt.get_backend("highs")
# Clarabel at its default tolerances can be 1e-7 off (KL-DRO seed 3); the references are tight
TIGHT = SolveOptions(extra={"tol_gap_abs": 1e-11, "tol_gap_rel": 1e-11, "tol_feas": 1e-11})


def reference_optimum(problem: ConicProblem) -> float:
    res = dro_opt.solve(problem, "clarabel", TIGHT)
    assert res.status is Status.OPTIMAL
    return float(res.objective)


# ------------------------------------------------------------------------------ instances
def log_sum_exp(seed: int, m: int = 8, d: int = 3) -> ConicProblem:
    """min log sum exp(A x + b) + 0.1 sum x over a box (cvxpy import; y = 1 rows)."""
    rng = np.random.default_rng(seed)
    A, b = rng.normal(size=(m, d)), rng.normal(size=m)
    x = cp.Variable(d, name="x")
    obj = cp.Minimize(cp.log_sum_exp(A @ x + b) + 0.1 * cp.sum(x))
    return from_cvxpy(cp.Problem(obj, [cp.norm(x, "inf") <= 2]), name="lse")


def entropy(seed: int, m: int = 6, k: int = 2) -> ConicProblem:
    """max sum entr(p) on the simplex with random linear moment constraints (y = p variable)."""
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(k, m))
    g = F @ rng.dirichlet(np.ones(m)) + 0.05
    p = cp.Variable(m, name="p", nonneg=True)
    prob = cp.Problem(cp.Maximize(cp.sum(cp.entr(p))), [cp.sum(p) == 1, F @ p <= g])
    return from_cvxpy(prob, name="entropy")


def kl_dro_loss(seed: int, N: int = 10) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=N)


def kl_dro(seed: int, N: int = 10, r: float = 0.2) -> ConicProblem:
    """KL-DRO worst case min_{lam >= 0, t} lam r + t s.t. mean_i exp((l_i - t)/lam) <= 1, as
    (l_i - t, lam, u_i) in K_exp, mean u <= lam (y = lam a variable)."""
    loss = kl_dro_loss(seed, N)
    bld = ConicBuilder("min", name="kl_dro")
    lam = bld.add_variables("lam", 1, lb=0)
    t = bld.add_variables("t", 1)
    u = bld.add_variables("u", N, lb=0)
    rx = 3 * np.arange(N)
    col0 = np.zeros(N, dtype=int)
    bld.add_constraints(
        "kl",
        "exp",
        [
            (t, sp.coo_matrix((-np.ones(N), (rx, col0)), shape=(3 * N, 1))),
            (lam, sp.coo_matrix((np.ones(N), (rx + 1, col0)), shape=(3 * N, 1))),
            (u, sp.coo_matrix((np.ones(N), (rx + 2, np.arange(N))), shape=(3 * N, N))),
        ],
        const=np.repeat(loss, 3) * np.tile([1.0, 0.0, 0.0], N),
    )
    bld.add_le("mean", [(u, np.full((1, N), 1.0 / N)), (lam, [[-1.0]])], 0.0)
    bld.set_objective([(lam, [r]), (t, [1.0])])
    return bld.build()


def binary_selection(seed: int, m: int = 5, n: int = 4, k: int = 2) -> ConicProblem:
    """min sum_i exp(a_i - B_i z) + c'z, z binary, sum z <= k (exp rows with y = 1)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n) + 1.0
    B = rng.uniform(0.0, 1.5, size=(n, m))
    c = rng.uniform(0.1, 0.6, size=m)
    bld = ConicBuilder("min", name="mi_select")
    z = bld.add_variables("z", m, vtype="binary")
    e = bld.add_variables("e", n)
    rx = 3 * np.arange(n)
    Mz = sp.coo_matrix((-B.ravel(), (np.repeat(rx, m), np.tile(np.arange(m), n))), (3 * n, m))
    Me = sp.coo_matrix((np.ones(n), (rx + 2, np.arange(n))), shape=(3 * n, n))
    const = np.tile([0.0, 1.0, 0.0], n)
    const[rx] = a
    bld.add_constraints("ex", "exp", [(z, Mz), (e, Me)], const=const)
    bld.add_le("card", [(z, np.ones((1, m)))], k)
    bld.set_objective([(e, np.ones(n)), (z, c)])
    return bld.build()


def brute_force(problem: ConicProblem) -> float:
    """Optimum of a pure-binary-plus-continuous model: enumerate the binaries, Clarabel."""
    ints = np.flatnonzero(problem.integer_mask)
    best = np.inf
    for bits in itertools.product((0.0, 1.0), repeat=ints.size):
        q = problem.copy()
        q.vtype = np.zeros(q.n, dtype=np.int8)
        q.lb[ints] = q.ub[ints] = bits
        res = dro_opt.solve(q, "clarabel", TIGHT)
        if res.status is Status.OPTIMAL:
            best = min(best, res.objective)
    return best


CONTINUOUS_FAMILIES = {"lse": log_sum_exp, "entropy": entropy, "kl_dro": kl_dro}


def sides(res: dro_opt.Result) -> tuple[float, float]:
    cert = res.certificate
    assert cert is not None and cert.lower is not None and cert.upper is not None, res.message
    return cert.lower, cert.upper


def assert_contains(res: dro_opt.Result, opt: float, rel: float = 1e-7) -> None:
    lower, upper = sides(res)
    slack = rel * max(1.0, abs(opt))
    assert lower <= opt + slack and opt <= upper + slack, (lower, opt, upper)


def fixed_grid_sandwich(problem: ConicProblem, grid: np.ndarray) -> tuple[float, float]:
    """(lower, upper) of the rule alone: one outer and one inner HiGHS solve on ``grid``."""
    r_out = HIGHS.solve(outer_approximation(problem, grid))
    r_in = HIGHS.solve(inner_approximation(problem, grid))
    assert r_out.status is Status.OPTIMAL and r_in.status is Status.OPTIMAL
    x = r_in.x[: problem.n]
    assert problem.max_violation(x) <= 1e-7
    value = problem.objective_value(x)
    # the outer LP's optimum: the more conservative of its primal value and dual objective
    if problem.sense == "min":
        return min(r_out.objective, r_out.bound), value
    return value, max(r_out.objective, r_out.bound)


# ------------------------------------------------------------------------------ the rule
def test_cuts_valid_and_rays_inside_the_cone() -> None:
    rng = np.random.default_rng(0)
    s = np.linspace(-18, 18, 73)
    gx, gy, gz = tangent_coefficients(s)
    # random cone points (y > 0 on the boundary and above it; the y = 0 face)
    t, y = rng.uniform(-25, 25, 4000), rng.exponential(2.0, 4000)
    z = y * np.exp(t) * (1 + rng.exponential(0.1, 4000))
    xs = np.r_[t * y, -rng.exponential(1, 500)]
    ys = np.r_[y, np.zeros(500)]
    zs = np.r_[z, rng.exponential(1, 500)]
    terms = [gx[:, None] * xs, gy[:, None] * ys, gz[:, None] * zs]
    assert np.all(sum(terms) <= 1e-12 * sum(np.abs(v) for v in terms))
    # the cut at s is tight at the ray (s, 1, e^s)
    rx, ry, rz = ray_vectors(s)
    terms = [gx * rx, gy * ry, gz * rz]
    assert np.all(np.abs(sum(terms)) <= 1e-12 * sum(np.abs(v) for v in terms))
    # rays lie in K: y e^{x/y} <= z
    assert np.all(ry * np.exp(rx / ry) <= rz * (1 + 1e-12))


def test_outer_and_inner_structure() -> None:
    prob = kl_dro(0)
    grid = np.array([-2.0, 0.0, 1.0])
    outer = outer_approximation(prob, grid)
    inner = inner_approximation(prob, grid)
    assert outer.n == prob.n and "exp" not in outer.cone_kinds()
    assert outer.con_blocks["_exp_cuts"].rows == 10 * 3
    assert inner.var_blocks[MU_BLOCK].size == 10 * (3 + 2) and inner.n == prob.n + 50
    assert "exp" not in inner.cone_kinds() and set(prob.var_blocks) < set(inner.var_blocks)
    # any mu >= 0 maps into the original cones (inner ⊆ K)
    rng = np.random.default_rng(1)
    mu = rng.exponential(1.0, 50)
    mu_rows = inner.con_blocks["_exp_inner"]
    R = inner.A[mu_rows.slice][:, prob.n :]
    xyz = (R @ mu).reshape(-1, 3)
    assert np.all(xyz[:, 1] * np.exp(xyz[:, 0] / xyz[:, 1]) <= xyz[:, 2] * (1 + 1e-12))
    # the points of the cones can be given per cone
    per_cone = [np.array([0.0, i]) for i in range(10)]
    assert PointSet.coerce(per_cone, 10).counts().tolist() == [1] + [2] * 9
    with pytest.raises(InvalidModelError, match="10 exp cones"):
        PointSet.coerce(per_cone[:3], 10)


def test_initial_points_use_bounds_for_constant_y() -> None:
    prob = REFERENCE_MODELS["miexp"].build()  # (k, 1, t1), (2.5 - k, 1, t2), k in [0, 3]
    pts = initial_points(prob).per_cone()
    assert pts[0].min() == 0.0 and pts[0].max() == 3.0
    assert pts[1].min() == -0.5 and pts[1].max() == 2.5
    # a cone with variable y (KL-DRO: y = lam in [0, inf)) gets the default grid
    assert initial_points(kl_dro(0)).counts().min() >= 17


@pytest.mark.parametrize("family", sorted(CONTINUOUS_FAMILIES))
def test_fixed_grids_sandwich_the_optimum_and_shrink(family: str) -> None:
    for seed in SEEDS:
        prob = CONTINUOUS_FAMILIES[family](seed)
        opt = reference_optimum(prob)
        widths = []
        for size in (7, 13, 25, 49):  # nested grids (step 2, 1, 0.5, 0.25) on [-8, 4]
            lower, upper = fixed_grid_sandwich(prob, np.linspace(-8.0, 4.0, size))
            slack = 1e-7 * max(1.0, abs(opt))
            assert lower <= opt + slack and opt <= upper + slack, (seed, size, lower, opt, upper)
            widths.append(upper - lower)
        assert all(b < a for a, b in itertools.pairwise(widths)), widths
        assert widths[-1] < 0.2 * widths[0]


@pytest.mark.parametrize("family", sorted(CONTINUOUS_FAMILIES))
def test_adaptive_loop_certifies_continuous_optimum(family: str) -> None:
    for seed in SEEDS:
        prob = CONTINUOUS_FAMILIES[family](seed)
        opt = reference_optimum(prob)
        res = solve_exp_polyhedral(prob, tol=1e-6)
        assert res.status is Status.OPTIMAL, res.message
        assert_contains(res, opt)
        lower, upper = sides(res)
        assert (upper - lower) / max(1.0, abs(lower)) <= 1e-6
        assert res.extra["max_violation"] <= 1e-6
        assert prob.max_violation(res.x) <= 1e-6
        assert res.objective == pytest.approx(prob.objective_value(res.x))
        hist = np.array(res.extra["history"], dtype=float)
        width = hist[:, 1] - hist[:, 0]
        assert np.all(np.diff(width) <= 0) and width[-1] < width[0]
        line = {ln.name: ln for ln in res.certificate.lines}[LINE_NAME]
        assert line.value == pytest.approx(upper - lower) and line.rigorous


def test_kl_dro_against_its_one_dimensional_dual() -> None:
    """KL-DRO worst case = min_{lam > 0} lam r + lam log mean exp(l / lam): a 1-D convex
    minimisation solved to 1e-12 independently of any conic solver."""
    for seed in range(6):
        loss = kl_dro_loss(seed)
        dual = minimize_scalar(
            lambda lam, loss=loss: lam * 0.2 + lam * (logsumexp(loss / lam) - np.log(loss.size)),
            bounds=(1e-3, 1e3),
            method="bounded",
            options={"xatol": 1e-12},
        )
        assert_contains(solve_exp_polyhedral(kl_dro(seed)), float(dual.fun), rel=1e-8)


def test_mixed_integer_against_brute_force_and_scip() -> None:
    for seed in SEEDS:
        prob = binary_selection(seed)
        opt = brute_force(prob)
        scip = dro_opt.solve(prob, "scip")
        assert scip.objective == pytest.approx(opt, rel=1e-5)
        res = solve_exp_polyhedral(prob)
        assert res.status is Status.OPTIMAL, res.message
        assert_contains(res, opt)
        # the coarse fixed-grid sandwich is also valid with integers
        coarse = solve_exp_polyhedral(prob, initial_points=np.linspace(-6, 4, 6), max_rounds=1)
        assert_contains(coarse, opt)
    ref = REFERENCE_MODELS["miexp"]
    assert_contains(solve_exp_polyhedral(ref.build()), ref.optimum)


def test_mixed_integer_variable_y_against_enumeration() -> None:
    """KL-DRO with an integer multiplier lam in {0..10} (y = lam variable and integer): the
    optimum is the smallest of max(l) (lam = 0: the closure face y = 0) and the closed-form
    values lam r + lam log mean exp(l / lam), lam >= 1."""
    for seed in (0, 1, 3):
        prob = kl_dro(seed, r=0.5)
        prob.vtype[0], prob.ub[0] = 1, 10.0
        loss = kl_dro_loss(seed)
        lam = np.arange(1.0, 11.0)
        values = 0.5 * lam + lam * (logsumexp(loss / lam[:, None], axis=1) - np.log(loss.size))
        opt = min(float(values.min()), float(loss.max()))
        res = solve_exp_polyhedral(prob)
        assert res.status is Status.OPTIMAL, res.message
        assert_contains(res, opt, rel=1e-8)


def test_maximisation_sides_are_mirrored() -> None:
    ref = REFERENCE_MODELS["exp"]  # max x1 + x2, optimum 2 log 1.5
    res = solve_exp_polyhedral(ref.build(), initial_points=np.linspace(-3, 3, 7), max_rounds=1)
    lower, upper = sides(res)
    assert res.certificate.sense == "max" and lower == res.objective and upper == res.bound
    assert lower < ref.optimum < upper
    assert res.status is Status.FEASIBLE  # one round does not reach tol: never "optimal"


# --------------------------------------------------------------------- edge cases
def _single_cone(sense: str, z_ub: float, y: float = 1.0, shift: float = 0.0) -> ConicProblem:
    """``sense`` v  s.t.  (v - shift, y, w) in K_exp, w <= z_ub (v, w free)."""
    bld = ConicBuilder(sense, name="single")
    v = bld.add_variables("v", 1)
    w = bld.add_variables("w", 1)
    bld.add_constraints(
        "k", "exp", [(v, [[1.0], [0.0], [0.0]]), (w, [[0.0], [0.0], [1.0]])], [-shift, y, 0.0]
    )
    bld.add_le("cap", [(w, [[1.0]])], z_ub)
    bld.set_objective([(v, [1.0])])
    return bld.build()


def test_unbounded_outer_gets_extreme_cuts_and_retries() -> None:
    prob = _single_cone("max", 2.0)  # max v s.t. e^v <= w <= 2: log 2
    res = solve_exp_polyhedral(prob, initial_points=[])  # no cut: outer LP unbounded
    assert res.status is Status.OPTIMAL and "retried" in res.message
    assert_contains(res, np.log(2.0))


def test_unbounded_and_infeasible_are_proven() -> None:
    # min v s.t. e^v <= w: unbounded (inner restriction unbounded proves it)
    res = solve_exp_polyhedral(_single_cone("min", 1e6))
    assert res.status is Status.UNBOUNDED and res.bound is None and res.certificate is None
    # w <= -1 contradicts w >= 0 on the cone: the outer relaxation proves infeasibility
    res = solve_exp_polyhedral(_single_cone("max", -1.0))
    assert res.status is Status.INFEASIBLE and res.x is None


def test_constant_zero_y_uses_the_closure_face() -> None:
    # (v - 1, 0, w) in K_exp means v <= 1, w >= 0: max v = 1 exactly
    res = solve_exp_polyhedral(_single_cone("max", 5.0, y=0.0, shift=1.0))
    assert res.status is Status.OPTIMAL
    assert sides(res) == (pytest.approx(1.0, abs=1e-9), pytest.approx(1.0, abs=1e-9))


def test_time_limit_reports_no_unproven_side() -> None:
    res = solve_exp_polyhedral(kl_dro(0), options=SolveOptions(time_limit=0.0))
    assert res.status is Status.TIME_LIMIT and res.bound is None and res.objective is None
    assert res.certificate is not None and res.certificate.gap is None


def test_result_json_round_trip() -> None:
    res = solve_exp_polyhedral(entropy(0))
    back = dro_opt.Result.from_json(res.to_json())
    assert back.certificate.lower == res.certificate.lower
    assert [ln.name for ln in back.certificate.lines] == ["solver_bound", LINE_NAME]
    assert back.extra["rounds"] == res.extra["rounds"]


# --------------------------------------------------------------------- registry hook
def test_registry_routes_explicit_highs_to_the_sandwich() -> None:
    for name in ("exp", "miexp"):
        ref = REFERENCE_MODELS[name]
        res = dro_opt.solve(ref.build(), solver="highs")
        assert res.solver == "highs" and res.status is Status.OPTIMAL
        assert res.extra["method"] == LINE_NAME
        assert LINE_NAME in [ln.name for ln in res.certificate.lines]
        assert_contains(res, ref.optimum)


def test_registry_default_choice_unchanged() -> None:
    assert dro_opt.solve(REFERENCE_MODELS["exp"].build()).solver == "clarabel"
    res = dro_opt.solve(REFERENCE_MODELS["miexp"].build())
    assert res.solver == "scip" and "method" not in res.extra
    assert polyhedral_route(REFERENCE_MODELS["exp"].build(), None) is None
    assert polyhedral_route(REFERENCE_MODELS["lp"].build(), "highs") is None


def test_registry_routes_default_when_no_exp_solver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "solvers_supporting", lambda problem: [])
    res = dro_opt.solve(REFERENCE_MODELS["exp"].build())
    assert res.solver == "highs" and res.extra["method"] == LINE_NAME


def test_other_missing_features_still_raise() -> None:
    with pytest.raises(CapabilityError, match="lacks soc"):
        dro_opt.solve(REFERENCE_MODELS["socp"].build(), solver="highs")
    # exp + soc: HiGHS lacks soc too, so no sandwich
    x = cp.Variable(2, name="x")
    prob = from_cvxpy(cp.Problem(cp.Minimize(cp.exp(x[0]) + cp.norm(x - 1)), [x >= -1]))
    assert polyhedral_route(prob, "highs") is None
    with pytest.raises(CapabilityError, match="soc"):
        dro_opt.solve(prob, solver="highs")
    # clarabel lacks integer as well as mi_exp: unchanged refusal
    with pytest.raises(CapabilityError, match="integer"):
        dro_opt.solve(REFERENCE_MODELS["miexp"].build(), solver="clarabel")


def test_cone_slacks_helper() -> None:
    prob = REFERENCE_MODELS["exp"].build()
    X, Y, Z = cone_slacks(prob, np.array([0.1, 0.2, 1.5, 1.5]))
    assert np.allclose(X, [0.1, 0.2]) and np.allclose(Y, 1.0) and np.allclose(Z, 1.5)
