r"""Per-Group DRO for linear classifiers: the exact convex conic lower level of paper 001 eq. (2).

:class:`PerGroupDROClassifier` solves

.. math::

    \min_{w, b} \; \max_{p : I_\phi(p \| \hat p) \le \rho} \; \sum_g p_g
    \sup_{q_g : W_1(q_g, \hat q_g) \le \varepsilon_g} E_{q_g}[\ell(y (w'x + b))]
    + \frac{\alpha}{2}\|w\|_2^2

(paper 001 eqs. (1)-(2)) with :math:`\hat p` the group proportions :math:`n_g / n`,
:math:`\hat q_g` the empirical distribution of group :math:`g`, :math:`W_1` of type 1 with the
cost :math:`\|x - x'\|_2` on the features, labels not moved, and an unbounded feature space.

Inner Wasserstein supremum in closed form. For the hinge :math:`\max(1 - m, 0)` and the logistic
:math:`\log(1 + e^{-m})` losses of the margin :math:`m = y(w'x + b)`, :math:`x \mapsto
\ell(y(w'x + b))` is :math:`\|w\|_2`-Lipschitz (the dual norm of the transport cost), so
:math:`\sup \le E_{\hat q_g}[\ell] + \varepsilon_g \|w\|_2`; moving a vanishing fraction of the
mass of one point arbitrarily far along :math:`-y w / \|w\|_2` (where both losses grow with
slope tending to :math:`\|w\|_2`) approaches the bound, so

.. math::

    \tilde L_g(w, b) = \sup_{W_1(q_g, \hat q_g) \le \varepsilon_g} E_{q_g}[\ell]
    = \frac{1}{n_g} \sum_{i \in g} \ell(y_i (w'x_i + b)) + \varepsilon_g \|w\|_2

(Shafieezadeh-Abadeh, Mohajerin Esfahani & Kuhn, NIPS 2015, Thm 1 with :math:`\kappa = \infty`;
Mohajerin Esfahani & Kuhn 2018, Thm 6.3). It is convex in :math:`(w, b)`.

Group phi-ball by its conic dual. The vector :math:`\tilde L(w, b) \in \mathbb{R}^G` goes to
:func:`dro_opt.dro.worst_case` with the set :func:`dro_opt.ambiguity.phi_divergence` ``(phi,
rho)`` and nominal weights :math:`\hat p` (the dual rules of ``docs/modelling.md``: Ben-Tal et
al. 2013). The whole lower level is one convex conic program, solved and certified by
:func:`dro_opt.solve` (the worst case re-evaluated exactly at the returned decision). The
divergences are those of the modelling layer (paper 002 Table 1): ``"tv"`` there is
:math:`|t - 1|`, paper 001 Table 1 uses :math:`\frac12|t - 1|` -- pass twice the radius.

Reductions (tested): ``eps = 0`` and a ball containing the whole simplex (e.g. ``"tv"`` with
``rho = 2``) is :class:`~dro_opt.models.group_dro.GroupDROClassifier` without calibration; one
group is the pooled Wasserstein DRO classifier of :mod:`dro_opt.models.classification`.

Paper 001 Proposition 1 (eq. (3)): with :math:`L_g` the nominal group losses and :math:`p` the
worst-case group weights,
:math:`\sum_g p_g \tilde L_g \le \sum_g \hat p_g L_g + \|p\|_2 \sqrt{\sum_g (L_g - \sum_j \hat
p_j L_j)^2} + \mathrm{Lip}(\ell) \sum_g p_g \varepsilon_g` with :math:`\mathrm{Lip}(\ell) =
\|w\|_2` here; ``prop1_bound_`` is the right-hand side at the fit, checked against
``robust_loss_`` (the left-hand side; a violation raises :class:`~dro_opt.errors.NumericalError`).

Nonlinear models: paper 001 Algorithm 1 in :mod:`dro_opt.models.iterative_best_response`.
"""

from __future__ import annotations

from typing import Any

import cvxpy as cp
import numpy as np

from dro_opt.ambiguity import phi_divergence
from dro_opt.dro import worst_case, worst_case_distribution
from dro_opt.errors import NumericalError, ParameterError

from .classification import _number
from .group_dro import (
    _LinearGroupClassifier,
    _Scratch,
    certificate_of,
    check_alpha,
    check_groups,
    linear_margin,
    margin_losses,
    margin_losses_np,
    solve_certified,
)

