"""Harness cases of ``pwla_fractional`` (grid PWLA of separable ratios) and ``soc_to_quadratic``.

References are computed without the rule under test:

* ``pwla_fractional``: the source problem of the rule is the original objective restricted to
  the grid (module docstring of :mod:`dro_opt.reformulations.pwla_fractional`); the reference
  enumerates every grid point ``z`` with ``sum z <= budget`` and evaluates
  ``mean_n (b0_n + sum_j g_nj(z_j)) / (d0_n + sum_j h_nj(z_j))`` with numpy, from the functions
  themselves (not from the tabulated values the rule receives). The rewritten model is the rule +
  the budget row, maximised on SCIP, through both emitters, with ``relation="le"`` (the objective
  is non-decreasing in ``y``) and ``"eq"`` with mixed-sign weights.
* ``soc_to_quadratic``: a random SOCP with second-order and rotated cones, solved by a
  hand-written cvxpy model on cvxpy's Clarabel interface; the rewritten side is the same conic
  problem lowered to quadratic constraints by the rule inside the Gurobi and Xpress backends
  (both within their size-limited pip licences).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
from rule_harness import RuleCase, solve_cvxpy_emitter, solve_reference

import dro_opt
from dro_opt.conic import ConicBuilder
from dro_opt.reformulations.emitter import ConicEmitter
from dro_opt.reformulations.pwla_fractional import (
    monotone_oscillation,
    pwla_fractional,
    pwla_grid,
)
from dro_opt.solvers import SolveOptions, Status


# ================================================================================= PWLA
@dataclass
class SeparableRatios:
    """``g_nj(t) = a_nj exp(c_nj t)``, ``h_nj(t) = exp(c_nj t)`` on ``[0, 1]``, offsets > 0."""

    a: np.ndarray  # (N, M)
    c: np.ndarray  # (N, M)
    b0: np.ndarray  # (N,)
    d0: np.ndarray  # (N,)
    weights: np.ndarray  # (N,) objective weights
    budget: float
    pieces: int

    def g(self, t: np.ndarray) -> np.ndarray:
        return self.a[..., None] * np.exp(self.c[..., None] * t)

    def h(self, t: np.ndarray) -> np.ndarray:
        return np.exp(self.c[..., None] * t)


def _ratios(rng: np.random.Generator, mixed: bool) -> SeparableRatios:
    N, M = 4, 3
    weights = rng.normal(size=N) if mixed else rng.uniform(0.2, 1.0, N)
    return SeparableRatios(
        a=rng.uniform(0.0, 3.0, (N, M)),
        c=rng.uniform(-1.5, 1.5, (N, M)),
        b0=rng.uniform(0.0, 1.0, N),
        d0=rng.uniform(0.5, 1.5, N),
        weights=weights,
        budget=float(rng.uniform(0.8, 1.8)),
        pieces=int(rng.integers(2, 5)),
    )


def _grid_optimum(d: SeparableRatios) -> float:
    """Enumerate the grid points of the budget set; evaluate the ratios from the formulas."""
    K, M = d.pieces, d.a.shape[1]
    levels = np.linspace(0.0, 1.0, K + 1)
    best = -np.inf
    for z in itertools.product(levels, repeat=M):
        z = np.array(z)
        if z.sum() > d.budget + 1e-12:
            continue
        num = d.b0 + (d.a * np.exp(d.c * z)).sum(axis=1)
        den = d.d0 + np.exp(d.c * z).sum(axis=1)
        best = max(best, float(d.weights @ (num / den)))
    return best


def _pwla_build(relation: str):
    def build(em, d: SeparableRatios):
        M = d.a.shape[1]
        grid = pwla_grid(np.zeros(M), np.ones(M), d.pieces)
        G, H = d.g(grid.points[None, :, :]), d.h(grid.points[None, :, :])
        # ratio bounds by interval arithmetic on the tabulated values (valid at every grid point)
        lo = (d.b0 + G.min(axis=2).sum(axis=1)) / (d.d0 + H.max(axis=2).sum(axis=1))
        hi = (d.b0 + G.max(axis=2).sum(axis=1)) / (d.d0 + H.min(axis=2).sum(axis=1))
        model = pwla_fractional(
            em, grid, G, H, d.b0, d.d0, monotone_oscillation(G), monotone_oscillation(H),
            (lo, hi), relation=relation, packing=(np.ones((1, M)), d.budget),
        )  # fmt: skip
        return em.dot(d.weights, model.y)

    return build


def _scip_conic(build, d: SeparableRatios) -> float:
    em = ConicEmitter(ConicBuilder(sense="max"))
    em.set_objective(build(em, d))
    res = dro_opt.solve(em.builder.build(), "scip", SolveOptions(gap=1e-9))
    assert res.status is Status.OPTIMAL, res.message
    return float(res.objective)


PWLA_CASES = [
    RuleCase(
        "pwla_fractional",
        "grid-optimum-le[conic]",
        lambda rng: _ratios(rng, mixed=False),
        _grid_optimum,
        lambda d: _scip_conic(_pwla_build("le"), d),
        rtol=1e-6,
        atol=1e-6,
    ),
    RuleCase(
        "pwla_fractional",
        "grid-optimum-eq-mixed-weights[conic]",
        lambda rng: _ratios(rng, mixed=True),
        _grid_optimum,
        lambda d: _scip_conic(_pwla_build("eq"), d),
        rtol=1e-6,
        atol=1e-6,
    ),
]
# the cvxpy emitter route of the same rule (imported by from_cvxpy, SCIP)
PWLA_CASES.append(
    RuleCase(
        "pwla_fractional",
        "grid-optimum-le[cvxpy]",
        lambda rng: _ratios(rng, mixed=False),
        _grid_optimum,
        lambda d: solve_cvxpy_emitter(_pwla_build("le"), d, sense="max", solver="scip"),
        rtol=1e-6,
        atol=1e-6,
    )
)


# ============================================================================ lowering
@dataclass
class Socp:
    points: np.ndarray  # (k, 2) anchor points
    weights: np.ndarray  # (k,)
    box: float


def _socp(rng: np.random.Generator) -> Socp:
    k = 5
    return Socp(rng.normal(size=(k, 2)), rng.uniform(0.5, 2.0, k), float(rng.uniform(0.3, 1.0)))


def _socp_reference(d: Socp) -> float:
    """min sum_i w_i t_i + sum_k s_k  s.t. ||x - p_i|| <= t_i, x_k^2 <= 2 s_k, |x| <= box."""
    x, t, s = cp.Variable(2), cp.Variable(len(d.weights)), cp.Variable(2)
    cons = [cp.norm(x - p) <= t[i] for i, p in enumerate(d.points)]
    cons += [cp.square(x) <= 2 * s, cp.abs(x) <= d.box]
    return solve_reference(cp.Problem(cp.Minimize(d.weights @ t + cp.sum(s)), cons))


def _socp_build(d: Socp) -> ConicBuilder:
    """The same problem in the canonical form: SOC rows ``(t_i; x - p_i)`` and the elementwise
    rotated cones ``2 s_k * 1 >= x_k^2`` (``Emitter.rsoc`` is one 3-dimensional cone per entry)."""
    bld = ConicBuilder(sense="min")
    em = ConicEmitter(bld)
    k = len(d.weights)
    x = em.variable("x", 2, lb=-d.box, ub=d.box)
    t = em.variable("t", k)
    s = em.variable("s", 2)
    one = em.variable("one", 2, lb=1.0, ub=1.0)
    for i, p in enumerate(d.points):  # a handful of cones: the loop is over the test's data
        em.soc(f"dist{i}", em.take(t, [i]), x - p)
    em.rsoc("energy", s, one, x)  # 2 s_k * 1 >= x_k^2
    em.set_objective(em.dot(d.weights, t) + em.sum(s))
    return bld


def _lowered(solver: str):
    def rewritten(d: Socp) -> float:
        res = dro_opt.solve(_socp_build(d).build(), solver, SolveOptions(gap=1e-9))
        assert res.status is Status.OPTIMAL, f"{solver}: {res.status} {res.message}"
        return float(res.objective)

    return rewritten


LOWERING_CASES = [
    RuleCase(
        "soc_to_quadratic",
        f"socp-via-{solver}",
        _socp,
        _socp_reference,
        _lowered(solver),
        rtol=1e-5,
        atol=1e-6,
    )
    for solver in ("gurobi", "xpress")
]

CASES = PWLA_CASES + LOWERING_CASES
