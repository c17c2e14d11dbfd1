"""Free-format MPS writer for the canonical conic form (linear rows, SOC/RSOC as QCMATRIX rows).

Layout (sections in the order CPLEX, Gurobi, Xpress, MOSEK, SCIP and HiGHS read)::

    NAME  model
    OBJSENSE
        MAX                       (only when maximising)
    ROWS / COLUMNS (MARKER INTORG/INTEND around integer columns) / RHS / RANGES / BOUNDS
    QCMATRIX  qc_k                (one per cone: entries of x'Qx, off-diagonals on both sides,
                                   each diagonal entry once)
    ENDATA

Conventions, checked by reading the written files with each solver (tests/test_io_roundtrip.py):

* a maximisation is written as an ``OBJSENSE`` section with ``MAX`` on the next line, which
  SCIP, HiGHS, Gurobi, CPLEX and Xpress all read as maximisation, so the objective is never
  negated. (Measured: ``OBJSENSE MAXIMIZE`` on the header line itself is ignored by HiGHS and
  CPLEX, and CPLEX's own MPS writer drops the sense and negates the objective instead.)
* the objective constant ``c0`` is written as the RHS of the objective row with the opposite
  sign (objective = c'x - rhs), read that way by CPLEX, Gurobi, Xpress, SCIP and HiGHS;
* every integer column gets explicit bounds (``LO``/``UP``, ``MI``/``PL``) because readers differ
  on the default bounds of a marker-only integer column; binaries are ``BV``; a negative upper
  bound always comes with an explicit lower bound (``LO`` or ``MI``): for ``UP`` < 0 alone,
  Gurobi and CPLEX set the lower bound to -inf, SCIP and HiGHS keep 0 and Xpress aborts;
* cones go through slack columns ``slack_k`` (see :mod:`dro_opt.io._rows`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from dro_opt.conic.problem import BINARY, MAX, ConicProblem
from dro_opt.io._rows import RowModel, conic_to_rows
from dro_opt.io._text import FLOAT, bulk_format

_INTORG = "    MARKER                 'MARKER'                 'INTORG'\n"
_INTEND = "    MARKER                 'MARKER'                 'INTEND'\n"


def mps_text(problem: ConicProblem) -> str:
    """Free MPS text of ``problem``; exp/pow cones raise UnsupportedFormatError."""
    return rows_to_mps(conic_to_rows(problem, ".mps"), problem)


def rows_to_mps(rm: RowModel, problem: ConicProblem | None = None) -> str:
    """Free MPS text of a row model."""
    n, m, nq = rm.n, rm.row_names.shape[0], rm.nq
    out: list[str] = []
    desc = f" ({problem.problem_class()})" if problem is not None else ""
    out.append(
        f"* dro_opt model '{rm.name}'{desc}: {rm.n_model_vars or n} variables, {m} rows, "
        f"{nq} quadratic cone rows\n"
        "* Second-order cones as slack columns slack_k = b - A x with one QCMATRIX row each:\n"
        "*   SOC  sum_(i>=1) s_i^2 - s_0^2 <= 0, s_0 >= 0;  RSOC sum_(i>=2) s_i^2 - 2 s_0 s_1 <= 0,"
        " s_0, s_1 >= 0\n"
        "* Objective constant = minus the RHS of the objective row.\n"
    )
    out.append(f"NAME          {_safe(rm.name)}\n")
    if rm.sense == MAX:
        out.append("OBJSENSE\n    MAX\n")
    # ---------------------------------------------------------------- ROWS
    sense, rhs, rng = _row_senses(rm.row_lo, rm.row_hi)
    qsense, qrhs, qrng = _row_senses(rm.q_lo, rm.q_hi)
    out.append("ROWS\n N  obj\n")
    out.append(bulk_format(" %s  %s\n", sense, rm.row_names))
    out.append(bulk_format(" %s  %s\n", qsense, rm.q_names))
    # ------------------------------------------------------------- COLUMNS
    out.append("COLUMNS\n")
    out.append(_columns(rm))
    # ----------------------------------------------------------------- RHS
    all_names = np.concatenate([rm.row_names, rm.q_names])
    all_rhs = np.concatenate([rhs, qrhs])
    nz = np.flatnonzero(all_rhs != 0)
    out.append("RHS\n")
    if rm.c0 != 0:
        out.append(("    RHS       obj       " + FLOAT + "\n") % (-rm.c0))
    out.append(bulk_format("    RHS       %s       " + FLOAT + "\n", all_names[nz], all_rhs[nz]))
    all_rng = np.concatenate([rng, qrng])
    rz = np.flatnonzero(np.isfinite(all_rng))
    if rz.size:
        out.append("RANGES\n")
        out.append(
            bulk_format("    RNG       %s       " + FLOAT + "\n", all_names[rz], all_rng[rz])
        )
    # -------------------------------------------------------------- BOUNDS
    out.append("BOUNDS\n")
    out.append(_bounds(rm))
    # ------------------------------------------------------------ QCMATRIX
    if rm.q_row.size:
        first = np.r_[True, rm.q_row[1:] != rm.q_row[:-1]]
        head = np.where(first, np.char.add("QCMATRIX   ", rm.q_names[rm.q_row].astype(str)), "")
        head = np.where(first, np.char.add(head, "\n"), "")
        out.append(
            bulk_format(
                "%s    %s  %s  " + FLOAT + "\n",
                head,
                rm.col_names[rm.q_i],
                rm.col_names[rm.q_j],
                rm.q_val,
            )
        )
    out.append("ENDATA\n")
    return "".join(out)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in str(name)) or "model"


def _row_senses(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MPS sense letter, RHS and RANGES value (nan when none) of rows ``lo <= a'x <= hi``."""
    eq = lo == hi
    fl, fh = np.isfinite(lo), np.isfinite(hi)
    sense = np.select([eq, fl & fh, fh, fl], ["E", "L", "L", "G"], default="N")
    rhs = np.where(fh, hi, np.where(fl, lo, 0.0))
    rng = np.where(fl & fh & ~eq, hi - lo, np.nan)
    return sense, rhs, rng


