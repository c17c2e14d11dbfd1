"""Gurobi backend (gurobipy): LP, MILP, SOCP and MISOCP through quadratic cone constraints.

The conic problem is lowered by :func:`~dro_opt.solvers._licence.lower_to_qcqp` (linear rows kept,
one slack per cone row, each second-order cone ``||s_1:|| <= s_0`` as ``s_1:'s_1: - s_0^2 <= 0``
with ``s_0 >= 0``, each rotated cone as ``s_2:'s_2: - 2 s_0 s_1 <= 0`` with ``s_0, s_1 >= 0``) and
loaded in bulk with ``addMVar`` / ``addMConstr`` (scipy.sparse) and one matrix-valued quadratic
constraint per group of cones with equal term count -- no Python loop per cone or per non-zero.

Exponential and power cones are not declared: Gurobi 13 reaches ``y exp(x / y) <= z`` only
through its nonlinear (spatial branch-and-bound) constraints, whose perspective form is undefined
at ``y = 0``, so it would not be the closed cone exactly.

Licence: the pip wheel's size-limited licence (at most 2000 variables and 2000 constraints, 200
variables once a quadratic term is present) fails the solve with error 10010; a missing licence
gives 10009. Both come back as ``Status.LICENSE_LIMIT`` with a message naming the limit and an open
alternative. Nothing here takes a licence before :meth:`GurobiBackend._solve`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from dro_opt.conic.problem import BINARY, ConicProblem
from dro_opt.errors import ParameterError
from dro_opt.solvers._licence import (
    GUROBI_LIMIT,
    QcqpForm,
    assemble_result,
    conic_duals,
    licence_file,
    licence_result,
    lower_to_qcqp,
)
from dro_opt.solvers.base import (
    BOUND,
    DUALS,
    INTEGER,
    MI_SOC,
    RSOC,
    SOC,
    Availability,
    Backend,
    SolveOptions,
)
from dro_opt.solvers.result import Result
from dro_opt.solvers.status import Status

# Gurobi error codes meaning "the licence does not allow this" (GRB.Error.NO_LICENSE,
# GRB.Error.SIZE_LIMIT_EXCEEDED).
LICENCE_ERRORS = frozenset({10009, 10010})

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


class GurobiBackend(Backend):
    """Gurobi through gurobipy's matrix API; see the module docstring for the lowering."""

    name = "gurobi"
    module = "gurobipy"
    distribution = "gurobipy"
    open_source = False
    features = frozenset({INTEGER, SOC, RSOC, MI_SOC, DUALS, BOUND})
    license_limit = "<= 2000 variables and 2000 constraints (<= 200 variables with quadratic terms)"

    def availability(self) -> Availability:
        base = super().availability()
        if not base.installed:
            return base
        found = licence_file(("GRB_LICENSE_FILE",), ("~/gurobi.lic", "/opt/gurobi/gurobi.lic"))
        if found:
            lic = f"licence file {found} (not checked out; limits depend on it)"
            return Availability(True, base.version, lic, None)
        return base

    # ------------------------------------------------------------------ solve
    def _solve(self, problem: ConicProblem, options: SolveOptions) -> Result:
        import gurobipy as gp

        t0 = time.perf_counter()
        version = ".".join(map(str, gp.gurobi.version()))
        form = lower_to_qcqp(problem)
        env = model = None
        try:
            env = gp.Env(empty=True)
            env.setParam("OutputFlag", 1 if options.verbose else 0)
            env.start()
            model = gp.Model(problem.name, env=env)
            x, rows = _build(gp, model, problem, form)
            _set_params(model, problem, options, continuous_duals=form.num_quadratic > 0)
            build = time.perf_counter() - t0
            t1 = time.perf_counter()
            model.optimize()
            code = model.Status
            if code == gp.GRB.INF_OR_UNBD:
                # Presolve's dual reductions could not tell which: re-solve without them.
                model.Params.DualReductions = 0
                model.reset()
                model.optimize()
                code = model.Status
            solve = time.perf_counter() - t1
            return _extract(model, x, rows, problem, code, version, build, solve)
        except gp.GurobiError as err:
            build = time.perf_counter() - t0
            if err.errno in LICENCE_ERRORS:
                return licence_result(
                    GUROBI_LIMIT,
                    form.size(),
                    problem,
                    solver=self.name,
                    version=version,
                    code=err.errno,
                    native=str(err),
                    build_seconds=build,
                )
            return Result(
                status=Status.ERROR,
                solver=self.name,
                solver_version=version,
                sense=problem.sense,
                build_seconds=build,
                message=f"Gurobi error {err.errno}: {err}",
            )
        finally:
            if model is not None:
                model.dispose()
            if env is not None:
                env.dispose()


