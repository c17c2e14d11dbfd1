"""Linear-fractional terms -> linear rows with McCormick envelopes (MILP/MISOCP-ready).

Source (one ratio per row ``i``, ``v`` the decision, ``n_v`` entries)::

    y_i = (b_i + sum_j A_ij v_j) / (d_i + sum_j C_ij v_j),     d_i + C_i v > 0 for feasible v,

with data-derived bounds ``ylo_i <= y_i <= yhi_i`` valid for every feasible ``v``. Multiplying by
the (positive) denominator (paper 003 eqs. (2)-(4); the linear-fractional form of the
multinomial-logit capture probability compared by Haase & Mueller 2014) gives the bilinear row::

    d_i y_i + sum_j C_ij y_i v_j  (= | <=)  b_i + sum_j A_ij v_j,

and each product ``w_ij = y_i v_j`` -- one per *stored entry* of ``C`` -- is replaced by its
McCormick envelope over the box ``[ylo_i, yhi_i] x [vlo_j, vhi_j]`` (McCormick 1976; paper 003
eqs. (5)-(10) for ``ylo = 0``, ``v`` binary)::

    w_ij <= yhi_i v_j + vlo_j y_i - yhi_i vlo_j          (block ``mccormick_w_le_yhi_v``)
    w_ij <= ylo_i v_j + vhi_j y_i - ylo_i vhi_j          (block ``mccormick_w_le_y``)
    w_ij >= yhi_i v_j + vhi_j y_i - yhi_i vhi_j          (block ``mccormick_w_ge``)
    w_ij >= ylo_i v_j + vlo_j y_i - ylo_i vlo_j          (block ``mccormick_w_ge_ylo_v``)

plus the bounds ``min <= w_ij <= max`` of the four vertex products. A row whose ``y`` and ``v``
coefficients both vanish reads ``w_ij >= 0`` or ``w_ij <= 0`` and is then implied by those bounds,
so it is not emitted (for ``ylo = 0``, ``v in {0, 1}`` the fourth family reduces to the bound
``w >= 0`` and the rows left are those of paper 003 eqs. (5)-(10)). Target cones: ``zero`` rows
for ``relation="eq"``, ``nonneg`` rows for ``"le"`` and for the envelopes.

Exactness / error
-----------------
* ``v`` binary (``exact_binary=True``, bounds ``[0, 1]``): at ``v_j in {0, 1}`` the envelope
  collapses to ``w_ij = v_j y_i`` (``v_j = 0``: ``0 <= w_ij <= 0`` from the first and fourth
  family; ``v_j = 1``: ``y_i <= w_ij <= y_i`` from the second and third), so the rows are
  *equivalent* to the source whenever ``[ylo, yhi]`` contains every attainable ratio.
* ``relation="le"`` keeps ``y_i <= f_i(v)`` only (the denominator is positive); exact at the
  optimum when the objective is non-decreasing in ``y`` (ERM capture, the monotone chi-square dual).
* ``v`` continuous in ``[vlo, vhi]`` (``exact_binary=False``): the envelope is the convex hull of
  ``w = y v`` on the box, so the model is a **relaxation** (``info.exact`` is ``False``); the
  product gap is at most ``(yhi_i - ylo_i)(vhi_j - vlo_j) / 4`` per pair (Al-Khayyal & Falk 1983).

The rule emits one block per row family through an :class:`~dro_opt.reformulations.emitter.Emitter`
(ConicEmitter: bulk scipy.sparse blocks; CvxpyEmitter: cvxpy constraints) -- no loop per row or
per pair. It is shared by every model with logit/ratio objectives: MC-FLP (``v = z``, ``C = A``
the location utilities, ``d`` the competitor utility), and PWLA-binary encodings (``v`` the
segment binaries, ``C`` sparse); when the box lower bound of the denominator is not positive but
the feasible set keeps it so (e.g. an assignment row ``sum_j v_j = 1``), pass ``denominator_min``.

References
----------
* G. P. McCormick (1976). Computability of global solutions to factorable nonconvex programs:
  Part I -- Convex underestimating problems. Math. Programming 10, 147-175.
* F. A. Al-Khayyal, J. E. Falk (1983). Jointly constrained biconvex programming. Math. Oper.
  Res. 8(2), 273-286.
* K. Haase, S. Mueller (2014). A comparison of linear reformulations for multinomial logit
  choice probabilities in facility location models. EJOR 232(3), 689-691.
* Paper 003, Secs. 3.1-3.2, eqs. (2)-(10) (the MISOCP of robust max-capture facility location).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from dro_opt.errors import ParameterError
from dro_opt.reformulations.emitter import Emitter, Expr

#: Row-family keys (module docstring) in emission order, then the variable and ratio-row keys.
FAMILIES = ("mccormick_w_le_yhi_v", "mccormick_w_le_y", "mccormick_w_ge", "mccormick_w_ge_ylo_v")
ROLES = ("y", "w", "fractional", *FAMILIES)


@dataclass(frozen=True)
class FractionalInfo:
    """What :func:`linear_fractional_mccormick` built.

    Attributes
    ----------
    pairs : (P, 2) int array, ``(i, j)`` of every ``w`` entry (row-major, ``C``'s CSR order).
    exact : True when the rows are equivalent to the source (binary ``v``); False for the
        McCormick relaxation of continuous ``v``.
    relation : ``"eq"`` or ``"le"`` for the ratio rows.
    blocks : role (``y``, ``w``, ``fractional``, a family key) -> emitted block name; families
        whose rows were all implied by the ``w`` bounds are absent.
    denominator_min : (N,) the positive lower bound of the denominators that was checked.
    """

    pairs: np.ndarray
    exact: bool
    relation: str
    blocks: dict[str, str] = field(default_factory=dict)
    denominator_min: np.ndarray = field(default_factory=lambda: np.zeros(0))


def linear_fractional_mccormick(
    em: Emitter,
    v: Expr,
    numerator: tuple[Any, Any],
    denominator: tuple[Any, Any],
    y_bounds: tuple[Any, Any],
    *,
    relation: str = "eq",
    v_bounds: tuple[Any, Any] = (0.0, 1.0),
    prefix: str = "",
    exact_binary: bool = True,
    denominator_min: Any = None,
    names: Mapping[str, str] | None = None,
) -> tuple[Expr, Expr, FractionalInfo]:
    """Emit ``y = (b + A v) / (d + C v)`` as linear rows with McCormick envelopes.

    Parameters
    ----------
    em : the emitter (:class:`ConicEmitter` or :class:`CvxpyEmitter`).
    v : expression with ``n_v`` entries (binary when ``exact_binary``).
    numerator, denominator : ``(A, b)`` and ``(C, d)``; ``A``, ``C`` of shape ``(N, n_v)``
        (dense or scipy.sparse), ``b``, ``d`` scalars or ``(N,)``. One ``w_ij`` is created per
        stored entry of ``C`` (call ``eliminate_zeros()`` first to drop explicit zeros).
    y_bounds : ``(ylo, yhi)``, finite, scalars or ``(N,)``: bounds on the ratios over the
        feasible ``v`` (from the data; the envelope is only as tight as they are).
    relation : ``"eq"`` (``y = f(v)``) or ``"le"`` (``y <= f(v)``; exact when the objective is
        non-decreasing in ``y``).
    v_bounds : ``(vlo, vhi)``, finite, scalars or ``(n_v,)``; must be ``(0, 1)`` when
        ``exact_binary``.
    prefix : block names are ``f"{prefix}_{role}"`` (just ``role`` when ``prefix == ""``), roles
        in :data:`ROLES`; ``names`` overrides single roles.
    exact_binary : the caller guarantees ``v`` binary (then ``info.exact``); False marks the
        result as a relaxation.
    denominator_min : optional positive ``(N,)`` lower bound on ``d + C v`` over the *feasible*
        set; default: the bound over the box ``[vlo, vhi]``, which must be positive.

    Returns
    -------
    y : expression ``(N,)``, the ratios (variable bounded by ``y_bounds``).
    w : expression ``(P,)``, the products ``y_i v_j`` for :attr:`FractionalInfo.pairs`.
    info : :class:`FractionalInfo`.
    """
    if relation not in ("eq", "le"):
        raise ParameterError(f"relation must be 'eq' or 'le', got {relation!r}")
    block = _block_names(prefix, names)
    nv = em.size(v)
    A, b = _matrix(numerator[0], nv, "numerator"), numerator[1]
    C, d = _matrix(denominator[0], nv, "denominator"), denominator[1]
    N = C.shape[0]
    if A.shape[0] != N:
        raise ParameterError(f"numerator has {A.shape[0]} rows, denominator {N}")
    b, d = _vector(b, N, "b"), _vector(d, N, "d")
    ylo, yhi = _box(y_bounds, N, "y_bounds")
    vlo, vhi = _box(v_bounds, nv, "v_bounds")
    if exact_binary and not ((vlo == 0.0).all() and (vhi == 1.0).all()):
        raise ParameterError("exact_binary needs v_bounds = (0, 1); use exact_binary=False")
    if denominator_min is None:
        den_min = d + C.maximum(0.0) @ vlo + C.minimum(0.0) @ vhi
        hint = "over the box v_bounds; pass denominator_min if the feasible set keeps it positive"
    else:
        den_min, hint = _vector(denominator_min, N, "denominator_min"), "(denominator_min)"
    if not (den_min > 0).all():
        raise ParameterError(f"the denominator d + C v must be positive {hint}")

    coo = C.tocoo()
    pi, pj, cval = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
    P = pi.size
    yl, yh, vl, vh = ylo[pi], yhi[pi], vlo[pj], vhi[pj]
    corners = np.stack([yl * vl, yl * vh, yh * vl, yh * vh])
    y = em.variable(block["y"], N, lb=ylo, ub=yhi)
    w = em.variable(block["w"], P, lb=corners.min(axis=0), ub=corners.max(axis=0))
    emitted = {"y": block["y"], "w": block["w"], "fractional": block["fractional"]}

    # ---- ratio rows: d y + C_w w - A v - b (= 0 | <= 0) -------------------------------------
    Cw = sp.csr_matrix((cval, (pi, np.arange(P))), shape=(N, P))
    lhs = em.mul(d, y) + em.matmul(Cw, w) - em.matmul(A, v)
    if b.any():
        lhs = lhs - b
    if relation == "eq":
        em.zero(block["fractional"], lhs)
    else:
        em.nonneg(block["fractional"], -lhs)

    # ---- McCormick envelopes of w = y v: (coefficient of v, of y, constant, w is above) ------
    envelopes = {
        "mccormick_w_le_yhi_v": (yh, vl, -yh * vl, False),
        "mccormick_w_le_y": (yl, vh, -yl * vh, False),
        "mccormick_w_ge": (yh, vh, -yh * vh, True),
        "mccormick_w_ge_ylo_v": (yl, vl, -yl * vl, True),
    }
    for key, (cv, cy, k, above) in envelopes.items():
        rows = np.flatnonzero((cv != 0) | (cy != 0))  # the others are implied by w's bounds
        if rows.size == 0:
            continue
        bound = _affine(em, v, cv[rows], pj[rows], nv) + _affine(em, y, cy[rows], pi[rows], N)
        if k[rows].any():
            bound = bound + k[rows]
        w_rows = w if rows.size == P else em.take(w, rows)
        em.nonneg(block[key], w_rows - bound if above else bound - w_rows)
        emitted[key] = block[key]

    info = FractionalInfo(
        pairs=np.column_stack([pi, pj]),
        exact=bool(exact_binary),
        relation=relation,
        blocks=emitted,
        denominator_min=den_min,
    )
    return y, w, info


# ------------------------------------------------------------------------------- helpers
def _block_names(prefix: str, names: Mapping[str, str] | None) -> dict[str, str]:
    out = {role: (f"{prefix}_{role}" if prefix else role) for role in ROLES}
    extra = set(names or {}) - set(ROLES)
    if extra:
        raise ParameterError(f"unknown block roles {sorted(extra)}; known: {', '.join(ROLES)}")
    out.update(names or {})
    return out


def _affine(em: Emitter, x: Expr, coef: np.ndarray, cols: np.ndarray, n: int) -> Expr:
    """``coef_r x[cols_r]`` row by row, as one sparse product (zero coefficients not stored)."""
    keep = coef != 0
    r = np.arange(coef.size)
    M = sp.csr_matrix((coef[keep], (r[keep], cols[keep])), shape=(coef.size, n))
    return em.matmul(M, x)


def _matrix(M: Any, nv: int, what: str) -> sp.csr_matrix:
    out = sp.csr_matrix(M, dtype=float)
    out.sum_duplicates()  # canonical: sorted column indices, so pairs come row-major
    if out.ndim != 2 or out.shape[1] != nv:
        raise ParameterError(f"{what} matrix must have {nv} columns (one per v), got {out.shape}")
    if not np.isfinite(out.data).all():
        raise ParameterError(f"{what} matrix has non-finite entries")
    return out


def _vector(x: Any, n: int, what: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float).ravel()
    if arr.size not in (1, n):
        raise ParameterError(f"{what} must be a scalar or have {n} entries, got {arr.size}")
    out = np.broadcast_to(arr, (n,)).copy()
    if not np.isfinite(out).all():
        raise ParameterError(f"{what} must be finite")
    return out


def _box(bounds: tuple[Any, Any], n: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = _vector(bounds[0], n, what), _vector(bounds[1], n, what)
    if (lo > hi).any():
        raise ParameterError(f"{what}: lower bound above upper bound")
    return lo, hi


__all__ = ["FAMILIES", "ROLES", "FractionalInfo", "linear_fractional_mccormick"]
