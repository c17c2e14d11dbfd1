"""FICO Xpress backend (the ``xpress`` Python API): LP, MILP, SOCP and MISOCP.

The conic problem is lowered by
:func:`~dro_opt.reformulations.soc_to_quadratic.lower_to_quadratic` (linear rows kept,
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
an open alternative. With ``SolveOptions.trajectory`` integer-solution and node-LP callbacks
record the bounds over time.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from dro_opt.conic.problem import BINARY, ConicProblem
from dro_opt.reformulations.soc_to_quadratic import QuadraticForm, lower_to_quadratic
from dro_opt.solvers._transforms import conic_duals
from dro_opt.solvers.base import Extracted, QuadraticLoweringBackend, Run
from dro_opt.solvers.catalogue import TRAITS
from dro_opt.solvers.status import Status
from dro_opt.solvers.trajectory import attach_xpress

# Optimizer error 120: "Problem has too many rows and columns. The maximum is N" (community limit).
LICENCE_ERRORS = TRAITS["xpress"].licence_error_codes

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


class XpressBackend(QuadraticLoweringBackend):
    """FICO Xpress through its Python API; see the module docstring for the lowering."""

    name = "xpress"

    def build(self, run: Run) -> None:
        import xpress as xp

        run.version = str(xp.__version__)
        form = run.state["form"] = lower_to_quadratic(run.problem, "Xpress")
        with _no_licence_warning(xp):
            run.model = xp.problem()  # initialises the library and its licence on first use
        run.model.setControl("outputlog", 1 if run.options.verbose else 0)
        _build(xp, run.model, run.problem, form)

    def default_parameters(self, run: Run) -> dict[str, Any]:
        controls: dict[str, Any] = {}
        quadratic = run.state["form"].num_quadratic > 0
        if run.problem.is_mixed_integer:
            # The default cutoff offset (-1e-5, absolute) makes the reported bound trail the
            # incumbent by 1e-5 whatever the requested gap.
            controls["mipaddcutoff"] = 0.0
            if quadratic:
                # Outer approximation accepts cone violations up to feastol (default 1e-6),
                # which showed as 2.4e-6 relative objective error on the reference MISOCP.
                controls["feastol"] = 1e-8
        elif quadratic:
            controls["bargapstop"] = 1e-10  # default 1e-8 relative gap; cones need tighter
        return controls

    def set_parameter(self, run: Run, name: str, value: Any) -> None:
        run.model.setControl(name, value)

    def attach_trajectory(self, run: Run) -> None:
        attach_xpress(run.model, run.recorder)  # mipobjval / bestbound: the model's sense

    def optimise(self, run: Run) -> None:
        import xpress as xp

        with _no_licence_warning(xp):
            run.state["answer"] = run.model.optimize()

    def extract(self, run: Run) -> Extracted:
        solvestatus, solstatus = run.state["answer"]
        return _extract(run.model, run.problem, run.state["form"], solvestatus, solstatus)

    def error_code(self, run: Run, exc: BaseException) -> int | None:
        if run.model is None:
            return None
        return int(run.model.attributes.errorcode)


@contextlib.contextmanager
def _no_licence_warning(xp: Any) -> Iterator[None]:
    """The wheel announces its community licence on first use; the limit is in the backend's
    ``size_limit`` and in any ``LICENSE_LIMIT`` message instead."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", getattr(xp, "LicenseWarning", Warning))
        yield


def _build(xp: Any, prob: Any, problem: ConicProblem, form: QuadraticForm) -> None:
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
        rowtype=np.concatenate([form.row_sense.astype("U1"), np.full(nq, "L")]),  # not a list
        rhs=np.concatenate([form.rhs, np.zeros(nq)]),
        rng=None,
        objcoef=form.c,
        start=csc.indptr.astype(np.int32 if csc.nnz < 2**31 else np.int64),
        collen=None,
        rowind=csc.indices.astype(np.int32),  # int32 indices measured ~15% faster than int64
        rowcoef=csc.data,
        lb=np.clip(form.lb, -inf, inf),
        ub=np.clip(form.ub, -inf, inf),
        qrowind=(m + np.arange(nq)) if nq else None,
        nrowqcoefs=counts if nq else None,
        rowqcol1=form.q_col1 if nq else None,
        rowqcol2=form.q_col2 if nq else None,
        rowqcoef=qcoef if nq else None,
        coltype=coltype.astype("U1") if ints.size else None,
        entind=ints if ints.size else None,
    )
    if problem.c0:
        prob.chgObj([-1], [-problem.c0])  # Xpress stores minus the objective constant
    sense = xp.ObjSense.MAXIMIZE if problem.sense == "max" else xp.ObjSense.MINIMIZE
    prob.chgObjSense(sense)


def _extract(
    prob: Any, problem: ConicProblem, form: QuadraticForm, solvestatus: Any, solstatus: Any
) -> Extracted:
    attrs = prob.attributes
    stop = int(attrs.stopstatus)
    status = map_status(int(solvestatus), int(solstatus), stop)
    has_sol = int(solstatus) in (1, 2)
    if status is Status.FEASIBLE and not has_sol:
        status = Status.UNKNOWN
    out = Extracted(
        status,
        x=np.asarray(prob.getSolution(), dtype=float) if has_sol and status.has_solution else None,
        message=f"Xpress solvestatus {int(solvestatus)}, solstatus {int(solstatus)}, stop {stop}",
        extra={"native_status": [int(solvestatus), int(solstatus), stop]},
    )
    m = form.A.shape[0]
    if problem.is_mixed_integer:
        out.nodes = int(attrs.nodes)
        if status.has_solution or status in (Status.TIME_LIMIT, Status.NODE_LIMIT):
            out.bound = float(attrs.bestbound)
    elif status is Status.OPTIMAL:
        # The bound of a continuous solve is the dual objective of the returned duals.
        try:
            pi = np.asarray(prob.getDuals(), dtype=float)[:m] if m else np.zeros(0)
            out.duals, out.bound = conic_duals(problem, pi)
        except Exception:  # duals unavailable for this solve: no bound either
            out.duals, out.bound = {}, None
    return out
