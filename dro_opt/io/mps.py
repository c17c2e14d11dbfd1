"""Free-format MPS files: :func:`write_mps` (see :mod:`dro_opt.io.mps_write`) and :func:`read_mps`.

The reader takes the sections NAME, OBJSENSE (value on the same or the next line), OBJNAME,
ROWS, COLUMNS (with ``MARKER`` ``INTORG``/``INTEND``), RHS (objective constant = minus the RHS of
the objective row), RANGES, BOUNDS (UP, LO, FX, FR, MI, PL, BV, LI, UI) and QCMATRIX, as written
by CPLEX, Gurobi, Xpress, MOSEK, SCIP, HiGHS and dro_opt. Quadratic rows must be second-order
cone patterns (:mod:`dro_opt.io._rows`). An integer (MARKER) column named in no BOUNDS line is
binary, ``[0, 1]``, as SCIP, HiGHS, Gurobi, CPLEX and Xpress all read it (measured; any bound
line gives the usual ``[0, +inf)`` defaults for the other side). Repeated QCMATRIX entries are
summed (the ``x'Qx`` meaning SCIP uses when it writes each off-diagonal pair twice; Gurobi and
CPLEX reject such files). ``UP`` with a negative value on a column without lower bound sets
the lower bound to ``-inf`` as Gurobi and CPLEX do (measured: SCIP and HiGHS keep 0, Xpress
refuses the file); ``OBJSENSE MAX`` on the header line counts, as in Gurobi, SCIP and Xpress
(HiGHS and CPLEX ignore it there).

Each section is tokenised in bulk (one ``str.split`` per section, token counts per line from the
bytes with numpy) and names are mapped by C-level dict lookups, so reading stays linear in the
file size with no per-coefficient Python logic.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from dro_opt.conic.problem import MAX, MIN, ConicProblem
from dro_opt.errors import ModelFileError, UnsupportedFormatError
from dro_opt.io._rows import RowModel, rows_to_conic, vtype_from_flags
from dro_opt.io._text import lookup, parse_floats, read_text, token_table
from dro_opt.io._write import write_model_file
from dro_opt.io.mps_write import mps_text
from dro_opt.reformulations.soc_to_quadratic import SUPPORTED

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

DESCRIPTION = "free MPS"
CONES = SUPPORTED  # what a .mps file holds


def write_mps(problem: ConicProblem, path: str | Path) -> None:
    """Write ``problem`` as free MPS to ``path`` atomically (``.gz`` compresses)."""
    write_model_file(
        problem, path, suffix=".mps", description=DESCRIPTION, cones=CONES, to_text=mps_text
    )


def read_mps(path: str | Path) -> ConicProblem:
    """Read a free-format MPS file into the canonical conic form."""
    return parse_mps(read_text(path), str(path))


def parse_mps(text: str, where: str = "<mps>") -> ConicProblem:
    """Parse free MPS ``text`` (``where`` names the file in error messages)."""
    return rows_to_conic(_parse(text, where), where)


# ============================================================================ parsing
_HEAD = re.compile(r"^[^ \t*\r\n]", re.M)
_NOISE = re.compile(r"^[ \t\r]*(\*|$)", re.M)


class _Sections:
    """Split the file into (keyword, header tokens, header line, data lines, line numbers)."""

    def __init__(self, text: str, where: str) -> None:
        lines = text.split("\n")
        self.where = where
        self.items: list[tuple[str, list[str], int, list[str], np.ndarray]] = []
        heads, pos, line = [], 0, 0
        for mt in _HEAD.finditer(text):  # one iteration per section header
            line += text.count("\n", pos, mt.start())
            pos = mt.start()
            heads.append(line)
        if not heads:
            raise ModelFileError(
                f"{where}: empty file or no MPS sections (need ROWS, COLUMNS, ...)"
            )
        before = [i for i in range(heads[0]) if not _NOISE.match(lines[i])]
        if before:
            raise ModelFileError(
                f"{where} line {before[0] + 1}: data before the first section header"
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
            body = lines[h + 1 : stop]
            idx = np.arange(h + 1, stop)
            if _NOISE.search("\n".join(body)):  # comments or blank lines inside: drop them
                keep = [i for i, ln in enumerate(body) if not _NOISE.match(ln)]
                body, idx = [body[i] for i in keep], idx[keep]
            self.items.append((key, toks[1:], h + 1, body, idx + 1))
        if not self.ended:
            raise ModelFileError(
                f"{where}: the file ends without ENDATA after line {len(lines)} (truncated?)"
            )


def _table(
    lines: list[str], ok: tuple[int, ...], where: str, section: str, lineno: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tokens, tokens per line and line offsets; a line with a field count not in ``ok`` fails."""
    toks, counts, off = token_table(lines)
    bad = ~np.isin(counts, ok)
    if bad.any():
        k = int(np.argmax(bad))
        raise ModelFileError(
            f"{where} line {int(lineno[k])}: {section} line has {counts[k]} fields, expected "
            f"{' or '.join(map(str, ok))}: {lines[k].strip()!r}"
        )
    return toks, counts, off


