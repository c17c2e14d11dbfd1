"""Spatial branch-and-bound of the security game (models/security_game/spatial*.py).

Oracles, independent of the bounds under test: sampled exact utilities (Taylor envelope and
range of every box), scipy's LP solver (the knapsack), a fine grid plus SLSQP multi-starts on the
exact objective (the certified interval must contain every value they find).
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import numpy as np
import pytest
from scipy.optimize import linprog, minimize

from dro_opt.models.security_game.generator import generate_ssg
from dro_opt.models.security_game.objective import defender_values, evaluate
from dro_opt.models.security_game.solve import solve_ssg
from dro_opt.models.security_game.spatial import spatial_branch_and_bound
from dro_opt.models.security_game.spatial_bounds import (
    box_model,
    knapsack_argmax,
    knapsack_max,
    linear_bound,
    quadratic_bound,
    range_bound,
)
from dro_opt.models.security_game.spatial_weights import worst_case_weights
from dro_opt.solvers.status import Status


@pytest.mark.parametrize("lam", [0.25, 1.5, 200.0])  # 200: exponentials underflow
def test_box_model_encloses_sampled_utilities(lam: float) -> None:
    inst = generate_ssg(4, 6, seed=3, lam=lam)
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(60):
        lo = rng.uniform(0, 0.7, 4)
        hi = np.minimum(lo + rng.uniform(0.01, 0.4, 4), 1.0)
        box = box_model(inst, lo, hi)
        Z = rng.uniform(lo, hi, size=(200, 4))
        Z[:16] = np.array(list(itertools.product(*zip(lo, hi, strict=True))))  # the corners
        for z in Z:
            f = defender_values(inst, z)
            lin = box.values + box.jacobian @ (z - box.center)
            assert np.all(f - lin <= box.err_up + 1e-12)
            assert np.all(lin - f <= box.err_down + 1e-12)
            assert np.all(f >= box.fmin) and np.all(f <= box.fmax)
            assert np.isfinite(box.err_up).all() and np.isfinite(box.err_down).all()
            worst = max(worst, float(np.max((f - lin) / np.maximum(box.err_up, 1e-300))))
    assert worst > 0.01 or lam > 10  # not vacuous (measured 0.045 at lam 0.25: wide boxes)


def test_knapsack_matches_linprog() -> None:
    rng = np.random.default_rng(1)
    for _ in range(40):
        M = int(rng.integers(1, 7))
        g = rng.normal(size=M)
        lo = rng.uniform(0, 0.5, M)
        hi = lo + rng.uniform(0, 0.5, M)
        budget = float(lo.sum() + rng.uniform(0, 1.5))
        lp = linprog(-g, A_ub=np.ones((1, M)), b_ub=[budget], bounds=list(zip(lo, hi, strict=True)))
        assert knapsack_max(g, lo, hi, budget) == pytest.approx(-lp.fun, abs=1e-9)
    assert knapsack_max(np.ones(2), np.array([0.6, 0.6]), np.ones(2), 1.0) == -np.inf


@pytest.mark.parametrize(("objective", "rho"), [("variance", 50.0), ("chi2", 50.0), ("erm", 0.0)])
def test_node_bounds_hold_for_any_ball_point(objective: str, rho: float) -> None:
    """linear / range bounds with ball points P other than the optimal one still bound
    P'f(z) >= Phi(f(z)) on sampled feasible z of the box."""
    inst = generate_ssg(3, 8, seed=5)
    n = float(inst.weights.sum())
    p = inst.weights / n
    rng = np.random.default_rng(2)
    for _ in range(30):
        lo = rng.uniform(0, 0.5, 3)
        hi = lo + rng.uniform(0.05, 0.5, 3)
        box = box_model(inst, lo, hi)
        P = worst_case_weights(rng.normal(size=8), p, objective, rho, n)
        bounds = [
            linear_bound(box, P, inst.budget),
            range_bound(box, P),
            quadratic_bound(box, P, inst.budget),
        ]
        corners = np.array(list(itertools.product(*zip(lo, hi, strict=True))))
        top = knapsack_argmax(box.jacobian.T @ P, lo, hi, inst.budget)
        for z in [top, *corners, *rng.uniform(lo, hi, size=(100, 3))]:
            if z.sum() <= inst.budget + 1e-12:
                assert evaluate(inst, z, objective, rho) <= float(P @ defender_values(inst, z))
                assert float(P @ defender_values(inst, z)) <= min(bounds) + 1e-12


def _oracle(inst, objective: str, rho: float, points: int) -> float:
    """Best exact value on a grid and from SLSQP started at the 5 best grid points."""
    M = inst.num_targets
    axis = np.linspace(0.0, 1.0, points)
    grid = np.array(list(itertools.product(*([axis] * M))))
    grid = grid[grid.sum(axis=1) <= inst.budget + 1e-12]
    values = np.array([evaluate(inst, z, objective, rho) for z in grid])
    best = float(values.max())
    cons = [{"type": "ineq", "fun": lambda z: inst.budget - z.sum()}]
    for z0 in grid[np.argsort(-values)[:5]]:
        r = minimize(
            lambda z: -evaluate(inst, np.clip(z, 0, 1), objective, rho),
            z0, method="SLSQP", bounds=[(0, 1)] * M, constraints=cons,
        )  # fmt: skip
        z = np.clip(r.x, 0, 1)
        if z.sum() <= inst.budget + 1e-12:
            best = max(best, evaluate(inst, z, objective, rho))
    return best


