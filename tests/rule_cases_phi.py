"""Rule cases for the phi-divergence and CVaR duals (``dro_opt/reformulations/*``).

Three kinds of source problems, each solved without the rules:

1. ``perspective``: ``min sum_i q_i w_i`` over a rule's cones at fixed ``s``, ``lam`` against
   ``sum_i q_i lam phi*(s_i / lam)`` with ``phi*(a) = sup_{t >= 0} a t - phi(t)`` computed
   numerically from ``phi`` alone (log grid + bounded Brent). This checks each module's
   derivation of the conjugate and its cone representation, not only the assembled dual.
   Also at ``lam = 0`` (the closure: the recession function, 0 for ``s <= 0``).
2. ``worst case``: ``sup { P'l : D_phi(P, p) <= r }`` for a fixed loss ``l`` -- a hand-written
   cvxpy model of the primal with the phi-perspective in ``P`` (``rel_entr``, ``inv_pos``,
   ``power``, ``abs``, ...) solved by Clarabel, including atoms with ``p_i = 0`` and the
   generalized divergence with an extra atom at ``sup_loss`` (paper 002 Lemma 3.4) -- against
   ``min t`` of :func:`phi_divergence_dual` with constant loss.
3. ``decision``: ``min_{x in [-2, 2]} sup_P E_P[loss(x)]`` with ``loss_i = a_i x + b_i`` (both
   emitters) or ``(x - c_i)^2`` (cvxpy), and with ``sup_loss = A |x| + B`` an expression --
   reference: bounded Brent over ``x`` of the primal worst case (a convex function of ``x``)
   against one conic model with ``x`` as a variable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import cvxpy as cp
import numpy as np
from rule_harness import RuleCase, both_emitters, solve_cvxpy_emitter, solve_reference
from scipy.optimize import minimize_scalar
from scipy.special import xlogy

from dro_opt.reformulations import (
    burg_exp_cone,
    chi2_distance_soc,
    chi_m_power_cone,
    cressie_read_power_cone,
    hellinger_soc,
    j_divergence_exp_cone,
    kl_exp_cone,
    tv_linear,
)
from dro_opt.reformulations.chi2_soc import chi2_dual
from dro_opt.reformulations.cvar_linear import cvar_dual
from dro_opt.reformulations.phi_dual import phi_divergence_dual

Params = dict[str, float]

# ----------------------------------------------------------------------------- reference math
#: (name, params) of every divergence checked; chi-m at m = 1.5, 3; Cressie-Read at -1, 0.5, 2.
DIVERGENCES: list[tuple[str, Params]] = [
    ("kl", {}),
    ("burg", {}),
    ("j", {}),
    ("chi2", {}),
    ("modified-chi2", {}),
    ("chi2-distance", {}),
    ("hellinger", {}),
    ("chi-m", {"m": 1.5}),
    ("chi-m", {"m": 3.0}),
    ("cressie-read", {"theta": -1.0}),
    ("cressie-read", {"theta": 0.5}),
    ("cressie-read", {"theta": 2.0}),
    ("tv", {}),
]

RULE_OF = {
    "kl": "kl_exp_cone",
    "burg": "burg_exp_cone",
    "j": "j_divergence_exp_cone",
    "chi2": "chi2_soc",
    "modified-chi2": "chi2_soc",
    "chi2-distance": "chi2_distance_soc",
    "hellinger": "hellinger_soc",
    "chi-m": "chi_m_power_cone",
    "cressie-read": "cressie_read_power_cone",
    "tv": "tv_linear",
    "cvar": "cvar_linear",
}


def phi(name: str, params: Params, t: np.ndarray) -> np.ndarray:
    """``phi(t)`` on ``t >= 0`` (``+inf`` where ``phi(0)`` is infinite), from the definitions."""
    t = np.asarray(t, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "kl":
            out = xlogy(t, t) - t + 1
        elif name == "burg":
            out = -np.log(t) + t - 1
        elif name == "j":
            out = (t - 1) * np.log(t)
        elif name == "chi2":
            out = (t - 1) ** 2 / 2
        elif name == "modified-chi2":
            out = (t - 1) ** 2
        elif name == "chi2-distance":
            out = (t - 1) ** 2 / t
        elif name == "hellinger":
            out = (np.sqrt(t) - 1) ** 2
        elif name == "chi-m":
            out = np.abs(t - 1) ** params["m"]
        elif name == "tv":
            out = np.abs(t - 1)
        elif name == "cressie-read":
            th = params["theta"]
            out = (1 - th + th * t - t**th) / (th * (1 - th))
        else:
            raise KeyError(name)
    return np.where(np.isnan(out), np.inf, out)


def slope_at_inf(name: str, params: Params) -> float:
    """``phi'_inf`` (paper 002 Table 1; Cressie-Read: ``1 / (1 - theta)`` for ``theta < 1``)."""
    if name in ("burg", "chi2-distance", "hellinger", "tv"):
        return 1.0
    if name == "cressie-read" and params["theta"] < 1:
        return 1.0 / (1.0 - params["theta"])
    return math.inf


