"""``from_cvxpy``: cvxpy's own canonicalisation imported into the canonical conic form.

Three layers of checks:

1. the import itself, independent of dro_opt's backends: block names/shapes, cone runs, bounds,
   vtypes, and the imported data solved by a direct Clarabel call (:func:`_clarabel_x`) reaching
   cvxpy's own optimum with a point that ``ConicProblem.max_violation`` accepts;
2. continuous problems (LP, least squares, log-sum-exp, entropy/KL, max with constant, power
   cone) solved by dro_opt's backends match cvxpy + Clarabel (objective 1e-6 relative, variables
   where the optimum is unique) and map back onto the cvxpy variables with ``assign_solution``;
3. a binary + KL-DRO (exponential-cone) subset-selection problem that cvxpy itself refuses to
   send to SCIP, solved through ``from_cvxpy`` + dro_opt's SCIP backend with a proven bound, and
   checked against brute-force enumeration of all subsets (each solved by cvxpy + Clarabel).
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from collections.abc import Callable

import clarabel
import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp

from dro_opt.conic import ConicProblem
from dro_opt.conic.from_cvxpy import AUX_BLOCK, assign_solution, cvxpy_block_names, from_cvxpy
from dro_opt.errors import InvalidModelError
from dro_opt.solvers import Status, get_backend, solve
from dro_opt.solvers.base import required_features

REL = 1e-6
# Interior-point iterates converge in x only like sqrt(gap / curvature): with gaps ~1e-9 the
# variables of a flat (e.g. norm or geo-mean) objective agree to ~1e-5, so compare with 1e-4.
XTOL = 1e-4
# Every model here solves in well under a second; the limit turns a stalled solve into a failure
# (status time_limit) instead of a hang.
LIMIT = 60.0


# --------------------------------------------------------------------------- oracle
def _clarabel_x(prob: ConicProblem) -> np.ndarray:
    """Solve a *continuous* canonical problem with the clarabel package directly.

    Independent of dro_opt's backends: finite bounds become nonneg rows, ``max`` becomes
    ``min -c``; cones map one to one (Clarabel uses the same ``A x + s = b`` form and the same
    exp/power cone orders).
    """
    assert not prob.is_mixed_integer
    n = prob.n
    rows, rhs = [], []
    fin_lo = np.flatnonzero(np.isfinite(prob.lb))
    fin_hi = np.flatnonzero(np.isfinite(prob.ub))
    rows.append(
        sp.csr_matrix(
            (-np.ones(fin_lo.size), (np.arange(fin_lo.size), fin_lo)), shape=(fin_lo.size, n)
        )
    )
    rhs.append(-prob.lb[fin_lo])
    rows.append(
        sp.csr_matrix(
            (np.ones(fin_hi.size), (np.arange(fin_hi.size), fin_hi)), shape=(fin_hi.size, n)
        )
    )
    rhs.append(prob.ub[fin_hi])
    A = sp.vstack([prob.A, *rows]).tocsc()
    b = np.concatenate([prob.b, *rhs])
    cones = []
    for run in prob.cones:
        if run.kind == "zero":
            cones.append(clarabel.ZeroConeT(run.count))
        elif run.kind == "nonneg":
            cones.append(clarabel.NonnegativeConeT(run.count))
        elif run.kind == "soc":
            cones += [clarabel.SecondOrderConeT(run.dim)] * run.count
        elif run.kind == "exp":
            cones += [clarabel.ExponentialConeT()] * run.count
        elif run.kind == "pow":
            cones += [clarabel.PowerConeT(run.param)] * run.count
        else:  # pragma: no cover
            raise AssertionError(run.kind)
    extra = fin_lo.size + fin_hi.size
    if extra:
        cones.append(clarabel.NonnegativeConeT(extra))
    q = -prob.c if prob.sense == "max" else prob.c
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.tol_gap_abs = settings.tol_gap_rel = settings.tol_feas = 1e-9
    sol = clarabel.DefaultSolver(sp.csc_matrix((n, n)), q, A, b, cones, settings).solve()
    assert str(sol.status) == "Solved", sol.status
    return np.asarray(sol.x)


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(b))


# --------------------------------------------------------------------------- problems
def _lp() -> tuple[cp.Problem, list[str]]:
    """max c'x, Ax <= b, 0 <= x <= 4 (nonneg attribute + bounds): unique vertex."""
    rng = np.random.default_rng(0)
    x = cp.Variable(4, name="x", bounds=[0, 4])
    A = rng.uniform(0.5, 2.0, (3, 4))
    prob = cp.Problem(
        cp.Maximize(np.array([3.0, 2.0, 4.0, 1.0]) @ x + 7.0), [A @ x <= np.array([4.0, 5.0, 6.0])]
    )
    return prob, ["x"]


