"""Build and solve cost of the DRO modelling layer vs the same dual written by hand, and RSOME.

Models (continuous relaxations, so every implementation solves the same convex program; the
integer versions differ only by the integrality marks):

* newsvendor (:mod:`dro_opt.models.newsvendor`, ``J = 2`` products, ``N`` demand samples) under a
  KL ball (r = 0.05), a chi-square ball (r = 0.05) and a type-1 Wasserstein ball (l1 cost,
  r = 0.5, demand support ``D >= 0``: the ``2^J = 4``-piece max-affine loss);
* portfolio (:mod:`dro_opt.models.portfolio`, ``J = 10`` assets, ``k = 3``, ``b`` relaxed to
  ``[0, 1]``) under KL (r = 0.05), chi-square (r = 0.05) and Wasserstein (l1 cost, r = 0.05,
  support ``R^J``).

Implementations, all from the same numpy data:

* ``modelling``: ``build_newsvendor`` / ``build_portfolio`` (``dro_opt.dro.worst_case``);
* ``hand``: the SAME dual written directly in cvxpy (KL: Ben-Tal et al. 2013,
  ``s >= l - eta``, ``ExpCone(s, lam, v)``, objective ``eta + lam r + p'v - lam``;
  chi-square: Duchi & Namkoong's ``eta + sqrt(1 + 2r) ||(l - eta)_+||_{2,p}`` as one SOC;
  Wasserstein: Mohajerin Esfahani & Kuhn 2018 Thm 4.2 with the box-support multipliers
  ``gamma_k >= 0``, ``|gamma_k + a_k| <= lam``, resp. ``||w||_inf <= lam``);
* ``rsome-dual``: the same dual written by hand in RSOME's ``ro.Model`` (vectorised);
* ``rsome-dro``: RSOME's own distributionally robust modelling (``dro.Model`` with one event per
  sample: ``probset(kldiv(...))`` for KL, ``probset(sumsqr(p - p_hat) <= 2 r / N)`` for
  chi-square, the event-wise Wasserstein set ``||z - xi_i||_1 <= u``, ``E[u] <= r`` with
  event-wise affine recourse for Wasserstein). Its per-event support is set in a Python loop
  (RSOME's API) and its canonicalisation grows superlinearly (measured here: 4.4 s at N = 250,
  13 s at 500, 66 s at 1000 for the Wasserstein newsvendor), so it runs only for
  ``N <= --rsome-dro-max`` (default 1000). RSOME's ``expcone`` takes scalar arguments, so the
  hand-written KL dual in RSOME adds its N cones one call at a time, and its ``do_math`` then
  grows superlinearly too (measured: 2.1 s at N = 1000, 21 s at 2000, 89 s at 4000): KL rows
  in RSOME run only for ``N <= --rsome-exp-max`` (default 2000).

Measured per implementation: BUILD = constructing the model + canonicalising it to solver-ready
data (cvxpy: ``dro_opt.conic.from_cvxpy``, i.e. cvxpy's ``get_problem_data``; RSOME:
``do_math()``), SOLVE = ``dro_opt.solve(problem, solver=...)`` wall time (it canonicalises again
and, for the modelling layer only, re-evaluates the worst case exactly at the solution for the
certificate: the ``certificate`` part of the modelling layer's solve time) resp. RSOME's
``solve``; ``solver s`` = the backend's own seconds. Peak memory (MiB) comes from a second pass
under ``tracemalloc`` (Python allocations only; the solvers' native memory is not seen). Solvers:
Clarabel for the conic models, HiGHS for the linear ones (RSOME's default LP interface is
``scipy.optimize.linprog``, i.e. the HiGHS bundled with SciPy). RSOME cannot solve the conic
models here: its exponential-cone interfaces (MOSEK, COPT, ECOS) are unlicensed or not installed,
and its SOC interfaces (Gurobi, CPLEX) are size-limited pip licences -- those rows print the build
figures and ``n/a (reason)`` for the solve. No timing is asserted anywhere.

Run (from the repository root)::

    python benchmarks/dro_modelling.py --quick          # N in {10^3, 10^4}
    python benchmarks/dro_modelling.py                  # N in {10^3, 10^4, 10^5}
    python benchmarks/dro_modelling.py --sizes 2000 --models nv-kl pf-wass --no-rsome

One measured output of ``--quick`` on this machine (2 cores shared with other jobs, load
average about 2; builds are best of 3 and last 10-250 ms, so their ratios carry noise of about
+-10%; Python 3.11, cvxpy 1.9, Clarabel 0.11, HiGHS 1.16, RSOME 1.3.1 with SciPy's HiGHS)::

    case          N  impl        build s    MiB solve s solver s    MiB    objective  note
    nv-kl      1000  modelling     0.014    2.4   0.101    0.074    2.3            -  num.error
    nv-kl      1000  hand          0.011    2.1   0.102    0.088    2.1   -7.9760157  ok
    nv-kl      1000  rsome-dual    2.170    7.5       -        -      -            -  n/a exp
    nv-kl      1000  rsome-dro    41.493      -       -        -      -            -  n/a exp
    nv-chi2    1000  modelling     0.011    1.9   0.101    0.035    1.9   -8.0512462  ok 1e-08
    nv-chi2    1000  hand          0.010    1.9   0.047    0.036    1.8   -8.0512462  ok
    nv-chi2    1000  rsome-dual    0.008    0.9       -        -      -            -  n/a soc
    nv-chi2    1000  rsome-dro    17.718      -       -        -      -            -  n/a soc
    nv-wass    1000  modelling     0.040    9.7   0.930    0.527   10.7   -7.5287853  ok 5e-13
    nv-wass    1000  hand          0.030    8.7   0.425    0.390    8.5   -7.5287853  ok
    nv-wass    1000  rsome-dual    0.044    3.7   0.379    0.374      -   -7.5287853  ok
    nv-wass    1000  rsome-dro    39.946      -   2.031    2.020      -   -7.5287853  ok
    pf-kl      1000  modelling     0.013    2.0   0.118    0.048    1.9   0.12936564  ok 4e-09
    pf-kl      1000  hand          0.012    1.8   0.067    0.055    1.7   0.12936928  ok
    pf-kl      1000  rsome-dual    2.323    7.4       -        -      -            -  n/a exp
    pf-kl      1000  rsome-dro    95.651      -       -        -      -            -  n/a exp
    pf-chi2    1000  modelling     0.011    1.6   0.090    0.029    1.6   0.12918735  ok 2e-09
    pf-chi2    1000  hand          0.011    1.5   0.038    0.027    1.4   0.12918759  ok
    pf-chi2    1000  rsome-dual    0.007    0.7       -        -      -            -  n/a soc
    pf-chi2    1000  rsome-dro    46.484      -       -        -      -            -  n/a soc
    pf-wass    1000  modelling     0.011    1.5   0.112    0.005    6.2  -0.82547235  ok 1e-14
    pf-wass    1000  hand          0.009    1.4   0.016    0.005    1.3  -0.82547235  ok
    pf-wass    1000  rsome-dual    0.008    0.6   0.011    0.010      -  -0.82547235  ok
    pf-wass    1000  rsome-dro   106.294      -   1.663    1.648      -  -0.82547235  ok
    nv-kl     10000  modelling     0.056   21.5   0.627    0.567   20.9            -  num.error
    nv-kl     10000  hand          0.050   19.6   0.649    0.597   19.2            -  num.error
    nv-kl     10000  rsome-dual        -      -       -        -      -            -  n/a N>2000
    nv-kl     10000  rsome-dro         -      -       -        -      -            -  n/a N>1000
    nv-chi2   10000  modelling     0.044   17.5   0.902    0.495   16.8   -8.1007295  ok 5e-10
    nv-chi2   10000  hand          0.039   17.0   0.580    0.533   16.7   -8.1007295  ok
    nv-chi2   10000  rsome-dual    0.035    8.4       -        -      -            -  n/a soc
    nv-chi2   10000  rsome-dro         -      -       -        -      -            -  n/a N>1000
    nv-wass   10000  modelling     0.250   90.0  30.849   25.224   99.5   -7.5624925  ok 8e-13
    nv-wass   10000  hand          0.239   83.7  34.647   34.206   82.2   -7.5624925  ok
    nv-wass   10000  rsome-dual    0.737   36.0  26.983   26.959      -   -7.5624925  ok
    nv-wass   10000  rsome-dro         -      -       -        -      -            -  n/a N>1000
    pf-kl     10000  modelling     0.049   18.0   1.274    0.728   16.9  0.074710703  ok 1e-09
    pf-kl     10000  hand          0.043   16.1   1.105    1.007   15.1   0.07472771  ok
    pf-kl     10000  rsome-dual        -      -       -        -      -            -  n/a N>2000
    pf-kl     10000  rsome-dro         -      -       -        -      -            -  n/a N>1000
    pf-chi2   10000  modelling     0.042   13.9   0.766    0.325   13.7  0.074475747  ok 7e-10
    pf-chi2   10000  hand          0.046   13.5   0.673    0.583   12.6  0.074477057  ok
    pf-chi2   10000  rsome-dual    0.020    6.4       -        -      -            -  n/a soc
    pf-chi2   10000  rsome-dro         -      -       -        -      -            -  n/a N>1000
    pf-wass   10000  modelling     0.060   12.8   1.513    0.119   60.1   -1.0142231  ok 0e+00
    pf-wass   10000  hand          0.034   11.8   0.203    0.109   10.9   -1.0142231  ok
    pf-wass   10000  rsome-dual    0.273    6.1   0.147    0.130      -   -1.0142231  ok
    pf-wass   10000  rsome-dro         -      -       -        -      -            -  n/a N>1000
    note: ok = optimal (modelling rows: + certificate gap); num.error = Clarabel
      stopped (InsufficientProgress); n/a exp = RSOME has no usable exp-cone solver here (MOSEK
      unlicensed, COPT/ECOS not installed); n/a soc = RSOME's SOC solvers here are size-limited
      Gurobi/CPLEX pip licences; n/a N>M = skipped (superlinear RSOME build, see the docstring).

    ratios modelling / hand (build s, build MiB, solve s); RSOME build s / modelling's
      nv-kl      1000  build 1.20x  MiB 1.11x  solve 0.99x  rsome-dual 158x  rsome-dro 3015x
      nv-chi2    1000  build 1.12x  MiB 1.05x  solve 2.13x  rsome-dual 0.70x  rsome-dro 1582x
      nv-wass    1000  build 1.32x  MiB 1.11x  solve 2.19x  rsome-dual 1.10x  rsome-dro 997x
      pf-kl      1000  build 1.10x  MiB 1.13x  solve 1.77x  rsome-dual 179x  rsome-dro 7386x
      pf-chi2    1000  build 1.02x  MiB 1.05x  solve 2.38x  rsome-dual 0.59x  rsome-dro 4073x
      pf-wass    1000  build 1.12x  MiB 1.11x  solve 7.20x  rsome-dual 0.77x  rsome-dro 9999x
      nv-kl     10000  build 1.12x  MiB 1.09x  solve 0.97x
      nv-chi2   10000  build 1.11x  MiB 1.03x  solve 1.56x  rsome-dual 0.81x
      nv-wass   10000  build 1.05x  MiB 1.08x  solve 0.89x  rsome-dual 2.95x
      pf-kl     10000  build 1.15x  MiB 1.12x  solve 1.15x
      pf-chi2   10000  build 0.92x  MiB 1.03x  solve 1.14x  rsome-dual 0.47x
      pf-wass   10000  build 1.76x  MiB 1.08x  solve 7.47x  rsome-dual 4.55x

N = 10^5, one build each, no traced solve, no RSOME
(``--sizes 100000 --no-rsome --skip-solve-memory --repeats 1``; nv-wass -- an LP with about
10^6 columns -- was stopped after 20 minutes inside the modelling layer's ``dro_opt.solve`` and
is not reported; the portfolio rows are from a second run with ``--models pf-kl pf-chi2
pf-wass``)::

    case          N  impl        build s    MiB solve s solver s    MiB    objective  note
    nv-kl    100000  modelling     1.321  212.6  13.392   12.603      -            -  num.error
    nv-kl    100000  hand          1.046  194.7  13.262   12.047      -            -  num.error
    nv-chi2  100000  modelling     0.473  172.6  18.571   10.965      -   -8.0601112  feasible
    nv-chi2  100000  hand          0.491  168.7  11.064   10.403      -   -8.0601112  feasible
    pf-kl    100000  modelling     0.757  178.0  30.179   15.747      -  0.086986557  feasible
    pf-kl    100000  hand          0.534  158.9   6.965    6.466      -            -  num.error
    pf-chi2  100000  modelling     0.408  136.8  13.385    7.935      -  0.086437806  ok 2e-10
    pf-chi2  100000  hand          0.486  133.0   8.303    7.846      -  0.086459021  ok
    pf-wass  100000  modelling     0.417  125.0  18.129    0.618      -  -0.94525298  ok 1e-13
    pf-wass  100000  hand          0.318  115.7   0.861    0.499      -  -0.94525298  ok

    ratios modelling / hand: nv-kl build 1.26x, nv-chi2 0.96x, pf-kl 1.42x, pf-chi2 0.84x,
    pf-wass 1.31x (MiB 1.03x-1.12x); solve pf-wass 21x (backend 0.6 s of 18.1 s: the rest is
    re-canonicalisation and, mostly, the certificate's worst-case re-evaluation).

Reading it: the modelling layer's build (``worst_case`` + cvxpy canonicalisation) cost 1.02x to
1.32x the hand-written dual's at N = 10^3 and 1.05x to 1.15x at N = 10^4 (pf-wass 1.76x, 26 ms
on 34 ms; pf-chi2 0.92x is noise), with 3-13% more traced memory. ``worst_case`` itself takes
about 3 ms at N = 10^4 (1.2 ms for the hand-written rows); the rest is cvxpy canonicalising the
rule's rows (the Wasserstein rule writes ``norm(C' gamma_k - a_k, inf, axis=1) <= lam`` per
piece where the hand version writes ``abs(...) <= lam``: 0.242 s vs 0.219 s in ``from_cvxpy`` at
N = 10^4 for nv-wass). So the aim of < 10% added build time is met on some rows and missed on
others by 5-30% (more on pf-wass). Solve ratios include the certificate (exact re-evaluation of
the worst case at the solution by the set's own primal and dual programs), which dominates the
portfolio-Wasserstein solve (1.5 s vs 0.2 s at N = 10^4, and 60 vs 11 traced MiB). Clarabel
(default settings) stops with InsufficientProgress on the KL newsvendor at N = 10^4 for BOTH
the rule's and the hand-written dual, and at N = 10^3 for the rule's (the hand-written one
solves); with ``extra={"equilibrate_enable": False}`` both solve at 10^3. RSOME's vectorised
hand-written duals build about as fast as cvxpy (its KL dual needs one ``expcone`` call per
sample and is 150-180x slower); its own DRO modelling took 18-106 s to build at N = 10^3.
At N = 10^5 Clarabel reports ``feasible`` (AlmostSolved) or InsufficientProgress on the KL and
chi-square newsvendor and the KL portfolio for both implementations: a solver-accuracy limit
at this size, not a modelling difference; the certificate then has no proven bound.
"""

