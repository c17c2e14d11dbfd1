"""SCIP backend (pyscipopt): LP, MILP, SOCP/MISOCP, exponential and power cones, also mixed-integer.

Translation of ``A x + s = b, s in K`` (docs/conventions.md, 'Canonical conic form') into one SCIP
model:

* Rotated cones are first mapped onto standard ones (exact orthogonal map,
  :func:`~dro_opt.solvers._transforms.rsoc_to_soc`).
* ``zero``/``nonneg`` rows become linear constraints ``A_i x = b_i`` / ``A_i x <= b_i``.
* Rows of nonlinear cones get a slack variable ``s_i`` and one linear equality
  ``A_i x + s_i = b_i``; a row that is exactly ``s_i = x_j`` (one coefficient ``-1``, ``b_i = 0``)
  reuses ``x_j``. Bounds implied by the cone (``s_0 >= 0`` for a SOC head, ``y, z >= 0`` for an
  exponential cone, ``x, y >= 0`` for a power cone) go on the slack (or reused variable).
* SOC of dimension ``d``: ``d = 1`` is the bound ``s_0 >= 0``; ``d = 2`` the two linear rows
  ``|s_1| <= s_0``; ``d >= 3`` one quadratic constraint ``sum_i s_i^2 - s_0^2 <= 0`` with
  ``s_0 >= 0``, which SCIP's second-order-cone handler recognises (initial cuts, exact
  separation). The norm form ``sqrt(sum_i s_i^2) <= s_0`` was measured as worse: SCIP classes it
  nonconvex, hits "numerical troubles in LP" and falls back to spatial branching on pseudo
  solutions (a 3-variable log-sum-exp + SOC model ran into the time limit after 80k nodes; the
  quadratic form solves it at the root). Caveat of the quadratic form: SCIP checks it in squared
  units (``||s_1:||^2 - s_0^2 <= 1e-6``), so cones whose entries are much smaller than 1 are
  met only to about ``1e-6 / (2 s_0)`` in natural units (measured: ``max y_1 + y_2,
  ||y|| <= 1e-4`` returns 2.1e-4, not 1.41e-4). Every result carries ``extra["max_violation"]``
  (natural units, :meth:`ConicProblem.max_violation`) and a message when it exceeds 1e-5.
* Exponential cone ``(x, y, z)``, ``y exp(x / y) <= z`` (closure at ``y = 0``): when the ``y``
  row is a constant ``y0`` (no variables) the cone is the convex constraint
  ``y0 exp(x / y0) <= z`` for ``y0 > 0`` and the closure ``x <= 0, z >= 0`` for ``y0 = 0``
  (``y0 < 0`` keeps a slack with ``y >= 0``, hence infeasible). With a variable ``y`` SCIP's
  expression ``y exp(x / y)`` is wrong at ``y = 0`` (undefined; presolve simplifies it to 0), so
  those cones go to an exact cutting-plane constraint handler
  (:mod:`dro_opt.solvers._scip_expcone`) enforcing the closed cone by its tangent cuts.
* Power cone ``(x, y, z)``, ``x^a y^(1-a) >= |z|``: two nonlinear constraints
  ``+-z - x^a y^(1-a) <= 0`` with ``x, y >= 0``; ``x^a y^(1-a)`` is defined (0) on the boundary,
  so the closed cone is represented exactly.

Loading (three routes, the same constraints; benchmarks/build_overhead.py times them side by side):

* **C API** (linear and (rotated) second-order cones, the default where possible):
  :func:`load_bulk` calls SCIP's C functions on the model's ``SCIP*`` through cffi
  (:mod:`dro_opt.solvers._scip_bulk`), no Python object per column or row; its loops run in
  C where a C compiler is present (:mod:`dro_opt.solvers._scip_loops`; ``compiled_loops``).
* **LP file** (the same models when that library cannot be used, from ``file_route_min_nnz``
  non-zeros on): dro_opt's ``.lp`` writer and SCIP's reader (:func:`load_from_lp_file`).
* **objects** (every model, the only route for exponential and power cones):
  :func:`build_model`, per-object pyscipopt calls. pyscipopt 6.3's
  ``addMatrixVar``/``addMatrixCons`` are Python loops over dense object arrays (``A @ x``
  densifies ``A``), so linear rows are built from the CSR arrays directly: one ``Expr`` per row
  from pre-built ``Term`` objects (one dict per row, no per-non-zero Python arithmetic).

Parameters and semantics (checked against SCIP 10):
* ``limits/gap`` and ``limits/absgap`` = ``options.gap``. SCIP's relative gap is
  ``|p - d| / min(|p|, |d|)`` (infinite for opposite signs), at least dro_opt's
  ``|p - d| / max(1, |p|)``, and the absolute gap dominates it too, so SCIP stopping on either
  implies dro_opt's gap <= ``options.gap``; status ``gaplimit`` is therefore reported as
  ``OPTIMAL`` (within the requested gap).
* ``getDualbound()`` is in the original objective sense and includes the objective constant.
* SCIP's tree search is sequential; ``threads`` sets only ``lp/threads``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from dro_opt.conic.cones import EXP, NONNEG, POW, SOC, ZERO, ConeRun
from dro_opt.conic.problem import BINARY, CONTINUOUS, MAX, ConicProblem
from dro_opt.solvers._quiet import quiet_fds
from dro_opt.solvers._scip_bulk import (
    VARTYPE_BINARY,
    VARTYPE_CONTINUOUS,
    VARTYPE_INTEGER,
    BulkColumns,
    BulkLoader,
    ScipLibrary,
    scip_library,
)
from dro_opt.solvers._transforms import (
    KIND_CODE,
    cone_slices,
    finite_or_none,
    row_kinds,
    rsoc_to_soc,
)
from dro_opt.solvers.base import Backend, Extracted, Run
from dro_opt.solvers.status import Status
from dro_opt.solvers.trajectory import attach_scip

# SCIP status (Model.getStatus()) -> Status.
STATUS_MAP: dict[str, Status] = {
    "optimal": Status.OPTIMAL,
    "gaplimit": Status.OPTIMAL,
    "infeasible": Status.INFEASIBLE,
    "unbounded": Status.UNBOUNDED,
    "inforunbd": Status.INFEASIBLE_OR_UNBOUNDED,
    "timelimit": Status.TIME_LIMIT,
    "nodelimit": Status.NODE_LIMIT,
    "totalnodelimit": Status.NODE_LIMIT,
    "stallnodelimit": Status.NODE_LIMIT,
    "userinterrupt": Status.INTERRUPTED,
    "terminate": Status.INTERRUPTED,
    "memlimit": Status.ERROR,
    "sollimit": Status.FEASIBLE,
    "bestsollimit": Status.FEASIBLE,
    "restartlimit": Status.FEASIBLE,
    "primallimit": Status.FEASIBLE,
    "duallimit": Status.FEASIBLE,
    "unknown": Status.UNKNOWN,
}
SCIP_INFINITY = 1e20
VIOLATION_NOTE = 1e-5  # natural-unit violation above which the result says so


def map_status(name: str) -> Status:
    """SCIP status string -> :class:`Status`; unknown strings give ``UNKNOWN``."""
    return STATUS_MAP.get(str(name).lower(), Status.UNKNOWN)


@dataclass
class ScipModel:
    """A built SCIP model and what is needed to read the solution back."""

    model: Any
    xvars: list[Any]
    handler: Any = None
    counts: dict[str, Any] = field(default_factory=dict)
    columns: BulkColumns | None = None  # the C-API route's columns (then ``xvars`` is empty)


class ScipBackend(Backend):
    """SCIP branch-and-cut: MILP, MISOCP and mixed-integer exponential/power cones, with bounds."""

    name = "scip"
    # Linear/SOC models go to SCIP through its C API (:mod:`dro_opt.solvers._scip_bulk`); where
    # that library cannot be used, from this many non-zeros on through its own LP-file reader
    # (both measured faster than per-object pyscipopt calls; benchmarks/build_overhead.py).
    bulk_route = True
    file_route_min_nnz = 50_000
    # the C-API route's loops in C where a compiler is present (dro_opt.solvers._scip_loops)
    compiled_loops = True

    def build(self, run: Run) -> None:
        from pyscipopt import Model

        model = Model()
        model.hideOutput(quiet=not run.options.verbose)
        if not run.options.verbose:
            model.setParam("display/verblevel", 0)
        run.model = model
        run.version = (
            f"SCIP {model.getMajorVersion()}.{model.getMinorVersion()}."
            f"{model.getTechVersion()} (pyscipopt {self.version()})"
        )
        problem = run.problem
        lib = scip_library(model) if self.bulk_route and file_route_possible(problem) else None
        if lib is not None and not self.compiled_loops:
            lib = replace(lib, loops=None, api=None)
        if lib is not None:
            run.state["built"] = load_bulk(model, problem, lib)
        elif problem.A.nnz >= self.file_route_min_nnz and file_route_possible(problem):
            run.state["built"] = load_from_lp_file(model, problem)
        else:
            run.state["built"] = build_model(model, problem)

    def default_parameters(self, run: Run) -> dict[str, Any]:
        return {"nlpi/ipopt/optfile": _ipopt_options_file(), **NO_MPEC}

    def set_parameter(self, run: Run, name: str, value: Any) -> None:
        run.model.setParam(name, value)

    def attach_trajectory(self, run: Run) -> None:
        # SCIP's bounds are in the original sense, objective constant included
        attach_scip(run.model, run.recorder)

    def optimise(self, run: Run) -> None:
        with quiet_fds(not run.options.verbose):  # SoPlex's GMP warning bypasses hideOutput
            run.model.optimize()

    def undecided(self, run: Run) -> bool:
        return str(run.model.getStatus()) == "inforunbd"

    def resolve_decided(self, run: Run, time_left: float | None) -> None:
        from pyscipopt import SCIP_PARAMSETTING

        model = run.model
        model.freeTransform()
        model.setPresolve(SCIP_PARAMSETTING.OFF)
        if time_left is not None:
            model.setParam("limits/time", time_left)
        self.optimise(run)

    def extract(self, run: Run) -> Extracted:
        return _extract(run.state["built"], run.problem)


#: SCIP's MPEC heuristic solves the NLP relaxation with Ipopt; on the security-game chi-square
#: MISOCP (M = 6, N = 60, K = 6: 2325 columns, 8859 rows, one 61-dimensional cone) one of its
#: Ipopt factorizations (MUMPS) ran for over 100 s at the root, where SCIP looks at neither its
#: time limit nor Ctrl-C (Ipopt checks them between iterations only): the solve hit a 90 s limit
#: at node 1, and a Ctrl-C waited 98-144 s. Without it the same MISOCP is optimal in 10 s.
#: Measured side by side with ``--time-limit 60`` (load 10-11 on 2 cores), off vs on: that SSG
#: route's certified upper 0.99 vs 6.70; the paper's MC-FLP VR MISOCP lower / upper 4.71 / 5.38
#: vs 0.96 / 5.81; SSG ERM and VR the same upper, lower -2.111 vs -2.167 and -2.269 vs -2.246;
#: MC-FCP optimal both ways (6.2 vs 7.3 s). A user's ``extra={"heuristics/mpec/freq": ...}``
#: still overrides this.
NO_MPEC = {"heuristics/mpec/freq": -1}

IPOPT_OPTIONS = (
    "# written by dro_opt: AMD ordering for MUMPS instead of METIS (see scip_backend)\n"
    "mumps_pivot_order 0\n"
)


def _ipopt_options_file() -> str:
    """Path of an Ipopt options file selecting MUMPS' AMD ordering.

    The pyscipopt 6.3 wheel's Ipopt/MUMPS aborts the whole process ("munmap_chunk(): invalid
    pointer" in ``libmetis__FreeRData`` under ``METIS_NodeND``) when it picks METIS ordering
    inside SCIP's NLP heuristics -- measured here on the paper's VR MISOCP for MC-FLP (N=100,
    one SOC of dimension 101). AMD ordering avoids METIS altogether.
    """
    import tempfile
    from pathlib import Path

    path = Path(tempfile.gettempdir()) / "dro_opt_ipopt_amd.opt"
    if not path.exists() or path.read_text() != IPOPT_OPTIONS:
        from dro_opt.io.atomic import atomic_write_text

        atomic_write_text(path, IPOPT_OPTIONS)
    return str(path)


# ------------------------------------------------------------------ bulk: SCIP's LP reader
def file_route_possible(problem: ConicProblem) -> bool:
    """Linear and (rotated) second-order cones only: what an ``.lp`` file holds exactly."""
    return problem.cone_kinds() <= {ZERO, NONNEG, SOC, "rsoc"}


def load_from_lp_file(model: Any, problem: ConicProblem) -> ScipModel:
    """Load ``problem`` in bulk: dro_opt's ``.lp`` writer (vectorised text,
    :mod:`dro_opt.io.lp_write`; cones as ``sum s_i^2 - s_0^2 <= 0`` on slack columns, the same
    quadratic form :func:`build_model` uses) and SCIP's own LP reader, then the model's columns
    found by name. A column the file never mentions is added as it is (free, zero cost)."""
    import os
    import tempfile

    from dro_opt.io._rows import conic_to_rows
    from dro_opt.io.lp_write import rows_to_lp

    rows = conic_to_rows(problem, ".lp")
    fd, path = tempfile.mkstemp(suffix=".lp", prefix="dro_opt_scip_")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(rows_to_lp(rows, problem))
        model.readProblem(path)
    finally:
        os.unlink(path)
    by_name = {v.name: v for v in model.getVars()}
    names = rows.col_names[: problem.n].tolist()
    xvars = [by_name.get(nm) or model.addVar(name=nm, lb=None, ub=None) for nm in names]
    return ScipModel(model, xvars, None, {"loaded_from": "lp file"})


# ------------------------------------------------------------------ bulk: SCIP's C API
def load_bulk(model: Any, problem: ConicProblem, lib: ScipLibrary) -> ScipModel:
    """Load a linear / (rotated) second-order-cone ``problem`` through SCIP's C functions
    (:mod:`dro_opt.solvers._scip_bulk`): the translation of :func:`translate`, the same
    constraints as :func:`build_model` creates -- linear rows, slack equalities
    ``A_i x + s_i = b_i``, ``|s_1| <= s_0`` for 2-dimensional cones, ``sum s_i^2 - s_0^2 <= 0``
    for larger ones -- with no Python object per column or row."""
    tr = translate(problem)
    A, b = tr.A, tr.b
    m, n = A.shape
    ns = int(tr.slack_rows.size)
    vt = np.where(
        problem.vtype == CONTINUOUS,
        VARTYPE_CONTINUOUS,
        np.where(problem.vtype == BINARY, VARTYPE_BINARY, VARTYPE_INTEGER),
    )
    loader = BulkLoader(model, lib)
    loader.add_columns(
        np.concatenate([tr.lb, tr.slack_lb]),
        np.concatenate([tr.ub, np.full(ns, np.inf)]),
        np.concatenate([problem.c, np.zeros(ns)]),
        np.concatenate([vt, np.full(ns, VARTYPE_CONTINUOUS)]),
    )
    if problem.sense == MAX:
        model.setMaximize()
    if problem.c0:
        model.addObjoffset(float(problem.c0))

    # linear rows, then the slack equalities, then the two rows of every 2-dimensional cone
    lin = np.flatnonzero(tr.linear)
    slack_cols = sp.csr_matrix((np.ones(ns), (tr.slack_rows, np.arange(ns))), shape=(m, ns))
    A_ext = sp.hstack([A, slack_cols], format="csr")
    rows = np.concatenate([lin, tr.slack_rows])
    blocks = [A_ext[rows]]
    lhs = [np.where(tr.is_zero[lin], b[lin], -np.inf), b[tr.slack_rows]]
    rhs = [b[lin], b[tr.slack_rows]]
    quad: list[tuple[np.ndarray, np.ndarray]] = []  # (cols per cone, coefficients per cone)
    for run, start in cone_slices(tr.cones):
        if run.kind != SOC or run.count == 0 or run.dim == 1:
            continue  # d = 1: s_0 >= 0 is the column's own lower bound
        H = tr.handle_col[start : start + run.rows].reshape(run.count, run.dim)
        if run.dim == 2:  # s_1 - s_0 <= 0 and -s_1 - s_0 <= 0
            k = np.arange(2 * run.count)
            cols = np.column_stack([np.repeat(H[:, 1], 2), np.repeat(H[:, 0], 2)])
            vals = np.column_stack([np.tile([1.0, -1.0], run.count), -np.ones(2 * run.count)])
            blocks.append(
                sp.csr_matrix(
                    (vals.ravel(), (np.repeat(k, 2), cols.ravel())), shape=(k.size, n + ns)
                )
            )
            lhs.append(np.full(k.size, -np.inf))
            rhs.append(np.zeros(k.size))
        else:
            coef = np.ones(run.dim)
            coef[0] = -1.0
            quad.append((H, np.tile(coef, (run.count, 1))))
    L = sp.vstack(blocks, format="csr")
    L.sum_duplicates()
    loader.add_linear_rows(L.indptr, L.indices, L.data, np.concatenate(lhs), np.concatenate(rhs))
    if quad:
        sizes = np.concatenate([np.full(H.shape[0], H.shape[1]) for H, _ in quad])
        cols = np.concatenate([H.ravel() for H, _ in quad])
        loader.add_quadratic_rows(
            np.concatenate([[0], np.cumsum(sizes)]),
            cols,
            cols,
            np.concatenate([c.ravel() for _, c in quad]),
        )
    loader.finish()
    counts = {
        "slacks": ns,
        "reused_rows": int(tr.ident.sum()),
        "loaded_from": "C API",
        "scip_loops": "C" if lib.loops is not None else "cffi calls",
    }
    columns = BulkColumns(lib, model, loader.var_addr[:n].copy())
    return ScipModel(model, [], None, counts, columns)


# --------------------------------------------------------------------------- translation
def _implied_nonneg(cones: list[ConeRun], m: int) -> np.ndarray:
    """Rows whose slack the cone forces to be >= 0 (SOC heads, exp y and z, pow x and y)."""
    out = np.zeros(m, dtype=bool)
    for run, start in cone_slices(cones):
        base = start + run.dim * np.arange(run.count, dtype=np.int64)
        if run.kind == SOC:
            out[base] = True
        elif run.kind == EXP:
            out[base + 1] = True
            out[base + 2] = True
        elif run.kind == POW:
            out[base] = True
            out[base + 1] = True
    return out


def _const_exp_y(cones: list[ConeRun], nnz: np.ndarray, b: np.ndarray, m: int) -> np.ndarray:
    """``y`` rows of exponential cones that are constants ``y0 >= 0`` (no variable)."""
    out = np.zeros(m, dtype=bool)
    for run, start in cone_slices(cones):
        if run.kind == EXP and run.count:
            rows = start + 3 * np.arange(run.count, dtype=np.int64) + 1
            out[rows[(nnz[rows] == 0) & (b[rows] >= 0)]] = True
    return out


@dataclass
class Translation:
    """The translation of the module docstring as arrays, shared by both loading routes.

    Columns are ``[x; s]``: the ``n`` problem columns (bounds ``lb``/``ub`` tightened by the
    cones that reuse them), then one slack per row in ``slack_rows`` (lower bound
    ``slack_lb``: 0 where the cone implies it). ``handle_col[i]`` is the column holding cone row
    ``i``'s value (a slack or a reused ``x_j``; -1 for linear rows and constant exp ``y`` rows).
    """

    A: Any  # CSR, duplicates summed, rotated cones mapped onto standard ones
    b: np.ndarray
    cones: list[ConeRun]
    linear: np.ndarray  # zero / nonneg rows
    is_zero: np.ndarray
    const_y: np.ndarray
    ident: np.ndarray  # rows reusing a problem column
    lb: np.ndarray
    ub: np.ndarray
    slack_rows: np.ndarray
    slack_lb: np.ndarray
    handle_col: np.ndarray


def translate(problem: ConicProblem) -> Translation:
    """Rows, slacks and reused columns of ``problem`` (module docstring), all vectorised."""
    soc = rsoc_to_soc(problem)
    A = soc.A.tocsr(copy=True)
    A.sum_duplicates()
    b, cones = soc.b, soc.cones
    m, n = A.shape
    kinds = row_kinds(cones)
    linear = (kinds == KIND_CODE[ZERO]) | (kinds == KIND_CODE[NONNEG])
    nnz = np.diff(A.indptr)
    head = np.minimum(A.indptr[:-1], max(A.nnz - 1, 0))
    first_val = np.where(nnz > 0, A.data[head] if A.nnz else 0.0, 0.0)
    first_col = np.where(nnz > 0, A.indices[head] if A.nnz else 0, -1)
    implied = _implied_nonneg(cones, m)
    const_y = _const_exp_y(cones, nnz, b, m)
    ident = ~linear & ~const_y & (nnz == 1) & (first_val == -1.0) & (b == 0.0)
    lb, ub = problem.lb.copy(), problem.ub.copy()
    need = np.flatnonzero(ident & implied)
    bad = ub[first_col[need]] < 0
    ident[need[bad]] = False
    lb[first_col[need[~bad]]] = np.maximum(lb[first_col[need[~bad]]], 0.0)
    slack_rows = np.flatnonzero(~linear & ~const_y & ~ident)
    handle_col = np.full(m, -1, dtype=np.int64)
    handle_col[ident] = first_col[ident]
    handle_col[slack_rows] = n + np.arange(slack_rows.size)
    return Translation(
        A=A,
        b=b,
        cones=cones,
        linear=linear,
        is_zero=kinds == KIND_CODE[ZERO],
        const_y=const_y,
        ident=ident,
        lb=lb,
        ub=ub,
        slack_rows=slack_rows,
        slack_lb=np.where(implied[slack_rows], 0.0, -np.inf),
        handle_col=handle_col,
    )


def build_model(model: Any, problem: ConicProblem) -> ScipModel:
    """Fill ``model`` with ``problem`` by pyscipopt objects (module docstring); any cone."""
    from pyscipopt.scip import Expr, ExprCons

    tr = translate(problem)
    A, b, cones, ident = tr.A, tr.b, tr.cones, tr.ident
    m, n = A.shape
    const_y, slack_rows = tr.const_y, tr.slack_rows

    # variables (one pyscipopt call each: the unavoidable floor)
    vt = np.where(problem.vtype == CONTINUOUS, "C", np.where(problem.vtype == BINARY, "B", "I"))
    lbl = [None if not np.isfinite(v) else v for v in tr.lb.tolist()]
    ubl = [None if not np.isfinite(v) else v for v in tr.ub.tolist()]
    cl = problem.c.tolist()
    add_var = model.addVar
    xs = [
        add_var(name=f"x{j}", vtype=t, lb=lo, ub=hi, obj=cj)
        for j, t, lo, hi, cj in zip(range(n), vt.tolist(), lbl, ubl, cl, strict=True)
    ]
    if problem.sense == MAX:
        model.setMaximize()
    if problem.c0:
        model.addObjoffset(float(problem.c0))
    sl = [None if not np.isfinite(v) else v for v in tr.slack_lb.tolist()]
    ss = [
        model.addVar(name=f"s{i}", lb=lo, ub=None)
        for i, lo in zip(slack_rows.tolist(), sl, strict=True)
    ]
    cols = np.empty(n + len(ss), dtype=object)
    cols[:n] = xs
    cols[n:] = ss
    handle = np.empty(m, dtype=object)
    has = tr.handle_col >= 0
    handle[has] = cols[tr.handle_col[has]]
    linear = tr.linear

    # linear rows and slack equalities, one Expr per row from the variables' own Terms
    xterms = np.empty(n, dtype=object)
    xterms[:] = [_term(v) for v in xs]
    tl = xterms[A.indices].tolist()
    vl = A.data.tolist()
    ip = A.indptr.tolist()
    bl = b.tolist()
    add = model.addCons
    is_zero = tr.is_zero.tolist()
    for i in np.flatnonzero(linear).tolist():
        e = Expr(dict(zip(tl[ip[i] : ip[i + 1]], vl[ip[i] : ip[i + 1]], strict=True)))
        add(ExprCons(e, lhs=bl[i] if is_zero[i] else None, rhs=bl[i]))
    for i, s in zip(slack_rows.tolist(), ss, strict=True):
        d = dict(zip(tl[ip[i] : ip[i + 1]], vl[ip[i] : ip[i + 1]], strict=True))
        d[_term(s)] = 1.0
        add(ExprCons(Expr(d), lhs=bl[i], rhs=bl[i]))

    handler = None
    counts = {"slacks": len(ss), "reused_rows": int(ident.sum())}
    exp_var: dict[str, list[Any]] = {"x": [], "y": [], "z": []}
    for run, start in cone_slices(cones):
        if run.count == 0 or run.kind in (ZERO, NONNEG):
            continue
        H = handle[start : start + run.rows].reshape(run.count, run.dim)
        if run.kind == SOC:
            _add_soc(model, H, Expr, ExprCons)
        elif run.kind == EXP:
            y_const = const_y[start + 1 : start + run.rows : 3]
            y0 = b[start + 1 : start + run.rows : 3]
            _add_exp_const(model, H[y_const], y0[y_const], Expr, ExprCons)
            var = ~y_const
            for key, col in (("x", 0), ("y", 1), ("z", 2)):
                exp_var[key].extend(H[var, col].tolist())
        elif run.kind == POW:
            _add_pow(model, H, float(run.param))
    if exp_var["x"]:
        handler = _add_exp_handler(model, exp_var)
        # LP solutions accurate to 1e-2 x feastol, so a tangent cut violated by about feastol
        # is always satisfied by the next LP (no stalling in enforcement)
        if model.getParam("numerics/lpfeastolfactor") > 0.01:
            model.setParam("numerics/lpfeastolfactor", 0.01)
        counts["exp_handler_cones"] = len(exp_var["x"])
    return ScipModel(model, xs, handler, counts)


def _term(var: Any) -> Any:
    """The degree-1 ``Term`` of a pyscipopt variable (a variable is the expression ``1 * var``;
    reusing its key avoids re-sorting and re-hashing a new ``Term``)."""
    return next(iter(var.terms))


def _add_soc(model: Any, H: np.ndarray, Expr: Any, ExprCons: Any) -> None:
    """SOC rows ``H[k] = (s_0, s_1, ...)``: bound (d = 1), two rows (d = 2) or a quadratic."""
    k, d = H.shape
    if d == 1:
        return  # s_0 >= 0 is already the slack's (or reused variable's) lower bound
    add = model.addCons
    if d == 2:
        for h0, h1 in H.tolist():
            for sgn in (1.0, -1.0):
                e: dict[Any, float] = {}
                for term, coef in ((_term(h1), sgn), (_term(h0), -1.0)):
                    e[term] = e.get(term, 0.0) + coef
                add(ExprCons(Expr(e), rhs=0.0))
        return
    sq = [t * t for t in map(_term, H.ravel().tolist())]
    coefs = [-1.0] + [1.0] * (d - 1)
    for c in range(k):
        terms = sq[c * d : (c + 1) * d]
        e = dict(zip(terms, coefs, strict=True))
        if len(e) < d:  # a variable repeated inside one cone: accumulate
            e = {}
            for t, a in zip(terms, coefs, strict=True):
                e[t] = e.get(t, 0.0) + a
        add(ExprCons(Expr(e), rhs=0.0))


def _add_exp_const(model: Any, H: np.ndarray, y0: np.ndarray, Expr: Any, ExprCons: Any) -> None:
    """Exponential cones with a constant ``y = y0 >= 0``: ``y0 exp(x / y0) <= z`` or, for
    ``y0 = 0``, the closure ``x <= 0`` (``z >= 0`` is the slack's bound)."""
    from pyscipopt import exp

    for (hx, _, hz), y in zip(H.tolist(), y0.tolist(), strict=True):
        if y > 0:
            model.addCons(y * exp(hx * (1.0 / y)) - hz <= 0.0)
        else:
            model.addCons(ExprCons(Expr({_term(hx): 1.0}), rhs=0.0))


def _add_pow(model: Any, H: np.ndarray, a: float) -> None:
    """Power cones ``x^a y^(1-a) >= |z|`` as ``+-z - x^a y^(1-a) <= 0`` (``x, y >= 0``)."""
    for hx, hy, hz in H.tolist():
        geo = (hx**a) * (hy ** (1.0 - a))
        model.addCons(hz - geo <= 0.0)
        model.addCons(-hz - geo <= 0.0)


def _add_exp_handler(model: Any, data: dict[str, list[Any]]) -> Any:
    from dro_opt.solvers._scip_expcone import ExpConeHandler

    handler = ExpConeHandler()
    model.includeConshdlr(
        handler,
        "dro_expcone",
        "closed exponential cones y exp(x/y) <= z by exact tangent cuts",
        sepapriority=10,
        enfopriority=-60,
        chckpriority=-4000000,
        sepafreq=1,
        propfreq=-1,
        eagerfreq=-1,
        maxprerounds=0,
        needscons=True,
    )
    cons = model.createCons(handler, "expcones", propagate=False)
    cons.data = data
    model.addPyCons(cons)
    return handler


# ----------------------------------------------------------------------------- results
def _extract(built: ScipModel, problem: ConicProblem) -> Extracted:
    model = built.model
    native = str(model.getStatus())
    status = map_status(native)
    out = Extracted(status, extra={"native_status": native, **built.counts})
    if status is Status.UNKNOWN and native not in STATUS_MAP:
        out.message = f"unrecognised SCIP status {native!r}"
    elif native == "gaplimit":
        out.message = "stopped at the requested gap"
    elif native == "memlimit":
        out.message = "SCIP reached its memory limit"
    if built.handler is not None and built.handler.errors:
        return Extracted(Status.ERROR, message="; ".join(built.handler.errors[:1]))
    out.nodes = int(model.getNNodes())
    if int(model.getNSols()) and (status.has_solution or status is Status.UNKNOWN):
        sol = model.getBestSol()
        if built.columns is not None:
            x = built.columns.values()
        else:
            x = np.fromiter((sol[v] for v in built.xvars), dtype=float, count=len(built.xvars))
        out.x = x
        viol = problem.max_violation(x)
        out.extra["max_violation"] = viol
        if viol > VIOLATION_NOTE:
            note = (
                f"the returned point violates the model by {viol:.1e} in natural units (SCIP "
                "checks second-order cones in squared units, absolute tolerance 1e-6)"
            )
            out.message = f"{out.message}; {note}" if out.message else note
        if status is Status.UNKNOWN:
            out.status = Status.FEASIBLE
    if out.status in (
        Status.OPTIMAL,
        Status.FEASIBLE,
        Status.TIME_LIMIT,
        Status.NODE_LIMIT,
        Status.INTERRUPTED,
    ):
        out.bound = finite_or_none(model.getDualbound(), SCIP_INFINITY)
        out.extra["scip_gap"] = finite_or_none(model.getGap(), SCIP_INFINITY)
    return out
