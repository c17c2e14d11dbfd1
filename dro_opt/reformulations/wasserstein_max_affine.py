r"""Rewrite rule: type-1 Wasserstein worst case of a max-affine loss -> conic (LP/SOC) rows.

Source -> target
----------------
Source: the worst-case expectation of ``loss(x, xi) = max_k a_k' xi + b_k`` (a
:class:`~dro_opt.dro.losses.PiecewiseAffineLoss`, ``a_k`` / ``b_k`` affine in the decisions)
over the optimal-transport ball around the nominal distribution ``P_hat = sum_i p_i delta_{xi_i}``
on the support ``Xi``::

    sup { E_Q[loss(x, xi)] : Q(Xi) = 1, OT_c(Q, P_hat) <= eps },
    c(xi, xi') = ||xi - xi'||_p   (cost="norm")   or   ||xi - xi'||_p^2   (cost="squared").

Target: ``t = lam eps + sum_i p_i s_i`` over rows in ``(lam, s, gamma, ...)`` whose minimum over
the new variables is exactly the source value (Mohajerin Esfahani & Kuhn, "Data-driven
distributionally robust optimization using the Wasserstein metric", Math. Program. 171 (2018),
Thm 4.2 and Cor 5.1): ``lam >= 0`` and, for every sample ``i`` and piece ``k``,
``s_i >= sup_{xi in Xi} a_k' xi + b_k - lam c(xi, xi_i)`` -- the *c-transform* written as

* ``Xi = R^d``, norm cost: ``s_i >= a_k' xi_i + b_k`` and ``||a_k||_q <= lam``;
* ``Xi = {xi : C xi <= d}``, norm cost: ``s_i >= a_k' xi_i + b_k + gamma_ik' (d - C xi_i)``,
  ``||C' gamma_ik - a_k||_q <= lam``, ``gamma_ik >= 0`` (LP duality of the inner sup);
* squared cost, using ``sup_xi w' xi - lam ||xi - xi_i||_p^2 = w' xi_i + ||w||_q^2 / (4 lam)``:
  the same rows with ``+ v_ik`` on the right of the ``s_i`` row and
  ``v_ik >= ||C' gamma_ik - a_k||_q^2 / (4 lam)`` (``C = 0`` without a support), a rotated
  second-order cone ``w_ik^2 <= 2 (2 lam) v_ik`` on the dual norm's epigraph ``w_ik``; at
  ``lam = 0`` it forces ``C' gamma_ik = a_k`` (the closure of the perspective), as it must.

Per-sample intercepts (``b_k`` of shape ``(N,)``, see :mod:`dro_opt.dro.losses`): the rows of
sample ``i`` read ``b_{k,i}`` in place of ``b_k`` -- the c-transform is taken sample by sample,
so the dual is the same with the intercept of the sample it belongs to.

``q`` is the dual exponent (``1/p + 1/q = 1``). A box support ``lower <= xi <= upper`` is
``C = [I; -I]``, ``d = [upper; -lower]`` with its infinite rows dropped. ``lam`` and every
``s``, ``gamma`` block are vectors: one ``(N,)`` row block per piece ``k`` (a loop over the
``K`` pieces, never over the samples); ``gamma_ik`` is one ``(N, m)`` variable per piece.

Target: cvxpy only. The pieces ``a_k, b_k`` are cvxpy expressions, so the dual-norm rows are
written as cvxpy ``norm(..., axis=1)`` constraints appended to ``em.constraints``; the emitter
must be a :class:`~dro_opt.reformulations.emitter.CvxpyEmitter`. The helpers here (argument
checks, the c-transform epigraph) are shared with :mod:`.ot_kl_exp_cone`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np

from dro_opt.ambiguity.base import check_radius, check_weights
from dro_opt.dro.losses import PiecewiseAffineLoss
from dro_opt.errors import LossError, ParameterError
from dro_opt.reformulations.emitter import CvxpyEmitter

#: Transport costs the rules accept.
COSTS = ("norm", "squared")
#: Primal norm exponent -> dual norm exponent.
DUAL_NORM: dict[float, float] = {1.0: math.inf, 2.0: 2.0, math.inf: 1.0}


@dataclass(frozen=True)
class TransportData:
    """Checked inputs shared by the transport rules.

    Attributes
    ----------
    weights : (N,) nominal probabilities.
    dual_norm : ``q`` with ``1/p + 1/q = 1`` (1, 2 or inf).
    squared : whether the cost is ``||.||_p^2``.
    C, d : the support ``{xi : C xi <= d}`` as ``(m, dim)`` and ``(m,)`` arrays (``m = 0``:
        ``Xi = R^dim``).
    slack : ``(N, m)`` array ``d - C xi_i`` (non-negative: the samples lie in the support).
    """

    weights: np.ndarray
    dual_norm: float
    squared: bool
    C: np.ndarray
    d: np.ndarray
    slack: np.ndarray


def check_norm(norm: Any) -> float:
    """The norm exponent ``p`` in {1, 2, inf} as float, else :class:`ParameterError`."""
    try:
        p = float(norm)
    except (TypeError, ValueError):
        p = math.nan
    if isinstance(norm, bool) or p not in DUAL_NORM:
        raise ParameterError(f"norm must be 1, 2 or inf (the p of ||.||_p), got {norm!r}")
    return p


def check_transport_inputs(
    em: Any, loss: Any, weights: Any, norm: Any, cost: Any, support: Any
) -> TransportData:
    """Validate the common arguments of the transport rules (see the module docstring).

    Raises
    ------
    TypeError
        ``em`` is not a :class:`CvxpyEmitter` (these rules target cvxpy only).
    LossError
        ``loss`` is not a :class:`PiecewiseAffineLoss`.
    ParameterError
        Bad ``norm``, ``cost``, ``weights`` or ``support`` (not a box, empty intersection with the
        loss's support, or samples outside it).
    """
    if not isinstance(em, CvxpyEmitter):
        raise TypeError(
            f"the transport rules write cvxpy constraints and need a CvxpyEmitter, got "
            f"{type(em).__name__}"
        )
    if not isinstance(loss, PiecewiseAffineLoss):
        raise LossError(
            "the Wasserstein / OT-phi rules need a PiecewiseAffineLoss(samples, pieces) "
            f"(loss = max_k a_k' xi + b_k), got {type(loss).__name__}"
        )
    p_norm = check_norm(norm)
    if cost not in COSTS:
        raise ParameterError(f"cost must be 'norm' or 'squared', got {cost!r}")
    p = check_weights(weights, loss.num_samples)
    lo, hi = loss.support
    if support is not None:
        lo_s, hi_s = _support_box(support, loss.dim)
        lo, hi = np.maximum(lo, lo_s), np.minimum(hi, hi_s)
        if (lo > hi).any():
            raise ParameterError(
                "the support box does not intersect the loss's support box; widen one of them"
            )
    xi = loss.samples
    outside = (xi < lo - 1e-12).any(axis=1) | (xi > hi + 1e-12).any(axis=1)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise ParameterError(f"sample {i} lies outside the support box; widen the box")
    eye = np.eye(loss.dim)
    up, dn = np.isfinite(hi), np.isfinite(lo)
    C = np.vstack([eye[up], -eye[dn]])
    d = np.concatenate([hi[up], -lo[dn]])
    slack = np.maximum(d[None, :] - xi @ C.T, 0.0)
    return TransportData(p, DUAL_NORM[p_norm], cost == "squared", C, d, slack)


def c_transform_epigraph(
    em: CvxpyEmitter,
    loss: PiecewiseAffineLoss,
    data: TransportData,
    s: Any,
    alpha: Any,
    prefix: str,
) -> None:
    """Rows that make ``s_i >= sup_{xi in Xi} max_k a_k' xi + b_k - alpha c(xi, xi_i)`` exact.

    ``s`` is an ``(N,)`` expression, ``alpha`` a ``(1,)`` non-negative expression (``lam`` for
    Wasserstein, ``lam theta1`` for the joint OT-phi discrepancy). The projection of the rows
    onto ``(s, alpha, decisions)`` is exactly that epigraph (Mohajerin Esfahani & Kuhn 2018,
    Thm 4.2 for the norm cost; the squared cost adds ``||C' gamma - a_k||_q^2 / (4 alpha)``,
    see the module docstring). One ``(N,)`` block per piece; a per-sample intercept ``b_k`` of
    shape ``(N,)`` enters its own rows only.
    """
    xi = loss.samples
    n = loss.num_samples
    m = data.C.shape[0]
    q = data.dual_norm
    alpha_n = em.broadcast(alpha, n)
    for k, (a_k, b_k) in enumerate(loss.pieces):
        rhs = xi @ a_k + b_k
        if m == 0:
            if data.squared:
                w = em.variable(f"{prefix}_w{k}", 1)
                v = em.variable(f"{prefix}_v{k}", 1)
                em.constraints.append(cp.norm(a_k, q) <= w[0])
                em.rsoc(f"{prefix}_quad{k}", 2.0 * alpha, v, w)  # w^2 <= 4 alpha v
                rhs = rhs + em.broadcast(v, n)
            else:
                em.constraints.append(cp.norm(a_k, q) <= alpha[0])
        else:
            gamma = cp.Variable((n, m), name=f"{prefix}_gamma{k}")
            em.variables[gamma.name()] = gamma
            em.nonneg(f"{prefix}_gamma{k}_nonneg", gamma)
            rhs = rhs + cp.sum(cp.multiply(data.slack, gamma), axis=1)
            # rows C' gamma_ik - a_k; explicit outer product (cvxpy's implicit broadcast atom
            # has no C++ canonicalisation backend and would warn)
            a_rows = np.ones((n, 1)) @ cp.reshape(a_k, (1, loss.dim), order="C")
            dual = cp.norm(gamma @ data.C - a_rows, q, axis=1)
            if data.squared:
                w = em.variable(f"{prefix}_w{k}", n)
                v = em.variable(f"{prefix}_v{k}", n)
                em.constraints.append(dual <= w)
                em.rsoc(f"{prefix}_quad{k}", 2.0 * alpha_n, v, w)
                rhs = rhs + v
            else:
                em.constraints.append(dual <= alpha_n)
        em.nonneg(f"{prefix}_epi{k}", s - rhs)


def wasserstein_dual(
    em: CvxpyEmitter,
    loss: PiecewiseAffineLoss,
    weights: Any,
    radius: float,
    norm: float,
    *,
    cost: str = "norm",
    support: tuple[Any, Any] | None = None,
    prefix: str = "wass",
) -> cp.Expression:
    """Epigraph of the type-1 Wasserstein worst case of a max-affine loss (cvxpy target).

    Writes the dual of Mohajerin Esfahani & Kuhn (2018), Thm 4.2 / Cor 5.1 (module docstring)
    into ``em`` and returns ``t = lam * radius + sum_i p_i s_i``; minimising ``t`` over the new
    variables gives exactly ``sup {E_Q[loss] : OT_c(Q, P_hat) <= radius, Q(Xi) = 1}``.

    Parameters
    ----------
    em : a :class:`CvxpyEmitter` (the rows are cvxpy constraints).
    loss : the :class:`PiecewiseAffineLoss` (samples, pieces and its own support box).
    weights : nominal probabilities ``p`` of the samples (``None``: uniform).
    radius : ``eps >= 0`` (used as written, no ``1/N``).
    norm : ``p`` in {1, 2, inf} of the cost ``||xi - xi'||_p`` (or its square).
    cost : ``"norm"`` or ``"squared"``.
    support : optional box ``(lower, upper)``, intersected with ``loss.support``.
    prefix : name prefix of the new variables.

    Returns
    -------
    A scalar affine cvxpy expression ``t``.

    Raises
    ------
    LossError, ParameterError, TypeError
        See :func:`check_transport_inputs`; also ParameterError for a bad ``radius``.
    """
    data = check_transport_inputs(em, loss, weights, norm, cost, support)
    eps = check_radius(radius)
    lam = em.variable(f"{prefix}_lambda", 1)
    em.nonneg(f"{prefix}_lambda_nonneg", lam)
    s = em.variable(f"{prefix}_s", loss.num_samples)
    c_transform_epigraph(em, loss, data, s, lam, prefix)
    return eps * lam[0] + em.dot(data.weights, s)


def _support_box(support: Any, dim: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        lo, hi = support
        lo_a = np.broadcast_to(np.asarray(lo, dtype=float), (dim,)).copy()
        hi_a = np.broadcast_to(np.asarray(hi, dtype=float), (dim,)).copy()
    except (TypeError, ValueError):
        raise ParameterError(
            f"support must be a box (lower, upper) of scalars or ({dim},) arrays"
        ) from None
    if np.isnan(lo_a).any() or np.isnan(hi_a).any() or (lo_a > hi_a).any():
        raise ParameterError("support box needs lower <= upper in every coordinate (no NaN)")
    return lo_a, hi_a


__all__ = [
    "COSTS",
    "DUAL_NORM",
    "TransportData",
    "c_transform_epigraph",
    "check_norm",
    "check_transport_inputs",
    "wasserstein_dual",
]