from __future__ import annotations

import argparse
import gc
import math
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cvxpy as cp
import numpy as np

import dro_opt
from dro_opt.ambiguity import AmbiguitySet, phi_divergence, wasserstein
from dro_opt.conic.from_cvxpy import from_cvxpy
from dro_opt.models.newsvendor import (
    NewsvendorInstance,
    build_newsvendor,
    make_newsvendor,
    newsvendor_loss,
    newsvendor_pieces,
)
from dro_opt.models.portfolio import PortfolioInstance, build_portfolio, make_returns

NV_PRODUCTS = 2
PF_ASSETS, PF_K = 10, 3
KL_R, CHI2_R = 0.05, 0.05
NV_W_R, PF_W_R = 0.5, 0.05


# --------------------------------------------------------------------------- hand-written duals
def hand_kl(loss: cp.Expression, p: np.ndarray, r: float) -> tuple[cp.Expression, list]:
    """Ben-Tal et al. (2013) KL dual: ``eta + lam r + p'v - lam`` with ``s >= l - eta`` (``l`` is
    convex, not affine) and ``ExpCone(s, lam, v)`` (``v_i >= lam exp(s_i / lam)``)."""
    n = p.size
    eta, lam, v, s = cp.Variable(), cp.Variable(nonneg=True), cp.Variable(n), cp.Variable(n)
    rows = [s >= loss - eta, cp.constraints.ExpCone(s, lam * np.ones(n), v)]
    return eta + lam * r + p @ v - lam, rows


