"""Conic Benchmark Format (CBF) version 3: :func:`write_cbf` and :func:`read_cbf`.

CBF states a problem as ``min/max c'x + c0  s.t.  x in K_var,  A_cbf x + b_cbf in K_con`` with
cone kinds ``F`` (free), ``L+``, ``L-``, ``L=``, ``Q`` (x_1 >= ||x_2:||), ``QR``
(2 x_1 x_2 >= ||x_3:||^2), ``EXP`` (x_1 >= x_2 exp(x_3 / x_2)) and ``@k:POW`` (power cone with
the ``k``-th entry of ``POWCONES``). dro_opt's canonical form
(docs/conventions.md, 'Canonical conic form') is
``A x + s = b, s in K``, so ``A_cbf = -A``, ``b_cbf = b`` and the cone kinds map one to one;
the only reordering is the exponential cone, stored here as ``(x, y, z)`` with
``y exp(x / y) <= z`` and in CBF as ``(z, y, x)``: the three rows of each exp cone are reversed.
A power cone ``x^a y^(1-a) >= |z|`` is ``@k:POW 3`` with ``POWCONES`` entry ``(a, 1 - a)``.

CBF has no bound section. The writer puts sign bounds in the ``VAR`` domains (``L+`` for
``x >= 0``, ``L-`` for ``x <= 0``, ``L=`` for ``x = 0``) and every other finite bound in extra
rows after the model's rows: ``x_j - l_j in L+``, ``x_j - u_j in L-`` and ``x_j - v in L=`` for
fixed variables (as MOSEK's own CBF writer does). The reader turns every single-variable row with
coefficient +-1 in an ``L+``/``L-``/``L=`` cone back into a bound (exact, no division), accepts
cones in both ``VAR`` and ``CON`` (a variable cone becomes rows ``s = x``), and marks integer
variables bounded to ``[0, 1]`` as binary.

Data sections are written with one bulk ``%``-format per section (``%.17g``: exact doubles) and
parsed with numpy; a truncated or malformed file raises
:class:`~dro_opt.errors.ModelFileError` naming the line, a semidefinite or dual-cone file raises
:class:`~dro_opt.errors.UnsupportedFormatError`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from dro_opt.conic.cones import EXP, NONNEG, POW, RSOC, SOC, ZERO, ConeRun
from dro_opt.conic.problem import BINARY, INTEGER, MAX, MIN, ConicProblem
from dro_opt.errors import ModelFileError, UnsupportedFormatError
from dro_opt.io._rows import _row_layout
from dro_opt.io._text import (
    FLOAT,
    bulk_format,
    parse_floats,
    parse_ints,
    read_text,
    token_table,
)
from dro_opt.io._write import write_model_file

CBF_VERSION = 3
_KIND_TO_CBF = {ZERO: "L=", NONNEG: "L+", SOC: "Q", RSOC: "QR", EXP: "EXP"}
_KEYWORDS = {
    "VER",
    "OBJSENSE",
    "POWCONES",
    "VAR",
    "INT",
    "CON",
    "OBJACOORD",
    "OBJBCOORD",
    "ACOORD",
    "BCOORD",
}
_UNSUPPORTED = {
    "PSDVAR": "semidefinite variables",
    "PSDCON": "semidefinite constraints",
    "OBJFCOORD": "semidefinite variables",
    "FCOORD": "semidefinite variables",
    "HCOORD": "semidefinite constraints",
    "DCOORD": "semidefinite constraints",
    "POW*CONES": "dual power cones",
    "CHANGE": "CBF change sets",
}

DESCRIPTION = "Conic Benchmark Format v3"
CONES = frozenset({ZERO, NONNEG, SOC, RSOC, EXP, POW})  # what a .cbf file holds


# ============================================================================== writer
def write_cbf(problem: ConicProblem, path: str | Path) -> None:
    """Write ``problem`` as CBF version 3 to ``path`` atomically (``.gz`` compresses)."""
    write_model_file(
        problem, path, suffix=".cbf", description=DESCRIPTION, cones=CONES, to_text=cbf_text
    )


def cbf_text(problem: ConicProblem) -> str:
    """CBF version 3 text of ``problem`` (see the module docstring for the mapping)."""
    n, m = problem.n, problem.m
    kinds, pos, _, _ = _row_layout(problem.cones, m)
    perm = np.arange(m) + np.where(kinds == EXP, 2 - 2 * pos, 0)  # canonical row -> CBF row
    lb, ub = problem.lb, problem.ub
    # variable domains capture sign bounds; the rest become rows
    dom = np.select([(lb == 0) & (ub == 0), lb == 0, ub == 0], ["L=", "L+", "L-"], default="F")
    fixed = (lb == ub) & (dom == "F")
    lo_row = np.isfinite(lb) & ~np.isin(dom, ["L+", "L="]) & ~fixed
    up_row = np.isfinite(ub) & ~np.isin(dom, ["L-", "L="]) & ~fixed
    j_eq, j_lo, j_up = np.flatnonzero(fixed), np.flatnonzero(lo_row), np.flatnonzero(up_row)
    nb = j_eq.size + j_lo.size + j_up.size
    bj = np.concatenate([j_eq, j_lo, j_up])
    bb = -np.concatenate([lb[j_eq], lb[j_lo], ub[j_up]])
    brow = m + np.arange(nb)

    pows = sorted({float(r.param) for r in problem.cones if r.kind == POW and r.count})
    out = [
        f"# dro_opt model '{problem.name}' ({problem.problem_class()}): {n} variables, {m} rows"
        f"{f', plus {nb} bound rows' if nb else ''}\n"
        "# constraints A_cbf x + b_cbf in K with A_cbf = -A, b_cbf = b of 'A x + s = b, s in K';"
        " exp cones as CBF (z, y, x)\n",
        f"VER\n{CBF_VERSION}\n\n",
    ]
    if pows:
        out.append(f"POWCONES\n{len(pows)} {2 * len(pows)}\n")
        out.append("".join(f"2\n{FLOAT % a}\n{FLOAT % (1.0 - a)}\n" for a in pows) + "\n")
    out.append(f"OBJSENSE\n{'MAX' if problem.sense == MAX else 'MIN'}\n\n")
    # VAR: run-length encoded domains
    if n:
        starts = np.flatnonzero(np.r_[True, dom[1:] != dom[:-1]])
        lens = np.diff(np.r_[starts, n])
        out.append(f"VAR\n{n} {starts.size}\n" + bulk_format("%s %d\n", dom[starts], lens) + "\n")
    else:
        out.append("VAR\n0 0\n\n")
    ints = np.flatnonzero(problem.vtype != 0)
    if ints.size:
        out.append(f"INT\n{ints.size}\n" + bulk_format("%d\n", ints) + "\n")
    # CON: one line per linear run, one per nonlinear cone, then the bound rows
    cone_lines = []
    for run in problem.cones:
        if run.count == 0:
            continue
        if run.kind in (ZERO, NONNEG):
            cone_lines.append(f"{_KIND_TO_CBF[run.kind]} {run.count}\n")
        elif run.kind == POW:
            cone_lines.append(f"@{pows.index(float(run.param))}:POW 3\n" * run.count)
        else:
            cone_lines.append(f"{_KIND_TO_CBF[run.kind]} {run.dim}\n" * run.count)
    nlines = sum(s.count("\n") for s in cone_lines)
    for label, cnt in (("L=", j_eq.size), ("L+", j_lo.size), ("L-", j_up.size)):
        if cnt:
            cone_lines.append(f"{label} {cnt}\n")
            nlines += 1
    if m + nb:
        out.append(f"CON\n{m + nb} {nlines}\n" + "".join(cone_lines) + "\n")
    cnz = np.flatnonzero(problem.c)
    if cnz.size:
        out.append(
            f"OBJACOORD\n{cnz.size}\n" + bulk_format("%d " + FLOAT + "\n", cnz, problem.c[cnz])
        )
        out.append("\n")
    if problem.c0 != 0:
        out.append(f"OBJBCOORD\n{FLOAT % problem.c0}\n\n")
    A = sp.coo_matrix(problem.A)
    keep = A.data != 0
    ar = np.concatenate([perm[A.row[keep]], brow])
    ac = np.concatenate([A.col[keep], bj])
    av = np.concatenate([-A.data[keep], np.ones(nb)])
    if ar.size:
        order = np.lexsort((ac, ar))
        out.append(
            f"ACOORD\n{ar.size}\n"
            + bulk_format("%d %d " + FLOAT + "\n", ar[order], ac[order], av[order])
            + "\n"
        )
    bnz = np.flatnonzero(problem.b)
    br = np.concatenate([perm[bnz], brow])
    bv = np.concatenate([problem.b[bnz], bb])
    keepb = bv != 0
    br, bv = br[keepb], bv[keepb]
    if br.size:
        order = np.argsort(br, kind="stable")
        out.append(f"BCOORD\n{br.size}\n" + bulk_format("%d " + FLOAT + "\n", br[order], bv[order]))
    return "".join(out)


# ============================================================================== reader
def read_cbf(path: str | Path) -> ConicProblem:
    """Read a CBF (version 1-3, and version-4 files using only version-3 cones)."""
    return parse_cbf(read_text(path), str(path))


_NOISE = re.compile(r"^[ \t\r]*(#|$)", re.M)


class _Cursor:
    """Walks the significant (non-blank, non-comment) lines; data blocks are taken in bulk."""

    def __init__(self, text: str, where: str) -> None:
        self.raw = text.split("\n")
        self.total = len(self.raw)
        self.p = 0
        self.where = where
        self._skip()

    def _skip(self) -> None:
        while self.p < self.total and _NOISE.match(self.raw[self.p]):
            self.p += 1

    def done(self) -> bool:
        return self.p >= self.total

    def here(self) -> int:
        return min(self.p, self.total - 1) + 1

    def take(self, k: int, what: str) -> tuple[list[str], np.ndarray]:
        """The next ``k`` significant lines (stripped) and their 1-based line numbers."""
        block = self.raw[self.p : self.p + k]
        if len(block) == k and not _NOISE.search("\n".join(block)):  # the usual, fast case
            lines, ln = [b.strip() for b in block], np.arange(self.p, self.p + k) + 1
            self.p += k
        else:
            lines, nums = [], []
            while len(lines) < k:
                self._skip()
                if self.done():
                    raise ModelFileError(
                        f"{self.where}: {what} announces {k} line(s) but the file ends after "
                        f"{len(lines)} (line {self.total}; truncated file or wrong count)"
                    )
                lines.append(self.raw[self.p].strip())
                nums.append(self.p + 1)
                self.p += 1
            ln = np.array(nums, dtype=np.int64)
        self._skip()
        return lines, ln

    def table(self, k: int, ncol: int, what: str) -> tuple[list[np.ndarray], np.ndarray]:
        """``k`` lines of ``ncol`` fields each -> one token array per field, line numbers."""
        lines, ln = self.take(k, what)
        toks, counts, _ = token_table(lines)
        if (counts != ncol).any():
            i = int(np.argmax(counts != ncol))
            raise ModelFileError(
                f"{self.where} line {int(ln[i])}: {what} entry needs {ncol} field(s), got "
                f"{counts[i]}: {lines[i]!r} (wrong count in the section header?)"
            )
        return [toks[c::ncol] for c in range(ncol)], ln

    def ints(self, what: str, count: int) -> np.ndarray:
        (line,), ln = self.take(1, what)
        toks = line.split()
        if len(toks) != count:
            raise ModelFileError(
                f"{self.where} line {int(ln[0])}: {what} header needs {count} integer(s), got "
                f"{line!r}"
            )
        vals = parse_ints(toks, self.where, np.repeat(ln, count))
        if (vals < 0).any():
            raise ModelFileError(f"{self.where} line {int(ln[0])}: negative count in {what}")
        return vals


def _cones(cur: _Cursor, k: int, total: int, what: str, npow: int) -> list[tuple[str, int, int]]:
    """``k`` cone lines ``KIND dim`` -> [(kind, dim, line)], dims summing to ``total``."""
    (kinds, dtok), ln = cur.table(k, 2, what)
    out = []
    dims = parse_ints(dtok, cur.where, ln)
    for kind, d, line in zip(kinds.tolist(), dims.tolist(), ln.tolist(), strict=True):
        kind = kind.upper()
        if kind.startswith("@"):
            head, _, tail = kind[1:].partition(":")
            if tail == "POW*":
                raise UnsupportedFormatError(
                    f"{cur.where} line {line}: dual power cones (POW*) cannot be read"
                )
            if tail != "POW" or not head.isdigit() or int(head) >= npow:
                raise ModelFileError(
                    f"{cur.where} line {line}: {kind!r} is not a declared @k:POW cone"
                )
        elif kind == "EXP*":
            raise UnsupportedFormatError(
                f"{cur.where} line {line}: dual exponential cones (EXP*) cannot be read"
            )
        elif kind not in ("F", "L+", "L-", "L=", "Q", "QR", "EXP"):
            raise ModelFileError(f"{cur.where} line {line}: unknown cone {kind!r} in {what}")
        if (
            d < 1
            or (kind == "QR" and d < 2)
            or ((kind == "EXP" or kind.startswith("@")) and d != 3)
        ):
            raise ModelFileError(
                f"{cur.where} line {line}: cone {kind} cannot have dimension {d}"
                + (
                    " (dro_opt reads 3-dimensional power cones only)"
                    if kind.startswith("@")
                    else ""
                )
            )
        out.append((kind, d, line))
    if sum(d for _, d, _ in out) != total:
        raise ModelFileError(
            f"{cur.where}: the {what} cones cover {sum(d for _, d, _ in out)} entries but the "
            f"header announces {total}"
        )
    return out


def parse_cbf(text: str, where: str = "<cbf>") -> ConicProblem:
    """Parse CBF ``text`` into the canonical conic form (``where`` names the file in errors)."""
    cur = _Cursor(text, where)
    if cur.done():
        raise ModelFileError(f"{where}: empty file; a CBF file starts with 'VER'")
    seen: dict[str, int] = {}
    sense: str | None = None
    n = m = None
    var_cones: list = []
    con_cones: list = []
    pow_alpha: list[float] = []
    ints = np.zeros(0, np.int64)
    cj, cv = np.zeros(0, np.int64), np.zeros(0)
    c0 = 0.0
    ai = aj = np.zeros(0, np.int64)
    av = np.zeros(0)
    bi, bv = np.zeros(0, np.int64), np.zeros(0)
    while not cur.done():
        line = cur.here()
        kw = cur.take(1, "keyword")[0][0].split()[0].upper()
        if kw in _UNSUPPORTED:
            raise UnsupportedFormatError(
                f"{where} line {line}: {kw} ({_UNSUPPORTED[kw]}) cannot be read into dro_opt's "
                "conic form"
            )
        if kw not in _KEYWORDS:
            raise ModelFileError(
                f"{where} line {line}: unknown CBF keyword {kw!r} (or a wrong count in the "
                "previous section)"
            )
        if kw in seen:
            raise ModelFileError(f"{where} line {line}: section {kw} appears twice")
        if not seen and kw != "VER":
            raise ModelFileError(f"{where} line {line}: a CBF file must start with VER")
        seen[kw] = line
        if kw == "VER":
            ver = int(cur.ints("VER", 1)[0])
            if ver < 1 or ver > 4:
                raise UnsupportedFormatError(
                    f"{where} line {line}: CBF version {ver} is not supported (1 to 4 are)"
                )
        elif kw == "OBJSENSE":
            (s,), ln = cur.take(1, "OBJSENSE")
            if s.upper() not in ("MIN", "MAX"):
                raise ModelFileError(f"{where} line {int(ln[0])}: OBJSENSE must be MIN or MAX")
            sense = MIN if s.upper() == "MIN" else MAX
        elif kw == "POWCONES":
            k, total = cur.ints("POWCONES", 2).tolist()
            used = 0
            for _ in range(k):
                cnt = int(cur.ints("POWCONES entry", 1)[0])
                toks, ln = cur.take(cnt, "POWCONES entry")
                alpha = parse_floats(toks, where, ln)
                used += cnt
                if cnt != 2 or (alpha <= 0).any():
                    raise UnsupportedFormatError(
                        f"{where} line {int(ln[0]) - 1}: dro_opt reads power cones with two "
                        "positive weights (x^a y^(1-a) >= |z|) only"
                    )
                s = float(alpha.sum())
                pow_alpha.append(float(alpha[0]) if s == 1.0 else float(alpha[0] / s))
            if used != total:
                raise ModelFileError(
                    f"{where} line {line}: POWCONES announces {total} parameters, lists {used}"
                )
        elif kw == "VAR":
            n, k = cur.ints("VAR", 2).tolist()
            var_cones = _cones(cur, k, n, "VAR", len(pow_alpha))
        elif kw == "CON":
            m, k = cur.ints("CON", 2).tolist()
            con_cones = _cones(cur, k, m, "CON", len(pow_alpha))
        elif kw == "INT":
            if n is None:
                raise ModelFileError(f"{where} line {line}: INT before VAR")
            cnt = int(cur.ints("INT", 1)[0])
            cols_, ln = cur.table(cnt, 1, "INT")
            ints = _check_index(parse_ints(cols_[0], where, ln), n, "variable", where, ln)
        elif kw == "OBJACOORD":
            if n is None:
                raise ModelFileError(f"{where} line {line}: OBJACOORD before VAR")
            cnt = int(cur.ints("OBJACOORD", 1)[0])
            cols_, ln = cur.table(cnt, 2, "OBJACOORD")
            cj = _check_index(parse_ints(cols_[0], where, ln), n, "variable", where, ln)
            cv = parse_floats(cols_[1], where, ln)
        elif kw == "OBJBCOORD":
            (s,), ln = cur.take(1, "OBJBCOORD")
            c0 = float(parse_floats([s], where, ln)[0])
        elif kw == "ACOORD":
            if n is None or m is None:
                raise ModelFileError(
                    f"{where} line {line}: ACOORD needs VAR and CON sections before it"
                )
            cnt = int(cur.ints("ACOORD", 1)[0])
            cols_, ln = cur.table(cnt, 3, "ACOORD")
            ai = _check_index(parse_ints(cols_[0], where, ln), m, "row", where, ln)
            aj = _check_index(parse_ints(cols_[1], where, ln), n, "variable", where, ln)
            av = parse_floats(cols_[2], where, ln)
        elif kw == "BCOORD":
            if m is None:
                raise ModelFileError(f"{where} line {line}: BCOORD needs a CON section before it")
            cnt = int(cur.ints("BCOORD", 1)[0])
            cols_, ln = cur.table(cnt, 2, "BCOORD")
            bi = _check_index(parse_ints(cols_[0], where, ln), m, "row", where, ln)
            bv = parse_floats(cols_[1], where, ln)
    for need in ("OBJSENSE", "VAR"):
        if need not in seen:
            raise ModelFileError(f"{where}: no {need} section (truncated or not a CBF file?)")
    m = m or 0
    c = np.zeros(n)
    np.add.at(c, cj, cv)
    Acbf = sp.csr_matrix((av, (ai, aj)), shape=(m, n))
    Acbf.sum_duplicates()
    bcbf = np.zeros(m)
    np.add.at(bcbf, bi, bv)
    return _to_conic(sense, c, c0, var_cones, con_cones, pow_alpha, ints, Acbf, bcbf, where)


def _check_index(idx: np.ndarray, size: int, what: str, where: str, ln: np.ndarray) -> np.ndarray:
    bad = (idx < 0) | (idx >= size)
    if bad.any():
        k = int(np.argmax(bad))
        raise ModelFileError(
            f"{where} line {int(ln[k])}: {what} index {int(idx[k])} out of range 0..{size - 1}"
        )
    return idx


def _expand(
    cones: list[tuple[str, int, int]], total: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per entry: CBF cone kind, position inside the cone, index of the cone line."""
    if not cones:
        return np.zeros(0, dtype=object), np.zeros(0, np.int64), np.zeros(0, np.int64)
    kinds = np.array([k for k, _, _ in cones], dtype=object)
    dims = np.array([d for _, d, _ in cones], dtype=np.int64)
    line = np.repeat(np.arange(len(cones)), dims)
    start = np.r_[0, np.cumsum(dims)[:-1]]
    pos = np.arange(total) - start[line]
    return kinds[line], pos, line


