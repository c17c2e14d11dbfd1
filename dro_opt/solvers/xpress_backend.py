"""FICO Xpress backend (the ``xpress`` Python API): LP, MILP, SOCP and MISOCP.

The conic problem is lowered by :func:`~dro_opt.solvers._licence.lower_to_qcqp` (linear rows kept,
one slack per cone row, ``s_1:'s_1: - s_0^2 <= 0`` with ``s_0 >= 0`` per second-order cone,
``s_2:'s_2: - 2 s_0 s_1 <= 0`` with ``s_0, s_1 >= 0`` per rotated cone) and loaded with one
``loadMIQCQP`` call from CSC arrays and quadratic triplets (Xpress reads the triplets as the upper
triangle of a symmetric matrix, so off-diagonal coefficients are halved) -- nothing loops per cone
or per non-zero.

Exponential and power cones are not declared: Xpress reaches them only through its nonlinear
(SLP/global) solver, not as exact cones.

Licence: without a licence file the wheel runs under the community licence (rows + columns at most
5000; at most 200 once a quadratic term is present). A larger model fails with Xpress error 120
("Problem has too many rows and columns"), returned as ``Status.LICENSE_LIMIT`` with the limit and
an open alternative.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from dro_opt.conic.problem import BINARY, ConicProblem
from dro_opt.errors import ParameterError
from dro_opt.solvers._licence import (
    XPRESS_LIMIT,
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

# Optimizer error 120: "Problem has too many rows and columns. The maximum is N" (community limit).
LICENCE_ERRORS = frozenset({120})

# xpress.StopType values (stopstatus attribute) -> Status, for solves that stopped early.
STOP_MAP = {
    1: Status.TIME_LIMIT,
    2: Status.INTERRUPTED,  # ctrl-c
    3: Status.NODE_LIMIT,
    4: Status.ITERATION_LIMIT,
    5: Status.OPTIMAL,  # MIP gap reached: optimal within the requested gap
    6: Status.FEASIBLE,  # solution limit
    7: Status.ERROR,
    8: Status.ERROR,  # memory
    9: Status.INTERRUPTED,  # user
    11: Status.LICENSE_LIMIT,  # licence lost
    13: Status.NUMERICAL_ERROR,
    14: Status.TIME_LIMIT,  # work limit
}


def map_status(solvestatus: int, solstatus: int, stopstatus: int) -> Status:
    """Xpress (SolveStatus, SolStatus, StopType) -> :class:`Status`; unknown -> ``UNKNOWN``.

    SolStatus: 0 not found, 1 optimal, 2 feasible, 3 infeasible, 4 unbounded.
    SolveStatus: 0 unstarted, 1 stopped, 2 failed, 3 completed.
    """
    sol = int(solstatus)
    if sol == 1:
        return Status.OPTIMAL
    if sol == 3:
        return Status.INFEASIBLE
    if sol == 4:
        return Status.UNBOUNDED
    if int(solvestatus) == 2:
        return Status.ERROR
    if int(solvestatus) == 1 or int(stopstatus) != 0:
        status = STOP_MAP.get(int(stopstatus), Status.UNKNOWN)
        if status is Status.OPTIMAL and sol != 2:
            return Status.UNKNOWN
        return status
    if sol == 2:
        return Status.FEASIBLE
    return Status.UNKNOWN


class XpressBackend(Backend):
    """FICO Xpress through its Python API; see the module docstring for the lowering."""

    name = "xpress"
    module = "xpress"
    distribution = "xpress"
    open_source = False
    features = frozenset({INTEGER, SOC, RSOC, MI_SOC, DUALS, BOUND})
    license_limit = "<= 5000 rows plus columns (<= 200 with quadratic terms), community licence"

    def availability(self) -> Availability:
        base = super().availability()
        if not base.installed:
            return base
        found = licence_file(("XPAUTH_PATH",), ())
        if found:
            lic = f"licence file {found} (not checked out; limits depend on it)"
            return Availability(True, base.version, lic, None)
        return base

    def _solve(self, problem: ConicProblem, options: SolveOptions) -> Result:
        import xpress as xp

        t0 = time.perf_counter()
        form = lower_to_qcqp(problem)
        version = None
        with warnings.catch_warnings():
            # The wheel announces its community licence on first use; the limit is in the
            # backend's license_limit and in any LICENSE_LIMIT message instead.
            warnings.simplefilter("ignore", getattr(xp, "LicenseWarning", Warning))
            version = str(xp.__version__)
            try:
                prob = xp.problem()  # initialises the library and its licence on first use
            except Exception as err:  # e.g. an unreadable licence file named by XPAUTH_PATH
                return Result(
                    status=Status.ERROR,
                    solver=self.name,
                    solver_version=version,
                    sense=problem.sense,
                    message=f"Xpress could not start: {' '.join(str(err).split())}",
                )
            prob.setControl("outputlog", 1 if options.verbose else 0)
            try:
                _build(xp, prob, problem, form)
                _set_params(prob, problem, options, form.num_quadratic > 0)
                build = time.perf_counter() - t0
                t1 = time.perf_counter()
                solvestatus, solstatus = prob.optimize()
                solve = time.perf_counter() - t1
            except xp.SolverError as err:
                build = time.perf_counter() - t0
                code = int(prob.attributes.errorcode)
                if code in LICENCE_ERRORS:
                    return licence_result(
                        XPRESS_LIMIT,
                        form.size(),
                        problem,
                        solver=self.name,
                        version=version,
                        code=code,
                        native=str(err),
                        build_seconds=build,
                    )
                return Result(
                    status=Status.ERROR,
                    solver=self.name,
                    solver_version=version,
                    sense=problem.sense,
                    build_seconds=build,
                    message=f"Xpress error {code}: {err}",
                )
            return _extract(prob, problem, form, solvestatus, solstatus, version, build, solve)


def _build(xp: Any, prob: Any, problem: ConicProblem, form: QcqpForm) -> None:
    """One ``loadMIQCQP`` call: CSC columns, quadratic rows as extra 'L' rows with rhs 0."""
    inf = xp.infinity
    m, nq = form.A.shape[0], form.num_quadratic
    csc = form.A.tocsc()
    csc.sort_indices()
    ints = np.flatnonzero(form.integer)
    coltype = np.where(problem.vtype[ints] == BINARY, "B", "I")
    counts = np.diff(form.q_start)
    # x'Qx with Q given by its upper triangle: an off-diagonal entry v contributes 2 v x_i x_j.
    qcoef = np.where(form.q_col1 == form.q_col2, form.q_val, 0.5 * form.q_val)
    prob.loadMIQCQP(
        probname=problem.name,
        rowtype=list(form.row_sense) + ["L"] * nq,
        rhs=np.concatenate([form.rhs, np.zeros(nq)]),
        rng=None,
        objcoef=form.c,
        start=csc.indptr.astype(np.int64),
        collen=None,
        rowind=csc.indices.astype(np.int64),
        rowcoef=csc.data,
        lb=np.clip(form.lb, -inf, inf),
        ub=np.clip(form.ub, -inf, inf),
        qrowind=(m + np.arange(nq)) if nq else None,
        nrowqcoefs=counts if nq else None,
        rowqcol1=form.q_col1 if nq else None,
        rowqcol2=form.q_col2 if nq else None,
        rowqcoef=qcoef if nq else None,
        coltype=list(coltype) if ints.size else None,
        entind=ints if ints.size else None,
    )
    if problem.c0:
        prob.chgObj([-1], [-problem.c0])  # Xpress stores minus the objective constant
    sense = xp.ObjSense.MAXIMIZE if problem.sense == "max" else xp.ObjSense.MINIMIZE
    prob.chgObjSense(sense)


def _set_params(prob: Any, problem: ConicProblem, options: SolveOptions, quadratic: bool) -> None:
    controls: dict[str, Any] = {"outputlog": 1 if options.verbose else 0}
    if options.time_limit is not None:
        controls["timelimit"] = float(options.time_limit)
    if options.gap is not None:
        controls["miprelstop"] = float(options.gap)
    if options.threads is not None:
        controls["threads"] = int(options.threads)
    if problem.is_mixed_integer:
        # The default cutoff offset (-1e-5, absolute) makes the reported bound trail the
        # incumbent by 1e-5 whatever the requested gap.
        controls["mipaddcutoff"] = 0.0
        if quadratic:
            # Outer approximation accepts cone violations up to feastol (default 1e-6), which
            # showed as 2.4e-6 relative objective error on the reference MISOCP; 1e-8: 1.5e-7.
            controls["feastol"] = 1e-8
    elif quadratic:
        controls["bargapstop"] = 1e-10  # default 1e-8 relative gap; cones need tighter
    controls.update(options.extra)
    for key, value in controls.items():
        try:
            prob.setControl(key, value)
        except Exception as err:
            raise ParameterError(
                f"Xpress rejected control {key}={value!r} ({err}); see the Xpress controls "
                "reference for valid names and values"
            ) from err


def _extract(
    prob: Any,
    problem: ConicProblem,
    form: QcqpForm,
    solvestatus: Any,
    solstatus: Any,
    version: str,
    build: float,
    solve: float,
) -> Result:
    attrs = prob.attributes
    stop = int(attrs.stopstatus)
    status = map_status(int(solvestatus), int(solstatus), stop)
    is_mip = problem.is_mixed_integer
    has_sol = int(solstatus) in (1, 2)
    if status is Status.FEASIBLE and not has_sol:
        status = Status.UNKNOWN
    x = np.asarray(prob.getSolution(), dtype=float) if has_sol and status.has_solution else None
    bound = None
    nodes = None
    if is_mip:
        nodes = int(attrs.nodes)
        if status.has_solution or status in (Status.TIME_LIMIT, Status.NODE_LIMIT):
            bound = float(attrs.bestbound)
    duals = {}
    m = form.A.shape[0]
    if status is Status.OPTIMAL and not is_mip:
        # The bound of a continuous solve is the dual objective of the returned duals.
        try:
            pi = np.asarray(prob.getDuals(), dtype=float)[:m] if m else np.zeros(0)
            duals, bound = conic_duals(problem, pi)
        except Exception:  # duals unavailable for this solve: no bound either
            duals, bound = {}, None
    return assemble_result(
        problem,
        status,
        solver="xpress",
        version=version,
        x=x,
        bound=bound,
        build_seconds=build,
        solve_seconds=solve,
        nodes=nodes,
        duals=duals,
        message=f"Xpress solvestatus {int(solvestatus)}, solstatus {int(solstatus)}, stop {stop}",
        extra={"native_status": [int(solvestatus), int(solstatus), stop]},
    )