def hand_chi2(loss: cp.Expression, p: np.ndarray, r: float) -> tuple[cp.Expression, list]:
    """Duchi & Namkoong: ``eta + sqrt(1 + 2 r) tau``, ``u >= (l - eta)_+``,
    ``tau >= ||sqrt(p) u||_2``."""
    n = p.size
    eta, u, tau = cp.Variable(), cp.Variable(n, nonneg=True), cp.Variable()
    rows = [u >= loss - eta, cp.SOC(tau, cp.multiply(np.sqrt(p), u))]
    return eta + math.sqrt(1.0 + 2.0 * r) * tau, rows


def hand_wasserstein_nv(
    inst: NewsvendorInstance, x: cp.Variable, r: float
) -> tuple[cp.Expression, list]:
    """MEK 2018 Thm 4.2, l1 cost (dual norm inf), support ``D >= 0`` (``C = -I``, ``d = 0``):
    ``s_i >= a_k' D_i + b_k + gamma_ik' D_i``, ``|gamma_ik + a_k| <= lam``, ``gamma >= 0``."""
    D = inst.demand
    n, J = D.shape
    lam, s = cp.Variable(nonneg=True), cp.Variable(n)
    rows: list = []
    for a_k, b_k in newsvendor_pieces(inst, x):
        g = cp.Variable((n, J), nonneg=True)
        rows += [
            s >= D @ a_k + b_k + cp.sum(cp.multiply(g, D), axis=1),
            cp.abs(g + np.ones((n, 1)) @ a_k[None, :]) <= lam,
        ]
    p = np.full(n, 1.0 / n)
    return lam * r + p @ s, rows


