"""Bulk builder for :class:`~dro_opt.conic.problem.ConicProblem`.

Blocks are appended whole, as numpy arrays and scipy.sparse matrices; nothing loops per sample
or per non-zero. A constraint block states an *affine expression in a cone*::

    sum_k  M_k @ x[block_k]  +  h   in   K          (rows of M_k: the block's rows)

which is stored in the canonical ``A x + s = b`` form as ``A = -[M_k]``, ``b = h``.

Example (max t s.t. t <= ||y|| is wrong way round, so: min t s.t. ||y - y0|| <= t)::

    bld = ConicBuilder(sense="min")
    t = bld.add_variables("t", 1)
    y = bld.add_variables("y", 3, lb=0)
    bld.add_constraints("norm", "soc", [(t, [[1], [0], [0], [0]]),
                                        (y, np.vstack([np.zeros(3), -np.eye(3)]))],
                        const=np.r_[0, -y0], dims=4)
    bld.set_objective([(t, [1.0])])
    prob = bld.build()
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from dro_opt.conic.cones import NONNEG, POW, ZERO, ConeRun, validate_run
from dro_opt.conic.problem import (
    BINARY,
    CONTINUOUS,
    MAX,
    MIN,
    VTYPE_CODES,
    ConBlock,
    ConicProblem,
    VarBlock,
)
from dro_opt.errors import InvalidModelError

Terms = Sequence[tuple[VarBlock, Any]]


class ConicBuilder:
    """Append named variable and constraint blocks in bulk, then :meth:`build`."""

    def __init__(self, sense: str = MIN, name: str = "model") -> None:
        if sense not in (MIN, MAX):
            raise InvalidModelError(f"sense must be 'min' or 'max', got {sense!r}")
        self.sense = sense
        self.name = name
        self._n = 0
        self._m = 0
        self._lb: list[np.ndarray] = []
        self._ub: list[np.ndarray] = []
        self._vtype: list[np.ndarray] = []
        self._rows: list[np.ndarray] = []
        self._cols: list[np.ndarray] = []
        self._vals: list[np.ndarray] = []
        self._b: list[np.ndarray] = []
        self._cones: list[ConeRun] = []
        self._obj_idx: list[np.ndarray] = []
        self._obj_val: list[np.ndarray] = []
        self._c0 = 0.0
        self.var_blocks: dict[str, VarBlock] = {}
        self.con_blocks: dict[str, ConBlock] = {}

    # ------------------------------------------------------------- variables
    def add_variables(
        self,
        name: str,
        shape: int | tuple[int, ...],
        *,
        lb: float | np.ndarray = -np.inf,
        ub: float | np.ndarray = np.inf,
        vtype: str = "continuous",
    ) -> VarBlock:
        """Add a block of variables; ``vtype`` in {continuous, integer, binary}."""
        if name in self.var_blocks:
            raise InvalidModelError(f"variable block {name!r} already exists")
        shape_t = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
        size = int(np.prod(shape_t)) if shape_t else 1
        if vtype not in VTYPE_CODES:
            raise InvalidModelError(f"vtype must be one of {sorted(VTYPE_CODES)}, got {vtype!r}")
        code = VTYPE_CODES[vtype]
        lo = np.broadcast_to(np.asarray(lb, dtype=float), shape_t).ravel().copy()
        hi = np.broadcast_to(np.asarray(ub, dtype=float), shape_t).ravel().copy()
        if code == BINARY:
            lo = np.maximum(lo, 0.0)
            hi = np.minimum(hi, 1.0)
        block = VarBlock(name, self._n, size, shape_t)
        self._lb.append(lo)
        self._ub.append(hi)
        self._vtype.append(np.full(size, code, dtype=np.int8))
        self._n += size
        self.var_blocks[name] = block
        return block

    # ------------------------------------------------------------ objective
    def set_objective(self, terms: Iterable[tuple[VarBlock, Any]], constant: float = 0.0) -> None:
        """Objective ``sum_k coef_k' x[block_k] + constant`` (replaces any previous one)."""
        self._obj_idx, self._obj_val = [], []
        self._c0 = float(constant)
        self.add_objective(terms)

    def add_objective(self, terms: Iterable[tuple[VarBlock, Any]], constant: float = 0.0) -> None:
        """Add ``sum_k coef_k' x[block_k] + constant`` to the objective."""
        self._c0 += float(constant)
        for block, coef in terms:
            vec = np.broadcast_to(np.asarray(coef, dtype=float).ravel(), (block.size,))
            self._obj_idx.append(block.indices)
            self._obj_val.append(np.array(vec))

    # ---------------------------------------------------------- constraints
    def add_constraints(
        self,
        name: str,
        cone: str,
        terms: Terms,
        const: float | np.ndarray | None = None,
        *,
        dims: int | Sequence[int] | None = None,
        param: float | None = None,
    ) -> ConBlock:
        """Add rows ``sum_k M_k x[block_k] + const in cone``.

        ``M_k`` is anything ``scipy.sparse.coo_matrix`` accepts (dense arrays included) of shape
        ``(rows, block_k.size)``. For ``soc``/``rsoc``, ``dims`` gives one dimension for all cones
        (int) or one per cone (sequence); ``exp``/``pow`` cones have dimension 3 (``param`` is the
        power-cone exponent). ``zero``/``nonneg`` rows need no ``dims``.
        """
        if name in self.con_blocks:
            raise InvalidModelError(f"constraint block {name!r} already exists")
        mats = []
        nrows: int | None = None
        for block, mat in terms:
            if not isinstance(block, VarBlock):
                raise InvalidModelError(f"terms of {name!r} must be (VarBlock, matrix) pairs")
            coo = sp.coo_matrix(mat, dtype=float)
            if coo.shape[1] != block.size:
                raise InvalidModelError(
                    f"constraint block {name!r}: matrix for {block.name!r} has "
                    f"{coo.shape[1]} columns, the block has {block.size} variables"
                )
            if nrows is None:
                nrows = coo.shape[0]
            elif coo.shape[0] != nrows:
                raise InvalidModelError(
                    f"constraint block {name!r}: term matrices have {nrows} and {coo.shape[0]} rows"
                )
            mats.append((block, coo))
        if nrows is None:
            if const is None:
                raise InvalidModelError(f"constraint block {name!r} has no terms and no constant")
            nrows = int(np.size(const))
        h = (
            np.zeros(nrows)
            if const is None
            else np.broadcast_to(np.asarray(const, dtype=float).ravel(), (nrows,)).copy()
        )
        runs = _runs_for(cone, nrows, dims, param, name)
        for block, coo in mats:
            self._rows.append(coo.row.astype(np.int64) + self._m)
            self._cols.append(coo.col.astype(np.int64) + block.start)
            self._vals.append(-coo.data)
        self._b.append(h)
        self._cones.extend(runs)
        blk = ConBlock(name, self._m, nrows, cone)
        self._m += nrows
        self.con_blocks[name] = blk
        return blk

    def add_le(self, name: str, terms: Terms, rhs: float | np.ndarray) -> ConBlock:
        """Rows ``sum_k M_k x[block_k] <= rhs``."""
        return self.add_constraints(name, NONNEG, _negate(terms), rhs)

    def add_ge(self, name: str, terms: Terms, rhs: float | np.ndarray) -> ConBlock:
        """Rows ``sum_k M_k x[block_k] >= rhs``."""
        return self.add_constraints(name, NONNEG, terms, -np.asarray(rhs, dtype=float))

    def add_eq(self, name: str, terms: Terms, rhs: float | np.ndarray) -> ConBlock:
        """Rows ``sum_k M_k x[block_k] == rhs``."""
        return self.add_constraints(name, ZERO, terms, -np.asarray(rhs, dtype=float))

    # ---------------------------------------------------------------- build
    def build(self) -> ConicProblem:
        n, m = self._n, self._m
        if self._rows:
            rows = np.concatenate(self._rows)
            cols = np.concatenate(self._cols)
            vals = np.concatenate(self._vals)
        else:
            rows = cols = np.zeros(0, dtype=np.int64)
            vals = np.zeros(0)
        A = sp.csr_matrix((vals, (rows, cols)), shape=(m, n))
        A.sum_duplicates()
        c = np.zeros(n)
        if self._obj_idx:
            np.add.at(c, np.concatenate(self._obj_idx), np.concatenate(self._obj_val))
        cat = lambda parts, dtype=float: (  # noqa: E731
            np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
        )
        return ConicProblem(
            c=c,
            A=A,
            b=cat(self._b),
            cones=self._cones,
            lb=cat(self._lb),
            ub=cat(self._ub),
            vtype=cat(self._vtype, np.int8) if self._vtype else np.zeros(0, np.int8),
            sense=self.sense,
            c0=self._c0,
            var_blocks=dict(self.var_blocks) or {"x": VarBlock("x", 0, 0, (0,))},
            con_blocks=dict(self.con_blocks),
            name=self.name,
        )

    @property
    def num_variables(self) -> int:
        return self._n

    @property
    def num_rows(self) -> int:
        return self._m