def _find(
    index: dict[str, int], names: np.ndarray, what: str, where: str, lineno: np.ndarray
) -> np.ndarray:
    """Indices of ``names``; an unknown name raises ModelFileError naming its line."""
    idx = lookup(index, names)
    bad = idx < 0
    if bad.any():
        k = int(np.argmax(bad))
        decl = "in ROWS" if what == "row" else "in COLUMNS"
        raise ModelFileError(
            f"{where} line {int(lineno[k])}: unknown {what} {str(names[k])!r} (not declared {decl})"
        )
    return idx


def _parse(text: str, where: str) -> RowModel:
    secs = _Sections(text, where)
    name, sense, objname = "model", MIN, None
    row_names = row_types = rows_ix = None
    cols = None
    have: set[str] = set()
    rhs_entries: list[tuple[np.ndarray, np.ndarray]] = []
    rng_entries: list[tuple[np.ndarray, np.ndarray]] = []
    bnd = None
    q_parts: list[tuple[int, list[str], np.ndarray]] = []
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
            toks, _, off = _table(lines, (2,), where, "ROWS", lineno)
            row_types = np.char.upper(toks[off].astype(str))
            row_names = toks[off + 1]
            bad = ~np.isin(row_types, ["N", "E", "L", "G"])
            if bad.any():
                k = int(np.argmax(bad))
                raise ModelFileError(
                    f"{where} line {int(lineno[k])}: row type {row_types[k]!r} is not N, E, L or G"
                )
            rows_ix = {nm: i for i, nm in enumerate(row_names.tolist())}
            if len(rows_ix) != row_names.size:
                u, cnt = np.unique(row_names.astype(str), return_counts=True)
                raise ModelFileError(f"{where}: row {u[cnt > 1][0]!r} is declared twice in ROWS")
        elif key == "COLUMNS":
            if rows_ix is None:
                raise ModelFileError(f"{where} line {hline}: COLUMNS before ROWS")
            cols = _columns(lines, lineno, rows_ix, where)
        elif key in ("RHS", "RANGES"):
            if cols is None:
                raise ModelFileError(f"{where} line {hline}: {key} before COLUMNS")
            target = rhs_entries if key == "RHS" else rng_entries
            target.append(_vector(lines, lineno, rows_ix, where, key))
        elif key == "BOUNDS":
            if cols is None:
                raise ModelFileError(f"{where} line {hline}: BOUNDS before COLUMNS")
            bnd = (*_table(lines, (2, 3, 4), where, "BOUNDS", lineno), lineno)
        elif key == "QCMATRIX":
            if cols is None:
                raise ModelFileError(f"{where} line {hline}: QCMATRIX before COLUMNS")
            if len(head) != 1:
                raise ModelFileError(f"{where} line {hline}: QCMATRIX needs one row name")
            r = int(
                _find(rows_ix, np.array(head, dtype=object), "row", where, np.array([hline]))[0]
            )
            q_parts.append((r, lines, lineno))
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
        bnd,
        q_parts,
        where,
    )


def _columns(lines: list[str], lineno: np.ndarray, rows_ix: dict, where: str) -> dict:
    toks, counts, off = _table(lines, (3, 5), where, "COLUMNS", lineno)
    second = toks[off + 1]
    is_marker = (counts == 3) & np.isin(second, ["'MARKER'", "'marker'", "'Marker'"])
    state = np.zeros(len(lines), dtype=bool)
    on = False
    for k in np.flatnonzero(is_marker):  # one iteration per MARKER line
        kind = str(toks[off[k] + 2]).upper()
        if kind not in ("'INTORG'", "'INTEND'"):
            raise ModelFileError(
                f"{where} line {int(lineno[k])}: MARKER must be 'INTORG' or 'INTEND'"
            )
        on = kind == "'INTORG'"
        state[k:] = on
    data = np.flatnonzero(~is_marker)
    o, two = off[data], counts[data] == 5
    dn = lineno[data]
    colname = toks[o]
    col_ix = {nm: i for i, nm in enumerate(dict.fromkeys(colname.tolist()))}
    names = np.array(list(col_ix), dtype=object)
    col_of_line = lookup(col_ix, colname)
    rname = np.concatenate([toks[o + 1], toks[o[two] + 3]])
    vtok = np.concatenate([toks[o + 2], toks[o[two] + 4]])
    line_of = np.concatenate([dn, dn[two]])
    integer = np.zeros(names.size, dtype=bool)
    integer[col_of_line[state[data]]] = True
    return {
        "names": names,
        "integer": integer,
        "row": _find(rows_ix, rname, "row", where, line_of),
        "col": np.concatenate([col_of_line, col_of_line[two]]),
        "val": parse_floats(vtok, where, line_of),
        "index": col_ix,
    }