def hand_wasserstein_pf(R: np.ndarray, w: cp.Variable, r: float) -> tuple[cp.Expression, list]:
    """MEK 2018 Thm 4.2, one piece ``a = -w``, support ``R^J``, l1 cost: ``s >= -R w``,
    ``||w||_inf <= lam``."""
    n = R.shape[0]
    lam, s = cp.Variable(nonneg=True), cp.Variable(n)
    p = np.full(n, 1.0 / n)
    return lam * r + p @ s, [s >= -(R @ w), cp.norm(w, "inf") <= lam]


def hand_newsvendor(inst: NewsvendorInstance, kind: str) -> cp.Problem:
    x = cp.Variable(inst.n_products, nonneg=True, name="order")
    p = np.full(inst.n_samples, 1.0 / inst.n_samples)
    if kind == "kl":
        t, rows = hand_kl(newsvendor_loss(inst, x), p, KL_R)
    elif kind == "chi2":
        t, rows = hand_chi2(newsvendor_loss(inst, x), p, CHI2_R)
    else:
        t, rows = hand_wasserstein_nv(inst, x, NV_W_R)
    return cp.Problem(cp.Minimize(t), [*rows, inst.cost @ x <= inst.budget])


def hand_portfolio(inst: PortfolioInstance, kind: str) -> cp.Problem:
    J = inst.n_assets
    w, b = cp.Variable(J, name="weights"), cp.Variable(J, name="chosen")
    p = np.full(inst.n_samples, 1.0 / inst.n_samples)
    if kind == "kl":
        t, rows = hand_kl(-(inst.returns @ w), p, KL_R)
    elif kind == "chi2":
        t, rows = hand_chi2(-(inst.returns @ w), p, CHI2_R)
    else:
        t, rows = hand_wasserstein_pf(inst.returns, w, PF_W_R)
    cons = [w >= 0, cp.sum(w) == 1, w <= cp.multiply(inst.upper, b), cp.sum(b) <= PF_K]
    return cp.Problem(cp.Minimize(t), [*rows, *cons, b >= 0, b <= 1])


