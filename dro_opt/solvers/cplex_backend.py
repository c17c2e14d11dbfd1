"""CPLEX backend (the ``cplex`` Python API): LP, MILP, SOCP and MISOCP via quadratic constraints.

The conic problem is lowered by
:func:`~dro_opt.reformulations.soc_to_quadratic.lower_to_quadratic` (linear rows kept,
one slack per cone row, ``s_1:'s_1: - s_0^2 <= 0`` with ``s_0 >= 0`` for each second-order cone,
``s_2:'s_2: - 2 s_0 s_1 <= 0`` with ``s_0, s_1 >= 0`` for each rotated one; CPLEX recognises both
as cones). Columns and rows go in from the CSR arrays with one call each to CPLEX's C library
(:mod:`dro_opt.solvers._cplex_bulk`; the Python API's per-row lists where that library cannot be
used); quadratic constraints are added one call per cone (CPLEX has no bulk call for them).

Exponential and power cones are not declared (CPLEX has neither).

Licence: the pip wheel is the Community Edition (at most 1000 variables and 1000 constraints,
linear and quadratic rows together); a larger model fails the solve with CPLEX error 1016
(CPXERR_RESTRICTED_VERSION), returned as ``Status.LICENSE_LIMIT`` with the limit and an open
alternative. With ``SolveOptions.trajectory`` a legacy ``MIPInfoCallback`` records the bounds
over time.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from dro_opt.conic.problem import BINARY, ConicProblem
from dro_opt.reformulations.soc_to_quadratic import QuadraticForm, lower_to_quadratic
from dro_opt.solvers._cplex_bulk import cplex_library, load_flat
from dro_opt.solvers._transforms import conic_duals
from dro_opt.solvers.base import Extracted, QuadraticLoweringBackend, Run
from dro_opt.solvers.catalogue import TRAITS
from dro_opt.solvers.status import Status
from dro_opt.solvers.trajectory import attach_cplex

# CPXERR_RESTRICTED_VERSION: "Community Edition. Problem size limits exceeded."
LICENCE_ERRORS = TRAITS["cplex"].licence_error_codes

# cplex.Cplex().solution.status codes -> Status (CPLEX 22.1 "Solution status codes").
STATUS_MAP = {
    1: Status.OPTIMAL,
    2: Status.UNBOUNDED,
    3: Status.INFEASIBLE,
    4: Status.INFEASIBLE_OR_UNBOUNDED,
    5: Status.NUMERICAL_ERROR,  # optimal with unscaled infeasibilities
    6: Status.NUMERICAL_ERROR,  # num_best: no further progress for numerical reasons
    10: Status.ITERATION_LIMIT,
    11: Status.TIME_LIMIT,
    12: Status.FEASIBLE,  # objective limit
    13: Status.INTERRUPTED,
    20: Status.OPTIMAL,  # optimal face unbounded: the objective value is optimal
    21: Status.FEASIBLE,  # primal objective limit
    22: Status.FEASIBLE,  # dual objective limit
    23: Status.FEASIBLE,
    24: Status.FEASIBLE,  # first-order optimal (non-convex QP)
    25: Status.TIME_LIMIT,  # deterministic time limit
    101: Status.OPTIMAL,
    102: Status.OPTIMAL,  # optimal within the relative/absolute gap tolerance
    103: Status.INFEASIBLE,
    104: Status.FEASIBLE,  # solution limit
    105: Status.NODE_LIMIT,
    106: Status.NODE_LIMIT,
    107: Status.TIME_LIMIT,
    108: Status.TIME_LIMIT,
    109: Status.ERROR,
    110: Status.ERROR,
    111: Status.ERROR,  # memory limit, feasible
    112: Status.ERROR,
    113: Status.INTERRUPTED,
    114: Status.INTERRUPTED,
    115: Status.NUMERICAL_ERROR,  # optimal with unscaled infeasibilities
    116: Status.ERROR,
    117: Status.ERROR,
    118: Status.UNBOUNDED,
    119: Status.INFEASIBLE_OR_UNBOUNDED,
    131: Status.TIME_LIMIT,
    132: Status.TIME_LIMIT,
}


def map_status(code: int) -> Status:
    """CPLEX solution status -> :class:`Status`; unknown codes give ``UNKNOWN``."""
    return STATUS_MAP.get(int(code), Status.UNKNOWN)


class CplexBackend(QuadraticLoweringBackend):
    """IBM CPLEX through its Python API; see the module docstring for the lowering."""

    name = "cplex"
    bulk_route = True  # load through CPLEX's C functions where possible (_cplex_bulk)

    def build(self, run: Run) -> None:
        import cplex

        form = run.state["form"] = lower_to_quadratic(run.problem, "CPLEX")
        run.model = cpx = cplex.Cplex()
        run.version = cpx.get_version()
        if not run.options.verbose:
            for setter in (
                cpx.set_results_stream,
                cpx.set_log_stream,
                cpx.set_warning_stream,
                cpx.set_error_stream,
            ):
                setter(None)
        _build(cplex, cpx, run.problem, form)

    def default_parameters(self, run: Run) -> dict[str, Any]:
        if not run.state["form"].num_quadratic:
            return {}
        params: dict[str, Any] = {"barrier.qcpconvergetol": 1e-9}  # default 1e-7: ~1e-7 error
        if not run.problem.is_mixed_integer:
            params["preprocessing.qcpduals"] = 2  # compute QCP duals
        return params

    def set_parameter(self, run: Run, name: str, value: Any) -> None:
        node = run.model.parameters
        for part in name.split("."):
            node = getattr(node, part)
        node.set(value)

    def attach_trajectory(self, run: Run) -> None:
        attach_cplex(run.model, run.recorder)  # incumbent and bound in the model's sense

    def optimise(self, run: Run) -> None:
        run.model.solve()

    def undecided(self, run: Run) -> bool:
        """An "infeasible or unbounded" answer, or an unbounded ray without a feasible point
        (CPLEX's status 2/118 means only that a ray exists: measured on an infeasible LP with a
        free ray)."""
        sol = run.model.solution
        status = map_status(sol.get_status())
        if status is Status.INFEASIBLE_OR_UNBOUNDED:
            return True
        return status is Status.UNBOUNDED and not _primal_feasible(sol)

    def resolve_decided(self, run: Run, time_left: float | None) -> None:
        """Decide by feasibility alone: the same rows with a zero objective, no presolve. A
        feasible point plus the ray is unbounded; no feasible point is infeasible."""
        cpx = run.model
        prm = cpx.parameters
        prm.preprocessing.presolve.set(0)
        if time_left is not None:
            prm.timelimit.set(time_left)
        cpx.objective.set_linear([(j, 0.0) for j in range(cpx.variables.get_num())])
        cpx.solve()
        status = map_status(cpx.solution.get_status())
        if status is Status.INFEASIBLE:
            run.state["decided"] = Status.INFEASIBLE
        elif _primal_feasible(cpx.solution):
            run.state["decided"] = Status.UNBOUNDED
        else:
            run.state["decided"] = Status.INFEASIBLE_OR_UNBOUNDED

    def extract(self, run: Run) -> Extracted:
        decided = run.state.get("decided")
        if decided is not None:
            code = int(run.model.solution.get_status())
            return Extracted(decided, message=f"feasibility re-solve: CPLEX status {code}")
        return _extract(run.model, run.problem, run.state["form"])

    def error_code(self, run: Run, exc: BaseException) -> int | None:
        args = getattr(exc, "args", ())
        return int(args[2]) if len(args) > 2 and isinstance(args[2], int) else None

    def dispose(self, run: Run) -> None:
        if run.model is not None:
            run.model.end()


def _build(cplex: Any, cpx: Any, problem: ConicProblem, form: QuadraticForm) -> None:
    """Load ``form`` into ``cpx``: through CPLEX's C functions from the CSR arrays
    (:mod:`dro_opt.solvers._cplex_bulk`) where that library is usable, else through the Python
    API (columns in one call, rows as per-row lists sliced from the CSR arrays)."""
    inf = cplex.infinity
    types = np.full(form.num_cols, "C")
    types[: form.n][problem.vtype != 0] = "I"
    types[: form.n][problem.vtype == BINARY] = "B"
    is_mip = bool((problem.vtype != 0).any())
    lb, ub = np.clip(form.lb, -inf, inf), np.clip(form.ub, -inf, inf)
    sense = cpx.objective.sense
    cpx.objective.set_sense(sense.maximize if problem.sense == "max" else sense.minimize)
    cpx.objective.set_offset(problem.c0)
    A = form.A.tocsr()
    lib = cplex_library() if CplexBackend.bulk_route else None
    if lib is not None:
        load_flat(
            lib,
            cpx,
            (form.c, lb, ub, "".join(types).encode() if is_mip else None),
            (A, "".join(form.row_sense).encode(), form.rhs),
            (form.q_start, form.q_col1, form.q_col2, form.q_val),
        )
        return
    cpx.variables.add(
        obj=form.c.tolist(), lb=lb.tolist(), ub=ub.tolist(), types="".join(types) if is_mip else ""
    )
    ind, val, ptr = A.indices.tolist(), A.data.tolist(), A.indptr.tolist()
    lin_expr = [[ind[a:b], val[a:b]] for a, b in itertools.pairwise(ptr)]
    if lin_expr:
        cpx.linear_constraints.add(
            lin_expr=lin_expr, senses="".join(form.row_sense), rhs=form.rhs.tolist()
        )
    c1, c2, qv, qs = form.q_col1.tolist(), form.q_col2.tolist(), form.q_val.tolist(), form.q_start
    for q in range(form.num_quadratic):  # the API has no bulk add for quadratic constraints
        a, b = int(qs[q]), int(qs[q + 1])
        cpx.quadratic_constraints.add(
            quad_expr=cplex.SparseTriple(c1[a:b], c2[a:b], qv[a:b]), sense="L", rhs=0.0
        )


def _primal_feasible(sol: Any) -> bool:
    try:
        return bool(sol.is_primal_feasible())
    except Exception:  # no solution information at all
        return False


def _extract(cpx: Any, problem: ConicProblem, form: QuadraticForm) -> Extracted:
    sol = cpx.solution
    code = int(sol.get_status())
    status = map_status(code)
    has_sol = sol.get_solution_type() != sol.type.none
    if status is Status.FEASIBLE and not has_sol:
        status = Status.UNKNOWN
    is_mip = problem.is_mixed_integer
    out = Extracted(
        status,
        x=np.asarray(sol.get_values(), dtype=float) if has_sol and status.has_solution else None,
        message=f"CPLEX status {code}: {sol.get_status_string()}",
        extra={"native_status": code},
    )
    if is_mip:
        out.nodes = int(sol.progress.get_num_nodes_processed())
        if status.has_solution or status in (Status.TIME_LIMIT, Status.NODE_LIMIT):
            try:
                out.bound = float(sol.MIP.get_best_objective())
            except Exception:  # no bound available (e.g. stopped before the root)
                out.bound = None
    elif status is Status.OPTIMAL:
        # The bound of a continuous solve is the dual objective of the returned duals.
        try:
            pi = sol.get_dual_values() if form.A.shape[0] else []
            out.duals, out.bound = conic_duals(problem, np.asarray(pi, dtype=float))
        except Exception:  # duals unavailable for this solve: no bound either
            out.duals, out.bound = {}, None
    return out
