"""Second-order cones -> convex quadratic constraints on slack variables (exact).

Source: the canonical rows ``A x + s = b, s in K`` with ``K`` a product of ``zero``, ``nonneg``,
``soc`` and ``rsoc`` cones (docs/conventions.md, 'Canonical conic form'). Target: the row form
that quadratic-constraint solvers (Gurobi, CPLEX, Xpress) and the ``.mps``/``.lp`` files read::

    zero rows:          A_i x          =  b_i
    nonneg rows:        A_i x         <=  b_i
    cone rows:          A_i x + s_i    =  b_i        (one slack s_i per cone row)
    SOC(d),  d >= 2:    sum_{k>=1} s_k^2 - s_0^2 <= 0,      s_0 >= 0
    RSOC(d), d >= 3:    sum_{k>=2} s_k^2 - 2 s_0 s_1 <= 0,  s_0, s_1 >= 0

Both quadratic forms are exact: ``||s_1:|| <= s_0`` iff ``||s_1:||^2 <= s_0^2`` and
``s_0 >= 0``; the rotated cone ``2 s_0 s_1 >= ||s_2:||^2, s_0, s_1 >= 0`` is the CBF ``QR``
convention of the canonical form. They are the shapes Gurobi, CPLEX and Xpress recognise as
(rotated) second-order cones. The degenerate cones ``SOC(1)`` (``s_0 >= 0``) and ``RSOC(2)``
(``s_0, s_1 >= 0``) are plain ``nonneg`` rows. All rows keep the conic problem's order, so row
duals map back one to one.

Quadratic constraint ``q`` has the terms ``q_val[e] * col[q_col1[e]] * col[q_col2[e]]`` for ``e``
in ``q_start[q]:q_start[q+1]``, each product listed once with ``q_col1 <= q_col2``
(:meth:`QuadraticForm.symmetric_entries` gives the symmetric ``x'Qx`` entries that MPS
``QCMATRIX`` sections and Xpress' upper-triangle input use). Everything is built per cone run from
index arrays: no loop per cone or per non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from dro_opt.conic.cones import NONNEG, RSOC, SOC, ZERO, ConeRun
from dro_opt.conic.problem import ConicProblem
from dro_opt.errors import CapabilityError

SUPPORTED = frozenset({ZERO, NONNEG, SOC, RSOC})


@dataclass
class QuadraticForm:
    """The problem as linear rows plus convex quadratic cone constraints (module docstring).

    Columns are ``[x; s]``: the ``n`` original variables, then one slack per cone row.
    """

    A: sp.csr_matrix
    row_sense: np.ndarray  # "E" or "L" per row
    rhs: np.ndarray
    c: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    vtype: np.ndarray  # the problem's vtype codes, slacks continuous (0)
    n: int
    slack_rows: np.ndarray  # conic row of each slack column
    q_start: np.ndarray
    q_col1: np.ndarray
    q_col2: np.ndarray
    q_val: np.ndarray

    @property
    def num_cols(self) -> int:
        return int(self.c.shape[0])

    @property
    def num_rows(self) -> int:
        return int(self.A.shape[0])

    @property
    def num_quadratic(self) -> int:
        return int(self.q_start.shape[0] - 1)

    @property
    def integer(self) -> np.ndarray:
        return self.vtype != 0

    def q_row(self) -> np.ndarray:
        """The quadratic constraint of every term."""
        return np.repeat(np.arange(self.num_quadratic), np.diff(self.q_start))

    def symmetric_entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(q_row, i, j, Q_ij)`` of ``x'Qx`` with ``Q`` symmetric: an off-diagonal product
        ``v x_i x_j`` becomes ``Q_ij = Q_ji = v / 2``; sorted by (row, i, j)."""
        qr = self.q_row()
        off = self.q_col1 != self.q_col2
        r = np.concatenate([qr, qr[off]])
        i = np.concatenate([self.q_col1, self.q_col2[off]])
        j = np.concatenate([self.q_col2, self.q_col1[off]])
        v = np.where(off, 0.5 * self.q_val, self.q_val)
        v = np.concatenate([v, v[off]])
        order = np.lexsort((j, i, r))
        return r[order], i[order], j[order], v[order]


