"""Affine expressions over the variable blocks of a :class:`~dro_opt.conic.builder.ConicBuilder`.

``LinExpr`` is ``sum_k M_k @ x[block_k] + const`` with one scipy.sparse CSR matrix per block
(``rows x block.size``) -- the bulk counterpart of a cvxpy affine expression, used by
:class:`~dro_opt.reformulations.emitter.ConicEmitter` so that rewrite rules can build models with
millions of rows without per-row Python objects. Operations are whole-matrix: addition (a
one-row expression broadcasts), negation, scaling by a scalar, row scaling, left multiplication
by a sparse matrix, row selection, stacking and interleaving.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from dro_opt.conic.problem import VarBlock


class LinExpr:
    """``sum_k M_k x[block_k] + const`` with ``rows`` rows (see the module docstring)."""

    __array_priority__ = 100  # numpy defers ``ndarray + LinExpr`` to LinExpr.__radd__

    def __init__(
        self,
        rows: int,
        terms: dict[str, tuple[VarBlock, sp.csr_matrix]] | None = None,
        const: Any = 0.0,
    ) -> None:
        self.rows = int(rows)
        self.terms: dict[str, tuple[VarBlock, sp.csr_matrix]] = dict(terms or {})
        self.const = np.broadcast_to(np.asarray(const, dtype=float).ravel(), (self.rows,)).copy()

    # ------------------------------------------------------------ constructors
    @classmethod
    def of_block(cls, block: VarBlock) -> LinExpr:
        """The variables of ``block`` themselves (identity matrix)."""
        eye = sp.identity(block.size, format="csr", dtype=float)
        return cls(block.size, {block.name: (block, eye)}, 0.0)

    @classmethod
    def lift(cls, value: Any) -> LinExpr:
        """``value`` as a LinExpr (constants become expressions without terms)."""
        if isinstance(value, LinExpr):
            return value
        arr = np.asarray(value, dtype=float).ravel()
        return cls(arr.size, {}, arr)

    # ------------------------------------------------------------------ algebra
    def _map(self, f: Any, rows: int, const: np.ndarray) -> LinExpr:
        return LinExpr(rows, {k: (b, f(m)) for k, (b, m) in self.terms.items()}, const)

    def broadcast(self, rows: int) -> LinExpr:
        """Repeat a one-row expression ``rows`` times (identity when the size already matches)."""
        if self.rows == rows:
            return self
        if self.rows != 1:
            raise ValueError(f"cannot broadcast an expression of {self.rows} rows to {rows}")
        ones = sp.csr_matrix(np.ones((rows, 1)))
        return self._map(lambda m: sp.csr_matrix(ones @ m), rows, np.full(rows, self.const[0]))

    def __add__(self, other: Any) -> LinExpr:
        o = LinExpr.lift(other)
        rows = max(self.rows, o.rows)
        a, b = self.broadcast(rows), o.broadcast(rows)
        terms = dict(a.terms)
        for k, (blk, m) in b.terms.items():
            terms[k] = (blk, terms[k][1] + m) if k in terms else (blk, m)
        return LinExpr(rows, terms, a.const + b.const)

    __radd__ = __add__

    def __neg__(self) -> LinExpr:
        return self._map(lambda m: -m, self.rows, -self.const)

    def __sub__(self, other: Any) -> LinExpr:
        return self + (-LinExpr.lift(other))

    def __rsub__(self, other: Any) -> LinExpr:
        return LinExpr.lift(other) + (-self)

    def __mul__(self, scalar: Any) -> LinExpr:
        if not np.isscalar(scalar):
            raise TypeError("LinExpr * x needs a scalar x; use Emitter.mul for elementwise")
        s = float(scalar)
        return self._map(lambda m: m * s, self.rows, self.const * s)

    __rmul__ = __mul__

    def scale_rows(self, coef: Any) -> LinExpr:
        """``diag(coef) @ self`` (``coef`` scalar or one value per row; a one-row expression
        broadcasts to ``len(coef)`` rows)."""
        c = np.asarray(coef, dtype=float).ravel()
        if c.size == 1:
            return self * float(c[0])
        e = self.broadcast(c.size)
        d = sp.diags(c, format="csr")
        return e._map(lambda m: sp.csr_matrix(d @ m), e.rows, c * e.const)

    def left_multiply(self, matrix: sp.spmatrix) -> LinExpr:
        """``matrix @ self`` for a ``(k, rows)`` matrix."""
        M = sp.csr_matrix(matrix, dtype=float)
        if M.shape[1] != self.rows:
            raise ValueError(f"matrix has {M.shape[1]} columns, expression has {self.rows} rows")
        return self._map(lambda m: sp.csr_matrix(M @ m), M.shape[0], M @ self.const)

    def take(self, index: np.ndarray) -> LinExpr:
        """Rows ``index`` (repeats allowed)."""
        idx = np.asarray(index, dtype=np.int64).ravel()
        return self._map(lambda m: m[idx], idx.size, self.const[idx])

    @staticmethod
    def vstack(parts: Sequence[Any]) -> LinExpr:
        """Rows of ``parts`` one after the other."""
        exprs = [LinExpr.lift(p) for p in parts]
        rows = sum(e.rows for e in exprs)
        blocks: dict[str, VarBlock] = {}
        for e in exprs:
            for k, (blk, _) in e.terms.items():
                blocks[k] = blk
        terms = {}
        for k, blk in blocks.items():
            mats = [
                e.terms[k][1] if k in e.terms else sp.csr_matrix((e.rows, blk.size)) for e in exprs
            ]
            terms[k] = (blk, sp.csr_matrix(sp.vstack(mats, format="csr")))
        return LinExpr(rows, terms, np.concatenate([e.const for e in exprs]))

    @staticmethod
    def interleave(parts: Sequence[Any]) -> LinExpr:
        """Rows ``(p0[0], p1[0], ..., p0[1], p1[1], ...)`` -- the layout of 3-d cones."""
        exprs = [LinExpr.lift(p) for p in parts]
        n = max(e.rows for e in exprs)
        exprs = [e.broadcast(n) for e in exprs]
        k = len(exprs)
        stacked = LinExpr.vstack(exprs)
        order = (np.arange(k)[None, :] * n + np.arange(n)[:, None]).ravel()
        return stacked.take(order)

    # ------------------------------------------------------------------ export
    def builder_terms(self) -> list[tuple[VarBlock, sp.coo_matrix]]:
        """``[(block, matrix)]`` for :meth:`ConicBuilder.add_constraints`."""
        return [(blk, m.tocoo()) for blk, m in self.terms.values()]

    def value(self, x: np.ndarray) -> np.ndarray:
        """Evaluate at the full variable vector ``x`` of the built problem."""
        out = self.const.copy()
        for blk, m in self.terms.values():
            out += m @ np.asarray(x, dtype=float)[blk.slice]
        return out

    def __repr__(self) -> str:
        return f"LinExpr(rows={self.rows}, blocks={sorted(self.terms)})"


__all__ = ["LinExpr"]
