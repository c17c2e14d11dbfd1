r"""Distributionally robust linear classifiers with the scikit-learn API (issue 12).

:class:`DROLinearSVC` (hinge loss) and :class:`DROLogisticRegression` (logistic loss) solve

.. math::

    \min_{w, b} \; \sup_{P \in \mathcal{U}} E_P[\ell(y (w' x + b))] + \frac{\alpha}{2} \|w\|_2^2,

with :math:`\ell(m) = \max(1 - m, 0)` or :math:`\ell(m) = \log(1 + e^{-m})`, the nominal
distribution :math:`\hat P` uniform on the training points, and the ball :math:`\mathcal{U}`
chosen by ``ambiguity`` (radii used as written, see ``docs/modelling.md``):

* ``"erm"``: :math:`\mathcal{U} = \{\hat P\}` (``radius`` ignored);
* every name of :func:`~dro_opt.ambiguity.phi_divergence` (``"kl"``, ``"chi2"``, ``"tv"``,
  ``"burg"``, ...): :math:`\{P : \sum_i \hat p_i \phi(P_i / \hat p_i) \le r\}` with paper 002
  Table 1's :math:`\phi` -- ``"kl"`` is :math:`KL(P \| \hat P) \le r`, ``"chi2"`` is
  :math:`\sum_i \hat p_i (P_i / \hat p_i - 1)^2 / 2 \le r`, ``"tv"`` is
  :math:`\sum_i |P_i - \hat p_i| \le r`; ``"chi-m"`` / ``"cressie-read"`` take their parameter
  through ``divergence_params`` (``{"m": 2}``, ``{"theta": 0.5}``);
* ``"cvar"``: ``radius`` is the CVaR **level** :math:`\beta \in (0, 1]`,
  :math:`\{P : P_i \le \hat p_i / \beta\}` (the mean of the worst :math:`\beta` fraction of the
  losses, Rockafellar & Uryasev 2000; :math:`\beta = 1` is ERM);
* ``"wasserstein"``: type-1 Wasserstein ball of radius :math:`r` with the cost
  :math:`\|x - x'\|_2` on the features, labels not moved (infinite cost to flip a label);
* ``"ot-kl"``: the joint KL + optimal-transport discrepancy of paper 002 Def. 5.1 with
  :math:`d = \|x - x'\|_2` on the features, labels not moved, weights ``theta1 > 1`` and
  :math:`\theta_2 = \theta_1 / (\theta_1 - 1)`.

The feature cost of the last two is chosen by ``transport_norm`` (:math:`p \in \{1, 2,
\infty\}`) and ``transport_cost`` (``"norm"``: :math:`\|x - x'\|_p`, ``"squared"``:
:math:`\|x - x'\|_p^2`); paper 002 Sec. 6 uses :math:`\|x - x'\|_\infty^2`, the authors'
public code :math:`\|x - x'\|_\infty`. The c-transform of an affine piece
:math:`a'\xi + c` at step :math:`g > 0` (the inner sup of paper 002 eq. (28)) is, with
:math:`q` the dual exponent (:math:`1/p + 1/q = 1`; :math:`q = 1` for :math:`p = \infty`),

* norm cost: :math:`a'\xi_i + c` when :math:`\|a\|_q \le g`, else :math:`+\infty`
  (Thm 5.8; Mohajerin Esfahani & Kuhn 2018, Thm 4.2);
* squared cost: :math:`\sup_u a'(\xi_i + u) + c - g\|u\|_p^2 = a'\xi_i + c +
  \|a\|_q^2 / (4 g)` (maximise :math:`s \|a\|_q - g s^2` over :math:`s = \|u\|_p \ge 0`;
  Cor. 5.9 for :math:`p = 2`, the same argument for any norm).

For the hinge (pieces :math:`(-w, 1 - y_i b)` and :math:`(0, 0)` on the signed samples) the
squared sup-norm cost gives :math:`\max(1 - y_i(w'x_i + b) + \|w\|_1^2 / (4 g), 0)`, a rotated
second-order cone; :math:`g = \lambda` (Wasserstein) or :math:`\lambda \theta_1` (OT-KL). The
logistic loss has no closed-form c-transform under a squared cost (``NotImplementedError``);
under a norm cost it is :math:`\|w\|_q`-Lipschitz, below.

How each is modelled (one bulk cvxpy model, no Python loop over the samples, solved and
certified by :func:`dro_opt.solve` on the registry's choice of solver or ``solver``):

* reweighting sets: the per-sample loss vector goes to :func:`dro_opt.dro.worst_case`, i.e. the
  dual rules of ``docs/modelling.md`` (Ben-Tal et al. 2013; Duchi & Namkoong 2019 for
  chi-square; Rockafellar & Uryasev 2000 for CVaR);
* hinge with ``"wasserstein"`` / ``"ot-kl"``: the signed samples :math:`\xi_i = y_i x_i` (the
  cost is unchanged since :math:`|y_i| = 1`) and the max-affine loss with per-sample intercepts
  :math:`\max(-w'\xi + 1 - y_i b, 0)`
  (:class:`~dro_opt.dro.losses.PiecewiseAffineLoss`), through the rules of Mohajerin Esfahani &
  Kuhn (2018, Thm 4.2) and paper 002 Thm 5.8;
* logistic with ``"wasserstein"``: the loss is not max-affine; it is convex and
  :math:`\|w\|_q`-Lipschitz in :math:`x` with asymptotic slope :math:`\|w\|_q`, so on the
  unbounded feature space with labels fixed
  :math:`\sup = E_{\hat P}[\ell] + r \|w\|_q` (Shafieezadeh-Abadeh, Mohajerin Esfahani & Kuhn,
  "Distributionally robust logistic regression", NIPS 2015, Thm 1 with :math:`\kappa = \infty`),
  written directly;
* logistic with ``"ot-kl"``: paper 002 Cor. 5.6 (eq. (27)),
  :math:`\inf_{\lambda \ge 0} \lambda r + \lambda \theta_2 \log E_{\hat P}
  \exp(\ell_{\lambda\theta_1}(\xi) / (\lambda \theta_2))` with the c-transform
  :math:`\ell_a(\xi_i) = \sup_z \ell(z) - a \|z - \xi_i\|_2`. For the logistic loss it is
  :math:`\ell(\xi_i)` when :math:`a \ge \|w\|_2` (the loss is :math:`\|w\|_2`-Lipschitz) and
  :math:`+\infty` otherwise (along :math:`z = \xi_i - s w / \|w\|_2` the loss grows at least
  like :math:`s \|w\|_2`), so the program is the KL dual of the sample losses with the extra
  row :math:`\lambda \theta_1 \ge \|w\|_2` -- written directly with exponential cones as in
  :mod:`dro_opt.reformulations.ot_kl_exp_cone`.

Sparse classifiers (``max_features=k``): the same objective over the :math:`w` with at most
:math:`k` non-zero coefficients, as a mixed-integer conic program with binary support variables
:math:`s_j`, :math:`\sum_j s_j \le k`, :math:`|w_j| \le M s_j` (mixed-integer with exponential
cones for KL, OT-KL and the logistic loss, with second-order cones for chi-square and
Wasserstein; the registry picks SCIP), solved by :func:`dro_opt.solve` with a proven bound.
The big-M is derived, not guessed, and needs ``alpha > 0`` or ``norm_penalty = c > 0``
(``ValueError`` otherwise): the
worst-case expected loss :math:`R(w, b)` is :math:`\ge 0` (a non-negative loss under probability
measures), so :math:`F(w, b) \ge \frac{\alpha}{2} \|w\|_2^2`; and :math:`(w, b) = (0, 0)` is
feasible for every :math:`k` with a constant loss :math:`\ell(0)` at every point, whose worst
case over any ball of probability measures is :math:`\ell(0)` (1 for the hinge, :math:`\log 2`
for the logistic loss). Every optimum :math:`w^*` therefore has
:math:`\frac{\alpha}{2}\|w^*\|_2^2 \le F(w^*, b^*) \le F(0, 0) = \ell(0)`, i.e.
:math:`|w^*_j| \le \|w^*\|_2 \le M = \sqrt{2 \ell(0) / \alpha}`; the rows
:math:`|w_j| \le M s_j` and :math:`\|w\|_2 \le M` cut off no optimum. With the term
:math:`c\|w\|_2` the same argument gives :math:`c\|w^*\|_2 \le \ell(0)`, and :math:`M`
is the smaller of :math:`\sqrt{2\ell(0)/\alpha}` and :math:`\ell(0)/c`. (With both zero no
finite valid M exists in general: on separable data the hinge / logistic optimum is approached
only as :math:`\|w\| \to \infty`.) The support found is then re-fitted by the continuous model
restricted to it (exact zeros off the support, certified value at that point): ``robust_objective_``
is that certified value, ``lower_bound_`` the mixed-integer solve's proven bound on the sparse
optimum (widened by the epigraph's slack), ``gap_`` their relative gap
``(upper - lower) / max(1, |upper|)`` and ``status_`` ``"optimal"`` only when the re-fit is
certified optimal and that gap is within ``1e-5`` (else ``"feasible"``, or ``"time_limit"``
when ``time_limit`` stopped the search; the interval stays certified: see ``time_limit``).
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import cvxpy as cp
import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

import dro_opt
from dro_opt.ambiguity import DIVERGENCE_NAMES, cvar, ot_phi, phi_divergence, wasserstein
from dro_opt.dro import worst_case, worst_case_distribution
from dro_opt.dro.losses import PiecewiseAffineLoss
from dro_opt.errors import DroOptError
from dro_opt.models.classifier_conic import DIRECT_MODELS
from dro_opt.models.classifier_direct import DirectFit, fit_direct

#: Ambiguity names besides the phi-divergences.
OTHER_AMBIGUITIES = ("erm", "cvar", "wasserstein", "ot-kl")
#: Every accepted ``ambiguity``.
AMBIGUITIES = (*OTHER_AMBIGUITIES, *DIVERGENCE_NAMES)


class _DROLinearClassifier(ClassifierMixin, BaseEstimator):
    """Shared fit / predict of the DRO linear classifiers (module docstring).

    Parameters
    ----------
    ambiguity : one of :data:`AMBIGUITIES` (default ``"erm"``).
    radius : ball radius ``r >= 0`` (for ``"cvar"`` the level in ``(0, 1]``).
    theta1 : transport weight of ``"ot-kl"``, finite and ``> 1``.
    alpha : ridge weight ``>= 0`` of ``alpha / 2 ||w||_2^2``.
    fit_intercept : fit ``b`` (else ``b = 0``).
    max_features : ``None`` (dense) or an int ``k`` with ``1 <= k <= d``: at most ``k``
        non-zero coefficients (module docstring: binary support variables with the derived
        big-M ``sqrt(2 loss(0) / alpha)``; needs ``alpha > 0``).
    solver : backend name for :func:`dro_opt.solve` (``None``: the registry's choice).
    divergence_params : parameters of the phi-divergence family (``{"m": 2}`` for ``"chi-m"``,
        ``{"theta": 0.5}`` for ``"cressie-read"``), else ``None``.
    transport_norm : ``p`` in {1, 2, ``np.inf``} of the feature cost ``||x - x'||_p`` of
        ``"wasserstein"`` / ``"ot-kl"`` (default 2; paper 002 Sec. 6 uses ``np.inf``).
    transport_cost : ``"norm"`` (``||x - x'||_p``, default) or ``"squared"``
        (``||x - x'||_p^2``, paper 002 Sec. 6's cost; hinge loss only). Module docstring for
        the c-transforms.
    norm_penalty : weight ``c >= 0`` of the extra non-squared term ``c ||w||_2`` (paper 002
        Sec. 6 adds ``1e-3 ||beta||_2``; default 0).
    time_limit : ``None`` or seconds for the solver: the mixed-integer solve with
        ``max_features``, the dense fit otherwise. A sparse fit stopped by it still returns a
        certified point (the incumbent's support, or without one the dense fit's ``k``
        largest coefficients, re-fitted without limit) and a certified lower bound (the
        mixed-integer bound, or without one the dense relaxation's), ``status_ ==
        "time_limit"`` and the honest ``gap_``.
    certify : ``True`` (default): solved and certified by :func:`dro_opt.solve`. ``False``
        (dense fits only): the same model solved by cvxpy's own Clarabel, no exact
        re-evaluation of the worst case; ``robust_objective_`` is then the solver's claim,
        ``lower_bound_`` / ``gap_`` are ``None`` and ``status_`` is ``"uncertified"`` (for
        large experiment grids, where the exact re-evaluation of a transport worst case costs
        about ten times the fit). If cvxpy's Clarabel fails, the certified route is taken
        (its status then).

    Attributes
    ----------
    classes_ : (2,) the labels; ``classes_[1]`` is the class coded ``+1``.
    coef_ : (1, d) the weights ``w``.
    intercept_ : (1,) the intercept ``b``.
    robust_objective_ : the certified value of the fitted ``(w, b)`` in the objective above
        (its worst case re-evaluated exactly by the ambiguity set, :func:`dro_opt.solve`).
    lower_bound_ : the solver's proven lower bound of the optimum (widened by the solver
        tolerance line of the certificate).
    gap_ : the certificate's relative gap ``(robust_objective_ - lower_bound_) / max(1, |.|)``.
    worst_case_weights_ : (n,) worst-case probabilities of the training points for reweighting
        sets (phi-divergences, CVaR, ERM: the nominal); ``None`` for the sets that move the
        samples.
    status_ : the solve's status (``"optimal"`` when the certificate proves it).
    support_ : sorted indices of the selected features (only with ``max_features``: the ``k``
        largest coefficients of the mixed-integer solution, re-fitted; every coefficient outside
        is exactly zero, some inside may be zero too).
    n_features_in_ : number of features.
    """

    _loss: str = ""

    def __init__(
        self,
        ambiguity: str = "erm",
        radius: float = 0.1,
        theta1: float = 2.0,
        alpha: float = 0.0,
        fit_intercept: bool = True,
        max_features: int | None = None,
        solver: str | None = None,
        divergence_params: dict[str, Any] | None = None,
        transport_norm: float = 2,
        transport_cost: str = "norm",
        norm_penalty: float = 0.0,
        time_limit: float | None = None,
        certify: bool = True,
    ) -> None:
        self.ambiguity = ambiguity
        self.radius = radius
        self.theta1 = theta1
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_features = max_features
        self.solver = solver
        self.divergence_params = divergence_params
        self.transport_norm = transport_norm
        self.transport_cost = transport_cost
        self.norm_penalty = norm_penalty
        self.time_limit = time_limit
        self.certify = certify

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> tuple[str, float, float, float]:
        amb, r, th1, a = check_dro_params(
            self.ambiguity, self.radius, self.theta1, self.alpha, self.max_features
        )
        self._transport()
        c = self._norm_penalty()
        self._time_limit()
        if not isinstance(getattr(self, "certify", True), bool):
            raise ValueError(f"certify must be True or False, got {self.certify!r}")
        if self.max_features is not None:
            if not getattr(self, "certify", True):
                raise ValueError(
                    "certify=False is for dense fits only: max_features needs the certified "
                    "mixed-integer solve (its bound is the point); set certify=True"
                )
            if not (a > 0 or c > 0):
                raise ValueError(
                    "max_features needs a ridge weight alpha > 0 (or norm_penalty > 0): the "
                    "big-M of the binary support rows is sqrt(2 loss(0) / alpha) (or "
                    "loss(0) / norm_penalty), and with both 0 no finite valid bound exists (got "
                    f"alpha={self.alpha!r}); set e.g. alpha=0.1"
                )
        return amb, r, th1, a

    def _transport(self) -> tuple[float, str]:
        """``(p, cost)`` of the feature transport cost ``||x - x'||_p`` (``cost="squared"``:
        its square) of ``"wasserstein"`` / ``"ot-kl"``; ``p`` in {1, 2, inf}."""
        p_raw = getattr(self, "transport_norm", 2)
        p = math.nan
        if not isinstance(p_raw, bool):
            if isinstance(p_raw, str) and p_raw.strip().lower() in ("inf", "infinity"):
                p = math.inf
            elif isinstance(p_raw, numbers.Real):
                p = float(p_raw)
        if p not in (1.0, 2.0, math.inf):
            raise ValueError(f"transport_norm must be 1, 2 or np.inf, got {p_raw!r}")
        cost = getattr(self, "transport_cost", "norm")
        if cost not in ("norm", "squared"):
            raise ValueError(
                "transport_cost must be 'norm' (||x - x'||_p) or 'squared' (||x - x'||_p^2), "
                f"got {cost!r}"
            )
        return p, str(cost)

    def _norm_penalty(self) -> float:
        """The weight ``c >= 0`` of the non-squared term ``c ||w||_2``."""
        c = _number(getattr(self, "norm_penalty", 0.0), "norm_penalty")
        if c < 0:
            raise ValueError(f"norm_penalty must be >= 0, got {c!r}")
        return c

    def _time_limit(self) -> float | None:
        """``None`` or a finite time limit ``> 0`` in seconds for each solver call."""
        tl = getattr(self, "time_limit", None)
        if tl is None:
            return None
        v = _number(tl, "time_limit")
        if not v > 0:
            raise ValueError(f"time_limit must be None or > 0 seconds, got {tl!r}")
        return v

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any) -> _DROLinearClassifier:
        """Fit ``(w, b)`` to the training data (module docstring for the model).

        Parameters
        ----------
        X : (n, d) finite features.
        y : (n,) labels of exactly two classes.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Bad parameters, non-finite features, or labels of fewer / more than two classes.
        NotImplementedError
            A model not implemented.
        """
        amb, r, th1, a = self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind not in ("binary", "unknown") and np.unique(y).size > 2:
            raise ValueError(
                f"Only binary classification is supported. The type of the target is {kind}: "
                f"{type(self).__name__} needs labels of exactly two classes (use e.g. "
                "sklearn.multiclass.OneVsRestClassifier for more)"
            )
        classes = np.unique(y)
        if classes.size < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of two classes; got one class only "
                f"({classes[0]!r}): a classifier can't train when only one class is present"
            )
        self.classes_ = classes
        ypm = np.where(y == classes[1], 1.0, -1.0)
        n, d = X.shape
        k = self.max_features
        if k is not None and k > d:
            raise ValueError(f"max_features must be <= n_features = {d}, got {k!r}")
        t = None
        direct = self._fit_direct(amb, r, a, X, ypm) if k is None or k == d else None
        if direct is not None:  # Clarabel on the directly written program (classifier_conic)
            self.coef_ = direct.coef.reshape(1, d)
            self.intercept_ = np.array([direct.intercept])
            self.robust_objective_ = direct.objective
            self.lower_bound_ = direct.lower
            self.gap_ = direct.gap
            self.status_ = direct.status
            if k is not None:
                self.support_ = np.flatnonzero(self.coef_[0] != 0)
        elif k is None or k == d:  # k = d: the support rows are void, the dense model is exact
            res, w, b, t = self._solve(amb, r, th1, a, X, ypm, None)
            self.coef_ = np.asarray(w.value, dtype=float).reshape(1, d)
            self.intercept_ = np.array([float(b.value) if self.fit_intercept else 0.0])
            self.robust_objective_ = float(res.objective)
            cert = res.certificate
            self.lower_bound_ = None if cert is None else cert.lower
            self.gap_ = None if cert is None else cert.gap
            self.status_ = res.status.value
            if k is not None:
                self.support_ = np.flatnonzero(self.coef_[0] != 0)
        else:
            t, direct = self._fit_sparse(amb, r, th1, a, X, ypm, int(k))
        self.worst_case_weights_: np.ndarray | None = None
        if direct is not None:
            self.worst_case_weights_ = direct.weights
        elif amb == "erm":
            self.worst_case_weights_ = np.full(n, 1.0 / n)
        elif t is not None and amb not in ("wasserstein", "ot-kl"):
            self.worst_case_weights_ = np.asarray(
                worst_case_distribution(t).probabilities, dtype=float
            )[:n]
        return self

    def _fit_direct(
        self,
        amb: str,
        r: float,
        a: float,
        X: np.ndarray,
        ypm: np.ndarray,
        limited: bool = True,
    ) -> DirectFit | None:
        """The dense fit by :func:`~dro_opt.models.classifier_direct.fit_direct` (Clarabel on the
        program written as matrices, certified without a second solve) when it covers the
        model and the options (certified, Clarabel or the default solver, the norm transport
        cost, no divergence parameters); ``None`` otherwise or when Clarabel fails (then the
        cvxpy route)."""
        p, cost = self._transport()
        solver = self.solver.lower() if isinstance(self.solver, str) else self.solver
        if (
            (self._loss, amb) not in DIRECT_MODELS
            or not getattr(self, "certify", True)
            or solver not in (None, "clarabel")
            or (amb == "wasserstein" and cost != "norm")
            or self.divergence_params
        ):
            return None
        return fit_direct(
            self._loss,
            amb,
            r,
            X,
            ypm,
            alpha=a,
            norm_penalty=self._norm_penalty(),
            fit_intercept=bool(self.fit_intercept),
            q_norm=_dual_exponent(p),
            time_limit=self._time_limit() if limited else None,
        )

    def _solve(
        self,
        amb: str,
        r: float,
        th1: float,
        a: float,
        X: np.ndarray,
        ypm: np.ndarray,
        k: int | None,
        require_solution: bool = True,
        limited: bool = True,
    ) -> tuple[Any, cp.Variable, Any, cp.Variable | None]:
        """Build and solve the model (with the support rows when ``k`` is given):
        ``(result, w, b, t)``; ``RuntimeError`` when no solution comes back, unless
        ``require_solution`` is False (then ``w.value`` may be None); ``time_limit`` applies
        when ``limited``."""
        d = X.shape[1]
        w = cp.Variable(d, name="w")
        b: Any = cp.Variable(name="b") if self.fit_intercept else cp.Constant(0.0)
        # margins y_i (w'x_i + b) on the signed samples y_i x_i: cp.multiply(ypm, X @ w) was
        # measured to be mis-imported by dro_opt.conic.from_cvxpy (optimum of an ERM hinge 1.0
        # instead of cvxpy's 0.0), Xs @ w + ypm * b is imported correctly
        Xs = ypm[:, None] * X
        margin = Xs @ w + ypm * b if self.fit_intercept else Xs @ w
        obj, cons, t = self._robust_term(amb, r, th1, Xs, ypm, w, b, margin)
        if a > 0:
            obj = obj + 0.5 * a * cp.sum_squares(w)
        c = self._norm_penalty()
        if c > 0:
            obj = obj + c * cp.norm(w, 2)
        if k is not None:
            # big-M derived in the module docstring: alpha/2 ||w*||^2 + c ||w*|| <= F(0, 0)
            big_m = _big_m(1.0 if self._loss == "hinge" else math.log(2.0), a, c)
            s = cp.Variable(d, boolean=True, name="support")
            cons = [*cons, cp.sum(s) <= k, w <= big_m * s, -w <= big_m * s]
            cons.append(cp.norm(w, 2) <= big_m)
            # epigraph z >= F with the valid row z >= 0 (F >= 0, module docstring): without it
            # SCIP's relaxation of the logistic exponential cones next to a norm was measured
            # unbounded-like (bound -29 after 20 s on d = 5, n = 20; 0.2 s with it)
            z = cp.Variable(nonneg=True, name="objective_epigraph")
            cons.append(z >= obj)
            self._sparse_terms = (obj, z)
            obj = z
        problem = cp.Problem(cp.Minimize(obj), cons)
        if k is None and not getattr(self, "certify", True):
            try:
                return self._solve_uncertified(problem, w), w, b, t
            except cp.error.SolverError:
                pass  # cvxpy's Clarabel failed: the certified route below (its own retries)
        tl = self._time_limit() if limited else None
        try:
            res = dro_opt.solve(problem, solver=self.solver, time_limit=tl)
        except DroOptError as exc:
            raise RuntimeError(f"{type(self).__name__}: the solve failed: {exc}") from exc
        if require_solution and (w.value is None or res.objective is None):
            raise RuntimeError(
                f"{type(self).__name__}: the solver returned no solution (status "
                f"{res.status.value}: {res.message})"
            )
        return res, w, b, t

    def _solve_uncertified(self, problem: cp.Problem, w: cp.Variable) -> _SolverClaim:
        """``certify=False``: the same model solved by cvxpy's own interface (Clarabel unless
        ``solver`` names another cvxpy solver), no exact re-evaluation of the worst case: the
        value is the solver's claim and the status says so (``"uncertified"``). A solver
        failure raises ``cvxpy.error.SolverError``; :meth:`_solve` then takes the certified
        route."""
        kwargs: dict[str, Any] = {}
        tl = self._time_limit()
        if tl is not None:
            kwargs["time_limit"] = tl
        name = self.solver.upper() if isinstance(self.solver, str) else cp.CLARABEL
        with warnings.catch_warnings():  # "inaccurate" is reported by status_ instead
            warnings.simplefilter("ignore", UserWarning)
            problem.solve(solver=name, **kwargs)  # SolverError: the caller falls back
        if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or w.value is None:
            raise RuntimeError(
                f"{type(self).__name__}: the solver returned no solution (cvxpy status "
                f"{problem.status})"
            )
        status = "uncertified" if problem.status == cp.OPTIMAL else "uncertified_inaccurate"
        return _SolverClaim(float(problem.value), _StatusText(status))

    def _fit_sparse(
        self, amb: str, r: float, th1: float, a: float, X: np.ndarray, ypm: np.ndarray, k: int
    ) -> tuple[cp.Variable | None, DirectFit | None]:
        """Mixed-integer solve for the support and its bound, then the continuous re-fit on the
        support (module docstring); sets the fitted attributes, returns the re-fit's ``t`` (cvxpy
        route) or its :class:`DirectFit` (direct route)."""
        d = X.shape[1]
        mi, w_mi, _, _ = self._solve(amb, r, th1, a, X, ypm, k, require_solution=False)
        cert = mi.certificate if w_mi.value is not None else None
        lower = None if cert is None else cert.lower
        if lower is not None:  # widened by the epigraph's slack |F - z| at the solver's point
            f_expr, z = self._sparse_terms
            lower -= abs(float(f_expr.value) - float(z.value))
        del self._sparse_terms
        if w_mi.value is None and mi.status.value != "time_limit":
            raise RuntimeError(
                f"{type(self).__name__}: the mixed-integer solver returned no solution "
                f"(status {mi.status.value}: {mi.message})"
            )
        w_val = None if w_mi.value is None else np.asarray(w_mi.value, dtype=float)
        if w_val is None or lower is None:
            # stopped (time limit) without an incumbent or without a bound: the dense fit, a
            # relaxation of the sparse problem, gives a certified lower bound (and, without an
            # incumbent, its k largest |w_j| a support)
            dense, w_dense, _, _ = self._solve(amb, r, th1, a, X, ypm, None, limited=False)
            if dense.certificate is not None and dense.certificate.lower is not None:
                lower = dense.certificate.lower
            if w_val is None:
                w_val = np.asarray(w_dense.value, dtype=float)
        # the k largest |w_j| of the incumbent hold its whole support (|w_j| <= M s_j)
        support = np.sort(np.argsort(-np.abs(w_val), kind="stable")[:k])
        coef = np.zeros(d)
        t = None
        direct = self._fit_direct(amb, r, a, X[:, support], ypm, limited=False)
        if direct is not None:
            coef[support] = direct.coef
            intercept, upper = direct.intercept, direct.objective
            fine, refit_stopped = direct.status == "optimal", direct.status == "time_limit"
        else:
            res, w, b, t = self._solve(amb, r, th1, a, X[:, support], ypm, None, limited=False)
            coef[support] = np.asarray(w.value, dtype=float)
            intercept = float(b.value) if self.fit_intercept else 0.0
            upper = float(res.objective)
            fine, refit_stopped = res.status.value == "optimal", res.status.value == "time_limit"
        self.coef_ = coef.reshape(1, d)
        self.intercept_ = np.array([intercept])
        self.support_ = support
        self.robust_objective_ = upper
        self.lower_bound_ = lower
        self.gap_ = None if lower is None else max(0.0, upper - lower) / max(1.0, abs(upper))
        # the mixed-integer solve's own status is not used: its certificate may lack an upper
        # side (measured for the logistic OT-KL), the re-fit supplies the certified upper
        proven = fine and self.gap_ is not None and self.gap_ <= 1e-5
        stopped = mi.status.value == "time_limit" or refit_stopped
        self.status_ = "optimal" if proven else ("time_limit" if stopped else "feasible")
        return t, direct

    def _sample_losses(self, margin: cp.Expression) -> cp.Expression:
        if self._loss == "hinge":
            return cp.pos(1 - margin)
        return cp.logistic(-margin)

    def _robust_term(
        self,
        amb: str,
        r: float,
        th1: float,
        Xs: np.ndarray,
        ypm: np.ndarray,
        w: cp.Variable,
        b: Any,
        margin: cp.Expression,
    ) -> tuple[cp.Expression, list[Any], cp.Variable | None]:
        """``(objective, constraints, t)`` of the worst-case expected loss (``t`` the
        :func:`worst_case` variable when one is used); ``Xs`` the signed samples."""
        n, d = Xs.shape
        if amb == "erm":
            return cp.sum(self._sample_losses(margin)) / n, [], None
        p, cost = self._transport()
        if amb in ("wasserstein", "ot-kl") and self._loss == "hinge":
            # signed samples y_i x_i; pieces (-w, 1 - y_i b) and (0, 0) (module docstring)
            loss = PiecewiseAffineLoss(Xs, [(-w, 1 - ypm * b), (np.zeros(d), 0.0)])
            if amb == "wasserstein":
                S = wasserstein(r, p, cost=cost)
            else:
                S = ot_phi(r, th1, "kl", p, cost=cost)
            t, cons = worst_case(loss, S)
            return t, cons, t
        if amb in ("wasserstein", "ot-kl") and cost == "squared":
            raise NotImplementedError(
                f"{type(self).__name__}: the squared transport cost is implemented for the hinge "
                "loss (DROLinearSVC) only; the logistic loss's c-transform under ||x - x'||^2 has "
                "no closed form here. Use transport_cost='norm'"
            )
        q = _dual_exponent(p)
        if amb == "wasserstein":  # logistic: E_hat[loss] + r ||w||_q (module docstring)
            return cp.sum(self._sample_losses(margin)) / n + r * cp.norm(w, q), [], None
        if amb == "ot-kl":  # logistic: paper 002 Cor. 5.6 with l_a = l for a >= ||w||_q
            return _ot_kl_lipschitz(self._sample_losses(margin), w, r, th1, q)
        if amb == "cvar":
            S: Any = cvar(r)
        else:
            S = phi_divergence(amb, r, **dict(self.divergence_params or {}))
        t, cons = worst_case(self._sample_losses(margin), S)
        return t, cons, t

    # ------------------------------------------------------------------ predict
    def decision_function(self, X: Any) -> np.ndarray:
        """``X w + b`` (positive: ``classes_[1]``)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_[0] + self.intercept_[0]

    def predict(self, X: Any) -> np.ndarray:
        """``classes_[1]`` where the decision function is positive, else ``classes_[0]``."""
        positive = self.decision_function(X) > 0  # checks the fit first
        return self.classes_[positive.astype(int)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


class DROLinearSVC(_DROLinearClassifier):
    r"""Distributionally robust linear SVM: hinge loss :math:`\max(1 - y (w'x + b), 0)`.

    See :class:`_DROLinearClassifier` and the module docstring for the parameters, the
    ambiguity sets and the references.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.5], [3.0, 2.0]])
    >>> clf = DROLinearSVC("wasserstein", radius=0.05).fit(X, ["a", "a", "b", "b"])
    >>> str(clf.predict([[3.0, 3.0]])[0])
    'b'
    """

    _loss = "hinge"


class DROLogisticRegression(_DROLinearClassifier):
    r"""Distributionally robust logistic regression: loss :math:`\log(1 + e^{-y (w'x + b)})`.

    See :class:`_DROLinearClassifier` and the module docstring for the parameters, the
    ambiguity sets and the references; ``predict_proba`` is the logistic model
    :math:`P(y = \text{classes\_}[1] \mid x) = 1 / (1 + e^{-(w'x + b)})`.
    """

    _loss = "logistic"

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, 2) probabilities of ``classes_[0]`` and ``classes_[1]`` (rows sum to one)."""
        p1 = expit(self.decision_function(X))
        return np.column_stack([1.0 - p1, p1])

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`."""
        f = self.decision_function(X)
        return np.column_stack([-np.logaddexp(0.0, f), -np.logaddexp(0.0, -f)])


