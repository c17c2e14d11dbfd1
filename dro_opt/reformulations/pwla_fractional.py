r"""Separable ratios of continuous decisions -> incremental-binary PWLA -> McCormick rows.

Source (paper 003 Sec. 3.1, Theorem 2, App. A; docs/conventions.md, 'PWLA'): for every sample
``n`` a ratio of separable sums of one-dimensional functions of a continuous ``z`` in the box
``[L, U]`` (``M`` coordinates)::

    f_n(z) = (b0_n + sum_j g_nj(z_j)) / (d0_n + sum_j h_nj(z_j)),     denominator > 0,

under packing constraints ``A z <= b`` with ``A >= 0`` (e.g. a budget ``sum_j z_j <= R``).

Target (App. A). Each ``[L_j, U_j]`` is cut into ``K`` equal cells of length
``delta_j = (U_j - L_j) / K`` with grid points ``t_jk = L_j + k delta_j`` (``k = 0..K``), and::

    z_j = L_j + delta_j sum_k v_jk,    v_jk binary,    v_j1 >= v_j2 >= ... >= v_jK,
    g_nj(z_j) ~ g_nj(t_j0) + sum_k (g_nj(t_jk) - g_nj(t_j,k-1)) v_jk      (slope_jk delta_j v_jk)

and likewise ``h``. The approximation is linear-fractional in the binary ``v`` (``M K``
entries) and is handed to :func:`~dro_opt.reformulations.mccormick_fractional.
linear_fractional_mccormick` (paper 003 eqs. (2)-(10)), which is exact for binary ``v``.

What the model optimises, exactly
---------------------------------
With the ordering rows, the feasible ``v`` of a coordinate are the ``K + 1`` "staircases"
``(1, ..., 1, 0, ..., 0)``, so ``z`` takes exactly the grid values and the approximation is
*exact* there (the increments telescope to ``g_nj(t_jk)``). The model is therefore the
original problem **restricted to the grid** ``G = {z in grid : A z <= b}``, not an approximation
of ``f`` between grid points: its optimum ``F_G = max_{z in G} Phi(f(z))`` (``Phi`` the ERM, VR or
chi-square objective) satisfies ``F_G <= F* := sup over the continuous feasible set``, and any
decision it returns is a grid point whose exact objective (evaluated on the original formula) is
a valid lower bound.

Theorem (the certificate line; our rigorous version of paper 003 Thm. 2 and App. C).
Let the per-cell oscillation bounds hold for every ``n, j`` and cell ``k``
(``[t_j,k-1, t_jk]``) and every ``t`` in it, with a per-sample reference value ``r_n``::

    |(g_nj - r_n h_nj)(t) - (g_nj - r_n h_nj)(t_j,k-1)| <= Og_njk,
    |h_nj(t) - h_nj(t_j,k-1)|                          <= Oh_njk,

and let ``lo_n <= f_n(z') <= hi_n`` at every grid point ``z'``. Define
``c_n = max(|hi_n - r_n|, |lo_n - r_n|)`` and::

    eps_n = max over cell choices (k_1..k_M) of
            sum_j (Og_njk_j + c_n Oh_njk_j) / (d0_n + sum_j Hlow_njk_j),
    Hlow_njk = h_nj(t_j,k-1) - Oh_njk        (clipped at 0 if h is declared non-negative,
                                              or a caller-proven lower bound of h on the cell).

Then ``F* <= F_G + Lambda(eps)`` with (``p`` the probability weights, ``kappa = sqrt(2 rho / n)``)::

    ERM:        Lambda = E_p eps
    VR:         Lambda = E_p eps + kappa ||eps||_{2,p}
    chi-square: Lambda = min(max eps, sqrt(1 + 2 rho / n) ||eps||_{2,p})

Proof. Take any feasible continuous ``z`` and round every coordinate *down* to its grid point
``z'`` (``z'_j = t_j,k-1`` for ``z_j`` in cell ``k``; ``z'_j = z_j`` on the grid). ``A >= 0``
gives ``A z' <= A z <= b``, so ``z'`` is in ``G``. With ``N, D`` the numerator and denominator
and ``c = f_n(z')``, exactly ``N(z') = c D(z')``, hence for any constant ``r``::

    f_n(z) - f_n(z') = [ (N - r D)(z) - (N - r D)(z') - (c - r) (D(z) - D(z')) ] / D(z).

The first difference is a sum over ``j`` of ``(g - r h)`` increments inside one cell each (``<=
Og``), the second of ``h`` increments (``<= Oh``), ``|c - r| <= c_n``, and
``D(z) >= d0 + sum_j Hlow``. So ``|f_n(z) - f_n(z')| <= eps_n``. The objectives move by at most
``Lambda``: the mean by ``E_p eps``; the standard deviation is a seminorm with
``|Std(f) - Std(f')| <= Std(f - f') <= ||eps||_{2,p}``; the chi-square worst case
``min_{P in ball} E_P f`` moves by at most ``max_P E_P |f - f'|``, which is ``<= max eps`` and,
by Cauchy-Schwarz with ``E_p (P/p)^2 <= 1 + 2 rho / n``, ``<= sqrt(1 + 2 rho / n) ||eps||_{2,p}``.
Hence ``Phi(f(z)) <= Phi(f(z')) + Lambda <= F_G + Lambda`` for every feasible ``z``. QED.

So ``upper = (proven solver bound on F_G) + Lambda`` is a valid upper bound on the ORIGINAL
continuous optimum; ``lower`` = exact objective of the returned grid decision. Both ``Og`` and
``Oh`` shrink like ``delta = O(1/K)``, so ``Lambda = O(1/K)`` (Theorem 2's order), but the line
reported is the number computed from the data, never only the order.

The maximum over cell choices is a 0-1 fractional program solved exactly (up to a relative
``1e-12``, rounded up) by bisection on ``theta``: the ratio is ``<= theta`` for every choice iff
``sum_j max_k (a_jk - theta b_jk) - theta d0 <= 0`` (Dinkelbach's parametric form), checked for
all samples at once. The reference ``r_n`` removes the scale of the numerator: for
``g = h u`` with a bounded ``u`` (a logit average such as the security game's defender utility)
choose ``r_n = (lo_n + hi_n) / 2`` so that only the spread of ``u`` enters, not its level.

Oscillation helpers. :func:`monotone_oscillation` (``|value(t_k) - value(t_k-1)|``) is valid when
the caller knows the function is monotone on every cell (e.g. ``exp`` of an affine function);
:func:`lipschitz_oscillation` (``L_jk delta_j``) for a caller-supplied bound ``L_jk`` on ``|f'|``
over the cell. The rule trusts these declarations; it checks shapes, finiteness and signs.

API (stable; used by the security-game and facility-cost models)::

    grid = pwla_grid(lower, upper, pieces)                       # PWLAGrid
    G = g(grid.points) ; H = h(grid.points)                      # (N, M, K + 1) each
    eps = pwla_error_bound(grid, H, d0, Og, Oh, (lo, hi), reference=r,
                           denominator_lower=np.minimum(H[..., :-1], H[..., 1:]))  # (N,)
    model = pwla_fractional(em, grid, G, H, b0, d0, Og, Oh, (lo, hi), reference=r,
                            relation="eq", packing=(A, b))       # PWLAModel
    model.z, model.v, model.y ; model.decision(v_values) -> grid z
    line = pwla_error_line(model.per_sample_error, weights, objective, rho)   # CertificateLine

References
----------
* Paper 003 (Bose, Sinha, Mai), Sec. 3.1 (recipe), Theorem 2, App. A (PWLA), App. C (proof).
* W. Dinkelbach (1967). On nonlinear fractional programming. Management Science 13(7), 492-498.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from dro_opt.certify import CertificateLine
from dro_opt.errors import ParameterError
from dro_opt.reformulations.emitter import Emitter, Expr
from dro_opt.reformulations.mccormick_fractional import (
    FractionalInfo,
    linear_fractional_mccormick,
)

OBJECTIVES = ("erm", "variance", "chi2")


@dataclass(frozen=True)
class PWLAGrid:
    """``K`` equal cells per coordinate: ``points[j, k] = lower_j + k delta_j`` (``k = 0..K``)."""

    lower: np.ndarray  # (M,)
    upper: np.ndarray  # (M,)
    pieces: int
    delta: np.ndarray  # (M,)
    points: np.ndarray  # (M, K + 1)

    @property
    def size(self) -> int:
        return int(self.lower.size)

    def round_down(self, z: np.ndarray) -> np.ndarray:
        """The grid point ``z'`` of the proof (every coordinate rounded down to its grid)."""
        z = np.clip(np.asarray(z, dtype=float), self.lower, self.upper)
        with np.errstate(divide="ignore", invalid="ignore"):
            k = np.where(self.delta > 0, np.floor((z - self.lower) / self.delta + 1e-12), 0.0)
        return self.lower + np.clip(k, 0, self.pieces) * self.delta


