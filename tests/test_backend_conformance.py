"""One conformance suite for every backend (as cvxpy's ``solver_test_helpers`` and
MathOptInterface's test suite): every reference problem x every backend in the registry that is
installed and declares the capability the problem needs.

The backends come from :func:`dro_opt.solvers.registry.all_backends` -- the seven built-in ones
plus every backend registered by a module in ``tests/fake_backends/`` (imported here), so a new
backend is tested by this file without new test code. Solver-specific behaviour (SCIP's
exponential-cone handler, licence size limits, MOSEK's files) stays in
``tests/test_backends_open.py`` and ``tests/test_backends_commercial.py``.

A backend that cannot optimise here at all (MOSEK without a licence file: its ``size_limit``
counts no size) must answer ``LICENSE_LIMIT`` with its native licence error and an open
alternative; that is checked, never skipped silently.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from dro_opt.compare.plugins import load_plugins
from dro_opt.conic import ConicBuilder, ConicProblem
from dro_opt.errors import CapabilityError, ParameterError
from dro_opt.instances.reference_models import REFERENCE_MODELS
from dro_opt.solvers import Status, registry
from dro_opt.solvers.base import (
    ALL_FEATURES,
    BOUND,
    DUALS,
    INTEGER,
    SOC,
    Backend,
    SolveOptions,
    required_features,
)
from dro_opt.solvers.result import Result

load_plugins(sorted(str(p) for p in (Path(__file__).parent / "fake_backends").glob("*.py")))

BACKENDS = {b.name: b for b in registry.all_backends() if b.is_installed()}
REL = 1e-6
XTOL = 2e-3  # decisions near flat optima (norms, a 1e-6 gap) agree to about sqrt(1e-6)
OPTS = SolveOptions(threads=1, gap=1e-6)


def can_take(backend: Backend, problem: ConicProblem) -> bool:
    return required_features(problem) <= backend.features


def cases(models: dict[str, Callable[[], ConicProblem]], need: frozenset[str] = frozenset()):
    """``(model, backend)`` params for every installed backend declaring what the model needs."""
    out = []
    for model, build in models.items():
        prob = build()
        for name, be in BACKENDS.items():
            if can_take(be, prob) and need <= be.features:
                out.append(pytest.param(model, name, id=f"{model}-{name}"))
    return out


REF_BUILDS = {name: ref.build for name, ref in REFERENCE_MODELS.items()}


def cannot_optimise_here(backend: Backend, res: Result) -> bool:
    """True for the answer of a backend with no usable licence at all (then checks it)."""
    limit = backend.size_limit
    if res.status is not Status.LICENSE_LIMIT or limit is None or limit.counted:
        return False
    assert backend.is_licence_error(res.extra["licence_error_code"]), res.extra
    msg = res.message
    assert "licence" in msg and ("'scip'" in msg or "'clarabel'" in msg), msg
    assert res.objective is None and res.bound is None and res.x is None
    return True


def rel_err(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(b))


def check_optimal(res: Result, problem: ConicProblem, backend: str, optimum: float) -> None:
    """Status, value, feasibility, bound on the right side, MIP gap and nodes."""
    assert res.status is Status.OPTIMAL, res.message
    assert res.solver == backend and res.solver_version
    assert res.sense == problem.sense
    assert res.build_seconds >= 0 and res.solve_seconds >= 0
    assert rel_err(res.objective, optimum) <= REL, (res.objective, optimum)
    assert res.objective == pytest.approx(problem.objective_value(res.x), abs=1e-12)
    assert problem.max_violation(res.x) <= 1e-5
    sense = 1.0 if problem.sense == "min" else -1.0
    if problem.is_mixed_integer and BOUND in BACKENDS[backend].features:
        assert res.bound is not None, "MIP results must carry the proven bound"
        assert sense * (res.bound - optimum) <= REL * max(1.0, abs(optimum))  # never cuts OPT
        assert res.gap is not None and res.gap <= REL + 1e-9
        assert res.nodes is not None and res.nodes >= 0
    elif res.bound is not None:
        assert sense * (res.bound - optimum) <= 2 * REL * max(1.0, abs(optimum))
        assert res.gap is not None and res.gap <= 1e-5


# ------------------------------------------------------------------ registry and metadata
def test_registry_lists_the_fake_backend_and_declared_features_are_known() -> None:
    assert "scipy_milp" in BACKENDS  # registered by tests/fake_backends/, tested below
    for be in registry.all_backends():
        assert be.features <= set(ALL_FEATURES), be.name
        if not be.open_source:
            assert be.license_limit, be.name
    for name in registry.SOLVER_NAMES:
        assert registry.get_backend(name).name == name


def test_availability_imports_no_solver_and_takes_no_licence() -> None:
    code = (
        "import sys\n"
        "from dro_opt.solvers.registry import all_backends\n"
        "rows = [b.availability() for b in all_backends()]\n"
        "assert all(r.license for r in rows)\n"
        "mods = ('gurobipy', 'cplex', 'xpress', 'mosek', 'pyscipopt', 'highspy', 'clarabel')\n"
        "print(sorted(m for m in mods if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_reference_model_has_a_backend() -> None:
    covered = {p.values[0] for p in cases(REF_BUILDS)}
    assert covered == set(REFERENCE_MODELS), set(REFERENCE_MODELS) - covered


# ------------------------------------------------------------------------ reference models
@pytest.mark.parametrize(("model", "solver"), cases(REF_BUILDS))
def test_reference_model(model: str, solver: str) -> None:
    ref = REFERENCE_MODELS[model]
    problem = ref.build()
    res = BACKENDS[solver].solve(problem, OPTS)
    if cannot_optimise_here(BACKENDS[solver], res):
        return
    if ref.optimum is None:
        assert res.status is Status.parse(ref.expected_status), res.message
        assert res.objective is None and res.x is None
        return
    check_optimal(res, problem, solver, ref.optimum)
    for block, expected in (ref.solution or {}).items():
        np.testing.assert_allclose(res[block], expected, atol=XTOL)


@pytest.mark.parametrize(
    ("model", "solver"),
    [
        pytest.param(m, s, id=f"{m}-{s}")
        for m in REFERENCE_MODELS
        for s, be in BACKENDS.items()
        if not can_take(be, REFERENCE_MODELS[m].build())
    ],
)
def test_missing_capability_is_refused_naming_alternatives(model: str, solver: str) -> None:
    problem = REFERENCE_MODELS[model].build()
    with pytest.raises(CapabilityError) as err:
        BACKENDS[solver].solve(problem, OPTS)
    msg = str(err.value)
    assert solver in msg and "lacks" in msg
    alternatives = registry.solvers_supporting(problem)
    assert any(a in msg for a in alternatives), (msg, alternatives)


LINEAR_AND_SOC = {m: REF_BUILDS[m] for m in ("lp", "milp", "socp", "misocp")}


@pytest.mark.parametrize(("model", "solver"), cases(LINEAR_AND_SOC))
def test_objective_constant_and_both_senses(model: str, solver: str) -> None:
    ref = REFERENCE_MODELS[model]
    shifted = ref.build().copy()
    shifted.c0 = 2.5
    res = BACKENDS[solver].solve(shifted, OPTS)
    if cannot_optimise_here(BACKENDS[solver], res):
        return
    check_optimal(res, shifted, solver, ref.optimum + 2.5)
    flipped = ref.build().copy()  # max -f = -min f
    flipped.c, flipped.sense = -flipped.c, ("max" if flipped.sense == "min" else "min")
    check_optimal(BACKENDS[solver].solve(flipped, OPTS), flipped, solver, -ref.optimum)


# --------------------------------------------------------------- infeasible and unbounded
def infeasible_with_free_ray(integer: bool) -> ConicProblem:
    """max y  s.t. x >= 2, x <= 1, y free: infeasible; presolve sees the free ray in y and may
    only say "infeasible or unbounded"."""
    vt = "integer" if integer else "continuous"
    bld = ConicBuilder("max", name="infeasible_ray")
    x = bld.add_variables("x", 1, vtype=vt)
    y = bld.add_variables("y", 1, vtype=vt)
    bld.add_ge("lo", [(x, [[1.0]])], 2.0)
    bld.add_le("hi", [(x, [[1.0]])], 1.0)
    bld.set_objective([(y, [1.0])])
    return bld.build()


def infeasible_milp() -> ConicProblem:
    """2 k = 1 with k integer in [0, 1]: infeasible only because of integrality."""
    bld = ConicBuilder("min", name="infeasible_milp")
    k = bld.add_variables("k", 1, lb=0, ub=1, vtype="integer")
    bld.add_eq("odd", [(k, [[2.0]])], 1.0)
    bld.set_objective([(k, [1.0])])
    return bld.build()


def unbounded_milp() -> ConicProblem:
    """max x1 + x2 over integers x >= 0 with x1 - x2 <= 1.5: unbounded along (1, 1)."""
    bld = ConicBuilder("max", name="unbounded_milp")
    x = bld.add_variables("x", 2, lb=0, vtype="integer")
    bld.add_le("row", [(x, [[1.0, -1.0]])], 1.5)
    bld.set_objective([(x, [1.0, 1.0])])
    return bld.build()


def infeasible_socp() -> ConicProblem:
    """||y|| <= 1 and y_1 >= 2: infeasible."""
    bld = ConicBuilder("min", name="infeasible_socp")
    y = bld.add_variables("y", 2)
    bld.add_constraints("ball", "soc", [(y, [[0, 0], [1, 0], [0, 1]])], const=[1, 0, 0], dims=3)
    bld.add_ge("far", [(y, [[1.0, 0.0]])], 2.0)
    bld.set_objective([(y, [1.0, 1.0])])
    return bld.build()


def unbounded_socp() -> ConicProblem:
    """max t s.t. ||y|| <= t: unbounded."""
    bld = ConicBuilder("max", name="unbounded_socp")
    t = bld.add_variables("t", 1)
    y = bld.add_variables("y", 2)
    bld.add_constraints(
        "cone", "soc", [(t, [[1], [0], [0]]), (y, [[0, 0], [1, 0], [0, 1]])], dims=3
    )
    bld.set_objective([(t, [1.0])])
    return bld.build()


STATUS_CASES = {
    "infeasible_ray_lp": (lambda: infeasible_with_free_ray(False), Status.INFEASIBLE),
    "infeasible_ray_milp": (lambda: infeasible_with_free_ray(True), Status.INFEASIBLE),
    "infeasible_milp": (infeasible_milp, Status.INFEASIBLE),
    "unbounded_milp": (unbounded_milp, Status.UNBOUNDED),
    "infeasible_socp": (infeasible_socp, Status.INFEASIBLE),
    "unbounded_socp": (unbounded_socp, Status.UNBOUNDED),
}


@pytest.mark.parametrize(("model", "solver"), cases({k: v[0] for k, v in STATUS_CASES.items()}))
def test_infeasible_and_unbounded_are_told_apart(model: str, solver: str) -> None:
    """Where presolve answers "infeasible or unbounded" the template re-solves without it."""
    make, expected = STATUS_CASES[model]
    res = BACKENDS[solver].solve(make(), OPTS)
    if cannot_optimise_here(BACKENDS[solver], res):
        return
    assert res.status is expected, (res.status, res.message)
    assert res.objective is None and res.x is None


# ------------------------------------------------------------------------------- duals
def conic_dual_objective(prob: ConicProblem, res: Result) -> tuple[np.ndarray, float]:
    """Stacked duals y and the dual objective of the minimisation form (bounds included)."""
    y = np.zeros(prob.m)
    for name, blk in prob.con_blocks.items():
        y[blk.slice] = res.duals[name]
    c_min = prob.c if prob.sense == "min" else -prob.c
    r = c_min + prob.A.T @ y  # multipliers of the variable bounds
    tol = 1e-5
    assert np.all((r <= tol) | np.isfinite(prob.lb)) and np.all((r >= -tol) | np.isfinite(prob.ub))
    bound_terms = np.where(r > tol, r * np.nan_to_num(prob.lb), 0.0) + np.where(
        r < -tol, r * np.nan_to_num(prob.ub), 0.0
    )
    return y, float(-prob.b @ y + bound_terms.sum())


def dual_exp_violation(z: np.ndarray) -> np.ndarray:
    """Violation of the dual exponential cone {(u, v, w): u < 0, -u exp(v / u) <= e w}."""
    u, v, w = z[:, 0], z[:, 1], z[:, 2]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        lhs = np.where(u < 0, -u * np.exp(v / np.where(u < 0, u, -1.0)), np.inf)
    return np.maximum(lhs - math.e * w, np.maximum(u, 0.0))


DUAL_MODELS = {m: REF_BUILDS[m] for m in ("lp", "socp", "rsocp", "exp")}


@pytest.mark.parametrize(("model", "solver"), cases(DUAL_MODELS, frozenset({DUALS})))
def test_conic_duals(model: str, solver: str) -> None:
    """y in K*, and the dual objective equals the primal optimum (strong duality)."""
    prob = REFERENCE_MODELS[model].build()
    res = BACKENDS[solver].solve(prob, OPTS)
    if cannot_optimise_here(BACKENDS[solver], res):
        return
    assert res.status is Status.OPTIMAL
    assert set(res.duals) == set(prob.con_blocks)
    y, dual_obj = conic_dual_objective(prob, res)
    primal_min = res.objective - prob.c0 if prob.sense == "min" else -(res.objective - prob.c0)
    # barrier QCP duals are approximate: Gurobi's were off by 3.6e-5 relative on the socp model
    assert math.isclose(dual_obj, primal_min, rel_tol=1e-4, abs_tol=1e-6)
    tol = 1e-5
    off = 0
    for run in prob.cones:
        blk = y[off : off + run.rows].reshape(run.count, run.dim)
        off += run.rows
        if run.kind == "nonneg":
            assert blk.min() >= -tol
        elif run.kind == "soc":  # self-dual
            assert np.all(blk[:, 0] >= np.linalg.norm(blk[:, 1:], axis=1) - tol)
        elif run.kind == "rsoc":  # 2 y0 y1 >= |y2:|^2 is self-dual too
            assert np.all(2 * blk[:, 0] * blk[:, 1] >= (blk[:, 2:] ** 2).sum(axis=1) - tol)
        elif run.kind == "exp":
            assert dual_exp_violation(blk).max() <= 1e-6


# --------------------------------------------------------------- limits and trajectories
def multi_knapsack(n: int = 250, m: int = 10, seed: int = 0) -> ConicProblem:
    """Chu-Beasley style 0-1 multi-dimensional knapsack (n x m, tightness 0.5, correlated
    profits): LP bound and good incumbents come fast, optimality takes far longer than 0.5 s.
    260 rows plus columns: inside every size-limited licence."""
    rng = np.random.default_rng(seed)
    W = rng.integers(1, 1001, size=(m, n)).astype(float)
    cap = np.floor(0.5 * W.sum(axis=1))
    profit = np.round(W.mean(axis=0) + rng.integers(0, 501, size=n))
    bld = ConicBuilder("max", name="mknap")
    x = bld.add_variables("x", n, vtype="binary")
    bld.add_le("cap", [(x, W)], cap)
    bld.set_objective([(x, profit)])
    return bld.build()


@pytest.mark.parametrize("solver", [s for s, b in BACKENDS.items() if INTEGER in b.features])
def test_time_limit_with_incumbent_and_bound(solver: str) -> None:
    problem = multi_knapsack()
    res = BACKENDS[solver].solve(problem, SolveOptions(time_limit=0.5, threads=1))
    if cannot_optimise_here(BACKENDS[solver], res):
        return
    assert res.status in (Status.TIME_LIMIT, Status.OPTIMAL), (res.status, res.message)
    assert res.solve_seconds < 0.5 + 5.0  # generous: the machine is shared
    assert res.objective is not None and problem.max_violation(res.x) <= 1e-6
    if BOUND in BACKENDS[solver].features:
        assert res.bound is not None and res.bound >= res.objective - 1e-6  # max: bound above


@pytest.mark.parametrize(
    "solver",
    [s for s, b in BACKENDS.items() if b.trajectory_callback and INTEGER in b.features],
)
def test_trajectory_callback_records_valid_bounds(solver: str) -> None:
    """With ``trajectory=True`` the solver's callback records (seconds, primal, dual) points:
    times non-decreasing, every incumbent below every later bound (maximisation), the last
    point consistent with the final result."""
    problem = multi_knapsack(n=60, m=5, seed=1)
    opts = SolveOptions(time_limit=3.0, threads=1, trajectory=True)
    res = BACKENDS[solver].solve(problem, opts)
    if cannot_optimise_here(BACKENDS[solver], res):
        return
    traj = res.extra["trajectory"]
    assert traj, f"{solver} recorded no trajectory"
    times = [t for t, _, _ in traj]
    assert times == sorted(times) and times[0] >= 0
    primals = [p for _, p, _ in traj if p is not None]
    duals = [d for _, _, d in traj if d is not None]
    assert primals and duals, traj
    tol = 1e-6 * max(1.0, abs(res.objective))
    assert max(primals) <= res.objective + tol  # no incumbent better than the final one
    assert min(duals) >= res.bound - tol  # bounds only tighten towards the final one
    assert max(primals) <= min(duals) + tol


@pytest.mark.parametrize("solver", list(BACKENDS))
def test_quiet_by_default_verbose_prints(solver: str, capfd: pytest.CaptureFixture[str]) -> None:
    problem = REFERENCE_MODELS["milp" if INTEGER in BACKENDS[solver].features else "socp"].build()
    res = BACKENDS[solver].solve(problem, OPTS)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    loud = BACKENDS[solver].solve(problem, SolveOptions(threads=1, verbose=True))
    out, _ = capfd.readouterr()
    if res.status is Status.LICENSE_LIMIT:  # no licence: nothing runs, nothing to log
        assert loud.status is Status.LICENSE_LIMIT
        return
    assert out.strip() != ""


@pytest.mark.parametrize("solver", list(BACKENDS))
def test_unknown_native_parameter_is_a_parameter_error(solver: str) -> None:
    be = BACKENDS[solver]
    problem = REFERENCE_MODELS["lp" if INTEGER in be.features else "socp"].build()
    with pytest.raises(ParameterError, match="no_such_parameter_xyz"):
        be.solve(problem, SolveOptions(threads=1, extra={"no_such_parameter_xyz": 1}))


@pytest.mark.parametrize("solver", list(BACKENDS))
def test_native_failure_becomes_one_line_error_result(
    solver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    be = BACKENDS[solver]

    def boom(run: object) -> None:
        raise RuntimeError("native failure\nsecond line of a long native message")

    monkeypatch.setattr(be, "optimise", boom)
    problem = REFERENCE_MODELS["lp" if INTEGER in be.features else "socp"].build()
    res = be.solve(problem, OPTS)
    assert res.status is Status.ERROR and res.solver == solver
    assert "native failure" in res.message and "\n" not in res.message
    assert res.objective is None


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
    bld.add_constraints(  # 2 * w * 1 >= (x_0 - x0_0)^2
        "rot",
        "rsoc",
        [(w, [[1], [0], [0]]), (x, sp.coo_matrix(([1.0], ([2], [0])), shape=(3, n)))],
        const=[0, 1, -x0[0]],
        dims=3,
    )
    bld.set_objective([(x, rng.standard_normal(n)), (w, [1.0])])
    return bld.build()


@pytest.mark.parametrize(
    ("make", "feature"),
    [
        pytest.param(lambda s: random_lp(25, 30, s), None, id="lp"),
        pytest.param(lambda s: random_socp(15, 10, s), SOC, id="socp"),
    ],
)
@pytest.mark.parametrize("seed", range(3))
def test_random_models_agree_across_backends(make, feature: str | None, seed: int) -> None:
    problem = make(seed)
    values = {}
    for name, be in BACKENDS.items():
        if not can_take(be, problem):
            continue
        res = be.solve(problem, OPTS)
        if cannot_optimise_here(be, res):
            continue
        assert res.status is Status.OPTIMAL, (name, res.message)
        assert problem.max_violation(res.x) <= 1e-5
        values[name] = res.objective
    assert len(values) >= 2, values
    ref = next(iter(values.values()))
    for v in values.values():
        assert rel_err(v, ref) <= 5 * REL, values


def test_catalogue_rows_are_the_backend_declarations() -> None:
    """Every built-in backend's declarations come from its row of the catalogue table (the
    class declares only its name): features, options, package, trajectory, licence."""
    from dro_opt.solvers import _licence, trajectory
    from dro_opt.solvers.catalogue import TRAITS

    assert set(TRAITS) == set(registry.SOLVER_NAMES)
    for name, row in TRAITS.items():
        be = registry.get_backend(name)
        assert f"{type(be).__module__}:{type(be).__qualname__}" == row.class_path
        assert (be.module, be.display_name, be.features) == (
            row.module,
            row.display_name,
            row.features,
        )
        assert be.option_names == row.option_names and all(len(p) == 2 for p in be.option_names)
        assert be.trajectory_callback is row.trajectory_callback
        parser = getattr(trajectory, row.log_parser) if row.log_parser else None
        assert be.log_parser is parser
        assert be.open_source is (row.size_limit is None)
        if row.size_limit:
            assert be.size_limit is getattr(_licence, row.size_limit)
            assert be.native_errors and be.licence_error_codes