def _to_conic(sense, c, c0, var_cones, con_cones, pow_alpha, ints, Acbf, bcbf, where):
    n, m = c.size, bcbf.size
    vkind, vpos, vline = _expand(var_cones, n)
    lb = np.where(np.isin(vkind, ["L+", "L="]), 0.0, -np.inf) if n else np.zeros(0)
    ub = np.where(np.isin(vkind, ["L-", "L="]), 0.0, np.inf) if n else np.zeros(0)
    ckind, cpos, cline = _expand(con_cones, m)
    # single-variable rows with coefficient +-1 in L+/L-/L= become bounds
    nnz = np.diff(Acbf.indptr)
    lin = np.isin(ckind, ["L+", "L-", "L="]) if m else np.zeros(0, bool)
    one = np.flatnonzero(lin & (nnz == 1))
    coef = Acbf.data[Acbf.indptr[one]] if one.size else np.zeros(0)
    unit = np.abs(coef) == 1.0
    rows_b, coef = one[unit], coef[unit]
    cols_b = Acbf.indices[Acbf.indptr[rows_b]]
    val = -coef * bcbf[rows_b]  # a x + b (rel) 0 with a = +-1:  x (rel') -a b
    kb = ckind[rows_b]
    gives_lb = (kb == "L=") | ((kb == "L+") & (coef > 0)) | ((kb == "L-") & (coef < 0))
    gives_ub = (kb == "L=") | ((kb == "L+") & (coef < 0)) | ((kb == "L-") & (coef > 0))
    lb0, ub0 = lb.copy(), ub.copy()
    np.maximum.at(lb, cols_b[gives_lb], val[gives_lb])
    np.minimum.at(ub, cols_b[gives_ub], val[gives_ub])
    clash = lb > ub  # contradictory bounds: keep those rows (an infeasible model stays readable)
    if clash.any():
        ok = ~clash[cols_b]
        rows_b, cols_b, val, gives_lb, gives_ub = (
            rows_b[ok],
            cols_b[ok],
            val[ok],
            gives_lb[ok],
            gives_ub[ok],
        )
        lb, ub = lb0, ub0
        np.maximum.at(lb, cols_b[gives_lb], val[gives_lb])
        np.minimum.at(ub, cols_b[gives_ub], val[gives_ub])
    drop = np.zeros(m, dtype=bool)
    drop[rows_b] = True
    drop |= ckind == "F"
    # canonical rows from CON: s = g for L+, L=, Q, QR, POW, EXP (reordered); s = -g for L-
    sign = np.where(ckind == "L-", -1.0, 1.0) if m else np.zeros(0)
    keep = np.flatnonzero(~drop)
    perm = keep + np.where(ckind[keep] == "EXP", 2 - 2 * cpos[keep], 0)
    A_con = -(sp.diags(sign[perm]) @ Acbf[perm])
    b_con = sign[perm] * bcbf[perm]
    removed = np.bincount(cline[drop], minlength=len(con_cones)) if m else np.zeros(0, np.int64)
    runs = _runs(con_cones, removed, pow_alpha)
    # cones on variables: rows s = x (A = -I, b = 0), exp entries reversed
    vc = np.flatnonzero(~np.isin(vkind, ["F", "L+", "L-", "L="])) if n else np.zeros(0, np.int64)
    vperm = vc + np.where(vkind[vc] == "EXP", 2 - 2 * vpos[vc], 0)
    A_var = sp.csr_matrix((-np.ones(vc.size), (np.arange(vc.size), vperm)), shape=(vc.size, n))
    vlines = sorted(set(vline[vc].tolist()))
    runs += _runs([var_cones[i] for i in vlines], np.zeros(len(vlines), np.int64), pow_alpha)
    vtype = np.zeros(n, dtype=np.int8)
    vtype[ints] = INTEGER
    vtype[(vtype == INTEGER) & (lb == 0) & (ub == 1)] = BINARY
    return ConicProblem(
        c=c,
        A=sp.vstack([A_con, A_var], format="csr"),
        b=np.concatenate([b_con, np.zeros(vc.size)]),
        cones=runs,
        lb=lb,
        ub=ub,
        vtype=vtype,
        sense=sense,
        c0=c0,
        name=Path(where).name.split(".")[0] or "model",
    )


def _runs(
    cones: list[tuple[str, int, int]], removed: np.ndarray, pow_alpha: list[float]
) -> list[ConeRun]:
    """ConeRuns of the kept entries of CBF cone lines (F lines dropped)."""
    runs = []
    for (kind, d, _), r in zip(cones, removed.tolist(), strict=True):
        if kind == "F":
            continue
        if kind in ("L+", "L-", "L="):
            if d - r:
                runs.append(ConeRun(ZERO if kind == "L=" else NONNEG, 1, d - r))
        elif kind == "Q":
            runs.append(ConeRun(SOC, d, 1))
        elif kind == "QR":
            runs.append(ConeRun(RSOC, d, 1))
        elif kind == "EXP":
            runs.append(ConeRun(EXP, 3, 1))
        else:
            runs.append(ConeRun(POW, 3, 1, pow_alpha[int(kind[1:].partition(":")[0])]))
    return runs


__all__ = ["CBF_VERSION", "cbf_text", "parse_cbf", "read_cbf", "write_cbf"]