def pwla_grid(lower: Any, upper: Any, pieces: int) -> PWLAGrid:
    """The grid of App. A. ``lower``, ``upper``: finite, ``(M,)`` (or scalars with ``M`` from the
    other), ``lower <= upper``; ``pieces`` = ``K >= 1``."""
    if isinstance(pieces, bool) or not isinstance(pieces, int | np.integer) or pieces < 1:
        raise ParameterError(f"the number of PWLA pieces K must be an integer >= 1, got {pieces!r}")
    lo = np.atleast_1d(np.asarray(lower, dtype=float)).ravel()
    hi = np.atleast_1d(np.asarray(upper, dtype=float)).ravel()
    lo, hi = np.broadcast_arrays(lo, hi)
    lo, hi = lo.copy(), hi.copy()
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise ParameterError("PWLA box bounds must be finite")
    if (lo > hi).any():
        raise ParameterError("PWLA box: a lower bound is above its upper bound")
    K = int(pieces)
    delta = (hi - lo) / K
    points = lo[:, None] + delta[:, None] * np.arange(K + 1)[None, :]
    points[:, -1] = hi  # exact end points
    return PWLAGrid(lo, hi, K, delta, points)


def monotone_oscillation(values: Any) -> np.ndarray:
    """``|value(t_k) - value(t_k-1)|`` per cell, shape ``(..., K)`` from ``(..., K + 1)``.

    A valid oscillation bound for a function that is monotone on each cell.
    """
    v = np.asarray(values, dtype=float)
    return np.abs(np.diff(v, axis=-1))