#: Lipschitz losses accepted by :class:`PerGroupDROClassifier`.
PER_GROUP_LOSSES = ("logistic", "hinge")


def check_radii(rho: Any, eps: Any, n_groups: int) -> tuple[float, np.ndarray]:
    """``(rho, eps per group)``; ``ParameterError`` for negative / non-finite radii or an
    ``eps`` array whose length is not the number of groups."""
    r = _number(rho, "rho")
    if r < 0:
        raise ParameterError(f"rho (group phi-ball radius) must be >= 0, got {rho!r}")
    try:
        e = np.asarray(eps, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"eps must be a number or one number per group, got {eps!r}") from None
    if e.ndim == 0:
        e = np.full(n_groups, float(e))
    e = e.ravel()
    if e.size != n_groups:
        hint = " (a group given a radius has no samples?)" if e.size > n_groups else ""
        raise ParameterError(
            f"eps has {e.size} values but the data has {n_groups} groups{hint}; give a scalar "
            "or one radius per group in the order of the sorted group labels"
        )
    if not np.isfinite(e).all() or (e < 0).any():
        raise ParameterError(f"eps (Wasserstein radii) must be finite and >= 0, got {e.tolist()}")
    return r, e


def prop1_bound(
    nominal: np.ndarray, p_hat: np.ndarray, p: np.ndarray, eps: np.ndarray, lipschitz: float
) -> float:
    """Right-hand side of paper 001 Proposition 1, eq. (3) (module docstring)."""
    mean = float(p_hat @ nominal)
    spread = float(np.sqrt(np.sum((nominal - mean) ** 2)))
    return mean + float(np.linalg.norm(p)) * spread + lipschitz * float(p @ eps)


