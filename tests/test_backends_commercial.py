"""Commercial backends (Gurobi, CPLEX, Xpress, MOSEK) against the shared reference models, their
licence limits (measured: docs/conventions.md, 'Solver facts'), statuses, duals and common options.

Each solver's tests run when its Python package imports (``pytest.importorskip``). MOSEK without a
licence file cannot optimise at all: its tests then check that every solve comes back as
``LICENSE_LIMIT`` with MOSEK's own licence error code, and its model mapping is checked by writing
the task to ``.cbf`` (no licence needed) and solving that file with open solvers through cvxpy.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dro_opt.conic import ConicBuilder
from dro_opt.conic.problem import ConicProblem
from dro_opt.errors import CapabilityError, ParameterError
from dro_opt.instances.reference_models import REFERENCE_MODELS
from dro_opt.solvers import cplex_backend, gurobi_backend, mosek_backend, xpress_backend
from dro_opt.solvers.base import BOUND, DUALS, Backend, SolveOptions, required_features
from dro_opt.solvers.result import Result
from dro_opt.solvers.status import Status

# name -> (import name, backend class, the solver's licence error codes)
SPECS: dict[str, tuple[str, type[Backend], frozenset]] = {
    "gurobi": ("gurobipy", gurobi_backend.GurobiBackend, gurobi_backend.LICENCE_ERRORS),
    "cplex": ("cplex", cplex_backend.CplexBackend, cplex_backend.LICENCE_ERRORS),
    "xpress": ("xpress", xpress_backend.XpressBackend, xpress_backend.LICENCE_ERRORS),
    "mosek": ("mosek", mosek_backend.MosekBackend, frozenset(range(1000, 1031))),
}
OPTS = SolveOptions(threads=1, gap=1e-6)
MIP_MODELS = {"milp", "misocp", "miexp"}


def make_backend(name: str) -> Backend:
    module, cls, _ = SPECS[name]
    pytest.importorskip(module, reason=f"{module} (solver {name!r}) is not installed")
    return cls()


@pytest.fixture(params=list(SPECS))
def backend(request: pytest.FixtureRequest) -> Backend:
    return make_backend(request.param)


@functools.cache
def mosek_licensed() -> bool:
    """Detect (never assume) whether MOSEK can optimise here: solve the reference LP once."""
    res = mosek_backend.MosekBackend().solve(REFERENCE_MODELS["lp"].build(), OPTS)
    return res.status is not Status.LICENSE_LIMIT


def unlicensed_mosek(backend: Backend, res: Result) -> bool:
    """True when ``res`` is MOSEK's missing-licence answer (and then checks it is a proper one)."""
    if backend.name != "mosek" or res.status is not Status.LICENSE_LIMIT:
        return False
    assert not mosek_licensed()
    assert res.extra["licence_error_code"] in SPECS["mosek"][2]
    assert "licence" in res.message and "'scip'" in res.message
    assert res.objective is None and res.bound is None
    return True


def check_result(res: Result, prob: ConicProblem, name: str, optimum: float) -> None:
    assert res.status is Status.OPTIMAL, res.message
    assert res.solver == name and isinstance(res.solver_version, str)
    assert res.build_seconds > 0 and res.solve_seconds >= 0
    assert math.isclose(res.objective, optimum, rel_tol=1e-6, abs_tol=1e-9), res.objective
    assert prob.max_violation(res.x) <= 1e-5
    # bound: branch-and-bound bound for MIPs, dual objective for continuous models
    assert res.bound is not None
    slack = 1e-6 * max(1.0, abs(optimum))
    if prob.sense == "min":
        assert res.bound <= optimum + slack  # a valid (proven) lower bound
    else:
        assert res.bound >= optimum - slack
    if prob.is_mixed_integer:
        assert res.nodes is not None
        assert res.gap is not None and res.gap <= 1e-6 + 1e-9
    else:
        assert res.gap is not None and res.gap <= 1e-5


# ------------------------------------------------------------------- declared features