_GRID = np.concatenate([[0.0], np.logspace(-9, 4, 2601)])


def conjugate_numeric(name: str, params: Params, a: np.ndarray) -> np.ndarray:
    """``phi*(a) = sup_{t >= 0} a t - phi(t)`` by a log grid and bounded Brent refinement."""
    a = np.asarray(a, dtype=float)
    vals = a[:, None] * _GRID[None, :] - phi(name, params, _GRID)[None, :]
    best = np.argmax(vals, axis=1)
    out = vals[np.arange(a.size), best]
    for i, k in enumerate(best):  # a handful of atoms: refine each bracket
        lo, hi = _GRID[max(k - 1, 0)], _GRID[min(k + 1, _GRID.size - 1)]
        res = minimize_scalar(
            lambda t, ai=a[i]: float(phi(name, params, t)) - ai * t,
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-13},
        )
        out[i] = max(out[i], -res.fun)
    return out


def divergence_expr(name: str, params: Params, P: cp.Expression, p: np.ndarray) -> cp.Expression:
    """``sum_i p_i phi(P_i / p_i)`` (all ``p_i > 0``) as a convex cvxpy expression in ``P``."""
    if name == "kl":
        terms = cp.rel_entr(P, p) - P + p
    elif name == "burg":
        terms = -cp.multiply(p, cp.log(P)) + p * np.log(p) + P - p
    elif name == "j":
        terms = cp.rel_entr(P, p) + cp.rel_entr(p, P)
    elif name == "chi2":
        terms = cp.multiply(0.5 / p, cp.square(P - p))
    elif name == "modified-chi2":
        terms = cp.multiply(1.0 / p, cp.square(P - p))
    elif name == "chi2-distance":
        terms = P - 2 * p + cp.multiply(p**2, cp.inv_pos(P))
    elif name == "hellinger":
        terms = P - 2 * cp.multiply(np.sqrt(p), cp.sqrt(P)) + p
    elif name == "chi-m":
        m = params["m"]
        terms = cp.multiply(p ** (1 - m), cp.power(cp.abs(P - p), m))
    elif name == "tv":
        terms = cp.abs(P - p)
    elif name == "cressie-read":
        th = params["theta"]
        den = th * (1 - th)
        terms = (p * (1 - th) + th * P) / den - cp.multiply(p ** (1 - th) / den, cp.power(P, th))
    else:
        raise KeyError(name)
    return cp.sum(terms)


class PrimalWorstCase:
    """``sup { P'l + P0 L : D_phi(P, p) + phi'_inf P0 <= r }`` as a cvxpy model (``l`` a
    parameter), the generalized divergence of paper 002 Lemma 3.4 on the atoms plus, when
    ``with_sup`` and ``phi'_inf < inf``, an extra atom of loss ``L`` and nominal mass 0.
    ``name = "cvar"`` is ``{P : P_i <= p_i / alpha}``."""

    def __init__(
        self, name: str, params: Params, p: np.ndarray, r: float, with_sup: bool = False
    ) -> None:
        n = p.size
        pos, null = np.flatnonzero(p > 0), np.flatnonzero(p == 0)
        self.loss = cp.Parameter(n)
        self.sup = cp.Parameter()
        P = cp.Variable(pos.size, nonneg=True)
        objective = self.loss[pos] @ P
        mass = cp.sum(P)
        cons = []
        if name == "cvar":
            cons.append(P <= p[pos] / params["alpha"])
        else:
            slope = slope_at_inf(name, params)
            div = divergence_expr(name, params, P, p[pos])
            if math.isfinite(slope):
                extra = cp.Variable(null.size + 1, nonneg=True)  # null atoms, then the sup atom
                if not with_sup:
                    cons.append(extra[-1] == 0)
                objective = objective + self.sup * extra[-1]
                if null.size:
                    objective = objective + self.loss[null] @ extra[:-1]
                mass = mass + cp.sum(extra)
                div = div + slope * cp.sum(extra)
            cons.append(div <= r)
        cons.append(mass == 1)
        self.problem = cp.Problem(cp.Maximize(objective), cons)

    def value(self, loss: np.ndarray, sup: float = 0.0) -> float:
        self.loss.value = np.asarray(loss, dtype=float)
        self.sup.value = float(sup)
        return solve_reference(self.problem)


