r"""Multi-product robust newsvendor with integer order quantities and a budget.

Model
-----
Products ``j = 1..J`` with unit cost ``c_j``, selling price ``s_j > c_j`` and salvage value
``v_j < c_j``; demand samples ``D_i in R^J_+`` (``i = 1..N``, nominal weights ``p``). The order
``x in Z^J_+`` must satisfy the budget ``c' x <= B``. The loss of sample ``i`` is the negative
profit

.. math::

    l_i(x) = \sum_j \big[ c_j x_j - s_j \min(x_j, D_{ij}) - v_j (x_j - D_{ij})_+ \big]
           = \sum_j \big[ (c_j - s_j) x_j + (s_j - v_j) (x_j - D_{ij})_+ \big],

using ``min(x, D) = x - (x - D)_+``. As ``s_j > v_j`` it is convex piecewise-linear in ``x``.
The robust newsvendor is

.. math::

    \min_{x \in \mathbb{Z}^J_+,\ c'x \le B} \ \sup_{P \in \mathcal{U}} E_P[\, l(x, D) \,].

How the loss reaches the ambiguity set
--------------------------------------
* Reweighting sets (``phi_divergence``, ``cvar``) take the ``(N,)`` cvxpy expression above
  (:func:`newsvendor_loss`), vectorised over the samples.
* Sets that move the samples (``wasserstein``, ``ot_phi``) need the loss as a maximum of
  functions affine in the demand vector (:class:`~dro_opt.dro.PiecewiseAffineLoss`). Per product
  the loss is ``max((c_j - s_j) x_j, (c_j - v_j) x_j - (s_j - v_j) D_j)``, two pieces affine in
  ``D_j``; the SUM over products of these maxima is ONE maximum over the ``2^J`` choices
  ``S`` of the products whose second piece is active (:func:`newsvendor_pieces`):

  .. math::

      l(x, D) = \max_{S \subseteq \{1..J\}} \; -\sum_{j \in S} (s_j - v_j) D_j
                + \sum_j \big(c_j - s_j + [j \in S] (s_j - v_j)\big) x_j .

  This is exact -- no per-product separation, which would give each product its own transport
  budget and over-state the worst case -- but the piece count grows as ``2^J``, so the moving
  sets are restricted to ``J <= MAX_TRANSPORT_PRODUCTS`` (an
  :class:`~dro_opt.errors.InstanceError` otherwise). The slopes ``a_S`` do not depend on ``x``.
  The demand support is the box ``D >= 0`` (``nonnegative_demand=True``, the default): with an
  unbounded support the type-1 Wasserstein worst case is the sample-mean loss plus the constant
  ``radius * max_S ||a_S||_* = radius * ||s - v||_*`` (the dual of Mohajerin Esfahani & Kuhn
  2018, Thm 4.2, with the support ``R^J`` forces ``lam >= max_S ||a_S||_*``), so the robust order
  would be the sample-average one.

References
----------
* Mohajerin Esfahani, P. and Kuhn, D. (2018). Data-driven distributionally robust optimization
  using the Wasserstein metric. Math. Program. 171, 115-166 (Sec. 4).
* Ben-Tal, A., den Hertog, D., De Waegenaere, A., Melenberg, B. and Rennen, G. (2013). Robust
  solutions of optimization problems affected by uncertain probabilities. Manag. Sci. 59(2).
* Paper 002 (phi-divergence and joint OT-phi balls), Def. 3.2, Def. 5.1, Thm 5.5 / 5.8.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np

import dro_opt
from dro_opt.dro import PiecewiseAffineLoss, worst_case
from dro_opt.errors import InstanceError
from dro_opt.solvers.result import Result

#: Largest number of products for the sets that move the samples (``2^J`` affine pieces).
MAX_TRANSPORT_PRODUCTS = 6


@dataclass(frozen=True)
class NewsvendorInstance:
    """Data of the multi-product newsvendor (module docstring).

    Attributes
    ----------
    cost : (J,) unit costs ``c_j > 0``.
    price : (J,) selling prices ``s_j > c_j``.
    salvage : (J,) salvage values ``0 <= v_j < c_j``.
    demand : (N, J) demand samples ``D_ij >= 0``.
    budget : ``B >= 0``, the order budget ``c' x <= B``.
    weights : (N,) nominal probabilities, or ``None`` for uniform ``1/N``.
    """

    cost: np.ndarray
    price: np.ndarray
    salvage: np.ndarray
    demand: np.ndarray
    budget: float
    weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        c = np.asarray(self.cost, dtype=float).ravel()
        s = np.asarray(self.price, dtype=float).ravel()
        v = np.asarray(self.salvage, dtype=float).ravel()
        D = np.asarray(self.demand, dtype=float)
        if D.ndim != 2 or D.shape[0] == 0 or D.shape[1] == 0:
            raise InstanceError(f"demand must be an (N, J) array, got shape {D.shape}")
        J = D.shape[1]
        if not (c.size == s.size == v.size == J):
            raise InstanceError(
                f"cost, price and salvage need one entry per product ({J}), got "
                f"{c.size}, {s.size}, {v.size}"
            )
        arrays = (c, s, v, D)
        if not all(np.isfinite(a).all() for a in arrays):
            raise InstanceError("newsvendor data must be finite")
        if (c <= 0).any() or (s <= c).any() or (v < 0).any() or (v >= c).any():
            raise InstanceError("need 0 <= salvage < cost < price for every product")
        if (D < 0).any():
            raise InstanceError("demand samples must be non-negative")
        if not (np.isfinite(self.budget) and self.budget >= 0):
            raise InstanceError(f"budget must be finite and >= 0, got {self.budget!r}")
        object.__setattr__(self, "cost", c)
        object.__setattr__(self, "price", s)
        object.__setattr__(self, "salvage", v)
        object.__setattr__(self, "demand", D)
        object.__setattr__(self, "budget", float(self.budget))
        if self.weights is not None:
            w = np.asarray(self.weights, dtype=float).ravel()
            if w.size != D.shape[0]:
                raise InstanceError(f"{w.size} weights for {D.shape[0]} demand samples")
            object.__setattr__(self, "weights", w)

    @property
    def n_samples(self) -> int:
        return int(self.demand.shape[0])

    @property
    def n_products(self) -> int:
        return int(self.demand.shape[1])

    def losses(self, x: Any) -> np.ndarray:
        """``(N,)`` numpy losses ``l_i(x)`` (negative profits) of the order ``x``."""
        xv = np.asarray(x, dtype=float).ravel()
        over = np.maximum(xv[None, :] - self.demand, 0.0)
        return (self.cost - self.price) @ xv + over @ (self.price - self.salvage)


def make_newsvendor(
    n_samples: int, n_products: int, seed: int = 0, *, budget_fraction: float = 0.5
) -> NewsvendorInstance:
    """A random newsvendor instance (reproducible from ``seed``).

    Distributions (``U`` uniform, independent unless said):

    * cost ``c_j ~ U[1, 2]``; price ``s_j = c_j (1 + m_j)`` with margin ``m_j ~ U[0.5, 1.5]``;
      salvage ``v_j = c_j f_j`` with ``f_j ~ U[0.1, 0.5]``;
    * mean demand ``mu_j ~ U[5, 15]``; demand ``D_ij = mu_j exp(0.5 Z_ij - 0.125)`` (log-normal
      with mean ``mu_j``, coefficient of variation about 0.53), ``Z_ij = sqrt(0.3) F_i +
      sqrt(0.7) E_ij`` with ``F_i, E_ij ~ N(0, 1)`` (a common market factor, correlation 0.3);
    * budget ``B = budget_fraction * sum_j c_j mu_j`` (the default 0.5 makes it bind).

    Parameters
    ----------
    n_samples, n_products : ``N >= 1`` and ``J >= 1``.
    seed : seed of ``numpy.random.default_rng``.
    budget_fraction : ``B`` as a fraction of the cost of ordering the mean demand.
    """
    if n_samples < 1 or n_products < 1:
        raise InstanceError("need n_samples >= 1 and n_products >= 1")
    rng = np.random.default_rng(seed)
    c = rng.uniform(1.0, 2.0, n_products)
    s = c * (1.0 + rng.uniform(0.5, 1.5, n_products))
    v = c * rng.uniform(0.1, 0.5, n_products)
    mu = rng.uniform(5.0, 15.0, n_products)
    z = np.sqrt(0.3) * rng.standard_normal((n_samples, 1)) + np.sqrt(0.7) * rng.standard_normal(
        (n_samples, n_products)
    )
    D = mu[None, :] * np.exp(0.5 * z - 0.125)
    return NewsvendorInstance(c, s, v, D, budget=budget_fraction * float(c @ mu))


# --------------------------------------------------------------------------- losses
def newsvendor_loss(instance: NewsvendorInstance, x: cp.Expression) -> cp.Expression:
    """The ``(N,)`` cvxpy loss ``l_i(x) = (c - s)' x + sum_j (s_j - v_j) (x_j - D_ij)_+``."""
    N, J = instance.demand.shape
    X = np.ones((N, 1)) @ cp.reshape(x, (1, J), order="C")
    over = cp.pos(X - instance.demand)
    return over @ (instance.price - instance.salvage) + (instance.cost - instance.price) @ x