def _vector(lines, lineno, rows_ix, where, section) -> tuple[np.ndarray, np.ndarray]:
    toks, counts, off = _table(lines, (2, 3, 4, 5), where, section, lineno)
    has_set = counts % 2 == 1
    sets = set(toks[off[has_set]].tolist())
    if len(sets) > 1:
        raise UnsupportedFormatError(
            f"{where}: {section} holds several vectors ({', '.join(sorted(sets))}); keep one"
        )
    b = off + has_set
    pair2 = counts - has_set == 4
    names = np.concatenate([toks[b], toks[b[pair2] + 2]])
    vals = np.concatenate([toks[b + 1], toks[b[pair2] + 3]])
    ln = np.concatenate([lineno, lineno[pair2]])
    return _find(rows_ix, names, "row", where, ln), parse_floats(vals, where, ln)


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


_INF_TOKENS = {
    "inf": np.inf,
    "+inf": np.inf,
    "infinity": np.inf,
    "+infinity": np.inf,
    "-inf": -np.inf,
    "-infinity": -np.inf,
}
_BIG = 1e30  # bound values at least this large mean "no bound" (CPLEX uses 1e20)


def _bound_values(tokens: list[str], where: str, lineno: np.ndarray) -> np.ndarray:
    """Bound values: numbers, or inf/infinity tokens; |v| >= 1e30 means infinite."""
    low = [t.lower() for t in tokens]
    is_inf = np.array([t in _INF_TOKENS for t in low], dtype=bool)
    vals = np.zeros(len(tokens))
    fin = np.flatnonzero(~is_inf)
    vals[fin] = parse_floats([tokens[k] for k in fin], where, lineno[fin])
    vals[is_inf] = [_INF_TOKENS[low[k]] for k in np.flatnonzero(is_inf)]
    return np.where(np.abs(vals) >= _BIG, np.copysign(np.inf, vals), vals)


def _bounds(bnd, cols: dict, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = cols["names"].size
    lb, ub = np.zeros(n), np.full(n, np.inf)
    integer = cols["integer"].copy()
    binary = np.zeros(n, dtype=bool)
    if bnd is None:
        return lb, np.where(integer, 1.0, ub), integer, integer.copy()
    toks, counts, off, lineno = bnd
    typ = np.char.upper(toks[off].astype(str))
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
    if (valued & (counts < 3)).any():
        k = int(np.argmax(valued & (counts < 3)))
        raise ModelFileError(f"{where} line {int(lineno[k])}: bound {typ[k]} needs a value")
    # valued: [type, (set,) column, value]; others: [type, (set,) column (, ignored value)]
    last = off + counts - 1
    cpos = np.where(valued, last - 1, np.where(counts >= 3, off + 2, off + 1))
    col = _find(cols["index"], toks[cpos], "column", where, lineno)
    val = np.zeros(len(lineno))
    vi = np.flatnonzero(valued)
    val[vi] = _bound_values(toks[last[vi]].tolist(), where, lineno[vi])
    sets_lb = np.isin(typ, ["LO", "FX", "FR", "MI", "BV", "LI"])
    sets_ub = np.isin(typ, ["UP", "FX", "FR", "PL", "BV", "UI"])
    lbval = np.select([np.isin(typ, ["FR", "MI"]), typ == "BV"], [-np.inf, 0.0], default=val)
    ubval = np.select([np.isin(typ, ["FR", "PL"]), typ == "BV"], [np.inf, 1.0], default=val)
    bare = integer.copy()  # marker integers named in no bound line are binary
    bare[col] = False
    ub[bare] = 1.0
    binary |= bare
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
    bnd,
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
    lb, ub, integer, binary = _bounds(bnd, cols, where)
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
    # all QCMATRIX sections parsed as one table: (column, column, value) per line
    qlines = [ln for _, body, _ in q_parts for ln in body]
    qln = np.concatenate([p[2] for p in q_parts]) if q_parts else np.zeros(0, np.int64)
    qtok, _, qoff = _table(qlines, (3,), where, "QCMATRIX", qln)
    qi = [_find(cols["index"], qtok[qoff], "column", where, qln)]
    qj = [_find(cols["index"], qtok[qoff + 1], "column", where, qln)]
    qv = [parse_floats(qtok[qoff + 2], where, qln)]
    qr = [np.repeat(np.arange(len(q_parts)), [len(p[1]) for p in q_parts]).astype(np.int64)]
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