def row_layout(cones: list[ConeRun], m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: cone kind, position inside its cone, cone dimension."""
    kinds = np.empty(m, dtype=object)
    pos = np.zeros(m, dtype=np.int64)
    dims = np.zeros(m, dtype=np.int64)
    off = 0
    for run in cones:
        r = run.rows
        kinds[off : off + r] = run.kind
        pos[off : off + r] = np.tile(np.arange(run.dim), run.count)
        dims[off : off + r] = run.dim
        off += r
    return kinds, pos, dims


def lower_to_quadratic(problem: ConicProblem, target: str = "this solver") -> QuadraticForm:
    """Lower ``problem`` to :class:`QuadraticForm` (module docstring).

    Raises
    ------
    CapabilityError
        For exponential or power cones, which have no exact quadratic form.
    """
    bad = sorted(problem.cone_kinds() - SUPPORTED)
    if bad:
        raise CapabilityError(
            f"{target} cannot hold {', '.join(bad)} cones (only linear and second-order cones "
            "lower to quadratic constraints); use solver 'scip', 'clarabel' or 'mosek', or write "
            "a .cbf file"
        )
    n, m = problem.n, problem.m
    kinds, pos, dims = row_layout(problem.cones, m)
    is_cone = ((kinds == SOC) & (dims >= 2)) | ((kinds == RSOC) & (dims >= 3))
    sense = np.where((kinds == ZERO) | is_cone, "E", "L")
    cone_rows = np.flatnonzero(is_cone)
    ns = cone_rows.size
    slack_of_row = np.full(m, -1, dtype=np.int64)
    slack_of_row[cone_rows] = n + np.arange(ns)
    S = sp.csr_matrix((np.ones(ns), (cone_rows, np.arange(ns))), shape=(m, ns))
    A = sp.hstack([problem.A, S], format="csr")
    head = is_cone & ((pos == 0) | ((kinds == RSOC) & (pos == 1)))
    lb = np.concatenate([problem.lb, np.where(head[cone_rows], 0.0, -np.inf)])
    ub = np.concatenate([problem.ub, np.full(ns, np.inf)])

    # one quadratic constraint per non-degenerate cone, numbered in row order
    first = cone_rows[pos[cone_rows] == 0]
    cone_of_row = np.full(m, -1, dtype=np.int64)
    cone_of_row[first] = np.arange(first.size)
    cone_of_row[cone_rows] = np.maximum.accumulate(cone_of_row[cone_rows])
    tail = cone_rows[((kinds[cone_rows] == SOC) & (pos[cone_rows] >= 1)) | (pos[cone_rows] >= 2)]
    soc0 = first[kinds[first] == SOC]
    rs0 = first[kinds[first] == RSOC]
    q_cone = np.concatenate([cone_of_row[tail], cone_of_row[soc0], cone_of_row[rs0]])
    c1 = slack_of_row[np.concatenate([tail, soc0, rs0])]
    c2 = slack_of_row[np.concatenate([tail, soc0, rs0 + 1])]
    val = np.concatenate([np.ones(tail.size), -np.ones(soc0.size), -2.0 * np.ones(rs0.size)])
    lo, hi = np.minimum(c1, c2), np.maximum(c1, c2)
    order = np.lexsort((hi, lo, q_cone))
    counts = np.bincount(q_cone, minlength=first.size)
    return QuadraticForm(
        A=A,
        row_sense=sense.astype("<U1"),
        rhs=problem.b.copy(),
        c=np.concatenate([problem.c, np.zeros(ns)]),
        lb=lb,
        ub=ub,
        vtype=np.concatenate([problem.vtype, np.zeros(ns, dtype=problem.vtype.dtype)]),
        n=n,
        slack_rows=cone_rows,
        q_start=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        q_col1=lo[order],
        q_col2=hi[order],
        q_val=val[order],
    )
