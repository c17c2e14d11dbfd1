"""Open-source backends (SCIP, HiGHS, Clarabel): what the conformance suite
(``tests/test_backend_conformance.py``) does not cover.

* HiGHS refuses exponential cones itself (only the registry routes them to the sandwich).
* Clarabel's time limit.
* Exponential cones with a variable ``y`` in SCIP (exact tangent-cut handler), including the
  ``y = 0`` closure and a binary perspective, against closed forms and brute-force enumeration.
* SOC accuracy across scales, power cones, the rotated-cone and bound-row transforms, status maps.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import re
import shutil

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import reference_model
from test_backend_conformance import random_socp

from dro_opt.conic import ConicBuilder, ConicProblem
from dro_opt.conic.cones import ConeRun
from dro_opt.errors import CapabilityError
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
from dro_opt.solvers._transforms import bound_rows, rsoc_to_soc

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


# ---------------------------------------------------------------------------- capability


def test_highs_backend_itself_refuses_exp_cones() -> None:
    """The backend never drops a cone; only the registry's solve routes an explicit HiGHS request
    for an exp-cone model to the certified polyhedral sandwich (tests/test_exp_cone_polyhedral.py).
    """
    _, problem = reference_model("exp")
    with pytest.raises(CapabilityError, match="scip"):
        get_backend("highs").solve(problem)


# --------------------------------------------------------------------------- time limits


@pytest.mark.skipif("clarabel" not in INSTALLED, reason="clarabel not installed")
def test_clarabel_time_limit() -> None:
    problem = random_socp(n=400, k=400, seed=3)
    res = solve(problem, "clarabel", time_limit=1e-6)
    assert res.status is Status.TIME_LIMIT, res.status
    assert res.bound is None


# --------------------------------------------------------------------------------- duals


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


# ------------------------------------- SCIP's three loading routes: C API, LP reader, objects
FILE_ROUTE_MODELS = [
    m for m, ref in REFERENCE_MODELS.items() if scip_backend.file_route_possible(ref.build())
]
SCIP_ROUTES = {  # route -> (bulk_route, file_route_min_nnz, compiled_loops)
    "C API": (True, 50_000, True),
    "C API cffi calls": (True, 50_000, False),
    "lp file": (False, 0, True),
    "objects": (False, 10**12, True),
}


def _needs_compiled_loops() -> None:
    """The C-loop variant is tested wherever a C compiler exists (then it must be used)."""
    from dro_opt.solvers import _scip_loops

    if shutil.which(os.environ.get("CC", "cc")) is None or _scip_loops.cache_dir() is None:
        pytest.skip("no C compiler or no writable cache directory: the C loops cannot be built")


@pytest.mark.skipif("scip" not in INSTALLED, reason="pyscipopt not installed")
@pytest.mark.parametrize("route", list(SCIP_ROUTES))
@pytest.mark.parametrize("name", FILE_ROUTE_MODELS)
def test_scip_routes_reach_reference(
    name: str, route: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Linear/SOC models reach SCIP through its C API (cffi; the loops compiled as C, or as
    Python calls), dro_opt's .lp writer + SCIP's reader, or per-object pyscipopt calls; each
    route forced here on every reference model it can hold: same optimum, bound and status, and
    silent."""
    bulk, min_nnz, loops = SCIP_ROUTES[route]
    if route == "C API":
        _needs_compiled_loops()
    monkeypatch.setattr(scip_backend.ScipBackend, "bulk_route", bulk)
    monkeypatch.setattr(scip_backend.ScipBackend, "file_route_min_nnz", min_nnz)
    monkeypatch.setattr(scip_backend.ScipBackend, "compiled_loops", loops)
    ref, problem = reference_model(name)
    res = solve(problem, "scip", threads=1)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert res.extra.get("loaded_from") == {"objects": None, "lp file": "lp file"}.get(
        route, "C API"
    )
    if bulk:
        assert res.extra["scip_loops"] == ("C" if loops else "cffi calls")
    if ref.optimum is None:
        assert res.status is Status.parse(ref.expected_status), res.message
        return
    assert res.status is Status.OPTIMAL, res.message
    assert rel_err(res.objective, ref.optimum) <= REL
    assert problem.max_violation(res.x) <= 1e-5
    assert res.bound is not None and rel_err(res.bound, ref.optimum) <= REL
    for block, expected in (ref.solution or {}).items():
        np.testing.assert_allclose(res[block], expected, atol=XTOL)


def _linear_row(line: str) -> tuple:
    """A CIP linear row with names stripped, as (sorted (coefficient, type) terms, sense, rhs)."""
    body = line.split(":", 1)[1].strip().rstrip(";")
    parts = re.split(r"\s*(<=|>=|==)\s*", body)
    terms = re.findall(r"\s*([+-]?)\s*(\d[\d.]*(?:[eE][+-]?\d+)?)?<>\[([A-Z])\]", parts[0])
    coefs = sorted((float(f"{sign or '+'}{num or 1}"), kind) for sign, num, kind in terms)
    return tuple(coefs), tuple(parts[1:])


