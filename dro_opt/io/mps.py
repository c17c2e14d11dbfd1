"""Free-format MPS files: :func:`write_mps` (see :mod:`dro_opt.io.mps_write`) and :func:`read_mps`.

The reader takes the sections NAME, OBJSENSE (value on the same or the next line), OBJNAME,
ROWS, COLUMNS (with ``MARKER`` ``INTORG``/``INTEND``), RHS (objective constant = minus the RHS of
the objective row), RANGES, BOUNDS (UP, LO, FX, FR, MI, PL, BV, LI, UI) and QCMATRIX, as written
by CPLEX, Gurobi, Xpress, MOSEK, SCIP, HiGHS and dro_opt. Quadratic rows must be second-order
cone patterns (:mod:`dro_opt.io._rows`). Integer columns without bounds get ``[0, +inf)``
(CPLEX/Gurobi convention); ``UP`` with a negative value on a column without lower bound sets
the lower bound to ``-inf`` (CPLEX/Gurobi/HiGHS convention).

Column data are parsed in bulk with numpy (name lookups by sorted search), so reading stays
linear in the file size with no per-coefficient Python logic.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from dro_opt.conic.problem import MAX, MIN, ConicProblem
from dro_opt.errors import ModelFileError, UnsupportedFormatError
from dro_opt.io._rows import RowModel, rows_to_conic, vtype_from_flags
from dro_opt.io._text import parse_floats, read_text
from dro_opt.io.mps_write import mps_text

_DATA_SECTIONS = {"ROWS", "COLUMNS", "RHS", "RANGES", "BOUNDS", "QCMATRIX", "OBJSENSE", "OBJSENCE"}
_UNSUPPORTED = {
    "QUADOBJ": "a quadratic objective",
    "QMATRIX": "a quadratic objective",
    "QSECTION": "a quadratic objective",
    "CSECTION": "MOSEK conic sections (write the model as .cbf instead)",
    "SOS": "SOS constraints",
    "INDICATORS": "indicator constraints",
    "GENCONS": "general constraints",
    "PWLOBJ": "piecewise-linear objectives",
    "LAZYCONS": "lazy constraints",
    "USERCUTS": "user cuts",
    "OBJSENSE_MULTI": "multiple objectives",
    "OBJECTIVES": "multiple objectives",
}
_KNOWN = _DATA_SECTIONS | set(_UNSUPPORTED) | {"NAME", "OBJNAME", "ENDATA"}


def write_mps(problem: ConicProblem, path: str | Path) -> None:
    """Write ``problem`` as free MPS to ``path`` atomically (``.gz`` compresses)."""
    from dro_opt.io.formats import write_model

    write_model(problem, path, fmt=".mps")


def read_mps(path: str | Path) -> ConicProblem:
    """Read a free-format MPS file into the canonical conic form."""
    return parse_mps(read_text(path), str(path))


def parse_mps(text: str, where: str = "<mps>") -> ConicProblem:
    """Parse free MPS ``text`` (``where`` names the file in error messages)."""
    return rows_to_conic(_parse(text, where), where)


# ============================================================================ parsing
class _Sections:
    """Split the file into (keyword, header tokens, header line, data lines, line numbers)."""

    def __init__(self, text: str, where: str) -> None:
        lines = text.splitlines()
        self.where = where
        self.items: list[tuple[str, list[str], int, list[str], np.ndarray]] = []
        heads = [
            i for i, ln in enumerate(lines) if ln[:1] not in ("", " ", "\t", "*") and ln.strip()
        ]
        if not heads:
            raise ModelFileError(
                f"{where}: empty file or no MPS sections (need ROWS, COLUMNS, ...)"
            )
        first = [i for i, ln in enumerate(lines) if ln.strip() and not ln.startswith("*")]
        if first and first[0] < heads[0]:
            raise ModelFileError(
                f"{where} line {first[0] + 1}: data before the first section header"
            )
        self.ended = False
        for k, h in enumerate(heads):
            toks = lines[h].split()
            key = toks[0].upper()
            if key not in _KNOWN:
                raise ModelFileError(
                    f"{where} line {h + 1}: unknown MPS section {toks[0]!r}; expected one of "
                    "NAME, OBJSENSE, ROWS, COLUMNS, RHS, RANGES, BOUNDS, QCMATRIX, ENDATA"
                )
            if key in _UNSUPPORTED:
                raise UnsupportedFormatError(
                    f"{where} line {h + 1}: section {key} ({_UNSUPPORTED[key]}) cannot be read "
                    "into dro_opt's conic form"
                )
            if key == "ENDATA":
                self.ended = True
                break
            stop = heads[k + 1] if k + 1 < len(heads) else len(lines)
            idx = [
                i
                for i in range(h + 1, stop)
                if lines[i].strip() and not lines[i].lstrip().startswith("*")
            ]
            self.items.append(
                (key, toks[1:], h + 1, [lines[i] for i in idx], np.array(idx, np.int64) + 1)
            )
        if not self.ended:
            raise ModelFileError(
                f"{where}: the file ends without ENDATA after line {len(lines)} (truncated?)"
            )


def _split(
    lines: list[str], ok_lens: tuple[int, ...], where: str, section: str, lineno: np.ndarray
) -> list[list[str]]:
    toks = [ln.split() for ln in lines]
    lens = np.fromiter(map(len, toks), dtype=np.int64, count=len(toks))
    bad = ~np.isin(lens, ok_lens)
    if bad.any():
        k = int(np.argmax(bad))
        raise ModelFileError(
            f"{where} line {int(lineno[k])}: {section} line has {lens[k]} fields, expected "
            f"{' or '.join(map(str, ok_lens))}: {lines[k].strip()!r}"
        )
    return toks


class _Lookup:
    """Vectorised name -> index lookup (sorted search)."""

    def __init__(self, names: np.ndarray) -> None:
        self.names = names.astype(str)
        self.order = np.argsort(self.names, kind="stable")
        self.sorted = self.names[self.order]

    def __call__(self, query: list[str], what: str, where: str, lineno: np.ndarray) -> np.ndarray:
        q = np.array(query, dtype=str) if query else np.zeros(0, dtype=str)
        if self.sorted.size == 0:
            if q.size:
                raise ModelFileError(f"{where} line {int(lineno[0])}: unknown {what} {q[0]!r}")
            return np.zeros(0, np.int64)
        pos = np.minimum(np.searchsorted(self.sorted, q), self.sorted.size - 1)
        bad = self.sorted[pos] != q
        if bad.any():
            k = int(np.argmax(bad))
            raise ModelFileError(
                f"{where} line {int(lineno[k])}: unknown {what} {q[k]!r} (not declared "
                f"{'in ROWS' if what == 'row' else 'in COLUMNS'})"
            )
        return self.order[pos].astype(np.int64)


def _parse(text: str, where: str) -> RowModel:
    secs = _Sections(text, where)
    name, sense, objname = "model", MIN, None
    row_names = row_types = None
    cols = rows_lu = None
    have: set[str] = set()
    rhs_entries: list[tuple[np.ndarray, np.ndarray]] = []
    rng_entries: list[tuple[np.ndarray, np.ndarray]] = []
    bnd_lines: tuple[list[list[str]], np.ndarray] | None = None
    q_parts: list[tuple[int, list[list[str]], np.ndarray]] = []
    for key, head, hline, lines, lineno in secs.items:
        if key == "NAME":
            name = " ".join(head) or "model"
        elif key in ("OBJSENSE", "OBJSENCE"):
            words = head + [w for ln in lines for w in ln.split()]
            if len(words) != 1 or words[0].upper() not in (
                "MAX",
                "MAXIMIZE",
                "MAXIMISE",
                "MIN",
                "MINIMIZE",
                "MINIMISE",
            ):
                raise ModelFileError(f"{where} line {hline}: OBJSENSE must be MIN or MAX")
            sense = MAX if words[0].upper().startswith("MAX") else MIN
        elif key == "OBJNAME":
            words = head + [w for ln in lines for w in ln.split()]
            if len(words) != 1:
                raise ModelFileError(f"{where} line {hline}: OBJNAME needs one row name")
            objname = words[0]
        elif key == "ROWS":
            toks = _split(lines, (2,), where, "ROWS", lineno)
            row_types = np.array([t[0].upper() for t in toks], dtype=str)
            row_names = np.array([t[1] for t in toks], dtype=str)
            bad = ~np.isin(row_types, ["N", "E", "L", "G"])
            if bad.any():
                k = int(np.argmax(bad))
                raise ModelFileError(
                    f"{where} line {int(lineno[k])}: row type {row_types[k]!r} is not N, E, L or G"
                )
            if np.unique(row_names).size != row_names.size:
                u, cnt = np.unique(row_names, return_counts=True)
                raise ModelFileError(f"{where}: row {u[cnt > 1][0]!r} is declared twice in ROWS")
            rows_lu = _Lookup(row_names)
        elif key == "COLUMNS":
            if rows_lu is None:
                raise ModelFileError(f"{where} line {hline}: COLUMNS before ROWS")
            cols = _columns(lines, lineno, rows_lu, where)
        elif key in ("RHS", "RANGES"):
            if cols is None:
                raise ModelFileError(f"{where} line {hline}: {key} before COLUMNS")
            target = rhs_entries if key == "RHS" else rng_entries
            target.append(_vector(lines, lineno, rows_lu, where, key))
        elif key == "BOUNDS":
            if cols is None:
                raise ModelFileError(f"{where} line {hline}: BOUNDS before COLUMNS")
            bnd_lines = (_split(lines, (2, 3, 4), where, "BOUNDS", lineno), lineno)
        elif key == "QCMATRIX":
            if cols is None:
                raise ModelFileError(f"{where} line {hline}: QCMATRIX before COLUMNS")
            if len(head) != 1:
                raise ModelFileError(f"{where} line {hline}: QCMATRIX needs one row name")
            r = int(rows_lu([head[0]], "row", where, np.array([hline]))[0])
            q_parts.append((r, _split(lines, (3,), where, "QCMATRIX", lineno), lineno))
        have.add(key)
    for need in ("ROWS", "COLUMNS"):
        if need not in have:
            raise ModelFileError(f"{where}: no {need} section; not an MPS model file")
    return _assemble(
        name,
        sense,
        objname,
        row_names,
        row_types,
        cols,
        rhs_entries,
        rng_entries,
        bnd_lines,
        q_parts,
        where,
    )


def _columns(lines: list[str], lineno: np.ndarray, rows_lu: _Lookup, where: str) -> dict:
    is_marker = np.array(["'MARKER'" in ln.upper() for ln in lines], dtype=bool)
    state = np.zeros(len(lines), dtype=bool)
    on = False
    for k in np.flatnonzero(is_marker):  # one iteration per MARKER line
        up = lines[k].upper()
        if "'INTORG'" in up:
            on = True
        elif "'INTEND'" in up:
            on = False
        else:
            raise ModelFileError(
                f"{where} line {int(lineno[k])}: MARKER must be 'INTORG' or 'INTEND'"
            )
        state[k:] = on
    data = np.flatnonzero(~is_marker)
    dl = [lines[k] for k in data]
    dn = lineno[data]
    toks = _split(dl, (3, 5), where, "COLUMNS", dn)
    colname = np.array([t[0] for t in toks], dtype=str)
    two = np.array([len(t) == 5 for t in toks], dtype=bool)
    rname = [t[1] for t in toks] + [t[3] for t in toks if len(t) == 5]
    vtok = [t[2] for t in toks] + [t[4] for t in toks if len(t) == 5]
    line_of = np.concatenate([dn, dn[two]])
    uniq, first, inv = np.unique(colname, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    col_of_line = rank[inv]
    n = uniq.size
    integer = np.zeros(n, dtype=bool)
    np.logical_or.at(integer, col_of_line, state[data])
    return {
        "names": uniq[order],
        "integer": integer,
        "row": rows_lu(rname, "row", where, line_of),
        "col": np.concatenate([col_of_line, col_of_line[two]]),
        "val": parse_floats(vtok, where, line_of),
        "lookup": _Lookup(uniq[order]),
    }


def _vector(lines, lineno, rows_lu, where, section) -> tuple[np.ndarray, np.ndarray]:
    toks = _split(lines, (2, 3, 4, 5), where, section, lineno)
    sets = {t[0] for t in toks if len(t) % 2 == 1}
    if len(sets) > 1:
        raise UnsupportedFormatError(
            f"{where}: {section} holds several vectors ({', '.join(sorted(sets))}); keep one"
        )
    body = [t[1:] if len(t) % 2 == 1 else t for t in toks]
    names = [b[0] for b in body] + [b[2] for b in body if len(b) == 4]
    vals = [b[1] for b in body] + [b[3] for b in body if len(b) == 4]
    ln = np.concatenate([lineno, lineno[[len(b) == 4 for b in body]]]) if body else lineno
    return rows_lu(names, "row", where, ln), parse_floats(vals, where, ln)


def _last(idx: np.ndarray, vals: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Value of the last assignment per column (file order) and a 'was assigned' mask."""
    out = np.full(n, np.nan)
    seen = np.zeros(n, dtype=bool)
    if idx.size:
        rev = idx[::-1]
        u, k = np.unique(rev, return_index=True)
        out[u] = vals[::-1][k]
        seen[u] = True
    return out, seen


