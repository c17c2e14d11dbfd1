"""``worst_case(loss, ambiguity)``: the robust counterpart of a per-sample loss as cvxpy rows.

For a loss ``l(x, xi_i)`` on samples ``xi_1..xi_N`` with nominal weights ``p`` and an ambiguity
set ``U``, :func:`worst_case` returns ``(t, constraints)`` with ``t`` a scalar cvxpy variable
such that, over the returned constraints,

    t >= sup_{P in U} E_P[ l(x, xi) ]

is exactly representable: minimising ``t`` (or anything non-decreasing in ``t``) together with
the user's own objective and constraints gives the distributionally robust problem. The rows
come from the rewrite rules of :mod:`dro_opt.reformulations` (one per set family): the
phi-divergence duals of Ben-Tal et al. (2013) / paper 002 Thm 5.5 into exponential, second-order
and power cones, CVaR and total variation into linear rows, the Wasserstein dual of Mohajerin
Esfahani & Kuhn (2018, Thm 4.2) and the joint OT-KL program of paper 002 Thm 5.8 / Cor. 5.9.

Which losses a set accepts:

* reweighting sets (``phi_divergence``, ``cvar``): any DCP-convex cvxpy expression of shape
  ``(N,)`` (one loss per sample; integer and boolean decisions allowed), a constant vector, or
  a :class:`~dro_opt.dro.losses.PiecewiseAffineLoss`;
* sets that move the samples (``wasserstein``, ``ot_phi``): a ``PiecewiseAffineLoss`` -- a
  maximum of functions affine in the uncertain vector.

Anything else is a :class:`~dro_opt.errors.LossError` naming what is required. Each call
registers a :class:`RobustTerm` on ``t``; :func:`dro_opt.solve` uses it after the solve to
re-evaluate the worst case exactly at the returned decision (the certificate) and keeps the
worst-case distribution (:func:`worst_case_distribution`).
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field
from typing import Any

import cvxpy as cp
import numpy as np

from dro_opt.ambiguity.base import AmbiguitySet, WorstCase, check_weights
from dro_opt.dro.losses import PiecewiseAffineLoss
from dro_opt.errors import LossError, ParameterError
from dro_opt.reformulations.emitter import CvxpyEmitter


@dataclass
class RobustTerm:
    """One call of :func:`worst_case`: what is needed to re-evaluate it at a decision."""

    t: cp.Variable
    loss: Any  # cvxpy Expression of shape (N,) or PiecewiseAffineLoss
    ambiguity: AmbiguitySet
    weights: np.ndarray
    constraints: list[Any]
    sup_loss: Any = None
    last: WorstCase | None = field(default=None, repr=False)

    def loss_values(self) -> np.ndarray | PiecewiseAffineLoss:
        """The loss at the decisions' current values (what the set's worst case takes)."""
        if self.ambiguity.moves_samples:
            return self.loss
        if isinstance(self.loss, PiecewiseAffineLoss):
            return self.loss.values()
        val = self.loss.value
        if val is None:
            raise LossError("the loss has no value: solve the problem first")
        return np.asarray(val, dtype=float).ravel()

    def evaluate(self) -> WorstCase:
        """Exact worst case of the set at the decisions' current values (kept in ``last``)."""
        kwargs: dict[str, Any] = {}
        if self.sup_loss is not None:
            sup = self.sup_loss
            kwargs["sup_loss"] = float(np.asarray(getattr(sup, "value", sup), dtype=float))
        self.last = self.ambiguity.worst_case_distribution(
            self.loss_values(), self.weights, **kwargs
        )
        return self.last


_TERMS: dict[int, RobustTerm] = {}


def _forget(var_id: int) -> None:
    _TERMS.pop(var_id, None)


def robust_term(t: Any) -> RobustTerm | None:
    """The :class:`RobustTerm` registered on the variable ``t`` (``None`` for other variables)."""
    return _TERMS.get(getattr(t, "id", -1))


