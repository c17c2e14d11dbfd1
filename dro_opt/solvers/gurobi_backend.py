"""Gurobi backend (gurobipy): LP, MILP, SOCP and MISOCP through quadratic cone constraints.

The conic problem is lowered by
:func:`~dro_opt.reformulations.soc_to_quadratic.lower_to_quadratic` (linear rows kept,
one slack per cone row, each second-order cone ``||s_1:|| <= s_0`` as ``s_1:'s_1: - s_0^2 <= 0``
with ``s_0 >= 0``, each rotated cone as ``s_2:'s_2: - 2 s_0 s_1 <= 0`` with ``s_0, s_1 >= 0``) and
loaded in bulk: columns and linear rows with one ``loadModel`` call (CSC arrays), then one sparse
``addMQConstr`` per large cone or one matrix-valued quadratic constraint per group of cones with
equal term count -- no Python loop per cone or per non-zero.

Exponential and power cones are not declared: Gurobi 13 reaches ``y exp(x / y) <= z`` only
through its nonlinear (spatial branch-and-bound) constraints, whose perspective form is undefined
at ``y = 0``, so it would not be the closed cone exactly.

Licence: the pip wheel's size-limited licence (at most 2000 variables and 2000 constraints, 200
variables once a quadratic term is present) fails the solve with error 10010; a missing licence
gives 10009. Both come back as ``Status.LICENSE_LIMIT`` with a message naming the limit and an open
alternative. Nothing here takes a licence before :meth:`GurobiBackend.build`. With
``SolveOptions.trajectory`` a ``MIP``/``MIPSOL`` callback records the bounds over time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from dro_opt.conic.problem import BINARY, ConicProblem
from dro_opt.reformulations.soc_to_quadratic import QuadraticForm, lower_to_quadratic
from dro_opt.solvers._transforms import conic_duals
from dro_opt.solvers.base import Extracted, QuadraticLoweringBackend, Run
from dro_opt.solvers.catalogue import TRAITS
from dro_opt.solvers.status import Status
from dro_opt.solvers.trajectory import gurobi_callback

# Gurobi error codes meaning "the licence does not allow this" (GRB.Error.NO_LICENSE,
# GRB.Error.SIZE_LIMIT_EXCEEDED).
LICENCE_ERRORS = TRAITS["gurobi"].licence_error_codes

# Up to this many cones of one size are added one sparse Q matrix each (addMQConstr); more go in
# as one matrix-valued expression (measured: a 20001-term cone took 2.0 s as an MVar expression,
# 0.03 s as a sparse Q).
FEW_CONES = 8

# GRB.Status codes -> Status (gurobipy 13 reference manual, "Optimization status codes").
STATUS_MAP = {
    2: Status.OPTIMAL,
    3: Status.INFEASIBLE,
    4: Status.INFEASIBLE_OR_UNBOUNDED,
    5: Status.UNBOUNDED,
    7: Status.ITERATION_LIMIT,
    8: Status.NODE_LIMIT,
    9: Status.TIME_LIMIT,
    10: Status.FEASIBLE,  # solution limit
    11: Status.INTERRUPTED,
    12: Status.NUMERICAL_ERROR,
    13: Status.FEASIBLE,  # suboptimal
    15: Status.FEASIBLE,  # user objective limit
    16: Status.TIME_LIMIT,  # work limit (deterministic time)
    17: Status.ERROR,  # memory limit
}


def map_status(code: int, has_solution: bool) -> Status:
    """Gurobi status code -> :class:`Status`; unknown codes give ``UNKNOWN``. A limit reached
    without a solution keeps its limit status (the result simply has no objective)."""
    status = STATUS_MAP.get(int(code), Status.UNKNOWN)
    if status is Status.FEASIBLE and not has_solution:
        return Status.UNKNOWN
    return status


class GurobiBackend(QuadraticLoweringBackend):
    """Gurobi through gurobipy's matrix API; see the module docstring for the lowering."""

    name = "gurobi"
    bulk_route = True  # cone constraints through Gurobi's C function where possible

    def build(self, run: Run) -> None:
        import gurobipy as gp

        run.version = ".".join(map(str, gp.gurobi.version()))
        form = run.state["form"] = lower_to_quadratic(run.problem, "Gurobi")
        env = run.state["env"] = gp.Env(empty=True)
        env.setParam("OutputFlag", 1 if run.options.verbose else 0)
        env.start()
        run.model = _build(gp, env, run.problem, form)

    def default_parameters(self, run: Run) -> dict[str, Any]:
        if run.state["form"].num_quadratic and not run.problem.is_mixed_integer:
            # QCP duals; the barrier's default QCP tolerance (1e-6) leaves ~5e-7 relative error
            return {"QCPDual": 1, "BarQCPConvTol": 1e-9}
        return {}

    def set_parameter(self, run: Run, name: str, value: Any) -> None:
        run.model.setParam(name, value)

    def attach_trajectory(self, run: Run) -> None:
        run.state["callback"] = gurobi_callback(run.recorder)  # MIP / MIPSOL: model's sense

    def optimise(self, run: Run) -> None:
        run.model.optimize(run.state.get("callback"))

    def undecided(self, run: Run) -> bool:
        return run.model.Status == 4  # GRB.INF_OR_UNBD

    def resolve_decided(self, run: Run, time_left: float | None) -> None:
        run.model.Params.DualReductions = 0
        if time_left is not None:
            run.model.Params.TimeLimit = time_left
        run.model.reset()
        self.optimise(run)

    def extract(self, run: Run) -> Extracted:
        return _extract(run.model, run.problem)

    def dispose(self, run: Run) -> None:
        if run.model is not None:
            run.model.dispose()
        if run.state.get("env") is not None:
            run.state["env"].dispose()


