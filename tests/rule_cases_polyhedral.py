"""Harness cases of ``exp_cone_polyhedral``: the certified polyhedral sandwich of exp cones.

Source problems with exponential cones, solved independently (a closed form, a 1-D dual by
scipy); rewritten = the adaptive outer/inner sandwich on HiGHS (LP rows only). The case returns
the inner (feasible) value after asserting that the certificate's two sides contain the reference.
"""

from __future__ import annotations

import math
from typing import Any

import cvxpy as cp
import numpy as np
from rule_harness import RuleCase
from scipy.optimize import minimize_scalar

from dro_opt.conic import from_cvxpy
from dro_opt.reformulations.exp_cone_polyhedral_solve import solve_exp_polyhedral


def _sandwich_value(problem: cp.Problem, reference: float) -> float:
    res = solve_exp_polyhedral(from_cvxpy(problem), solver="highs", tol=1e-8)
    cert = res.certificate
    assert cert is not None and cert.lower is not None and cert.upper is not None
    scale = 1e-7 * max(1.0, abs(reference))
    assert cert.lower <= reference + scale and reference <= cert.upper + scale, (
        f"sandwich [{cert.lower}, {cert.upper}] misses the reference {reference}"
    )
    return float(res.objective)


# ----------------------------------------------------------- log-sum-exp with a sum constraint
def _make_lse(rng: np.random.Generator) -> dict[str, Any]:
    n = int(rng.integers(3, 8))
    return {"b": rng.normal(size=n), "s": float(rng.normal())}


def _lse_reference(d: dict[str, Any]) -> float:
    # min log sum exp(x + b) s.t. sum x = s  ->  x + b = c 1 with n c = s + sum b
    n = d["b"].size
    return math.log(n) + (d["s"] + float(d["b"].sum())) / n


def _lse_rewritten(d: dict[str, Any]) -> float:
    x = cp.Variable(d["b"].size)
    prob = cp.Problem(cp.Minimize(cp.log_sum_exp(x + d["b"])), [cp.sum(x) == d["s"]])
    return _sandwich_value(prob, _lse_reference(d))


# ------------------------------------------------------------- KL-DRO worst case (variable y)
def _make_kl(rng: np.random.Generator) -> dict[str, Any]:
    n = int(rng.integers(4, 10))
    return {"l": rng.normal(size=n), "r": float(rng.uniform(0.05, 0.5))}


def _kl_reference(d: dict[str, Any]) -> float:
    # Hu & Hong 2013: sup_{KL(P||p) <= r} E_P[l] = min_{lam > 0} lam r + lam log E_p exp(l / lam)
    l, r = d["l"], d["r"]
    top = float(l.max())

    def f(log_lam: float) -> float:
        lam = math.exp(log_lam)
        return lam * r + top + lam * math.log(float(np.mean(np.exp((l - top) / lam))))

    res = minimize_scalar(f, bounds=(-12.0, 8.0), method="bounded", options={"xatol": 1e-12})
    return float(min(res.fun, top))


def _kl_rewritten(d: dict[str, Any]) -> float:
    l, r = d["l"], d["r"]
    n = l.size
    lam, eta = cp.Variable(nonneg=True), cp.Variable()
    w = cp.Variable(n)
    cons = [cp.constraints.ExpCone(l - eta, lam * np.ones(n), w), cp.sum(w) / n <= lam]
    prob = cp.Problem(cp.Minimize(lam * r + eta), cons)
    return _sandwich_value(prob, _kl_reference(d))


CASES = [
    RuleCase("exp_cone_polyhedral", "log-sum-exp", _make_lse, _lse_reference, _lse_rewritten),
    RuleCase("exp_cone_polyhedral", "kl-worst-case", _make_kl, _kl_reference, _kl_rewritten),
]
