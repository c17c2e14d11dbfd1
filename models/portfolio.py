r"""Robust portfolio selection with a cardinality limit (binary asset choices).

Model
-----
Assets ``j = 1..J`` with return samples ``R_i in R^J`` (``i = 1..N``, nominal weights ``p``);
portfolio weights ``w``, asset choices ``b`` (binary), at most ``k`` assets held:

.. math::

    \min_{w, b} \ \sup_{P \in \mathcal{U}} E_P[\, -R' w \,]
    \quad \text{s.t.} \quad w \ge 0,\ \mathbf{1}' w = 1,\ w_j \le u_j b_j,\
    \mathbf{1}' b \le k,\ b \in \{0, 1\}^J .

The loss ``l(w, R) = -R' w`` (the portfolio's loss) is affine in the uncertain return vector:

* reweighting sets (``phi_divergence``, ``cvar``) take the ``(N,)`` cvxpy vector ``-R w``. Under
  ``cvar(alpha)`` the objective is ``CVaR_alpha`` of the loss (Rockafellar & Uryasev 2000), the
  mean-risk classic; under ``phi_divergence("kl", r)`` it is the KL worst-case mean, i.e.
  ``min_{lam > 0} lam r + lam log E_p exp(-R'w / lam)`` (Hu & Hong 2013), an entropic risk with
  a data-driven risk aversion;
* sets that move the samples (``wasserstein``, ``ot_phi``) take
  ``PiecewiseAffineLoss(R, [(-w, 0)])`` (one piece). With the unbounded support ``R^J`` the
  type-1 Wasserstein worst case has the closed form ``-mean_p(R)' w + radius * ||w||_*`` (the
  dual norm of the transport norm: the dual of Mohajerin Esfahani & Kuhn 2018, Thm 4.2, with the
  support ``R^J`` has ``lam = ||w||_*``): a mean / norm trade-off.

References
----------
* Mohajerin Esfahani, P. and Kuhn, D. (2018). Data-driven distributionally robust optimization
  using the Wasserstein metric. Math. Program. 171, 115-166 (Sec. 7.1, mean-risk portfolio).
* Rockafellar, R. T. and Uryasev, S. (2000). Optimization of conditional value-at-risk.
  J. Risk 2(3), 21-41.
* Hu, Z. and Hong, L. J. (2013). Kullback-Leibler divergence constrained distributionally robust
  optimization. Optimization Online.
* Bertsimas, D. and Shioda, R. (2009). Algorithm for cardinality-constrained quadratic
  optimization. Comput. Optim. Appl. 43, 1-22 (the cardinality constraint ``w_j <= u_j b_j``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np

import dro_opt
from dro_opt.dro import PiecewiseAffineLoss, worst_case
from dro_opt.errors import InstanceError
from dro_opt.solvers.result import Result


@dataclass(frozen=True)
class PortfolioInstance:
    """Return samples and per-asset weight caps.

    Attributes
    ----------
    returns : (N, J) return samples ``R_ij`` (finite).
    upper : (J,) caps ``0 < u_j <= 1`` (``w_j <= u_j b_j``); ``None`` for ``u = 1``.
    weights : (N,) nominal probabilities, or ``None`` for uniform ``1/N``.
    """

    returns: np.ndarray
    upper: np.ndarray | None = None
    weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        R = np.asarray(self.returns, dtype=float)
        if R.ndim != 2 or R.shape[0] == 0 or R.shape[1] == 0:
            raise InstanceError(f"returns must be an (N, J) array, got shape {R.shape}")
        if not np.isfinite(R).all():
            raise InstanceError("returns must be finite")
        object.__setattr__(self, "returns", R)
        u = np.ones(R.shape[1]) if self.upper is None else np.asarray(self.upper, float).ravel()
        if u.size != R.shape[1] or not np.isfinite(u).all() or (u <= 0).any() or (u > 1).any():
            raise InstanceError(f"upper must hold {R.shape[1]} caps in (0, 1]")
        object.__setattr__(self, "upper", u)
        if self.weights is not None:
            w = np.asarray(self.weights, dtype=float).ravel()
            if w.size != R.shape[0]:
                raise InstanceError(f"{w.size} weights for {R.shape[0]} return samples")
            object.__setattr__(self, "weights", w)

    @property
    def n_samples(self) -> int:
        return int(self.returns.shape[0])

    @property
    def n_assets(self) -> int:
        return int(self.returns.shape[1])

    def losses(self, w: Any) -> np.ndarray:
        """``(N,)`` numpy losses ``-R_i' w``."""
        return -self.returns @ np.asarray(w, dtype=float).ravel()


