"""Open-source backends (SCIP, HiGHS, Clarabel): the shared reference harness and more.

* Every ``REFERENCE_MODELS`` entry x every installed open backend declaring the needed features:
  objective (1e-6 relative), expected solution blocks, for MIPs the proven bound and gap,
  infeasible / unbounded statuses.
* Capability mismatches raise ``CapabilityError`` naming alternatives.
* Time limits on a MILP that cannot finish in 0.5 s (multi-dimensional 0-1 knapsack generated
  here), with incumbent and bound.
* Duals (Clarabel, HiGHS) checked by dual feasibility, stationarity and strong duality.
* Exponential cones with a variable ``y`` in SCIP (exact tangent-cut handler), including the
  ``y = 0`` closure and a binary perspective, against closed forms and brute-force enumeration.
* Randomised cross-check: random feasible bounded LPs and SOCPs solved by all capable backends
  agree.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import reference_model

from dro_opt.conic import ConicBuilder, ConicProblem
from dro_opt.conic.cones import ConeRun
from dro_opt.errors import CapabilityError, ParameterError
from dro_opt.instances.reference_models import REFERENCE_MODELS
from dro_opt.solvers import (
    Status,
    clarabel_backend,
    get_backend,
    highs_backend,
    scip_backend,
    solve,
)
from dro_opt.solvers._scip_expcone import exp_violation, tangent_cuts
from dro_opt.solvers._transforms import bound_rows, min_form, rsoc_to_soc
from dro_opt.solvers.base import SolveOptions, required_features

OPEN = ("scip", "highs", "clarabel")
INSTALLED = [s for s in OPEN if get_backend(s).is_installed()]
REL = 1e-6
# No open backend needs INFEASIBLE_OR_UNBOUNDED on the reference models: HiGHS re-solves without
# presolve when presolve cannot tell, SCIP and Clarabel decide directly. A pair listed here would
# be allowed to answer INFEASIBLE_OR_UNBOUNDED.
CANNOT_TELL: set[tuple[str, str]] = set()
# Solution blocks: the reference optima are unique, but near them the objectives are flat to
# second order (norms) or SCIP stops at a 1e-6 gap, so decisions agree to about sqrt(1e-6).
XTOL = 2e-3


def rel_err(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(b))


def harness_cases() -> list[pytest.param]:
    cases = []
    for name, ref in REFERENCE_MODELS.items():
        need = required_features(ref.build())
        for s in INSTALLED:
            if need <= get_backend(s).features:
                cases.append(pytest.param(name, s, id=f"{name}-{s}"))
    return cases


def test_harness_covers_every_reference_model() -> None:
    covered = {p.values[0] for p in harness_cases()}
    assert covered == set(REFERENCE_MODELS), set(REFERENCE_MODELS) - covered


@pytest.mark.parametrize(("name", "solver"), harness_cases())
def test_reference_model(name: str, solver: str) -> None:
    ref, problem = reference_model(name)
    res = solve(problem, solver, threads=1)
    assert res.solver == solver and res.solver_version
    assert res.sense == problem.sense
    assert res.build_seconds >= 0 and res.solve_seconds >= 0
    if ref.expected_status != "optimal":
        allowed = {Status.parse(ref.expected_status)}
        if (solver, name) in CANNOT_TELL:
            allowed.add(Status.INFEASIBLE_OR_UNBOUNDED)
        assert res.status in allowed, res.message
        assert res.objective is None and res.x is None
        return
    assert res.status is Status.OPTIMAL, res.message
    assert rel_err(res.objective, ref.optimum) <= REL, (res.objective, ref.optimum)
    assert res.objective == pytest.approx(problem.objective_value(res.x), abs=1e-12)
    assert problem.max_violation(res.x) <= 1e-5
    for block, expected in (ref.solution or {}).items():
        np.testing.assert_allclose(res[block], expected, atol=XTOL)
    sense = 1.0 if problem.sense == "min" else -1.0
    if problem.is_mixed_integer:
        assert res.bound is not None, "MIP results must carry the proven bound"
        assert rel_err(res.bound, ref.optimum) <= REL
        # a proven bound never cuts off the true optimum
        assert sense * (res.bound - ref.optimum) <= REL * max(1.0, abs(ref.optimum))
        assert res.gap is not None and res.gap <= REL
        assert res.nodes is not None and res.nodes >= 0
    elif res.bound is not None:
        assert rel_err(res.bound, ref.optimum) <= 2 * REL
        assert sense * (res.bound - ref.optimum) <= 2 * REL * max(1.0, abs(ref.optimum))


def infeasible_with_free_ray(integer: bool) -> ConicProblem:
    """max y  s.t. x >= 2, x <= 1, y free: infeasible, but presolve sees the free ray in y and
    can only say "infeasible or unbounded" (SCIP does)."""
    vt = "integer" if integer else "continuous"
    bld = ConicBuilder("max", name="infeasible_ray")
    x = bld.add_variables("x", 1, vtype=vt)
    y = bld.add_variables("y", 1, vtype=vt)
    bld.add_ge("lo", [(x, [[1.0]])], 2.0)
    bld.add_le("hi", [(x, [[1.0]])], 1.0)
    bld.set_objective([(y, [1.0])])
    return bld.build()


def unbounded_milp() -> ConicProblem:
    """max x0 + x1  s.t. x0 - x1 <= 1, x integer >= 0: unbounded (HiGHS's presolve cannot tell)."""
    bld = ConicBuilder("max", name="unbounded_milp")
    x = bld.add_variables("x", 2, lb=0, vtype="integer")
    bld.add_le("row", [(x, [[1.0, -1.0]])], 1.0)
    bld.set_objective([(x, [1.0, 1.0])])
    return bld.build()


EXTRA_STATUS_CASES = [
    ("infeasible_ray_lp", lambda: infeasible_with_free_ray(False), Status.INFEASIBLE),
    ("infeasible_ray_milp", lambda: infeasible_with_free_ray(True), Status.INFEASIBLE),
    ("unbounded_milp", unbounded_milp, Status.UNBOUNDED),
]


@pytest.mark.parametrize(
    ("make", "expected", "solver"),
    [
        pytest.param(make, expected, s, id=f"{name}-{s}")
        for name, make, expected in EXTRA_STATUS_CASES
        for s in INSTALLED
        if required_features(make()) <= get_backend(s).features
    ],
)
def test_infeasible_or_unbounded_is_told_apart(
    make: Callable[[], ConicProblem], expected: Status, solver: str
) -> None:
    """Where presolve answers "infeasible or unbounded" the backends re-solve without presolve
    and report the exact status."""
    res = solve(make(), solver)
    assert res.status is expected, (res.status, res.message)


@pytest.mark.parametrize("solver", [s for s in INSTALLED if s in ("scip", "highs")])
@pytest.mark.parametrize("sense", ["min", "max"])
def test_objective_constant_in_objective_and_bound(solver: str, sense: str) -> None:
    """The reference MILP with an objective constant, in both senses: objective and bound both
    include c0 and sit on the right side of each other."""
    _, base = reference_model("milp")
    problem = base.copy()
    problem.c0 = 7.5
    if sense == "min":
        problem.sense, problem.c = "min", -problem.c
    res = solve(problem, solver)
    expected = 20.0 + 7.5 if sense == "max" else -20.0 + 7.5
    assert res.status is Status.OPTIMAL
    assert res.objective == pytest.approx(expected, abs=1e-9)
    assert res.bound == pytest.approx(expected, abs=1e-6)


# ---------------------------------------------------------------------------- capability
@pytest.mark.parametrize(
    ("solver", "model", "alternative"),
    [
        ("highs", "socp", "clarabel"),
        ("highs", "rsocp", "clarabel"),
        ("clarabel", "milp", "highs"),
        ("clarabel", "miexp", "scip"),
    ],
)
def test_capability_mismatch_names_alternatives(solver: str, model: str, alternative: str) -> None:
    _, problem = reference_model(model)
    with pytest.raises(CapabilityError) as err:
        solve(problem, solver)
    msg = str(err.value)
    assert solver in msg and alternative in msg, msg


def test_highs_backend_itself_refuses_exp_cones() -> None:
    """The backend never drops a cone; only the registry's solve routes an explicit HiGHS request
    for an exp-cone model to the certified polyhedral sandwich (tests/test_exp_cone_polyhedral.py).
    """
    _, problem = reference_model("exp")
    with pytest.raises(CapabilityError, match="scip"):
        get_backend("highs").solve(problem)


# --------------------------------------------------------------------------- time limits
def multi_knapsack(n: int = 250, m: int = 10, seed: int = 0) -> ConicProblem:
    """Chu-Beasley style 0-1 multi-dimensional knapsack (n x m, tightness 0.5, correlated
    profits): LP bound and good incumbents come fast, optimality takes far longer than 0.5 s."""
    rng = np.random.default_rng(seed)
    W = rng.integers(1, 1001, size=(m, n)).astype(float)
    cap = np.floor(0.5 * W.sum(axis=1))
    profit = np.round(W.mean(axis=0) + rng.integers(0, 501, size=n))
    bld = ConicBuilder("max", name="mknap")
    x = bld.add_variables("x", n, vtype="binary")
    bld.add_le("cap", [(x, W)], cap)
    bld.set_objective([(x, profit)])
    return bld.build()


@pytest.mark.parametrize("solver", [s for s in INSTALLED if s in ("scip", "highs")])
def test_time_limit_with_incumbent_and_bound(solver: str) -> None:
    problem = multi_knapsack()
    res = solve(problem, solver, time_limit=0.5, threads=1)
    assert res.status is Status.TIME_LIMIT, (res.status, res.message)
    assert res.solve_seconds < 0.5 + 5.0  # generous: the machine is shared
    assert res.objective is not None and res.bound is not None
    assert problem.max_violation(res.x) <= 1e-6
    assert res.bound >= res.objective - 1e-6  # maximisation: bound above the incumbent
    assert res.gap is not None and res.gap > 0


@pytest.mark.skipif("clarabel" not in INSTALLED, reason="clarabel not installed")
def test_clarabel_time_limit() -> None:
    problem = random_socp(n=400, k=400, seed=3)
    res = solve(problem, "clarabel", time_limit=1e-6)
    assert res.status is Status.TIME_LIMIT, res.status
    assert res.bound is None


# --------------------------------------------------------------------------------- duals
@pytest.mark.parametrize("solver", [s for s in INSTALLED if s in ("highs", "clarabel")])
def test_lp_duals_strong_duality(solver: str) -> None:
    _, problem = reference_model("lp")
    res = solve(problem, solver)
    z = res.duals["rows"]
    np.testing.assert_allclose(z, [0.4, 0.2], atol=1e-7)
    c_min, sign = min_form(problem)
    # x > 0 at the optimum, so no bound dual: c_min + A'z = 0 and min-form value = -b'z
    np.testing.assert_allclose(c_min + problem.A.T @ z, 0.0, atol=1e-7)
    assert -problem.b @ z == pytest.approx(sign * ref_opt("lp"), abs=1e-7)


def ref_opt(name: str) -> float:
    return float(REFERENCE_MODELS[name].optimum)


def dual_exp_violation(z: np.ndarray) -> np.ndarray:
    """Violation of the dual exponential cone {(u, v, w): u < 0, -u exp(v / u) <= e w}."""
    u, v, w = z[:, 0], z[:, 1], z[:, 2]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        lhs = np.where(u < 0, -u * np.exp(v / np.where(u < 0, u, -1.0)), np.inf)
    return np.maximum(lhs - math.e * w, np.maximum(u, 0.0))


@pytest.mark.skipif("clarabel" not in INSTALLED, reason="clarabel not installed")
@pytest.mark.parametrize("name", ["rsocp", "exp"])
def test_clarabel_conic_duals(name: str) -> None:
    """No variable bounds in these models: c_min + A'z = 0, -b'z = min-form optimum, z in K*."""
    _, problem = reference_model(name)
    res = solve(problem, "clarabel")
    z = np.concatenate([res.duals[b] for b in problem.con_blocks])
    c_min, sign = min_form(problem)
    np.testing.assert_allclose(c_min + problem.A.T @ z, 0.0, atol=1e-6)
    assert -problem.b @ z == pytest.approx(sign * ref_opt(name), abs=1e-6)
    if name == "rsocp":  # the rotated cone is self-dual
        u, v, w = res.duals["rot"]
        assert u >= 0 and v >= 0 and 2 * u * v >= w**2 - 1e-6
    else:
        assert dual_exp_violation(res.duals["exp"].reshape(-1, 3)).max() <= 1e-6
        assert (res.duals["budget"] >= 0).all()


# ------------------------------------------------------------------- exp cones in SCIP
def exp_perspective(binary: bool) -> ConicProblem:
    """max x - 0.1 y  s.t. (x, y, 1) in K_exp, x in [-5, 5]; y binary, or y <= 0 forced.

    Closure: y = 0 allows exactly x <= 0, so the optimum is 0 at (x, y) = (0, 0) in both cases
    (binary y = 1 gives x <= 0 and value -0.1). SCIP's own ``y exp(x/y)`` expression answers 5
    (forced y = 0) and -0.1 (binary y) here; the tangent-cut handler must not.
    """
    bld = ConicBuilder("max", name="exp_perspective")
    x = bld.add_variables("x", 1, lb=-5, ub=5)
    y = bld.add_variables("y", 1, vtype="binary" if binary else "continuous")
    bld.add_constraints("e", "exp", [(x, [[1], [0], [0]]), (y, [[0], [1], [0]])], const=[0, 0, 1])
    if not binary:
        bld.add_le("y_zero", [(y, [[1.0]])], 0.0)
    bld.set_objective([(x, [1.0]), (y, [-0.1])])
    return bld.build()


@pytest.mark.skipif("scip" not in INSTALLED, reason="pyscipopt not installed")
@pytest.mark.parametrize("binary", [False, True])
def test_scip_exp_closure_at_y_zero(binary: bool) -> None:
    problem = exp_perspective(binary)
    res = solve(problem, "scip")
    assert res.status is Status.OPTIMAL, res.message
    assert res.objective == pytest.approx(0.0, abs=1e-6)
    assert res.bound is not None and res.bound >= -1e-6
    assert res["x"][0] <= 1e-6 and res["y"][0] == pytest.approx(0.0, abs=1e-6)


def kl_dro(losses: np.ndarray, radius: float, z_choice: bool = False) -> ConicProblem:
    """Worst-case expected loss over a KL ball (Hu & Hong dual, docs/conventions.md, 'KL DRO'):

        min  r lam + t   s.t.  sum_i p_i u_i <= lam,  (l_i - t, lam, u_i) in K_exp,

    i.e. ``E_p exp((l - t) / lam) <= 1``, so ``lam log E_p exp(l / lam) <= t`` (tight at the
    optimum) and the objective is ``inf_lam lam r + lam log E_p exp(l / lam)``.
    With ``z_choice`` the losses are ``l_i = L[i] @ (1 - z)`` for binaries ``z`` (at most 2 of
    4 loss sources switched off), a mixed-integer exponential-cone model.
    """
    if z_choice:
        N = losses.shape[0]
    else:
        N = losses.size
    p = np.full(N, 1.0 / N)
    bld = ConicBuilder("min", name="kl_dro")
    lam = bld.add_variables("lam", 1, lb=0)
    t = bld.add_variables("t", 1)
    u = bld.add_variables("u", N)
    rows = 3 * N
    xr = 3 * np.arange(N)
    terms = [
        (t, sp.coo_matrix((-np.ones(N), (xr, np.zeros(N))), shape=(rows, 1))),
        (lam, sp.coo_matrix((np.ones(N), (xr + 1, np.zeros(N))), shape=(rows, 1))),
        (u, sp.coo_matrix((np.ones(N), (xr + 2, np.arange(N))), shape=(rows, N))),
    ]
    const = np.zeros(rows)
    if z_choice:
        L = losses
        z = bld.add_variables("z", L.shape[1], vtype="binary")
        const[xr] = L.sum(axis=1)
        Lz = sp.coo_matrix(L)
        terms.append((z, sp.coo_matrix((-Lz.data, (3 * Lz.row, Lz.col)), shape=(rows, L.shape[1]))))
        bld.add_le("budget", [(z, np.ones((1, L.shape[1])))], 2.0)
    else:
        const[xr] = losses
    bld.add_constraints("kl", "exp", terms, const=const)
    bld.add_le("avg", [(u, p[None, :]), (lam, [[-1.0]])], 0.0)
    bld.set_objective([(lam, [radius]), (t, [1.0])])
    return bld.build()


@pytest.mark.skipif(not {"scip", "clarabel"} <= set(INSTALLED), reason="needs scip and clarabel")
def test_scip_variable_y_exp_matches_clarabel() -> None:
    rng = np.random.default_rng(0)
    losses = rng.normal(size=40)
    problem = kl_dro(losses, radius=0.1)
    a = solve(problem, "clarabel")
    b = solve(problem, "scip")
    assert a.status is b.status is Status.OPTIMAL
    assert b.extra["exp_handler_cones"] == 40
    # SCIP enforces cones to its feasibility tolerance (1e-6 absolute): compare at 1e-5
    assert rel_err(b.objective, a.objective) <= 1e-5
    assert b.bound <= a.objective + 1e-6  # SCIP's bound is a valid lower bound
    # the KL worst case lies strictly between the mean and the maximum loss
    assert losses.mean() < a.objective < losses.max()


@pytest.mark.skipif("scip" not in INSTALLED, reason="pyscipopt not installed")
@pytest.mark.parametrize("n", [10, 50])
def test_scip_kl_large_radius_reaches_lambda_zero(n: int) -> None:
    """For a KL radius above log(1/p_min) = log N the worst case puts all mass on the largest
    loss: value max_i l_i, attained only in the closure lam = 0 of the exponential cones."""
    losses = np.random.default_rng(7).normal(size=n)
    res = solve(kl_dro(losses, radius=math.log(n) + 0.5), "scip")
    assert res.status is Status.OPTIMAL, res.message
    assert abs(res.objective - losses.max()) <= 1e-6
    assert res.bound <= losses.max() + 1e-6
    assert res["lam"][0] <= 1e-6


@pytest.mark.skipif(not {"scip", "clarabel"} <= set(INSTALLED), reason="needs scip and clarabel")
def test_scip_mixed_integer_exp_against_enumeration() -> None:
    """Binary choice + KL-DRO (mixed-integer exponential cones) vs. enumeration of all binary
    vectors, each solved by Clarabel with z fixed through its bounds."""
    rng = np.random.default_rng(1)
    L = rng.uniform(0.0, 1.0, size=(12, 4))
    problem = kl_dro(L, radius=0.2, z_choice=True)
    res = solve(problem, "scip")
    assert res.status is Status.OPTIMAL, res.message
    zb = problem.var_blocks["z"]
    best = math.inf
    for bits in itertools.product((0.0, 1.0), repeat=4):
        if sum(bits) > 2:
            continue
        fixed = problem.copy()
        fixed.lb[zb.slice] = bits
        fixed.ub[zb.slice] = bits
        fixed.vtype[zb.slice] = 0
        sub = solve(fixed, "clarabel")
        assert sub.status is Status.OPTIMAL
        best = min(best, sub.objective)
    assert rel_err(res.objective, best) <= 1e-5
    assert res.bound is not None and res.bound <= best + 1e-6
    assert res.gap is not None and res.gap <= 1e-5


def test_exp_violation_and_cuts() -> None:
    """Tangent cuts are valid on random cone points (incl. the y = 0 closure) and cut off
    random violated points."""
    rng = np.random.default_rng(2)
    k = 2000
    x = rng.normal(scale=3, size=k)
    y = rng.exponential(size=k)
    x = np.minimum(x, 30 * y)
    z = y * np.exp(x / y) * (1 + rng.exponential(size=k))
    x = np.r_[x, -rng.exponential(size=50)]
    y = np.r_[y, np.zeros(50)]
    z = np.r_[z, rng.exponential(size=50)]
    assert exp_violation(x, y, z).max() <= 1e-9
    bx, by, bz = rng.normal(scale=3, size=k), rng.exponential(size=k), rng.exponential(size=k)
    viol = exp_violation(bx, by, bz)
    bad = viol > 1e-3
    coef, cut_viol = tangent_cuts(bx[bad], by[bad], bz[bad], 18.0)
    assert (cut_viol > 0).all()
    # every cut is valid on every feasible point
    assert ((coef @ np.stack([x, y, z])) <= 1e-9 * (1 + np.abs(z))).all()
    # y = 0 with x > 0 is outside the closure and cut off
    _, v0 = tangent_cuts(np.array([0.5]), np.array([0.0]), np.array([2.0]), 18.0)
    assert v0[0] > 0 and exp_violation(np.array([0.5]), np.zeros(1), np.array([2.0]))[0] > 0


def small_cone(radius: float) -> ConicProblem:
    """max y_1 + y_2 s.t. ||y|| <= t = radius: optimum sqrt(2) radius."""
    bld = ConicBuilder("max")
    y = bld.add_variables("y", 2)
    t = bld.add_variables("t", 1, lb=radius, ub=radius)
    bld.add_constraints("c", "soc", [(t, [[1], [0], [0]]), (y, [[0, 0], [1, 0], [0, 1]])], dims=3)
    bld.set_objective([(y, [1.0, 1.0])])
    return bld.build()


@pytest.mark.parametrize("solver", [s for s in INSTALLED if s in ("scip", "clarabel")])
@pytest.mark.parametrize("radius", [1e-4, 1e-2, 1.0, 1e3])
def test_soc_accuracy_across_scales(solver: str, radius: float) -> None:
    """Clarabel meets cones in natural units at every scale. SCIP checks its quadratic SOC form
    in squared units: accurate for entries of order 1 and above; for tiny cones the result must
    say how far the point is off in natural units (never pass silently)."""
    problem = small_cone(radius)
    res = solve(problem, solver)
    assert res.status is Status.OPTIMAL
    err = abs(res.objective - math.sqrt(2) * radius)
    if solver == "clarabel" or radius >= 1.0:
        assert err <= 5e-6 * max(1.0, radius)
        return
    viol = problem.max_violation(res.x)
    assert res.extra["max_violation"] == pytest.approx(viol)
    assert (viol > 1e-5) == ("natural units" in res.message)
    # the squared-units tolerance bounds the overshoot: ||y||^2 <= t^2 + 1e-6
    assert math.hypot(*res["y"]) <= math.sqrt(radius**2 + 1.1e-6)
    assert res.bound >= math.sqrt(2) * radius - 1e-9  # the bound stays valid


# ----------------------------------------------------------------------- power cones
@pytest.mark.parametrize("solver", [s for s in INSTALLED if s in ("scip", "clarabel")])
@pytest.mark.parametrize("a", [0.3, 0.5, 0.8])
def test_power_cone_geometric_mean(solver: str, a: float) -> None:
    """max z s.t. x^a y^(1-a) >= |z|, x + y <= 2: optimum (2a)^a (2(1-a))^(1-a)."""
    bld = ConicBuilder("max", name="pow")
    v = bld.add_variables("v", 3)
    bld.add_constraints("p", "pow", [(v, np.eye(3))], param=a)
    bld.add_le("sum", [(v, [[1.0, 1.0, 0.0]])], 2.0)
    bld.set_objective([(v, [0.0, 0.0, 1.0])])
    problem = bld.build()
    res = solve(problem, solver)
    expected = (2 * a) ** a * (2 * (1 - a)) ** (1 - a)
    assert res.status is Status.OPTIMAL
    assert rel_err(res.objective, expected) <= REL
    np.testing.assert_allclose(res["v"][:2], [2 * a, 2 * (1 - a)], atol=XTOL)


# ------------------------------------------------------------------------- transforms
def test_rsoc_to_soc_is_exact_and_orthogonal() -> None:
    rng = np.random.default_rng(4)
    k, d = 300, 4
    cones = [ConeRun("nonneg", 1, 2), ConeRun("rsoc", d, k), ConeRun("zero", 1, 1)]
    m = 3 + d * k
    problem = ConicProblem(
        c=np.zeros(1),
        A=sp.csr_matrix((m, 1)),
        b=rng.normal(size=m),
        cones=cones,
        lb=[-np.inf],
        ub=[np.inf],
        vtype=[0],
    )
    form = rsoc_to_soc(problem)
    T = form.T.toarray()
    np.testing.assert_allclose(T, T.T)
    np.testing.assert_allclose(T @ T, np.eye(m), atol=1e-12)
    s = form.b[2 : 2 + d * k].reshape(k, d)
    orig = problem.b[2 : 2 + d * k].reshape(k, d)
    in_rsoc = (
        (orig[:, 0] >= 0)
        & (orig[:, 1] >= 0)
        & (2 * orig[:, 0] * orig[:, 1] >= (orig[:, 2:] ** 2).sum(axis=1))
    )
    in_soc = s[:, 0] >= np.linalg.norm(s[:, 1:], axis=1)
    assert (in_rsoc == in_soc).all() and in_rsoc.any() is not None
    assert [r.kind for r in form.cones] == ["nonneg", "soc", "zero"]


def test_bound_rows() -> None:
    G, h = bound_rows(np.array([0.0, -np.inf, 1.0]), np.array([np.inf, 2.0, 3.0]))
    x = np.array([0.5, 1.0, 2.0])
    assert G.shape == (4, 3) and ((h - G @ x) >= 0).all()
    assert ((h - G @ np.array([-0.1, 1.0, 2.0])) < 0).any()


# -------------------------------------------------------------- status maps and options
def test_unknown_native_statuses_map_to_unknown() -> None:
    assert scip_backend.map_status("no-such-status") is Status.UNKNOWN
    assert scip_backend.map_status("gaplimit") is Status.OPTIMAL
    assert highs_backend.map_status("kSomethingNew") is Status.UNKNOWN
    assert clarabel_backend.map_status("Weird")[0] is Status.UNKNOWN
    assert clarabel_backend.map_status("AlmostSolved")[0] is Status.FEASIBLE


@pytest.mark.parametrize("solver", INSTALLED)
def test_bad_native_option_is_a_parameter_error(solver: str) -> None:
    _, problem = reference_model("lp" if solver != "clarabel" else "socp")
    with pytest.raises(ParameterError):
        solve(problem, solver, options=SolveOptions(extra={"no_such_option_xyz": 1}))


@pytest.mark.parametrize("solver", INSTALLED)
def test_quiet_by_default_and_threads(solver: str, capfd: pytest.CaptureFixture[str]) -> None:
    _, problem = reference_model("lp")
    if solver == "clarabel":
        _, problem = reference_model("socp")
    res = solve(problem, solver, threads=1)
    assert res.status is Status.OPTIMAL
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    solve(problem, solver, verbose=True)
    out, _ = capfd.readouterr()
    assert out.strip() != ""


@pytest.mark.parametrize(
    ("solver", "target"),
    [
        ("scip", "build_model"),
        ("highs", "_pass_model"),
    ],
)
def test_solver_exception_becomes_error_result(
    solver: str, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if solver not in INSTALLED:
        pytest.skip(f"{solver} not installed")
    module = {"scip": scip_backend, "highs": highs_backend}[solver]

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("native failure\nsecond line of a long native message")

    monkeypatch.setattr(module, target, boom)
    _, problem = reference_model("lp")
    res = solve(problem, solver)
    assert res.status is Status.ERROR
    assert "native failure" in res.message and "\n" not in res.message


@pytest.mark.skipif("clarabel" not in INSTALLED, reason="clarabel not installed")
def test_clarabel_exception_becomes_error_result(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise ValueError("bad cone data\ndetails")

    monkeypatch.setattr(clarabel_backend.ClarabelBackend, "_translate", staticmethod(boom))
    res = solve(reference_model("socp")[1], "clarabel")
    assert res.status is Status.ERROR and res.message.count("\n") == 0
    assert "bad cone data" in res.message


# ------------------------------------------------------------ randomised cross-check
def random_lp(n: int, m: int, seed: int) -> ConicProblem:
    """Feasible (``b = A x0 + slack``) and bounded (box ``[-5, 5]``) random LP with equalities."""
    rng = np.random.default_rng(seed)
    A = sp.random(m, n, density=0.3, random_state=rng, data_rvs=rng.standard_normal).toarray()
    x0 = rng.uniform(-1, 1, n)
    E = rng.standard_normal((2, n))
    bld = ConicBuilder("max" if seed % 2 else "min", name="random_lp")
    x = bld.add_variables("x", n, lb=-5, ub=5)
    bld.add_le("rows", [(x, A)], A @ x0 + rng.exponential(size=m))
    bld.add_eq("eq", [(x, E)], E @ x0)
    bld.set_objective([(x, rng.standard_normal(n))], constant=rng.normal())
    return bld.build()


def random_socp(n: int, k: int, seed: int, d: int = 4) -> ConicProblem:
    """``min c'x`` with ``||F_j x + g_j|| <= e_j'x + h_j`` (strictly feasible at ``x0``), box
    bounds, one rotated cone; bounded by the box."""
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-1, 1, n)
    bld = ConicBuilder("min", name="random_socp")
    x = bld.add_variables("x", n, lb=-3, ub=3)
    F = rng.standard_normal((k, d, n)) * (rng.uniform(size=(k, d, n)) < min(1.0, 5.0 / n))
    g = rng.standard_normal((k, d))
    F[:, 0, :] = rng.standard_normal((k, n)) * 0.1
    body = np.einsum("kdn,n->kd", F[:, 1:, :], x0) + g[:, 1:]
    g[:, 0] = np.linalg.norm(body, axis=1) - F[:, 0, :] @ x0 + rng.exponential(size=k)
    bld.add_constraints("cones", "soc", [(x, F.reshape(k * d, n))], const=g.ravel(), dims=d)
    w = bld.add_variables("w", 1, lb=0)
    # rotated: 2 * w * 1 >= (x_0 - x0_0)^2  (w penalises distance of x_0 to x0_0)
    bld.add_constraints(
        "rot",
        "rsoc",
        [(w, [[1], [0], [0]]), (x, sp.coo_matrix(([1.0], ([2], [0])), shape=(3, n)))],
        const=[0, 1, -x0[0]],
        dims=3,
    )
    bld.set_objective([(x, rng.standard_normal(n)), (w, [1.0])])
    return bld.build()


@pytest.mark.parametrize("seed", range(4))
def test_random_lps_agree(seed: int) -> None:
    problem = random_lp(n=25, m=30, seed=seed)
    values = {}
    for s in INSTALLED:
        res = solve(problem, s, threads=1)
        assert res.status is Status.OPTIMAL, (s, res.message)
        assert problem.max_violation(res.x) <= 1e-5
        values[s] = res.objective
    ref = next(iter(values.values()))
    for v in values.values():
        assert rel_err(v, ref) <= REL, values


@pytest.mark.parametrize("seed", range(3))
def test_random_socps_agree(seed: int) -> None:
    solvers = [s for s in INSTALLED if s in ("scip", "clarabel")]
    if len(solvers) < 2:
        pytest.skip("needs scip and clarabel")
    problem = random_socp(n=15, k=10, seed=seed)
    values = {}
    for s in solvers:
        res = solve(problem, s, threads=1)
        assert res.status is Status.OPTIMAL, (s, res.message)
        assert problem.max_violation(res.x) <= 1e-5
        values[s] = res.objective
    assert rel_err(values["scip"], values["clarabel"]) <= 5 * REL, values
