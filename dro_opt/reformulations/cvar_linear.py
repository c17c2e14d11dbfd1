"""CVaR (conditional value-at-risk) worst case -> linear inequalities.

Source: ``sup { E_P[loss] : P >= 0, sum_i P_i = 1, P_i <= p_i / alpha }`` for
``alpha in (0, 1]`` -- the upper ``alpha``-tail expectation (CVaR at level ``1 - alpha``) of the
loss under the nominal ``p``. (It is the phi-divergence ball of ``phi`` = indicator of
``[0, 1 / alpha]``, any radius ``>= 0``.)

Target (Rockafellar & Uryasev 2000, "Optimization of conditional value-at-risk", Thm 1; it is
also the LP dual of the source)::

    sup = inf_eta  eta + (1 / alpha) sum_i p_i (loss_i - eta)_+,

written with ``u >= loss - eta``, ``u >= 0``: ``t = eta + (1 / alpha) p'u``. Exact and linear;
atoms with ``p_i = 0`` carry no mass (``P_i <= 0``) and are dropped.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dro_opt.ambiguity.base import check_weights
from dro_opt.errors import ParameterError
from dro_opt.reformulations.emitter import Emitter, Expr, join_name


def cvar_dual(em: Emitter, loss: Expr, weights: Any, alpha: float, *, prefix: str = "cvar") -> Expr:
    """Epigraph ``t >= sup { E_P[loss] : P_i <= p_i / alpha }`` (Rockafellar & Uryasev 2000).

    Parameters
    ----------
    em
        The emitter.
    loss
        ``(N,)`` loss per atom (constant or an expression of ``em``; convex for cvxpy is DCP).
    weights
        ``(N,)`` nominal probabilities.
    alpha
        Tail mass in ``(0, 1]`` (``alpha = 1`` gives the nominal expectation).
    prefix
        Variables ``{prefix}_eta``, ``{prefix}_u``; constraint block ``{prefix}_u_excess``.

    Returns
    -------
    Expr
        ``t = eta + (1 / alpha) p'u`` (one row).
    """
    a = float(alpha)
    if not (math.isfinite(a) and 0.0 < a <= 1.0):
        raise ParameterError(f"CVaR level alpha must lie in (0, 1], got {alpha!r}")
    p = check_weights(weights, em.size(loss))
    pos = np.flatnonzero(p > 0)
    if pos.size < p.size:
        loss = em.take(loss, pos)
    k = pos.size
    eta = em.variable(join_name(prefix, "eta"), 1)
    u = em.variable(join_name(prefix, "u"), k, lb=0.0)
    em.nonneg(join_name(prefix, "u_excess"), u - loss + em.broadcast(eta, k))
    return eta + em.dot(p[pos] / a, u)


__all__ = ["cvar_dual"]
