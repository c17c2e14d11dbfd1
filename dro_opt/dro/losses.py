"""Losses that sets moving the samples can take: maxima of functions affine in the uncertainty.

``PiecewiseAffineLoss(samples, pieces)`` is ``loss(x, xi) = max_k a_k(x)' xi + b_k(x)`` on the
samples ``xi_1, ..., xi_N`` (rows of ``samples``), with ``a_k`` affine in the decisions (a cvxpy
affine expression or a constant of shape ``(d,)``) and ``b_k`` a scalar affine expression -- or
an ``(N,)`` one, ``b_{k,i}``: per-sample intercepts, ``loss_i(x, xi) = max_k a_k' xi + b_{k,i}``
for the atoms moved from sample ``i`` (a classifier's hinge ``max(1 - y_i (w' z + c), 0)`` with
the label ``y_i`` fixed while the features ``z`` move has the pieces ``(-y_i w, 1 - y_i c)`` and
``(0, 0)``; with the signed samples ``xi_i = y_i z_i`` -- same transport cost since
``|y_i| = 1`` -- the slopes are common and only the intercept ``1 - y_i c`` depends on ``i``).
The transport duals are unchanged: the c-transform of sample ``i`` only ever involves its own
intercepts (Mohajerin Esfahani & Kuhn 2018, Thm 4.2; paper 002 Thm 5.8, written per sample).
This is the loss class of Mohajerin Esfahani & Kuhn (2018, Sec. 4) and of paper 002 Thm 5.8 /
Cor. 5.9, for which the Wasserstein and joint OT-phi worst cases have exact conic duals.

The support of the uncertainty is all of R^d unless a box ``support=(lower, upper)`` is given
(entries may be infinite); the samples must lie in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cvxpy as cp
import numpy as np

from dro_opt.errors import LossError


class PiecewiseAffineLoss:
    """``loss(x, xi) = max_k a_k' xi + b_k`` on the rows of ``samples`` (module docstring).

    Parameters
    ----------
    samples : (N, d) array of finite sample points (a 1-d array is read as N samples, d = 1).
    pieces : non-empty list of ``(a_k, b_k)``; ``a_k`` of shape ``(d,)`` (cvxpy affine expression
        or constant), ``b_k`` scalar or of shape ``(N,)`` -- one intercept per sample (cvxpy
        affine expression or constant).
    support : optional box ``(lower, upper)`` (scalars or ``(d,)`` arrays, may be infinite).

    Raises
    ------
    LossError
        For samples that are not a finite 2-d array, an empty piece list, a piece of the wrong
        shape, or a piece that is not affine in the decisions.
    """

    def __init__(
        self,
        samples: Any,
        pieces: Sequence[tuple[Any, Any]],
        support: tuple[Any, Any] | None = None,
    ) -> None:
        xi = np.asarray(samples, dtype=float)
        if xi.ndim == 1:
            xi = xi[:, None]
        if xi.ndim != 2 or xi.shape[0] == 0 or xi.shape[1] == 0:
            raise LossError(f"samples must be an (N, d) array with N, d >= 1, got {xi.shape}")
        if not np.isfinite(xi).all():
            raise LossError("samples must be finite (no NaN or inf)")
        self.samples = xi
        d = xi.shape[1]
        if not isinstance(pieces, Sequence) or isinstance(pieces, str) or len(pieces) == 0:
            raise LossError("pieces must be a non-empty list of (a_k, b_k) pairs")
        self.pieces: list[tuple[cp.Expression, cp.Expression]] = []
        for k, piece in enumerate(pieces):
            try:
                a, b = piece
            except (TypeError, ValueError):
                raise LossError(f"pieces[{k}] must be a pair (a_k, b_k)") from None
            a_e = _affine(a, f"pieces[{k}][0] (a_k)")
            b_e = _affine(b, f"pieces[{k}][1] (b_k)")
            if a_e.size == 1 and d == 1:
                a_e = cp.reshape(a_e, (1,), order="C")
            if a_e.shape != (d,):
                raise LossError(
                    f"pieces[{k}][0] (a_k) must have shape ({d},) to match the samples' "
                    f"dimension, got {a_e.shape}"
                )
            n = xi.shape[0]
            if b_e.size == 1:
                b_e = cp.reshape(b_e, (), order="C")
            elif b_e.size == n and max(b_e.shape) == n:
                b_e = cp.reshape(b_e, (n,), order="C")
            else:
                raise LossError(
                    f"pieces[{k}][1] (b_k) must be a scalar or have shape ({n},) (one intercept "
                    f"per sample), got shape {b_e.shape}"
                )
            self.pieces.append((a_e, b_e))
        self.support = _box(support, d)
        lo, hi = self.support
        outside = (xi < lo - 1e-12).any(axis=1) | (xi > hi + 1e-12).any(axis=1)
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            raise LossError(f"sample {i} lies outside the support box; widen the box or fix it")

    # ------------------------------------------------------------------ sizes
    @property
    def num_samples(self) -> int:
        return int(self.samples.shape[0])

    @property
    def dim(self) -> int:
        return int(self.samples.shape[1])

    @property
    def num_pieces(self) -> int:
        return len(self.pieces)

    @property
    def per_sample(self) -> bool:
        """Whether some piece has per-sample intercepts ``b_{k,i}`` (shape ``(N,)``)."""
        return any(b.ndim == 1 for _, b in self.pieces)

    @property
    def has_support(self) -> bool:
        """Whether the support box is bounded in some coordinate."""
        lo, hi = self.support
        return bool(np.isfinite(lo).any() or np.isfinite(hi).any())

    # ---------------------------------------------------------- expressions
    def expression(self) -> cp.Expression:
        """The (N,) cvxpy expression ``max_k samples @ a_k + b_k`` (convex in the decisions)."""
        cols = [self.samples @ a + b for a, b in self.pieces]
        if len(cols) == 1:
            return cols[0]
        return cp.max(cp.vstack(cols), axis=0)

    def numeric_pieces(self) -> tuple[np.ndarray, np.ndarray]:
        """``(A, b)``: (K, d) slopes and intercepts at the decisions' current values; ``b`` is
        (K,) when every intercept is a scalar, else (K, N) (row ``k`` = ``b_{k,i}`` over the
        samples ``i``; scalar pieces repeated).

        Raises LossError if some decision variable has no value yet (solve first).
        """
        A = np.empty((self.num_pieces, self.dim))
        b = np.empty((self.num_pieces, self.num_samples) if self.per_sample else self.num_pieces)
        for k, (a_k, b_k) in enumerate(self.pieces):
            av, bv = a_k.value, b_k.value
            if av is None or bv is None:
                raise LossError(
                    "the loss's pieces have no value: solve the problem first or give the "
                    "pieces as constants"
                )
            A[k] = np.asarray(av, dtype=float).reshape(self.dim)
            b[k] = np.asarray(bv, dtype=float).reshape(b_k.shape)
        if not (np.isfinite(A).all() and np.isfinite(b).all()):
            raise LossError("the loss's pieces evaluate to NaN or inf")
        return A, b

    def values(self, points: np.ndarray | None = None, origins: Any = None) -> np.ndarray:
        """Loss at ``points`` (default: the samples) for the decisions' current values.

        With per-sample intercepts the loss of a point depends on the sample it was moved from:
        ``origins`` gives that sample's index per point (default: point ``j`` comes from
        sample ``j``, which needs ``N`` points). Without them ``origins`` is ignored.
        """
        A, b = self.numeric_pieces()
        pts = self.samples if points is None else np.asarray(points, dtype=float)
        if b.ndim == 2:
            org = np.arange(self.num_samples) if origins is None else np.asarray(origins, int)
            if org.shape != (pts.shape[0],):
                raise LossError(
                    "a loss with per-sample intercepts needs the origin (sample index) of every "
                    f"point: got {pts.shape[0]} points and origins of shape {org.shape}"
                )
            return (pts @ A.T + b[:, org].T).max(axis=1)
        return (pts @ A.T + b).max(axis=1)

    def scaled(self, factor: float) -> PiecewiseAffineLoss:
        """The loss times ``factor > 0`` (pieces ``(factor a_k, factor b_k)``, same samples)."""
        return PiecewiseAffineLoss(
            self.samples,
            [(factor * a, factor * b) for a, b in self.pieces],
            support=self.support,
        )

    def variables(self) -> list[cp.Variable]:
        seen: dict[int, cp.Variable] = {}
        for a, b in self.pieces:
            for v in a.variables() + b.variables():
                seen[v.id] = v
        return list(seen.values())

    def __repr__(self) -> str:
        return (
            f"PiecewiseAffineLoss(N={self.num_samples}, d={self.dim}, K={self.num_pieces}"
            f"{', box support' if self.has_support else ''})"
        )


def _affine(x: Any, what: str) -> cp.Expression:
    if isinstance(x, cp.Expression):
        if not x.is_affine():
            raise LossError(
                f"{what} must be affine in the decisions (curvature {x.curvature}); the loss "
                "must be a maximum of functions affine in the uncertain vector"
            )
        return x
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise LossError(f"{what} must be a number, array or cvxpy affine expression") from None
    if not np.isfinite(arr).all():
        raise LossError(f"{what} must be finite")
    return cp.Constant(arr)


def _box(support: tuple[Any, Any] | None, d: int) -> tuple[np.ndarray, np.ndarray]:
    if support is None:
        return np.full(d, -np.inf), np.full(d, np.inf)
    try:
        lo, hi = support
        lo_a = np.broadcast_to(np.asarray(lo, dtype=float), (d,)).copy()
        hi_a = np.broadcast_to(np.asarray(hi, dtype=float), (d,)).copy()
    except (TypeError, ValueError):
        raise LossError(
            f"support must be a box (lower, upper) with scalars or ({d},) arrays"
        ) from None
    if np.isnan(lo_a).any() or np.isnan(hi_a).any() or (lo_a > hi_a).any():
        raise LossError("support box needs lower <= upper in every coordinate (no NaN)")
    return lo_a, hi_a
