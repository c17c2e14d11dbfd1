"""Licence-limit helpers shared by the commercial backends (Gurobi, CPLEX, Xpress, MOSEK).

Commercial pip wheels come with size-limited or missing licences (docs/conventions.md,
'Solver facts'; measured on this
machine with the wheels' own licences):

* Gurobi 13 pip licence: at most 2000 variables and 2000 constraints (linear + quadratic); once any
  quadratic term is present at most 200 variables. Error 10010 "Model too large for size-limited
  license".
* CPLEX 22.1 Community Edition: at most 1000 variables and 1000 constraints (linear + quadratic).
  Error 1016 "Community Edition. Problem size limits exceeded".
* Xpress 9.9 community licence: rows + columns at most 5000; with a quadratic term rows + columns at
  most 200. Error 120 "Problem has too many rows and columns".
* MOSEK 11: no licence file, every optimisation fails with error 1008
  (MSK_RES_ERR_MISSING_LICENSE_FILE).

A backend never refuses a model from its size alone (a full licence may be installed): it builds the
model, lets the solver decide, and turns the solver's own licence error code into a
:class:`~dro_opt.solvers.result.Result` with status ``LICENSE_LIMIT`` whose message names the limit,
the model's size as the solver sees it and an open alternative (:func:`licence_result`).

The three quadratic-constraint backends share one lowering of the conic rows
(:func:`lower_to_qcqp`); the size it produces is what the licences count, so it lives here too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from dro_opt.conic.cones import NONNEG, RSOC, SOC, ZERO
from dro_opt.conic.problem import ConicProblem
from dro_opt.errors import CapabilityError
from dro_opt.solvers.result import Result
from dro_opt.solvers.status import Status

# ------------------------------------------------------------------------------------ limits


@dataclass(frozen=True)
class ModelSize:
    """Size of a model as the solver counts it (after lowering cones to its constraint types)."""

    variables: int
    constraints: int
    quadratic: bool  # any quadratic term present (the reduced limits apply)

    def describe(self) -> str:
        kind = " with quadratic terms" if self.quadratic else ""
        return f"{self.variables} variables and {self.constraints} constraints{kind}"


@dataclass(frozen=True)
class SizeLimit:
    """A licence's size limit: the words used in messages and the numbers it checks.

    ``None`` means "no such limit". ``max_*_quadratic`` apply once any quadratic term is present.
    """

    solver: str  # display name, e.g. "Gurobi"
    licence: str  # e.g. "size-limited pip licence"
    words: str  # e.g. "2000 variables and 2000 constraints (200 variables with quadratic terms)"
    max_variables: int | None = None
    max_constraints: int | None = None
    max_rows_plus_cols: int | None = None
    max_variables_quadratic: int | None = None
    max_rows_plus_cols_quadratic: int | None = None

    def violations(self, size: ModelSize) -> list[str]:
        """Parts of ``size`` over this limit, in words (empty when the model fits)."""
        out: list[str] = []
        v, c = size.variables, size.constraints
        if self.max_variables is not None and v > self.max_variables:
            out.append(f"{v} variables")
        if self.max_constraints is not None and c > self.max_constraints:
            out.append(f"{c} constraints")
        if self.max_rows_plus_cols is not None and v + c > self.max_rows_plus_cols:
            out.append(f"{v + c} rows plus columns")
        if size.quadratic:
            if self.max_variables_quadratic is not None and v > self.max_variables_quadratic:
                out.append(f"{v} variables with quadratic terms")
            lim = self.max_rows_plus_cols_quadratic
            if lim is not None and v + c > lim:
                out.append(f"{v + c} rows plus columns with quadratic terms")
        return list(dict.fromkeys(out))

    def fits(self, size: ModelSize) -> bool:
        return not self.violations(size)


GUROBI_LIMIT = SizeLimit(
    "Gurobi",
    "size-limited pip licence",
    "2000 variables and 2000 constraints (200 variables with quadratic terms)",
    max_variables=2000,
    max_constraints=2000,
    max_variables_quadratic=200,
)
CPLEX_LIMIT = SizeLimit(
    "CPLEX",
    "Community Edition licence",
    "1000 variables and 1000 constraints",
    max_variables=1000,
    max_constraints=1000,
)
XPRESS_LIMIT = SizeLimit(
    "Xpress",
    "community licence",
    "5000 rows plus columns (200 with quadratic terms)",
    max_rows_plus_cols=5000,
    max_rows_plus_cols_quadratic=200,
)
MOSEK_LIMIT = SizeLimit(
    "MOSEK",
    "installation",
    "a licence file (MOSEKLM_LICENSE_FILE or ~/mosek/mosek.lic) for every optimisation; "
    "without one only file writing works",
)


def open_alternatives(problem: ConicProblem) -> list[str]:
    """Open solvers that take ``problem`` (docs/conventions.md, 'Solver facts'): SCIP always, HiGHS
    for LP/MILP,
    Clarabel for continuous conic models."""
    needs = problem.needs()
    if not needs - {"integer"}:
        return ["scip", "highs"] if "integer" in needs else ["highs", "scip"]
    if "integer" in needs:
        return ["scip"]
    return ["clarabel", "scip"]


def licence_message(
    limit: SizeLimit,
    size: ModelSize,
    problem: ConicProblem,
    native: str = "",
) -> str:
    """The user-facing message: the limit, the model's size, an open alternative, the fix.

    Example: "Gurobi's size-limited pip licence allows at most 2000 variables and 2000 constraints
    (200 variables with quadratic terms); this model has 2501 variables: use solver 'scip' or
    'highs', or install a full licence (solver error 10010: Model too large ...)".
    """
    over = limit.violations(size)
    has = ", ".join(over) if over else size.describe()
    alts = " or ".join(f"'{a}'" for a in open_alternatives(problem))
    if limit.max_variables is None and limit.max_rows_plus_cols is None:
        head = f"{limit.solver} has no usable licence here: it needs {limit.words}"
        tail = f"use solver {alts}, or install a {limit.solver} licence"
        text = f"{head}; this model has {size.describe()}: {tail}"
    else:
        text = (
            f"{limit.solver}'s {limit.licence} allows at most {limit.words}; this model has "
            f"{has}: use solver {alts}, or install a full licence"
        )
    native = " ".join(str(native).split())
    return f"{text} (solver error {native})" if native else text


def licence_result(
    limit: SizeLimit,
    size: ModelSize,
    problem: ConicProblem,
    *,
    solver: str,
    version: str | None,
    code: int | str,
    native: str,
    build_seconds: float = 0.0,
) -> Result:
    """A ``LICENSE_LIMIT`` result carrying :func:`licence_message` and the native error."""
    return Result(
        status=Status.LICENSE_LIMIT,
        solver=solver,
        solver_version=version,
        sense=problem.sense,
        build_seconds=build_seconds,
        message=licence_message(limit, size, problem, f"{code}: {native}"),
        extra={"licence_error_code": code, "model_size": size.__dict__},
    )


def licence_file(env_vars: tuple[str, ...], defaults: tuple[str, ...]) -> str | None:
    """First licence file named by ``env_vars`` or found at ``defaults`` (no checkout: only a
    file-existence test, so availability never takes a licence)."""
    candidates: list[str] = []
    for var in env_vars:
        val = os.environ.get(var)
        if val:
            candidates.extend(p for p in val.split(os.pathsep) if p)
    candidates.extend(os.path.expanduser(d) for d in defaults)
    for cand in candidates:
        if "@" in cand:  # licence server address, e.g. 27007@host
            return cand
        if Path(cand).is_file():
            return cand
    return None


# ------------------------------------------------------------- QCQP lowering (Gurobi/CPLEX/Xpress)


@dataclass
class QcqpForm:
    """The conic problem as linear rows plus convex quadratic cone constraints on slacks.

    Columns are ``[x; s]`` with ``s`` one slack per cone row. Row ``i`` of ``A`` (all rows kept,
    same order as the conic problem, so duals map back one to one) reads::

        zero rows:     A_i x          =  b_i
        nonneg rows:   A_i x         <=  b_i
        cone rows:     A_i x + s_k    =  b_i     (s_k the slack of row i)

    and each second-order cone ``(s_0, s_1:)`` becomes ``sum_k s_k^2 - s_0^2 <= 0`` with
    ``s_0 >= 0``; each rotated cone ``(s_0, s_1, s_2:)`` becomes ``sum_k s_k^2 - 2 s_0 s_1 <= 0``
    with ``s_0, s_1 >= 0`` -- the forms Gurobi, CPLEX and Xpress recognise as (rotated) second-order
    cones. Quadratic constraint ``q`` has terms ``q_val[j] * col[q_col1[j]] * col[q_col2[j]]`` for
    ``j`` in ``q_start[q]:q_start[q+1]`` (each product listed once, ``q_col1 <= q_col2``).
    """

    A: sp.csr_matrix
    row_sense: np.ndarray  # "E" or "L" per row
    rhs: np.ndarray
    c: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integer: np.ndarray  # bool per column
    n: int  # original variables (the first n columns)
    q_start: np.ndarray
    q_col1: np.ndarray
    q_col2: np.ndarray
    q_val: np.ndarray

    @property
    def num_cols(self) -> int:
        return int(self.c.shape[0])

    @property
    def num_quadratic(self) -> int:
        return int(self.q_start.shape[0] - 1)

    def size(self) -> ModelSize:
        return ModelSize(
            self.num_cols, int(self.A.shape[0]) + self.num_quadratic, self.num_quadratic > 0
        )


def lower_to_qcqp(problem: ConicProblem) -> QcqpForm:
    """Lower ``problem`` (zero, nonneg, soc, rsoc rows only) to :class:`QcqpForm`, vectorised per
    cone run (no loop per cone or per non-zero)."""
    kinds = problem.cone_kinds() - {ZERO, NONNEG, SOC, RSOC}
    if kinds:
        raise CapabilityError(
            f"quadratic-constraint backends cannot hold {', '.join(sorted(kinds))} cones; "
            "use solver 'scip', 'clarabel' or 'mosek'"
        )
    n, m = problem.n, problem.m
    offsets = problem.row_offsets()
    sense = np.empty(m, dtype="<U1")
    is_cone = np.zeros(m, dtype=bool)
    head_lb = []  # slack positions (row indices) that must be >= 0
    q_rows: list[np.ndarray] = []  # per term: cone index (local), col1, col2, val (row indices)
    q_c1: list[np.ndarray] = []
    q_c2: list[np.ndarray] = []
    q_v: list[np.ndarray] = []
    n_q = 0
    for run, start in zip(problem.cones, offsets[:-1], strict=True):
        rows = slice(int(start), int(start) + run.rows)
        if run.kind in (ZERO, NONNEG):
            sense[rows] = "E" if run.kind == ZERO else "L"
            continue
        sense[rows] = "E"
        is_cone[rows] = True
        d, k = run.dim, run.count
        first = int(start) + d * np.arange(k)  # row index of each cone's first entry
        npos = 1 if run.kind == SOC else 2
        head_lb.append((first[:, None] + np.arange(min(npos, d))).ravel())
        ntail = d - npos
        if ntail < 1:
            continue  # (rotated) cone of dimension <= 2: the sign bounds are the whole cone
        tail = (first[:, None] + npos + np.arange(ntail)).ravel()
        cone_of_tail = np.repeat(np.arange(k), ntail)
        if run.kind == SOC:
            c1 = np.concatenate([tail, first])
            c2 = c1
            val = np.concatenate([np.ones(tail.size), -np.ones(k)])
        else:
            c1 = np.concatenate([tail, first])
            c2 = np.concatenate([tail, first + 1])
            val = np.concatenate([np.ones(tail.size), -2.0 * np.ones(k)])
        cone = np.concatenate([cone_of_tail, np.arange(k)]) + n_q
        q_rows.append(cone)
        q_c1.append(c1)
        q_c2.append(c2)
        q_v.append(val)
        n_q += k
    cone_rows = np.flatnonzero(is_cone)
    ns = cone_rows.size
    slack_of_row = np.full(m, -1, dtype=np.int64)
    slack_of_row[cone_rows] = n + np.arange(ns)
    E = sp.csr_matrix((np.ones(ns), (cone_rows, np.arange(ns))), shape=(m, ns))
    A = sp.hstack([problem.A, E], format="csr")
    lb = np.concatenate([problem.lb, np.full(ns, -np.inf)])
    ub = np.concatenate([problem.ub, np.full(ns, np.inf)])
    if head_lb:
        lb[slack_of_row[np.concatenate(head_lb)]] = 0.0
    if q_rows:
        cone = np.concatenate(q_rows)
        order = np.argsort(cone, kind="stable")
        c1 = slack_of_row[np.concatenate(q_c1)[order]]
        c2 = slack_of_row[np.concatenate(q_c2)[order]]
        val = np.concatenate(q_v)[order]
        counts = np.bincount(cone, minlength=n_q)
        q_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    else:
        c1 = c2 = np.zeros(0, dtype=np.int64)
        val = np.zeros(0)
        q_start = np.zeros(1, dtype=np.int64)
    return QcqpForm(
        A=A,
        row_sense=sense,
        rhs=problem.b.copy(),
        c=np.concatenate([problem.c, np.zeros(ns)]),
        lb=lb,
        ub=ub,
        integer=np.concatenate([problem.integer_mask, np.zeros(ns, dtype=bool)]),
        n=n,
        q_start=q_start,
        q_col1=np.minimum(c1, c2),
        q_col2=np.maximum(c1, c2),
        q_val=val,
    )


def conic_duals(
    problem: ConicProblem, row_duals: np.ndarray
) -> tuple[dict[str, np.ndarray], float | None]:
    """Conic duals by block and the dual bound they prove.

    ``row_duals`` are the solver's row duals as ``d objective / d rhs`` in the problem's own sense
    (the Gurobi, CPLEX and Xpress convention; MOSEK's ``y`` and ``-doty``). They become the conic
    duals ``y in K*`` of ``A x + s = b`` for the minimisation form ``min c_min'x`` (``y = -pi``
    for min, ``pi`` for max), split by constraint block, and with the bound multipliers
    ``r = c_min + A'y`` they give the dual objective (weak duality)::

        min c_min'x  >=  -b'y + sum_{r_j > 0} r_j l_j + sum_{r_j < 0} r_j u_j

    mapped back to the problem's sense (plus ``c0``): a lower bound for minimisation, an upper
    bound for maximisation. ``None`` when a non-negligible ``r_j`` meets an infinite bound.
    """
    pi = np.asarray(row_duals, dtype=float)
    sign = 1.0 if problem.sense == "min" else -1.0
    y = -sign * pi
    blocks = {name: y[blk.slice].copy() for name, blk in problem.con_blocks.items()}
    if not blocks:
        blocks["rows"] = y
    c_min = sign * problem.c
    r = c_min + problem.A.T @ y
    # Interior-point duals are dual feasible to ~1e-8; smaller multipliers count as zero.
    tol = 1e-7 * max(1.0, float(np.max(np.abs(problem.c), initial=0.0)))
    up, down = r > tol, r < -tol
    if (up & ~np.isfinite(problem.lb)).any() or (down & ~np.isfinite(problem.ub)).any():
        return blocks, None
    dual = -problem.b @ y + r[up] @ problem.lb[up] + r[down] @ problem.ub[down]
    return blocks, float(sign * dual + problem.c0)


# ------------------------------------------------------------------------- result assembly


def assemble_result(
    problem: ConicProblem,
    status: Status,
    *,
    solver: str,
    version: str | None,
    x: np.ndarray | None,
    bound: float | None,
    build_seconds: float,
    solve_seconds: float,
    nodes: int | None = None,
    duals: dict[str, np.ndarray] | None = None,
    message: str = "",
    extra: dict | None = None,
) -> Result:
    """Result with the objective recomputed from ``x`` (``c'x + c0``, the problem's sense) and
    the solution split by variable block. A non-finite ``bound`` becomes ``None``."""
    objective = None
    solution: dict[str, np.ndarray] = {}
    if x is not None and status.has_solution:
        x = np.asarray(x, dtype=float)[: problem.n]
        ints = problem.integer_mask
        x = x.copy()
        x[ints] = np.round(x[ints]) + 0.0  # integrality within the solver's tolerance; no -0
        objective = problem.objective_value(x)
        solution = problem.split_solution(x)
    else:
        x = None
    if bound is not None and not np.isfinite(bound):
        bound = None
    return Result(
        status=status,
        objective=objective,
        bound=None if bound is None else float(bound),
        solver=solver,
        solver_version=version,
        sense=problem.sense,
        x=x,
        solution=solution,
        duals=duals or {},
        build_seconds=build_seconds,
        solve_seconds=solve_seconds,
        nodes=nodes,
        message=message,
        extra=extra or {},
    )