# --------------------------------------------------------------------------- RSOME
def rsome_dual_newsvendor(inst: NewsvendorInstance, kind: str) -> Any:
    """The same duals in RSOME's ``ro.Model`` (deterministic model; vectorised except the KL
    exponential cones, which RSOME takes one per call)."""
    from rsome import ro

    c, s, v, D = inst.cost, inst.price, inst.salvage, inst.demand
    n, J = D.shape
    m = ro.Model()
    x = m.dvar(J)
    over = m.dvar((n, J))  # over_ij >= (x_j - D_ij)_+
    m.st(over >= 0, over >= np.ones((n, 1)) @ x.reshape((1, J)) - D)
    m.st(x >= 0, c @ x <= inst.budget)
    if kind == "wasserstein":
        lam, sv = m.dvar(), m.dvar(n)
        m.st(lam >= 0)
        margin = s - v
        for a_k, _ in newsvendor_pieces(inst, cp.Variable(J)):
            ind = (a_k != 0).astype(float)
            g = m.dvar((n, J))
            b_k = (c - s + margin * ind) @ x
            m.st(g >= 0, sv >= D @ a_k + b_k + (g * D).sum(axis=1))
            m.st(g + np.ones((n, 1)) @ a_k[None, :] <= lam)
            m.st(-(g + np.ones((n, 1)) @ a_k[None, :]) <= lam)
        m.min(lam * NV_W_R + sv.sum() * (1.0 / n))
        return m
    _rsome_phi_dual(m, over @ (s - v) + (c - s) @ x, n, kind)
    return m


def _rsome_phi_dual(m: Any, loss: Any, n: int, kind: str) -> None:
    """KL / chi-square dual rows and objective on an RSOME ``ro.Model``."""
    import rsome as rso

    if kind == "kl":
        eta, lam, vv = m.dvar(), m.dvar(), m.dvar(n)
        m.st(lam >= 0)
        for i in range(n):  # RSOME's expcone takes scalar x and z: one call per sample
            m.st(rso.expcone(vv[i], loss[i] - eta, lam))
        m.min(eta + lam * KL_R + vv.sum() * (1.0 / n) - lam)
    else:
        eta, u, tau = m.dvar(), m.dvar(n), m.dvar()
        m.st(u >= 0, u >= loss - eta, rso.norm(u * np.sqrt(1.0 / n)) <= tau)
        m.min(eta + math.sqrt(1.0 + 2.0 * CHI2_R) * tau)


