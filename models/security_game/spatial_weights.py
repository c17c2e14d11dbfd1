r"""Ball weights ``P`` for the node bounds of the spatial branch-and-bound (:mod:`.spatial`).

Any ``P`` of the ball makes the node bounds of :mod:`.spatial_bounds` valid; this module only
chooses a good one. On a box ``Q`` with the linearisation ``L(z) = g + J z`` and Taylor errors
``err_up / err_down`` (:func:`.spatial_bounds.box_model`), the relaxation::

    max  Phi(y)   over  z in Q,  sum z <= R,  -err_down <= y - L(z) <= err_up

is an SOCP (``Phi`` concave: VR ``E_p y - kappa ||y - E_p y||_{2,p}``; chi-square
``max_eta eta - C ||(eta - y)_+||_{2,p}``, ``C = sqrt(1 + 2 rho / n)``, the dual of
docs/conventions.md, 'Chi-square DRO'). By Sion's minimax theorem its value equals
``min_{P in ball} max_{z, y} P'y``, and ``max_{z, y} P'y`` is exactly the linear bound of
:func:`.spatial_bounds.linear_bound`; the minimising ``P`` is the worst case at the optimal
``y``, computed here in closed form (VR) or by the exact chi-square worst case, then repaired
into the ball (:func:`.dual_bound.repair`). The SOCP is solved by Clarabel built directly with
scipy.sparse (a few hundred non-zeros). A failed solve returns ``None`` (the caller falls back
to the worst case at the centre, still valid).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from dro_opt.algorithms.capture_objectives import chi2_worst_case
from dro_opt.models.security_game.dual_bound import repair
from dro_opt.models.security_game.spatial_bounds import BoxModel


def worst_case_weights(
    y: np.ndarray, p: np.ndarray, objective: str, rho: float, n: float
) -> np.ndarray:
    """``argmin_{P in ball} P'y`` repaired into the ball (``p`` for ERM)."""
    if objective == "erm" or rho == 0.0:
        return p.copy()
    kappa = math.sqrt(2.0 * rho / n)
    if objective == "variance":
        dev = y - float(p @ y)
        std = math.sqrt(max(float(p @ (dev * dev)), 0.0))
        P = p - kappa * p * dev / std if std > 0 else p.copy()
        return repair(P, p, kappa, signed=True)
    _, P = chi2_worst_case(p, y, rho / n)
    return repair(P, p, kappa, signed=False)


def node_relaxation(
    box: BoxModel, p: np.ndarray, objective: str, rho: float, n: float, budget: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(P, z)``: the ball weights of the SOCP relaxation's optimal ``y`` and its ``z``
    (feasible for the node), or None if Clarabel does not solve it."""
    import clarabel

    N, M = box.jacobian.shape
    J = box.jacobian
    g = box.values - J @ box.center
    chi2 = objective == "chi2"
    nx = M + N + (N + 2 if chi2 else 1)  # chi2: z, y, eta, s (N), t; VR: z, y, t
    n_nonneg = (4 if chi2 else 2) * N + 2 * M + 1
    A = np.zeros((n_nonneg + N + 1, nx))  # small and dense: one conversion below
    b = np.zeros(n_nonneg + N + 1)
    Y = slice(M, M + N)
    rows = np.arange(N)
    A[:N, :M], A[rows, M + rows], b[:N] = -J, 1.0, g + box.err_up  # y - J z <= g + err
    A[N : 2 * N, :M], A[N + rows, M + rows], b[N : 2 * N] = J, -1.0, box.err_down - g
    cols = np.arange(M)
    A[2 * N + cols, cols], b[2 * N : 2 * N + M] = 1.0, box.hi  # z <= hi
    A[2 * N + M + cols, cols], b[2 * N + M : 2 * N + 2 * M] = -1.0, -box.lo
    A[2 * N + 2 * M, :M], b[2 * N + 2 * M] = 1.0, budget  # sum z <= R
    sqrt_p = np.sqrt(p)
    q = np.zeros(nx)
    soc = n_nonneg
    if chi2:
        eta, s0, t = M + N, M + N + 1, M + 2 * N + 1
        q[eta], q[t] = -1.0, math.sqrt(1.0 + 2.0 * rho / n)
        r0 = 2 * N + 2 * M + 1
        A[r0 + rows, M + rows], A[r0 : r0 + N, eta], A[r0 + rows, s0 + rows] = -1.0, 1.0, -1.0
        A[r0 + N + rows, s0 + rows] = -1.0  # s >= eta - y, s >= 0
        A[soc, t] = -1.0
        A[soc + 1 + rows, s0 + rows] = -sqrt_p
    else:
        t = M + N
        q[Y], q[t] = -p, math.sqrt(2.0 * rho / n)
        A[soc, t] = -1.0
        A[soc + 1 :, Y] = -(sqrt_p[:, None] * (np.eye(N) - p[None, :]))  # centred, p-weighted
    A = sp.csc_matrix(A)
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    cones = [clarabel.NonnegativeConeT(n_nonneg), clarabel.SecondOrderConeT(N + 1)]
    try:
        sol = clarabel.DefaultSolver(sp.csc_matrix((nx, nx)), q, A, b, cones, settings).solve()
    except Exception:  # any solver failure: the caller's fallback P is valid
        return None
    if str(sol.status) not in ("Solved", "AlmostSolved"):
        return None
    x = np.asarray(sol.x, dtype=float)
    if not np.all(np.isfinite(x)):
        return None
    z = np.clip(x[:M], box.lo, box.hi)
    total = float(z.sum())
    if total > budget:
        z = box.lo + (z - box.lo) * max(0.0, budget - float(box.lo.sum())) / max(
            total - float(box.lo.sum()), 1e-300
        )
    return worst_case_weights(x[M : M + N], p, objective, rho, n), z