def newsvendor_pieces(
    instance: NewsvendorInstance, x: cp.Expression
) -> list[tuple[np.ndarray, cp.Expression]]:
    """The ``2^J`` pieces ``(a_S, b_S(x))`` of ``l(x, D) = max_S a_S' D + b_S(x)``.

    ``a_S = -(s - v) 1_S`` and ``b_S(x) = sum_j (c_j - s_j + [j in S] (s_j - v_j)) x_j``
    (module docstring); ``S`` runs over the subsets of the products in binary order.
    """
    J = instance.n_products
    if J > MAX_TRANSPORT_PRODUCTS:
        raise InstanceError(
            f"the exact max-affine newsvendor loss has 2^J = {2**J} pieces; sets that move the "
            f"samples are limited to J <= {MAX_TRANSPORT_PRODUCTS} products here (use a "
            "phi-divergence or CVaR set, which take the per-sample loss directly)"
        )
    margin = instance.price - instance.salvage
    pieces = []
    for mask in itertools.product((0.0, 1.0), repeat=J):
        ind = np.asarray(mask)
        pieces.append((-margin * ind, (instance.cost - instance.price + margin * ind) @ x))
    return pieces


def newsvendor_transport_loss(
    instance: NewsvendorInstance, x: cp.Expression, *, nonnegative_demand: bool = True
) -> PiecewiseAffineLoss:
    """The loss as a :class:`PiecewiseAffineLoss` in the demand vector (support ``D >= 0``)."""
    support = (0.0, np.inf) if nonnegative_demand else None
    return PiecewiseAffineLoss(instance.demand, newsvendor_pieces(instance, x), support=support)