def _least_squares() -> tuple[cp.Problem, list[str]]:
    """min ||A w - y||_2 + 0.1 ||w||_2: SOC, strictly convex in w."""
    rng = np.random.default_rng(1)
    A = rng.normal(size=(20, 5))
    y = rng.normal(size=20)
    w = cp.Variable(5, name="w")
    return cp.Problem(cp.Minimize(cp.norm(A @ w - y, 2) + 0.1 * cp.norm(w, 2))), ["w"]


def _sum_squares_matrix() -> tuple[cp.Problem, list[str]]:
    """min ||X - M||_F^2 + trace weights, X in [lo, hi] elementwise (3 x 2 matrix, bounds=)."""
    M = np.array([[1.0, -2.0], [0.5, 3.0], [-1.0, 0.2]])
    lo, hi = np.full((3, 2), -1.5), np.full((3, 2), 2.0)
    X = cp.Variable((3, 2), name="X", bounds=[lo, hi])
    obj = cp.sum_squares(X - M) + cp.sum(X[:, 0]) - 2 * X[2, 1]
    return cp.Problem(cp.Minimize(obj)), ["X"]


def _log_sum_exp() -> tuple[cp.Problem, list[str]]:
    """min log_sum_exp(A x + b) + ||x||^2 / 2: exp cones, strictly convex."""
    rng = np.random.default_rng(2)
    A = rng.normal(size=(6, 3))
    b = rng.normal(size=6)
    x = cp.Variable(3, name="x")
    return cp.Problem(cp.Minimize(cp.log_sum_exp(A @ x + b) + 0.5 * cp.sum_squares(x))), ["x"]


def _entropy_max() -> tuple[cp.Problem, list[str]]:
    """max entropy(p) - KL(p || q)-style terms s.t. sum p = 1, a'p >= 0.6: strictly concave."""
    a = np.array([0.1, 0.4, 0.9, 1.3, 0.2])
    q = np.array([0.3, 0.2, 0.2, 0.1, 0.2])
    p = cp.Variable(5, name="p")
    obj = cp.sum(cp.entr(p)) - cp.sum(cp.kl_div(p, q)) - 0.5 * cp.sum(cp.rel_entr(p, q)) + 2.5
    return cp.Problem(cp.Maximize(obj), [cp.sum(p) == 1, a @ p >= 0.6]), ["p"]


def _power_cone() -> tuple[cp.Problem, list[str]]:
    """min sum power(x, 1.7) (power cones, approx=False) - sum log(x) + pnorm: unique x."""
    x = cp.Variable(3, name="x", nonneg=True)
    t = cp.Variable(name="t")
    obj = cp.sum(cp.power(x, 1.7, approx=False)) - cp.sum(cp.log(x)) + t
    cons = [cp.pnorm(x - np.array([1.0, 2.0, 0.5]), 2.5) <= t, x <= 3]
    return cp.Problem(cp.Minimize(obj), cons), ["x", "t"]