def _ot_kl_lipschitz(
    losses: cp.Expression, w: cp.Variable, r: float, theta1: float, q: float = 2.0
) -> tuple[cp.Expression, list[Any], None]:
    r"""Paper 002 Cor. 5.6 for a loss whose c-transform is itself when
    :math:`\lambda \theta_1 \ge \|w\|_2` and :math:`+\infty` otherwise (module docstring):
    :math:`\lambda r + t` over ``ExpCone((zeta_i - t) s, lam theta2 s, eta_i)``,
    :math:`\sum_i \eta_i / n \le \lambda \theta_2 s`, :math:`\zeta \ge \ell`,
    :math:`\lambda \theta_1 \ge \|w\|_2`, with the balancing factor
    :math:`s = 1 / \sqrt{\theta_2}` of :mod:`dro_opt.reformulations.ot_kl_exp_cone`."""
    n = losses.size
    th2 = theta1 / (theta1 - 1.0)
    sc = 1.0 / math.sqrt(th2)
    lam = cp.Variable(nonneg=True, name="otkl_lambda")
    t = cp.Variable(name="otkl_t")
    eta = cp.Variable(n, name="otkl_eta")
    zeta = cp.Variable(n, name="otkl_zeta")
    y = sc * th2 * lam
    cons = [
        cp.ExpCone(sc * (zeta - t), y * np.ones(n), eta),
        cp.sum(eta) / n <= y,
        zeta >= losses,
        cp.norm(w, q) <= theta1 * lam,
    ]
    return r * lam + t, cons, None