def _build(gp: Any, env: Any, problem: ConicProblem, form: QuadraticForm) -> Any:
    """A model holding ``form``: columns and linear rows in one ``loadModel`` call (CSC arrays,
    Gurobi's ``GRBloadmodel``), then the quadratic cone constraints. No Python object per row
    (``addMVar``/``addMConstr`` measured 2-3x slower on benchmarks/build_overhead.py's model);
    ``_extract`` reads all values in one call."""
    inf = gp.GRB.INFINITY
    vtype = np.full(form.num_cols, b"C", dtype="S1")
    vtype[: form.n][problem.vtype != 0] = b"I"
    vtype[: form.n][problem.vtype == BINARY] = b"B"
    csc = form.A.tocsc()
    csc.sort_indices()
    model = gp.loadModel(
        env=env,
        numvars=form.num_cols,
        numconstrs=form.num_rows,
        modelsense=gp.GRB.MAXIMIZE if problem.sense == "max" else gp.GRB.MINIMIZE,
        objcon=float(problem.c0),
        obj=form.c,
        lb=np.clip(form.lb, -inf, inf),
        ub=np.clip(form.ub, -inf, inf),
        vtype=vtype.tobytes(),
        constr_csc=(csc.data, csc.indices, csc.indptr),
        sense=np.where(form.row_sense == "E", b"=", b"<").astype("S1").tobytes(),
        rhs=form.rhs,
        name=problem.name,
    )
    if form.num_quadratic:
        try:
            model.update()  # the cone constraints need the loaded columns
            _add_cones(gp, model, form)
        except BaseException:
            model.dispose()
            raise
    model.update()
    return model