def _bounds(bnd, cols: dict, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = cols["names"].size
    lb, ub = np.zeros(n), np.full(n, np.inf)
    integer = cols["integer"].copy()
    binary = np.zeros(n, dtype=bool)
    if bnd is None:
        return lb, ub, integer, binary
    toks, lineno = bnd
    typ = np.array([t[0].upper() for t in toks], dtype=str)
    valued = np.isin(typ, ["UP", "LO", "FX", "LI", "UI"])
    known = valued | np.isin(typ, ["FR", "MI", "PL", "BV"])
    if (typ == "SC").any():
        k = int(np.argmax(typ == "SC"))
        raise UnsupportedFormatError(
            f"{where} line {int(lineno[k])}: semi-continuous (SC) bounds cannot be read"
        )
    if not known.all():
        k = int(np.argmax(~known))
        raise ModelFileError(f"{where} line {int(lineno[k])}: unknown bound type {typ[k]!r}")
    lens = np.array([len(t) for t in toks], dtype=np.int64)
    if (valued & (lens < 3)).any():
        k = int(np.argmax(valued & (lens < 3)))
        raise ModelFileError(f"{where} line {int(lineno[k])}: bound {typ[k]} needs a value")
    colname = [
        t[-2] if v else (t[2] if len(t) >= 3 else t[1]) for t, v in zip(toks, valued, strict=True)
    ]
    col = cols["lookup"](colname, "column", where, lineno)
    val = np.zeros(len(toks))
    vi = np.flatnonzero(valued)
    val[vi] = parse_floats([toks[k][-1] for k in vi], where, lineno[vi])
    sets_lb = np.isin(typ, ["LO", "FX", "FR", "MI", "BV", "LI"])
    sets_ub = np.isin(typ, ["UP", "FX", "FR", "PL", "BV", "UI"])
    lbval = np.select([np.isin(typ, ["FR", "MI"]), typ == "BV"], [-np.inf, 0.0], default=val)
    ubval = np.select([np.isin(typ, ["FR", "PL"]), typ == "BV"], [np.inf, 1.0], default=val)
    new_lb, has_lb = _last(col[sets_lb], lbval[sets_lb], n)
    new_ub, has_ub = _last(col[sets_ub], ubval[sets_ub], n)
    last_up_neg, _ = _last(col[sets_ub], np.where(typ[sets_ub] == "UP", val[sets_ub], 0.0), n)
    lb = np.where(has_lb, new_lb, lb)
    ub = np.where(has_ub, new_ub, ub)
    lb = np.where(~has_lb & has_ub & (last_up_neg < 0), -np.inf, lb)
    integer[col[np.isin(typ, ["BV", "LI", "UI"])]] = True
    binary[col[typ == "BV"]] = True
    binary &= (lb == 0) & (ub == 1)
    return lb, ub, integer, binary


def _assemble(
    name,
    sense,
    objname,
    row_names,
    row_types,
    cols,
    rhs_entries,
    rng_entries,
    bnd_lines,
    q_parts,
    where,
) -> RowModel:
    m_all = row_names.size
    nrow = np.flatnonzero(row_types == "N")
    if objname is not None:
        hit = np.flatnonzero(row_names == objname)
        if hit.size == 0 or row_types[hit[0]] != "N":
            raise ModelFileError(f"{where}: OBJNAME {objname!r} is not an N row")
        obj = int(hit[0])
    elif nrow.size:
        obj = int(nrow[0])
    else:
        obj = -1
    n = cols["names"].size
    r, c, v = cols["row"], cols["col"], cols["val"]
    cvec = np.zeros(n)
    np.add.at(cvec, c[r == obj], v[r == obj])
    rhs = np.zeros(m_all)
    for ri, vi in rhs_entries:
        rhs[ri] = vi
    c0 = -float(rhs[obj]) if obj >= 0 else 0.0
    rngv = np.full(m_all, np.nan)
    for ri, vi in rng_entries:
        rngv[ri] = vi
    t = row_types
    has_r = ~np.isnan(rngv)
    R = np.abs(np.nan_to_num(rngv))
    lo = np.select([t == "E", t == "G", t == "L"], [rhs, rhs, rhs - R], default=-np.inf)
    hi = np.select([t == "E", t == "L", t == "G"], [rhs, rhs, rhs + R], default=np.inf)
    lo = np.where((t == "L") & ~has_r, -np.inf, lo)
    hi = np.where((t == "G") & ~has_r, np.inf, hi)
    e_neg = (t == "E") & has_r & (rngv < 0)
    e_pos = (t == "E") & has_r & (rngv > 0)
    lo = np.where(e_neg, rhs + rngv, lo)
    hi = np.where(e_pos, rhs + rngv, hi)
    lb, ub, integer, binary = _bounds(bnd_lines, cols, where)
    # quadratic rows
    qrows = np.array([p[0] for p in q_parts], dtype=np.int64)
    if qrows.size and (t[qrows] == "N").any():
        k = int(qrows[np.argmax(t[qrows] == "N")])
        raise UnsupportedFormatError(
            f"{where}: QCMATRIX on free row {row_names[k]!r} (a quadratic objective?) cannot be "
            "read"
        )
    if np.unique(qrows).size != qrows.size:
        raise ModelFileError(f"{where}: two QCMATRIX sections for one row")
    is_q = np.zeros(m_all, dtype=bool)
    is_q[qrows] = True
    qpos = np.full(m_all, -1, np.int64)
    qpos[qrows] = np.arange(qrows.size)
    lin_rows = np.flatnonzero((t != "N") & ~is_q)
    lpos = np.full(m_all, -1, np.int64)
    lpos[lin_rows] = np.arange(lin_rows.size)
    keep = lpos[r] >= 0
    A = sp.csr_matrix((v[keep], (lpos[r[keep]], c[keep])), shape=(lin_rows.size, n))
    keepq = qpos[r] >= 0
    q_lin = sp.csr_matrix((v[keepq], (qpos[r[keepq]], c[keepq])), shape=(qrows.size, n))
    qi, qj, qv, qr = [], [], [], []
    for k, (_row, toks, lineno) in enumerate(q_parts):
        qi.append(cols["lookup"]([x[0] for x in toks], "column", where, lineno))
        qj.append(cols["lookup"]([x[1] for x in toks], "column", where, lineno))
        qv.append(parse_floats([x[2] for x in toks], where, lineno))
        qr.append(np.full(len(toks), k, np.int64))
    cat = lambda xs, dt: np.concatenate(xs) if xs else np.zeros(0, dt)  # noqa: E731
    return RowModel(
        sense=sense,
        c=cvec,
        c0=c0,
        col_names=cols["names"].astype(object),
        lb=lb,
        ub=ub,
        vtype=vtype_from_flags(integer, binary),
        row_names=row_names[lin_rows].astype(object),
        A=A,
        row_lo=lo[lin_rows],
        row_hi=hi[lin_rows],
        q_names=row_names[qrows].astype(object),
        q_lin=q_lin,
        q_row=cat(qr, np.int64),
        q_i=cat(qi, np.int64),
        q_j=cat(qj, np.int64),
        q_val=cat(qv, float),
        q_lo=lo[qrows],
        q_hi=hi[qrows],
        name=name,
    )


__all__ = ["mps_text", "parse_mps", "read_mps", "write_mps"]
