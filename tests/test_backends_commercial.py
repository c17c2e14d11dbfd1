"""Commercial backends (Gurobi, CPLEX, Xpress, MOSEK): what the conformance suite
(``tests/test_backend_conformance.py``) does not cover -- their licence limits (measured:
docs/conventions.md, 'Solver facts'), native status maps and MOSEK's model mapping.

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
from pathlib import Path

import numpy as np
import pytest

from dro_opt.conic import ConicBuilder
from dro_opt.conic.problem import ConicProblem
from dro_opt.instances.reference_models import REFERENCE_MODELS
from dro_opt.solvers import cplex_backend, gurobi_backend, mosek_backend, xpress_backend
from dro_opt.solvers.base import BOUND, DUALS, Backend, SolveOptions
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


# --------------------------------------------------------------------- reference models


# ---------------------------------------------------------------------------------- duals


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
    from dro_opt.reformulations.soc_to_quadratic import lower_to_quadratic
    from dro_opt.solvers._licence import ModelSize

    size = ModelSize.of_quadratic(lower_to_quadratic(_ball(10, 180)))
    assert size.variables == 2 * 10 + 1 + 180
    assert size.constraints == 10 + 2 and size.quadratic
    rs = lower_to_quadratic(REFERENCE_MODELS["rsocp"].build())
    assert rs.num_quadratic == 1
    np.testing.assert_array_equal(rs.lb[2:4], [0.0, 0.0])  # both rotated-cone heads >= 0
    assert sorted(rs.q_val.tolist()) == [-2.0, 1.0]
    assert not list(itertools.chain(lower_to_quadratic(_lp(3)).q_val))


# ----------------------------------------------------------- bulk loading routes and fallbacks
C_ROUTE = {"cplex": cplex_backend.cplex_library, "gurobi": None}


@pytest.mark.parametrize("name", list(C_ROUTE))
@pytest.mark.parametrize("model", ["lp", "milp", "socp", "rsocp", "misocp"])
def test_python_api_fallback_reaches_reference(
    name: str, model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The C-library route (CPLEX: columns, rows and cones; Gurobi: cones) is what the
    conformance suite runs; the Python-API route it falls back to (no usable library) gives the
    same optimum and bound."""
    be = make_backend(name)
    if C_ROUTE[name] is not None:
        assert C_ROUTE[name]() is not None, f"the {name} library beside its package"
    monkeypatch.setattr(type(be), "bulk_route", False)
    ref = REFERENCE_MODELS[model]
    prob = ref.build()
    check_result(be.solve(prob, OPTS), prob, name, ref.optimum)


def test_gurobi_c_route_is_used_here() -> None:
    """Gurobi's cone constraints go through ``GRBaddqconstr`` on this machine (else the test
    above would only exercise one route)."""
    gp = pytest.importorskip("gurobipy")
    env = gp.Env(empty=True)
    env.setParam("OutputFlag", 0)
    env.start()
    model = gp.loadModel(env=env, numvars=2, numconstrs=0)
    try:
        assert gurobi_backend._gurobi_c(gp, model) is not None
    finally:
        model.dispose()
        env.dispose()