def make_returns(n_samples: int, n_assets: int, seed: int = 0) -> PortfolioInstance:
    """Random returns IN PERCENT from a one-factor model with fat tails (seeded).

    ``R_ij = mu_j + beta_j F_i + sigma_j E_ij`` with, for ``j = 0..J-1`` and ``q = j / (J - 1)``
    (``q = 0`` when ``J = 1``): mean ``mu_j = 0.2 + 0.8 q`` (riskier assets earn more),
    factor loading ``beta_j = 0.5 + q``, idiosyncratic scale ``sigma_j = 1 + 3 q``; the market
    factor ``F_i ~ 2 N(0, 1)`` and ``E_ij`` independent Student-t with 4 degrees of freedom
    scaled to unit variance. Caps ``u = 1``. (Percent units keep the losses of order one, so
    absolute solver tolerances of 1e-8 are small relative to them.)
    """
    if n_samples < 1 or n_assets < 1:
        raise InstanceError("need n_samples >= 1 and n_assets >= 1")
    rng = np.random.default_rng(seed)
    q = np.arange(n_assets) / max(n_assets - 1, 1)
    mu = 0.2 + 0.8 * q
    beta = 0.5 + q
    sigma = 1.0 + 3.0 * q
    F = 2.0 * rng.standard_normal((n_samples, 1))
    E = rng.standard_t(4, (n_samples, n_assets)) / np.sqrt(2.0)
    return PortfolioInstance(mu[None, :] + F * beta[None, :] + E * sigma[None, :])


@dataclass
class PortfolioModel:
    """The built cvxpy model (``problem`` = ``min t`` over the robust rows and the portfolio rows).

    Attributes
    ----------
    problem : the ``cvxpy.Problem``.
    w : weights (``cvxpy.Variable`` of shape ``(J,)``).
    b : asset choices (boolean ``cvxpy.Variable``, or a continuous one in ``[0, 1]`` if relaxed).
    t : the worst-case expected loss (the variable returned by ``worst_case``).
    loss : the loss given to ``worst_case``.
    """

    problem: cp.Problem
    w: cp.Variable
    b: cp.Variable
    t: cp.Variable
    loss: Any


def build_portfolio(
    instance: PortfolioInstance, ambiguity: Any, k: int, *, integer: bool = True
) -> PortfolioModel:
    """Build the cardinality-constrained robust portfolio (module docstring).

    Parameters
    ----------
    instance : the data.
    ambiguity : a set from :mod:`dro_opt.ambiguity`.
    k : the largest number of assets held, ``1 <= k``.
    integer : binary ``b`` (``False``: the relaxation ``0 <= b <= 1``).
    """
    J = instance.n_assets
    if not (1 <= int(k)):
        raise InstanceError(f"the cardinality k must be >= 1, got {k!r}")
    w = cp.Variable(J, name="weights")
    b = cp.Variable(J, boolean=True, name="chosen") if integer else cp.Variable(J, name="chosen")
    if getattr(ambiguity, "moves_samples", False):
        loss: Any = PiecewiseAffineLoss(instance.returns, [(-w, 0.0)])
    else:
        loss = -(instance.returns @ w)
    t, rows = worst_case(loss, ambiguity, instance.weights, name="worst_case_loss")
    cons = [*rows, w >= 0, cp.sum(w) == 1, w <= cp.multiply(instance.upper, b), cp.sum(b) <= k]
    if not integer:
        cons += [b >= 0, b <= 1]
    return PortfolioModel(cp.Problem(cp.Minimize(t), cons), w, b, t, loss)


def robust_portfolio(
    instance: PortfolioInstance,
    ambiguity: Any,
    k: int,
    *,
    solver: str | None = None,
    time_limit: float | None = None,
    gap: float | None = 1e-6,
    integer: bool = True,
) -> tuple[Result, np.ndarray, np.ndarray]:
    """Solve the robust portfolio through :func:`dro_opt.solve` (certified).

    Returns
    -------
    result : :class:`~dro_opt.solvers.result.Result` (``objective`` = certified worst-case
        expected loss of the returned portfolio, ``bound`` = proven bound).
    w : (J,) the weights (NaNs when no solution was found).
    b : (J,) the asset choices (0/1 when ``integer``).
    """
    model = build_portfolio(instance, ambiguity, k, integer=integer)
    result = dro_opt.solve(model.problem, solver=solver, time_limit=time_limit, gap=gap)
    J = instance.n_assets
    w = np.full(J, np.nan) if model.w.value is None else np.asarray(model.w.value, float)
    b = np.full(J, np.nan) if model.b.value is None else np.asarray(model.b.value, float)
    if integer and model.b.value is not None:
        b = np.round(b)
    return result, w, b