def _geo_mean_max() -> tuple[cp.Problem, list[str]]:
    """max geo_mean(x) - 0.1 ||x||^2 + 1 s.t. weighted budget: SOC from cvxpy's geo_mean.

    The quadratic term makes the optimum strongly unique (geo_mean alone is flat along rays).
    """
    x = cp.Variable(3, name="x", nonneg=True)
    obj = cp.geo_mean(x) - 0.1 * cp.sum_squares(x) + 1.0
    return cp.Problem(cp.Maximize(obj), [np.array([1.0, 2.0, 3.0]) @ x <= 6]), ["x"]


CONTINUOUS: dict[str, Callable[[], tuple[cp.Problem, list[str]]]] = {
    "lp": _lp,
    "least_squares": _least_squares,
    "sum_squares_matrix": _sum_squares_matrix,
    "log_sum_exp": _log_sum_exp,
    "entropy_max": _entropy_max,
    "power_cone": _power_cone,
    "geo_mean_max": _geo_mean_max,
}


TIGHT = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}


def _cvxpy_reference(prob: cp.Problem) -> tuple[float, dict[str, np.ndarray]]:
    prob.solve(solver=cp.CLARABEL, **TIGHT)
    assert prob.status == cp.OPTIMAL
    return float(prob.value), {v.name(): np.array(v.value) for v in prob.variables()}


# --------------------------------------------------------------------------- 1. the import
@pytest.mark.parametrize("key", sorted(CONTINUOUS))
def test_import_matches_cvxpy_optimum_via_direct_clarabel(key: str) -> None:
    prob, unique = CONTINUOUS[key]()
    value, values = _cvxpy_reference(prob)
    conic = from_cvxpy(prob)
    x = _clarabel_x(conic)
    assert conic.max_violation(x) <= 1e-7
    assert _rel(conic.objective_value(x), value) <= REL
    sol = conic.split_solution(x)
    for name in unique:
        assert sol[name].shape == values[name].shape
        np.testing.assert_allclose(sol[name], values[name], atol=XTOL, rtol=XTOL)


def test_import_structure_blocks_bounds_and_cones() -> None:
    x = cp.Variable((2, 3), name="x", nonneg=True)
    y = cp.Variable(name="y", bounds=[-1, 2])
    z = cp.Variable(3, name="z", boolean=True)
    k = cp.Variable(2, name="k", integer=True, bounds=[-3, 5])
    obj = cp.sum(cp.exp(x)) - y + cp.norm(x[0] - z) + cp.sum(k)
    prob = cp.Problem(cp.Minimize(obj), [cp.sum(x) >= 1, cp.sum(z) <= 2, k[0] >= y])
    conic = from_cvxpy(prob)
    blocks = conic.var_blocks
    assert list(blocks)[:4] == ["x", "y", "z", "k"] and list(blocks)[-1] == AUX_BLOCK
    assert blocks["x"].shape == (2, 3) and blocks["y"].shape == () and blocks["k"].shape == (2,)
    assert (conic.lb[blocks["x"].slice] == 0).all()
    assert (conic.lb[blocks["y"].slice] == -1).all() and (conic.ub[blocks["y"].slice] == 2).all()
    assert (conic.vtype[blocks["z"].slice] == 2).all()
    assert (conic.lb[blocks["z"].slice] == 0).all() and (conic.ub[blocks["z"].slice] == 1).all()
    assert (conic.vtype[blocks["k"].slice] == 1).all()
    assert (conic.lb[blocks["k"].slice] == -3).all() and (conic.ub[blocks["k"].slice] == 5).all()
    assert (conic.vtype[blocks[AUX_BLOCK].slice] == 0).all()
    kinds = [(r.kind, r.dim, r.count) for r in conic.cones]
    assert ("exp", 3, 6) in kinds and ("soc", 4, 1) in kinds
    assert conic.needs() == {"integer", "soc", "exp"}
    assert conic.problem_class() == "MICONIC(exp/pow)"


