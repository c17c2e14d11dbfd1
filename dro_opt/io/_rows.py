"""Row-wise (algebraic) view of a model, shared by the ``.mps`` and ``.lp`` writers and readers.

Writing (:func:`conic_to_rows`): the canonical form ``A x + s = b, s in K`` (docs/conventions.md,
'Canonical conic form') becomes rows an MPS/LP file can hold, by the same exact lowering the
quadratic-constraint backends use (:mod:`dro_opt.reformulations.soc_to_quadratic`):

* ``zero`` rows      ->  ``a_i'x = b_i``
* ``nonneg`` rows    ->  ``a_i'x <= b_i``
* a second-order cone ``s in SOC(d)`` (d >= 2): one slack variable per cone row,
  ``a_i'x + s_i = b_i`` (so ``s = b - A x``), ``s_0 >= 0``, and the quadratic row
  ``sum_{i>=1} s_i^2 - s_0^2 <= 0``;
* a rotated cone ``2 s_0 s_1 >= ||s_{2:}||^2`` (d >= 3): slacks as above, ``s_0, s_1 >= 0`` and
  ``sum_{i>=2} s_i^2 - 2 s_0 s_1 <= 0``.
* degenerate cones ``SOC(1)`` (``s_0 >= 0``) and ``RSOC(2)`` (``s_0, s_1 >= 0``) are plain
  ``nonneg`` rows.

Quadratic rows are stored as entries ``(row, i, j, q)`` of ``x'Qx`` with ``Q`` symmetric and every
off-diagonal pair written on both sides (the MPS ``QCMATRIX`` convention of CPLEX, Gurobi,
Xpress, MOSEK and SCIP); a diagonal entry appears once.

Reading (:func:`rows_to_conic`): linear rows ``lo <= a'x <= hi`` become ``zero``/``nonneg`` rows,
and each quadratic row, brought to the form ``a'x + x'Qx <= r``, must match one of

1. ``sum_i d_i y_i^2 - d_0 t^2 <= r`` with ``d > 0``, ``r <= 0``, ``a = 0``, ``t >= 0`` (bound):
   ``(sqrt(d_0) t, sqrt(d_i) y_i, sqrt(-r)) in SOC``;
2. ``sum_i d_i y_i^2 - 2 k u v <= r`` with ``k > 0``, ``r <= 0``, ``a = 0``, ``u, v >= 0``:
   ``(k u, v, sqrt(d_i) y_i, sqrt(-r)) in RSOC``;
3. ``sum_i d_i y_i^2 + a'x <= r`` with ``d > 0``: ``(r - a'x, 1/2, sqrt(d_i) y_i) in RSOC``.

Anything else (ranged or equality quadratics, non-diagonal convex forms, nonconvex forms, missing
sign bounds) raises :class:`~dro_opt.errors.UnsupportedFormatError` naming the row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from dro_opt.conic.cones import NONNEG, RSOC, SOC, ZERO, ConeRun
from dro_opt.conic.problem import BINARY, CONTINUOUS, ConicProblem, VarBlock
from dro_opt.errors import CapabilityError, UnsupportedFormatError
from dro_opt.reformulations.soc_to_quadratic import SUPPORTED, lower_to_quadratic

_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass
class RowModel:
    """``min/max c'x + c0`` s.t. ``row_lo <= A x <= row_hi``, quadratic rows, bounds, types.

    Quadratic row ``k``: ``q_lo[k] <= q_lin[k] x + sum_{e: q_row[e]=k} q_val[e] x_{q_i[e]}
    x_{q_j[e]} <= q_hi[k]``.
    """

    sense: str
    c: np.ndarray
    c0: float
    col_names: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    vtype: np.ndarray
    row_names: np.ndarray
    A: sp.csr_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    q_names: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    q_lin: sp.csr_matrix | None = None
    q_row: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    q_i: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    q_j: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    q_val: np.ndarray = field(default_factory=lambda: np.zeros(0))
    q_lo: np.ndarray = field(default_factory=lambda: np.zeros(0))
    q_hi: np.ndarray = field(default_factory=lambda: np.zeros(0))
    name: str = "model"
    n_model_vars: int = 0  # columns of the original model (the rest are cone slacks)

    @property
    def n(self) -> int:
        return int(self.c.shape[0])

    @property
    def nq(self) -> int:
        return int(self.q_names.shape[0])


# ======================================================================== names
def _block_names(blocks: dict, total: int, generic: str, kind: str) -> np.ndarray:
    """``<block>_<k>`` names where block names are plain identifiers, else ``<generic><j>``.

    Names must be valid in both MPS and CPLEX-LP files: a letter first, then letters, digits or
    ``_``; names starting with ``e``/``E`` are prefixed with ``v_`` (LP readers may take them for
    an exponent). Any clash falls back to generic names for all.
    """
    names = np.array([f"{generic}{j}" for j in range(total)], dtype=object)
    if total == 0:
        return names
    covered = np.zeros(total, dtype=bool)
    for blk in blocks.values():
        start = int(blk.start)
        size = int(blk.size if kind == "var" else blk.rows)
        if size == 0:
            continue
        base = re.sub(r"[^A-Za-z0-9_]", "_", str(blk.name))
        if not _IDENT.match(base) or base[0] in "eE":
            base = "v_" + base
        if covered[start : start + size].any():
            return np.array([f"{generic}{j}" for j in range(total)], dtype=object)
        names[start : start + size] = np.char.add(base + "_", np.arange(size).astype(str)).astype(
            object
        )
        covered[start : start + size] = True
    if len(set(names.tolist())) != total:
        return np.array([f"{generic}{j}" for j in range(total)], dtype=object)
    return names


# ================================================================ conic -> rows
def conic_to_rows(problem: ConicProblem, fmt: str) -> RowModel:
    """Row-wise view of ``problem`` for an ``.mps``/``.lp`` writer (see module docstring).

    Raises
    ------
    UnsupportedFormatError
        If the model holds exponential or power cones, which ``fmt`` cannot express.
    """
    try:
        form = lower_to_quadratic(problem, f"a {fmt} file")
    except CapabilityError:
        bad = sorted(problem.cone_kinds() - SUPPORTED)
        raise UnsupportedFormatError(
            f"a {fmt} file cannot hold {', '.join(bad)} cones (model {problem.name!r}); write "
            "it as .cbf instead, which holds exponential and power cones exactly"
        ) from None
    n, m = problem.n, problem.m
    ns = form.num_cols - n
    col_names = np.concatenate(
        [
            _block_names(problem.var_blocks, n, "x", "var"),
            np.array([f"slack_{k}" for k in range(ns)], dtype=object),
        ]
    )
    if len(set(col_names.tolist())) != col_names.size:  # a block called 'slack'
        col_names = np.array(
            [f"x{j}" for j in range(n)] + [f"slack_{k}" for k in range(ns)], dtype=object
        )
    row_names = _block_names(problem.con_blocks, m, "c", "con")
    nq = form.num_quadratic
    qr, qi, qj, qv = form.symmetric_entries()
    return RowModel(
        sense=problem.sense,
        c=form.c,
        c0=problem.c0,
        col_names=col_names,
        lb=form.lb,
        ub=form.ub,
        vtype=form.vtype,
        row_names=row_names,
        A=form.A,
        row_lo=np.where(form.row_sense == "E", form.rhs, -np.inf),
        row_hi=form.rhs.copy(),
        q_names=np.array([f"qc_{k}" for k in range(nq)], dtype=object),
        q_lin=sp.csr_matrix((nq, n + ns)),
        q_row=qr,
        q_i=qi,
        q_j=qj,
        q_val=qv,
        q_lo=np.full(nq, -np.inf),
        q_hi=np.zeros(nq),
        name=problem.name,
        n_model_vars=n,
    )


def _row_layout(
    cones: list[ConeRun], m: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: cone kind, position inside its cone, cone index, cone dimension."""
    kinds = np.empty(m, dtype=object)
    pos = np.zeros(m, dtype=np.int64)
    cid = np.zeros(m, dtype=np.int64)
    dims = np.zeros(m, dtype=np.int64)
    off = 0
    base = 0
    for run in cones:
        r = run.rows
        kinds[off : off + r] = run.kind
        pos[off : off + r] = np.tile(np.arange(run.dim), run.count)
        cid[off : off + r] = base + np.repeat(np.arange(run.count), run.dim)
        dims[off : off + r] = run.dim
        off += r
        base += run.count
    return kinds, pos, cid, dims


