"""The PWLA MISOCP of robust facility cost planning (paper 003 Sec. 3.2 'MC-FCP', App. A, (11)).

Composed from the rewrite rules (no cone rows written here; bulk blocks, no loop per client):

* :func:`~dro_opt.reformulations.pwla_fractional.pwla_fractional`: investments ``z_j`` on the
  ``K``-cell grid of ``[0, U'_j]`` (``U'_j = min(U_j, B)``: larger values are infeasible anyway)
  with incremental binaries ``v_j1 >= ... >= v_jK``, the budget row ``sum_j z_j <= B``
  (``A = 1 >= 0``: down-closed, as the PWLA bound needs; the "two additional linear constraints"
  of paper 003 Sec. 3.2 are this row and the ordering rows) and the McCormick rows of paper 003
  eqs. (2)-(10) for every client::

      f_n = sum_j s_n A_nj(z_j) / (s_n + sum_j s_n A_nj(z_j)),   s_n = 1 / (1 + S_n(U')),

  ``A_nj`` the attractiveness of :mod:`.instance`; the row scale ``s_n`` leaves the ratio
  unchanged and keeps every coefficient in ``[0, 1]``.
* Oscillations of the PWLA line: ``A_nj`` is increasing, so ``Oh = A(t_k) - A(t_k-1)`` and
  ``A(t_k-1)`` is its minimum on the cell; numerator = denominator terms, so ``g - r h = (1 - r)
  h`` and ``Og = |1 - r_n| Oh`` with ``r_n`` the middle of ``[0, hi_n]``, ``hi_n = f_n(U')``
  (a bound on the whole box, hence ``eps_n <= hi_n`` too).
* :mod:`~dro_opt.reformulations.variance_soc` (``variance``; ``y = f`` rows) or
  :mod:`~dro_opt.reformulations.chi2_soc` (``chi2``; ``y <= f`` rows, the objective is
  non-decreasing in ``y``); ``erm``: ``max p'y`` with ``y <= f``. Mean units.

The model is the original problem restricted to the grid, exact there; the certificate adds
:meth:`FCPMisocp.pwla_line` (a proven bound on continuous optimum minus grid optimum), with the
rule's per-client errors tightened by the budget (:mod:`.pwla_budget`: a feasible investment
cannot sit in the top cell of every location).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dro_opt.certify import CertificateLine
from dro_opt.conic import ConicBuilder, ConicProblem
from dro_opt.errors import ParameterError
from dro_opt.models.facility_cost.instance import FCPInstance
from dro_opt.models.facility_cost.objective import OBJECTIVES, attractiveness, capture_range
from dro_opt.models.facility_cost.pwla_budget import budget_aware_errors
from dro_opt.reformulations.chi2_soc import chi2_dual
from dro_opt.reformulations.emitter import ConicEmitter, Emitter, Expr
from dro_opt.reformulations.pwla_fractional import (
    PWLAModel,
    monotone_oscillation,
    pwla_error_bound,
    pwla_error_line,
    pwla_fractional,
    pwla_grid,
)
from dro_opt.reformulations.variance_soc import variance_soc


@dataclass
class FCPMisocp:
    """The built model (sense max, mean units) and what the certificate needs."""

    problem: ConicProblem
    objective: str
    rho: float
    pieces: int
    pwla: PWLAModel
    weights: np.ndarray
    errors: np.ndarray  # (N,) budget-aware eps_n (<= the rule's per_sample_error)

    def pwla_line(self) -> CertificateLine:
        """Rigorous bound on (continuous optimum) - (grid optimum), mean units."""
        return pwla_error_line(
            self.errors, self.weights, self.objective, self.rho, pieces=self.pieces
        )

    def decision(self, solution: dict[str, np.ndarray]) -> np.ndarray:
        """The grid investment of a solver solution (from the binaries)."""
        return self.pwla.decision(solution["v"])


def _pieces(instance: FCPInstance, budget: float, pieces: int) -> dict:
    upper = np.minimum(instance.upper, budget)
    grid = pwla_grid(np.zeros(instance.num_locations), upper, pieces)
    A = attractiveness(instance, grid.points)
    scale = 1.0 / (1.0 + A[:, :, -1].sum(axis=1))
    H = A * scale[:, None, None]
    lo, hi = capture_range(instance, upper)
    ref = 0.5 * (lo + hi)
    Oh = monotone_oscillation(H)
    return dict(
        grid=grid, H=H, d0=scale, Oh=Oh, Og=np.abs(1.0 - ref)[:, None, None] * Oh,
        H_low=H[:, :, :-1], lo=lo, hi=hi, ref=ref,
    )  # fmt: skip


def pwla_errors(
    instance: FCPInstance, budget: float, pieces: int, *, budget_aware: bool = True
) -> np.ndarray:
    """Per-client ``eps_n`` for ``pieces`` cells (without building a model): the PWLA rule's,
    tightened by :func:`~dro_opt.models.facility_cost.pwla_budget.budget_aware_errors`."""
    d = _pieces(instance, budget, pieces)
    eps = pwla_error_bound(
        d["grid"], d["H"], d["d0"], d["Og"], d["Oh"], (d["lo"], d["hi"]), reference=d["ref"],
        denominator_lower=d["H_low"], bounds_hold_on_box=True,
    )  # fmt: skip
    return _tightened(d, eps, budget) if budget_aware else eps


def _tightened(d: dict, rule_eps: np.ndarray, budget: float) -> np.ndarray:
    c = np.maximum(np.abs(d["hi"] - d["ref"]), np.abs(d["lo"] - d["ref"]))
    a = d["Og"] + c[:, None, None] * d["Oh"]
    b = np.maximum(np.maximum(d["H"][:, :, :-1] - d["Oh"], d["H_low"]), 0.0)
    spread = d["hi"] - d["lo"]
    delta = d["grid"].delta
    eps = budget_aware_errors(a, b, d["d0"], delta, budget, rule_eps, spread)
    # capture form (pwla_budget docstring): f(z) - f(z') <= dS / (1 + S''), cells' upper ends
    upper_end = budget_aware_errors(d["Oh"], d["H"][:, :, 1:], d["d0"], delta, budget, eps, spread)
    return np.minimum(eps, upper_end)


def robust_objective(
    em: Emitter, y: Expr, p: np.ndarray, n: float, lo: np.ndarray, hi: np.ndarray,
    objective: str, rho: float,
) -> None:  # fmt: skip
    """Set ``max`` of the ERM / VR / chi-square objective of ``y`` (mean units, module doc)."""
    ylo, yhi = float(lo.min()), float(hi.max())
    if objective == "erm":
        em.set_objective(em.dot(p, y))
    elif objective == "variance":
        m, s = variance_soc(
            em, y, p, m_bounds=(float(p @ lo), float(p @ hi)), s_bounds=(0.0, 0.5 * (yhi - ylo))
        )
        em.set_objective(m - s * math.sqrt(2.0 * rho / n))
    else:
        # the reward-form maximiser eta* lies in [min y, max y + (spread/2) / sqrt(c^2 - 1)],
        # c^2 - 1 = 2 rho / n; chi2_dual works on the loss -y, whose eta is -eta*
        eta_max = yhi + 0.5 * (yhi - ylo) / math.sqrt(2.0 * rho / n)
        t = chi2_dual(
            em, -y, p, rho / n, prefix="chi2", eta_bounds=(-eta_max, -ylo),
            u_upper=eta_max - ylo, tau_upper=eta_max - ylo,
        )  # fmt: skip
        em.set_objective(t * -1.0)


def build_fcp_misocp(
    instance: FCPInstance, budget: float, objective: str = "erm", rho: float = 0.0,
    pieces: int = 8,
) -> FCPMisocp:  # fmt: skip
    """Build the PWLA MISOCP (module docstring); ``rho = 0`` builds the ERM model."""
    if objective not in OBJECTIVES:
        raise ParameterError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if not (math.isfinite(rho) and rho >= 0):
        raise ParameterError(f"rho must be a finite number >= 0, got {rho!r}")
    if not (math.isfinite(budget) and budget > 0):
        raise ParameterError(f"budget must be a finite number > 0, got {budget}")
    objective = "erm" if rho == 0 else objective
    d = _pieces(instance, budget, pieces)
    q = instance.q
    n = float(q.sum())
    bld = ConicBuilder(sense="max", name=f"mcfcp_pwla_misocp_{objective}")
    em = ConicEmitter(bld)
    model = pwla_fractional(
        em, d["grid"], d["H"], d["H"], 0.0, d["d0"], d["Og"], d["Oh"], (d["lo"], d["hi"]),
        reference=d["ref"], relation="eq" if objective == "variance" else "le",
        packing=(np.ones((1, instance.num_locations)), float(budget)),
        denominator_lower=d["H_low"], bounds_hold_on_box=True,
    )  # fmt: skip
    robust_objective(em, model.y, q / n, n, d["lo"], d["hi"], objective, float(rho))
    errors = _tightened(d, model.per_sample_error, float(budget))
    return FCPMisocp(bld.build(), objective, float(rho), int(pieces), model, q.copy(), errors)


__all__ = ["FCPMisocp", "build_fcp_misocp", "pwla_errors", "robust_objective"]