class _StatusText:
    """A status with ``.value`` like :class:`dro_opt.Status` (for uncertified solves)."""

    def __init__(self, value: str) -> None:
        self.value = value


class _SolverClaim:
    """What an uncertified solve returns in place of a :class:`dro_opt.Result`."""

    certificate = None

    def __init__(self, objective: float, status: _StatusText) -> None:
        self.objective = objective
        self.status = status


def _dual_exponent(p: float) -> float:
    """``q`` with ``1/p + 1/q = 1`` for ``p`` in {1, 2, inf}."""
    return {1.0: math.inf, 2.0: 2.0, math.inf: 1.0}[p]


def _big_m(loss0: float, alpha: float, c: float) -> float:
    r"""Bound on :math:`\|w^*\|_2` of every optimum (module docstring): from
    :math:`\frac{\alpha}{2}\|w^*\|^2 + c \|w^*\| \le F(0, 0) = \ell(0)`, the smaller of
    :math:`\sqrt{2 \ell(0) / \alpha}` and :math:`\ell(0) / c` (each term alone is below
    :math:`\ell(0)`, the other being non-negative)."""
    bounds = []
    if alpha > 0:
        bounds.append(math.sqrt(2.0 * loss0 / alpha))
    if c > 0:
        bounds.append(loss0 / c)
    return min(bounds)