def rsome_dual_portfolio(inst: PortfolioInstance, kind: str) -> Any:
    from rsome import ro

    R = inst.returns
    n, J = R.shape
    m = ro.Model()
    w, b = m.dvar(J), m.dvar(J)
    m.st(w >= 0, w.sum() == 1, w <= inst.upper * b, b.sum() <= PF_K, b >= 0, b <= 1)
    loss = -(R @ w)
    if kind == "wasserstein":
        lam, sv = m.dvar(), m.dvar(n)
        m.st(lam >= 0, sv >= loss, w <= lam, -w <= lam)
        m.min(lam * PF_W_R + sv.sum() * (1.0 / n))
    else:
        _rsome_phi_dual(m, loss, n, kind)
    return m


def rsome_dro_newsvendor(inst: NewsvendorInstance, kind: str) -> Any:
    """RSOME's own DRO modelling: one event per sample, event-wise recourse ``y``."""
    import rsome as rso
    from rsome import E, dro

    c, s, v, D = inst.cost, inst.price, inst.salvage, inst.demand
    n, J = D.shape
    m = dro.Model(n)
    x, z = m.dvar(J), m.rvar(J)
    fset = m.ambiguity()
    y = m.dvar(J)
    if kind == "wasserstein":
        u = m.rvar()
        for i in range(n):  # RSOME sets each event's support separately
            fset[i].suppset(z >= 0, rso.norm(z - D[i], 1) <= u)
        fset.exptset(E(u) <= NV_W_R)
        fset.probset(m.p == 1.0 / n)
        y.adapt(u)
    else:
        for i in range(n):
            fset[i].suppset(z == D[i])
        if kind == "kl":
            fset.probset(rso.kldiv(m.p, np.full(n, 1.0 / n), KL_R))
        else:
            fset.probset(rso.sumsqr(m.p - 1.0 / n) <= 2.0 * CHI2_R / n)
    y.adapt(z)
    for i in range(n):
        y.adapt(i)
    m.minsup(E(y.sum()), fset)
    m.st(y >= (c - s) * x, y >= (c - v) * x - (s - v) * z, x >= 0, c @ x <= inst.budget)
    return m


def rsome_dro_portfolio(inst: PortfolioInstance, kind: str) -> Any:
    import rsome as rso
    from rsome import E, dro

    R = inst.returns
    n, J = R.shape
    m = dro.Model(n)
    w, b, z = m.dvar(J), m.dvar(J), m.rvar(J)
    fset = m.ambiguity()
    y = m.dvar()
    if kind == "wasserstein":
        u = m.rvar()
        for i in range(n):
            fset[i].suppset(rso.norm(z - R[i], 1) <= u)
        fset.exptset(E(u) <= PF_W_R)
        fset.probset(m.p == 1.0 / n)
        y.adapt(u)
    else:
        for i in range(n):
            fset[i].suppset(z == R[i])
        if kind == "kl":
            fset.probset(rso.kldiv(m.p, np.full(n, 1.0 / n), KL_R))
        else:
            fset.probset(rso.sumsqr(m.p - 1.0 / n) <= 2.0 * CHI2_R / n)
    y.adapt(z)
    for i in range(n):
        y.adapt(i)
    m.minsup(E(y), fset)
    m.st(y >= -(z @ w), w >= 0, w.sum() == 1, w <= inst.upper * b, b.sum() <= PF_K)
    m.st(b >= 0, b <= 1)
    return m


# --------------------------------------------------------------------------- measurement
@dataclass
class Row:
    model: str
    n: int
    impl: str
    build_s: float | None = None
    build_mib: float | None = None
    solve_s: float | None = None
    solver_s: float | None = None
    solve_mib: float | None = None
    objective: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _peak(fn: Callable[[], Any]) -> tuple[Any, float]:
    gc.collect()
    tracemalloc.start()
    try:
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, peak / 2**20


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # "kl" | "chi2" | "wasserstein"
    family: str  # "newsvendor" | "portfolio"
    solver: str  # dro_opt backend for the cvxpy implementations

    def ambiguity(self) -> AmbiguitySet:
        if self.kind == "kl":
            return phi_divergence("kl", KL_R)
        if self.kind == "chi2":
            return phi_divergence("chi2", CHI2_R)
        return wasserstein(NV_W_R if self.family == "newsvendor" else PF_W_R, norm=1)


