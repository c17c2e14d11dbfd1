"""PWLA rule (dro_opt.reformulations.pwla_fractional) against independent oracles.

* the per-sample error bound ``eps_n`` against a fine-grid oracle of ``|f(z) - f(round_down z)|``;
* the MISOCP optimum against enumeration of every feasible grid point;
* the certificate ``[exact(z_hat), bound + PWLA line]`` against a fine grid of the ORIGINAL
  continuous problem (ERM and VR).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from dro_opt.conic import ConicBuilder
from dro_opt.errors import ParameterError
from dro_opt.reformulations.emitter import ConicEmitter
from dro_opt.reformulations.pwla_fractional import (
    lipschitz_oscillation,
    monotone_oscillation,
    pwla_error_bound,
    pwla_error_line,
    pwla_fractional,
    pwla_grid,
    pwla_objective_error,
)
from dro_opt.reformulations.variance_soc import variance_soc
from dro_opt.solvers.base import SolveOptions
from dro_opt.solvers.registry import solve


class LogitRatio:
    """``f_n(z) = sum_j e^{al_nj z_j + c_nj} (be_nj z_j + ga_nj) / sum_j e^{al_nj z_j + c_nj}``."""

    def __init__(self, N: int, M: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.al = rng.uniform(-3.0, 1.0, (N, M))
        self.c = rng.uniform(-1.0, 1.0, (N, M))
        self.be = rng.uniform(-2.0, 4.0, (N, M))
        self.ga = rng.uniform(0.5, 2.0, (N, M))
        self.N, self.M = N, M

    def h(self, t: np.ndarray) -> np.ndarray:  # t (M, P) -> (N, M, P)
        return np.exp(self.al[:, :, None] * t[None] + self.c[:, :, None])

    def u(self, t: np.ndarray) -> np.ndarray:
        return self.be[:, :, None] * t[None] + self.ga[:, :, None]

    def f(self, Z: np.ndarray) -> np.ndarray:  # Z (S, M) -> (S, N)
        e = np.exp(self.al[None] * Z[:, None, :] + self.c[None])
        u = self.be[None] * Z[:, None, :] + self.ga[None]
        return (e * u).sum(axis=2) / e.sum(axis=2)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Valid on the whole box [0, 1]^M: f is an average of u, u affine in z."""
        u0, u1 = self.ga, self.ga + self.be
        return np.minimum(u0, u1).min(axis=1), np.maximum(u0, u1).max(axis=1)

    def pieces(self, grid):
        pts = grid.points  # (M, K + 1)
        H = self.h(pts)
        G = H * self.u(pts)
        lo, hi = self.bounds()
        ref = 0.5 * (lo + hi)
        # |(g - r h)'| = e^{al t + c} |al (u - r) + be| <= max over the cell of each factor
        left, right = pts[:, :-1], pts[:, 1:]
        hmax = np.maximum(self.h(left), self.h(right))
        slope = self.al[:, :, None] * (np.stack([self.u(left), self.u(right)]) - ref[:, None, None])
        lip = hmax * np.abs(slope + self.be[:, :, None]).max(axis=0)
        Og = lipschitz_oscillation(lip, grid)
        Oh = monotone_oscillation(H)
        self.low = np.minimum(H[..., :-1], H[..., 1:])  # h is monotone on every cell
        return G, H, Og, Oh, (lo, hi), ref


def test_grid_and_validation() -> None:
    g = pwla_grid([0.0, 1.0], [1.0, 3.0], 4)
    np.testing.assert_allclose(g.points[1], [1.0, 1.5, 2.0, 2.5, 3.0])
    np.testing.assert_allclose(g.round_down([0.99, 2.2]), [0.75, 2.0])
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ParameterError, match="pieces"):
            pwla_grid(0.0, 1.0, bad)
    with pytest.raises(ParameterError, match="lower bound"):
        pwla_grid(1.0, 0.0, 3)
    with pytest.raises(ParameterError, match="finite"):
        pwla_grid(0.0, np.inf, 3)
    with pytest.raises(ParameterError, match="objective"):
        pwla_objective_error([0.1], [1.0], "kl", 1.0)


@pytest.mark.parametrize("K", [1, 3, 8])
def test_error_bound_holds_on_a_fine_grid(K: int) -> None:
    prob = LogitRatio(N=5, M=2, seed=K)
    grid = pwla_grid(np.zeros(2), np.ones(2), K)
    _, H, Og, Oh, bounds, ref = prob.pieces(grid)
    eps = pwla_error_bound(grid, H, 0.0, Og, Oh, bounds, reference=ref, denominator_lower=prob.low)
    fine = np.linspace(0.0, 1.0, 161)
    Z = np.array(list(itertools.product(fine, fine)))
    Zr = np.array([grid.round_down(z) for z in Z])
    actual = np.abs(prob.f(Z) - prob.f(Zr)).max(axis=0)
    assert (actual <= eps).all(), (actual, eps)
    assert actual.max() > 0.05 * eps.max()  # the bound is not vacuous