def check_dro_params(
    ambiguity: Any, radius: Any, theta1: Any, alpha: Any, max_features: Any
) -> tuple[str, float, float, float]:
    """``(ambiguity, radius, theta1, alpha)`` of a DRO linear model, checked (``ValueError``
    naming the parameter and the valid range): ``ambiguity`` in :data:`AMBIGUITIES`, a finite
    ``radius >= 0`` (for ``"cvar"`` the level in ``(0, 1]``), ``theta1 > 1`` for ``"ot-kl"``
    (else ``nan``), ``alpha >= 0`` and ``max_features`` ``None`` or an int ``>= 1``. Shared by
    the classifiers and :class:`~dro_opt.models.regression.DROLinearRegression`."""
    if not isinstance(ambiguity, str) or ambiguity not in AMBIGUITIES:
        raise ValueError(f"ambiguity must be one of {AMBIGUITIES}, got {ambiguity!r}")
    r = _number(radius, "radius")
    if r < 0:
        raise ValueError(f"radius must be >= 0, got {radius!r}")
    if ambiguity == "cvar" and not 0 < r <= 1:
        raise ValueError(f"for ambiguity='cvar' the radius is the CVaR level in (0, 1], got {r!r}")
    th1 = math.nan
    if ambiguity == "ot-kl":
        th1 = _number(theta1, "theta1")
        if not th1 > 1:
            raise ValueError(f"theta1 must be > 1 (theta2 = theta1 / (theta1 - 1)), got {theta1!r}")
    a = _number(alpha, "alpha")
    if a < 0:
        raise ValueError(f"alpha (ridge weight) must be >= 0, got {alpha!r}")
    k = max_features
    if k is not None and (isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1):
        raise ValueError(f"max_features must be None or an int >= 1, got {k!r}")
    return ambiguity, r, th1, a


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what} must be a real number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return v


#: Estimators that live in their own modules (they import this one) but are part of this
#: module's public interface: ``from dro_opt.models.classification import GroupDROClassifier``.
_REEXPORTED = {
    "DROLinearRegression": "dro_opt.models.regression",
    "GroupDROClassifier": "dro_opt.models.group_dro",
    "PerGroupDROClassifier": "dro_opt.models.per_group_dro",
}


def __getattr__(name: str) -> Any:  # PEP 562: resolved on first use, no import cycle
    if name in _REEXPORTED:
        import importlib

        return getattr(importlib.import_module(_REEXPORTED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AMBIGUITIES",
    "DROLinearSVC",
    "DROLogisticRegression",
    "check_dro_params",
    *_REEXPORTED,
]
