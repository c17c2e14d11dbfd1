r"""Rewrite rule: joint KL + optimal-transport worst case of a max-affine loss -> exp cones.

Source -> target
----------------
Source: the worst case of ``loss(x, xi) = max_k a_k' xi + b_k`` (a
:class:`~dro_opt.dro.losses.PiecewiseAffineLoss`) over the ball ``W^theta_{c,KL}(Q, P_hat) <= r``
of the joint phi-divergence and OT discrepancy (paper 002, Def. 5.1) with the KL entropy
``phi(t) = t log t - t + 1``, weights ``theta1 > 1``, ``theta2 = theta1 / (theta1 - 1)``
(``1/theta1 + 1/theta2 = 1``), and transport cost ``c = ||xi - xi'||_p`` or ``||xi - xi'||_p^2``
on the support ``Xi`` (``R^d`` or a box). Its dual (paper 002, Cor. 5.6, eq. (27)) is::

    inf_{lam >= 0}  lam r + lam theta2 log E_p[ exp( l_{lam theta1}(xi_i) / (lam theta2) ) ],
    l_alpha(xi_i) = sup_{xi in Xi} loss(xi) - alpha c(xi, xi_i)          (the c-transform).

Target (paper 002, Thm. 5.8 for the norm cost; Cor. 5.9, generalised to any ``p``-norm and to a
box support, for the squared cost): ``lam r + t`` over::

    ExpCone(zeta_i - t, lam theta2, eta_i)      (lam theta2 exp((zeta_i - t)/(lam theta2)) <= eta_i)
    sum_i p_i eta_i <= lam theta2,   lam >= 0,
    zeta_i >= l_{lam theta1}(xi_i)              (the Wasserstein rule's rows with lam theta1),

where the ``N`` exp cones and the average row say ``E_p[exp((zeta - t)/(lam theta2))] <= 1``,
i.e. ``t >= lam theta2 log E_p exp(zeta / (lam theta2))``. The rows are written divided by
``sqrt(theta2)`` -- ``ExpCone((zeta_i - t)/sqrt(theta2), lam sqrt(theta2), eta_i)`` and
``sum_i p_i eta_i <= lam sqrt(theta2)`` -- the same set since ``K_exp`` is a cone, but balanced
when ``theta1 -> 1`` makes ``theta2`` large (with the paper's scaling Clarabel stops short of
its tolerances already at ``theta2 = 1e4``; even so, ``theta2 >~ 1e5`` is ill-conditioned).
The c-transform rows are those of
:mod:`.wasserstein_max_affine` (Mohajerin Esfahani & Kuhn 2018, Thm 4.2) with ``lam theta1`` in
place of ``lam``: ``zeta_i >= a_k' xi_i + b_k + gamma_ik' (d - C xi_i) [+ v_ik]``,
``||C' gamma_ik - a_k||_q <= lam theta1`` (norm cost) or
``v_ik >= ||C' gamma_ik - a_k||_q^2 / (4 lam theta1)`` (squared cost, from
``sup_xi w' xi - g ||xi - xi_i||_p^2 = w' xi_i + ||w||_q^2 / (4 g)``). The paper states the
program for uniform ``p_i = 1/n``; the nominal weights ``p`` enter only the average row.
Per-sample intercepts ``b_{k,i}`` (see :mod:`dro_opt.dro.losses`) replace ``b_k`` in the rows of
sample ``i`` (the c-transform ``l_alpha(xi_i)`` is per sample).

Limits (paper 002, Remark 5.7): ``theta1 -> 1`` gives the Wasserstein dual, ``theta1 -> inf``
the KL-DRO dual of Hu & Hong (2013, Thm 1).

Target: cvxpy only (see :mod:`.wasserstein_max_affine`); the exp cones go through
:meth:`~dro_opt.reformulations.emitter.CvxpyEmitter.exp` as one vector block.
"""

from __future__ import annotations