def robust_terms(problem: cp.Problem) -> list[RobustTerm]:
    """The robust terms whose variable ``t`` occurs in ``problem``, in variable order."""
    return [term for v in problem.variables() if (term := _TERMS.get(v.id)) is not None]


def worst_case_distribution(t: Any) -> WorstCase:
    """The worst case of the robust term ``t`` at the last solution (after :func:`dro_opt.solve`).

    For reweighting sets ``.probabilities`` are the worst-case weights of the samples; for sets
    that move the samples ``.atoms`` / ``.probabilities`` the moved atoms and their weights.
    """
    term = robust_term(t)
    if term is None:
        raise ParameterError("this variable was not returned by dro_opt.dro.worst_case")
    if term.last is None:
        term.evaluate()
    assert term.last is not None
    return term.last


def worst_case(
    loss: Any,
    ambiguity: AmbiguitySet,
    weights: Any = None,
    *,
    sup_loss: Any = None,
    scale: float | None = None,
    name: str = "worst_case",
) -> tuple[cp.Variable, list[Any]]:
    """``(t, constraints)`` with ``t >= sup_{P in ambiguity} E_P[loss]`` exactly representable.

    Parameters
    ----------
    loss : cvxpy expression of shape ``(N,)`` (DCP-convex), constant vector, or
        :class:`PiecewiseAffineLoss` (required by sets that move the samples).
    ambiguity : a set from :mod:`dro_opt.ambiguity` (``phi_divergence``, ``cvar``,
        ``wasserstein``, ``ot_phi``).
    weights : nominal probabilities of the samples (uniform when omitted).
    sup_loss : the loss's supremum over the support, for the generalized phi-divergence ball of
        paper 002 Lemma 3.4 / Prop. 3.6 (an extra atom; only divergences with phi'_inf < inf
        use it); a number or a cvxpy expression (concave-free: affine or convex).
    scale : a typical magnitude of the loss (positive). The rule is written for ``loss / scale``
        and ``t`` is ``scale`` times its bound -- the same set and the same optimum (every
        worst case is positively homogeneous), better conditioned for interior-point solvers:
        Clarabel stopped with numerical trouble on a KL newsvendor with 10^4 scenarios and
        losses of about -140 (through cvxpy's own Clarabel interface as well) and solved it
        with ``scale=100``.
    name : name of the variable ``t``.

    Returns
    -------
    t : scalar ``cvxpy.Variable``.
    constraints : list of cvxpy constraints to add to the problem.
    """
    if not isinstance(ambiguity, AmbiguitySet):
        raise ParameterError(
            f"ambiguity must be a set from dro_opt.ambiguity (phi_divergence, cvar, "
            f"wasserstein, ot_phi), got {type(ambiguity).__name__}"
        )
    if scale is None:
        scale = 1.0
    try:
        scale = float(scale)
    except (TypeError, ValueError):
        raise ParameterError(f"scale must be a positive number, got {scale!r}") from None
    if not (math.isfinite(scale) and scale > 0):
        raise ParameterError(f"scale must be a positive finite number, got {scale!r}")
    em = CvxpyEmitter()
    if ambiguity.moves_samples:
        if not isinstance(loss, PiecewiseAffineLoss):
            raise LossError(
                f"{ambiguity.describe()} moves the samples, so the loss must be a "
                "PiecewiseAffineLoss(samples, pieces): a maximum of functions affine in the "
                f"uncertain vector; got {type(loss).__name__}"
            )
        w = check_weights(weights, loss.num_samples)
        scaled = loss if scale == 1.0 else loss.scaled(1.0 / scale)
        bound = _transport_bound(em, scaled, w, ambiguity)
        loss_obj: Any = loss
    else:
        expr = loss.expression() if isinstance(loss, PiecewiseAffineLoss) else _loss_vector(loss)
        w = check_weights(weights, int(expr.size))
        sup = sup_loss if sup_loss is None or scale == 1.0 else sup_loss / scale
        bound = _reweighting_bound(em, expr / scale if scale != 1.0 else expr, w, ambiguity, sup)
        loss_obj = loss if isinstance(loss, PiecewiseAffineLoss) else expr
    t = cp.Variable(name=name)
    constraints = [*em.constraints, t >= scale * cp.reshape(bound, (), order="C")]
    term = RobustTerm(t, loss_obj, ambiguity, w, constraints, sup_loss)
    _TERMS[t.id] = term
    weakref.finalize(t, _forget, t.id)
    return t, constraints