def test_c_order_blocks_match_cvxpy_column_major_storage() -> None:
    """A matrix variable's block is in C order: element (i, j) of X sits at block index i*n+j."""
    M = np.arange(6.0).reshape(2, 3)
    X = cp.Variable((2, 3), name="X")
    prob = cp.Problem(cp.Minimize(cp.sum(cp.abs(X - M))))  # unique optimum X = M
    conic = from_cvxpy(prob)
    x = _clarabel_x(conic)
    np.testing.assert_allclose(conic.split_solution(x)["X"], M, atol=1e-7)


def test_power_cones_keep_cvxpy_alpha() -> None:
    prob, _ = _power_cone()
    conic = from_cvxpy(prob)
    pows = [r for r in conic.cones if r.kind == "pow"]
    assert pows and all(0 < r.param < 1 for r in pows)
    assert any(math.isclose(r.param, 1 / 1.7) for r in pows)  # x^1.7 <= t: (t, 1, x), 1/1.7
    assert sum(r.count for r in pows if math.isclose(r.param, 1 / 1.7)) == 3


def test_parameters_are_substituted_and_unset_parameters_refused() -> None:
    a = cp.Parameter(2, name="a")
    x = cp.Variable(2, name="x")
    prob = cp.Problem(cp.Minimize(cp.sum_squares(x - a)))
    with pytest.raises(InvalidModelError, match="parameters without a value: a"):
        from_cvxpy(prob)
    a.value = np.array([1.0, -2.0])
    conic = from_cvxpy(prob)
    np.testing.assert_allclose(conic.split_solution(_clarabel_x(conic))["x"], a.value, atol=1e-6)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: cp.Problem(cp.Minimize(cp.sqrt(cp.Variable(name="v")))), "DCP"),
        (lambda: cp.Problem(cp.Maximize(cp.square(cp.Variable(name="v")))), "DCP"),
        (
            lambda: cp.Problem(
                cp.Minimize(cp.trace(V := cp.Variable((2, 2), name="V"))), [V >> np.eye(2)]
            ),
            "PSD",
        ),
        (lambda: cp.Problem(cp.Minimize(cp.trace(cp.Variable((2, 2), PSD=True)))), "PSD"),
        (lambda: cp.Problem(cp.Minimize(cp.sum(cp.Variable((2, 2), diag=True)))), "diag"),
        (lambda: cp.Problem(cp.Minimize(1.0)), "no variables"),
    ],
)
def test_unsupported_problems_raise_invalid_model_error(make: Callable, match: str) -> None:
    with pytest.raises(InvalidModelError, match=match):
        from_cvxpy(make())


def test_not_a_problem_raises() -> None:
    with pytest.raises(InvalidModelError, match=r"cvxpy\.Problem"):
        from_cvxpy("min x")  # type: ignore[arg-type]


def test_duplicate_variable_names_get_unique_blocks() -> None:
    a, b = cp.Variable(name="x"), cp.Variable(name="x")
    prob = cp.Problem(cp.Minimize(cp.abs(a - 1) + cp.abs(b + 2)))
    names = cvxpy_block_names(prob)
    assert len(set(names.values())) == 2 and all(n.startswith("x#") for n in names.values())
    conic = from_cvxpy(prob)
    sol = conic.split_solution(_clarabel_x(conic))
    assert math.isclose(float(sol[names[a.id]]), 1.0, abs_tol=1e-7)
    assert math.isclose(float(sol[names[b.id]]), -2.0, abs_tol=1e-7)


