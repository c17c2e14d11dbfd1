"""Harness cases of the structural rules ``mccormick_fractional`` and ``variance_soc``.

References are computed without the rule under test:

* ``mccormick_fractional`` (binary ``v``): brute-force enumeration of every ``v in {0, 1}^k``
  with ``sum v <= budget`` of ``max sum_i c_i f_i(v)``, ``f_i = (b_i + A_i v) / (d_i + C_i v)``;
  the rewritten model (rule + budget row, SCIP) must reach the same optimum -- through both
  emitters, with ``relation="eq"`` for objective weights of mixed sign and ``"le"`` for
  non-negative ones, and with y-bounds from interval arithmetic on the data (loose on purpose:
  exactness must not depend on tight bounds);
* ``mccormick_fractional`` (continuous ``v``, a relaxation): a hand-written cvxpy LP with the
  four McCormick inequalities written pair by pair (Python loops, the textbook formulas), solved
  by cvxpy's own Clarabel interface;
* ``variance_soc``: ``E_p y - kappa Std_p(y)`` evaluated by numpy for a constant ``y``, and a
  hand-written cvxpy model ``max p'Rx - kappa ||diag(sqrt p)(Rx - p'Rx)||`` over the simplex.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np
import scipy.sparse as sp
from rule_harness import RuleCase, both_emitters, solve_reference

import dro_opt
from dro_opt.conic import ConicBuilder, from_cvxpy
from dro_opt.reformulations.emitter import ConicEmitter, CvxpyEmitter
from dro_opt.reformulations.mccormick_fractional import linear_fractional_mccormick
from dro_opt.reformulations.variance_soc import variance_bounds, variance_soc
from dro_opt.solvers import Status


# ============================================================================ McCormick
@dataclass
class Fractional:
    """``max sum_i c_i (b_i + A_i v) / (d_i + C_i v)`` over ``v``, ``sum v <= budget``."""

    A: sp.csr_matrix
    b: np.ndarray
    C: sp.csr_matrix
    d: np.ndarray
    c: np.ndarray
    budget: float
    vlo: np.ndarray
    vhi: np.ndarray
    ylo: np.ndarray
    yhi: np.ndarray
    relation: str


def _sparse(rng: np.random.Generator, n: int, k: int, lo: float, hi: float) -> sp.csr_matrix:
    dense = rng.uniform(lo, hi, (n, k)) * (rng.random((n, k)) < 0.6)
    return sp.csr_matrix(dense)


def _ratio_bounds(F: Fractional) -> tuple[np.ndarray, np.ndarray]:
    """Interval arithmetic over the box: valid, deliberately not tight."""
    Ap, Am = F.A.maximum(0), F.A.minimum(0)
    Cp, Cm = F.C.maximum(0), F.C.minimum(0)
    n_lo, n_hi = F.b + Ap @ F.vlo + Am @ F.vhi, F.b + Ap @ F.vhi + Am @ F.vlo
    d_lo, d_hi = F.d + Cp @ F.vlo + Cm @ F.vhi, F.d + Cp @ F.vhi + Cm @ F.vlo
    cand = np.stack([n_lo / d_lo, n_lo / d_hi, n_hi / d_lo, n_hi / d_hi])
    return cand.min(axis=0), cand.max(axis=0)


def _make_fractional(signed: bool, relation: str, box: tuple[float, float] = (0.0, 1.0)):
    def make(rng: np.random.Generator) -> Fractional:
        n, k = int(rng.integers(3, 7)), int(rng.integers(3, 7))
        lo = -1.0 if signed else 0.0
        A, C = _sparse(rng, n, k, lo, 2.0), _sparse(rng, n, k, lo, 2.0)
        b = rng.uniform(lo, 1.0, n)
        d = rng.uniform(0.2, 1.0, n) + (-C.minimum(0) @ np.full(k, box[1]))  # d + C v > 0
        c = rng.normal(size=n) if relation == "eq" else rng.uniform(0.1, 1.0, n)
        vlo, vhi = np.full(k, box[0]), np.full(k, box[1])
        budget = float(rng.integers(1, k)) if box == (0.0, 1.0) else float(vlo.sum() + 0.5 * k)
        F = Fractional(A, b, C, d, c, budget, vlo, vhi, vlo, vhi, relation)
        F.ylo, F.yhi = _ratio_bounds(F)
        return F

    return make


def _brute_force(F: Fractional) -> float:
    k = F.C.shape[1]
    best = -math.inf
    for v in itertools.product((0.0, 1.0), repeat=k):
        x = np.asarray(v)
        if x.sum() <= F.budget:
            best = max(best, float(F.c @ ((F.b + F.A @ x) / (F.d + F.C @ x))))
    return best


def _build_fractional(binary: bool):
    def build(em: Any, F: Fractional) -> Any:
        k = F.C.shape[1]
        v = em.variable("v", k, lb=F.vlo, ub=F.vhi, vtype="binary" if binary else "continuous")
        y, _, info = linear_fractional_mccormick(
            em,
            v,
            numerator=(F.A, F.b),
            denominator=(F.C, F.d),
            y_bounds=(F.ylo, F.yhi),
            relation=F.relation,
            v_bounds=(F.vlo, F.vhi),
            prefix="frac",
            exact_binary=binary,
        )
        assert info.exact is binary and info.pairs.shape == (F.C.nnz, 2)
        em.nonneg("budget", float(F.budget) - em.sum(v))
        return em.dot(F.c, y)

    return build


def _solve_mip(build: Any, F: Fractional, emitter: str) -> float:
    """Max of ``build`` through ``emitter`` on SCIP with a tight gap."""
    if emitter == "cvxpy":
        em = CvxpyEmitter()
        obj = build(em, F)
        problem = from_cvxpy(cp.Problem(cp.Maximize(obj), em.constraints))
    else:
        em = ConicEmitter(ConicBuilder(sense="max"))
        em.set_objective(build(em, F))
        problem = em.builder.build()
    res = dro_opt.solve(problem, "scip", gap=1e-10, threads=1)
    assert res.status is Status.OPTIMAL, f"{emitter}: {res.status} {res.message}"
    return float(res.objective)


def _handwritten_envelope(F: Fractional) -> float:
    """The McCormick LP of the source written out pair by pair (reference for continuous v)."""
    n, k = F.C.shape
    v, y = cp.Variable(k), cp.Variable(n)
    C = F.C.toarray()
    w = {(i, j): cp.Variable() for i in range(n) for j in range(k) if F.C[i, j] != 0}
    cons = [v >= F.vlo, v <= F.vhi, y >= F.ylo, y <= F.yhi, cp.sum(v) <= F.budget]
    for i in range(n):
        row = F.d[i] * y[i] + sum(C[i, j] * w[i, j] for j in range(k) if (i, j) in w)
        rhs = F.b[i] + F.A[i].toarray().ravel() @ v
        cons.append(row == rhs if F.relation == "eq" else row <= rhs)
    for (i, j), wij in w.items():
        yl, yh, vl, vh = F.ylo[i], F.yhi[i], F.vlo[j], F.vhi[j]
        cons += [
            wij >= yl * v[j] + vl * y[i] - yl * vl,
            wij >= yh * v[j] + vh * y[i] - yh * vh,
            wij <= yh * v[j] + vl * y[i] - yh * vl,
            wij <= yl * v[j] + vh * y[i] - yl * vh,
        ]
    return solve_reference(cp.Problem(cp.Maximize(F.c @ y), cons))


def _mccormick_cases() -> list[RuleCase]:
    cases = []
    variants = [
        ("binary_nonneg_eq", False, "eq"),
        ("binary_nonneg_le_monotone", False, "le"),
        ("binary_signed_eq", True, "eq"),
    ]
    for name, signed, relation in variants:
        build = _build_fractional(True)
        for emitter in ("cvxpy", "conic"):
            cases.append(
                RuleCase(
                    "mccormick_fractional",
                    f"{name}_vs_enumeration[{emitter}]",
                    _make_fractional(signed, relation),
                    _brute_force,
                    lambda F, b=build, e=emitter: _solve_mip(b, F, e),
                    rtol=1e-7,
                    atol=1e-8,
                )
            )
    cases += both_emitters(
        "mccormick_fractional",
        "continuous_relaxation_vs_handwritten_envelope",
        _make_fractional(True, "eq", box=(0.2, 1.5)),
        _handwritten_envelope,
        _build_fractional(False),
        sense="max",
        rtol=1e-6,
        atol=1e-6,
    )
    return cases


# ============================================================================ variance
@dataclass
class VarianceData:
    p: np.ndarray
    kappa: float
    y: np.ndarray | None = None  # constant case
    R: np.ndarray | None = None  # portfolio case: y = R x, x in the simplex


def _weights(rng: np.random.Generator, n: int) -> np.ndarray:
    q = rng.uniform(0.2, 2.0, n)
    q[rng.random(n) < 0.2] = 0.0  # atoms without mass are allowed
    q[0] += 0.5
    return q / q.sum()


def _make_constant(rng: np.random.Generator) -> VarianceData:
    n = int(rng.integers(4, 30))
    return VarianceData(_weights(rng, n), float(rng.uniform(0.1, 3.0)), y=rng.normal(size=n))


def _make_portfolio(rng: np.random.Generator) -> VarianceData:
    n, k = int(rng.integers(6, 25)), int(rng.integers(2, 6))
    R = rng.normal(0.05, 0.2, (n, k)) + rng.uniform(0.0, 0.1, k)
    return VarianceData(_weights(rng, n), float(rng.uniform(0.2, 2.0)), R=R)


def _numpy_mean_std(data: VarianceData) -> float:
    m = float(data.p @ data.y)
    return m - data.kappa * math.sqrt(float(data.p @ (data.y - m) ** 2))


def _cvxpy_mean_std(data: VarianceData) -> float:
    x = cp.Variable(data.R.shape[1], nonneg=True)
    y = data.R @ x
    mean = data.p @ y
    std = cp.norm(cp.multiply(np.sqrt(data.p), y - mean), 2)
    return solve_reference(cp.Problem(cp.Maximize(mean - data.kappa * std), [cp.sum(x) == 1]))


def _build_constant(em: Any, data: VarianceData) -> Any:
    mb, sb = variance_bounds(data.p, data.y.min(), data.y.max())
    m, s = variance_soc(em, data.y, data.p, prefix="vr", m_bounds=mb, s_bounds=sb)
    return m - s * data.kappa


def _build_portfolio(em: Any, data: VarianceData) -> Any:
    x = em.variable("x", data.R.shape[1], lb=0.0)
    em.zero("simplex", em.sum(x) - 1.0)
    y = em.matmul(data.R, x)
    m, s = variance_soc(em, y, data.p, names={"s": "std"})
    return m - s * data.kappa


CASES: list[RuleCase] = [
    *_mccormick_cases(),
    *both_emitters(
        "variance_soc",
        "constant_vs_numpy",
        _make_constant,
        _numpy_mean_std,
        _build_constant,
        sense="max",
    ),
    *both_emitters(
        "variance_soc",
        "simplex_vs_handwritten_cvxpy",
        _make_portfolio,
        _cvxpy_mean_std,
        _build_portfolio,
        sense="max",
    ),
]