# ================================================================ rows -> conic
def rows_to_conic(rm: RowModel, where: str) -> ConicProblem:
    """Canonical form of a parsed row model; quadratic rows must be SOC patterns (docstring)."""
    n = rm.n
    A = sp.csr_matrix(rm.A)
    lo, hi = rm.row_lo, rm.row_hi
    if ((lo > hi) & np.isfinite(lo) & np.isfinite(hi)).any():
        k = int(np.argmax(lo > hi))
        raise UnsupportedFormatError(
            f"{where}: row {rm.row_names[k]!r} has an empty range [{lo[k]}, {hi[k]}]"
        )
    eq = lo == hi
    up = np.isfinite(hi) & ~eq
    dn = np.isfinite(lo) & ~eq
    ie, iu, il = np.flatnonzero(eq), np.flatnonzero(up), np.flatnonzero(dn)
    blocks_A = [A[ie], A[iu], -A[il]]
    blocks_b = [hi[ie], hi[iu], -lo[il]]
    runs = [ConeRun(ZERO, 1, ie.size), ConeRun(NONNEG, 1, iu.size + il.size)]
    if rm.nq:
        qa, qb, qruns = _quadratic_cones(rm, where)
        blocks_A.append(qa)
        blocks_b.append(qb)
        runs.extend(qruns)
    Afull = sp.vstack(blocks_A, format="csr") if blocks_A else sp.csr_matrix((0, n))
    vtype = rm.vtype.copy()
    return ConicProblem(
        c=rm.c,
        A=Afull,
        b=np.concatenate(blocks_b),
        cones=runs,
        lb=rm.lb,
        ub=rm.ub,
        vtype=vtype,
        sense=rm.sense,
        c0=rm.c0,
        var_blocks=blocks_from_names(rm.col_names),
        name=rm.name,
    )


