"""Shared, vectorised helpers for the backends.

Everything here works on whole arrays of the canonical form ``A x + s = b, s in K`` of
:mod:`dro_opt.conic.problem` (docs/conventions.md, 'Canonical conic form'); nothing loops per row or
per non-zero.

* :func:`min_form` -- ``max c'x`` becomes ``min (-c)'x`` (sign kept to map values back).
* :func:`rsoc_to_soc` -- the exact orthogonal map of rotated onto standard second-order cones:
  ``2 u v >= ||w||^2, u, v >= 0``  iff  ``((u + v)/sqrt2, (u - v)/sqrt2, w) in SOC``.
* :func:`row_kinds` / :func:`cone_slices` -- which cone each row belongs to.
* :func:`bound_rows` -- finite variable bounds as extra ``nonneg`` rows (for Clarabel).
* :func:`duals_by_block` -- a dual vector cut into the problem's named constraint blocks.
* :func:`conic_duals` -- row duals (d objective / d rhs) as conic duals plus the bound they prove.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from dro_opt.conic.cones import CONE_KINDS, NONNEG, RSOC, SOC, ZERO, ConeRun, merge_runs
from dro_opt.conic.problem import MAX, ConicProblem

KIND_CODE = {kind: i for i, kind in enumerate(CONE_KINDS)}
_INV_SQRT2 = 1.0 / math.sqrt(2.0)


def min_form(problem: ConicProblem) -> tuple[np.ndarray, float]:
    """Return ``(c_min, sign)`` with ``c_min = sign * c`` and ``sign = -1`` for maximisation.

    The minimisation form ``min c_min'x`` has the same minimisers; a value ``v`` of it maps back
    to ``sign * v + c0`` in the problem's own sense.
    """
    sign = -1.0 if problem.sense == MAX else 1.0
    return sign * problem.c, sign


def row_kinds(cones: list[ConeRun]) -> np.ndarray:
    """Cone-kind code (index into ``CONE_KINDS``) of every row, as an ``int8`` array."""
    if not cones:
        return np.zeros(0, dtype=np.int8)
    codes = np.array([KIND_CODE[r.kind] for r in cones], dtype=np.int8)
    return np.repeat(codes, [r.rows for r in cones])


def cone_slices(cones: list[ConeRun]) -> list[tuple[ConeRun, int]]:
    """``(run, first row)`` for every run, in row order."""
    out: list[tuple[ConeRun, int]] = []
    off = 0
    for run in cones:
        out.append((run, off))
        off += run.rows
    return out


@dataclass(frozen=True)
class SocForm:
    """A problem's rows after mapping rotated cones onto standard ones.

    ``A = T A_orig``, ``b = T b_orig`` with ``T`` symmetric and orthogonal (``T = T' = T^-1``):
    a slack ``s`` of the original rows lies in its rotated cones iff ``T s`` lies in the standard
    cones, and a dual ``z`` of the new rows maps back as ``T z`` (``T'`` = ``T``). ``T`` is
    ``None`` when the problem has no rotated cone (then nothing was copied).
    """

    A: sp.csr_matrix
    b: np.ndarray
    cones: list[ConeRun]
    T: sp.csr_matrix | None

    def dual_back(self, z: np.ndarray) -> np.ndarray:
        """Map a dual vector of the transformed rows to the original rows."""
        return z if self.T is None else np.asarray(self.T @ z)


def rsoc_to_soc(problem: ConicProblem) -> SocForm:
    """Rewrite every rotated cone as a standard second-order cone (exact, linear).

    For the CBF ``QR`` convention ``2 s0 s1 >= ||s2:||^2, s0, s1 >= 0``:
    ``(s0 + s1)^2 / 2 - (s0 - s1)^2 / 2 = 2 s0 s1``, so with ``u = (s0 + s1)/sqrt2`` and
    ``v = (s0 - s1)/sqrt2`` the cone reads ``u^2 >= v^2 + ||s2:||^2, u >= 0``, i.e.
    ``(u, v, s2:) in SOC`` (``u >= 0`` together with ``u >= |v|`` gives ``s0, s1 >= 0``).
    The map acts on the first two rows of each rotated cone only and is built as one sparse
    matrix from index arrays.
    """
    if RSOC not in problem.cone_kinds():
        return SocForm(problem.A, problem.b, list(problem.cones), None)
    m = problem.m
    heads: list[np.ndarray] = []
    for run, start in cone_slices(problem.cones):
        if run.kind == RSOC and run.count:
            heads.append(start + run.dim * np.arange(run.count, dtype=np.int64))
    h0 = np.concatenate(heads)
    h1 = h0 + 1
    other = np.setdiff1d(np.arange(m, dtype=np.int64), np.concatenate([h0, h1]))
    k = _INV_SQRT2
    rows = np.concatenate([other, h0, h0, h1, h1])
    cols = np.concatenate([other, h0, h1, h0, h1])
    vals = np.concatenate(
        [
            np.ones(other.size),
            np.full(h0.size, k),
            np.full(h0.size, k),
            np.full(h0.size, k),
            np.full(h0.size, -k),
        ]
    )
    T = sp.csr_matrix((vals, (rows, cols)), shape=(m, m))
    cones = merge_runs(
        [ConeRun(SOC, r.dim, r.count) if r.kind == RSOC else r for r in problem.cones]
    )
    return SocForm(sp.csr_matrix(T @ problem.A), np.asarray(T @ problem.b), cones, T)


def bound_rows(lb: np.ndarray, ub: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """Finite bounds ``l <= x <= u`` as rows ``G x + s = h, s >= 0``.

    ``x_j >= l_j`` is ``-x_j + s = -l_j`` and ``x_j <= u_j`` is ``x_j + s = u_j``; lower-bound
    rows come first. Returns ``(G, h)`` with ``G`` of shape ``(#finite bounds, n)``.
    """
    n = lb.shape[0]
    lo = np.flatnonzero(np.isfinite(lb))
    hi = np.flatnonzero(np.isfinite(ub))
    k = lo.size + hi.size
    G = sp.csr_matrix(
        (
            np.concatenate([-np.ones(lo.size), np.ones(hi.size)]),
            (np.arange(k), np.concatenate([lo, hi])),
        ),
        shape=(k, n),
    )
    return G, np.concatenate([-lb[lo], ub[hi]])


def linear_sides(kinds: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row sides ``(lower, upper)`` of ``A x`` for the linear rows (``zero``: ``A x = b``;
    ``nonneg``: ``A x <= b``); non-linear rows get ``(-inf, inf)``."""
    lower = np.where(kinds == KIND_CODE[ZERO], b, -np.inf)
    upper = np.where((kinds == KIND_CODE[ZERO]) | (kinds == KIND_CODE[NONNEG]), b, np.inf)
    return lower, upper


def duals_by_block(problem: ConicProblem, z: np.ndarray) -> dict[str, np.ndarray]:
    """Cut a dual vector over the original rows into ``{constraint block name: array}``."""
    return {name: np.array(z[blk.slice]) for name, blk in problem.con_blocks.items()}


def conic_duals(
    problem: ConicProblem, row_duals: np.ndarray
) -> tuple[dict[str, np.ndarray], float | None]:
    """Conic duals by block and the dual bound they prove.

    ``row_duals`` are the solver's row duals as ``d objective / d rhs`` in the problem's own sense
    (the Gurobi, CPLEX and Xpress convention; MOSEK's ``y`` and ``-doty``). They become the conic
    duals ``y in K*`` of ``A x + s = b`` for the minimisation form ``min c_min'x`` (``y = -pi``
    for min, ``pi`` for max), split by constraint block, and with the bound multipliers
    ``r = c_min + A'y`` they give the dual objective (weak duality)::

        min c_min'x  >=  -b'y + sum_{r_j > 0} r_j l_j + sum_{r_j < 0} r_j u_j

    mapped back to the problem's sense (plus ``c0``): a lower bound for minimisation, an upper
    bound for maximisation. ``None`` when a non-negligible ``r_j`` meets an infinite bound.
    """
    pi = np.asarray(row_duals, dtype=float)
    c_min, sign = min_form(problem)
    y = -sign * pi
    blocks = duals_by_block(problem, y) or {"rows": y}
    r = c_min + problem.A.T @ y
    # Interior-point duals are dual feasible to ~1e-8; smaller multipliers count as zero.
    tol = 1e-7 * max(1.0, float(np.max(np.abs(problem.c), initial=0.0)))
    up, down = r > tol, r < -tol
    if (up & ~np.isfinite(problem.lb)).any() or (down & ~np.isfinite(problem.ub)).any():
        return blocks, None
    dual = -problem.b @ y + r[up] @ problem.lb[up] + r[down] @ problem.ub[down]
    return blocks, float(sign * dual + problem.c0)


def finite_or_none(value: float | None, infinity: float = 1e20) -> float | None:
    """``None`` for missing, NaN or (solver-)infinite values, else ``float(value)``."""
    if value is None:
        return None
    v = float(value)
    if not math.isfinite(v) or abs(v) >= infinity:
        return None
    return v