def _columns(rm: RowModel) -> str:
    """COLUMNS section, column-major, with MARKER lines around runs of integer columns."""
    n, m = rm.n, rm.row_names.shape[0]
    A = sp.coo_matrix(rm.A)
    pieces_r = [A.row + 1]
    pieces_c = [A.col]
    pieces_v = [A.data]
    obj = np.flatnonzero(rm.c != 0)
    pieces_r.append(np.zeros(obj.size, np.int64))
    pieces_c.append(obj)
    pieces_v.append(rm.c[obj])
    if rm.q_lin is not None and rm.q_lin.nnz:
        Q = sp.coo_matrix(rm.q_lin)
        pieces_r.append(Q.row + 1 + m)
        pieces_c.append(Q.col)
        pieces_v.append(Q.data)
    r = np.concatenate(pieces_r).astype(np.int64)
    c = np.concatenate(pieces_c).astype(np.int64)
    v = np.concatenate(pieces_v).astype(float)
    keep = v != 0
    r, c, v = r[keep], c[keep], v[keep]
    empty = np.flatnonzero(np.bincount(c, minlength=n) == 0)  # keep every column declared
    r = np.concatenate([r, np.zeros(empty.size, np.int64)])
    c = np.concatenate([c, empty])
    v = np.concatenate([v, np.zeros(empty.size)])
    order = np.lexsort((r, c))
    r, c, v = r[order], c[order], v[order]
    names = np.concatenate([np.array(["obj"], dtype=object), rm.row_names, rm.q_names])
    isint = rm.vtype[c] != 0
    new_col = np.r_[True, c[1:] != c[:-1]]
    last_col = np.r_[c[1:] != c[:-1], True]
    start = isint & new_col & np.r_[True, ~isint[:-1]]
    stop = isint & last_col & np.r_[~isint[1:], True]
    pre = np.where(start, _INTORG, "")
    post = np.where(stop, _INTEND, "")
    return bulk_format("%s    %s  %s  " + FLOAT + "\n%s", pre, rm.col_names[c], names[r], v, post)


def _bounds(rm: RowModel) -> str:
    """BOUNDS lines; defaults ([0, inf) continuous) are omitted, integer bounds always explicit."""
    lb, ub, vt, names = rm.lb, rm.ub, rm.vtype, rm.col_names
    isint = vt != 0
    binary = (vt == BINARY) & (lb == 0) & (ub == 1)
    fixed = ~binary & (lb == ub)
    free = ~binary & np.isneginf(lb) & np.isposinf(ub)
    rest = ~(binary | fixed | free)
    mi = rest & np.isneginf(lb)
    lo = rest & np.isfinite(lb) & ((lb != 0) | isint)
    up = rest & np.isfinite(ub)
    pl = rest & isint & np.isposinf(ub)
    out = [
        bulk_format(" BV BND       %s\n", names[binary]),
        bulk_format(" FR BND       %s\n", names[free]),
        bulk_format(" MI BND       %s\n", names[mi]),
        bulk_format(" FX BND       %s  " + FLOAT + "\n", names[fixed], lb[fixed]),
        bulk_format(" LO BND       %s  " + FLOAT + "\n", names[lo], lb[lo]),
        bulk_format(" UP BND       %s  " + FLOAT + "\n", names[up], ub[up]),
        bulk_format(" PL BND       %s\n", names[pl]),
    ]
    return "".join(out)