CASES = [
    Case("nv-kl", "kl", "newsvendor", "clarabel"),
    Case("nv-chi2", "chi2", "newsvendor", "clarabel"),
    Case("nv-wass", "wasserstein", "newsvendor", "highs"),
    Case("pf-kl", "kl", "portfolio", "clarabel"),
    Case("pf-chi2", "chi2", "portfolio", "clarabel"),
    Case("pf-wass", "wasserstein", "portfolio", "highs"),
]


def cvxpy_builders(case: Case, data: Any) -> dict[str, Callable[[], cp.Problem]]:
    amb = case.ambiguity()
    if case.family == "newsvendor":
        return {
            "modelling": lambda: build_newsvendor(data, amb, integer=False).problem,
            "hand": lambda: hand_newsvendor(data, case.kind),
        }
    return {
        "modelling": lambda: build_portfolio(data, amb, PF_K, integer=False).problem,
        "hand": lambda: hand_portfolio(data, case.kind),
    }


def solve_once(prob: cp.Problem, impl: str, solver: str) -> Any:
    """``dro_opt.solve(problem)`` for the modelling layer (certificate included); the hand-written
    problem goes through the same canonicalisation and backend as a ConicProblem
    (``dro_opt.solve(from_cvxpy(problem))``): ``dro_opt.solve`` on a cvxpy problem checks every
    user constraint with cvxpy's ``violation()``, which for a user-written ``ExpCone`` solves a
    projection with cvxpy's default solver (MOSEK here, unlicensed) and fails."""
    if impl == "modelling":
        return dro_opt.solve(prob, solver=solver)
    return dro_opt.solve(from_cvxpy(prob), solver=solver)


@dataclass(frozen=True)
class Options:
    solve_memory: bool = True  # trace the solves too (a second solve per implementation)
    repeats: int = 3  # build seconds: best of this many (the first also warms caches up)
    rsome_dro_max: int = 1000
    rsome_exp_max: int = 2000


def run_cvxpy(
    case: Case, data: Any, impl: str, make: Callable[[], cp.Problem], opts: Options
) -> Row:
    row = Row(case.name, _n(data), impl)

    def build() -> cp.Problem:
        prob = make()
        from_cvxpy(prob)
        return prob

    row.build_s = min(_timed(build)[1] for _ in range(opts.repeats))
    prob, row.build_mib = _peak(build)
    del prob
    prob = make()
    result, row.solve_s = _timed(lambda: solve_once(prob, impl, case.solver))
    row.solver_s = result.solve_seconds
    row.objective = result.objective
    row.note = SHORT_STATUS.get(result.status.value, result.status.value)
    if (
        impl == "modelling"
        and result.certificate is not None
        and result.certificate.gap is not None
    ):
        row.note += f" {result.certificate.gap:.0e}"
    if opts.solve_memory:
        prob = make()
        _, row.solve_mib = _peak(lambda: solve_once(prob, impl, case.solver))
    return row


def run_rsome(case: Case, data: Any, impl: str, trace_build: bool = True) -> Row:
    """One RSOME implementation; ``trace_build=False`` skips the memory pass (slow builds)."""
    from rsome import lpg_solver

    row = Row(case.name, _n(data), impl)
    if impl == "rsome-dual":
        make = rsome_dual_newsvendor if case.family == "newsvendor" else rsome_dual_portfolio
    else:
        make = rsome_dro_newsvendor if case.family == "newsvendor" else rsome_dro_portfolio

    def build() -> Any:
        m = make(data, case.kind)
        m.do_math()
        return m

    m, row.build_s = _timed(build)
    if trace_build:
        _, row.build_mib = _peak(build)
    if case.kind != "wasserstein":
        row.note = "n/a exp" if case.kind == "kl" else "n/a soc"
        return row
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, row.solve_s = _timed(lambda: m.solve(lpg_solver, display=False))
    sol = m.solution
    row.solver_s = getattr(sol, "time", None)
    try:
        row.objective = float(m.get())
        row.note = "ok"
    except (RuntimeError, SyntaxError) as exc:
        row.note = f"no solution ({type(exc).__name__})"
    return row


def _n(data: Any) -> int:
    return int(data.n_samples)


def make_data(case: Case, n: int, seed: int) -> Any:
    if case.family == "newsvendor":
        return make_newsvendor(n, NV_PRODUCTS, seed=seed)
    return make_returns(n, PF_ASSETS, seed=seed)