def test_error_bound_shrinks_like_one_over_K() -> None:
    prob = LogitRatio(N=4, M=3, seed=1)
    errs = []
    for K in (2, 4, 8, 16, 32):
        grid = pwla_grid(np.zeros(3), np.ones(3), K)
        _, H, Og, Oh, bounds, ref = prob.pieces(grid)
        errs.append(
            pwla_error_bound(
                grid, H, 0.0, Og, Oh, bounds, reference=ref, denominator_lower=prob.low
            ).max()
        )
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    assert (ratios > 1.6).all() and (ratios < 2.6).all(), errs


def test_objective_propagation() -> None:
    eps = np.array([0.1, 0.3, 0.2])
    q = np.array([1.0, 2.0, 1.0])
    p = q / 4
    assert pwla_objective_error(eps, q, "erm", 5.0) == pytest.approx(p @ eps)
    l2 = math.sqrt(p @ eps**2)
    assert pwla_objective_error(eps, q, "variance", 2.0) == pytest.approx(p @ eps + l2)
    assert pwla_objective_error(eps, q, "chi2", 2.0) == pytest.approx(min(0.3, math.sqrt(2) * l2))
    line = pwla_error_line(eps, q, "erm", scale=4.0, pieces=7)
    assert line.rigorous and line.value == pytest.approx(4 * p @ eps) and "K = 7" in line.note


def _vr(F: np.ndarray, p: np.ndarray, kappa: float) -> np.ndarray:
    mean = F @ p
    return mean - kappa * np.sqrt(np.maximum(((F - mean[:, None]) ** 2) @ p, 0.0))


@pytest.mark.parametrize("objective", ["erm", "variance"])
def test_misocp_is_the_grid_problem_and_certifies_the_continuous_one(objective: str) -> None:
    N, M, K, budget, rho = 6, 2, 4, 1.2, 3.0
    prob = LogitRatio(N=N, M=M, seed=7)
    grid = pwla_grid(np.zeros(M), np.ones(M), K)
    G, H, Og, Oh, bounds, ref = prob.pieces(grid)
    q = np.ones(N)
    p = q / N
    kappa = math.sqrt(2 * rho / N) if objective == "variance" else 0.0
    bld = ConicBuilder(sense="max")
    em = ConicEmitter(bld)
    model = pwla_fractional(
        em, grid, G, H, 0.0, 0.0, Og, Oh, bounds, reference=ref, denominator_lower=prob.low,
        relation="eq" if objective == "variance" else "le",
        packing=(np.ones((1, M)), budget),
    )  # fmt: skip
    if objective == "erm":
        em.set_objective(em.dot(p, model.y))
    else:
        m, s = variance_soc(em, model.y, p)
        em.set_objective(m - s * kappa)
    res = solve(bld.build(), "scip", SolveOptions(gap=1e-9, time_limit=60))
    assert res.status.value == "optimal"
    z_hat = model.decision(res.solution["v"])
    np.testing.assert_allclose(res.solution["z"], z_hat, atol=1e-6)
    assert z_hat.sum() <= budget + 1e-9

    # oracle 1: enumeration of the feasible grid points
    pts = np.array(
        [z for z in itertools.product(grid.points[0], grid.points[1]) if sum(z) <= budget]
    )
    grid_values = _vr(prob.f(pts), p, kappa)
    assert res.objective == pytest.approx(grid_values.max(), abs=1e-6)
    assert res.bound >= grid_values.max() - 1e-6

    # oracle 2: fine grid of the continuous problem
    fine = np.linspace(0.0, 1.0, 201)
    Z = np.array(list(itertools.product(fine, fine)))
    Z = Z[Z.sum(axis=1) <= budget]
    cont_max = _vr(prob.f(Z), p, kappa).max()
    lower = float(_vr(prob.f(z_hat[None]), p, kappa)[0])
    line = pwla_error_line(model.per_sample_error, q, objective, rho)
    upper = res.bound + line.value
    assert lower <= cont_max + 1e-9 <= upper + 1e-9
    assert line.value > 0 and lower < upper


def test_bad_shapes_and_packing() -> None:
    grid = pwla_grid([0.0, 0.0], [1.0, 1.0], 2)
    em = ConicEmitter(ConicBuilder(sense="max"))
    good = np.ones((3, 2, 3))
    osc = np.zeros((3, 2, 2))
    with pytest.raises(ParameterError, match="shape"):
        pwla_fractional(em, grid, np.ones((3, 2, 2)), good, 0, 0, osc, osc, (0, 1))
    with pytest.raises(ParameterError, match="finite"):
        bad = good.copy()
        bad[0, 0, 0] = np.nan
        pwla_fractional(em, grid, bad, good, 0, 0, osc, osc, (0, 1))
    with pytest.raises(ParameterError, match="A >= 0"):
        pwla_fractional(em, grid, good, good, 0, 0, osc, osc, (0, 1), packing=([[1, -1]], 1))
    with pytest.raises(ParameterError, match=">= 0"):
        pwla_error_bound(grid, good, 0.0, -osc - 1, osc, (0, 1))
