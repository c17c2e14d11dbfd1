r"""MC-FCP upper bound by secant over-estimation: a MISOCP relaxation, no PWLA error line.

Setting (paper 003 Sec. 3.2 'MC-FCP'; :mod:`.instance`): client ``n`` is captured with
probability ``f_n(z) = S_n / (1 + S_n) = 1 - 1 / (1 + S_n)``, ``S_n(z) = sum_j A_nj(z_j)``,
``A_nj(t) = exp(bias_nj) expm1(rate_nj t)`` (``A_nj(0) = 0``, convex and non-decreasing in
``t`` for ``rate_nj >= 0``), over the continuous set ``Z = {0 <= z <= U, sum_j z_j <= B}``.

Incremental (delta) formulation (paper 003 App. A, the Sec. 3.2 MC-FCP model), but with
CONTINUOUS fills. On ``[0, U'_j]``, ``U'_j = min(U_j, B)`` (larger values are infeasible), the
grid ``t_jk = k delta_j``, ``k = 0..K``; fills ``v_jk in [0, 1]`` and binaries ``u_jk``
(``k = 1..K-1``) with ``v_j,k+1 <= u_jk <= v_jk``, and::

    z_j = delta_j sum_k v_jk,    sum_j z_j <= B,
    S^sec_n(v) = sum_j sum_k dA_njk v_jk,    dA_njk = A_nj(t_jk) - A_nj(t_j,k-1).

The ordering rows force the fills ``1, ..., 1, theta, 0, ..., 0`` (``u`` binary: ``u_jk = 1``
gives ``v_jk = 1``, ``u_jk = 0`` gives ``v_j,k+1 = 0``), so every ``z in Z`` has exactly one
fill vector, and ``S^sec_n`` is then the secant (chord) interpolant of ``S_n`` on the cell of
each ``z_j``.

Claim 1 (over-estimation). For convex ``A_nj`` the chord on a cell lies above the function:
``A(t_k-1 + theta delta) <= (1 - theta) A(t_k-1) + theta A(t_k)``. Summing over ``j``,
``S^sec_n(v(z)) >= S_n(z)`` for every ``z in Z``, hence ``f^sec_n := 1 - 1 / (1 + S^sec_n) >=
f_n(z)`` (``f`` is increasing in ``S``).

Claim 2 (conic form, no McCormick). ``y_n <= 1 - 1 / (1 + S^sec_n)`` with ``1 - y_n >= 0`` is
``(1 - y_n)(1 + S^sec_n) >= 1``, the rotated second-order cone ``2 (1 - y_n) (T_n / 2) >= s_n``
with the row scale ``T_n = s_n (1 + S^sec_n)``, ``s_n = 1 / (1 + S_n(U'))`` (coefficients in
``[0, 1]``); linear in ``(y, v)`` -- the hypograph form of the MNL capture used by Mai & Lodi
(2020) for MC-FLP, here on the secant.

Claim 3 (valid upper bound). Let ``Phi`` be any of the objectives of :mod:`.objective`
(ERM, VR, chi-square worst case) as a function of the per-client values. For every ``z in Z``,
``(z, v(z), y = f(z))`` is feasible for the model ``{0 <= y_n <= min(hi_n, f^sec_n(v))}``
(``hi_n = f_n(U') >= f_n(z)``), so ``max Phi(y)`` over the model ``>= max_{z in Z} Phi(f(z))`` =
the continuous optimum: the solver's proven bound is an upper bound WITHOUT any approximation
line. For ERM and chi-square ``Phi`` is non-decreasing in ``y`` (``y <= f^sec`` rows, as in
:mod:`.misocp`), so the model's optimum is the continuous problem with ``f`` replaced by
``f^sec``: the bound exceeds the optimum by at most ``max |f^sec - f|``, a SECOND-order term
(chord error ``<= delta^2 max A'' / 8`` per location). For VR ``Phi`` is not monotone (the model
may lower ``y`` to reduce the standard deviation); the bound stays valid, its tightness is
measured (tests/test_fcp_secant.py, benchmarks/fcp_tables.py).

Measured (tests/test_fcp_secant.py, 8 clients, 2 locations, optimum off the grid; upper minus
the fine-grid + SLSQP optimum for K = 2 / 4 / 8 / 16): ERM 3.8e-2 / 1.1e-2 / 2.3e-3 / 6.7e-4;
VR (rho = 3) and chi2 (rho = 3) both 2.9e-2 / 9.6e-3 / 1.9e-3 / 6.2e-4 -- roughly 1/K^2, and VR
as tight as chi2 here.

Lower bound: ``z = delta * sum_k v`` of the solver's solution is feasible for the ORIGINAL
continuous problem (no rounding to a grid); the caller evaluates it exactly on the full data.

References: paper 003 Sec. 3.2 and App. A (incremental PWLA of the MC-FCP investments and the
conic MC-FLP form); T. Mai, A. Lodi (2020). A multicut outer-approximation approach for
competitive facility location under random utilities. EJOR 284(3) (conic hypograph of the
capture probability).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from dro_opt.conic import ConicBuilder, ConicProblem
from dro_opt.errors import ParameterError
from dro_opt.models.facility_cost.instance import FCPInstance
from dro_opt.models.facility_cost.misocp import robust_objective
from dro_opt.models.facility_cost.objective import OBJECTIVES, attractiveness, capture_range
from dro_opt.reformulations.emitter import ConicEmitter
from dro_opt.reformulations.pwla_fractional import PWLAGrid, pwla_grid


@dataclass
class FCPSecant:
    """The built secant MISOCP (sense max, mean units) and how to read its decision."""

    problem: ConicProblem
    objective: str
    rho: float
    pieces: int
    grid: PWLAGrid

    def decision(self, solution: dict[str, np.ndarray]) -> np.ndarray:
        """``z_j = delta_j sum_k v_jk`` (continuous, module docstring)."""
        v = np.clip(np.asarray(solution["v"], dtype=float), 0.0, 1.0)
        return self.grid.delta * v.reshape(self.grid.lower.size, self.grid.pieces).sum(axis=1)


def secant_capture(instance: FCPInstance, budget: float, pieces: int, z: np.ndarray) -> np.ndarray:
    """``f^sec_n(z)`` (N,): the capture with each ``A_nj`` replaced by its chord interpolant on
    the grid of the model (module docstring, Claim 1)."""
    upper = np.minimum(instance.upper, budget)
    grid = pwla_grid(np.zeros(instance.num_locations), upper, int(pieces))
    A = attractiveness(instance, grid.points)  # (N, M, K + 1)
    pos = np.clip(np.asarray(z, dtype=float) / np.where(grid.delta > 0, grid.delta, 1.0), 0, None)
    cell = np.minimum(np.floor(pos), grid.pieces - 1).astype(int)  # (M,)
    theta = np.clip(pos - cell, 0.0, 1.0)
    cols = np.arange(instance.num_locations)
    left, right = A[:, cols, cell], A[:, cols, cell + 1]
    S = ((1.0 - theta) * left + theta * right).sum(axis=1)
    return S / (1.0 + S)


def build_fcp_secant(
    instance: FCPInstance, budget: float, objective: str = "erm", rho: float = 0.0,
    pieces: int = 8,
) -> FCPSecant:  # fmt: skip
    """Build the secant MISOCP relaxation (module docstring); ``rho = 0`` builds ERM."""
    if objective not in OBJECTIVES:
        raise ParameterError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if not (math.isfinite(rho) and rho >= 0):
        raise ParameterError(f"rho must be a finite number >= 0, got {rho!r}")
    if not (math.isfinite(budget) and budget > 0):
        raise ParameterError(f"budget must be a finite number > 0, got {budget}")
    if isinstance(pieces, bool) or not isinstance(pieces, int | np.integer) or pieces < 1:
        raise ParameterError(f"pieces (K) must be an integer >= 1, got {pieces!r}")
    objective = "erm" if rho == 0 else objective
    N, M = instance.shape
    K = int(pieces)
    upper = np.minimum(instance.upper, budget)
    grid = pwla_grid(np.zeros(M), upper, K)
    A = attractiveness(instance, grid.points)  # (N, M, K + 1), A[:, :, 0] = 0
    scale = 1.0 / (1.0 + A[:, :, -1].sum(axis=1))  # s_n
    dA = sp.csr_matrix(np.diff(A, axis=2).reshape(N, M * K) * scale[:, None])
    lo, hi = capture_range(instance, upper)

    bld = ConicBuilder(sense="max", name=f"mcfcp_secant_misocp_{objective}")
    em = ConicEmitter(bld)
    v = em.variable("v", M * K, lb=0.0, ub=1.0)  # coordinate-major: v[j K + k] = v_j,k+1
    if K > 1:
        u = em.variable("u", M * (K - 1), vtype="binary")
        cur = (np.arange(M)[:, None] * K + np.arange(K - 1)[None, :]).ravel()  # v_jk, k < K
        em.nonneg("order_down", em.take(v, cur) - u)  # u_jk <= v_jk
        em.nonneg("order_up", u - em.take(v, cur + 1))  # v_j,k+1 <= u_jk
    em.nonneg("budget", float(budget) - em.dot(np.repeat(grid.delta, K), v))
    y = em.variable("y", N, lb=lo, ub=hi)
    T = em.matmul(dA, v) + scale  # s_n (1 + S^sec_n)
    em.rsoc("secant_hypograph", 1.0 - y, T * 0.5, np.sqrt(scale))
    q = instance.q
    n = float(q.sum())
    robust_objective(em, y, q / n, n, lo, hi, objective, float(rho))
    return FCPSecant(bld.build(), objective, float(rho), K, grid)


__all__ = ["FCPSecant", "build_fcp_secant", "secant_capture"]