def lipschitz_oscillation(lipschitz: Any, grid: PWLAGrid) -> np.ndarray:
    """``L_jk delta_j`` for a bound ``L_jk >= sup |f'|`` on each cell (shape ``(..., M, K)``)."""
    L = np.asarray(lipschitz, dtype=float)
    if not np.isfinite(L).all() or (L < 0).any():
        raise ParameterError("Lipschitz constants must be finite and >= 0")
    return L * grid.delta[:, None]


# ------------------------------------------------------------------------------ the bound
def pwla_error_bound(
    grid: PWLAGrid,
    denominator_values: Any,
    denominator_offset: Any,
    numerator_oscillation: Any,
    denominator_oscillation: Any,
    ratio_bounds: tuple[Any, Any],
    *,
    reference: Any = 0.0,
    nonnegative_denominator: bool = True,
    denominator_lower: Any = None,
    bounds_hold_on_box: bool = False,
) -> np.ndarray:
    """``eps_n >= sup_z |f_n(z) - f_n(round_down(z))|`` (module docstring, Theorem).

    Parameters
    ----------
    grid : the PWLA grid.
    denominator_values : ``(N, M, K + 1)`` ``h_nj(t_jk)``.
    denominator_offset : ``d0`` scalar or ``(N,)``.
    numerator_oscillation : ``(N, M, K)`` ``Og`` for ``g - reference * h``.
    denominator_oscillation : ``(N, M, K)`` ``Oh``.
    ratio_bounds : ``(lo, hi)`` valid for ``f_n`` at every grid point (scalars or ``(N,)``).
    reference : ``r_n`` (scalar or ``(N,)``) used in ``numerator_oscillation``.
    nonnegative_denominator : the caller declares ``h >= 0`` on the box (Theorem 2's
        assumption), so the lower bound of ``h`` on a cell is clipped at 0.
    denominator_lower : optional ``(N, M, K)`` caller-proven lower bounds ``Hlow`` of ``h`` on
        each cell (e.g. ``min(h(t_k-1), h(t_k))`` for ``h`` monotone on the cell); the bound
        uses the larger of it and ``h(t_k-1) - Oh``.
    bounds_hold_on_box : the caller declares ``ratio_bounds`` valid on the whole box (not only
        at grid points); then ``eps_n <= hi_n - lo_n`` as well (both values lie in the range).

    Returns
    -------
    (N,) per-sample uniform error bounds (``+inf`` never: raises if a denominator bound is not
    positive).
    """
    H, Og, Oh = _cell_arrays(
        grid, denominator_values, numerator_oscillation, denominator_oscillation
    )
    N = H.shape[0]
    d0 = _vector(denominator_offset, N, "denominator_offset")
    lo, hi = _vector(ratio_bounds[0], N, "ratio lower bound"), _vector(ratio_bounds[1], N, "hi")
    if (lo > hi).any():
        raise ParameterError("ratio_bounds: a lower bound is above its upper bound")
    r = _vector(reference, N, "reference")
    c = np.maximum(np.abs(hi - r), np.abs(lo - r))
    a = Og + c[:, None, None] * Oh  # (N, M, K) numerator of the ratio per cell
    b = H[:, :, :-1] - Oh  # lower bound of h on the cell
    if denominator_lower is not None:
        low = np.asarray(denominator_lower, dtype=float)
        if low.shape != b.shape or np.isnan(low).any():
            raise ParameterError(f"denominator_lower must have shape {b.shape} without NaN")
        b = np.maximum(b, low)
    if nonnegative_denominator:
        b = np.maximum(b, 0.0)
    eps = max_cell_ratio(a, b, d0)
    if bounds_hold_on_box:
        eps = np.minimum(eps, hi - lo)
    return eps