def blocks_from_names(names: np.ndarray) -> dict[str, VarBlock]:
    """Variable blocks from names ``<block>_<k>`` (k = 0, 1, ... in order); else one block."""
    n = int(names.shape[0])
    single = {"x": VarBlock("x", 0, n, (n,))}
    if n == 0:
        return single
    parts = np.char.rpartition(names.astype(str), "_")
    prefix, sep, idx = parts[:, 0], parts[:, 1], parts[:, 2]
    if (sep != "_").any() or not np.char.isdigit(idx).all():
        return single
    k = idx.astype(np.int64)
    starts = np.flatnonzero(np.r_[True, prefix[1:] != prefix[:-1]])
    run_id = np.cumsum(np.isin(np.arange(n), starts)) - 1
    if not np.array_equal(k, np.arange(n) - starts[run_id]):
        return single
    labels = prefix[starts]
    if len(set(labels.tolist())) != labels.size:
        return single
    sizes = np.diff(np.r_[starts, n])
    return {
        str(lab): VarBlock(str(lab), int(s), int(z), (int(z),))
        for lab, s, z in zip(labels, starts, sizes, strict=True)
    }


def _quadratic_cones(rm: RowModel, where: str) -> tuple[sp.csr_matrix, np.ndarray, list[ConeRun]]:
    """Recognise the SOC patterns of the module docstring in all quadratic rows at once."""
    nq, n = rm.nq, rm.n
    qlin = sp.csr_matrix(rm.q_lin) if rm.q_lin is not None else sp.csr_matrix((nq, n))
    lo, hi = rm.q_lo, rm.q_hi
    name = rm.q_names
    both = np.isfinite(lo) & np.isfinite(hi)
    if both.any():
        k = int(np.argmax(both))
        kind = "an equality" if lo[k] == hi[k] else "a ranged"
        raise UnsupportedFormatError(
            f"{where}: quadratic row {name[k]!r} is {kind} constraint, which is not convex; "
            "only 'x'Qx + a'x <= r' (or >=) second-order-cone forms can be read"
        )
    if (~np.isfinite(lo) & ~np.isfinite(hi)).any():
        k = int(np.argmax(~np.isfinite(lo) & ~np.isfinite(hi)))
        raise UnsupportedFormatError(f"{where}: quadratic row {name[k]!r} has no sense/bound")
    # bring every row to  a'x + x'Qx <= r  (flip '>=' rows)
    flip = np.isfinite(lo)
    sgn = np.where(flip, -1.0, 1.0)
    r = np.where(flip, -lo, hi)
    qlin = sp.diags(sgn) @ qlin
    qlin.eliminate_zeros()
    # symmetric total coefficient of each monomial x_a x_b (a <= b)
    a = np.minimum(rm.q_i, rm.q_j)
    b = np.maximum(rm.q_i, rm.q_j)
    v = rm.q_val * sgn[rm.q_row]
    order = np.lexsort((b, a, rm.q_row))
    row, a, b, v = rm.q_row[order], a[order], b[order], v[order]
    new = np.r_[True, (np.diff(row) != 0) | (np.diff(a) != 0) | (np.diff(b) != 0)]
    grp = np.cumsum(new) - 1
    v = np.bincount(grp, weights=v)
    row, a, b = row[new], a[new], b[new]
    keep = v != 0
    row, a, b, v = row[keep], a[keep], b[keep], v[keep]
    diag = a == b
    cnt = lambda mask: np.bincount(row[mask], minlength=nq)  # noqa: E731
    n_pos, n_neg, n_off = cnt(diag & (v > 0)), cnt(diag & (v < 0)), cnt(~diag)
    n_off_neg = cnt(~diag & (v < 0))
    lin_nnz = np.diff(qlin.indptr)
    p1 = (n_off == 0) & (n_neg == 1) & (lin_nnz == 0) & (r <= 0)
    # pattern 2: one negative cross term u*v, no diagonal entry on u or v
    off_row = np.full(nq, -1, dtype=np.int64)
    off_idx = np.flatnonzero(~diag)
    off_row[row[off_idx]] = off_idx  # the single entry when n_off == 1
    p2 = (n_off == 1) & (n_off_neg == 1) & (n_neg == 0) & (lin_nnz == 0) & (r <= 0)
    if p2.any():
        e = off_row[p2]
        uvs = np.concatenate([a[e], b[e]])
        rows_uv = np.concatenate([row[e], row[e]])
        dkey = row[diag].astype(np.int64) * n + a[diag]
        clash = np.isin(rows_uv.astype(np.int64) * n + uvs, dkey)
        if clash.any():
            p2[rows_uv[clash]] = False
    p3 = (n_off == 0) & (n_neg == 0) & (n_pos >= 1)
    ok = p1 | p2 | p3
    if not ok.all():
        k = int(np.argmax(~ok))
        raise UnsupportedFormatError(
            f"{where}: quadratic row {name[k]!r} is not a second-order-cone form dro_opt can "
            "read; accepted: sum d_i y_i^2 <= d0 t^2 (t >= 0), sum d_i y_i^2 <= 2 k u v "
            "(u, v >= 0), or sum d_i y_i^2 + a'x <= r (all d_i > 0). Rewrite other convex "
            "quadratics with explicit cone slacks"
        )
    # sign bounds the cone needs: t >= 0 (pattern 1), u, v >= 0 (pattern 2)
    neg_e = np.flatnonzero(diag & (v < 0))
    heads = [(row[neg_e], a[neg_e])]
    if p2.any():
        e = off_row[p2]
        heads += [(row[e], a[e]), (row[e], b[e])]
    for hr, hv in heads:
        badlb = rm.lb[hv] < 0
        if badlb.any():
            k = int(np.flatnonzero(badlb)[0])
            raise UnsupportedFormatError(
                f"{where}: quadratic row {name[hr[k]]!r} bounds {rm.col_names[hv[k]]!r} from "
                f"below by a square, which is a cone only with {rm.col_names[hv[k]]!r} >= 0; "
                "add that lower bound (0) to the file"
            )
    # ---- assemble cone rows: (cone, position, col or -1, coefficient, constant)
    pieces_cone, pieces_pos, pieces_col, pieces_val, pieces_b = [], [], [], [], []

    def add(cone, p, col, val, const):
        pieces_cone.append(np.asarray(cone, np.int64))
        pieces_pos.append(np.broadcast_to(np.asarray(p, np.int64), np.shape(cone)))
        pieces_col.append(np.broadcast_to(np.asarray(col, np.int64), np.shape(cone)))
        pieces_val.append(np.broadcast_to(np.asarray(val, float), np.shape(cone)))
        pieces_b.append(np.broadcast_to(np.asarray(const, float), np.shape(cone)))

    # heads: pattern 1 -> sqrt(-d0) t ; pattern 2 -> (k u, v) with k = -w / 2
    add(row[neg_e], 0, a[neg_e], np.sqrt(-v[neg_e]), 0.0)
    if p2.any():
        e = off_row[p2]
        add(row[e], 0, a[e], -v[e] / 2.0, 0.0)
        add(row[e], 1, b[e], 1.0, 0.0)
    # pattern 3 -> (r - a'x, 1/2): the a'x part is added below from qlin
    i3 = np.flatnonzero(p3)
    add(i3, 0, -1, 0.0, r[i3])
    add(i3, 1, -1, 0.0, 0.5)
    # tails sqrt(d_i) y_i, positions after the head(s) in entry order
    pos_e = np.flatnonzero(diag & (v > 0))
    head_len = np.where(p1, 1, 2)
    first = np.searchsorted(row[pos_e], np.arange(nq))
    rank = np.arange(pos_e.size) - first[row[pos_e]]
    add(row[pos_e], head_len[row[pos_e]] + rank, a[pos_e], np.sqrt(v[pos_e]), 0.0)
    # constant tail sqrt(-r) when r < 0 (patterns 1 and 2)
    ic = np.flatnonzero((p1 | p2) & (r < 0))
    add(ic, head_len[ic] + n_pos[ic], -1, 0.0, np.sqrt(-r[ic]))

    cone = np.concatenate(pieces_cone)
    posn = np.concatenate(pieces_pos)
    col = np.concatenate(pieces_col)
    val = np.concatenate(pieces_val)
    const = np.concatenate(pieces_b)
    order = np.lexsort((posn, cone))
    cone, posn, col, val, const = cone[order], posn[order], col[order], val[order], const[order]
    nrows = cone.size
    # canonical s = b - A x and s_k = val * x_col + const  ->  A = -val, b = const
    has = col >= 0
    Aq = sp.csr_matrix((-val[has], (np.flatnonzero(has), col[has])), shape=(nrows, n))
    if i3.size:  # s_0 = r - a'x for pattern 3 -> add a'x to A on those rows
        r0 = np.flatnonzero(p3[cone] & (posn == 0))
        lin = qlin[cone[r0]].tocoo()
        Aq = Aq + sp.csr_matrix((lin.data, (r0[lin.row], lin.col)), shape=(nrows, n))
    dims = np.bincount(cone, minlength=nq)
    kinds = np.where(p1, SOC, RSOC)
    runs = [ConeRun(str(kd), int(d), 1) for kd, d in zip(kinds, dims, strict=True)]
    return sp.csr_matrix(Aq), const.astype(float), runs


def vtype_from_flags(integer: np.ndarray, binary: np.ndarray) -> np.ndarray:
    """``vtype`` codes from integer / binary flags."""
    return np.where(binary, BINARY, np.where(integer, 1, CONTINUOUS)).astype(np.int8)