# --------------------------------------------------------------------------- model
@dataclass
class NewsvendorModel:
    """The built cvxpy model: ``problem`` = ``min t`` over the robust rows, budget, integrality.

    Attributes
    ----------
    problem : the ``cvxpy.Problem``.
    x : order quantities (``cvxpy.Variable`` of shape ``(J,)``, integer unless relaxed).
    t : the worst-case expected loss (the variable returned by ``worst_case``; pass it to
        :func:`dro_opt.dro.worst_case_distribution` after the solve).
    loss : the loss given to ``worst_case`` (cvxpy expression or ``PiecewiseAffineLoss``).
    """

    problem: cp.Problem
    x: cp.Variable
    t: cp.Variable
    loss: Any


def build_newsvendor(
    instance: NewsvendorInstance,
    ambiguity: Any,
    *,
    integer: bool = True,
    nonnegative_demand: bool = True,
) -> NewsvendorModel:
    """Build ``min_x sup_{P in ambiguity} E_P[l(x, D)]`` s.t. ``c'x <= B``, ``x in Z^J_+``.

    Parameters
    ----------
    instance : the data.
    ambiguity : a set from :mod:`dro_opt.ambiguity`.
    integer : integer orders (``False``: the continuous relaxation ``x >= 0``).
    nonnegative_demand : for sets that move the samples, the support ``D >= 0`` (else ``R^J``).
    """
    x = cp.Variable(instance.n_products, integer=integer, nonneg=not integer, name="order")
    if getattr(ambiguity, "moves_samples", False):
        loss: Any = newsvendor_transport_loss(instance, x, nonnegative_demand=nonnegative_demand)
    else:
        loss = newsvendor_loss(instance, x)
    t, rows = worst_case(loss, ambiguity, instance.weights, name="worst_case_loss")
    cons = [*rows, instance.cost @ x <= instance.budget]
    if integer:
        cons.append(x >= 0)
    return NewsvendorModel(cp.Problem(cp.Minimize(t), cons), x, t, loss)


def robust_newsvendor(
    instance: NewsvendorInstance,
    ambiguity: Any,
    *,
    solver: str | None = None,
    time_limit: float | None = None,
    gap: float | None = 1e-6,
    integer: bool = True,
    nonnegative_demand: bool = True,
) -> tuple[Result, np.ndarray]:
    """Solve the robust newsvendor through :func:`dro_opt.solve` (certified).

    Parameters
    ----------
    instance, ambiguity, integer, nonnegative_demand : as in :func:`build_newsvendor`.
    solver : a dro_opt backend name (default: the registry's choice -- HiGHS for the linear
        sets, SCIP for the conic ones with integer orders, Clarabel when relaxed).
    time_limit, gap : solver limits (``gap`` relative; the status is ``optimal`` only when the
        certificate proves it).

    Returns
    -------
    result : :class:`~dro_opt.solvers.result.Result`; ``objective`` is the certified worst-case
        expected loss (negative profit) of the returned order, ``bound`` the proven bound,
        ``certificate`` the sandwich ``lower <= OPT <= upper``.
    x : (J,) the order (integers when ``integer``), or NaNs when no solution was found.
    """
    model = build_newsvendor(
        instance, ambiguity, integer=integer, nonnegative_demand=nonnegative_demand
    )
    result = dro_opt.solve(model.problem, solver=solver, time_limit=time_limit, gap=gap)
    value = model.x.value
    x = np.full(instance.n_products, np.nan) if value is None else np.asarray(value, float)
    if integer and value is not None:
        x = np.round(x)
    return result, x
