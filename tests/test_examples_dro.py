"""Integer newsvendor and cardinality portfolio under every set: optimum equal to enumeration.

For each ambiguity set the example model is solved once through the modelling layer
(``worst_case`` + ``dro_opt.solve``); the reference optimum is computed WITHOUT the rewrite
rules, by enumerating every integer order (newsvendor) or every support set of the portfolio:

* newsvendor, fixed integer ``x``: the set's own ``worst_case_distribution(losses)`` on the
  numpy loss vector (phi-divergences, CVaR; primal and dual must agree), plus for KL and CVaR a
  one-line formula (``min_lam lam r + lam log E_p exp(l / lam)`` by a bounded scalar search;
  Rockafellar-Uryasev over the kinks); for the transport sets (``norm = 1``, support
  ``D >= 0``) the c-transform in closed form,
  ``sup_{D >= 0} l(x, D) - lam ||D - D_i||_1 = max_S b_S(x) - sum_{j in S} min(s_j - v_j, lam)
  D_ij`` (separable, each coordinate goes to ``D_ij`` or to 0), then the one-dimensional dual
  over ``lam`` (Wasserstein: piecewise linear, minimum at ``lam in {0} u {s_j - v_j}``; OT-KL:
  ``min_lam lam r + lam theta2 log E_p exp(l_{lam theta1} / (lam theta2))``, scalar search);
  Wasserstein with the 2-norm and unbounded support: ``mean + r ||s - v||_2``;
* portfolio, each support set ``S`` (``|S| <= k``): a hand-written convex program in ``w_S``
  solved by Clarabel (CVaR: Rockafellar-Uryasev LP; KL: the exponential-cone dual
  ``lam r + tau``, ``sum p u <= lam``, ``ExpCone(l - tau, lam, u)``; Wasserstein, unbounded
  support: ``-mean(R)'w + r ||w||_2``; OT-KL, unbounded support: the dual with
  ``||w||_2 <= lam theta1``).

Checked per set: the enumerated optimum equals dro_opt's certified objective (1e-5 relative),
lies in the certificate ``[lower, upper]`` (1e-6 scale), the bound is reported and below the
optimum, and the status is ``optimal`` only with a certificate gap <= 1e-5.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import warnings
from collections.abc import Callable
from typing import Any

import cvxpy as cp
import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp

from dro_opt.ambiguity import cvar, ot_phi, phi_divergence, wasserstein
from dro_opt.models.newsvendor import NewsvendorInstance, make_newsvendor, robust_newsvendor
from dro_opt.models.portfolio import PortfolioInstance, make_returns, robust_portfolio
from dro_opt.solvers.status import Status

REL = 1e-5  # optimum vs enumeration
CERT = 1e-6  # enumeration inside the certificate
CLARABEL = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10, "max_iter": 400}

PHI_SETS: list[tuple[str, dict[str, float]]] = [
    ("kl", {}),
    ("burg", {}),
    ("j", {}),
    ("chi2-distance", {}),
    ("modified-chi2", {}),
    ("chi2", {}),
    ("hellinger", {}),
    ("chi-m", {"m": 3}),
    ("tv", {}),
    ("cressie-read", {"theta": 0.5}),
    ("cressie-read", {"theta": 2.0}),
]
PHI_RADIUS = 0.2
CVAR_ALPHA = 0.3
W_RADIUS = 0.5
OT_RADIUS, OT_THETA1 = 0.5, 2.0


def check_against_enumeration(result: Any, opt: float) -> None:
    """The three claims of the module docstring for one solve."""
    scale = max(1.0, abs(opt))
    cert = result.certificate
    assert cert is not None and cert.lower is not None and cert.upper is not None
    assert result.bound is not None and math.isfinite(result.bound)
    assert result.bound <= opt + CERT * scale, (result.bound, opt)
    assert cert.lower - CERT * scale <= opt <= cert.upper + CERT * scale, (cert.describe(), opt)
    if result.status is Status.OPTIMAL:
        assert cert.gap is not None and cert.gap <= 1e-5, cert.describe()
    assert result.status is Status.OPTIMAL, (
        result.status,
        result.message,
        result.extra.get("model_objective"),
    )
    assert abs(result.objective - opt) <= REL * scale, (result.objective, opt)


# =========================================================================== newsvendor
@pytest.fixture(scope="module")
def nv() -> NewsvendorInstance:
    """J = 2, N = 12, demand scaled down so the budget 8 leaves few integer orders."""
    base = make_newsvendor(12, 2, seed=3)
    return dataclasses.replace(base, demand=base.demand / 3.0, budget=8.0)


def integer_orders(inst: NewsvendorInstance) -> list[np.ndarray]:
    c, B = inst.cost, inst.budget
    pts = []
    for x1 in range(int(B // c[0]) + 1):
        for x2 in range(int((B - c[0] * x1) // c[1] + 1e-12) + 1):
            pts.append(np.array([x1, x2], dtype=float))
    return pts


def enumerate_min(inst: NewsvendorInstance, value: Callable[[np.ndarray], float]) -> float:
    return min(value(x) for x in integer_orders(inst))


def kl_dual_1d(l: np.ndarray, p: np.ndarray, r: float) -> float:
    """``min_{lam > 0} lam r + lam log sum_i p_i exp(l_i / lam)`` (bounded scalar search)."""

    def f(lam: float) -> float:
        return lam * r + lam * float(logsumexp(l / lam, b=p))

    hi = 10.0 * (l.max() - l.min() + 1.0) / max(r, 1e-3)
    res = minimize_scalar(f, bounds=(1e-9, hi), method="bounded", options={"xatol": 1e-12})
    return min(float(res.fun), float(l.max()))  # lam -> 0 gives max l


def cvar_formula(l: np.ndarray, p: np.ndarray, alpha: float) -> float:
    """Rockafellar-Uryasev ``min_eta eta + E_p (l - eta)_+ / alpha`` over the kinks."""
    return min(eta + p @ np.maximum(l - eta, 0.0) / alpha for eta in l)


def c_transform_l1(inst: NewsvendorInstance, x: np.ndarray, lam: float) -> np.ndarray:
    """``sup_{D >= 0} l(x, D) - lam ||D - D_i||_1`` for every sample (module docstring)."""
    c, s, v, D = inst.cost, inst.price, inst.salvage, inst.demand
    m = s - v
    best = np.full(inst.n_samples, -np.inf)
    for mask in itertools.product((0.0, 1.0), repeat=inst.n_products):
        ind = np.asarray(mask)
        b = (c - s + m * ind) @ x
        best = np.maximum(best, b - D @ (np.minimum(m, lam) * ind))
    return best


def wasserstein_l1_box(inst: NewsvendorInstance, x: np.ndarray, r: float) -> float:
    m = inst.price - inst.salvage
    p = np.full(inst.n_samples, 1.0 / inst.n_samples)
    return min(lam * r + p @ c_transform_l1(inst, x, lam) for lam in [0.0, *m])


def ot_kl_l1_box(inst: NewsvendorInstance, x: np.ndarray, r: float, theta1: float) -> float:
    theta2 = theta1 / (theta1 - 1.0)
    p = np.full(inst.n_samples, 1.0 / inst.n_samples)

    def f(lam: float) -> float:
        z = c_transform_l1(inst, x, lam * theta1)
        s = lam * theta2
        return lam * r + s * float(logsumexp(z / s, b=p))

    hi = 50.0 * float(np.max(inst.price - inst.salvage)) + 10.0
    best = math.inf
    # f is convex in lam with kinks where lam theta1 = s_j - v_j: search each piece separately.
    knots = sorted({1e-9, *((inst.price - inst.salvage) / theta1), hi})
    for lo, up in itertools.pairwise(knots):
        res = minimize_scalar(f, bounds=(lo, up), method="bounded", options={"xatol": 1e-13})
        best = min(best, float(res.fun), f(lo), f(up))
    return min(best, float(c_transform_l1(inst, x, 0.0).max()))  # lam -> 0


@pytest.mark.parametrize(("name", "params"), PHI_SETS, ids=lambda v: str(v))
def test_newsvendor_phi_divergence(nv: NewsvendorInstance, name: str, params: dict) -> None:
    amb = phi_divergence(name, PHI_RADIUS, **params)

    def value(x: np.ndarray) -> float:
        wc = amb.worst_case_distribution(nv.losses(x))
        assert abs(wc.dual_value - wc.value) <= 1e-7 * max(1.0, abs(wc.value))
        return 0.5 * (wc.value + wc.dual_value)

    opt = enumerate_min(nv, value)
    if name == "kl":  # a second, formula-only reference
        p = np.full(nv.n_samples, 1.0 / nv.n_samples)
        opt_kl = enumerate_min(nv, lambda x: kl_dual_1d(nv.losses(x), p, PHI_RADIUS))
        assert abs(opt_kl - opt) <= 1e-7 * max(1.0, abs(opt))
    result, x = robust_newsvendor(nv, amb)
    check_against_enumeration(result, opt)
    assert nv.cost @ x <= nv.budget + 1e-9 and (x >= 0).all() and np.all(x == np.round(x))
    assert abs(value(x) - result.objective) <= REL * max(1.0, abs(opt))


def test_newsvendor_cvar(nv: NewsvendorInstance) -> None:
    amb = cvar(CVAR_ALPHA)
    p = np.full(nv.n_samples, 1.0 / nv.n_samples)
    opt = enumerate_min(nv, lambda x: cvar_formula(nv.losses(x), p, CVAR_ALPHA))
    opt_set = enumerate_min(nv, lambda x: amb.worst_case(nv.losses(x))[0])
    assert abs(opt_set - opt) <= 1e-9 * max(1.0, abs(opt))
    result, _ = robust_newsvendor(nv, amb)
    check_against_enumeration(result, opt)


def test_newsvendor_wasserstein_box_support(nv: NewsvendorInstance) -> None:
    """Type-1 Wasserstein, ||.||_1 cost, demand support D >= 0 (closed-form c-transform)."""
    opt = enumerate_min(nv, lambda x: wasserstein_l1_box(nv, x, W_RADIUS))
    result, x = robust_newsvendor(nv, wasserstein(W_RADIUS, norm=1))
    check_against_enumeration(result, opt)
    assert abs(wasserstein_l1_box(nv, x, W_RADIUS) - result.objective) <= REL * max(1, abs(opt))


def test_newsvendor_wasserstein_unbounded_support(nv: NewsvendorInstance) -> None:
    """||.||_2 cost, support R^2: the worst case is the mean plus r ||s - v||_2 (a constant)."""
    lip = float(np.linalg.norm(nv.price - nv.salvage))
    opt = enumerate_min(nv, lambda x: float(nv.losses(x).mean()) + W_RADIUS * lip)
    result, _ = robust_newsvendor(nv, wasserstein(W_RADIUS, norm=2), nonnegative_demand=False)
    check_against_enumeration(result, opt)


def test_newsvendor_ot_kl_box_support(nv: NewsvendorInstance) -> None:
    """Joint OT-KL ball (paper 002 Def. 5.1), ||.||_1 cost, support D >= 0."""
    opt = enumerate_min(nv, lambda x: ot_kl_l1_box(nv, x, OT_RADIUS, OT_THETA1))
    result, _ = robust_newsvendor(nv, ot_phi(OT_RADIUS, OT_THETA1, phi="kl", norm=1))
    check_against_enumeration(result, opt)


# =========================================================================== portfolio
K = 2


@pytest.fixture(scope="module")
def pf() -> PortfolioInstance:
    """J = 5 assets, N = 15 samples (returns in percent), caps 0.7 (one asset is not enough)."""
    base = make_returns(15, 5, seed=4)
    return dataclasses.replace(base, upper=np.full(5, 0.7))


def support_sets(inst: PortfolioInstance) -> list[tuple[int, ...]]:
    J = inst.n_assets
    out = []
    for size in range(1, K + 1):
        for S in itertools.combinations(range(J), size):
            if inst.upper[list(S)].sum() >= 1.0 - 1e-12:  # else sum w = 1 is infeasible
                out.append(S)
    return out


def best_over_supports(
    inst: PortfolioInstance, program: Callable[[cp.Expression, cp.Expression], tuple[Any, list]]
) -> float:
    """``min_S min_{w_S}`` of the hand-written program ``program(w, losses) -> (obj, rows)``."""
    best = math.inf
    for S in support_sets(inst):
        w = cp.Variable(len(S), nonneg=True)
        losses = -(inst.returns[:, list(S)] @ w)
        obj, rows = program(w, losses)
        rows += [cp.sum(w) == 1, w <= inst.upper[list(S)]]
        prob = cp.Problem(cp.Minimize(obj), rows)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # 'inaccurate': re-solved below
            prob.solve(solver=cp.CLARABEL, **CLARABEL)
        if prob.status != cp.OPTIMAL:  # the tight settings can stall: Clarabel's defaults (1e-8)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                prob.solve(solver=cp.CLARABEL)
        assert prob.status == cp.OPTIMAL, prob.status
        best = min(best, float(prob.value))
    return best


def test_portfolio_cvar(pf: PortfolioInstance) -> None:
    def program(w: cp.Expression, l: cp.Expression) -> tuple[Any, list]:
        eta = cp.Variable()
        return eta + cp.sum(cp.pos(l - eta)) / (pf.n_samples * CVAR_ALPHA), []

    opt = best_over_supports(pf, program)
    result, w, b = robust_portfolio(pf, cvar(CVAR_ALPHA), K)
    check_against_enumeration(result, opt)
    assert b.sum() <= K and np.all(w <= pf.upper * b + 1e-9) and abs(w.sum() - 1) <= 1e-8
    p = np.full(pf.n_samples, 1.0 / pf.n_samples)
    value = cvar_formula(pf.losses(w), p, CVAR_ALPHA)
    assert abs(value - result.objective) <= REL * max(1.0, abs(opt))


def test_portfolio_kl(pf: PortfolioInstance) -> None:
    r = PHI_RADIUS
    n = pf.n_samples

    def program(w: cp.Expression, l: cp.Expression) -> tuple[Any, list]:
        lam, tau, u = cp.Variable(nonneg=True), cp.Variable(), cp.Variable(n)
        rows = [cp.constraints.ExpCone(l - tau, lam * np.ones(n), u), cp.sum(u) / n <= lam]
        return lam * r + tau, rows

    opt = best_over_supports(pf, program)
    result, w, b = robust_portfolio(pf, phi_divergence("kl", r), K)
    check_against_enumeration(result, opt)
    assert b.sum() <= K
    p = np.full(n, 1.0 / n)
    assert abs(kl_dual_1d(pf.losses(w), p, r) - result.objective) <= REL * max(1.0, abs(opt))


def test_portfolio_wasserstein(pf: PortfolioInstance) -> None:
    mean = pf.returns.mean(axis=0)

    def program(w: cp.Expression, l: cp.Expression) -> tuple[Any, list]:
        return cp.sum(l) / pf.n_samples + W_RADIUS * cp.norm(w, 2), []

    opt = best_over_supports(pf, program)
    result, w, _ = robust_portfolio(pf, wasserstein(W_RADIUS, norm=2), K)
    check_against_enumeration(result, opt)
    assert abs(-mean @ w + W_RADIUS * np.linalg.norm(w) - result.objective) <= REL * max(
        1.0, abs(opt)
    )


def test_portfolio_ot_kl(pf: PortfolioInstance) -> None:
    r, th1 = OT_RADIUS, OT_THETA1
    th2 = th1 / (th1 - 1.0)
    n = pf.n_samples

    def program(w: cp.Expression, l: cp.Expression) -> tuple[Any, list]:
        lam, tau, u = cp.Variable(nonneg=True), cp.Variable(), cp.Variable(n)
        rows = [
            cp.norm(w, 2) <= th1 * lam,
            cp.constraints.ExpCone(l - tau, th2 * lam * np.ones(n), u),
            cp.sum(u) / n <= th2 * lam,
        ]
        return lam * r + tau, rows

    opt = best_over_supports(pf, program)
    result, _, b = robust_portfolio(pf, ot_phi(r, th1, phi="kl", norm=2), K)
    check_against_enumeration(result, opt)
    assert b.sum() <= K


# =========================================================================== data and limits
def test_generators_are_seeded_and_valid() -> None:
    a, b = make_newsvendor(30, 3, seed=7), make_newsvendor(30, 3, seed=7)
    assert np.array_equal(a.demand, b.demand) and np.array_equal(a.price, b.price)
    assert (a.demand >= 0).all() and (a.salvage < a.cost).all() and (a.cost < a.price).all()
    r1, r2 = make_returns(30, 4, seed=7), make_returns(30, 4, seed=8)
    assert r1.returns.shape == (30, 4) and not np.array_equal(r1.returns, r2.returns)


def test_transport_sets_limited_to_few_products() -> None:
    from dro_opt.errors import InstanceError
    from dro_opt.models.newsvendor import MAX_TRANSPORT_PRODUCTS

    inst = make_newsvendor(5, MAX_TRANSPORT_PRODUCTS + 1, seed=0)
    with pytest.raises(InstanceError, match="2\\^J"):
        robust_newsvendor(inst, wasserstein(0.1, norm=1))