def _add_cones(gp: Any, model: Any, form: QuadraticForm) -> None:
    """Quadratic cone constraints of ``form``: through Gurobi's C function ``GRBaddqconstr`` where
    the library is usable (:func:`_gurobi_c`), else through gurobipy, which needs the columns as
    Python ``Var`` objects (``getVars()``: most of the load's time on
    benchmarks/build_overhead.py's model)."""
    c_api = _gurobi_c(gp, model) if GurobiBackend.bulk_route else None
    if c_api is not None:
        lib, ptr = c_api
        c1 = np.ascontiguousarray(form.q_col1, dtype=np.int32)
        c2 = np.ascontiguousarray(form.q_col2, dtype=np.int32)
        qv = np.ascontiguousarray(form.q_val, dtype=np.float64)
        p1, p2, pv = c1.ctypes.data, c2.ctypes.data, qv.ctypes.data
        for q in range(form.num_quadratic):  # one C call per cone
            a, b = int(form.q_start[q]), int(form.q_start[q + 1])
            code = lib.GRBaddqconstr(
                ptr, 0, None, None, b - a, p1 + 4 * a, p2 + 4 * a, pv + 8 * a, b"<", 0.0, None
            )
            if code:
                raise gp.GurobiError(code, f"GRBaddqconstr failed with error {code}")
        return
    x = gp.MVar.fromlist(model.getVars())
    counts = np.diff(form.q_start)
    for t in np.unique(counts):
        cones = np.flatnonzero(counts == t)
        if cones.size <= FEW_CONES:
            # a few (large) cones: one sparse Q each, no Python expression objects
            for q in cones.tolist():
                a, b = int(form.q_start[q]), int(form.q_start[q + 1])
                Q = sp.coo_matrix(
                    (form.q_val[a:b], (form.q_col1[a:b], form.q_col2[a:b])),
                    shape=(form.num_cols, form.num_cols),
                )
                model.addMQConstr(Q, None, gp.GRB.LESS_EQUAL, 0.0, x, x)
            continue
        # many cones with t terms each: one matrix-valued quadratic constraint
        idx = form.q_start[cones][:, None] + np.arange(t)
        expr = (form.q_val[idx] * x[form.q_col1[idx]] * x[form.q_col2[idx]]).sum(axis=1)
        model.addConstr(expr <= 0.0)


_C_LIB: dict[str, Any] = {}


def _gurobi_c(gp: Any, model: Any) -> tuple[Any, int] | None:
    """``(libgurobi via ctypes, GRBmodel*)`` for ``model``, or ``None``: the library must be
    the one gurobipy has mapped into this process (``gurobipy/.libs``, Linux
    ``/proc/self/maps``) and the model pointer comes from gurobipy's private ``_cmodel``
    capsule, so anything unexpected means the gurobipy route."""
    import ctypes
    import glob
    import os

    if "lib" not in _C_LIB:
        lib = None
        try:
            libs = glob.glob(os.path.join(os.path.dirname(gp.__file__), ".libs", "libgurobi*.so*"))
            with open("/proc/self/maps") as fh:
                maps = fh.read()
            libs = [p for p in libs if os.path.realpath(p) in maps]
            if len(libs) == 1:
                lib = ctypes.CDLL(libs[0])
                P = ctypes.c_void_p
                lib.GRBaddqconstr.argtypes = [P, ctypes.c_int, P, P, ctypes.c_int, P, P, P]
                lib.GRBaddqconstr.argtypes += [ctypes.c_char, ctypes.c_double, ctypes.c_char_p]
                lib.GRBaddqconstr.restype = ctypes.c_int
        except (OSError, AttributeError):
            lib = None
        _C_LIB["lib"] = lib
    lib = _C_LIB["lib"]
    capsule = getattr(model, "_cmodel", None)
    if lib is None or capsule is None:
        return None
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype = ctypes.c_void_p
    get.argtypes = [ctypes.py_object, ctypes.c_char_p]
    try:
        ptr = get(capsule, None)
    except (ValueError, TypeError):
        return None
    return (lib, ptr) if ptr else None


def _extract(model: Any, problem: ConicProblem) -> Extracted:
    code = int(model.Status)
    has_sol = model.SolCount > 0
    status = map_status(code, has_sol)
    is_mip = bool(model.IsMIP)
    out = Extracted(
        status,
        x=np.asarray(model.getAttr("X"), dtype=float) if has_sol else None,
        nodes=int(model.NodeCount) if is_mip else None,
        message=f"Gurobi status {code}",
        extra={"native_status": code},
    )
    dual_bound = None
    if status is Status.OPTIMAL and not is_mip:
        try:
            pi = model.getAttr("Pi") if model.NumConstrs else []
            out.duals, dual_bound = conic_duals(problem, np.asarray(pi, dtype=float))
        except Exception:  # no duals for this model type
            out.duals = {}
    # ObjBound: the branch-and-bound bound of a MIP, the barrier/simplex dual objective of a
    # continuous model (Gurobi 13 reports it for both). QCP duals from QCPDual are looser
    # (3.6e-5 relative on the reference SOCP), so they only stand in when ObjBound is missing.
    if status.has_solution or status in (Status.TIME_LIMIT, Status.NODE_LIMIT):
        try:
            out.bound = float(model.ObjBound)
        except Exception:  # attribute unavailable (e.g. stopped before the root)
            out.bound = dual_bound
    return out