def max_cell_ratio(numerator: Any, denominator: Any, offset: Any = 0.0) -> np.ndarray:
    """``max over cell choices (k_1..k_M) of sum_j a_njk_j / (d0_n + sum_j b_njk_j)`` per ``n``.

    ``numerator`` ``a`` >= 0 and ``denominator`` ``b`` of shape ``(N, M, K)``, ``offset`` ``d0``
    (scalar or ``(N,)``) with ``d0 + sum_j min_k b_njk > 0``. Exact up to a relative ``1e-12``
    (rounded up): bisection on ``theta`` with Dinkelbach's test ``sum_j max_k (a - theta b) -
    theta d0 <= 0`` (every choice has ratio ``<= theta``), all ``n`` at once.
    """
    a = np.asarray(numerator, dtype=float)
    b = np.asarray(denominator, dtype=float)
    if a.ndim != 3 or a.shape != b.shape or (a < 0).any() or not np.isfinite(a).all():
        raise ParameterError(
            "cell ratio: numerator and denominator must be finite (N, M, K), a >= 0"
        )
    d0 = _vector(offset, a.shape[0], "denominator offset")
    den_min = d0 + b.min(axis=2).sum(axis=1)
    if not (den_min > 0).all():
        bad = int(np.flatnonzero(~(den_min > 0))[0])
        raise ParameterError(
            f"PWLA error bound: the denominator of sample {bad} is not bounded away from 0 on "
            "the box by the given oscillations; use more pieces or tighter oscillation bounds"
        )
    N = a.shape[0]
    num_max = a.max(axis=2).sum(axis=1)
    lo_t = np.zeros(N)
    hi_t = num_max / den_min  # every ratio <= sum max a / min denominator
    hi_t = hi_t * (1 + 1e-12) + 1e-300
    for _ in range(200):
        if np.all(hi_t - lo_t <= 1e-12 * np.maximum(hi_t, 1e-300)):
            break
        mid = 0.5 * (lo_t + hi_t)
        phi = (a - mid[:, None, None] * b).max(axis=2).sum(axis=1) - mid * d0
        ok = phi <= 0  # every cell choice has ratio <= mid
        hi_t = np.where(ok, mid, hi_t)
        lo_t = np.where(ok, lo_t, mid)
    # hi_t always satisfies phi(hi_t) <= 0 (initially by construction); round up a hair
    return hi_t * (1 + 1e-12)