class PerGroupDROClassifier(_LinearGroupClassifier):
    r"""Per-Group DRO linear classifier, exact conic lower level (module docstring).

    Parameters
    ----------
    loss : ``"logistic"`` or ``"hinge"``.
    phi : a :func:`~dro_opt.ambiguity.phi_divergence` name for the group ball (``"kl"``, ...).
    rho : radius :math:`\rho \ge 0` of :math:`I_\phi(p \| \hat p) \le \rho` (as written).
    eps : Wasserstein radius :math:`\varepsilon_g \ge 0`, a scalar or one per group (in the order
        of ``classes_groups_``).
    alpha : ridge weight ``>= 0``.
    fit_intercept : fit ``b``.
    solver : backend for :func:`dro_opt.solve`.
    divergence_params : parameters of the divergence family (``{"theta": 0.5}``, ...).
    single_class_groups : allow groups holding one class only (paper 001 Appendix E defines
        its groups by label and spurious feature; off by default, where it is an error).

    Attributes
    ----------
    coef_, intercept_, classes_, classes_groups_ : as for the other linear classifiers.
    robust_objective_ : certified value of the objective at the fit (worst case re-evaluated
        exactly, ridge included); ``lower_bound_``, ``gap_``, ``status_`` its certificate.
    group_proportions_ : :math:`\hat p`; ``group_weights_``: the worst-case :math:`p`.
    eps_ : (G,) the radii used; ``group_losses_`` the nominal :math:`L_g`;
        ``group_robust_losses_`` :math:`\tilde L_g = L_g + \varepsilon_g \|w\|_2`.
    robust_loss_ : :math:`\sum_g p_g \tilde L_g` (no ridge); ``prop1_bound_`` Prop. 1's bound.
    """

    def __init__(
        self,
        loss: str = "logistic",
        phi: str = "kl",
        rho: float = 0.1,
        eps: Any = 0.0,
        alpha: float = 0.0,
        fit_intercept: bool = True,
        solver: str | None = None,
        divergence_params: dict[str, Any] | None = None,
        single_class_groups: bool = False,
    ) -> None:
        self.loss = loss
        self.phi = phi
        self.rho = rho
        self.eps = eps
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.divergence_params = divergence_params
        self.single_class_groups = single_class_groups

    def fit(self, X: Any, y: Any, groups: Any = None) -> PerGroupDROClassifier:
        """Fit the exact lower level; ``groups`` one label per row of ``X`` (``None``: one
        group, i.e. Wasserstein DRO on the pooled data)."""
        if not isinstance(self.loss, str) or self.loss not in PER_GROUP_LOSSES:
            raise ParameterError(
                f"loss must be one of {PER_GROUP_LOSSES} (Lipschitz in x), got {self.loss!r}"
            )
        a = check_alpha(self.alpha)
        data = check_groups(self, X, y, groups, single_class=bool(self.single_class_groups))
        G = data.group_names.size
        rho, eps = check_radii(self.rho, self.eps, G)
        ball = phi_divergence(self.phi, rho, **(self.divergence_params or {}))
        p_hat = data.counts / data.counts.sum()
        d = data.X.shape[1]
        w = cp.Variable(d, name="w")
        b: Any = cp.Variable(name="b") if self.fit_intercept else cp.Constant(0.0)
        nominal = data.averaging @ margin_losses(self.loss, linear_margin(data, w, b))
        robust = nominal + cp.norm(w, 2) * eps if eps.any() else nominal
        if rho > 0:
            t, cons = worst_case(robust, ball, p_hat, name="group_worst_case")
            head: Any = t
        else:  # the ball is {p_hat}: the dual rules degenerate (lambda -> inf), write it out
            t, cons, head = None, [], p_hat @ robust
        obj = head + 0.5 * a * cp.sum_squares(w) if a > 0 else head
        problem = cp.Problem(cp.Minimize(obj), cons)
        res = solve_certified(self, problem, self.solver)
        self.coef_ = np.asarray(w.value, dtype=float).reshape(1, d)
        self.intercept_ = np.array([float(b.value) if self.fit_intercept else 0.0])
        self.classes_groups_ = data.group_names
        self.group_proportions_ = p_hat
        self.eps_ = eps
        if t is None:
            self.group_weights_ = p_hat.copy()
        else:
            wc = worst_case_distribution(t)
            self.group_weights_ = np.asarray(wc.probabilities, dtype=float)[:G]
        self.robust_objective_ = float(res.objective)
        self.lower_bound_, self.gap_, self.status_ = certificate_of(res, self.robust_objective_)
        wv = self.coef_[0]
        margin = data.ypm * (data.X @ wv + self.intercept_[0])
        self.group_losses_ = data.averaging @ margin_losses_np(self.loss, margin)
        lip = float(np.linalg.norm(wv))
        self.group_robust_losses_ = self.group_losses_ + eps * lip
        self.robust_loss_ = float(self.group_weights_ @ self.group_robust_losses_)
        self.prop1_bound_ = prop1_bound(self.group_losses_, p_hat, self.group_weights_, eps, lip)
        if self.robust_loss_ > self.prop1_bound_ + 1e-9 * max(1.0, abs(self.prop1_bound_)):
            raise NumericalError(
                f"Proposition 1 violated: robust loss {self.robust_loss_:.12g} > bound "
                f"{self.prop1_bound_:.12g}; the worst-case weights are inaccurate"
            )
        return self


def robust_validation_loss(est: PerGroupDROClassifier, X: Any, y: Any, groups: Any) -> float:
    r"""Paper 001 eq. (9) for a fitted linear classifier on validation data:
    :math:`\max_{I_\phi(p \| \hat p^{val}) \le \rho} \sum_g p_g (L_g^{val} + \varepsilon_g
    \|w\|_2)` with the same radii, the inner sup in closed form (module docstring); the value
    is the dual (upper) side of the set's certified bracket. The validation groups must be
    those of the fit."""
    data = check_groups(_Scratch(), X, y, groups, single_class=bool(est.single_class_groups))
    if not np.array_equal(data.group_names, est.classes_groups_):
        raise ParameterError("validation groups differ from the groups of the fit")
    wv = est.coef_[0]
    margin = data.ypm * (data.X @ wv + est.intercept_[0])
    nominal = data.averaging @ margin_losses_np(est.loss, margin)
    robust = nominal + est.eps_ * float(np.linalg.norm(wv))
    ball = phi_divergence(est.phi, float(est.rho), **(est.divergence_params or {}))
    p_val = data.counts / data.counts.sum()
    return float(ball.worst_case_distribution(robust, p_val).dual_value)


__all__ = [
    "PER_GROUP_LOSSES",
    "PerGroupDROClassifier",
    "check_radii",
    "prop1_bound",
    "robust_validation_loss",
]