@pytest.mark.parametrize(
    ("M", "objective", "rho", "seed"),
    [
        (2, "erm", 0.0, 0),
        (2, "variance", 1e4, 1),
        (2, "chi2", 1e3, 2),
        (3, "variance", 30.0, 3),
        (3, "chi2", 30.0, 4),
        (3, "variance", 1e6, 5),
    ],
)
def test_certified_interval_contains_the_oracle(M: int, objective: str, rho: float, seed: int):
    inst = generate_ssg(M, 8, seed=seed)
    res = spatial_branch_and_bound(inst, objective, rho, gap=1e-3, time_limit=60)
    oracle = _oracle(inst, objective, rho, 121 if M == 2 else 31)
    assert res.lower == pytest.approx(evaluate(inst, res.z, objective, rho), abs=1e-12)
    assert res.z.sum() <= inst.budget + 1e-12 and res.z.min() >= 0 and res.z.max() <= 1
    assert res.upper >= oracle - 1e-12  # the bound is valid
    assert res.reason == "gap"
    assert (res.upper - res.lower) / max(1.0, abs(res.lower)) <= 1e-3


def test_sampling_oracle_catches_a_bound_without_taylor_error() -> None:
    """Sensitivity of the sampled check above: with the Taylor errors dropped (an invalid
    bound) and no range bound, P'f exceeds the linear bound at a box corner."""
    inst = generate_ssg(3, 8, seed=5, lam=1.5)
    n = float(inst.weights.sum())
    p = inst.weights / n
    rng = np.random.default_rng(2)
    excess = -np.inf
    for _ in range(30):
        lo = rng.uniform(0, 0.5, 3)
        box = box_model(inst, lo, lo + rng.uniform(0.05, 0.5, 3))
        box.err_up[:] = 0.0
        box.err_down[:] = 0.0
        P = worst_case_weights(rng.normal(size=8), p, "variance", 50.0, n)
        bound = linear_bound(box, P, inst.budget)
        corners = np.array(list(itertools.product(*zip(box.lo, box.hi, strict=True))))
        top = knapsack_argmax(box.jacobian.T @ P, box.lo, box.hi, inst.budget)
        for z in [top, *corners]:
            if z.sum() <= inst.budget + 1e-12:
                excess = max(excess, float(P @ defender_values(inst, z)) - bound)
    assert excess > 1e-3


def test_solve_ssg_spatial_result_and_time_limit() -> None:
    inst = generate_ssg(5, 20, seed=0)
    res = solve_ssg(inst, "variance", 1e6, method="spatial", time_limit=1.0)
    assert res.status is Status.TIME_LIMIT
    assert res.certificate.lower == res.objective <= res.bound
    assert res.extra["method"] == "spatial" and res.extra["stopped_by"] == "time"
    small = solve_ssg(generate_ssg(2, 6, seed=0), "chi2", 100.0, method="spatial")
    assert small.status is Status.OPTIMAL and small.certificate.gap <= 1e-4


def test_cli_spatial_contract(tmp_path) -> None:
    inst, out = tmp_path / "g.json", tmp_path / "out.json"
    run = [sys.executable, "-m", "dro_opt.cli"]
    gen = [*run, "generate", "ssg", "--targets", "2", "--types", "6", "--seed", "1", str(inst)]
    subprocess.run(gen, check=True, capture_output=True)
    cmd = [*run, "solve", "ssg", str(inst), "--objective", "variance", "--rho", "1000"]
    done = subprocess.run([*cmd, "--method", "spatial", "--json", str(out)], capture_output=True)
    assert done.returncode == 0, done.stderr
    d = json.loads(out.read_text())
    assert d["status"] == "optimal" and d["method"] == "spatial"
    assert d["gap"] <= 1e-4 and d["objective"] <= d["bound"]
    assert d["certificate"]["upper"] == d["bound"] and len(d["coverage"]) == 2
    bad = subprocess.run([*cmd, "--method", "spatial", "--clusters", "2"], capture_output=True)
    assert bad.returncode == 2 and b"full data" in bad.stderr


def test_quadratic_bound_is_third_order_at_the_optimum() -> None:
    """Around the certified optimum the weighted-Hessian bound shrinks like w^3 and beats the
    linear one (the reason it exists); it stays above the optimum (valid)."""
    inst = generate_ssg(4, 12, seed=0)
    n = float(inst.weights.sum())
    p = inst.weights / n
    res = spatial_branch_and_bound(inst, "variance", 1e3, gap=1e-5, time_limit=60)
    P = worst_case_weights(defender_values(inst, res.z), p, "variance", 1e3, n)
    excess = []
    for w in (0.02, 0.01, 0.005):
        box = box_model(inst, np.clip(res.z - w / 2, 0, 1), np.clip(res.z + w / 2, 0, 1))
        quad = quadratic_bound(box, P, inst.budget)
        assert quad >= res.lower - 1e-12
        assert quad - res.lower < linear_bound(box, P, inst.budget) - res.lower
        excess.append(quad - res.lower)
    assert excess[2] < excess[0] / 12  # two halvings: 1/16 for w^4, 1/64 for w^3 (+ noise)
