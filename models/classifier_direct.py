r"""Certified dense DRO classifier fits without cvxpy (issue 12): :func:`fit_direct`.

Picks the program for ``(loss, ambiguity, n)`` -- the linearly separable shortcut
(:func:`_separated_fit`), the screened programs of :mod:`dro_opt.models.classifier_screening`
for large hinge fits, or the full program of :mod:`dro_opt.models.classifier_conic` -- and
certifies the returned decision by the rules of :func:`dro_opt.dro.solve.solve_cvxpy`
(``docs/conventions.md``): ``upper`` is the exact objective of the decision with the worst case
re-evaluated on the full data (:func:`~dro_opt.models.classifier_conic.exact_objective`),
``lower`` is Clarabel's dual bound of the solved program (the exact conic model or a valid
under-estimator of it) widened by ``|solver objective - upper|``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dro_opt.certify import Certificate, CertificateLine
from dro_opt.models import classifier_screening as scr
from dro_opt.models.classifier_conic import Options, exact_objective, solve_rows

#: Relative gap under which a Clarabel ``Solved`` fit is reported ``"optimal"`` (as
#: :func:`dro_opt.dro.solve.solve_cvxpy` with its default tolerance).
OPTIMAL_GAP = 1e-5


@dataclass
class DirectFit:
    """A certified dense fit: ``objective`` the exact value of ``(coef, intercept)``."""

    coef: np.ndarray
    intercept: float
    objective: float
    lower: float | None
    gap: float | None
    status: str
    weights: np.ndarray | None


def fit_direct(
    loss: str,
    amb: str,
    r: float,
    X: np.ndarray,
    ypm: np.ndarray,
    *,
    alpha: float = 0.0,
    norm_penalty: float = 0.0,
    fit_intercept: bool = True,
    q_norm: float = 2.0,
    time_limit: float | None = None,
) -> DirectFit | None:
    """Solve the dense model ``(loss, amb)`` of :data:`DIRECT_MODELS` (module docstring) with
    Clarabel and certify it; ``None`` when Clarabel returns no usable solution.

    ``q_norm`` is the dual exponent of the Wasserstein feature cost ``||x - x'||_p``
    (``1/p + 1/q = 1``); ``r = 0`` is ERM for every ball. Hinge ERM / Wasserstein fits with
    more than :data:`SCREEN_MIN_SAMPLES` samples are solved by margin screening
    (:func:`_screened`)."""
    n = X.shape[0]
    if r == 0.0:
        amb = "erm"
    opts = Options(loss, amb, r, alpha, norm_penalty, fit_intercept, q_norm, time_limit)
    if _may_separate(amb, alpha, norm_penalty, X.shape):
        separated = _separated_fit(loss, amb, r, X, ypm, fit_intercept)
        if separated is not None:
            return separated

    slope = (r if amb == "wasserstein" else 0.0) + norm_penalty + alpha
    if loss == "hinge" and amb in ("erm", "wasserstein") and n > scr.SCREEN_MIN_SAMPLES and slope:
        solved = scr.screened_hinge(opts, X, ypm)
    elif loss == "hinge" and amb == "chi2" and n > scr.CHI2_SCREEN_MIN_SAMPLES:
        solved = scr.screened_chi2(opts, X, ypm)
    else:
        solved = solve_rows(opts, ypm[:, None] * X, ypm, np.ones(n), n)
    if solved is None:
        return None
    margins = ypm * (X @ solved.coef + solved.intercept)
    upper, weights = exact_objective(
        loss, amb, r, margins, solved.coef, alpha=alpha, norm_penalty=norm_penalty, q_norm=q_norm
    )
    dual = solved.dual
    cert = Certificate.for_sense(
        "min",
        upper,
        dual if dual is not None and math.isfinite(dual) else None,
        [CertificateLine("solver_tolerance", abs(solved.model_objective - upper), True)],
        bound_note="Clarabel's dual objective of the exact conic model (or of its screened "
        "under-estimator)",
    )
    gap = cert.gap
    if solved.status == "Solved":
        fit_status = "optimal" if gap is not None and gap <= OPTIMAL_GAP else "feasible"
    else:
        fit_status = "time_limit" if solved.status == "MaxTime" else "feasible"
    return DirectFit(solved.coef, solved.intercept, upper, cert.lower, gap, fit_status, weights)


def _may_separate(amb: str, alpha: float, norm_penalty: float, shape: tuple[int, int]) -> bool:
    """Whether :func:`_separated_fit` is tried: no regulariser, a reweighting ball, and at
    most ``2 (d + 1)`` samples (Cover 1965: beyond the capacity of a linear classifier with
    intercept, generic data are rarely separable, so the LP would mostly be wasted)."""
    n, d = shape
    return amb in ("erm", "chi2", "kl") and alpha == 0 and norm_penalty == 0 and n <= 2 * (d + 1)


def _separated_fit(
    loss: str, amb: str, r: float, X: np.ndarray, ypm: np.ndarray, fit_intercept: bool
) -> DirectFit | None:
    r"""Linearly separable training data (``None`` when they are not): with no regulariser
    and a ball of distributions on the training points (ERM, chi-square, KL), the optimum is
    0. The worst-case expected loss is :math:`\ge 0` (the losses are), and a separator with
    margins :math:`m_i \ge 1` (the LP :math:`y_i (w'x_i + b) \ge 1`, HiGHS) has hinge loss 0
    on every point, so every reweighting has value 0: optimal. For the logistic loss the
    infimum 0 is not attained; ``t (w, b)`` with every margin :math:`\ge 23` has every loss
    :math:`\le \log(1 + e^{-23}) \approx 1e{-10}`, hence worst case within that of 0. The
    certificate: ``lower = 0``, ``upper`` the exact value at the returned point."""
    from scipy.optimize import linprog

    n, d = X.shape
    Xs = ypm[:, None] * X
    rows = np.hstack([Xs, ypm[:, None]]) if fit_intercept else Xs
    res = linprog(
        np.zeros(rows.shape[1]),
        A_ub=-rows,
        b_ub=-np.ones(n),
        bounds=[(None, None)] * rows.shape[1],
        method="highs",
    )
    if res.status != 0 or res.x is None:
        return None
    coef = np.asarray(res.x[:d], dtype=float)
    intercept = float(res.x[d]) if fit_intercept else 0.0
    low = float(np.min(Xs @ coef + ypm * intercept))
    if not low > 0:
        return None
    scale = (1.0 if loss == "hinge" else 23.0) / low
    coef, intercept = scale * coef, scale * intercept
    margins = Xs @ coef + ypm * intercept
    upper, weights = exact_objective(loss, amb, r, margins, coef)
    gap = max(0.0, upper) / max(1.0, abs(upper))
    return DirectFit(
        coef, intercept, upper, 0.0, gap, "optimal" if gap <= OPTIMAL_GAP else "feasible", weights
    )