def pwla_error_line(
    per_sample_error: Any,
    weights: Any,
    objective: str,
    rho: float = 0.0,
    *,
    scale: float = 1.0,
    name: str = "pwla",
    pieces: int | None = None,
) -> CertificateLine:
    """``Lambda(eps)`` of the module docstring as a certificate line.

    Mean units (``scale = 1``): ERM ``E_p eps``; VR ``E_p eps + sqrt(2 rho / n) ||eps||_{2,p}``;
    chi-square ``min(max eps, sqrt(1 + 2 rho / n) ||eps||_{2,p}``), ``n = sum(weights)``,
    ``p = weights / n``. Pass ``scale = n`` for objectives on the ``n * (...)`` scale.
    """
    value = pwla_objective_error(per_sample_error, weights, objective, rho) * float(scale)
    k = "" if pieces is None else f"K = {pieces} pieces, "
    note = (
        f"PWLA grid restriction ({k}max per-sample error {float(np.max(per_sample_error)):.4g}): "
        "the model optimises over the grid; rounding any feasible z down to the grid changes "
        "each f_n by at most eps_n (paper 003 Thm. 2, computed from the data)"
    )
    return CertificateLine(name, value, True, note)


def pwla_objective_error(per_sample_error: Any, weights: Any, objective: str, rho: float) -> float:
    """``Lambda(eps)`` in mean units (see :func:`pwla_error_line`)."""
    if objective not in OBJECTIVES:
        raise ParameterError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if not (math.isfinite(rho) and rho >= 0):
        raise ParameterError(f"rho must be a finite number >= 0, got {rho}")
    eps = np.asarray(per_sample_error, dtype=float).ravel()
    q = np.asarray(weights, dtype=float).ravel()
    if eps.shape != q.shape or (eps < 0).any() or not np.isfinite(eps).all():
        raise ParameterError("per-sample errors must be finite, >= 0, one per weight")
    n = float(q.sum())
    p = q / n
    mean = float(p @ eps)
    l2 = math.sqrt(float(p @ (eps * eps)))
    if objective == "erm" or rho == 0.0:
        return mean
    if objective == "variance":
        return mean + math.sqrt(2.0 * rho / n) * l2
    return min(float(eps.max(initial=0.0)), math.sqrt(1.0 + 2.0 * rho / n) * l2)


# ------------------------------------------------------------------------------ the model
@dataclass
class PWLAModel:
    """What :func:`pwla_fractional` emitted.

    Attributes
    ----------
    z : ``(M,)`` continuous expression ``z = L + T v`` (block ``{prefix}z``), on the grid.
    v : ``(M K,)`` binaries, coordinate-major (``v[j K + k]`` is ``v_j,k+1``).
    y : ``(N,)`` the ratios (``= f_n(z)`` for ``relation="eq"``, ``<=`` for ``"le"``).
    info : :class:`FractionalInfo` of the McCormick rows.
    grid : the grid.
    per_sample_error : ``(N,)`` ``eps_n`` of the Theorem.
    ratio_bounds : ``(lo, hi)`` used for the McCormick envelopes and the bound.
    blocks : role -> block name (``z``, ``v``, ``z_definition``, ``ordering``, ``packing``).
    """

    z: Expr
    v: Expr
    y: Expr
    info: FractionalInfo
    grid: PWLAGrid
    per_sample_error: np.ndarray
    ratio_bounds: tuple[np.ndarray, np.ndarray]
    blocks: dict[str, str]

    def decision(self, v_values: Any) -> np.ndarray:
        """The grid decision ``z = L + delta * (number of v_jk > 1/2)`` of solver values ``v``."""
        v = np.asarray(v_values, dtype=float).reshape(self.grid.size, self.grid.pieces)
        steps = (v > 0.5).sum(axis=1)
        return self.grid.points[np.arange(self.grid.size), steps]


