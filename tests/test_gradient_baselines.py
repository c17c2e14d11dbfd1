"""Gradient baselines (paper 003 Sec. 5, App. J): projections against cvxpy, PGA / TT-GAD against
independent cvxpy optima of small concave problems, exact re-evaluation, seeds, bad input."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from dro_opt.algorithms.gradient_baselines import (
    exact_objective,
    project_box_budget,
    project_chi2_ball,
    projected_gradient_ascent,
    two_time_scale_gda,
)
from dro_opt.ambiguity import phi_divergence
from dro_opt.errors import ParameterError

SOLVER = "CLARABEL"


@pytest.mark.parametrize("seed", range(6))
def test_box_budget_projection_matches_cvxpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    M = 5
    x = rng.normal(scale=2.0, size=M)
    lo = rng.uniform(-0.5, 0.0, size=M)
    hi = lo + rng.uniform(0.5, 2.0, size=M)
    budget = float(lo.sum() + rng.uniform(0.1, 2.0))
    z = project_box_budget(x, lo, hi, budget)
    v = cp.Variable(M)
    cons = [v >= lo, v <= hi, cp.sum(v) <= budget]
    cp.Problem(cp.Minimize(cp.sum_squares(v - x)), cons).solve(solver=SOLVER)
    assert np.abs(z - v.value).max() < 1e-6
    assert z.sum() <= budget + 1e-12 and (z >= lo).all() and (z <= hi).all()


@pytest.mark.parametrize("seed", range(6))
def test_chi2_ball_projection_matches_cvxpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    N = 25
    p = rng.uniform(0.2, 1.0, size=N)
    p /= p.sum()
    x = p + rng.normal(scale=0.08, size=N)
    radius = float(rng.choice([0.01, 0.1, 2.0]))
    P = project_chi2_ball(x, p, radius)
    V = cp.Variable(N)
    cons = [V >= 0, cp.sum(V) == 1, cp.sum(cp.multiply(1 / (2 * p), cp.square(V - p))) <= radius]
    cp.Problem(cp.Minimize(cp.sum_squares(V - x)), cons).solve(solver=SOLVER)
    assert np.abs(P - V.value).max() < 1e-5
    assert (P >= 0).all() and abs(P.sum() - 1) < 1e-12
    assert ((P - p) ** 2 / (2 * p)).sum() <= radius * (1 + 1e-9)


def test_chi2_ball_projection_keeps_zero_weight_atoms_at_zero() -> None:
    p = np.array([0.5, 0.0, 0.5])
    P = project_chi2_ball(np.array([0.1, 5.0, 0.2]), p, 0.3)
    assert P[1] == 0.0 and abs(P.sum() - 1) < 1e-12
    assert np.array_equal(project_chi2_ball(np.array([1.0, 0, 0]), p, 0.0), p)


# ----------------------------------------------------------------- small concave problems
def _linear(N: int, M: int, seed: int):
    """f_i(z) = a_i'z + b_i: (VR) is concave (mean linear, std a norm)."""
    rng = np.random.default_rng(seed)
    A, b = rng.normal(size=(N, M)), rng.normal(size=N)

    def vj(z: np.ndarray):
        return A @ z + b, A

    return A, b, vj


def _quadratic(N: int, M: int, seed: int):
    """f_i(z) = c_i'z - ||z - a_i||^2: concave per sample, so chi2 DRO is concave."""
    rng = np.random.default_rng(seed)
    A, C = rng.normal(size=(N, M)), rng.normal(size=(N, M))

    def vj(z: np.ndarray):
        return (C * z).sum(1) - ((z - A) ** 2).sum(1), C - 2.0 * (z - A)

    return A, C, vj


def _variance_oracle(A, b, q, lo, hi, budget, rho) -> float:
    n = q.sum()
    p = q / n
    z = cp.Variable(A.shape[1])
    f = A @ z + b
    mean = p @ f
    std = cp.norm(cp.multiply(np.sqrt(p), f - mean))
    prob = cp.Problem(
        cp.Maximize(mean - np.sqrt(2 * rho / n) * std), [z >= lo, z <= hi, cp.sum(z) <= budget]
    )
    prob.solve(solver=SOLVER)
    return float(prob.value)


def _chi2_oracle(A, C, q, lo, hi, budget, rho) -> float:
    n = q.sum()
    p, r = q / n, rho / n
    z, eta = cp.Variable(A.shape[1]), cp.Variable()
    u = cp.Variable(q.size, nonneg=True)
    f = C @ z - cp.hstack([cp.sum_squares(z - A[i]) for i in range(q.size)])
    prob = cp.Problem(
        cp.Maximize(eta - np.sqrt(1 + 2 * r) * cp.norm(cp.multiply(np.sqrt(p), u))),
        [u >= eta - f, z >= lo, z <= hi, cp.sum(z) <= budget],
    )
    prob.solve(solver=SOLVER)
    return float(prob.value)


@pytest.mark.parametrize("objective", ["erm", "variance"])
def test_pga_reaches_the_optimum_of_a_concave_vr_problem(objective: str) -> None:
    N, M = 40, 4
    A, b, vj = _linear(N, M, seed=3)
    q = np.random.default_rng(4).uniform(0.5, 2.0, size=N)
    lo, hi, budget, rho = np.zeros(M), np.full(M, 1.5), 2.5, 4.0
    res = projected_gradient_ascent(vj, q, lo, hi, budget, objective=objective, rho=rho, restarts=3)
    oracle = _variance_oracle(A, b, q, lo, hi, budget, rho if objective == "variance" else 0.0)
    assert res.objective <= oracle + 1e-6  # z is feasible: it cannot beat the optimum
    assert res.objective >= oracle - 1e-5 * max(1.0, abs(oracle))
    assert res.method == "pga" and res.restarts == 3 and res.restart_objectives.shape == (3,)