@pytest.mark.skipif("scip" not in INSTALLED, reason="pyscipopt not installed")
@pytest.mark.parametrize("loops", ["C", "cffi calls"])
def test_scip_c_api_builds_the_same_model_as_the_objects_route(
    loops: str, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """The C-API route (its loops compiled as C, or as Python calls through cffi) and the
    per-object route create the same SCIP problem: equal numbers of variables and constraints,
    equal variable bounds, types and costs (a MISOCP with binary, integer and continuous columns,
    a reused column, 2- and 3-dimensional cones, equality and inequality rows), and the same
    problem text apart from names (SCIP's CIP writer): the cone quadratics as products ``x*x``
    in both (a power ``x^2`` made SCIP 2-14x slower, measured)."""
    if loops == "C":
        _needs_compiled_loops()
    bld = ConicBuilder("max", name="routes")
    z = bld.add_variables("z", 3, vtype="binary")
    y = bld.add_variables("y", 3, lb=-1, ub=2)
    t = bld.add_variables("t", 1, ub=5)
    k = bld.add_variables("k", 2, lb=-3, ub=4, vtype="integer")
    bld.add_le("budget", [(z, np.ones((1, 3))), (k, [[0.5, -1.0]])], 2.0)
    bld.add_ge("link", [(y, np.eye(3)), (z, -np.eye(3))], np.full(3, -0.5))
    bld.add_constraints(
        "c3", "soc", [(t, [[-1], [0], [0]]), (y, [[0, 0, 0], [-1, 0, 0], [0, -1, 0]])], dims=3
    )
    bld.add_constraints("c2", "soc", [(y, [[0, 0, -1], [-1, 0, 0]])], const=[1.0, 0.0], dims=2)
    bld.set_objective([(y, [1.0, 1.0, 1.0]), (t, [-0.1]), (z, [0.2, 0.0, 0.3]), (k, [0.1, 0.2])])
    problem = bld.build()
    from pyscipopt import Model

    def load(bulk: bool) -> tuple[list[tuple], int]:
        model = Model()
        model.hideOutput()
        if bulk:
            lib = scip_backend.scip_library(model)
            assert lib is not None, "the SCIP library of pyscipopt cannot be opened here"
            if loops == "C":
                assert lib.loops is not None, "a C compiler is present but the loops were not built"
            else:
                lib = dataclasses.replace(lib, loops=None, api=None)
            built = scip_backend.load_bulk(model, problem, lib)
            assert built.counts["scip_loops"] == loops
        else:
            scip_backend.build_model(model, problem)
        cols = sorted(
            (v.getLbOriginal(), v.getUbOriginal(), v.vtype(), v.getObj()) for v in model.getVars()
        )
        path = tmp_path / f"routes_{bulk}.cip"
        model.writeProblem(str(path), verbose=False)
        lines = re.sub(r"<[^<>]*>", "<>", path.read_text()).splitlines()
        # the same rows, the terms of each in any order (the routes order rows differently)
        rows = sorted(_linear_row(line) for line in lines if line.lstrip().startswith("[linear]"))
        quadratics = [line for line in lines if line.lstrip().startswith("[nonlinear]")]
        return cols, model.getNConss(), rows, quadratics

    bulk, objects = load(True), load(False)
    assert bulk == objects
    assert bulk[3] and all("*<>" in q and "^2" not in q for q in bulk[3])


@pytest.mark.skipif("scip" not in INSTALLED, reason="pyscipopt not installed")
@pytest.mark.parametrize("extra,expected", [({}, -1), ({"heuristics/mpec/freq": 50}, 50)])
def test_scip_mpec_heuristic_off_unless_asked(extra: dict, expected: int) -> None:
    """SCIP's MPEC heuristic (Ipopt factorizations of > 100 s that neither the time limit nor
    Ctrl-C interrupt, scip_backend.NO_MPEC) is off in every SCIP run; ``extra`` turns it on."""
    from dro_opt.solvers.base import Run, SolveOptions

    _, problem = reference_model(FILE_ROUTE_MODELS[0])
    backend = scip_backend.ScipBackend()
    run = Run(problem, SolveOptions(extra=extra), version="")
    backend.build(run)
    backend.set_options(run)
    assert run.model.getParam("heuristics/mpec/freq") == expected


@pytest.mark.skipif("scip" not in INSTALLED, reason="pyscipopt not installed")
def test_scip_loops_compile_once_or_fall_back(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """The C loops compile into a fresh cache directory (only the library is left there) and
    load from it the next time; without a compiler, with a failing one or when switched off the
    route silently keeps its Python loops (``None``)."""
    _needs_compiled_loops()
    from pyscipopt import Model

    from dro_opt.solvers import _scip_loops

    model = Model()
    lib = scip_backend.scip_library(model)
    assert lib is not None
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _scip_loops.compiled_loops(lib.ffi, lib.lib) is not None
    built = [p.name for p in (tmp_path / "dro_opt").iterdir()]
    assert built == [_scip_loops.library_path(tmp_path / "dro_opt").name]
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    assert _scip_loops.compiled_loops(lib.ffi, lib.lib) is not None  # cached: no compiler needed
    for name in built:
        (tmp_path / "dro_opt" / name).unlink()
    assert _scip_loops.compiled_loops(lib.ffi, lib.lib) is None  # no compiler
    monkeypatch.setenv("CC", "false")  # a compiler that fails
    assert _scip_loops.compiled_loops(lib.ffi, lib.lib) is None
    assert list((tmp_path / "dro_opt").iterdir()) == []  # nothing half-written left
    monkeypatch.delenv("CC")
    monkeypatch.setenv(_scip_loops.DISABLE_ENV, "1")
    assert _scip_loops.compiled_loops(lib.ffi, lib.lib) is None


@pytest.mark.skipif("scip" not in INSTALLED, reason="pyscipopt not installed")
def test_scip_lp_file_route_on_a_large_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the non-zero threshold by itself (the C-API route switched off, the threshold lowered
    to 2000 to keep the solve short): a maximum independent set on a path of k nodes
    (x_i + x_(i+1) <= 1, binary; the path is bipartite, so the LP is integral) plus a
    3-dimensional cone ||(u, v)|| <= 1 with max u + v: optimum ceil(k / 2) + sqrt(2)."""
    monkeypatch.setattr(scip_backend.ScipBackend, "bulk_route", False)
    monkeypatch.setattr(scip_backend.ScipBackend, "file_route_min_nnz", 2_000)
    k = scip_backend.ScipBackend.file_route_min_nnz // 2 + 1
    bld = ConicBuilder("max", name="path_and_cone")
    x = bld.add_variables("x", k, vtype="binary")
    w = bld.add_variables("w", 2)
    edges = sp.diags([np.ones(k - 1), np.ones(k - 1)], [0, 1], shape=(k - 1, k))
    bld.add_le("edge", [(x, edges)], np.ones(k - 1))
    bld.add_constraints("ball", "soc", [(w, [[0, 0], [1, 0], [0, 1]])], const=[1, 0, 0], dims=3)
    bld.set_objective([(x, np.ones(k)), (w, [1.0, 1.0])])
    problem = bld.build()
    assert problem.A.nnz >= scip_backend.ScipBackend.file_route_min_nnz
    res = solve(problem, "scip", threads=1, time_limit=120)
    assert res.extra.get("loaded_from") == "lp file"
    assert res.status is Status.OPTIMAL, res.message
    expected = math.ceil(k / 2) + math.sqrt(2)
    assert rel_err(res.objective, expected) <= 1e-6
    assert res.bound is not None and res.bound >= expected - 1e-5


# ------------------------------------------------------------ HiGHS: Ctrl-C during every phase
def _slow_lp(n: int, integer: bool) -> ConicProblem:
    """A random covering LP/MILP HiGHS needs well over 20 s for (measured with n = 20000)."""
    rng = np.random.default_rng(3)
    A = sp.random(n, n, density=8.0 / n, random_state=rng, format="csr") + sp.identity(n)
    bld = ConicBuilder("min", name="slow_cover")
    x = bld.add_variables("x", n, lb=0, ub=10, vtype="integer" if integer else "continuous")
    bld.add_ge("rows", [(x, A)], rng.uniform(1, 2, n))
    bld.set_objective([(x, rng.uniform(1, 2, n))])
    return bld.build()


@pytest.mark.skipif("highs" not in INSTALLED, reason="highspy not installed")
@pytest.mark.parametrize("phase", ["simplex", "ipm", "mip"])
def test_highs_stops_soon_after_sigint(phase: str) -> None:
    """A real SIGINT (``os.kill`` on this process, 0.5 s into the solve) under the command's
    handler stops HiGHS in its simplex, interior-point or MIP loop: the interrupt callbacks
    registered for all three (``new_highs``) see the flag. Latency measured here (loaded
    2-core machine): well under a second; the bound below is generous."""
    import os
    import signal
    import threading
    import time

    from dro_opt import interrupt

    problem = _slow_lp(20000, integer=phase == "mip")
    extra = {} if phase == "mip" else {"solver": phase}
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    with interrupt.handle_sigint():
        start = time.monotonic()
        timer.start()
        limit = 15 if phase == "mip" else 60  # the MIP may run to it (below)
        res = solve(problem, "highs", threads=1, time_limit=limit, extra=extra)
        latency = time.monotonic() - start - 0.5
    timer.join()
    assert res.status is Status.INTERRUPTED, (res.status, res.message)
    if phase != "mip":
        assert latency < 10.0, latency
    # MIP: HiGHS checks the MIP interrupt callback at its milestones only, not inside the root
    # LP (its LP sub-solver gets no callback). Measured: 0.9-1.9 s when the signal lands in
    # presolve, but the whole time limit when it lands in this model's root LP (the full test
    # suite's order, and simplex-then-mip alone). The status is still 'interrupted'; the latency
    # is a HiGHS limitation, reported, not asserted.
