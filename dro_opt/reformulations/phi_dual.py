"""Worst-case expectation over a phi-divergence ball (or CVaR set) -> conic epigraph.

Source: for nominal probabilities ``p`` on ``N`` atoms and a loss vector ``loss``::

    sup { E_P[loss] : P >= 0, sum_i P_i = 1, D_phi(P, p) <= r },
    D_phi(P, p) = sum_{i: p_i > 0} p_i phi(P_i / p_i) + phi'_inf sum_{i: p_i = 0} P_i

(paper 002 Def. 3.2 / Lemma 3.4, radius ``r`` as written). Target: the dual of Ben-Tal et al.
2013 ("Robust solutions of optimization problems affected by uncertain probabilities", Thm 1),
which is paper 002 Thm 5.5 with trivial transport::

    sup = inf_{lam >= 0, eta}  eta + lam r + sum_{i: p_i > 0} p_i lam phi*((loss_i - eta) / lam)
          s.t.  loss_i - eta <= lam phi'_inf   for p_i = 0   (when phi'_inf < inf)

with ``phi*(s) = sup_{t >= 0} s t - phi(t)`` and ``lam phi*(s / lam)`` at ``lam = 0`` read as its
closure (the recession function ``sup_{t >= 0} s t``); atoms with ``p_i = 0`` and
``phi'_inf = inf`` carry no mass and are dropped. Assembly::

    s >= loss - eta                      (valid: lam phi*(s / lam) is non-decreasing in s)
    w_i >= lam phi*(s_i / lam)           (the family's rule: conjugate_perspective)
    t = eta + lam r + p'w.

Generalized form (paper 002 Lemma 3.4 / Prop. 3.6): when the support may carry mass off the
atoms -- ``sup_loss`` is the loss's supremum over the support -- and ``phi'_inf < inf``, an extra
atom at ``argmax loss`` of nominal mass 0 adds ``sup_loss - eta <= lam phi'_inf``; with
``phi'_inf = inf`` nothing changes.

Per-family rules (source -> target cones, each module's docstring has the derivation):

======================  ==========================================  =========================
name                    phi(t)                                      rule
======================  ==========================================  =========================
``kl``                  t log t - t + 1                             kl_exp_cone
``burg``                -log t + t - 1                              burg_exp_cone
``j``                   (t - 1) log t                               j_divergence_exp_cone
``chi2``                (t - 1)^2 / 2                               chi2_soc (no lam)
``modified-chi2``       (t - 1)^2                                   chi2_soc, radius r / 2
``chi2-distance``       (t - 1)^2 / t                               chi2_distance_soc
``hellinger``           (sqrt t - 1)^2                              hellinger_soc
``chi-m`` (``m``)       abs(t - 1)^m, m > 1                         chi_m_power_cone
``cressie-read``        (1 - th + th t - t^th) / (th (1 - th))      cressie_read_power_cone
``tv``                  abs(t - 1)                                  tv_linear
``cvar`` (``alpha``)    indicator of [0, 1 / alpha]                 cvar_linear
======================  ==========================================  =========================
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from dro_opt.ambiguity.base import check_radius, check_weights
from dro_opt.errors import ParameterError
from dro_opt.reformulations import (
    burg_exp_cone,
    chi2_distance_soc,
    chi_m_power_cone,
    cressie_read_power_cone,
    hellinger_soc,
    j_divergence_exp_cone,
    kl_exp_cone,
    tv_linear,
)
from dro_opt.reformulations.chi2_soc import chi2_dual
from dro_opt.reformulations.cvar_linear import cvar_dual
from dro_opt.reformulations.emitter import Emitter, Expr, join_name

#: name -> (conjugate_perspective rule, names of its keyword parameters)
RULES: dict[str, tuple[Callable[..., Expr], tuple[str, ...]]] = {
    "kl": (kl_exp_cone.conjugate_perspective, ()),
    "burg": (burg_exp_cone.conjugate_perspective, ()),
    "j": (j_divergence_exp_cone.conjugate_perspective, ()),
    "chi2-distance": (chi2_distance_soc.conjugate_perspective, ()),
    "hellinger": (hellinger_soc.conjugate_perspective, ()),
    "chi-m": (chi_m_power_cone.conjugate_perspective, ("m",)),
    "cressie-read": (cressie_read_power_cone.conjugate_perspective, ("theta",)),
    "tv": (tv_linear.conjugate_perspective, ()),
}

#: Every name :func:`phi_divergence_dual` accepts.
NAMES: tuple[str, ...] = (*RULES, "chi2", "modified-chi2", "cvar")


def phi_inf(name: str, params: dict[str, Any] | None = None) -> float:
    """``phi'_inf = lim_{t -> inf} phi(t) / t`` of the named divergence (paper 002 Table 1).

    ``1`` for ``burg``, ``chi2-distance``, ``hellinger``, ``tv``; ``1 / (1 - theta)`` for
    ``cressie-read`` with ``theta < 1``; ``inf`` otherwise (``kl``, ``j``, ``chi2``,
    ``modified-chi2``, ``chi-m``, ``cressie-read`` with ``theta > 1``, ``cvar``).
    """
    if name in ("burg", "chi2-distance", "hellinger", "tv"):
        return 1.0
    if name == "cressie-read":
        th = float((params or {})["theta"])
        return 1.0 / (1.0 - th) if th < 1.0 else math.inf
    if name in NAMES:
        return math.inf
    raise ParameterError(f"unknown divergence {name!r}; choose one of {', '.join(NAMES)}")


def phi_divergence_dual(
    em: Emitter,
    loss: Expr,
    weights: Any,
    name: str,
    radius: float,
    params: dict[str, Any] | None = None,
    *,
    sup_loss: Any = None,
    prefix: str = "phi",
) -> Expr:
    """Epigraph ``t >= sup { E_P[loss] : D_phi(P, p) <= radius }`` written through ``em``.

    Parameters
    ----------
    em
        The emitter the variables and cones are written to.
    loss
        ``(N,)`` loss per atom: constants or an expression of ``em`` (for cvxpy, a convex
        expression keeps the model DCP: it enters only through ``s >= loss - eta``).
    weights
        ``(N,)`` nominal probabilities (non-negative, summing to one; zeros allowed).
    name
        One of :data:`NAMES` (see the module docstring).
    radius
        Ball radius ``>= 0`` as written (ignored by ``cvar``, whose set is the same for every
        radius).
    params
        ``{"m": m}`` for ``chi-m``, ``{"theta": theta}`` for ``cressie-read``,
        ``{"alpha": alpha}`` for ``cvar``.
    sup_loss
        Supremum of the loss over the support (number or expression) for the generalized
        divergence (paper 002 Prop. 3.6); adds ``sup_loss - eta <= lam phi'_inf`` when
        ``phi'_inf < inf``, nothing otherwise. ``None``: the worst case stays on the atoms.
    prefix
        Name prefix of every variable and constraint block (``{prefix}_eta``, ``{prefix}_lam``,
        ``{prefix}_s``, the rule's blocks under ``{prefix}_...``).

    Returns
    -------
    Expr
        One-row expression ``t = eta + lam radius + p'w`` whose minimum over the new variables
        is the worst-case expectation.
    """
    params = dict(params or {})
    n = em.size(loss)
    p = check_weights(weights, n)
    if name == "cvar":
        if "alpha" not in params:
            raise ParameterError("cvar needs params={'alpha': alpha}")
        return cvar_dual(em, loss, p, params["alpha"], prefix=prefix)
    r = check_radius(radius)
    if name in ("chi2", "modified-chi2"):
        return chi2_dual(em, loss, p, r if name == "chi2" else r / 2.0, prefix=prefix)
    if name not in RULES:
        raise ParameterError(f"unknown divergence {name!r}; choose one of {', '.join(NAMES)}")
    rule, keys = RULES[name]
    missing = [k for k in keys if k not in params]
    if missing:
        raise ParameterError(f"divergence {name!r} needs params {missing}")
    slope = phi_inf(name, params)

    pos = np.flatnonzero(p > 0)
    null = np.flatnonzero(p == 0)
    loss_pos = loss if null.size == 0 else em.take(loss, pos)
    k = pos.size
    eta = em.variable(join_name(prefix, "eta"), 1)
    lam = em.variable(join_name(prefix, "lam"), 1, lb=0.0)
    s = em.variable(join_name(prefix, "s"), k)
    em.nonneg(join_name(prefix, "s_excess"), s - loss_pos + em.broadcast(eta, k))
    w = rule(em, s, lam, prefix=prefix, **{key: params[key] for key in keys})
    if math.isfinite(slope):
        if null.size:
            cap = lam * slope + eta
            em.nonneg(
                join_name(prefix, "null_atoms"),
                em.broadcast(cap, null.size) - em.take(loss, null),
            )
        if sup_loss is not None:
            em.nonneg(join_name(prefix, "sup_loss"), lam * slope + eta - sup_loss)
    return eta + lam * r + em.dot(p[pos], w)


__all__ = ["NAMES", "RULES", "phi_divergence_dual", "phi_inf"]
