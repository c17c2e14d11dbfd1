"""CPLEX-LP writer for the canonical conic form (linear rows, SOC/RSOC as ``[ ... ]`` rows).

Layout::

    \\ comments
    Maximize | Minimize
     obj: + 1 x_0 + 2 x_1 + 3 obj_constant     (constant: a column fixed at 1, see below)
    Subject To
     rows_0: + 1 x_0 + 2 x_1 <= 4
     qc_0: [ - 1 slack_0 ^2 + 1 slack_1 ^2 + 1 slack_2 ^2 ] <= 0
     qc_1: [ - 2 slack_3 * slack_4 + 1 slack_5 ^2 ] <= 0
    Bounds
     ...
    Generals / Binaries
     ...
    End

Conventions, checked by reading the written files with each solver (tests/test_io_roundtrip.py):

* the objective constant is the coefficient of a column ``obj_constant`` fixed at 1 (Gurobi's
  own convention): Gurobi 13 reads a bare trailing number in the objective as a *variable* named
  after the number, while SCIP, HiGHS, CPLEX and Xpress read it as a constant;
* squares are written ``x ^2``: SCIP's LP reader takes the ``2`` of ``x ^ 2`` for the
  coefficient of the next term and rejects the row;
* cones go through slack columns exactly as in the MPS writer (:mod:`dro_opt.io._rows`). Lines
are broken every 8 terms (CPLEX limits LP lines to 510 characters). Names are identifiers, none
starting with ``e``/``E`` (which LP readers may take for an exponent).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from dro_opt.conic.problem import BINARY, MAX, ConicProblem
from dro_opt.errors import InvalidModelError
from dro_opt.io._rows import RowModel, conic_to_rows
from dro_opt.io._text import FLOAT, bulk_format

_PER_LINE = 8
CONSTANT_NAME = "obj_constant"


def lp_text(problem: ConicProblem) -> str:
    """CPLEX-LP text of ``problem``; exp/pow cones raise UnsupportedFormatError."""
    return rows_to_lp(conic_to_rows(problem, ".lp"), problem)


def rows_to_lp(rm: RowModel, problem: ConicProblem | None = None) -> str:
    """CPLEX-LP text of a row model (quadratic rows must have no linear part)."""
    n = rm.n
    if n == 0:
        raise InvalidModelError("an .lp file needs at least one variable; the model has none")
    if rm.q_lin is not None and rm.q_lin.nnz:
        raise InvalidModelError("internal: LP writer expects pure quadratic cone rows")
    desc = f" ({problem.problem_class()})" if problem is not None else ""
    out = [
        f"\\ dro_opt model '{rm.name}'{desc}: {rm.n_model_vars or n} variables, "
        f"{rm.row_names.shape[0]} rows, {rm.nq} quadratic cone rows\n"
        "\\ Second-order cones as slack columns slack_k = b - A x with one [ ] row each:\n"
        "\\   SOC  sum_(i>=1) s_i^2 - s_0^2 <= 0, s_0 >= 0;  RSOC sum_(i>=2) s_i^2 - 2 s_0 s_1 "
        "<= 0, s_0, s_1 >= 0\n"
    ]
    out.append("Maximize\n" if rm.sense == MAX else "Minimize\n")
    # ------------------------------------------------------------ objective
    obj = np.flatnonzero(rm.c != 0)
    if obj.size == 0:
        obj = np.array([0])
    cname = _constant_name(rm.col_names)
    const = ""
    if rm.c0 != 0:
        sign = "-" if rm.c0 < 0 else "+"
        const = f"\n    {sign} {FLOAT % abs(rm.c0)} {cname}"
    out.append(
        _terms(
            np.zeros(obj.size, np.int64),
            obj,
            rm.c[obj],
            rm.col_names,
            np.array([" obj:"], dtype=object),
            np.array([const + "\n"], dtype=object),
        )
    )
    # ----------------------------------------------------------- linear rows
    out.append("Subject To\n")
    m = rm.row_names.shape[0]
    if m:
        A = sp.coo_matrix(rm.A)
        r, c, v = A.row.astype(np.int64), A.col.astype(np.int64), A.data
        keep = v != 0
        r, c, v = r[keep], c[keep], v[keep]
        empty = np.flatnonzero(np.bincount(r, minlength=m) == 0)
        r = np.concatenate([r, empty])
        c = np.concatenate([c, np.zeros(empty.size, np.int64)])
        v = np.concatenate([v, np.zeros(empty.size)])
        order = np.lexsort((c, r))
        heads = np.char.add(np.char.add(" ", rm.row_names.astype(str)), ":").astype(object)
        out.append(
            _terms(r[order], c[order], v[order], rm.col_names, heads, _tails(rm.row_lo, rm.row_hi))
        )
    # -------------------------------------------------------- quadratic rows
    if rm.nq:
        upper = rm.q_i <= rm.q_j  # off-diagonal pairs are stored on both sides
        qr, qi, qj = rm.q_row[upper], rm.q_i[upper], rm.q_j[upper]
        qv = np.where(qi == qj, rm.q_val[upper], 2.0 * rm.q_val[upper])
        order = np.lexsort((qj, qi, qr))
        qr, qi, qj, qv = qr[order], qi[order], qj[order], qv[order]
        mono = np.where(
            qi == qj,
            np.char.add(rm.col_names[qi].astype(str), " ^2"),
            np.char.add(
                np.char.add(rm.col_names[qi].astype(str), " * "), rm.col_names[qj].astype(str)
            ),
        ).astype(object)
        heads = np.char.add(np.char.add(" ", rm.q_names.astype(str)), ": [").astype(object)
        tails = np.char.add(" ]", _tails(rm.q_lo, rm.q_hi).astype(str)).astype(object)
        out.append(_terms(qr, np.arange(qr.size), qv, mono, heads, tails))
    # ---------------------------------------------------------------- bounds
    out.append("Bounds\n")
    out.append(_bounds(rm))
    if rm.c0 != 0:
        out.append(f" {cname} = 1\n")
    isint = rm.vtype != 0
    binary = (rm.vtype == BINARY) & (rm.lb == 0) & (rm.ub == 1)
    general = isint & ~binary
    if general.any():
        out.append("Generals\n" + bulk_format(" %s\n", rm.col_names[general]))
    if binary.any():
        out.append("Binaries\n" + bulk_format(" %s\n", rm.col_names[binary]))
    out.append("End\n")
    return "".join(out)


def _constant_name(names: np.ndarray) -> str:
    """``obj_constant`` (with trailing ``_`` added until it is not a column name)."""
    taken = set(names.tolist())
    name = CONSTANT_NAME
    while name in taken:
        name += "_"
    return name


def _tails(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """`` <= rhs``/`` >= rhs``/`` = rhs`` endings (ranged rows: ``>= lo`` part is impossible in
    one CPLEX-LP row, so the writer only ever receives one-sided or equality rows)."""
    eq = lo == hi
    fl, fh = np.isfinite(lo), np.isfinite(hi)
    if (fl & fh & ~eq).any():
        raise InvalidModelError("internal: ranged rows are split before writing .lp")
    op = np.select([eq, fh, fl], [" = ", " <= ", " >= "], default=" >= ")
    val = np.where(fh, hi, np.where(fl, lo, -1e30))
    rhs = np.array(bulk_format(FLOAT + "\n", val).splitlines(), dtype=object) if val.size else val
    return (op.astype(object) + rhs + "\n").astype(object)


def _terms(
    group: np.ndarray,
    idx: np.ndarray,
    vals: np.ndarray,
    names: np.ndarray,
    heads: np.ndarray,
    tails: np.ndarray,
) -> str:
    """``head + c1 name1 + c2 name2 ... tail`` for each group, terms sorted by group.

    ``names[idx[k]]`` is the monomial text of term ``k``; ``heads``/``tails`` are indexed by
    group. Lines are broken after every ``_PER_LINE`` terms of a group.
    """
    if group.size == 0:
        return ""
    first = np.r_[True, group[1:] != group[:-1]]
    last = np.r_[group[1:] != group[:-1], True]
    start = np.flatnonzero(first)
    rank = np.arange(group.size) - np.repeat(start, np.diff(np.r_[start, group.size]))
    pre = np.where(first, heads[group], np.where(rank % _PER_LINE == 0, "\n   ", ""))
    post = np.where(last, tails[group], "")
    sign = np.where(np.signbit(vals), "-", "+")
    return bulk_format("%s %s " + FLOAT + " %s%s", pre, sign, np.abs(vals), names[idx], post)


def _bounds(rm: RowModel) -> str:
    """Bounds lines; defaults ([0, inf) continuous, [0, 1] binaries) are omitted."""
    lb, ub, vt, names = rm.lb, rm.ub, rm.vtype, rm.col_names
    isint = vt != 0
    binary = (vt == BINARY) & (lb == 0) & (ub == 1)
    fixed = ~binary & (lb == ub)
    free = ~binary & np.isneginf(lb) & np.isposinf(ub)
    rest = ~(binary | fixed | free)
    lo_inf = rest & np.isneginf(lb)  # -inf <= x <= u
    both = rest & np.isfinite(lb) & np.isfinite(ub)
    lo_only = rest & np.isfinite(lb) & np.isposinf(ub) & ((lb != 0) | isint)
    return "".join(
        [
            bulk_format(" %s free\n", names[free]),
            bulk_format(" %s = " + FLOAT + "\n", names[fixed], lb[fixed]),
            bulk_format(" -inf <= %s <= " + FLOAT + "\n", names[lo_inf], ub[lo_inf]),
            bulk_format(" " + FLOAT + " <= %s <= " + FLOAT + "\n", lb[both], names[both], ub[both]),
            bulk_format(" %s >= " + FLOAT + "\n", names[lo_only], lb[lo_only]),
        ]
    )