def test_declared_features() -> None:
    from dro_opt.solvers.base import EXP, INTEGER, MI_EXP, MI_SOC, POW, RSOC, SOC

    quadratic = {INTEGER, SOC, RSOC, MI_SOC, DUALS, BOUND}
    for name in ("gurobi", "cplex", "xpress"):
        assert SPECS[name][1].features == quadratic, name
    assert mosek_backend.MosekBackend.features == quadratic | {EXP, POW, MI_EXP}
    for _, cls, _ in SPECS.values():
        assert cls.open_source is False and cls.license_limit


def test_registry_and_availability_take_no_licence() -> None:
    """availability() must not import the solver packages (so it cannot check out a licence)."""
    code = (
        "import sys\n"
        "from dro_opt.solvers.registry import get_backend\n"
        "rows = [get_backend(n).availability() for n in ('gurobi','cplex','xpress','mosek')]\n"
        "assert all(r.license for r in rows)\n"
        "print(sorted(m for m in ('gurobipy','cplex','xpress','mosek') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_registry_returns_these_classes() -> None:
    from dro_opt.solvers.registry import get_backend

    for name, (_, cls, _) in SPECS.items():
        assert type(get_backend(name)) is cls


# --------------------------------------------------------------------- reference models


@pytest.mark.parametrize("model", list(REFERENCE_MODELS))
def test_reference_model(backend: Backend, model: str) -> None:
    ref = REFERENCE_MODELS[model]
    prob = ref.build()
    missing = required_features(prob) - backend.features
    if missing:
        with pytest.raises(CapabilityError, match=backend.name):
            backend.solve(prob, OPTS)
        return
    res = backend.solve(prob, OPTS)
    if unlicensed_mosek(backend, res):
        return
    if ref.optimum is None:
        assert res.status.value == ref.expected_status, res.message
        assert res.objective is None
        return
    check_result(res, prob, backend.name, ref.optimum)
    for block, values in (ref.solution or {}).items():
        np.testing.assert_allclose(np.ravel(res[block]), values, atol=1e-4)


@pytest.mark.parametrize("model", ["lp", "milp", "socp", "misocp"])
def test_objective_constant_and_sense(backend: Backend, model: str) -> None:
    ref = REFERENCE_MODELS[model]
    prob = ref.build().copy()
    prob.c0 = 2.5
    res = backend.solve(prob, OPTS)
    if unlicensed_mosek(backend, res):
        return
    check_result(res, prob, backend.name, ref.optimum + 2.5)
    flipped = ref.build().copy()  # same model, opposite sense: max -f = -min f
    flipped.c, flipped.sense = -flipped.c, ("max" if flipped.sense == "min" else "min")
    res2 = backend.solve(flipped, OPTS)
    check_result(res2, flipped, backend.name, -ref.optimum)


def _infeasible_milp() -> ConicProblem:
    """2 k = 1 with k integer in [0, 1]: infeasible only because of integrality."""
    bld = ConicBuilder("min", name="infeasible_milp")
    k = bld.add_variables("k", 1, lb=0, ub=1, vtype="integer")
    bld.add_eq("odd", [(k, [[2.0]])], 1.0)
    bld.set_objective([(k, [1.0])])
    return bld.build()


def _infeasible_socp() -> ConicProblem:
    """||y|| <= 1 and y_1 >= 2: infeasible."""
    bld = ConicBuilder("min", name="infeasible_socp")
    y = bld.add_variables("y", 2)
    bld.add_constraints("ball", "soc", [(y, [[0, 0], [1, 0], [0, 1]])], const=[1, 0, 0], dims=3)
    bld.add_ge("far", [(y, [[1.0, 0.0]])], 2.0)
    bld.set_objective([(y, [1.0, 1.0])])
    return bld.build()


def _unbounded_socp() -> ConicProblem:
    """max t s.t. ||y|| <= t, t free otherwise: unbounded."""
    bld = ConicBuilder("max", name="unbounded_socp")
    t = bld.add_variables("t", 1)
    y = bld.add_variables("y", 2)
    bld.add_constraints(
        "cone", "soc", [(t, [[1], [0], [0]]), (y, [[0, 0], [1, 0], [0, 1]])], dims=3
    )
    bld.set_objective([(t, [1.0])])
    return bld.build()


def _unbounded_milp() -> ConicProblem:
    """max x1 + x2 over integers x >= 0 with x1 - x2 <= 1.5: unbounded along (1, 1)."""
    bld = ConicBuilder("max", name="unbounded_milp")
    x = bld.add_variables("x", 2, lb=0, vtype="integer")
    bld.add_le("row", [(x, [[1.0, -1.0]])], 1.5)
    bld.set_objective([(x, [1.0, 1.0])])
    return bld.build()


@pytest.mark.parametrize(
    "build, expected",
    [
        (_infeasible_milp, Status.INFEASIBLE),
        (_unbounded_milp, Status.UNBOUNDED),
        (_infeasible_socp, Status.INFEASIBLE),
        (_unbounded_socp, Status.UNBOUNDED),
    ],
)
def test_infeasible_and_unbounded(backend: Backend, build, expected: Status) -> None:
    res = backend.solve(build(), OPTS)
    if unlicensed_mosek(backend, res):
        return
    assert res.status is expected, res.message
    assert res.objective is None and res.x is None


def test_undeclared_feature_raises_capability_error() -> None:
    for name in ("gurobi", "cplex", "xpress"):
        be = make_backend(name)
        for model in ("exp", "miexp"):
            with pytest.raises(CapabilityError, match="lacks exp"):
                be.solve(REFERENCE_MODELS[model].build(), OPTS)


# ---------------------------------------------------------------------------------- duals


def _check_conic_duals(prob: ConicProblem, res: Result) -> None:
    """y in K*, and the dual objective of the minimisation form equals the primal optimum."""
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
    dual_obj = -prob.b @ y + bound_terms.sum()
    primal_min = res.objective - prob.c0 if prob.sense == "min" else -(res.objective - prob.c0)
    # Barrier QCP duals are approximate: Gurobi's were off by 3.6e-5 relative on the socp model.
    assert math.isclose(dual_obj, primal_min, rel_tol=1e-4, abs_tol=1e-6)
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


@pytest.mark.parametrize("model", ["lp", "socp", "rsocp"])
def test_conic_duals(backend: Backend, model: str) -> None:
    assert DUALS in backend.features
    prob = REFERENCE_MODELS[model].build()
    res = backend.solve(prob, OPTS)
    if unlicensed_mosek(backend, res):
        return
    assert res.status is Status.OPTIMAL
    assert set(res.duals) == set(prob.con_blocks)
    _check_conic_duals(prob, res)


# ------------------------------------------------------------------------ licence limits


def _lp(n: int, rows: int = 1) -> ConicProblem:
    """max sum x, 0 <= x <= 1, ``rows`` copies of sum x <= 10: optimum min(n, 10)."""
    bld = ConicBuilder("max", name=f"lp_{n}x{rows}")
    x = bld.add_variables("x", n, lb=0, ub=1)
    bld.add_le("cap", [(x, np.ones((rows, n)))], np.full(rows, 10.0))
    bld.set_objective([(x, np.ones(n))])
    return bld.build()


def _ball(k: int, extra: int) -> ConicProblem:
    """max sum y + sum z s.t. ||y|| <= 1 (y in R^k), 0 <= z <= 1 (z in R^extra).

    Optimum sqrt(k) + extra. Lowered to quadratic constraints it has 2k + 1 + extra columns
    (k + 1 cone slacks) and k + 2 rows (k + 1 linking rows, 1 quadratic).
    """
    bld = ConicBuilder("max", name=f"ball_{k}_{extra}")
    y = bld.add_variables("y", k)
    z = bld.add_variables("z", extra, lb=0, ub=1)
    rows = np.vstack([np.zeros((1, k)), np.eye(k)])
    bld.add_constraints("ball", "soc", [(y, rows)], const=np.r_[1.0, np.zeros(k)], dims=k + 1)
    bld.set_objective([(y, np.ones(k)), (z, np.ones(extra))])
    return bld.build()


# (solver, model builder, optimum when it fits, over the limit?, words the message must hold)
LIMIT_CASES = [
    ("gurobi", lambda: _lp(2000), 10.0, False, ()),
    ("gurobi", lambda: _lp(2001), None, True, ("2000 variables", "this model has 2001 variables")),
    ("gurobi", lambda: _lp(10, 2001), None, True, ("2000 constraints", "2001 constraints")),
    ("gurobi", lambda: _ball(10, 179), math.sqrt(10) + 179, False, ()),
    ("gurobi", lambda: _ball(10, 180), None, True, ("200 variables", "201 variables with quad")),
    ("cplex", lambda: _lp(1000), 10.0, False, ()),
    ("cplex", lambda: _lp(1001), None, True, ("1000 variables", "this model has 1001 variables")),
    ("cplex", lambda: _lp(10, 1001), None, True, ("1000 constraints", "1001 constraints")),
    ("xpress", lambda: _lp(4999), 10.0, False, ()),
    ("xpress", lambda: _lp(5000), None, True, ("5000 rows plus columns", "5001 rows plus")),
    ("xpress", lambda: _ball(10, 167), math.sqrt(10) + 167, False, ()),
    ("xpress", lambda: _ball(10, 168), None, True, ("200 with quadratic", "201 rows plus")),
]


@pytest.mark.parametrize("name, build, optimum, over, words", LIMIT_CASES)
def test_size_limit(name: str, build, optimum, over: bool, words: tuple[str, ...]) -> None:
    """Just under / just over each measured limit. Over it, the LICENSE_LIMIT status must come
    from the solver's own error code (no pre-check refuses models here). With a licence file
    present (a full licence, detected without checkout) the over-limit model must solve."""
    be = make_backend(name)
    prob = build()
    res = be.solve(prob, OPTS)
    if not over:
        check_result(res, prob, name, optimum)
        return
    if res.status is not Status.LICENSE_LIMIT and be.availability().license_limit is None:
        assert res.status is Status.OPTIMAL  # a full licence is installed here
        return
    assert res.status is Status.LICENSE_LIMIT, res.message
    assert res.extra["licence_error_code"] in SPECS[name][2]
    assert f"error {res.extra['licence_error_code']}" in res.message
    alternatives = ("'highs'", "'scip'") if prob.needs() == frozenset() else ("'clarabel'",)
    for w in (*words, *alternatives, "'scip'", "full licence"):
        assert w in res.message, (w, res.message)
    assert res.objective is None and res.x is None


def test_licence_message_example_wording() -> None:
    res = make_backend("gurobi").solve(_lp(2501), OPTS)
    if res.status is not Status.LICENSE_LIMIT:
        pytest.fail(f"expected Gurobi's size limit to refuse 2501 variables, got {res.status}")
    assert res.message.startswith(
        "Gurobi's size-limited pip licence allows at most 2000 variables and 2000 constraints "
        "(200 variables with quadratic terms); this model has 2501 variables: use solver "
        "'highs' or 'scip', or install a full licence (solver error 10010: Model too large"
    )


def test_mosek_licence_detected() -> None:
    be = make_backend("mosek")
    av = be.availability()
    res = be.solve(REFERENCE_MODELS["socp"].build(), OPTS)
    if res.status is Status.LICENSE_LIMIT:
        assert av.license.startswith("missing") or "licence file" in av.license
        assert res.extra["licence_error_code"] in SPECS["mosek"][2]
        assert re.search(r"'clarabel' or 'scip'", res.message)
    else:
        check_result(res, REFERENCE_MODELS["socp"].build(), "mosek", math.sqrt(3))


# -------------------------------------------------------------------------------- options


def _market_split(m: int = 5, n: int = 40, seed: int = 0) -> ConicProblem:
    """Cornuejols-Dawande market split (optimisation form): far beyond a 1 s branch-and-bound."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 100, size=(m, n)).astype(float)
    d = np.floor(a.sum(axis=1) / 2)
    bld = ConicBuilder("min", name="market_split")
    x = bld.add_variables("x", n, vtype="binary")
    up = bld.add_variables("up", m, lb=0)
    down = bld.add_variables("down", m, lb=0)
    bld.add_eq("split", [(x, a), (up, np.eye(m)), (down, -np.eye(m))], d)
    bld.set_objective([(up, np.ones(m)), (down, np.ones(m))])
    return bld.build()


def test_time_limit_honoured(backend: Backend) -> None:
    res = backend.solve(_market_split(), SolveOptions(time_limit=1.0, threads=1))
    if unlicensed_mosek(backend, res):
        return
    assert res.status in (Status.TIME_LIMIT, Status.OPTIMAL)
    assert res.solve_seconds < 10
    if res.status is Status.TIME_LIMIT:
        assert res.bound is not None and res.nodes is not None and res.nodes > 0
        if res.objective is not None:  # an incumbent: the bound must not exceed it (min)
            assert res.bound <= res.objective + 1e-9


def test_verbose_honoured(backend: Backend, capfd: pytest.CaptureFixture[str]) -> None:
    prob = REFERENCE_MODELS["milp"].build()
    res_quiet = backend.solve(prob, SolveOptions(threads=1, verbose=False))
    quiet = capfd.readouterr()
    res_loud = backend.solve(prob, SolveOptions(threads=1, verbose=True))
    loud = capfd.readouterr()
    assert quiet.out.strip() == ""
    if res_quiet.status is Status.LICENSE_LIMIT:  # MOSEK without licence: nothing to log
        assert res_loud.status is Status.LICENSE_LIMIT
        return
    assert len(loud.out) > 50


def test_unknown_parameter_is_a_typed_error(backend: Backend) -> None:
    opts = SolveOptions(threads=1, extra={"no_such_parameter_xyz": 1})
    with pytest.raises(ParameterError, match="no_such_parameter_xyz"):
        backend.solve(REFERENCE_MODELS["lp"].build(), opts)


@pytest.mark.parametrize(
    "mapper, args",
    [
        (gurobi_backend.map_status, (999, False)),
        (cplex_backend.map_status, (999,)),
        (xpress_backend.map_status, (0, 0, 999)),
        (mosek_backend.map_status, ("solsta.something_new", "rescode.trm_new")),
    ],
)
def test_unknown_native_status_maps_to_unknown(mapper, args) -> None:
    assert mapper(*args) is Status.UNKNOWN


def test_native_status_maps() -> None:
    assert gurobi_backend.map_status(2, True) is Status.OPTIMAL
    assert gurobi_backend.map_status(9, False) is Status.TIME_LIMIT
    assert cplex_backend.map_status(107) is Status.TIME_LIMIT
    assert cplex_backend.map_status(119) is Status.INFEASIBLE_OR_UNBOUNDED
    assert xpress_backend.map_status(1, 2, 1) is Status.TIME_LIMIT
    assert xpress_backend.map_status(3, 3, 0) is Status.INFEASIBLE
    assert mosek_backend.map_status("solsta.integer_optimal", "rescode.ok") is Status.OPTIMAL
    assert mosek_backend.map_status("solsta.unknown", "rescode.trm_max_time") is Status.TIME_LIMIT
    assert (
        mosek_backend.map_status("solsta.unknown", "rescode.ok", "prosta.prim_infeas")
        is Status.INFEASIBLE
    )


# ------------------------------------------------- MOSEK model mapping via its own .cbf file


def _read_cbf(path: Path) -> dict:
    """Just enough of a CBF (v3) reader for the files MOSEK writes for the reference models."""
    lines = [ln.strip() for ln in path.read_text().splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    out: dict = {"int": [], "objb": 0.0, "obja": [], "a": [], "b": []}
    i = 0
    while i < len(lines):
        key = lines[i]
        i += 1
        if key == "VER":
            i += 1
        elif key == "OBJSENSE":
            out["sense"] = lines[i]
            i += 1
        elif key in ("VAR", "CON"):
            total, ncones = map(int, lines[i].split())
            cones = [(c.split()[0], int(c.split()[1])) for c in lines[i + 1 : i + 1 + ncones]]
            out[key.lower()] = (total, cones)
            i += 1 + ncones
        elif key == "INT":
            cnt = int(lines[i])
            out["int"] = [int(v) for v in lines[i + 1 : i + 1 + cnt]]
            i += 1 + cnt
        elif key == "OBJBCOORD":
            out["objb"] = float(lines[i])
            i += 1
        elif key in ("OBJACOORD", "ACOORD", "BCOORD"):
            cnt = int(lines[i])
            out[{"OBJACOORD": "obja", "ACOORD": "a", "BCOORD": "b"}[key]] = [
                ln.split() for ln in lines[i + 1 : i + 1 + cnt]
            ]
            i += 1 + cnt
        else:
            raise AssertionError(f"unexpected CBF section {key!r} in {path}")
    return out


def _solve_cbf(path: Path, fixed: dict[int, float] | None = None) -> float:
    """Solve a parsed CBF with cvxpy (CLARABEL continuous, SCIP mixed-integer)."""
    import cvxpy as cp

    d = _read_cbf(path)
    n, var_cones = d["var"]
    m, con_cones = d["con"]
    x = cp.Variable(n)
    cons = [x[j] == v for j, v in (fixed or {}).items()]
    ints = [j for j in d["int"] if j not in (fixed or {})]
    if ints:  # (cvxpy's per-index integer= fails on 1-D variables: link a separate block)
        k = cp.Variable(len(ints), integer=True)
        cons.append(x[ints] == k)
    A = np.zeros((m, n))
    for r, c, v in d["a"]:
        A[int(r), int(c)] = float(v)
    b = np.zeros(m)
    for r, v in d["b"]:
        b[int(r)] = float(v)
    c = np.zeros(n)
    for j, v in d["obja"]:
        c[int(j)] = float(v)
    for expr, cones in ((x, var_cones), (A @ x + b, con_cones)):
        off = 0
        for kind, dim in cones:
            e = expr[off : off + dim]
            off += dim
            if kind == "L+":
                cons.append(e >= 0)
            elif kind == "L-":
                cons.append(e <= 0)
            elif kind == "L=":
                cons.append(e == 0)
            elif kind == "Q":
                cons.append(cp.SOC(e[0], e[1:]))
            elif kind == "QR":
                lhs = cp.hstack([np.sqrt(2) * e[2:], e[0] - e[1]])
                cons.append(cp.SOC(e[0] + e[1], lhs))
            elif kind == "EXP":  # CBF: e0 >= e1 exp(e2 / e1)
                cons.append(cp.constraints.ExpCone(e[2], e[1], e[0]))
            else:
                assert kind == "F", kind
    obj = c @ x + d["objb"]
    prob = cp.Problem(cp.Maximize(obj) if d["sense"] == "MAX" else cp.Minimize(obj), cons)
    prob.solve(solver="SCIP" if ints else "CLARABEL")
    return float(prob.value)


@pytest.mark.parametrize("model", ["lp", "milp", "socp", "rsocp", "misocp", "exp", "miexp"])
def test_mosek_task_written_as_cbf_solves_to_reference(model: str, tmp_path: Path) -> None:
    """MOSEK's own .cbf of the task we build (no licence needed) reproduces the optimum when an
    open solver reads it: checks the AFE/domain mapping, incl. the reversed exp-cone order."""
    be = make_backend("mosek")
    pytest.importorskip("cvxpy", reason="cvxpy reads the CBF file in this test")
    ref = REFERENCE_MODELS[model]
    prob = ref.build()
    path = be.write_task(prob, tmp_path / f"{model}.cbf")
    assert path.read_text().startswith("VER")
    if model == "miexp":  # cvxpy refuses integers + exp cones: enumerate the integer k
        k = prob.var_blocks["k"].start
        values = range(int(prob.lb[k]), int(prob.ub[k]) + 1)
        best = min(_solve_cbf(path, {k: float(v)}) for v in values)
    else:
        best = _solve_cbf(path)
    assert math.isclose(best, ref.optimum, rel_tol=1e-6, abs_tol=1e-8)


def test_quadratic_lowering_sizes() -> None:
    """The sizes the licence messages report are the sizes the solvers count."""
    from dro_opt.solvers._licence import lower_to_qcqp

    form = lower_to_qcqp(_ball(10, 180))
    assert form.size().variables == 2 * 10 + 1 + 180
    assert form.size().constraints == 10 + 2 and form.size().quadratic
    rs = lower_to_qcqp(REFERENCE_MODELS["rsocp"].build())
    assert rs.num_quadratic == 1
    np.testing.assert_array_equal(rs.lb[2:4], [0.0, 0.0])  # both rotated-cone heads >= 0
    assert sorted(rs.q_val.tolist()) == [-2.0, 1.0]
    assert not list(itertools.chain(lower_to_qcqp(_lp(3)).q_val))