# --------------------------------------------------------------------------- output
def _f(v: float | None, fmt: str) -> str:
    width = int(fmt.split(".")[0])
    return "-".rjust(width) if v is None else format(v, fmt)


SHORT_STATUS = {"optimal": "ok", "numerical_error": "num.error"}
HEADER = (
    f"{'case':8s}{'N':>7s}  {'impl':11s}{'build s':>8s}{'MiB':>7s}{'solve s':>8s}{'solver s':>9s}"
    f"{'MiB':>7s}{'objective':>13s}  note"
)
LEGEND = """note: ok = optimal (modelling rows: + certificate gap); num.error = Clarabel
  stopped (InsufficientProgress); n/a exp = RSOME has no usable exp-cone solver here (MOSEK
  unlicensed, COPT/ECOS not installed); n/a soc = RSOME's SOC solvers here are size-limited
  Gurobi/CPLEX pip licences; n/a N>M = skipped (superlinear RSOME build, see the docstring)."""


def print_row(r: Row) -> None:
    print(
        f"{r.model:8s}{r.n:>7d}  {r.impl:11s}{_f(r.build_s, '8.3f')}{_f(r.build_mib, '7.1f')}"
        f"{_f(r.solve_s, '8.3f')}{_f(r.solver_s, '9.3f')}{_f(r.solve_mib, '7.1f')}"
        f"{_f(r.objective, '13.8g')}  {r.note}",
        flush=True,
    )


def print_ratios(rows: list[Row]) -> None:
    """Modelling layer / hand-written (and RSOME / modelling layer) per model and size."""
    print("\nratios modelling / hand (build s, build MiB, solve s); RSOME build s / modelling's")
    by = {(r.model, r.n, r.impl): r for r in rows}
    for (model, n, impl), r in by.items():
        h = by.get((model, n, "hand"))
        if impl != "modelling" or h is None:
            continue
        parts = [
            _ratio("build", r.build_s, h.build_s),
            _ratio("MiB", r.build_mib, h.build_mib),
            _ratio("solve", r.solve_s, h.solve_s),
        ]
        for other in ("rsome-dual", "rsome-dro"):
            o = by.get((model, n, other))
            if o is not None and o.build_s is not None:
                parts.append(_ratio(other, o.build_s, r.build_s))
        print(f"  {model:8s}{n:>7d}  " + "  ".join(parts))


def _ratio(label: str, a: float | None, b: float | None) -> str:
    if not a or not b:
        return f"{label} -"
    q = a / b
    return f"{label} {q:.2f}x" if q < 100 else f"{label} {q:.0f}x"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=None, help="sample sizes N")
    ap.add_argument("--quick", action="store_true", help="N in {10^3, 10^4}")
    ap.add_argument("--models", nargs="+", default=[c.name for c in CASES], help="case names")
    ap.add_argument("--rsome-dro-max", type=int, default=1000, help="largest N for rsome-dro")
    ap.add_argument("--rsome-exp-max", type=int, default=2000, help="largest N for RSOME's KL dual")
    ap.add_argument("--no-rsome", action="store_true", help="skip the RSOME rows")
    ap.add_argument("--skip-solve-memory", action="store_true", help="no traced second solve")
    ap.add_argument("--repeats", type=int, default=3, help="cvxpy builds: best of this many")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    opts = Options(
        solve_memory=not args.skip_solve_memory,
        repeats=max(1, args.repeats),
        rsome_dro_max=args.rsome_dro_max,
        rsome_exp_max=args.rsome_exp_max,
    )
    sizes = args.sizes or ([1000, 10000] if args.quick else [1000, 10000, 100000])
    cases = [c for c in CASES if c.name in args.models]
    rows: list[Row] = []
    print(HEADER)
    for n in sizes:
        for case in cases:
            data = make_data(case, n, args.seed)
            new = [
                run_cvxpy(case, data, impl, make, opts)
                for impl, make in cvxpy_builders(case, data).items()
            ]
            if not args.no_rsome:
                if case.kind == "kl" and n > opts.rsome_exp_max:
                    skip = f"n/a N>{opts.rsome_exp_max}"
                    new.append(Row(case.name, n, "rsome-dual", note=skip))
                else:
                    new.append(run_rsome(case, data, "rsome-dual"))
                if n <= opts.rsome_dro_max:
                    new.append(run_rsome(case, data, "rsome-dro", trace_build=False))
                else:
                    skip = f"n/a N>{opts.rsome_dro_max}"
                    new.append(Row(case.name, n, "rsome-dro", note=skip))
            for r in new:
                print_row(r)
            rows += new
    print(LEGEND)
    print_ratios(rows)


if __name__ == "__main__":
    main()
