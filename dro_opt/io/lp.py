"""CPLEX-LP files: :func:`write_lp` (see :mod:`dro_opt.io.lp_write`) and :func:`read_lp`.

The reader takes the sections Minimize/Maximize (with a constant term, or a fixed column named
``obj_constant``/``Constant`` as written by dro_opt and Gurobi, folded back into the constant),
Subject To (named or unnamed rows, ``<=``/``>=``/``=`` and ranged ``l <= a'x <= u`` rows,
quadratic ``[ ... ]`` terms), Bounds (``l <= x <= u``, ``x >= l``, ``x free``, ``x = v``, with
``inf``/``infinity``), Generals and Binaries, and End; ``\\`` comments are skipped. Quadratic rows
must be second-order-cone patterns (:mod:`dro_opt.io._rows`); quadratic objectives, indicator,
SOS, semi-continuous and general constraints raise
:class:`~dro_opt.errors.UnsupportedFormatError`.

Of these, ranged rows, constants on the left of a row and a bare number as objective constant
are extensions: SCIP, HiGHS, Gurobi, CPLEX and Xpress do not all accept them (Gurobi 13 reads a
trailing ``+ 4.5`` as a variable named ``4.5``), so dro_opt's writer never emits them.

LP is a free-form token language, so this reader walks the tokens (one regular expression pass,
then a linear scan); for models with millions of non-zeros prefer ``.mps`` or ``.cbf``, whose
readers parse columns in bulk with numpy.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from dro_opt.conic.problem import MAX, MIN, ConicProblem
from dro_opt.errors import ModelFileError, UnsupportedFormatError
from dro_opt.io._rows import RowModel, rows_to_conic, vtype_from_flags
from dro_opt.io._text import read_text
from dro_opt.io._write import write_model_file
from dro_opt.io.lp_write import lp_text
from dro_opt.reformulations.soc_to_quadratic import SUPPORTED

_ALL = re.compile(
    r"""\s*(?:((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"""  # number
    r"""|(<=|=<|>=|=>|->|<-|<|>|=)"""  # operator
    r"""|([\[\]\^\*/:+\-])"""  # symbol
    r"""|([A-Za-z_!"#$%&(),;?@'`{}|~][A-Za-z0-9_!"#$%&(),.;?@'`{}|~]*)"""  # name
    r"""|(\S))"""  # anything else: an error
)
_SECTIONS = [
    ("subject to", "st"),
    ("such that", "st"),
    ("s.t.", "st"),
    ("st.", "st"),
    ("st", "st"),
    ("minimize", "min"),
    ("minimise", "min"),
    ("minimum", "min"),
    ("min", "min"),
    ("maximize", "max"),
    ("maximise", "max"),
    ("maximum", "max"),
    ("max", "max"),
    ("bounds", "bounds"),
    ("bound", "bounds"),
    ("generals", "gen"),
    ("general", "gen"),
    ("gen", "gen"),
    ("integers", "gen"),
    ("binaries", "bin"),
    ("binary", "bin"),
    ("bin", "bin"),
    ("semi-continuous", "semi"),
    ("semis", "semi"),
    ("semi", "semi"),
    ("sos", "sos"),
    ("general constraints", "genc"),
    ("lazy constraints", "lazy"),
    ("user cuts", "cuts"),
    ("pwlobj", "pwl"),
    ("end", "end"),
]
_SECTIONS.sort(key=lambda kv: -len(kv[0]))
_FIRST_WORDS = {kw.split()[0] for kw, _ in _SECTIONS}
_UNSUPPORTED = {
    "semi": "semi-continuous variables",
    "sos": "SOS constraints",
    "genc": "general constraints",
    "lazy": "lazy constraints",
    "cuts": "user cuts",
    "pwl": "piecewise-linear objectives",
}
_OPS = {"<=": "L", "=<": "L", "<": "L", ">=": "G", "=>": "G", ">": "G", "=": "E"}
_INF = {"inf", "infinity"}
_BIG = 1e30  # bound values at least this large mean "infinite" (CPLEX uses 1e20)
_CONSTANT_COLUMNS = ("obj_constant", "constant")

DESCRIPTION = "CPLEX LP"
CONES = SUPPORTED  # what a .lp file holds


def write_lp(problem: ConicProblem, path: str | Path) -> None:
    """Write ``problem`` as CPLEX LP to ``path`` atomically (``.gz`` compresses)."""
    write_model_file(
        problem, path, suffix=".lp", description=DESCRIPTION, cones=CONES, to_text=lp_text
    )


def read_lp(path: str | Path) -> ConicProblem:
    """Read a CPLEX-LP file into the canonical conic form."""
    return parse_lp(read_text(path), str(path))


def parse_lp(text: str, where: str = "<lp>") -> ConicProblem:
    """Parse CPLEX-LP ``text`` (``where`` names the file in error messages)."""
    return rows_to_conic(_Parser(text, where).model(), where)


_KINDS = np.array(["num", "op", "sym", "name", "bad"], dtype=object)


class _Tokens:
    """Token stream of one section with the line number of every token.

    Each line is tokenised by one ``findall`` (C loop); token kinds are classified with numpy.
    Two empty sentinel tokens at the end make look-ahead safe without bounds checks.
    """

    def __init__(self, chunks: list[tuple[int, str]], where: str) -> None:
        per_line = [_ALL.findall(s) for _, s in chunks]
        counts = np.fromiter(map(len, per_line), dtype=np.int64, count=len(per_line))
        groups = np.array([g for line in per_line for g in line], dtype=object).reshape(-1, 5)
        kidx = np.argmax(groups != "", axis=1) if groups.size else np.zeros(0, np.int64)
        self.line = np.repeat([ln for ln, _ in chunks], counts) if chunks else np.zeros(0, int)
        bad = np.flatnonzero(kidx == 4)
        if bad.size:
            k = int(bad[0])
            raise ModelFileError(f"{where} line {int(self.line[k])}: cannot read {groups[k, 4]!r}")
        self.kind: list[str] = [*_KINDS[kidx].tolist(), "", ""]
        self.text: list[str] = [*groups[np.arange(kidx.size), kidx].tolist(), "", ""]
        self.n = int(kidx.size)
        self.i = 0
        self.where = where

    def peek(self, k: int = 0) -> tuple[str, str]:
        j = min(self.i + k, self.n)
        return self.kind[j], self.text[j]

    def done(self) -> bool:
        return self.i >= self.n

    def err(self, msg: str) -> ModelFileError:
        line = int(self.line[min(self.i, self.n - 1)]) if self.n else 0
        return ModelFileError(f"{self.where} line {line}: {msg}")


class _Parser:
    def __init__(self, text: str, where: str) -> None:
        self.where = where
        self.cols: dict[str, int] = {}
        self.sense = MIN
        text = re.sub(r"\\\*.*?\*\\", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
        sections: dict[str, list[tuple[int, str]]] = {}
        order: list[str] = []
        current: str | None = None
        ended = False
        for lineno, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("\\", 1)[0] if "\\" in raw else raw
            words = line.split(None, 1)
            if not words:
                continue
            hit = None
            low = " ".join(line.lower().split()) if words[0].lower() in _FIRST_WORDS else ""
            for kw, sec in _SECTIONS if low else ():
                if low == kw or (
                    low.startswith(kw + " ") and not low[len(kw) :].lstrip().startswith(":")
                ):
                    hit = (kw, sec)
                    break
            if hit is not None:
                kw, sec = hit
                if sec == "end":
                    ended = True
                    break
                if sec in ("min", "max"):
                    self.sense = MAX if sec == "max" else MIN
                    sec = "obj"
                if sec in sections:
                    raise ModelFileError(f"{where} line {lineno}: second {kw!r} section")
                sections[sec] = []
                order.append(sec)
                current = sec
                rest = " ".join(line.split())[len(kw) :].strip()
                if rest:
                    sections[sec].append((lineno, rest))
                continue
            if current is None:
                raise ModelFileError(
                    f"{where} line {lineno}: text before the objective section (expected "
                    "'Minimize' or 'Maximize')"
                )
            sections[current].append((lineno, line))
        if not order:
            raise ModelFileError(f"{where}: empty file or no LP sections (need 'Minimize' ...)")
        if not ended:
            raise ModelFileError(f"{where}: the file ends without 'End' (truncated?)")
        if order[0] != "obj":
            raise ModelFileError(f"{where}: an LP file starts with 'Minimize' or 'Maximize'")
        for sec, body in sections.items():  # empty sections (HiGHS writes 'semi') are harmless
            if sec in _UNSUPPORTED and body:
                raise UnsupportedFormatError(
                    f"{where} line {body[0][0]}: {_UNSUPPORTED[sec]} cannot be read into "
                    "dro_opt's conic form"
                )
        self.sections = sections

    # --------------------------------------------------------------- pieces
    def col(self, name: str) -> int:
        j = self.cols.get(name)
        if j is None:
            j = self.cols[name] = len(self.cols)
        return j

    def _value(self, t: _Tokens) -> float:
        """``[sign] number`` or ``[sign] inf``."""
        sign = 1.0
        while t.peek()[1] in ("+", "-"):
            sign = -sign if t.peek()[1] == "-" else sign
            t.i += 1
        kind, txt = t.peek()
        if kind == "num":
            t.i += 1
            return sign * float(txt)
        if kind == "name" and txt.lower() in _INF:
            t.i += 1
            return sign * np.inf
        raise t.err(f"expected a number, found {txt or 'end of section'!r}")

    def _expr(self, t: _Tokens, allow_quad: bool):
        """Linear (+ bracketed quadratic) expression up to an operator or the next label.

        Returns (cols, coefs, constant, quad entries [(i, j, q)], had_variables).
        """
        cols: list[int] = []
        coefs: list[float] = []
        quad: list[tuple[int, int, float]] = []
        const = 0.0
        had_var = False
        sign = 1.0
        pending = False  # a sign or number was read and awaits its term
        K, X, n = t.kind, t.text, t.n  # local names: this loop runs once per token
        index = self.cols
        i = t.i
        while i < n:
            kind, txt = K[i], X[i]
            if kind == "name":
                if X[i + 1] == ":" and not pending:
                    break  # label of the next row
                i += 1
                if txt.lower() in _INF:
                    const += sign * np.inf
                else:
                    j = index.get(txt)
                    if j is None:
                        j = index[txt] = len(index)
                    cols.append(j)
                    coefs.append(sign)
                    had_var = True
                sign, pending = 1.0, False
            elif kind == "num":
                i += 1
                coef = sign * float(txt)
                nk, nt = K[i], X[i]
                if nk == "name" and X[i + 1] != ":" and nt.lower() not in _INF:
                    i += 1
                    j = index.get(nt)
                    if j is None:
                        j = index[nt] = len(index)
                    cols.append(j)
                    coefs.append(coef)
                    had_var = True
                elif nt == "*" and K[i + 1] == "name":
                    i += 2
                    cols.append(self.col(X[i - 1]))
                    coefs.append(coef)
                    had_var = True
                else:
                    const += coef
                sign, pending = 1.0, False
            elif txt == "+" or txt == "-":
                sign = -sign if txt == "-" else sign
                pending = True
                i += 1
            elif kind == "op":
                if txt in ("->", "<-"):
                    raise UnsupportedFormatError(
                        f"{self.where} line {t.line[i]}: indicator constraints cannot be read"
                    )
                break
            elif txt == "[":
                t.i = i + 1
                q = self._quad(t)
                if t.peek()[1] == "/":
                    t.i += 1
                    div = self._value(t)
                    q = [(a, b, v / div) for a, b, v in q]
                i = t.i
                if not allow_quad:
                    raise UnsupportedFormatError(
                        f"{self.where} line {t.line[i - 1]}: a quadratic objective cannot be "
                        "read into dro_opt's conic form"
                    )
                quad.extend((a, b, sign * v) for a, b, v in q)
                had_var = True
                sign, pending = 1.0, False
            else:
                t.i = i
                raise t.err(f"unexpected {txt!r} in an expression")
        t.i = i
        return cols, coefs, const, quad, had_var

    def _quad(self, t: _Tokens) -> list[tuple[int, int, float]]:
        out = []
        sign = 1.0
        while True:
            kind, txt = t.peek()
            if txt == "]":
                t.i += 1
                return out
            if not kind:
                raise t.err("unclosed '[' in a quadratic expression")
            if txt in ("+", "-"):
                sign = -sign if txt == "-" else sign
                t.i += 1
                continue
            coef = 1.0
            if kind == "num":
                coef = float(txt)
                t.i += 1
                kind, txt = t.peek()
            if kind != "name":
                raise t.err(f"expected a variable in a quadratic term, found {txt!r}")
            t.i += 1
            a = self.col(txt)
            op = t.peek()[1]
            if op == "^":
                t.i += 1
                if t.peek()[1] != "2":
                    raise t.err("only squares (^2) are allowed in quadratic terms")
                t.i += 1
                out.append((a, a, sign * coef))
            elif op == "*":
                t.i += 1
                kind, txt = t.peek()
                if kind != "name":
                    raise t.err("expected a variable after '*'")
                t.i += 1
                out.append((a, self.col(txt), sign * coef))
            else:
                raise t.err("a linear term inside '[ ]'; write it outside the brackets")
            sign = 1.0

    # ----------------------------------------------------------------- model
    def model(self) -> RowModel:
        where = self.where
        t = _Tokens(self.sections.get("obj", []), where)
        if t.peek()[0] == "name" and t.peek(1)[1] == ":":
            t.i += 2
        ocols, ocoef, c0, _, _ = self._expr(t, allow_quad=False)
        if not t.done():
            raise t.err("unexpected text in the objective (a second objective?)")
        if not np.isfinite(c0):
            raise ModelFileError(f"{where}: objective constant is not finite")
        rows = self._rows(_Tokens(self.sections.get("st", []), where))
        lb_set, ub_set = self._bounds(_Tokens(self.sections.get("bounds", []), where))
        gen = self._names(_Tokens(self.sections.get("gen", []), where))
        binv = self._names(_Tokens(self.sections.get("bin", []), where))
        n = len(self.cols)
        names = np.empty(n, dtype=object)
        names[list(self.cols.values())] = list(self.cols.keys())
        c = np.zeros(n)
        np.add.at(c, np.array(ocols, np.int64), np.array(ocoef, float))
        if not np.isfinite(c).all():
            raise ModelFileError(f"{where}: the objective has a non-finite coefficient")
        lb, ub = np.zeros(n), np.full(n, np.inf)
        for j, v in lb_set:
            lb[j] = v
        for j, v in ub_set:
            ub[j] = v
        integer = np.zeros(n, bool)
        integer[gen] = True
        binary = np.zeros(n, bool)
        binary[binv] = True
        integer |= binary
        lb = np.where(binary, np.maximum(lb, 0.0), lb)
        ub = np.where(binary, np.minimum(ub, 1.0), ub)
        binary &= (lb == 0) & (ub == 1)
        rm = self._assemble(rows, names, c, c0, lb, ub, vtype_from_flags(integer, binary))
        return _fold_constant(rm)

    def _rows(self, t: _Tokens) -> list:
        rows = []
        k = 0
        while not t.done():
            label = None
            if t.peek()[0] == "name" and t.peek(1)[1] == ":":
                label = t.peek()[1]
                t.i += 2
            start_line = int(t.line[min(t.i, t.n - 1)])
            cols1, co1, k1, q1, var1 = self._expr(t, allow_quad=True)
            kind, op1 = t.peek()
            if kind != "op":
                raise t.err(f"row {label or k}: expected <=, >= or = before {op1 or 'the end'!r}")
            t.i += 1
            if not var1:  # 'l <= a'x [<= u]' or 'c >= a'x'
                cols2, co2, k2, q2, _ = self._expr(t, allow_quad=True)
                lo, hi = _rel(_OPS[op1], k1, reverse=True)
                if t.peek()[0] == "op":
                    op2 = t.peek()[1]
                    t.i += 1
                    lo2, hi2 = _rel(_OPS[op2], self._value(t), reverse=False)
                    lo, hi = max(lo, lo2), min(hi, hi2)
                lo, hi = lo - k2, hi - k2
                cols1, co1, q1 = cols2, co2, q2
            else:
                lo, hi = _rel(_OPS[op1], self._value(t) - k1, reverse=False)
            rows.append((label or f"R{k}", cols1, co1, q1, lo, hi, start_line))
            k += 1
        return rows

    def _bounds(self, t: _Tokens) -> tuple[list, list]:
        lbs: list[tuple[int, float]] = []
        ubs: list[tuple[int, float]] = []

        def apply(j: int, op: str, v: float) -> None:
            v = np.inf if v >= _BIG else (-np.inf if v <= -_BIG else v)
            if op in ("E",):
                lbs.append((j, v))
                ubs.append((j, v))
            elif op == "L":
                ubs.append((j, v))
            else:
                lbs.append((j, v))

        while not t.done():
            kind, txt = t.peek()
            if kind == "name" and txt.lower() not in _INF:
                t.i += 1
                j = self.col(txt)
                nk, nt = t.peek()
                if nk == "name" and nt.lower() == "free":
                    t.i += 1
                    lbs.append((j, -np.inf))
                    ubs.append((j, np.inf))
                    continue
                if nk != "op":
                    raise t.err(f"bound on {txt!r}: expected <=, >=, = or 'free'")
                t.i += 1
                apply(j, _OPS[nt], self._value(t))
                continue
            v1 = self._value(t)
            kind, op1 = t.peek()
            if kind != "op":
                raise t.err("a bound 'l <= x' needs an operator after the number")
            t.i += 1
            kind, name = t.peek()
            if kind != "name":
                raise t.err("expected a variable name in a bound")
            t.i += 1
            j = self.col(name)
            flip = {"L": "G", "G": "L", "E": "E"}
            apply(j, flip[_OPS[op1]], v1)
            if t.peek()[0] == "op":
                op2 = t.peek()[1]
                t.i += 1
                apply(j, _OPS[op2], self._value(t))
        return lbs, ubs

    def _names(self, t: _Tokens) -> np.ndarray:
        out = []
        while not t.done():
            kind, txt = t.peek()
            if kind != "name":
                raise t.err(f"expected a variable name, found {txt!r}")
            out.append(self.col(txt))
            t.i += 1
        return np.array(out, dtype=np.int64)

    def _assemble(self, rows, names, c, c0, lb, ub, vtype) -> RowModel:
        n = names.size
        lin = [r for r in rows if not r[3]]
        qua = [r for r in rows if r[3]]

        def mat(rs):
            ri = np.repeat(np.arange(len(rs)), [len(r[1]) for r in rs]).astype(np.int64)
            ci = np.array([j for r in rs for j in r[1]], dtype=np.int64)
            vi = np.array([v for r in rs for v in r[2]], dtype=float)
            return sp.csr_matrix((vi, (ri, ci)), shape=(len(rs), n))

        for r in rows:
            if not np.all(np.isfinite(r[2])):
                raise ModelFileError(
                    f"{self.where} line {r[6]}: row {r[0]!r} has a non-finite coefficient"
                )
            if (
                np.isnan(r[4])
                or np.isnan(r[5])
                or (np.isinf(r[4]) and np.isinf(r[5]) and r[4] == r[5])
            ):
                raise ModelFileError(
                    f"{self.where} line {r[6]}: row {r[0]!r} has an infinite "
                    "or invalid right-hand side"
                )
        qr = np.array([k for k, r in enumerate(qua) for _ in r[3]], dtype=np.int64)
        qe = [e for r in qua for e in r[3]]
        qi = np.array([e[0] for e in qe], dtype=np.int64)
        qj = np.array([e[1] for e in qe], dtype=np.int64)
        qv = np.array([e[2] for e in qe], dtype=float)
        if not np.isfinite(qv).all():
            raise ModelFileError(f"{self.where}: a quadratic coefficient is not finite")
        return RowModel(
            sense=self.sense,
            c=c,
            c0=c0,
            col_names=names,
            lb=lb,
            ub=ub,
            vtype=vtype,
            row_names=np.array([r[0] for r in lin], dtype=object),
            A=mat(lin),
            row_lo=np.array([r[4] for r in lin], dtype=float),
            row_hi=np.array([r[5] for r in lin], dtype=float),
            q_names=np.array([r[0] for r in qua], dtype=object),
            q_lin=mat(qua),
            q_row=qr,
            q_i=qi,
            q_j=qj,
            q_val=qv,
            q_lo=np.array([r[4] for r in qua], dtype=float),
            q_hi=np.array([r[5] for r in qua], dtype=float),
            name=Path(self.where).name.split(".")[0] or "model",
        )


def _rel(op: str, v: float, reverse: bool) -> tuple[float, float]:
    """Bounds on the expression from ``expr op v`` (or ``v op expr`` when ``reverse``)."""
    if reverse:
        op = {"L": "G", "G": "L", "E": "E"}[op]
    if op == "E":
        return v, v
    return (-np.inf, v) if op == "L" else (v, np.inf)


def _fold_constant(rm: RowModel) -> RowModel:
    """Fold a column named obj_constant/Constant, fixed at 1 and used only in the objective."""
    low = np.char.lower(rm.col_names.astype(str)) if rm.n else np.zeros(0, str)
    cand = np.flatnonzero(
        np.isin(np.char.rstrip(low, "_"), _CONSTANT_COLUMNS)
        & (rm.lb == 1)
        & (rm.ub == 1)
        & (rm.vtype == 0)
    )
    used = np.bincount(sp.csr_matrix(rm.A).indices, minlength=rm.n)
    if rm.q_lin is not None:
        used = used + np.bincount(sp.csr_matrix(rm.q_lin).indices, minlength=rm.n)
    used[rm.q_i] += 1
    used[rm.q_j] += 1
    cand = cand[used[cand] == 0]
    if cand.size == 0:
        return rm
    keep = np.ones(rm.n, bool)
    keep[cand] = False
    remap = np.cumsum(keep) - 1
    rm.c0 = rm.c0 + float(rm.c[cand].sum())
    rm.c, rm.lb, rm.ub, rm.vtype = rm.c[keep], rm.lb[keep], rm.ub[keep], rm.vtype[keep]
    rm.col_names = rm.col_names[keep]
    rm.A = sp.csr_matrix(rm.A)[:, keep]
    if rm.q_lin is not None:
        rm.q_lin = sp.csr_matrix(rm.q_lin)[:, keep]
    rm.q_i, rm.q_j = remap[rm.q_i], remap[rm.q_j]
    return rm


__all__ = ["lp_text", "parse_lp", "read_lp", "write_lp"]