# --------------------------------------------------------------------------- dispatch
def _loss_vector(loss: Any) -> cp.Expression:
    if isinstance(loss, cp.Expression):
        expr = loss
    else:
        try:
            arr = np.asarray(loss, dtype=float)
        except (TypeError, ValueError):
            raise LossError(
                "loss must be a cvxpy expression of shape (N,), a numeric vector or a "
                f"PiecewiseAffineLoss; got {type(loss).__name__}"
            ) from None
        if not np.isfinite(arr).all():
            raise LossError("the loss vector contains NaN or inf")
        expr = cp.Constant(arr)
    if expr.ndim == 2 and 1 in expr.shape:
        expr = cp.reshape(expr, (expr.size,), order="C")
    if expr.ndim == 0:
        expr = cp.reshape(expr, (1,), order="C")
    if expr.ndim != 1:
        raise LossError(f"loss must have shape (N,) -- one loss per sample; got {expr.shape}")
    if not expr.is_convex():
        raise LossError(
            f"the loss must be DCP-convex in the decisions (its curvature is {expr.curvature}); "
            "a worst-case expectation of a non-convex loss has no exact conic counterpart"
        )
    return expr


def _reweighting_bound(
    em: CvxpyEmitter, loss: cp.Expression, w: np.ndarray, ambiguity: Any, sup_loss: Any
) -> Any:
    from dro_opt.ambiguity.cvar import CVaRSet
    from dro_opt.ambiguity.phi_divergence import PhiDivergenceSet

    if isinstance(ambiguity, CVaRSet):
        from dro_opt.reformulations.cvar_linear import cvar_dual

        return cvar_dual(em, loss, w, ambiguity.alpha)
    if isinstance(ambiguity, PhiDivergenceSet):
        from dro_opt.reformulations.phi_dual import phi_divergence_dual

        if sup_loss is not None and isinstance(sup_loss, cp.Expression):
            if not sup_loss.is_convex() or sup_loss.size != 1:
                raise LossError("sup_loss must be a scalar convex (or affine) expression")
        return phi_divergence_dual(
            em,
            loss,
            w,
            ambiguity.name,
            ambiguity.radius,
            dict(ambiguity.params),
            sup_loss=sup_loss,
        )
    raise ParameterError(f"no rewrite rule for the ambiguity set {ambiguity.describe()}")


def _transport_bound(
    em: CvxpyEmitter, loss: PiecewiseAffineLoss, w: np.ndarray, ambiguity: Any
) -> Any:
    from dro_opt.ambiguity.ot_phi import OTPhiSet
    from dro_opt.ambiguity.wasserstein import WassersteinSet

    if isinstance(ambiguity, WassersteinSet):
        from dro_opt.reformulations.wasserstein_max_affine import wasserstein_dual

        return wasserstein_dual(
            em,
            loss,
            w,
            ambiguity.radius,
            ambiguity.norm,
            cost=ambiguity.cost,
            support=ambiguity.support,
        )
    if isinstance(ambiguity, OTPhiSet):
        if ambiguity.phi != "kl":
            raise ParameterError(
                f"ot_phi with phi={ambiguity.phi!r} has no rewrite rule yet; use phi='kl'"
            )
        from dro_opt.reformulations.ot_kl_exp_cone import ot_kl_dual

        return ot_kl_dual(
            em,
            loss,
            w,
            ambiguity.radius,
            ambiguity.theta1,
            ambiguity.norm,
            cost=ambiguity.cost,
            support=ambiguity.support,
        )
    raise ParameterError(f"no rewrite rule for the ambiguity set {ambiguity.describe()}")