@pytest.mark.parametrize("method", ["pga", "tt-gad"])
def test_chi2_baselines_reach_the_optimum_of_a_concave_dro_problem(method: str) -> None:
    N, M = 20, 3
    A, C, vj = _quadratic(N, M, seed=5)
    q = np.ones(N)
    lo, hi, budget, rho = np.zeros(M), np.ones(M), 1.5, 3.0
    if method == "pga":
        res = projected_gradient_ascent(
            vj, q, lo, hi, budget, objective="chi2", rho=rho, restarts=2
        )
    else:
        res = two_time_scale_gda(vj, q, lo, hi, budget, rho=rho, restarts=2, max_iter=600)
    oracle = _chi2_oracle(A, C, q, lo, hi, budget, rho)
    assert res.objective <= oracle + 1e-6
    assert res.objective >= oracle - 1e-3 * max(1.0, abs(oracle))


def test_reported_objective_is_the_exact_full_data_value() -> None:
    N, M = 30, 3
    _, _, vj = _quadratic(N, M, seed=8)
    q = np.random.default_rng(9).integers(1, 4, size=N).astype(float)
    lo, hi, budget, rho = np.zeros(M), np.ones(M), 1.0, 6.0
    n = q.sum()
    for res in (
        projected_gradient_ascent(vj, q, lo, hi, budget, objective="variance", rho=rho, restarts=2),
        two_time_scale_gda(vj, q, lo, hi, budget, rho=rho, restarts=2, max_iter=200),
    ):
        f = vj(res.z)[0]
        p = q / n
        if res.objective_name == "variance":
            mean = p @ f
            expected = mean - np.sqrt(2 * rho * (p @ (f - mean) ** 2) / n)
        else:  # independent route: the loss-form chi-square set of dro_opt.ambiguity
            expected = -phi_divergence("chi2", rho / n).worst_case(-f, p)[0]
        assert res.objective == pytest.approx(expected, rel=1e-7, abs=1e-9)
        assert res.objective == exact_objective(f, q, res.objective_name, rho)
        assert res.z.sum() <= budget + 1e-12 and (res.z >= lo).all() and (res.z <= hi).all()


def test_seed_reproduces_and_restarts_differ() -> None:
    _, _, vj = _linear(25, 4, seed=1)
    args = (vj, np.ones(25), np.zeros(4), np.ones(4), 2.0)
    a = two_time_scale_gda(*args, rho=2.0, restarts=3, seed=7, max_iter=50)
    b = two_time_scale_gda(*args, rho=2.0, restarts=3, seed=7, max_iter=50)
    c = two_time_scale_gda(*args, rho=2.0, restarts=3, seed=8, max_iter=50)
    assert np.array_equal(a.z, b.z) and a.objective == b.objective
    assert not np.array_equal(a.restart_objectives, c.restart_objectives)


def test_vanishing_gradients_still_move_thanks_to_normalised_steps() -> None:
    """App. J: choice probabilities ~1e-9 give gradients ~1e-9; the clipped step still climbs."""
    a = np.array([[-21.0, -22.0, -20.5]])

    def vj(z: np.ndarray):
        s = np.exp(a + 2.0 * z).sum(axis=1)
        f = s / (1 + s)
        return f, (f * (1 - f) / s)[:, None] * 2.0 * np.exp(a + 2.0 * z)

    lo, hi = np.zeros(3), np.ones(3)
    res = projected_gradient_ascent(vj, np.ones(1), lo, hi, 1.0, objective="erm", rho=0, restarts=2)
    f_best = vj(np.array([0.0, 0.0, 1.0]))[0][0]  # all budget on the best location
    assert res.objective == pytest.approx(f_best, rel=1e-6)


def test_bad_input_raises_parameter_errors() -> None:
    _, _, vj = _linear(5, 2, seed=0)
    q, lo, hi = np.ones(5), np.zeros(2), np.ones(2)
    bad = [
        dict(budget=-1.0),
        dict(rho=-1.0),
        dict(rho=float("nan")),
        dict(objective="cvar"),
        dict(restarts=0),
        dict(weights=-q),
        dict(upper=-np.ones(2)),
    ]
    for change in bad:
        kw = dict(weights=q, lower=lo, upper=hi, budget=1.0, objective="variance", rho=1.0)
        kw.update(change)
        with pytest.raises(ParameterError):
            projected_gradient_ascent(
                vj, kw.pop("weights"), kw.pop("lower"), kw.pop("upper"), kw.pop("budget"), **kw
            )
    with pytest.raises(ParameterError, match="shape"):
        two_time_scale_gda(lambda z: (np.ones(4), np.ones((4, 2))), q, lo, hi, 1.0, rho=1.0)
    with pytest.raises(ParameterError, match="NaN"):
        two_time_scale_gda(lambda z: (np.full(5, np.nan), np.ones((5, 2))), q, lo, hi, 1.0, rho=1.0)


def test_time_limit_stops_early_and_still_reports_an_exact_value() -> None:
    _, _, vj = _quadratic(40, 3, seed=2)
    q, lo, hi = np.ones(40), np.zeros(3), np.ones(3)
    res = two_time_scale_gda(vj, q, lo, hi, 1.0, rho=2.0, restarts=50, time_limit=1e-3)
    assert res.time_limited and res.restarts < 50
    assert res.objective == exact_objective(vj(res.z)[0], q, "chi2", 2.0)
