"""MOSEK backend (Task API): LP, MILP, SOCP, rotated SOCP, exponential and power cones, each also
with integers.

The canonical rows map one to one onto MOSEK's own conic form
(docs/conventions.md, 'Canonical conic form'):

* zero / nonneg rows ``A_i x + s_i = b_i`` become linear constraints ``A_i x = b_i`` /
  ``A_i x <= b_i`` (``putaijlist``, ``putconboundslice``);
* every other cone block becomes affine expressions ``F x + g = b - A x`` (``appendafes``,
  ``putafefentrylist``, ``putafegslice``) in affine conic constraints (``appendaccsseq``), one
  domain per cone run: ``appendquadraticconedomain`` (SOC), ``appendrquadraticconedomain`` (rotated,
  ``2 s_0 s_1 >= ||s_2:||^2`` as ours), ``appendprimalexpconedomain`` (MOSEK's
  ``x_1 >= x_2 exp(x_3 / x_2)``, i.e. our ``(x, y, z)`` in the order ``(z, y, x)``: the AFE rows of
  each exponential cone are reversed), ``appendprimalpowerconedomain(3, [a, 1 - a])``.

Everything is loaded with slice/list calls on whole arrays; nothing loops per cone or non-zero.

Licence: MOSEK needs a licence file (``MOSEKLM_LICENSE_FILE`` or ``~/mosek/mosek.lic``) for
every optimisation; without one ``optimize`` fails with error 1008
(``MSK_RES_ERR_MISSING_LICENSE_FILE``) and the solve returns ``Status.LICENSE_LIMIT`` naming an
open alternative. Building and writing a task (``.ptf``/``.cbf``/``.mps``) needs no licence:
:meth:`MosekBackend.write_task` does that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dro_opt.conic import cones as K
from dro_opt.conic.problem import ConicProblem
from dro_opt.solvers._transforms import conic_duals
from dro_opt.solvers.base import Backend, Extracted, Run
from dro_opt.solvers.status import Status


class MosekBackend(Backend):
    """MOSEK through its Task API; see the module docstring for the mapping."""

    name = "mosek"

    # ---------------------------------------------------------------- files
    def write_task(self, problem: ConicProblem, path: str | Path) -> Path:
        """Build the MOSEK task for ``problem`` and write it (format by suffix: .ptf, .cbf,
        .mps, .task, ...). Needs no licence."""
        import mosek

        self.check(problem)
        path = Path(path)
        with mosek.Env() as env, env.Task() as task:
            _build(mosek, task, problem)
            task.writedata(str(path))
        return path

    # ---------------------------------------------------------------- hooks
    def build(self, run: Run) -> None:
        import mosek

        run.version = ".".join(map(str, mosek.Env.getversion()))
        env = run.state["env"] = mosek.Env()
        run.model = task = env.Task()
        if run.options.verbose:
            task.set_Stream(mosek.streamtype.log, lambda text: print(text, end=""))
        else:
            task.putintparam(mosek.iparam.log, 0)
        run.state["layout"] = _build(mosek, task, run.problem)

    def set_parameter(self, run: Run, name: str, value: Any) -> None:
        run.model.putparam(name, str(value))

    def optimise(self, run: Run) -> None:
        run.state["trm"] = run.model.optimize()

    def extract(self, run: Run) -> Extracted:
        import mosek

        return _extract(mosek, run.model, run.problem, run.state["layout"], run.state["trm"])

    def dispose(self, run: Run) -> None:
        for obj in (run.model, run.state.get("env")):  # task first, then its environment
            if obj is not None:
                obj.__exit__(None, None, None)


class _Layout:
    """Where each canonical row went: linear constraint index or AFE index (-1 = not there)."""

    def __init__(self, con_of_row: np.ndarray, afe_of_row: np.ndarray) -> None:
        self.con_of_row = con_of_row
        self.afe_of_row = afe_of_row


def _build(mosek: Any, task: Any, problem: ConicProblem) -> _Layout:
    """Load ``problem`` into ``task`` (see the module docstring)."""
    n, m = problem.n, problem.m
    bk = mosek.boundkey
    lb, ub = problem.lb, problem.ub
    has_lo, has_up = np.isfinite(lb), np.isfinite(ub)
    keys = np.select(
        [has_lo & has_up & (lb == ub), has_lo & has_up, has_lo, has_up],
        [4, 3, 1, 2],
        default=0,
    )
    key_of = np.array([bk.fr, bk.lo, bk.up, bk.ra, bk.fx], dtype=object)
    task.appendvars(n)
    task.putvarboundslice(
        0, n, list(key_of[keys]), np.where(has_lo, lb, 0.0), np.where(has_up, ub, 0.0)
    )
    task.putcslice(0, n, problem.c)
    task.putcfix(problem.c0)
    task.putobjsense(mosek.objsense.maximize if problem.sense == "max" else mosek.objsense.minimize)
    ints = np.flatnonzero(problem.integer_mask)
    if ints.size:
        task.putvartypelist(ints.astype(np.int32), [mosek.variabletype.type_int] * ints.size)

    offsets = problem.row_offsets()
    kind_of_row = np.empty(m, dtype=object)
    for run, start in zip(problem.cones, offsets[:-1], strict=True):
        kind_of_row[int(start) : int(start) + run.rows] = run.kind
    linear = np.isin(kind_of_row, [K.ZERO, K.NONNEG]) if m else np.zeros(0, dtype=bool)
    lin_rows = np.flatnonzero(linear)
    cone_rows = np.flatnonzero(~linear)
    con_of_row = np.full(m, -1, dtype=np.int64)
    con_of_row[lin_rows] = np.arange(lin_rows.size)

    # Linear constraints A_i x (= | <=) b_i.
    if lin_rows.size:
        A_lin = problem.A[lin_rows].tocoo()
        task.appendcons(lin_rows.size)
        task.putaijlist(A_lin.row.astype(np.int32), A_lin.col.astype(np.int32), A_lin.data)
        b_lin = problem.b[lin_rows]
        is_eq = kind_of_row[lin_rows] == K.ZERO
        task.putconboundslice(
            0,
            lin_rows.size,
            list(np.where(is_eq, bk.fx, bk.up)),
            np.where(is_eq, b_lin, -np.inf),
            b_lin,
        )

    # Affine conic constraints: AFE k holds (b - A x) of cone row cone_rows[perm[k]].
    afe_of_row = np.full(m, -1, dtype=np.int64)
    if cone_rows.size:
        order = []
        domains = []
        for run, start in zip(problem.cones, offsets[:-1], strict=True):
            if run.kind in (K.ZERO, K.NONNEG):
                continue
            rows = int(start) + np.arange(run.rows).reshape(run.count, run.dim)
            if run.kind == K.EXP:
                rows = rows[:, ::-1]  # (x, y, z) -> MOSEK's (z, y, x)
                dom = task.appendprimalexpconedomain()
            elif run.kind == K.SOC:
                dom = task.appendquadraticconedomain(run.dim)
            elif run.kind == K.RSOC:
                dom = task.appendrquadraticconedomain(run.dim)
            elif run.kind == K.POW:
                a = float(run.param)
                dom = task.appendprimalpowerconedomain(3, [a, 1.0 - a])
            else:  # pragma: no cover - validate_run rejects other kinds
                raise ValueError(f"unknown cone kind {run.kind}")
            order.append(rows.ravel())
            domains.append(np.full(run.count, dom, dtype=np.int64))
        perm = np.concatenate(order)  # AFE k <- canonical row perm[k]
        afe_of_row[perm] = np.arange(perm.size)
        A_cone = problem.A[perm].tocoo()
        task.appendafes(perm.size)
        task.putafefentrylist(
            A_cone.row.astype(np.int64), A_cone.col.astype(np.int32), -A_cone.data
        )
        task.putafegslice(0, perm.size, problem.b[perm])
        task.appendaccsseq(np.concatenate(domains), perm.size, 0, None)
    return _Layout(con_of_row, afe_of_row)


# Termination codes -> Status when the solution status itself says nothing definite.
_TRM_STATUS = {
    "trm_max_time": Status.TIME_LIMIT,
    "trm_server_max_time": Status.TIME_LIMIT,
    "trm_max_iterations": Status.ITERATION_LIMIT,
    "trm_mio_num_branches": Status.NODE_LIMIT,
    "trm_mio_num_relaxs": Status.NODE_LIMIT,
    "trm_num_max_num_int_solutions": Status.FEASIBLE,
    "trm_stall": Status.NUMERICAL_ERROR,
    "trm_numerical_problem": Status.NUMERICAL_ERROR,
    "trm_user_callback": Status.INTERRUPTED,
    "trm_internal_stop": Status.INTERRUPTED,
}


def map_status(solsta: Any, trm: Any, prosta: Any = None) -> Status:
    """MOSEK (solution status, termination code, problem status) -> :class:`Status`; unknown
    combinations give ``UNKNOWN``. Integer problems report infeasibility through the problem
    status (their solution status stays ``unknown``)."""
    name = str(solsta).rsplit(".", 1)[-1]
    pro = str(prosta).rsplit(".", 1)[-1]
    if name in ("optimal", "integer_optimal"):
        return Status.OPTIMAL
    if name == "prim_infeas_cer" or pro == "prim_infeas":
        return Status.INFEASIBLE
    if name == "dual_infeas_cer" or pro == "dual_infeas":
        return Status.UNBOUNDED
    if pro == "prim_infeas_or_unbounded":
        return Status.INFEASIBLE_OR_UNBOUNDED
    by_trm = _TRM_STATUS.get(str(trm).rsplit(".", 1)[-1])
    if by_trm is not None:
        return by_trm
    if name in ("prim_feas", "prim_and_dual_feas"):
        return Status.FEASIBLE
    return Status.UNKNOWN


def _extract(mosek: Any, task: Any, problem: ConicProblem, layout: _Layout, trm: Any) -> Extracted:
    st = mosek.soltype
    if problem.is_mixed_integer:
        sol = st.itg
    elif task.solutiondef(st.bas):
        sol = st.bas
    else:
        sol = st.itr
    if not task.solutiondef(sol):
        status = map_status(mosek.solsta.unknown, trm)
        return Extracted(status, message=f"MOSEK termination {trm}, no solution")
    solsta = task.getsolsta(sol)
    status = map_status(solsta, trm, task.getprosta(sol))
    name = str(solsta).rsplit(".", 1)[-1]
    has_x = name in ("optimal", "integer_optimal", "prim_feas", "prim_and_dual_feas")
    out = Extracted(
        status,
        x=np.asarray(task.getxx(sol), dtype=float) if has_x and status.has_solution else None,
        message=f"MOSEK solution status {solsta}, termination {trm}",
        extra={"native_status": [str(solsta), str(trm)]},
    )
    if problem.is_mixed_integer:
        out.nodes = int(task.getintinf(mosek.iinfitem.mio_num_relax))
        bound = float(task.getdouinf(mosek.dinfitem.mio_obj_bound))
        if np.isfinite(bound) and status not in (Status.INFEASIBLE, Status.UNBOUNDED):
            out.bound = bound
    elif status is Status.OPTIMAL:
        # The bound of a continuous solve is the dual objective of the returned duals.
        # Sensitivities d objective / d b in the problem's own sense for every canonical row:
        # linear rows from y (MOSEK's y = d obj / d rhs), conic rows from -doty (AFE = b - A x).
        pi = np.zeros(problem.m)
        lin = layout.con_of_row >= 0
        if lin.any():
            pi[lin] = np.asarray(task.gety(sol))[layout.con_of_row[lin]]
        cone = layout.afe_of_row >= 0
        if cone.any():
            doty = np.asarray(task.getaccdotys(sol))
            pi[cone] = -doty[layout.afe_of_row[cone]]
        out.duals, out.bound = conic_duals(problem, pi)
    return out