# ----------------------------------------------------------------------------- 1. perspectives
cr_rule = cressie_read_power_cone.conjugate_perspective
PERSPECTIVE_RULES: list[tuple[str, str, Params, Callable[..., Any]]] = [
    ("kl_exp_cone", "kl", {}, kl_exp_cone.conjugate_perspective),
    ("burg_exp_cone", "burg", {}, burg_exp_cone.conjugate_perspective),
    ("j_divergence_exp_cone", "j", {}, j_divergence_exp_cone.conjugate_perspective),
    ("chi2_distance_soc", "chi2-distance", {}, chi2_distance_soc.conjugate_perspective),
    ("hellinger_soc", "hellinger", {}, hellinger_soc.conjugate_perspective),
    ("chi_m_power_cone", "chi-m", {"m": 1.5}, chi_m_power_cone.conjugate_perspective),
    ("chi_m_power_cone", "chi-m", {"m": 3.0}, chi_m_power_cone.conjugate_perspective),
    *[
        ("cressie_read_power_cone", "cressie-read", {"theta": th}, cr_rule)
        for th in (-1.0, 0.5, 2.0, -2.0, 0.3, 3.0)  # the last three: asymmetric exponents
    ],
    ("tv_linear", "tv", {}, tv_linear.conjugate_perspective),
]


def _make_perspective(name: str, params: Params, rng: np.random.Generator) -> dict[str, Any]:
    n = 6
    lam = rng.uniform(0.5, 2.0)
    top = min(2.0, 0.8 * slope_at_inf(name, params))
    a = rng.uniform(-4.0, top, size=n)  # s / lam, inside dom phi* (both branches of chi-m, tv)
    return {"s": lam * a, "lam": lam, "q": rng.uniform(0.5, 1.5, size=n)}


def _reference_perspective(name: str, params: Params, d: dict[str, Any]) -> float:
    return float(d["q"] @ (d["lam"] * conjugate_numeric(name, params, d["s"] / d["lam"])))


def _build_perspective(rule: Callable[..., Any], params: Params, em: Any, d: dict) -> Any:
    n = d["s"].size
    s = em.variable("s", n)
    lam = em.variable("lam", 1, lb=0.0)
    em.zero("s_fix", s - d["s"])
    em.zero("lam_fix", lam - d["lam"])
    return em.dot(d["q"], rule(em, s, lam, prefix="rule", **params))


def _label(name: str, params: Params) -> str:
    return name + "".join(f"({k}={v:g})" for k, v in params.items())


CASES: list[RuleCase] = []
for _stem, _name, _params, _rule in PERSPECTIVE_RULES:
    CASES += both_emitters(
        _stem,
        f"perspective {_label(_name, _params)}",
        partial(_make_perspective, _name, _params),
        partial(_reference_perspective, _name, _params),
        partial(_build_perspective, _rule, _params),
        rtol=1e-6,
        atol=1e-6,
    )


def _make_closure(rng: np.random.Generator) -> dict[str, Any]:
    n = 6
    return {"s": -rng.uniform(0.1, 3.0, size=n), "lam": 0.0, "q": rng.uniform(0.5, 1.5, size=n)}


def _reference_closure(d: dict[str, Any]) -> float:
    """At ``lam = 0`` the closed perspective is the recession function ``sup_{t >= 0} s t``,
    which is 0 for ``s <= 0``."""
    return 0.0


# lam = 0 fixed: chi2_distance_soc's cone (lam / 2, lam - s, g) degenerates to g^2 <= 0, which
# Clarabel only solves to reduced accuracy. (In the dual lam > 0 always for chi2-distance:
# phi(0) = inf makes the ball constraint active, paper 002 Remark 3.7.)
for _stem, _name, _params, _rule in PERSPECTIVE_RULES:
    if _stem != "chi2_distance_soc":
        CASES += both_emitters(
            _stem,
            f"closure lam=0 {_label(_name, _params)}",
            _make_closure,
            _reference_closure,
            partial(_build_perspective, _rule, _params),
            atol=2e-6,
        )


