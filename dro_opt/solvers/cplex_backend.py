"""CPLEX backend (the ``cplex`` Python API): LP, MILP, SOCP and MISOCP via quadratic constraints.

The conic problem is lowered by :func:`~dro_opt.solvers._licence.lower_to_qcqp` (linear rows kept,
one slack per cone row, ``s_1:'s_1: - s_0^2 <= 0`` with ``s_0 >= 0`` for each second-order cone,
``s_2:'s_2: - 2 s_0 s_1 <= 0`` with ``s_0, s_1 >= 0`` for each rotated one; CPLEX recognises both
as cones). Columns go in with one ``variables.add`` call; the rows' ``lin_expr`` lists are sliced
from the CSR arrays (no loop per non-zero). The CPLEX API adds quadratic constraints one at a time,
so that step loops once per cone.

Exponential and power cones are not declared (CPLEX has neither).

Licence: the pip wheel is the Community Edition (at most 1000 variables and 1000 constraints,
linear and quadratic rows together); a larger model fails the solve with CPLEX error 1016
(CPXERR_RESTRICTED_VERSION), returned as ``Status.LICENSE_LIMIT`` with the limit and an open
alternative.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import numpy as np

from dro_opt.conic.problem import BINARY, ConicProblem
from dro_opt.errors import ParameterError
from dro_opt.solvers._licence import (
    CPLEX_LIMIT,
    QcqpForm,
    assemble_result,
    conic_duals,
    licence_result,
    lower_to_qcqp,
)
from dro_opt.solvers.base import BOUND, DUALS, INTEGER, MI_SOC, RSOC, SOC, Backend, SolveOptions
from dro_opt.solvers.result import Result
from dro_opt.solvers.status import Status

# CPXERR_RESTRICTED_VERSION: "Community Edition. Problem size limits exceeded."
LICENCE_ERRORS = frozenset({1016})

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


class CplexBackend(Backend):
    """IBM CPLEX through its Python API; see the module docstring for the lowering."""

    name = "cplex"
    module = "cplex"
    distribution = "cplex"
    open_source = False
    features = frozenset({INTEGER, SOC, RSOC, MI_SOC, DUALS, BOUND})
    license_limit = "<= 1000 variables and <= 1000 constraints (Community Edition)"

    def _solve(self, problem: ConicProblem, options: SolveOptions) -> Result:
        import cplex
        from cplex.exceptions import CplexError

        t0 = time.perf_counter()
        form = lower_to_qcqp(problem)
        cpx = cplex.Cplex()
        version = cpx.get_version()
        try:
            if not options.verbose:
                for setter in (
                    cpx.set_results_stream,
                    cpx.set_log_stream,
                    cpx.set_warning_stream,
                    cpx.set_error_stream,
                ):
                    setter(None)
            _build(cplex, cpx, problem, form)
            _set_params(cpx, problem, options, has_quadratic=form.num_quadratic > 0)
            build = time.perf_counter() - t0
            t1 = time.perf_counter()
            cpx.solve()
            code = cpx.solution.get_status()
            if map_status(code) is Status.INFEASIBLE_OR_UNBOUNDED:
                # Presolve's dual reductions could not tell which: re-solve without them.
                cpx.parameters.preprocessing.reduce.set(1)
                cpx.solve()
                code = cpx.solution.get_status()
            solve = time.perf_counter() - t1
            return _extract(cpx, problem, form, code, version, build, solve)
        except CplexError as err:
            build = time.perf_counter() - t0
            errno = err.args[2] if len(err.args) > 2 else None
            if errno in LICENCE_ERRORS:
                return licence_result(
                    CPLEX_LIMIT,
                    form.size(),
                    problem,
                    solver=self.name,
                    version=version,
                    code=errno,
                    native=str(err.args[0]),
                    build_seconds=build,
                )
            return Result(
                status=Status.ERROR,
                solver=self.name,
                solver_version=version,
                sense=problem.sense,
                build_seconds=build,
                message=f"CPLEX error {errno}: {err.args[0] if err.args else err}",
            )
        finally:
            cpx.end()


def _build(cplex: Any, cpx: Any, problem: ConicProblem, form: QcqpForm) -> None:
    """Load ``form`` into ``cpx``: columns in one call, rows sliced from the CSR arrays."""
    inf = cplex.infinity
    types = np.full(form.num_cols, "C")
    types[: form.n][problem.vtype != 0] = "I"
    types[: form.n][problem.vtype == BINARY] = "B"
    cpx.variables.add(
        obj=form.c.tolist(),
        lb=np.clip(form.lb, -inf, inf).tolist(),
        ub=np.clip(form.ub, -inf, inf).tolist(),
        types="".join(types) if (problem.vtype != 0).any() else "",
    )
    sense = cpx.objective.sense
    cpx.objective.set_sense(sense.maximize if problem.sense == "max" else sense.minimize)
    cpx.objective.set_offset(problem.c0)
    A = form.A.tocsr()
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


def _set_params(
    cpx: Any, problem: ConicProblem, options: SolveOptions, has_quadratic: bool
) -> None:
    prm = cpx.parameters
    if options.time_limit is not None:
        prm.timelimit.set(float(options.time_limit))
    if options.gap is not None:
        prm.mip.tolerances.mipgap.set(float(options.gap))
    if options.threads is not None:
        prm.threads.set(int(options.threads))
    if has_quadratic:
        prm.barrier.qcpconvergetol.set(1e-9)  # default 1e-7 leaves ~1e-7 relative error
        if not problem.is_mixed_integer:
            prm.preprocessing.qcpduals.set(2)  # compute QCP duals
    for key, value in options.extra.items():
        try:
            node = prm
            for part in str(key).split("."):
                node = getattr(node, part)
            node.set(value)
        except Exception as err:
            raise ParameterError(
                f"CPLEX rejected parameter {key}={value!r} ({err}); give a dotted parameter path "
                "such as 'mip.tolerances.absmipgap'"
            ) from err


def _extract(
    cpx: Any,
    problem: ConicProblem,
    form: QcqpForm,
    code: int,
    version: str,
    build: float,
    solve: float,
) -> Result:
    sol = cpx.solution
    status = map_status(code)
    has_sol = sol.get_solution_type() != sol.type.none
    if status is Status.FEASIBLE and not has_sol:
        status = Status.UNKNOWN
    is_mip = problem.is_mixed_integer
    x = np.asarray(sol.get_values(), dtype=float) if has_sol and status.has_solution else None
    bound = None
    nodes = None
    if is_mip:
        nodes = int(sol.progress.get_num_nodes_processed())
        if status.has_solution or status in (Status.TIME_LIMIT, Status.NODE_LIMIT):
            try:
                bound = float(sol.MIP.get_best_objective())
            except Exception:  # no bound available (e.g. stopped before the root)
                bound = None
    duals = {}
    if status is Status.OPTIMAL and not is_mip:
        # The bound of a continuous solve is the dual objective of the returned duals.
        try:
            pi = np.asarray(sol.get_dual_values(), dtype=float) if form.A.shape[0] else []
            duals, bound = conic_duals(problem, np.asarray(pi, dtype=float))
        except Exception:  # duals unavailable for this solve: no bound either
            duals, bound = {}, None
    return assemble_result(
        problem,
        status,
        solver="cplex",
        version=version,
        x=x,
        bound=bound,
        build_seconds=build,
        solve_seconds=solve,
        nodes=nodes,
        duals=duals,
        message=f"CPLEX status {code}: {sol.get_status_string()}",
        extra={"native_status": int(code)},
    )