def test_import_dro_opt_does_not_import_cvxpy_and_lazy_export_works() -> None:
    code = (
        "import sys, dro_opt, dro_opt.conic\n"
        "assert 'cvxpy' not in sys.modules\n"
        "from dro_opt.conic import from_cvxpy, assign_solution\n"
        "assert callable(from_cvxpy) and from_cvxpy.__name__ == 'from_cvxpy'\n"
        "import dro_opt.conic.from_cvxpy as m\n"
        "import cvxpy as cp\n"
        "x = cp.Variable(name='x')\n"
        "p = dro_opt.conic.from_cvxpy(cp.Problem(cp.Minimize(cp.abs(x))))\n"
        "assert 'x' in p.var_blocks\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- 2. backends
def _backends_for(conic: ConicProblem) -> list[str]:
    need = required_features(conic)
    return [n for n in ("clarabel", "scip", "highs") if need <= get_backend(n).features]


@pytest.mark.parametrize("key", sorted(CONTINUOUS))
def test_backends_match_cvxpy_on_continuous_problems(key: str) -> None:
    prob, unique = CONTINUOUS[key]()
    value, values = _cvxpy_reference(prob)
    conic = from_cvxpy(prob)
    names = _backends_for(conic)
    assert "clarabel" in names
    for name in names:
        res = solve(conic, name, threads=1, time_limit=LIMIT)
        assert res.status is Status.OPTIMAL, (name, res.status, res.message)
        assert _rel(res.objective, value) <= REL, (name, res.objective, value)
        for var in unique:
            np.testing.assert_allclose(res[var], values[var], atol=XTOL, rtol=XTOL, err_msg=name)
        for v in prob.variables():
            v.value = None
        assign_solution(prob, res)
        assert prob.status == cp.OPTIMAL
        assert _rel(float(prob.value), value) <= REL
        for var in unique:
            got = next(v for v in prob.variables() if v.name() == var).value
            np.testing.assert_allclose(got, values[var], atol=XTOL, rtol=XTOL)


def test_assign_solution_infeasible_status() -> None:
    x = cp.Variable(name="x")
    prob = cp.Problem(cp.Maximize(cp.log(x)), [x <= -1])
    res = solve(from_cvxpy(prob), "clarabel")
    assert res.status is Status.INFEASIBLE
    assign_solution(prob, res)
    assert prob.status == cp.INFEASIBLE and prob.value == -np.inf and x.value is None


# --------------------------------------------------------------------------- 3. binary + KL
def _kl_dro_data(m: int = 8, n: int = 30, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Scenario losses ``loss_i(z) = a_i - G_i'z``: item j covers ``G_ij`` of scenario i's loss."""
    rng = np.random.default_rng(seed)
    G = rng.gamma(0.6, 1.0, size=(n, m)) * (rng.uniform(size=(n, m)) < 0.5)
    a = G.sum(axis=1) + rng.uniform(0.0, 1.0, n)
    return a, G


def _kl_dro_problem(
    a: np.ndarray, G: np.ndarray, k: int, radius: float, z: cp.Variable | cp.Parameter
) -> cp.Problem:
    """Choose ``k`` items minimising sup_{KL(P||p) <= r} E_P[loss(z)], p uniform.

    KL-DRO dual (Hu & Hong; docs/conventions.md, 'KL DRO'): inf_{lam >= 0, t} lam r + t  s.t.
    sum_i p_i lam exp((loss_i - t) / lam) <= lam. With u_i >= lam exp((loss_i - t)/lam), i.e.
    loss_i - t <= lam log(u_i / lam) = -rel_entr(lam, u_i), every sample is one exponential cone.
    """
    n = a.size
    p = np.full(n, 1.0 / n)
    lam = cp.Variable(name="lam", nonneg=True)
    t = cp.Variable(name="t")
    u = cp.Variable(n, name="u", nonneg=True)
    loss = a - G @ z
    cons = [loss - t + cp.rel_entr(lam * np.ones(n), u) <= 0, p @ u <= lam]
    if isinstance(z, cp.Variable):
        cons.append(cp.sum(z) == k)
    return cp.Problem(cp.Minimize(lam * radius + t), cons)


def _kl_dro_value(a: np.ndarray, G: np.ndarray, radius: float, zval: np.ndarray) -> float:
    """Independent check of one subset's value: 1-d minimisation of the dual over lam."""
    from scipy.optimize import minimize_scalar
    from scipy.special import logsumexp

    loss = a - G @ zval
    f = lambda lam: lam * radius + lam * logsumexp(loss / lam, b=1.0 / loss.size)  # noqa: E731
    res = minimize_scalar(
        f, bounds=(1e-6, 1e3), method="bounded", options={"xatol": 1e-12, "maxiter": 2000}
    )
    return float(min(res.fun, loss.max()))


def test_cvxpy_refuses_binary_kl_problem_with_scip() -> None:
    a, G = _kl_dro_data()
    z = cp.Variable(G.shape[1], name="z", boolean=True)
    prob = _kl_dro_problem(a, G, 3, 0.1, z)
    assert prob.is_dcp() and prob.is_mixed_integer()
    with pytest.raises(cp.error.SolverError, match="SCIP cannot solve this problem"):
        prob.solve(solver=cp.SCIP)


def test_binary_kl_dro_solved_by_scip_matches_brute_force() -> None:
    a, G = _kl_dro_data()
    m, k, radius = G.shape[1], 3, 0.1
    z = cp.Variable(m, name="z", boolean=True)
    prob = _kl_dro_problem(a, G, k, radius, z)
    conic = from_cvxpy(prob)
    assert conic.needs() == {"integer", "exp"}

    res = solve(conic, "scip", threads=1, gap=1e-9, time_limit=LIMIT)
    assert res.status is Status.OPTIMAL, (res.status, res.message)
    assert res.bound is not None and res.gap is not None and res.gap <= 1e-6
    assert res.bound <= res.objective + 1e-9 * max(1.0, abs(res.objective))  # min: bound below

    # brute force: every subset of size k, each continuous problem solved by cvxpy + Clarabel
    zp = cp.Parameter(m, name="zfix")
    sub = _kl_dro_problem(a, G, k, radius, zp)
    values = {}
    for S in itertools.combinations(range(m), k):
        zp.value = np.isin(np.arange(m), S).astype(float)
        sub.solve(solver=cp.CLARABEL)
        assert sub.status == cp.OPTIMAL
        values[S] = float(sub.value)
    ranked = sorted(values, key=values.get)
    best, second = ranked[0], ranked[1]
    assert values[second] - values[best] > 1e-4  # the optimal subset is unique
    assert _rel(values[best], _kl_dro_value(a, G, radius, np.isin(np.arange(m), best))) <= 1e-6

    assert _rel(res.objective, values[best]) <= REL
    assert res.bound <= values[best] * (1 + REL) + REL  # the proven bound is valid
    chosen = tuple(np.flatnonzero(np.round(res["z"]) == 1))
    assert chosen == best

    assign_solution(prob, res)
    assert prob.status == cp.OPTIMAL
    assert tuple(np.flatnonzero(z.value == 1)) == best
    assert _rel(float(prob.value), values[best]) <= REL


def test_wrongly_inferred_auxiliary_bounds_are_not_imported() -> None:
    """cvxpy 1.9.3 infers bounds [0, 0] for multiply(sign vector, X @ w) with w free and gives
    them to the hinge's epigraph variables when the target takes bounds; imported as such, the
    hinge fit below came out "optimal" at w = 0 with value 1.0 (the true optimum is 0.0)."""
    import dro_opt

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = np.sign(X @ np.array([1.0, -1.0, 0.5]))
    w = cp.Variable(3, name="w")
    problem = cp.Problem(cp.Minimize(cp.sum(cp.pos(1 - cp.multiply(y, X @ w))) / 20))
    res = dro_opt.solve(problem)
    assert res.status.value == "optimal"
    assert res.objective == pytest.approx(0.0, abs=1e-7)
    assert res.certificate is not None and res.certificate.lower <= 1e-7
    # a second import with values set must not trip cvxpy's bound validation either
    res2 = dro_opt.solve(problem)
    assert res2.objective == pytest.approx(0.0, abs=1e-7)
