"""HiGHS backend (highspy): LP and MILP, loaded in bulk with ``Highs.passModel``.

The canonical rows ``A x + s = b`` with ``s`` in ``zero``/``nonneg`` cones are exactly HiGHS's
row form ``L <= A x <= U``: a ``zero`` row is ``A_i x = b_i``, a ``nonneg`` row
``A_i x <= b_i``. The CSR arrays of ``A``, the bounds, costs, integrality and the objective sense
and constant go to HiGHS in one ``passModel`` call (no Python loop per row or non-zero).
Second-order, exponential and power cones are not supported (HiGHS has no such constraints);
the registry refuses such models with ``CapabilityError``.

Results
-------
* ``objective`` = ``c'x + c0`` at the returned ``x`` (problem's own sense).
* ``bound``: for a MILP HiGHS's branch-and-bound dual bound (``mip_dual_bound``); for an LP solved
  to optimality the dual objective computed from HiGHS's row and column duals
  (``sum_i y_i side_i + sum_j d_j bound_j + c0``, the side being the one the dual's sign selects);
  a dual that would need an infinite side makes the bound ``None``.
* ``duals`` (LP only): HiGHS's row duals satisfy ``c - A'y = d`` in the problem's own sense; the
  conic dual of the minimisation form (the :class:`~dro_opt.solvers.result.Result` convention,
  ``z >= 0`` on ``nonneg`` rows) is ``z = -y`` for minimisation and ``z = y`` for maximisation.
* ``mip_rel_gap`` and ``mip_abs_gap`` are both set to ``options.gap``. HiGHS's relative gap is
  ``|p - d| / |p|``; since ``|p - d| / max(1, |p|)`` (dro_opt's gap) is at most both, HiGHS's
  "optimal" implies dro_opt's gap <= ``options.gap``.
* ``kUnboundedOrInfeasible`` from presolve is resolved by one re-solve without presolve; it is
  reported as ``INFEASIBLE_OR_UNBOUNDED`` only if HiGHS still cannot tell.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dro_opt.conic.problem import MAX, ConicProblem
from dro_opt.solvers._quiet import new_highs
from dro_opt.solvers._transforms import duals_by_block, finite_or_none, linear_sides, row_kinds
from dro_opt.solvers.base import Backend, Extracted, Run
from dro_opt.solvers.status import Status
from dro_opt.solvers.trajectory import attach_highs

# HighsModelStatus name -> Status (HiGHS 1.15 ``HighsModelStatus``).
STATUS_MAP: dict[str, Status] = {
    "kOptimal": Status.OPTIMAL,
    "kInfeasible": Status.INFEASIBLE,
    "kUnbounded": Status.UNBOUNDED,
    "kUnboundedOrInfeasible": Status.INFEASIBLE_OR_UNBOUNDED,
    "kTimeLimit": Status.TIME_LIMIT,
    "kIterationLimit": Status.ITERATION_LIMIT,
    "kSolutionLimit": Status.FEASIBLE,
    "kObjectiveBound": Status.FEASIBLE,
    "kObjectiveTarget": Status.FEASIBLE,
    "kInterrupt": Status.INTERRUPTED,
    "kHighsInterrupt": Status.INTERRUPTED,
    "kMemoryLimit": Status.ERROR,
    "kModelEmpty": Status.OPTIMAL,
    "kLoadError": Status.ERROR,
    "kModelError": Status.ERROR,
    "kPresolveError": Status.NUMERICAL_ERROR,
    "kSolveError": Status.NUMERICAL_ERROR,
    "kPostsolveError": Status.NUMERICAL_ERROR,
    "kNotset": Status.UNKNOWN,
    "kUnknown": Status.UNKNOWN,
}


def map_status(name: str) -> Status:
    """HiGHS model status name (e.g. ``"kOptimal"``) -> :class:`Status`; unknown -> ``UNKNOWN``."""
    return STATUS_MAP.get(name, Status.UNKNOWN)


class HighsBackend(Backend):
    """HiGHS: LP (simplex/IPM, with duals) and MILP (branch-and-cut, with a proven bound)."""

    name = "highs"

    def build(self, run: Run) -> None:
        import highspy

        run.model = h = new_highs(run.options.verbose)  # silent from construction on
        h.setOptionValue("output_flag", bool(run.options.verbose))
        h.setOptionValue("log_to_console", bool(run.options.verbose))
        pass_model(h, run.problem, highspy)

    def set_parameter(self, run: Run, name: str, value: Any) -> None:
        status = run.model.setOptionValue(name, value)
        if status.name != "kOk":
            raise ValueError(f"HiGHS answered {status.name}")

    def attach_trajectory(self, run: Run) -> None:
        # mip_primal/dual_bound are in the model's sense, objective offset included
        attach_highs(run.model, run.recorder)

    def optimise(self, run: Run) -> None:
        import highspy

        # HiGHS keeps one global thread scheduler: a later run asking for another thread count
        # fails (model status kNotset) unless the scheduler is reset first.
        highspy.Highs.resetGlobalScheduler(True)
        run.model.run()

    def undecided(self, run: Run) -> bool:
        return run.model.getModelStatus().name == "kUnboundedOrInfeasible"

    def resolve_decided(self, run: Run, time_left: float | None) -> None:
        h = run.model
        h.setOptionValue("presolve", "off")
        if time_left is not None:
            h.setOptionValue("time_limit", time_left)
        h.clearSolver()
        h.run()

    def extract(self, run: Run) -> Extracted:
        return _extract(run.model, run.problem, run.model.getModelStatus().name)


def pass_model(h: Any, problem: ConicProblem, highspy: Any) -> None:
    """Load the LP/MILP with one bulk ``passModel`` call (CSR arrays)."""
    A = problem.A
    kinds = row_kinds(problem.cones)
    lower, upper = linear_sides(kinds, problem.b)
    inf = highspy.kHighsInf
    sense = highspy.ObjSense.kMaximize if problem.sense == MAX else highspy.ObjSense.kMinimize
    integrality = (problem.vtype != 0).astype(np.int32)
    status = h.passModel(
        int(problem.n),
        int(problem.m),
        int(A.nnz),
        int(highspy.MatrixFormat.kRowwise),
        int(sense),
        float(problem.c0),
        np.ascontiguousarray(problem.c, dtype=np.float64),
        np.clip(problem.lb, -inf, inf),
        np.clip(problem.ub, -inf, inf),
        np.clip(lower, -inf, inf),
        np.clip(upper, -inf, inf),
        A.indptr.astype(np.int32),
        A.indices.astype(np.int32),
        np.ascontiguousarray(A.data, dtype=np.float64),
        integrality,
    )
    if status.name == "kError":
        raise RuntimeError("HiGHS passModel rejected the model data")


def _extract(h: Any, problem: ConicProblem, status_name: str) -> Extracted:
    info = h.getInfo()
    status = map_status(status_name)
    is_mip = problem.is_mixed_integer
    has_primal = int(info.primal_solution_status) == 2 or status_name == "kModelEmpty"
    out = Extracted(
        status,
        nodes=int(info.mip_node_count) if is_mip else None,
        extra={"native_status": status_name},
    )
    if status is Status.UNKNOWN and status_name not in STATUS_MAP:
        out.message = f"unrecognised HiGHS model status {status_name}"
    if has_primal and (status.has_solution or status is Status.UNKNOWN):
        out.x = np.asarray(h.getSolution().col_value, dtype=float)
        if status is Status.UNKNOWN:
            out.status = Status.FEASIBLE
    elif status is Status.FEASIBLE:
        out.status = Status.UNKNOWN
    if is_mip:
        if status in (
            Status.OPTIMAL,
            Status.TIME_LIMIT,
            Status.FEASIBLE,
            Status.INTERRUPTED,
            Status.ITERATION_LIMIT,
        ):
            out.bound = finite_or_none(info.mip_dual_bound, 1e30)
    elif status is Status.OPTIMAL and out.x is not None:
        sol = h.getSolution()
        y = np.asarray(sol.row_dual, dtype=float)
        d = np.asarray(sol.col_dual, dtype=float)
        out.bound = _lp_dual_objective(h, problem, y, d)
        sign = -1.0 if problem.sense == MAX else 1.0
        out.duals = duals_by_block(problem, -sign * y)
    return out


def _lp_dual_objective(h: Any, problem: ConicProblem, y: np.ndarray, d: np.ndarray) -> float | None:
    """Dual objective of the LP from HiGHS duals (``c - A'y = d``), in the problem's sense.

    For minimisation a row with ``y_i > 0`` is bounded below (its lower side is active) and one
    with ``y_i < 0`` above; maximisation mirrors the signs. The same holds for column duals and
    variable bounds. A non-negligible dual on an infinite side means no finite bound.
    """
    lp = h.getLp()
    lower = np.asarray(lp.row_lower_, dtype=float)
    upper = np.asarray(lp.row_upper_, dtype=float)
    sign = -1.0 if problem.sense == MAX else 1.0
    total = problem.c0
    tol = 1e-9
    for dual, lo, hi in ((y, lower, upper), (d, problem.lb, problem.ub)):
        side = np.where(sign * dual > 0, lo, hi)
        active = np.abs(dual) > tol
        if not np.isfinite(side[active]).all():
            return None
        total += float(dual[active] @ side[active])
    return total
