"""Chi-square ball worst case -> one second-order cone (the lambda-free dual).

Source: ``sup { E_P[loss] : sum_i p_i phi(P_i / p_i) <= r }`` with ``phi(t) = (t - 1)^2 / 2``
(the Cressie-Read divergence of order ``k = 2``; ``P >= 0`` and ``sum_i P_i = 1`` included).

Target (Duchi & Namkoong 2019, "Variance-based regularization with convex objectives"; the
Cressie-Read dual of Duchi & Namkoong 2021, "Learning models with uniform performance via
distributionally robust optimization", at ``k = k_* = 2``, ``c_2(r) = sqrt(1 + 2 r)``)::

    sup = inf_eta  eta + sqrt(1 + 2 r) * sqrt( sum_i p_i (loss_i - eta)_+^2 )

written with ``u >= loss - eta``, ``u >= 0`` and ONE second-order cone
``tau >= || diag(sqrt(p)) u ||_2``::

    t = eta + sqrt(1 + 2 r) tau.

Minimising ``t`` over ``(eta, u, tau)`` gives exactly the supremum: at fixed ``eta`` the smallest
feasible ``u`` is ``(loss - eta)_+`` and the smallest ``tau`` its weighted norm. Compared with the
generic phi-divergence dual (Ben-Tal et al. 2013, "Robust solutions of optimization problems
affected by uncertain probabilities", Thm 1), the multiplier ``lambda`` of the ball constraint
has been minimised out in closed form, so the model is one cone instead of ``N``.

The modified chi-square distance ``(t - 1)^2`` of paper 002 Table 1 is twice this ``phi``: its
ball of radius ``r`` is the chi-square ball of radius ``r / 2``.

Atoms with ``p_i = 0`` carry no mass under any ``P`` of the ball (``phi'_inf = inf``); their
``u_i`` does not enter the cone and so does not constrain ``t``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dro_opt.reformulations.emitter import Emitter, Expr, join_name
from dro_opt.validate import check_radius, check_weights


def chi2_dual(
    em: Emitter,
    loss: Expr,
    weights: Any,
    radius: float,
    *,
    prefix: str = "chi2",
    eta_bounds: tuple[float | None, float | None] | None = None,
    u_upper: Any = None,
    tau_upper: float | None = None,
) -> Expr:
    """Epigraph ``t >= sup { E_P[loss] : sum_i p_i (P_i / p_i - 1)^2 / 2 <= radius }``.

    Parameters
    ----------
    em
        The emitter the variables and cones are written to.
    loss
        ``(N,)`` loss per atom: a constant vector or an expression of ``em`` (with
        :class:`~dro_opt.reformulations.emitter.CvxpyEmitter` a convex expression keeps the model
        DCP, since only ``u >= loss - eta`` involves it).
    weights
        ``(N,)`` nominal probabilities ``p`` (non-negative, summing to one).
    radius
        Ball radius ``r >= 0`` as written (no ``1 / N``).
    prefix
        Variables are named ``{prefix}_eta``, ``{prefix}_u``, ``{prefix}_tau`` (``eta``, ``u``,
        ``tau`` when ``prefix`` is empty); constraint blocks likewise.
    eta_bounds
        Optional ``(lower, upper)`` bounds on ``eta`` (either may be ``None``). Valid bounds
        that contain an optimal ``eta``, e.g. ``[min loss - c, max loss]``, keep the optimum.
    u_upper
        Optional upper bound on ``u`` (scalar or ``(N,)``), e.g. ``max loss - lower(eta)``.
    tau_upper
        Optional upper bound on ``tau``.

    Returns
    -------
    Expr
        ``t = eta + sqrt(1 + 2 r) tau`` (one row); minimising it over the new variables gives
        the worst-case expectation (Duchi & Namkoong 2019).
    """
    p = check_weights(weights, em.size(loss))
    r = check_radius(radius)
    n = p.size
    lo, hi = eta_bounds if eta_bounds is not None else (None, None)
    eta = em.variable(join_name(prefix, "eta"), 1, lb=lo, ub=hi)
    u = em.variable(join_name(prefix, "u"), n, lb=0.0, ub=u_upper)
    tau = em.variable(join_name(prefix, "tau"), 1, lb=0.0, ub=tau_upper)
    em.nonneg(join_name(prefix, "u_excess"), u - loss + em.broadcast(eta, n))
    em.soc(join_name(prefix, "norm"), tau, em.mul(np.sqrt(p), u))
    return eta + tau * math.sqrt(1.0 + 2.0 * r)


__all__ = ["chi2_dual"]
