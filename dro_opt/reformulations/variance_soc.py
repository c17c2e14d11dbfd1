"""Weighted mean and standard deviation -> one zero row and one second-order cone.

Source: for an affine ``y`` with ``N`` entries and probability weights ``p`` (``p >= 0``,
``sum p = 1``), the mean ``E_p y = p'y`` and the standard deviation
``Std_p(y) = sqrt(sum_i p_i (y_i - p'y)^2)``, as they enter the variance-regularised objective
``E_p y - kappa Std_p(y)`` (``kappa = sqrt(2 rho / n)``; Duchi & Namkoong 2019, paper 003 eq. (11)
and Sec. 3.2). Target cones::

    m - p'y = 0                                      (zero, 1 row)
    s >= || diag(sqrt p) (y - m 1) ||_2             (soc, dimension N + 1)

Exactness: ``m = E_p y`` exactly and ``s >= Std_p(y)``; the square root is convex and
``s`` enters the caller's objective with a penalty sign (``max ... - kappa s`` or
``min ... + kappa s``), so ``s = Std_p(y)`` at every optimum and the SOCP is an exact
reformulation (no approximation error). Without such a sign the model only knows an upper bound.

Optional data-derived bounds (``m_bounds``, ``s_bounds``) are added as variable bounds; they are
valid when they contain every attainable ``p'y`` and ``Std_p(y)`` -- e.g. from bounds
``lo <= y <= hi``: ``p'lo <= m <= p'hi`` and ``s <= (max hi - min lo) / 2`` (Popoviciu's
inequality on variances), computed by :func:`variance_bounds`. They do not change the optimum;
they help branch-and-bound solvers.

References
----------
* J. C. Duchi, H. Namkoong (2019). Variance-based regularization with convex objectives.
  JMLR 20(68), 1-55 (the chi-square robust objective equals ``E - sqrt(2 rho / n) Std`` while
  the worst case stays non-negative).
* T. Popoviciu (1935). Sur les equations algebriques ayant toutes leurs racines reelles.
  Mathematica (Cluj) 9, 129-145 (``Var <= (M - m)^2 / 4``).
* Paper 003, Sec. 3.2, eq. (11) (the variance-regularised MC-FLP MISOCP).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from dro_opt.errors import ParameterError
from dro_opt.reformulations.emitter import Emitter, Expr
from dro_opt.validate import check_weights

#: Block roles: the variables ``m`` (mean), ``s`` (standard deviation), the rows.
ROLES = ("m", "s", "mean", "std_soc")


def variance_soc(
    em: Emitter,
    y: Expr,
    weights: Any,
    *,
    prefix: str = "",
    m_bounds: tuple[float, float] | None = None,
    s_bounds: tuple[float, float] | None = None,
    names: Mapping[str, str] | None = None,
) -> tuple[Expr, Expr]:
    """Emit ``m = p'y`` and ``s >= ||diag(sqrt p)(y - m 1)||`` (module docstring).

    Parameters
    ----------
    em : the emitter (:class:`ConicEmitter` or :class:`CvxpyEmitter`).
    y : expression with ``N`` entries.
    weights : ``(N,)`` probabilities ``p`` (non-negative, summing to 1; ``None``: uniform), checked
        by :func:`dro_opt.ambiguity.base.check_weights`.
    prefix : block names are ``f"{prefix}_{role}"`` (just ``role`` for ``prefix == ""``), roles
        in :data:`ROLES`; ``names`` overrides single roles (e.g. ``{"s": "t"}``).
    m_bounds : optional valid ``(lo, hi)`` on the mean (default: free).
    s_bounds : optional valid ``(lo, hi)`` on the standard deviation (default ``(0, inf)``; a
        negative lower bound is raised to 0).

    Returns
    -------
    m, s : one-entry expressions, the mean and the standard-deviation epigraph variable.
    """
    N = em.size(y)
    p = check_weights(weights, N)
    if weights is not None:  # validated; used as given (no renormalisation, not even by an ulp)
        p = np.asarray(weights, dtype=float).ravel()
    block = {role: (f"{prefix}_{role}" if prefix else role) for role in ROLES}
    extra = set(names or {}) - set(ROLES)
    if extra:
        raise ParameterError(f"unknown block roles {sorted(extra)}; known: {', '.join(ROLES)}")
    block.update(names or {})

    m_lo, m_hi = _bounds(m_bounds, -np.inf, "m_bounds")
    s_lo, s_hi = _bounds(s_bounds, 0.0, "s_bounds")
    m = em.variable(block["m"], 1, lb=m_lo, ub=m_hi)
    s = em.variable(block["s"], 1, lb=max(s_lo, 0.0), ub=s_hi)
    em.zero(block["mean"], m - em.dot(p, y))
    em.soc(block["std_soc"], s, em.mul(np.sqrt(p), y - em.broadcast(m, N)))
    return m, s


def variance_bounds(
    weights: Any, lo: Any, hi: Any
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Valid ``(m_bounds, s_bounds)`` from elementwise bounds ``lo <= y <= hi``.

    ``p'lo <= p'y <= p'hi`` and, by Popoviciu's inequality, ``Std_p(y) <= (max hi - min lo) / 2``.
    """
    p = np.asarray(weights, dtype=float).ravel()
    lo_a = np.broadcast_to(np.asarray(lo, dtype=float).ravel(), p.shape)
    hi_a = np.broadcast_to(np.asarray(hi, dtype=float).ravel(), p.shape)
    if (lo_a > hi_a).any():
        raise ParameterError("variance_bounds: lower bound above upper bound")
    spread = float(hi_a.max() - lo_a.min()) if p.size else 0.0
    return (float(p @ lo_a), float(p @ hi_a)), (0.0, 0.5 * spread)


def _bounds(b: tuple[float, float] | None, default_lo: float, what: str) -> tuple[float, float]:
    if b is None:
        return default_lo, np.inf
    lo, hi = float(b[0]), float(b[1])
    if np.isnan(lo) or np.isnan(hi) or lo > hi:
        raise ParameterError(f"{what} must be (lo, hi) with lo <= hi, got {b}")
    return lo, hi


__all__ = ["ROLES", "variance_bounds", "variance_soc"]
