"""The PWLA MISOCP of the quantal-response security game (paper 003 Sec. 3.2, App. A, eq. (11)).

Built from the rewrite rules of :mod:`dro_opt.reformulations` through a ConicEmitter (bulk
blocks, no loop per type or per pair):

* :func:`~dro_opt.reformulations.pwla_fractional.pwla_fractional` -- coverage ``z_j`` on the
  ``K``-cell grid with incremental binaries ``v_j1 >= ... >= v_jK``, the budget row
  ``sum_j z_j <= R`` (down-closed, as the PWLA bound needs) and the linear-fractional McCormick
  rows of paper 003 eqs. (2)-(10) for every type::

      f_n(z) + C = sum_j h_nj(z_j) u_nj(z_j) / sum_j h_nj(z_j),
      h_nj(t) = exp(lam Ua_nj(t) - s_n),   u_nj(t) = Ud_nj(t) + C >= 0.

  ``C = -min(payoffs of the defender)`` (>= 0) is the internal shift that makes the numerators
  non-negative (paper 003 Sec. 3.2). It is global, so every objective moves by exactly ``C``
  (means shift, variance is unchanged, the chi-square worst case is translation-equivariant) and
  the results are reported in the original units. ``s_n = max lam Ua_n`` scales each type's row
  (the ratio is unchanged) so that every denominator coefficient is at most 1.
* Oscillation bounds for the PWLA line (module docstring of the rule): ``h`` is ``exp`` of an
  affine function, hence monotone on every cell (``Oh = |h(t_k) - h(t_k-1)|``, lower bound
  ``min`` of the end values); ``(g - r h)' = h [lam (AP - AR) (u - r) + (DR - DP)]`` with
  ``r_n`` the middle of the type's utility range, bounded on each cell by the end-point maxima of
  ``h`` and of the affine factor's absolute value. The utility range ``[lo_n, hi_n]`` holds on
  the whole box, so ``eps_n <= hi_n - lo_n`` too.
* :mod:`~dro_opt.reformulations.variance_soc` (``variance``) or
  :mod:`~dro_opt.reformulations.chi2_soc` (``chi2``), in mean units:

  - ``erm``:      max  p'y                      (``y <= f`` rows: objective increasing in y)
  - ``variance``: max  m - sqrt(2 rho / n) s,  m = p'y,  s >= ||diag(sqrt p)(y - m)||  (eq. (11))
  - ``chi2``:     max  -t,  t = sup_P E_P[-y] over the ball of radius ``rho / n`` (one SOC).

The model is the original problem restricted to the grid, exact there (the rule's docstring
proves it); the certificate adds :meth:`SSGMisocp.pwla_line` to the solver's bound (the
averaged line of :mod:`.curvature` when it is smaller).

``pwla_mode="curvature"`` (default) changes three things, each proven in its module: the ratio
box ``[lo_n, hi_n]`` is the range of ``f_n`` over the FEASIBLE coverages (:mod:`.value_range`;
tighter McCormick envelopes and oscillation bounds); for ERM with ``R K`` integral the
cell-dependent second-order error of :mod:`.cell_curvature` is added to the numerator values
(still linear-fractional in the binaries, so the McCormick rows stay exact), which makes the
model's own bound an upper bound on the continuous optimum with no line (used when its a-priori
uniform estimate beats the round-down line); for VR / chi-square the cell line of
:mod:`.cell_curvature` competes as a third line (and :mod:`.dual_bound` builds the
``dual_weights`` models of this function, whose bound needs no line). Why not a relaxation
with continuous fills (``z_j = t_k + delta x_jk`` and chord over-estimates): the ratio row
then multiplies the continuous ratio ``y`` by the continuous fill ``x``, and McCormick on a
product of two continuous variables leaves a gap of up to ``|h(t_k) - h(t_k-1)| (yhi - ylo) /
4`` per active cell -- first order in ``delta``, i.e. the ``O(1 / K)`` this mode avoids.
``"restriction"`` keeps the former model and lines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from dro_opt.certify import CertificateLine
from dro_opt.conic import ConicBuilder, ConicProblem
from dro_opt.errors import ParameterError
from dro_opt.models.security_game.cell_curvature import (
    averaging_applies,
    cell_curvature,
    cell_line,
)
from dro_opt.models.security_game.curvature import applies, averaged_line
from dro_opt.models.security_game.instance import SSGInstance
from dro_opt.models.security_game.objective import OBJECTIVES, utility_range
from dro_opt.models.security_game.value_range import feasible_utility_range
from dro_opt.reformulations.chi2_soc import chi2_dual
from dro_opt.reformulations.emitter import ConicEmitter
from dro_opt.reformulations.pwla_fractional import (
    PWLAGrid,
    PWLAModel,
    max_cell_ratio,
    monotone_oscillation,
    pwla_error_bound,
    pwla_error_line,
    pwla_fractional,
    pwla_grid,
)
from dro_opt.reformulations.variance_soc import variance_soc

PWLA_MODES = ("curvature", "restriction")


@dataclass(frozen=True)
class SSGPieces:
    """Grid data of the PWLA (shifted, row-scaled units; module docstring)."""

    grid: PWLAGrid
    G: np.ndarray  # (N, M, K + 1) numerator terms h u
    H: np.ndarray  # (N, M, K + 1) denominator terms h
    Og: np.ndarray  # (N, M, K) oscillation of g - r h
    Oh: np.ndarray  # (N, M, K)
    H_low: np.ndarray  # (N, M, K) min of h on each cell
    lo: np.ndarray  # (N,) shifted utility range
    hi: np.ndarray
    reference: np.ndarray  # (N,)
    shift: float

    def error(self) -> np.ndarray:
        """``eps_n`` of the PWLA rule (per type, in payoff units)."""
        return pwla_error_bound(
            self.grid,
            self.H,
            0.0,
            self.Og,
            self.Oh,
            (self.lo, self.hi),
            reference=self.reference,
            denominator_lower=self.H_low,
            bounds_hold_on_box=True,
        )


def box_grid(M: int, pieces: int, box: tuple[np.ndarray, np.ndarray] | None = None) -> PWLAGrid:
    """The ``pieces``-cell grid of ``[0, 1]^M`` or of ``box = (lower, upper)``."""
    if box is None:
        return pwla_grid(np.zeros(M), np.ones(M), pieces)
    return pwla_grid(box[0], box[1], pieces)


def ssg_pieces(
    instance: SSGInstance,
    pieces: int,
    value_range: tuple[np.ndarray, np.ndarray] | None = None,
    box: tuple[np.ndarray, np.ndarray] | None = None,
) -> SSGPieces:
    """The PWLA data of ``instance`` with ``pieces`` cells per target (vectorised).

    ``value_range``: ``(lo, hi)`` (original units) valid for ``f_n`` on the feasible set (e.g.
    :func:`.value_range.feasible_utility_range`); default the payoff range. The shift always
    comes from the payoffs (non-negative numerators). ``box``: ``(lower, upper)`` sub-box of
    ``[0, 1]^M`` to grid instead of the unit box (:mod:`.refine`)."""
    M = instance.num_targets
    grid = box_grid(M, pieces, box)
    t = grid.points[None]  # (1, M, K + 1)
    lam = instance.lam
    AR, AP = instance.attacker_reward[:, :, None], instance.attacker_penalty[:, :, None]
    DR, DP = instance.defender_reward[:, :, None], instance.defender_penalty[:, :, None]
    lo, hi = utility_range(instance)
    shift = max(0.0, -float(lo.min()))
    if value_range is not None:
        lo, hi = np.asarray(value_range[0], dtype=float), np.asarray(value_range[1], dtype=float)
    lo, hi = lo + shift, hi + shift
    ref = 0.5 * (lo + hi)
    logit = lam * (AR + t * (AP - AR))  # (N, M, K + 1)
    s = logit.max(axis=(1, 2), keepdims=True)
    H = np.exp(logit - s)
    U = DP + shift + t * (DR - DP)
    G = H * U
    Oh = monotone_oscillation(H)
    H_low = np.minimum(H[:, :, :-1], H[:, :, 1:])
    H_max = np.maximum(H[:, :, :-1], H[:, :, 1:])
    slope = lam * (AP - AR) * (U - ref[:, None, None]) + (DR - DP)  # affine in t
    slope_max = np.maximum(np.abs(slope[:, :, :-1]), np.abs(slope[:, :, 1:]))
    Og = H_max * slope_max * grid.delta[None, :, None]
    return SSGPieces(grid, G, H, Og, Oh, H_low, lo, hi, ref, shift)


@dataclass
class SSGMisocp:
    """The built MISOCP and what certificates need.

    ``problem`` (sense max, mean units, SHIFTED by ``shift``: original = model - shift),
    ``pwla`` (the rule's output: ``z``, ``v``, ``y`` blocks, per-type error), ``pieces``,
    ``pwla_mode`` and ``error_in_model`` (True: the ERM curvature offsets of
    :mod:`.cell_curvature` are inside the numerators, so the model's bound already bounds the
    continuous optimum).
    """

    problem: ConicProblem
    objective: str
    rho: float
    pieces: int
    shift: float
    pwla: PWLAModel
    weights: np.ndarray

    instance: SSGInstance | None = None
    pwla_mode: str = "restriction"
    error_in_model: bool = False
    dual_weights: np.ndarray | None = None  # the ball weights P of a .dual_bound model

    def pwla_line(self) -> CertificateLine:
        """Rigorous bound on (continuous optimum) - (model bound), mean units (module docstring)."""
        if self.error_in_model:
            return CertificateLine(
                "pwla",
                0.0,
                True,
                f"PWLA error inside the model (K = {self.pieces}): cell-dependent second-order "
                "offsets raise every grid point's numerators, so the model's bound bounds the "
                "continuous optimum (cell_curvature.py)",
            )
        line = pwla_error_line(
            self.pwla.per_sample_error,
            self.weights,
            self.objective,
            self.rho,
            pieces=self.pieces,
        )
        return _smaller(line, self.instance, self.pieces, self.objective, self.rho, self.pwla_mode)

    def decision(self, solution: dict[str, np.ndarray]) -> np.ndarray:
        """The grid coverage of a solver solution (from the binaries)."""
        return self.pwla.decision(solution["v"])


def pwla_line_for(
    instance: SSGInstance,
    pieces: int,
    objective: str,
    rho: float,
    pwla_mode: str = "curvature",
) -> CertificateLine:
    """The PWLA certificate line for ``pieces`` without building the model (for ``auto``); for
    the in-model ERM offsets, the uniform cell line (an a-priori estimate of their effect)."""
    effective = "erm" if rho == 0 else objective
    value_range = feasible_utility_range(instance) if pwla_mode == "curvature" else None
    p = ssg_pieces(instance, pieces, value_range)
    line = pwla_error_line(p.error(), instance.weights, effective, rho, pieces=pieces)
    return _smaller(line, instance, pieces, effective, rho, pwla_mode)


def _smaller(
    line: CertificateLine,
    instance: SSGInstance | None,
    pieces: int,
    objective: str,
    rho: float,
    pwla_mode: str = "restriction",
) -> CertificateLine:
    """The smallest of the rigorous lines (all bound the same difference)."""
    if instance is None:
        return line
    others = [averaged_line(instance, pieces, objective, rho)]
    if pwla_mode == "curvature":
        others.append(cell_line(instance, pieces, objective, rho))
    for other in others:
        if other is not None and other.value < line.value:  # type: ignore[operator]
            line = other
    return line


def build_ssg_misocp(
    instance: SSGInstance,
    objective: str = "erm",
    rho: float = 0.0,
    pieces: int = 10,
    pwla_mode: str = "curvature",
    box: tuple[np.ndarray, np.ndarray] | None = None,
    exclude: Any = None,
    dual_weights: Any = None,
) -> SSGMisocp:
    """Build the PWLA MISOCP (module docstring); ``rho = 0`` builds the ERM model.

    ``dual_weights``: a vector ``P`` (N,) of the ball of :mod:`.dual_bound` (any signs, sum 1):
    builds the ERM model with the weights ``P`` instead of ``p`` (``objective`` / ``rho`` are
    ignored), the curvature offsets of :mod:`.cell_curvature` inside raising the numerators of
    types with ``P_n >= 0`` and lowering (``convex=True``) those with ``P_n < 0``, so that its
    proven bound bounds ``max_z P'f(z)`` over the continuous coverages (needs ``R K`` integral).

    ``pwla_mode``: ``"curvature"`` (default; feasible-set utility ranges of :mod:`.value_range`,
    the ERM curvature offsets of :mod:`.cell_curvature` inside the model when ``R K`` is
    integral and their a-priori uniform line is below the round-down line, else the smallest
    line) or ``"restriction"`` (the grid restriction with the
    round-down / averaged line only, as before). ``box``: grid the sub-box ``(lower, upper)`` of
    ``[0, 1]^M`` instead (coverage restricted to it); ``exclude = (a, b)`` (integer grid indices,
    ``a < b``; or a list of such pairs, one row each): drop every grid point strictly inside the
    index box, i.e. add the row
    ``sum_j [(1 - v_j,a_j+1) + v_j,b_j] >= 1`` (``z_j <= a_j delta`` or ``z_j >= b_j delta`` for
    some ``j``). Both serve the local refinement of :mod:`.refine`.
    """
    if pwla_mode not in PWLA_MODES:
        raise ParameterError(f"pwla_mode must be one of {', '.join(PWLA_MODES)}, got {pwla_mode!r}")
    if objective not in OBJECTIVES:
        raise ParameterError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if not (isinstance(rho, int | float) and math.isfinite(rho) and rho >= 0):
        raise ParameterError(f"rho must be a finite number >= 0, got {rho!r}")
    rho = float(rho)
    objective = "erm" if rho == 0.0 else objective
    curvature = pwla_mode == "curvature"
    value_range = feasible_utility_range(instance) if curvature else None
    data = ssg_pieces(instance, pieces, value_range, box)
    numerators, ratio_lo, ratio_hi = data.G, data.lo, data.hi
    q = instance.weights
    n = float(q.sum())
    p = q / n
    signed = False
    if dual_weights is not None:
        p, signed = _dual_weights(dual_weights, instance.num_types), True
        objective, rho = "erm", 0.0
        if not (curvature and averaging_applies(instance, data.grid)):
            raise ParameterError("dual weights need the curvature mode and R K integral")
        in_model = True
    elif box is None:
        in_model = curvature and objective == "erm" and applies(instance, pieces)
        if in_model:  # coarse K: the first-order line can be the smaller one (a-priori test)
            restricted = pwla_error_line(data.error(), instance.weights, "erm", 0.0).value
            second = cell_line(instance, pieces, "erm", 0.0)
            in_model = second is not None and second.value < restricted  # type: ignore[operator]
    else:
        in_model = curvature and objective == "erm" and averaging_applies(instance, data.grid)
        if not in_model:
            raise ParameterError("a sub-box model needs the ERM curvature mode on a TU grid")
    offsets = None
    if in_model:
        try:
            cc = cell_curvature(instance, pieces, box)
            offsets = cc.offsets()
            if signed and (p < 0).any():  # lower the numerators of negative-weight types
                down = cc.offsets(convex=True)
                neg = p < 0
                offsets = np.where(neg[:, None, None], -down, offsets)
                low = max_cell_ratio(down, data.H)
                ratio_lo = np.where(neg, data.lo - low, data.lo)  # y = f - e+ >= lo - max e+
        except ArithmeticError:  # exp underflow on a cell (extreme lam): keep the line instead
            if box is not None or signed:
                raise ParameterError("sub-box model: exp(lam Ua) underflows on a cell") from None
            in_model = False
    if offsets is not None:
        numerators = data.G + offsets
        raise_ = max_cell_ratio(np.maximum(offsets, 0.0), data.H)
        ratio_hi = data.hi + raise_  # y = f + e <= hi + max e
    M = instance.num_targets
    bld = ConicBuilder(sense="max", name=f"ssg_pwla_misocp_{objective}")
    em = ConicEmitter(bld)
    model = pwla_fractional(
        em,
        data.grid,
        numerators,
        data.H,
        0.0,
        0.0,
        data.Og,
        data.Oh,
        (ratio_lo, ratio_hi),
        reference=data.reference,
        relation="eq" if objective == "variance" or (p < 0).any() else "le",
        packing=(np.ones((1, M)), instance.budget),
        denominator_lower=data.H_low,
        bounds_hold_on_box=True,
    )
    for i, (a, b) in enumerate(_boxes(exclude)):
        _exclusion_row(em, model, np.asarray(a), np.asarray(b), f"exclusion_{i}")
    y = model.y
    ylo, yhi = float(data.lo.min()), float(data.hi.max())
    if objective == "erm":
        em.set_objective(em.dot(p, y))
    elif objective == "variance":
        m, s = variance_soc(
            em,
            y,
            p,
            m_bounds=(float(p @ data.lo), float(p @ data.hi)),
            s_bounds=(0.0, 0.5 * (yhi - ylo)),
        )
        em.set_objective(m - s * math.sqrt(2.0 * rho / n))
    else:
        # reward-form maximiser eta* in [min y, max y + (spread / 2) / sqrt(c^2 - 1)] (the dual
        # is concave in eta and decreasing beyond mu + sigma / sqrt(c^2 - 1), sigma <= spread/2);
        # the rule's eta (for the loss -y) is -eta*.
        eta_max = yhi + 0.5 * (yhi - ylo) / math.sqrt(2.0 * rho / n)
        t_rule = chi2_dual(
            em,
            -y,
            p,
            rho / n,
            prefix="chi2",
            eta_bounds=(-eta_max, -ylo),
            u_upper=eta_max - ylo,
            tau_upper=eta_max - ylo,
        )
        t = em.variable("t", 1)
        em.zero("chi2_value", t - t_rule)
        em.set_objective(t * -1.0)
    return SSGMisocp(
        bld.build(),
        objective,
        rho,
        int(pieces),
        data.shift,
        model,
        q.copy(),
        instance,
        pwla_mode,
        in_model,
        p.copy() if signed else None,
    )


def _dual_weights(P: Any, N: int) -> np.ndarray:
    """``P`` as a finite (N,) vector summing to 1 (the objective shift ``C`` then moves the
    weighted value by exactly ``C``)."""
    w = np.asarray(P, dtype=float).ravel()
    if w.shape != (N,) or not np.isfinite(w).all() or abs(float(w.sum()) - 1.0) > 1e-9:
        raise ParameterError(f"dual weights must be {N} finite numbers summing to 1")
    return w


def _boxes(exclude: Any) -> list[tuple[Any, Any]]:
    """``exclude`` as a list of ``(a, b)`` index-box pairs."""
    if exclude is None:
        return []
    if isinstance(exclude, tuple) and len(exclude) == 2 and np.ndim(exclude[0]) == 1:
        return [exclude]
    return list(exclude)


def _exclusion_row(
    em: ConicEmitter, model: PWLAModel, a: np.ndarray, b: np.ndarray, name: str
) -> None:
    """``sum_j [(1 - v_j,a_j+1) + v_j,b_j] >= 1`` (build_ssg_misocp, ``exclude``)."""
    M, K = model.grid.size, model.grid.pieces
    a, b = a.astype(int), b.astype(int)
    if a.shape != (M,) or b.shape != (M,) or (a < 0).any() or (b > K).any() or (a >= b).any():
        raise ParameterError(f"exclude needs integer index vectors 0 <= a < b <= {K} of length {M}")
    j = np.arange(M)
    cols = np.r_[j * K + a, j * K + b - 1]  # v_j,a_j+1 and v_j,b_j (coordinate-major, 0-based)
    vals = np.r_[-np.ones(M), np.ones(M)]
    row = sp.csr_matrix((vals, (np.zeros(2 * M, dtype=int), cols)), shape=(1, M * K))
    em.nonneg(name, em.matmul(row, model.v) + float(M - 1))