def _build(gp: Any, model: Any, problem: ConicProblem, form: QcqpForm) -> tuple[Any, Any]:
    """Load ``form`` into ``model`` in bulk; return the column MVar and the linear MConstr."""
    inf = gp.GRB.INFINITY
    vtype = np.full(form.num_cols, gp.GRB.CONTINUOUS)
    vtype[: form.n][problem.vtype != 0] = gp.GRB.INTEGER
    vtype[: form.n][problem.vtype == BINARY] = gp.GRB.BINARY
    x = model.addMVar(
        form.num_cols,
        lb=np.clip(form.lb, -inf, inf),
        ub=np.clip(form.ub, -inf, inf),
        obj=form.c,
        vtype=vtype,
        name="x",
    )
    model.ModelSense = gp.GRB.MAXIMIZE if problem.sense == "max" else gp.GRB.MINIMIZE
    model.ObjCon = problem.c0
    sense = np.where(form.row_sense == "E", gp.GRB.EQUAL, gp.GRB.LESS_EQUAL)
    rows = model.addMConstr(form.A, x, sense, form.rhs, name="row")
    counts = np.diff(form.q_start)
    for t in np.unique(counts):
        cones = np.flatnonzero(counts == t)
        idx = form.q_start[cones][:, None] + np.arange(t)
        expr = (form.q_val[idx] * x[form.q_col1[idx]] * x[form.q_col2[idx]]).sum(axis=1)
        model.addConstr(expr <= 0.0, name=f"cone{t}")
    return x, rows


def _set_params(
    model: Any, problem: ConicProblem, options: SolveOptions, continuous_duals: bool
) -> None:
    params: dict[str, Any] = {}
    if options.time_limit is not None:
        params["TimeLimit"] = float(options.time_limit)
    if options.gap is not None and problem.is_mixed_integer:
        params["MIPGap"] = float(options.gap)
    if options.threads is not None:
        params["Threads"] = int(options.threads)
    if continuous_duals and not problem.is_mixed_integer:
        params["QCPDual"] = 1
        # The barrier's default QCP tolerance (1e-6) leaves ~5e-7 relative error on cones.
        params["BarQCPConvTol"] = 1e-9
    params.update(options.extra)
    for key, value in params.items():
        try:
            model.setParam(key, value)
        except Exception as err:  # gurobipy raises GurobiError for unknown names
            raise ParameterError(
                f"Gurobi rejected parameter {key}={value!r} ({err}); see the Gurobi parameter "
                "reference for valid names and values"
            ) from err


def _extract(
    model: Any,
    x: Any,
    rows: Any,
    problem: ConicProblem,
    code: int,
    version: str,
    build: float,
    solve: float,
) -> Result:
    has_sol = model.SolCount > 0
    status = map_status(code, has_sol)
    xv = np.asarray(x.X) if has_sol else None
    is_mip = bool(model.IsMIP)
    nodes = int(model.NodeCount) if is_mip else None
    duals: dict[str, np.ndarray] = {}
    dual_bound = None
    if status is Status.OPTIMAL and not is_mip:
        try:
            duals, dual_bound = conic_duals(problem, np.asarray(rows.Pi))
        except Exception:  # no duals for this model type
            duals = {}
    # ObjBound: the branch-and-bound bound of a MIP, the barrier/simplex dual objective of a
    # continuous model (Gurobi 13 reports it for both). QCP duals from QCPDual are looser
    # (3.6e-5 relative on the reference SOCP), so they only stand in when ObjBound is missing.
    bound = None
    if status.has_solution or status in (Status.TIME_LIMIT, Status.NODE_LIMIT):
        try:
            bound = float(model.ObjBound)
        except Exception:  # attribute unavailable (e.g. stopped before the root)
            bound = dual_bound
    return assemble_result(
        problem,
        status,
        solver="gurobi",
        version=version,
        x=xv,
        bound=bound,
        build_seconds=build,
        solve_seconds=solve,
        nodes=nodes,
        duals=duals,
        message=f"Gurobi status {code}",
        extra={"native_status": int(code)},
    )