def _negate(terms: Terms) -> list[tuple[VarBlock, sp.coo_matrix]]:
    return [(blk, -sp.coo_matrix(mat, dtype=float)) for blk, mat in terms]


def _runs_for(
    cone: str, nrows: int, dims: int | Sequence[int] | None, param: float | None, name: str
) -> list[ConeRun]:
    if cone in (ZERO, NONNEG):
        return [ConeRun(cone, 1, nrows)] if nrows else []
    if cone in ("exp", POW):
        if nrows % 3:
            raise InvalidModelError(
                f"{cone} block {name!r} needs a multiple of 3 rows, got {nrows}"
            )
        run = ConeRun(cone, 3, nrows // 3, param if cone == POW else None)
        validate_run(run)
        return [run]
    if dims is None:
        raise InvalidModelError(f"cone {cone!r} in block {name!r} needs dims=")
    if np.isscalar(dims):
        d = int(dims)  # type: ignore[arg-type]
        if d < 1 or nrows % d:
            raise InvalidModelError(f"block {name!r}: {nrows} rows do not split into cones of {d}")
        run = ConeRun(cone, d, nrows // d)
        validate_run(run)
        return [run]
    dl = [int(d) for d in dims]  # type: ignore[union-attr]
    if sum(dl) != nrows:
        raise InvalidModelError(f"block {name!r}: cone dims sum to {sum(dl)}, rows are {nrows}")
    runs = [ConeRun(cone, d, 1) for d in dl]
    for r in runs:
        validate_run(r)
    return runs


__all__ = ["CONTINUOUS", "ConicBuilder"]