# ----------------------------------------------------------------------------- 2. worst cases
def _make_worst(
    n: int, zeros: int, radius: tuple[float, float], rng: np.random.Generator
) -> dict[str, Any]:
    p = rng.dirichlet(3.0 * np.ones(n))  # no tiny p_i: the primal reference stays well scaled
    loss = rng.normal(size=n)
    if zeros:
        idx = rng.choice(n, size=zeros, replace=False)
        p[idx] = 0.0
        p /= p.sum()
        loss[idx] = loss.max() + rng.uniform(0.1, 0.5, size=zeros)  # the null atoms matter
    return {
        "p": p,
        "l": loss,
        "r": rng.uniform(*radius),
        "sup": loss.max() + rng.uniform(0.2, 1.0),
    }


def _reference_worst(name: str, params: Params, with_sup: bool, d: dict[str, Any]) -> float:
    return PrimalWorstCase(name, params, d["p"], d["r"], with_sup).value(d["l"], d["sup"])


def _build_worst(name: str, params: Params, with_sup: bool, em: Any, d: dict[str, Any]) -> Any:
    sup = d["sup"] if with_sup else None
    return phi_divergence_dual(em, d["l"], d["p"], name, d["r"], params, sup_loss=sup)


def _worst_cases(
    name: str,
    params: Params,
    label: str,
    *,
    n: int = 8,
    zeros: int = 0,
    radius: tuple[float, float] = (0.05, 0.5),
    with_sup: bool = False,
) -> list[RuleCase]:
    return both_emitters(
        RULE_OF[name],
        f"worst case {_label(name, params)} {label}",
        partial(_make_worst, n, zeros, radius),
        partial(_reference_worst, name, params, with_sup),
        partial(_build_worst, name, params, with_sup),
        rtol=1e-6,
        atol=1e-6,
    )


for _theta in (-2.0, 0.3, 3.0):  # exponents != 1/2 (theta = -1, 0.5, 2 all have alpha = 1/2)
    CASES += _worst_cases("cressie-read", {"theta": _theta}, "N=8")
for _name, _params in DIVERGENCES:
    CASES += _worst_cases(_name, _params, "N=8")
    CASES += _worst_cases(_name, _params, "null atoms", n=10, zeros=3, radius=(0.2, 1.0))
    if math.isfinite(slope_at_inf(_name, _params)) or _name == "kl":
        CASES += _worst_cases(
            _name, _params, "sup_loss", n=10, zeros=2, radius=(0.2, 1.0), with_sup=True
        )
CASES += _worst_cases("cvar", {"alpha": 0.3}, "alpha=0.3 null atoms", n=10, zeros=2)
# radii beyond phi(0) + phi'_inf (KL: beyond -log p_max): the optimal lambda is 0 (closure)
CASES += _worst_cases("kl", {}, "radius 3", n=5, radius=(3.0, 4.0))
CASES += _worst_cases("tv", {}, "radius 2.5 sup_loss", with_sup=True, radius=(2.5, 3.0))
CASES += _worst_cases("hellinger", {}, "radius 2.5 sup_loss", with_sup=True, radius=(2.5, 3.0))


def _build_chi2_direct(em: Any, d: dict[str, Any]) -> Any:
    lo, hi = float(d["l"].min()) - 10.0, float(d["l"].max())
    return chi2_dual(em, d["l"], d["p"], d["r"], prefix="", eta_bounds=(lo, hi), u_upper=hi - lo)


def _build_cvar_direct(em: Any, d: dict[str, Any]) -> Any:
    return cvar_dual(em, d["l"], d["p"], 0.25)


CASES += both_emitters(
    "chi2_soc",
    "chi2_dual with valid bounds, prefix ''",
    partial(_make_worst, 12, 0, (0.05, 2.0)),
    partial(_reference_worst, "chi2", {}, False),
    _build_chi2_direct,
    atol=1e-6,
)
CASES += both_emitters(
    "cvar_linear",
    "cvar_dual alpha=0.25",
    partial(_make_worst, 12, 0, (0.0, 0.0)),
    partial(_reference_worst, "cvar", {"alpha": 0.25}, False),
    _build_cvar_direct,
    atol=1e-6,
)


# ----------------------------------------------------------------------------- 3. decisions
X_BOX = (-2.0, 2.0)
_REF_CACHE: dict[tuple[Any, ...], float] = {}


def _make_decision(rng: np.random.Generator) -> dict[str, Any]:
    n = 6
    p = rng.dirichlet(3.0 * np.ones(n))
    a = rng.normal(size=n)
    return {
        "p": p,
        "a": a - p @ a,  # nominal mean slope 0: the minimiser lies inside the box
        "b": rng.normal(size=n),
        "c": rng.uniform(-1.5, 1.5, size=n),
        "r": rng.uniform(0.1, 0.4),
    }