import math
from typing import Any

import cvxpy as cp

from dro_opt.ambiguity.base import check_radius
from dro_opt.dro.losses import PiecewiseAffineLoss
from dro_opt.errors import ParameterError
from dro_opt.reformulations.emitter import CvxpyEmitter
from dro_opt.reformulations.wasserstein_max_affine import (
    c_transform_epigraph,
    check_transport_inputs,
)


def check_theta1(theta1: Any) -> tuple[float, float]:
    """``(theta1, theta2)`` for a finite ``theta1 > 1``, else :class:`ParameterError`."""
    try:
        th1 = float(theta1)
    except (TypeError, ValueError):
        th1 = math.nan
    if isinstance(theta1, bool) or not (math.isfinite(th1) and th1 > 1.0):
        raise ParameterError(
            f"theta1 must be a finite number > 1 (theta2 = theta1 / (theta1 - 1)), got {theta1!r}"
        )
    return th1, th1 / (th1 - 1.0)


def ot_kl_dual(
    em: CvxpyEmitter,
    loss: PiecewiseAffineLoss,
    weights: Any,
    radius: float,
    theta1: float,
    norm: float,
    *,
    cost: str = "norm",
    support: tuple[Any, Any] | None = None,
    prefix: str = "otkl",
) -> cp.Expression:
    """Epigraph of the joint KL + OT worst case of a max-affine loss (cvxpy target).

    Writes the exponential-cone program of paper 002, Thm. 5.8 / Cor. 5.9 (module docstring)
    into ``em`` and returns ``lam * radius + t``; minimising it over the new variables gives
    exactly ``sup {E_Q[loss] : W^theta_{c,KL}(Q, P_hat) <= radius}``.

    Parameters
    ----------
    em : a :class:`CvxpyEmitter`.
    loss : the :class:`PiecewiseAffineLoss` (samples, pieces and its own support box).
    weights : nominal probabilities ``p`` of the samples (``None``: uniform).
    radius : ``r >= 0`` (used as written).
    theta1 : transport weight, finite and ``> 1``; ``theta2 = theta1 / (theta1 - 1)``.
    norm : ``p`` in {1, 2, inf} of the cost ``||xi - xi'||_p`` (or its square).
    cost : ``"norm"`` or ``"squared"``.
    support : optional box ``(lower, upper)``, intersected with ``loss.support``.
    prefix : name prefix of the new variables.

    Returns
    -------
    A scalar affine cvxpy expression.

    Raises
    ------
    LossError, ParameterError, TypeError
        As :func:`~dro_opt.reformulations.wasserstein_max_affine.check_transport_inputs`; also
        ParameterError for a bad ``radius`` or ``theta1``.
    """
    data = check_transport_inputs(em, loss, weights, norm, cost, support)
    r = check_radius(radius)
    th1, th2 = check_theta1(theta1)
    n = loss.num_samples
    lam = em.variable(f"{prefix}_lambda", 1)
    em.nonneg(f"{prefix}_lambda_nonneg", lam)
    t = em.variable(f"{prefix}_t", 1)
    eta = em.variable(f"{prefix}_eta", n)
    zeta = em.variable(f"{prefix}_zeta", n)
    # the cone and the average row scaled by 1/sqrt(theta2) (exact: K_exp is a cone); this
    # balances (zeta - t, lam theta2) when theta1 -> 1 makes theta2 large (module docstring)
    sc = 1.0 / math.sqrt(th2)
    y = sc * th2 * lam
    em.exp(f"{prefix}_exp", sc * (zeta - em.broadcast(t, n)), em.broadcast(y, n), eta)
    em.nonneg(f"{prefix}_mean", y - em.dot(data.weights, eta))
    c_transform_epigraph(em, loss, data, zeta, th1 * lam, prefix)
    return r * lam[0] + t[0]


__all__ = ["check_theta1", "ot_kl_dual"]