def pwla_fractional(
    em: Emitter,
    grid: PWLAGrid,
    numerator_values: Any,
    denominator_values: Any,
    numerator_offset: Any,
    denominator_offset: Any,
    numerator_oscillation: Any,
    denominator_oscillation: Any,
    ratio_bounds: tuple[Any, Any],
    *,
    reference: Any = 0.0,
    relation: str = "eq",
    packing: tuple[Any, Any] | None = None,
    prefix: str = "",
    nonnegative_denominator: bool = True,
    denominator_lower: Any = None,
    bounds_hold_on_box: bool = False,
) -> PWLAModel:
    """Emit the incremental-binary PWLA of ``f_n`` with McCormick rows (module docstring).

    Parameters
    ----------
    em : the emitter (:class:`ConicEmitter` or :class:`CvxpyEmitter`).
    grid : from :func:`pwla_grid`.
    numerator_values, denominator_values : ``(N, M, K + 1)`` ``g_nj(t_jk)``, ``h_nj(t_jk)``.
    numerator_offset, denominator_offset : ``b0``, ``d0`` (scalars or ``(N,)``).
    numerator_oscillation, denominator_oscillation : ``(N, M, K)`` bounds ``Og`` (of
        ``g - reference h``) and ``Oh`` (module docstring), e.g. :func:`monotone_oscillation`.
    ratio_bounds : ``(lo, hi)`` valid for ``f_n`` at every grid point; also the McCormick box.
    reference : ``r_n`` of ``numerator_oscillation``.
    relation : ``"eq"`` (``y = f``; needed for the VR objective) or ``"le"`` (``y <= f``;
        exact for objectives non-decreasing in ``y``: ERM, chi-square).
    packing : optional ``(A, b)`` with ``A >= 0`` of shape ``(r, M)``: rows ``A z <= b`` (block
        ``{prefix}packing``). Any other constraint the caller adds on ``z`` must keep the
        feasible set closed under rounding down (``A >= 0`` rows do), or the bound is void.
    prefix : block names ``{prefix}z``, ``{prefix}v``, ... and McCormick blocks with this prefix.
    nonnegative_denominator, denominator_lower, bounds_hold_on_box : see
        :func:`pwla_error_bound`.
    """
    M, K = grid.size, grid.pieces
    G = _values(numerator_values, M, K, "numerator_values")
    N = G.shape[0]
    H = _values(denominator_values, M, K, "denominator_values")
    if H.shape[0] != N:
        raise ParameterError(f"numerator has {N} samples, denominator {H.shape[0]}")
    b0 = _vector(numerator_offset, N, "numerator_offset")
    d0 = _vector(denominator_offset, N, "denominator_offset")
    lo = _vector(ratio_bounds[0], N, "ratio lower bound")
    hi = _vector(ratio_bounds[1], N, "ratio upper bound")
    eps = pwla_error_bound(
        grid,
        H,
        d0,
        numerator_oscillation,
        denominator_oscillation,
        (lo, hi),
        reference=reference,
        nonnegative_denominator=nonnegative_denominator,
        denominator_lower=denominator_lower,
        bounds_hold_on_box=bounds_hold_on_box,
    )
    # grid-feasible denominator minimum (every staircase reaches only grid points)
    den_min = d0 + H.min(axis=2).sum(axis=1)
    if not (den_min > 0).all():
        raise ParameterError("the PWLA denominator must be positive at every grid point")

    name = {r: f"{prefix}{r}" for r in ("z", "v", "z_definition", "ordering", "packing")}
    v = em.variable(name["v"], M * K, vtype="binary")
    z = em.variable(name["z"], M, lb=grid.lower, ub=grid.upper)
    # z = L + T v with T[j, jK + k] = delta_j
    cols = np.arange(M * K)
    T = sp.csr_matrix((np.repeat(grid.delta, K), (cols // K, cols)), shape=(M, M * K))
    em.zero(name["z_definition"], z - em.matmul(T, v) - grid.lower)
    if K > 1:
        # v_jk - v_j,k+1 >= 0
        first = (cols % K) < K - 1
        rows = np.arange(int(first.sum()))
        src = cols[first]
        D = sp.csr_matrix(
            (
                np.r_[np.ones(rows.size), -np.ones(rows.size)],
                (np.r_[rows, rows], np.r_[src, src + 1]),
            ),
            shape=(rows.size, M * K),
        )
        em.nonneg(name["ordering"], em.matmul(D, v))
    if packing is not None:
        A = sp.csr_matrix(packing[0], dtype=float)
        if A.shape[1] != M or (A.data < 0).any() or not np.isfinite(A.data).all():
            raise ParameterError(
                f"packing rows A z <= b need a finite A >= 0 with {M} columns (rounding down "
                "must stay feasible for the PWLA bound)"
            )
        b = _vector(packing[1], A.shape[0], "packing right-hand side")
        em.nonneg(name["packing"], b - em.matmul(A, z))

    incr_g = np.diff(G, axis=2).reshape(N, M * K)
    incr_h = np.diff(H, axis=2).reshape(N, M * K)
    Cn = sp.csr_matrix(incr_h)
    Cn.eliminate_zeros()
    y, _, info = linear_fractional_mccormick(
        em,
        v,
        numerator=(sp.csr_matrix(incr_g), b0 + G[:, :, 0].sum(axis=1)),
        denominator=(Cn, d0 + H[:, :, 0].sum(axis=1)),
        y_bounds=(lo, hi),
        relation=relation,
        v_bounds=(0.0, 1.0),
        prefix=prefix.rstrip("_"),
        exact_binary=True,
        denominator_min=den_min,
    )
    blocks = {r: name[r] for r in name}
    if K == 1:
        blocks.pop("ordering")
    if packing is None:
        blocks.pop("packing")
    return PWLAModel(z, v, y, info, grid, eps, (lo, hi), blocks)


# ------------------------------------------------------------------------------ helpers
def _values(x: Any, M: int, K: int, what: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 3 or arr.shape[1:] != (M, K + 1):
        raise ParameterError(f"{what} must have shape (N, {M}, {K + 1}), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ParameterError(f"{what} must be finite")
    return arr


def _cell_arrays(
    grid: PWLAGrid, H: Any, Og: Any, Oh: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    M, K = grid.size, grid.pieces
    Hv = _values(H, M, K, "denominator_values")
    out = [Hv]
    for arr, what in ((Og, "numerator_oscillation"), (Oh, "denominator_oscillation")):
        a = np.asarray(arr, dtype=float)
        if a.shape != (Hv.shape[0], M, K):
            raise ParameterError(f"{what} must have shape ({Hv.shape[0]}, {M}, {K}), got {a.shape}")
        if not np.isfinite(a).all() or (a < 0).any():
            raise ParameterError(f"{what} must be finite and >= 0")
        out.append(a)
    return out[0], out[1], out[2]


def _vector(x: Any, n: int, what: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float).ravel()
    if arr.size not in (1, n):
        raise ParameterError(f"{what} must be a scalar or have {n} entries, got {arr.size}")
    out = np.broadcast_to(arr, (n,)).copy()
    if not np.isfinite(out).all():
        raise ParameterError(f"{what} must be finite")
    return out


__all__ = [
    "OBJECTIVES",
    "PWLAGrid",
    "PWLAModel",
    "lipschitz_oscillation",
    "max_cell_ratio",
    "monotone_oscillation",
    "pwla_error_bound",
    "pwla_error_line",
    "pwla_fractional",
    "pwla_grid",
    "pwla_objective_error",
]