def _sup_coefs(d: dict[str, Any]) -> tuple[float, float]:
    """``(A, B)`` with ``A |x| + B > max_i a_i x + b_i`` on the box: a support whose loss
    supremum depends on the decision (for the generalized divergence)."""
    return float(np.abs(d["a"]).max()) + 0.5, float(d["b"].max()) + 0.3


def _reference_decision(name: str, params: Params, kind: str, d: dict[str, Any]) -> float:
    """``min_x sup_P E_P[loss(x)]``: bounded Brent over ``x`` of the primal worst case
    (``kind``: ``linear`` / ``quad`` loss, or ``sup`` -- linear loss plus an extra atom of loss
    ``A |x| + B``)."""
    key = (name, tuple(params.items()), kind, *(d[k].tobytes() for k in "pabc"), d["r"])
    if key not in _REF_CACHE:
        wc = PrimalWorstCase(name, params, d["p"], d["r"], with_sup=kind == "sup")
        A, B = _sup_coefs(d)

        def worst(x: float) -> float:
            loss = (x - d["c"]) ** 2 if kind == "quad" else d["a"] * x + d["b"]
            return wc.value(loss, A * abs(x) + B)

        res = minimize_scalar(worst, bounds=X_BOX, method="bounded", options={"xatol": 1e-9})
        _REF_CACHE[key] = min(float(res.fun), worst(X_BOX[0]), worst(X_BOX[1]))
    return _REF_CACHE[key]


def _build_decision(name: str, params: Params, kind: str, em: Any, d: dict[str, Any]) -> Any:
    n = d["p"].size
    x = em.variable("x", 1, lb=X_BOX[0], ub=X_BOX[1])
    xn = em.broadcast(x, n)
    if kind == "quad":
        loss = cp.square(xn - d["c"])  # convex (cvxpy only): DCP through s >= loss - eta
    else:
        loss = em.mul(d["a"], xn) + d["b"]
    sup = None
    if kind == "sup":  # sup_loss as an expression: an epigraph variable z >= A |x| + B
        A, B = _sup_coefs(d)
        sup = em.variable("z", 1)
        em.nonneg("z_ge_pos", sup - x * A - B)
        em.nonneg("z_ge_neg", sup + x * A - B)
    return phi_divergence_dual(em, loss, d["p"], name, d["r"], params, sup_loss=sup)


DECISIONS: list[tuple[str, Params]] = [
    ("kl", {}),
    ("burg", {}),
    ("j", {}),
    ("chi2", {}),
    ("chi2-distance", {}),
    ("hellinger", {}),
    ("chi-m", {"m": 3.0}),
    ("cressie-read", {"theta": -1.0}),
    ("cressie-read", {"theta": 0.5}),
    ("tv", {}),
    ("cvar", {"alpha": 0.3}),
]
for _name, _params in DECISIONS:
    CASES += both_emitters(
        RULE_OF[_name],
        f"min_x max_P linear loss {_label(_name, _params)}",
        _make_decision,
        partial(_reference_decision, _name, _params, "linear"),
        partial(_build_decision, _name, _params, "linear"),
        rtol=1e-6,
        atol=1e-6,
    )
for _name, _params in [
    ("kl", {}),
    ("chi2", {}),
    ("hellinger", {}),
    ("cressie-read", {"theta": 2.0}),
]:
    CASES.append(
        RuleCase(
            RULE_OF[_name],
            f"min_x max_P squared loss {_label(_name, _params)}[cvxpy]",
            _make_decision,
            partial(_reference_decision, _name, _params, "quad"),
            lambda d, nm=_name, pr=_params: solve_cvxpy_emitter(
                partial(_build_decision, nm, pr, "quad"), d
            ),
            rtol=1e-6,
            atol=1e-6,
        )
    )
for _name, _params in [
    ("burg", {}),
    ("hellinger", {}),
    ("cressie-read", {"theta": 0.5}),
    ("tv", {}),
]:
    CASES += both_emitters(
        RULE_OF[_name],
        f"min_x max_P linear loss, sup_loss A|x| + B {_label(_name, _params)}",
        _make_decision,
        partial(_reference_decision, _name, _params, "sup"),
        partial(_build_decision, _name, _params, "sup"),
        rtol=1e-6,
        atol=1e-6,
    )
