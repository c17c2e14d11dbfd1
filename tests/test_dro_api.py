"""The modelling API ``dro_opt.dro.worst_case`` + ``dro_opt.solve(cvxpy.Problem)``, as used.

Oracles are independent of the rewrite rules: the ambiguity sets' own primal/dual worst cases
(tests/test_ambiguity_*.py check those against each other) and enumeration of integer decisions.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

import dro_opt
from dro_opt.ambiguity import cvar, ot_phi, phi_divergence, wasserstein
from dro_opt.dro import PiecewiseAffineLoss, worst_case, worst_case_distribution
from dro_opt.errors import LossError, ParameterError
from dro_opt.solvers.status import Status

SETS = [
    ("kl", {}),
    ("burg", {}),
    ("j", {}),
    ("chi2-distance", {}),
    ("modified-chi2", {}),
    ("chi2", {}),
    ("hellinger", {}),
    ("chi-m", {"m": 3.0}),
    ("tv", {}),
    ("cressie-read", {"theta": 0.5}),
    ("cressie-read", {"theta": 2.0}),
]


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(b))


@pytest.mark.parametrize(("name", "params"), SETS, ids=[f"{n}{p}" for n, p in SETS])
def test_minimising_t_gives_the_worst_case(name: str, params: dict) -> None:
    rng = np.random.default_rng(3)
    losses = rng.normal(size=12)
    U = phi_divergence(name, 0.3, **params)
    x = cp.Variable()  # a dummy decision: the loss is constant
    t, cons = worst_case(losses + 0 * x, U)
    assert t.shape == ()
    res = dro_opt.solve(cp.Problem(cp.Minimize(t), cons))
    value, _ = U.worst_case(losses)
    assert res.status is Status.OPTIMAL, res.message
    assert _rel(res.objective, value) < 1e-6
    assert res.certificate is not None and res.certificate.contains(value, tol=1e-7)
    wc = worst_case_distribution(t)
    assert abs(wc.probabilities.sum() - 1) < 1e-9
    assert _rel(float(wc.probabilities @ losses), value) < 1e-6


def test_cvar_robust_newsvendor_like_integer_decision_matches_enumeration() -> None:
    rng = np.random.default_rng(0)
    demand = rng.integers(0, 9, size=15).astype(float)
    U = cvar(0.2)
    x = cp.Variable(integer=True, name="order")
    loss = 2.0 * cp.pos(demand - x) + 1.0 * cp.pos(x - demand)  # underage 2, overage 1
    t, cons = worst_case(loss, U)
    res = dro_opt.solve(cp.Problem(cp.Minimize(t), [*cons, x >= 0, x <= 10]))
    enum = [
        U.worst_case(2.0 * np.maximum(demand - k, 0) + np.maximum(k - demand, 0))[0]
        for k in range(11)
    ]
    assert res.status is Status.OPTIMAL
    assert _rel(res.objective, min(enum)) < 1e-6
    assert float(x.value) == float(np.argmin(enum)) or _rel(enum[int(x.value)], min(enum)) < 1e-9
    assert res.certificate.contains(min(enum), tol=1e-7)
    assert res.gap is not None and res.gap < 1e-5


def test_kl_with_binaries_goes_to_scip_and_matches_enumeration() -> None:
    # choose 2 of 4 items; loss per scenario is convex in the choice; KL ball (binary + exp cone)
    rng = np.random.default_rng(1)
    R = rng.normal(1.0, 1.0, size=(10, 4))
    U = phi_divergence("kl", 0.1)
    b = cp.Variable(4, boolean=True, name="pick")
    loss = -R @ b
    t, cons = worst_case(loss, U)
    res = dro_opt.solve(cp.Problem(cp.Minimize(t), [*cons, cp.sum(b) == 2]))
    import itertools

    best = min(
        U.worst_case(-R @ np.isin(np.arange(4), c).astype(float))[0]
        for c in itertools.combinations(range(4), 2)
    )
    assert res.solver == "scip"
    assert res.status is Status.OPTIMAL
    assert _rel(res.objective, best) < 1e-5
    assert res.certificate.contains(best, tol=1e-6)


def test_wasserstein_max_affine_matches_closed_form() -> None:
    # unbounded support, norm cost: sup = eps * max_k ||a_k||_* + mean_i max_k(a_k' xi_i + b_k)
    rng = np.random.default_rng(2)
    xi = rng.normal(size=(8, 2))
    x = cp.Variable(2, name="x")
    loss = PiecewiseAffineLoss(xi, [(x, 0.0), (-x, 0.5)])
    eps = 0.2
    t, cons = worst_case(loss, wasserstein(eps, norm=2))
    res = dro_opt.solve(cp.Problem(cp.Minimize(t), [*cons, cp.sum(x) == 1]))
    xv = x.value
    closed = eps * np.linalg.norm(xv) + np.mean(np.maximum(xi @ xv, -(xi @ xv) + 0.5))
    assert res.status is Status.OPTIMAL
    assert _rel(res.objective, closed) < 1e-6
    wc = worst_case_distribution(t)
    assert wc.atoms is not None and wc.atoms.shape[1] == 2


def test_ot_phi_needs_a_piecewise_affine_loss() -> None:
    x = cp.Variable(3)
    with pytest.raises(LossError, match="PiecewiseAffineLoss"):
        worst_case(cp.square(x), ot_phi(0.1, 2.0))
    with pytest.raises(LossError, match="PiecewiseAffineLoss"):
        worst_case(x, wasserstein(0.1))


def test_robust_constraint_is_certified() -> None:
    # maximise the mean order subject to a worst-case (chi2) shortfall limit
    rng = np.random.default_rng(4)
    d = rng.uniform(1, 5, size=20)
    x = cp.Variable(name="x")
    t, cons = worst_case(cp.pos(x - d), phi_divergence("chi2", 0.5))
    res = dro_opt.solve(cp.Problem(cp.Maximize(x), [*cons, t <= 1.0]))
    assert res.status is Status.OPTIMAL
    U = phi_divergence("chi2", 0.5)
    assert U.worst_case(np.maximum(x.value - d, 0))[0] <= 1.0 + 1e-6
    assert res.certificate.lower is not None and res.certificate.upper is not None


# ------------------------------------------------------------------------------ bad input
def test_non_convex_loss_is_a_clear_error() -> None:
    x = cp.Variable(5, nonneg=True)
    with pytest.raises(LossError, match="DCP-convex"):
        worst_case(cp.sqrt(x), phi_divergence("kl", 0.1))


def test_loss_of_wrong_shape_or_nan() -> None:
    x = cp.Variable((3, 2))
    with pytest.raises(LossError, match=r"shape \(N,\)"):
        worst_case(x, phi_divergence("kl", 0.1))
    with pytest.raises(LossError, match="NaN"):
        worst_case(np.array([1.0, np.nan]), cvar(0.5))


@pytest.mark.parametrize("radius", [-1.0, float("nan"), float("inf")])
def test_bad_radius(radius: float) -> None:
    with pytest.raises(ParameterError, match="radius"):
        phi_divergence("kl", radius)
    with pytest.raises(ParameterError, match="radius"):
        wasserstein(radius)


def test_unknown_set_name_lists_the_valid_ones() -> None:
    with pytest.raises(ParameterError, match="kl"):
        phi_divergence("kullback", 0.1)


def test_bad_weights() -> None:
    x = cp.Variable(3)
    with pytest.raises(ParameterError, match="non-negative"):
        worst_case(x, phi_divergence("kl", 0.1), weights=[0.5, 0.7, -0.2])
    with pytest.raises(ParameterError, match="sum to 1"):
        worst_case(x, phi_divergence("kl", 0.1), weights=[0.5, 0.5, 0.5])


def test_ambiguity_must_be_a_set() -> None:
    with pytest.raises(ParameterError, match=r"dro_opt\.ambiguity"):
        worst_case(cp.Variable(3), "kl")


def test_scale_changes_conditioning_not_the_answer() -> None:
    rng = np.random.default_rng(5)
    d = rng.poisson(20, size=40).astype(float)
    x = cp.Variable(name="x")
    values = []
    for scale in (None, 100.0):
        t, cons = worst_case(3 * x - 5 * cp.minimum(x, d), phi_divergence("kl", 0.1), scale=scale)
        res = dro_opt.solve(cp.Problem(cp.Minimize(t), [*cons, x >= 0, x <= 40]))
        assert res.status is Status.OPTIMAL
        values.append(res.objective)
    assert _rel(values[0], values[1]) < 1e-6
    with pytest.raises(ParameterError, match="scale"):
        worst_case(x - d, cvar(0.5), scale=-1.0)


def test_user_exp_cone_constraints_are_checked_without_a_solver_call() -> None:
    # cvxpy's own ExpCone.violation() projects with a solver (it picked an unlicensed MOSEK);
    # the certificate measures exp and power cones in closed form.
    x, y = cp.Variable(name="x"), cp.Variable(name="y")
    cons = [
        cp.constraints.ExpCone(x, cp.Constant(1.0), y),  # y >= exp(x)
        cp.constraints.PowCone3D(y, cp.Constant(1.0), x, 0.5),  # sqrt(y) >= |x|
        x >= 0.5,
    ]
    res = dro_opt.solve(cp.Problem(cp.Minimize(y), cons))
    assert res.status is Status.OPTIMAL
    assert _rel(res.objective, float(np.exp(0.5))) < 1e-6
    line = next(ln for ln in res.certificate.lines if ln.name == "constraint_violation")
    assert line.value is not None and line.value < 1e-6
