r"""Group DRO over a finite family of groups, with calibration and mixture weights (paper 000).

:class:`GroupDROClassifier` fits a linear classifier :math:`f(x) = w'x + b` by the calibrated
finite-family DRO problem of paper 000 eq. (3) with :math:`\mathcal{Q} = \{P_1, \dots, P_K\}`
the empirical distributions of the groups,

.. math::

    \min_{w, b} \; \max_k \; R_k(w, b) - r_k, \qquad
    R_k(w, b) = \frac{1}{n_k} \sum_{i \in k} \ell(y_i (w' x_i + b)) + \frac{\alpha}{2} \|w\|_2^2,

written exactly in the epigraph form of paper 000 eq. (4),
:math:`\min_{w, b, L} L + \frac{\alpha}{2}\|w\|^2` subject to
:math:`\bar\ell_k(w, b) - r_k \le L` for every group (one bulk cvxpy model, group means through a
sparse averaging matrix, no loop over samples), solved and certified by :func:`dro_opt.solve`.
Losses of the margin :math:`m = y (w'x + b)` (labels coded :math:`\pm 1`): ``"logistic"``
:math:`\log(1 + e^{-m})`, ``"hinge"`` :math:`\max(1 - m, 0)`, ``"squared"`` :math:`(1 - m)^2`
(:math:`= (y - f(x))^2`).

Calibration (paper 000 Section 3.1 after eq. (3)): ``"none"`` is :math:`r_k = 0`; ``"min-risk"``
is :math:`r_k = \min_{w, b} R_k(w, b)`, each group's own regularised ERM optimum (its certified
value, one :func:`dro_opt.solve` per group); an array gives :math:`r_k` directly.

Mixture weights (paper 000 Appendix A): the Lagrangian of (4) is
:math:`L + \sum_k \lambda_k (R_k - r_k - L)`; its dual is
:math:`\max_{\lambda \in \Delta_K} \min_{w,b} \sum_k \lambda_k R_k(w, b) - \sum_k \lambda_k r_k`,
i.e. ERM on the mixture :math:`\sum_k \lambda_k P_k`. ``mixture_weights_`` are the optimal
multipliers :math:`\lambda_k` of the epigraph rows (read from the conic dual of the same model
solved by cvxpy's Clarabel interface, since the canonical import keeps no per-constraint duals).
By strong duality of this convex program and paper 000 Theorems 1 and 3, the mixture ERM
:meth:`GroupDROClassifier.reweighted_erm` with these weights has the DRO solution among its
minimisers (the only one when the weighted objective is strictly convex, e.g. ``alpha > 0`` and
the logistic or squared loss) and its value minus :math:`\sum_k \lambda_k r_k` is the DRO
optimum. Complementary slackness: only groups attaining the max get weight.

For the smooth losses (logistic, squared) both the DRO fit and :meth:`reweighted_erm` end with
Newton's method on their optimality conditions (:mod:`dro_opt.models.group_dro_polish`), kept
only at a verified KKT point: the interior-point stop at a 1e-8 gap left the squared-loss
parameters up to 1.6e-5 off; polished, the two fits agree to about 1e-11 (measured).

Paper 000 Algorithm 1 (Lagrangian DRO for models given only through a loss-and-gradient
callable) is :func:`dro_opt.models.lagrangian_dro.lagrangian_dro`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

import dro_opt
from dro_opt.errors import DroOptError, ParameterError
from dro_opt.solvers import SolveOptions

from .classification import _number
from .group_dro_polish import polish_group_dro, polish_weighted_erm, signed_design

#: Losses of the margin accepted by :class:`GroupDROClassifier`.
GROUP_LOSSES = ("logistic", "hinge", "squared")
#: Clarabel settings of every solve (passed as ``SolveOptions.extra`` to :func:`dro_opt.solve`
#: and to cvxpy for the multipliers): the mixture ERM is sensitive to the weights (measured:
#: default tolerances gave weights 2e-6 off and a mixture-ERM intercept 5e-5 off the DRO
#: solution).
TIGHT: dict[str, float] = {
    "tol_gap_abs": 1e-11,
    "tol_gap_rel": 1e-11,
    "tol_feas": 1e-11,
    "tol_ktratio": 1e-9,
    "max_iter": 400,
}
#: The fallback when Clarabel reaches only reduced accuracy at :data:`TIGHT`.
MEDIUM: dict[str, float] = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}
#: Calibration names (an array of r_k is accepted too).
CALIBRATIONS = ("none", "min-risk")


@dataclass(frozen=True)
class GroupData:
    """Checked training data: signed labels, group codes and the group averaging matrix."""

    X: np.ndarray
    ypm: np.ndarray  # labels coded -1 / +1 (+1 = classes_[1])
    codes: np.ndarray  # group index 0..K-1 of every sample
    group_names: np.ndarray  # the K distinct group labels (sorted)
    averaging: sp.csr_matrix  # (K, n), row k = 1/n_k on the samples of group k
    counts: np.ndarray  # (K,) samples per group


def check_groups(
    est: Any, X: Any, y: Any, groups: Any, *, min_groups: int = 1, single_class: bool = False
) -> GroupData:
    """Validate ``X, y, groups`` for the group estimators (sets ``classes_``, ``n_features_in_``).

    ``groups=None`` puts every sample in one group (what scikit-learn's generic checks call).
    Raises ``ValueError`` (:class:`~dro_opt.errors.ParameterError`) for groups not matching
    ``X``, non-finite data, labels not of two classes, or a group with one class only (unless
    ``single_class``: groups defined by the label, as in paper 001 Appendix E).
    """
    X, y = validate_data(est, X, y, dtype=np.float64)
    check_classification_targets(y)
    classes = np.unique(y)
    name = type(est).__name__
    if classes.size != 2:
        if classes.size > 2:
            raise ValueError(
                f"Only binary classification is supported: {name} needs labels of exactly two "
                f"classes, got {classes.size} (use sklearn.multiclass.OneVsRestClassifier)"
            )
        raise ValueError(
            f"{name} needs samples of two classes; got one class only ({classes[0]!r}): a "
            "classifier can't train when only one class is present"
        )
    n = X.shape[0]
    if groups is None:
        g = np.zeros(n, dtype=int)
    else:
        g = np.asarray(groups)
        if g.ndim != 1 or g.shape[0] != n:
            raise ParameterError(
                f"groups must be a 1-d array with one group label per row of X ({n} rows), got "
                f"shape {g.shape}; pass fit(X, y, groups=g) with len(g) == len(X)"
            )
        if g.dtype.kind == "f" and not np.isfinite(g).all():
            raise ParameterError("groups contains NaN or inf; give every sample a group label")
    names, codes = np.unique(g, return_inverse=True)
    if names.size < min_groups:
        raise ParameterError(f"{name} needs at least {min_groups} groups, got {names.size}")
    ypm = np.where(y == classes[1], 1.0, -1.0)
    counts = np.bincount(codes, minlength=names.size)
    pos = np.bincount(codes, weights=(ypm > 0).astype(float), minlength=names.size)
    bad = np.flatnonzero((pos == 0) | (pos == counts))
    if bad.size and groups is not None and not single_class:
        k = int(bad[0])
        raise ParameterError(
            f"group {names[k]!r} has samples of one class only ({int(counts[k])} samples); "
            "merge it with another group or add samples of the other class, or pass "
            "single_class_groups=True if the groups are meant to hold one class each"
        )
    averaging = sp.csr_matrix((1.0 / counts[codes], (codes, np.arange(n))), shape=(names.size, n))
    est.classes_ = classes
    return GroupData(X, ypm, codes, names, averaging, counts)


def margin_losses(loss: str, margin: cp.Expression) -> cp.Expression:
    """Per-sample loss of the margin as a DCP-convex cvxpy expression."""
    if loss == "hinge":
        return cp.pos(1 - margin)
    if loss == "logistic":
        return cp.logistic(-margin)
    return cp.square(1 - margin)


def margin_losses_np(loss: str, margin: np.ndarray) -> np.ndarray:
    """The same losses in numpy (exact re-evaluation)."""
    if loss == "hinge":
        return np.maximum(1.0 - margin, 0.0)
    if loss == "logistic":
        return np.logaddexp(0.0, -margin)
    return (1.0 - margin) ** 2


def linear_margin(data: GroupData, w: cp.Variable, b: Any) -> cp.Expression:
    """The margins of the training data (:func:`signed_margin`)."""
    return signed_margin(data.X, data.ypm, w, b)


def signed_margin(X: np.ndarray, ypm: np.ndarray, w: cp.Variable, b: Any) -> cp.Expression:
    """``y_i (w'x_i + b)`` written on the signed samples ``y_i x_i`` (as the DRO classifiers
    do: that form is imported correctly by :mod:`dro_opt.conic.from_cvxpy`)."""
    return (ypm[:, None] * X) @ w + ypm * b


def check_alpha(value: Any) -> float:
    a = _number(value, "alpha")
    if a < 0:
        raise ParameterError(f"alpha (ridge weight) must be >= 0, got {value!r}")
    return a


def solve_certified(est: Any, problem: cp.Problem, solver: str | None) -> Any:
    """:func:`dro_opt.solve` at :data:`TIGHT`, then :data:`MEDIUM`, then default Clarabel
    tolerances, keeping the first certified solve (Clarabel reports no bound when it reaches
    only reduced accuracy), else the first with a solution; the estimators' error wording."""
    try:
        res, fallback = None, None
        for level in (TIGHT, MEDIUM, None):  # tight interior-point tolerances first
            try:
                res = _solve_at(problem, solver, level)
            except ParameterError:  # the chosen solver (HiGHS for LPs, ...) has other settings
                res = None
                continue
            if res.bound is not None and res.status.value == "optimal":
                break
            if fallback is None and res.objective is not None:
                fallback = level  # reduced accuracy only (no bound there): go on
        else:
            if (res is None or res.objective is None) and fallback is not None:
                res = _solve_at(problem, solver, fallback)  # its values back on the variables
        if res is None:
            res = dro_opt.solve(problem, solver=solver)
    except DroOptError as exc:
        raise RuntimeError(f"{type(est).__name__}: the solve failed: {exc}") from exc
    if res.objective is None or any(v.value is None for v in problem.variables()):
        raise RuntimeError(
            f"{type(est).__name__}: the solver returned no solution (status "
            f"{res.status.value}: {res.message})"
        )
    return res


def certificate_of(res: Any, exact: float) -> tuple[float | None, float | None, str]:
    """``(lower, gap, status)`` of a minimisation whose decision has the exact value ``exact``.

    ``lower`` = the solver's proven bound widened by ``|solver objective - exact|`` (the
    ``solver_tolerance`` line of :func:`dro_opt.solve`, here against the exact re-evaluation of
    the estimator's objective rather than the epigraph variable), capped at ``exact``; ``status``
    ``"optimal"`` only when the solve was and the relative gap is within ``1e-6``.
    """
    bound = res.bound
    model = res.extra.get("model_objective")
    if bound is None or model is None or not np.isfinite(bound):
        return None, None, "feasible"
    lower = min(float(bound) - abs(float(model) - exact), exact)
    gap = (exact - lower) / max(1.0, abs(exact))
    ok = res.status.value == "optimal" and gap <= 1e-6
    return lower, gap, "optimal" if ok else "feasible"


def _solve_at(problem: cp.Problem, solver: str | None, level: dict[str, float] | None) -> Any:
    """:func:`dro_opt.solve` with the given Clarabel settings (``None``: the defaults)."""
    if level is None:
        return dro_opt.solve(problem, solver=solver)
    return dro_opt.solve(problem, solver=solver, options=SolveOptions(extra=level))


class _LinearGroupClassifier(ClassifierMixin, BaseEstimator):
    """decision_function / predict shared by the group estimators."""

    def decision_function(self, X: Any) -> np.ndarray:
        """``X w + b`` (positive: ``classes_[1]``)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_[0] + self.intercept_[0]

    def predict(self, X: Any) -> np.ndarray:
        """``classes_[1]`` where the decision function is positive, else ``classes_[0]``."""
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Logistic model probabilities (meaningful for ``loss="logistic"``)."""
        p1 = expit(self.decision_function(X))
        return np.column_stack([1.0 - p1, p1])

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


class GroupDROClassifier(_LinearGroupClassifier):
    r"""Calibrated group DRO linear classifier (paper 000 eqs. (3)-(4); module docstring).

    Parameters
    ----------
    loss : ``"logistic"``, ``"hinge"`` or ``"squared"``.
    alpha : ridge weight ``>= 0`` of :math:`\frac{\alpha}{2}\|w\|_2^2` (in every :math:`R_k`).
    calibration : ``"none"`` (:math:`r_k = 0`), ``"min-risk"`` (:math:`r_k = \min R_k`), or an
        array of one :math:`r_k` per group in the order of ``classes_groups_``.
    fit_intercept : fit ``b`` (else ``b = 0``).
    solver : backend name for :func:`dro_opt.solve` (``None``: the registry's choice).
    single_class_groups : allow groups holding one class only (off by default: usually a
        mistake; with it ``"min-risk"`` is refused, that risk's infimum is not attained).

    Attributes
    ----------
    classes_ : (2,) labels; ``classes_[1]`` is coded ``+1``.
    classes_groups_ : (K,) the sorted distinct group labels.
    coef_, intercept_ : the fitted ``w`` (shape (1, d)) and ``b`` (shape (1,)).
    calibration_ : (K,) the :math:`r_k` used.
    group_risks_ : (K,) :math:`R_k(w, b)` at the fitted point (mean loss + ridge), exact.
    robust_objective_ : :math:`\max_k R_k(w, b) - r_k` at the fitted point, exact.
    lower_bound_, gap_, status_ : the certificate of :func:`dro_opt.solve` (proven lower bound
        of the optimum, relative gap, ``"optimal"`` only when proven).
    mixture_weights_ : (K,) the epigraph multipliers :math:`\lambda_k \ge 0`,
        :math:`\sum_k \lambda_k = 1` (paper 000 Appendix A).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 2)); y = (X[:, 0] > 0).astype(int); g = np.arange(40) % 2
    >>> clf = GroupDROClassifier("logistic", alpha=0.1).fit(X, y, groups=g)
    >>> bool(abs(clf.mixture_weights_.sum() - 1) < 1e-6)
    True
    """

    def __init__(
        self,
        loss: str = "logistic",
        alpha: float = 0.0,
        calibration: Any = "none",
        fit_intercept: bool = True,
        solver: str | None = None,
        single_class_groups: bool = False,
    ) -> None:
        self.loss = loss
        self.alpha = alpha
        self.calibration = calibration
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.single_class_groups = single_class_groups

    def _check_params(self) -> float:
        if not isinstance(self.loss, str) or self.loss not in GROUP_LOSSES:
            raise ParameterError(f"loss must be one of {GROUP_LOSSES}, got {self.loss!r}")
        cal = self.calibration
        if isinstance(cal, str) and cal not in CALIBRATIONS:
            raise ParameterError(
                f"calibration must be one of {CALIBRATIONS} or an array of one r_k per group, "
                f"got {cal!r}"
            )
        return check_alpha(self.alpha)

    def fit(self, X: Any, y: Any, groups: Any = None) -> GroupDROClassifier:
        """Fit by the epigraph model (module docstring); ``groups`` one label per row of ``X``
        (``None``: one group, i.e. regularised ERM)."""
        a = self._check_params()
        single = bool(self.single_class_groups)
        if single and isinstance(self.calibration, str) and self.calibration == "min-risk":
            raise ParameterError(
                "calibration='min-risk' needs both classes in every group (the own risk of a "
                "one-class group has infimum 0, not attained); use single_class_groups=False"
            )
        data = check_groups(self, X, y, groups, single_class=single)
        self._data = data
        K = data.group_names.size
        r = self._calibration(data, a)
        d = data.X.shape[1]
        w = cp.Variable(d, name="w")
        b: Any = cp.Variable(name="b") if self.fit_intercept else cp.Constant(0.0)
        L = cp.Variable(name="L")
        means = data.averaging @ margin_losses(self.loss, linear_margin(data, w, b))
        epigraph = means - r <= L
        obj = L + 0.5 * a * cp.sum_squares(w) if a > 0 else L
        problem = cp.Problem(cp.Minimize(obj), [epigraph])
        res = solve_certified(self, problem, self.solver)
        coef = np.asarray(w.value, dtype=float)
        icpt = float(b.value) if self.fit_intercept else 0.0
        lam = self._multipliers(problem, epigraph, K)
        Z = signed_design(data.X, data.ypm, self.fit_intercept)
        theta = np.append(coef, icpt) if self.fit_intercept else coef
        polished = polish_group_dro(
            self.loss, Z, data.codes, data.counts, r, a, d, theta, lam
        )  # smooth losses: the KKT point to machine precision (models/group_dro_polish.py)
        if polished is not None:
            coef, lam = polished.theta[:d], polished.weights
            icpt = float(polished.theta[d]) if self.fit_intercept else 0.0
        self.coef_ = coef.reshape(1, d)
        self.intercept_ = np.array([icpt])
        self.classes_groups_ = data.group_names
        self.calibration_ = r
        self.group_risks_ = self._group_risks(data, self.coef_[0], self.intercept_[0], a)
        self.robust_objective_ = float(np.max(self.group_risks_ - r))
        self.lower_bound_, self.gap_, self.status_ = certificate_of(res, self.robust_objective_)
        self.mixture_weights_ = lam
        return self

    # ------------------------------------------------------------------ pieces
    def _calibration(self, data: GroupData, a: float) -> np.ndarray:
        K = data.group_names.size
        cal = self.calibration
        if isinstance(cal, str):
            if cal == "none":
                return np.zeros(K)
            return np.array([self._own_min_risk(data, k, a) for k in range(K)])
        try:
            r = np.asarray(cal, dtype=float).ravel()
        except (TypeError, ValueError):
            raise ParameterError("calibration must be 'none', 'min-risk' or numbers") from None
        if r.size != K or not np.isfinite(r).all():
            raise ParameterError(
                f"calibration has {r.size} values for {K} groups (in the order of "
                "classes_groups_); give one finite r_k per group"
            )
        return r

    def _own_min_risk(self, data: GroupData, k: int, a: float) -> float:
        """:math:`\\min_{w,b} R_k(w, b)` of group ``k`` alone (certified value)."""
        rows = data.codes == k
        w = cp.Variable(data.X.shape[1])
        b: Any = cp.Variable() if self.fit_intercept else cp.Constant(0.0)
        margin = signed_margin(data.X[rows], data.ypm[rows], w, b)
        obj = cp.sum(margin_losses(self.loss, margin)) / int(rows.sum())
        if a > 0:
            obj = obj + 0.5 * a * cp.sum_squares(w)
        res = solve_certified(self, cp.Problem(cp.Minimize(obj), []), self.solver)
        return float(res.objective)

    def _group_risks(self, data: GroupData, w: np.ndarray, b: float, a: float) -> np.ndarray:
        margin = data.ypm * (data.X @ w + b)
        return data.averaging @ margin_losses_np(self.loss, margin) + 0.5 * a * float(w @ w)

    def _multipliers(self, problem: cp.Problem, epigraph: Any, K: int) -> np.ndarray:
        """Optimal multipliers of the epigraph rows (the conic dual of the same model through
        cvxpy's Clarabel interface), clipped at 0 and normalised (stationarity in ``L`` gives
        :math:`\\sum_k \\lambda_k = 1` up to the solver tolerance)."""
        try:
            with warnings.catch_warnings():  # "solution may be inaccurate": checked below
                warnings.simplefilter("ignore", UserWarning)
                problem.solve(solver=cp.CLARABEL, **TIGHT)
                if problem.status != cp.OPTIMAL:  # tight tolerances not reached: defaults
                    problem.solve(solver=cp.CLARABEL)
        except cp.error.SolverError as exc:
            raise RuntimeError(
                f"{type(self).__name__}: the dual solve for the mixture weights failed: {exc}"
            ) from exc
        lam = epigraph.dual_value
        if lam is None:
            raise RuntimeError(
                f"{type(self).__name__}: no multipliers of the epigraph rows (status "
                f"{problem.status})"
            )
        lam = np.maximum(np.asarray(lam, dtype=float).ravel(), 0.0)
        return lam / lam.sum()

    # ------------------------------------------------------------------ mixture ERM
    def reweighted_erm(
        self, weights: Any, X: Any = None, y: Any = None, groups: Any = None
    ) -> WeightedERM:
        r"""Weighted ERM on the mixture :math:`\sum_k \lambda_k P_k` (paper 000 Appendix A):
        :math:`\min_{w,b} \sum_k \lambda_k R_k(w, b)` on the training data (or the given
        ``X, y, groups``, same groups), certified by :func:`dro_opt.solve`.

        ``value`` is the mixture risk, ``calibrated_value`` that minus
        :math:`\sum_k \lambda_k r_k` (the Lagrangian dual value :math:`D(\lambda)`, a lower bound
        of the calibrated DRO optimum, equal to it at the optimal multipliers).
        """
        check_is_fitted(self)
        a = check_alpha(self.alpha)
        if X is None:
            data = self._data
        else:
            data = check_groups(
                _Scratch(), X, y, groups, single_class=bool(self.single_class_groups)
            )
            if not np.array_equal(data.group_names, self.classes_groups_):
                raise ParameterError(
                    "the groups of X do not match classes_groups_ of the fit; pass the same groups"
                )
        K = data.group_names.size
        try:
            lam = np.asarray(weights, dtype=float).ravel()
        except (TypeError, ValueError):
            raise ParameterError("weights must be an array of one number per group") from None
        if lam.size != K or not np.isfinite(lam).all() or (lam < 0).any() or lam.sum() <= 0:
            raise ParameterError(
                f"weights must be {K} finite non-negative numbers with a positive sum (one per "
                "group, in the order of classes_groups_)"
            )
        lam = lam / lam.sum()
        d = data.X.shape[1]
        w = cp.Variable(d, name="w")
        b: Any = cp.Variable(name="b") if self.fit_intercept else cp.Constant(0.0)
        sample_w = lam[data.codes] / data.counts[data.codes]
        losses = margin_losses(self.loss, linear_margin(data, w, b))
        obj = sample_w @ losses
        if a > 0:
            obj = obj + 0.5 * a * cp.sum_squares(w)
        res = solve_certified(self, cp.Problem(cp.Minimize(obj), []), self.solver)
        coef = np.asarray(w.value, dtype=float)
        icpt = float(b.value) if self.fit_intercept else 0.0
        Z = signed_design(data.X, data.ypm, self.fit_intercept)
        theta = np.append(coef, icpt) if self.fit_intercept else coef
        polished = polish_weighted_erm(self.loss, Z, sample_w, a, d, theta)
        if polished is not None:  # smooth losses: Newton to a stationary point
            coef = polished.theta[:d]
            icpt = float(polished.theta[d]) if self.fit_intercept else 0.0
        risks = self._group_risks(data, coef, icpt, a)
        value = float(lam @ risks)
        return WeightedERM(
            coef.reshape(1, d),
            np.array([icpt]),
            lam,
            value,
            value - float(lam @ self.calibration_),
            risks,
            res.status.value,
        )


@dataclass(frozen=True)
class WeightedERM:
    """Result of :meth:`GroupDROClassifier.reweighted_erm`."""

    coef: np.ndarray  # (1, d)
    intercept: np.ndarray  # (1,)
    weights: np.ndarray  # (K,) normalised mixture weights
    value: float  # sum_k lambda_k R_k at the solution (exact re-evaluation)
    calibrated_value: float  # value - sum_k lambda_k r_k = D(lambda)
    group_risks: np.ndarray  # (K,) R_k at the solution
    status: str


class _Scratch(BaseEstimator):
    """Receiver of the attributes ``check_groups`` sets when re-checking data."""


__all__ = ["CALIBRATIONS", "GROUP_LOSSES", "GroupDROClassifier", "WeightedERM", "check_groups"]
