"""Type-1 Wasserstein balls (sets that move the samples) and the machinery they share with
:mod:`dro_opt.ambiguity.ot_phi`.

For ``loss(xi) = max_k a_k' xi + b_k`` (a :class:`dro_opt.dro.PiecewiseAffineLoss` at fixed
decisions), nominal ``P = sum_i p_i delta_{xi_i}``, a box support ``Xi = {lo <= xi <= hi}``
(``C xi <= d`` in the finite rows) and the cost ``c(xi, xi') = ||xi - xi'||_p`` (or its square),
the worst case ``sup { E_Q[loss] : W_c(Q, P) <= eps }`` is computed two independent ways
(with per-sample intercepts ``b_{k,i}`` -- the loss of an atom moved from sample ``i`` is
``max_k a_k' xi + b_{k,i}`` -- read ``b_k`` as ``b_{k,i}`` in every formula below; the
programs are separable per sample, so nothing else changes):

* **primal** (Mohajerin Esfahani & Kuhn 2018, Thm 4.4, written with displacements ``+q``):
  ``max sum_ik M_ik (a_k' xi_i + b_k) + a_k' D_ik`` over masses ``M_ik >= 0`` with
  ``sum_k M_ik = p_i`` and first moments ``D_ik`` (sub-atom ``xi_i + D_ik / M_ik`` of mass
  ``M_ik``; ``M_ik = p_i alpha_ik``, ``D_ik = p_i q_ik``) subject to the transport budget
  ``sum_ik ||D_ik|| <= eps`` (squared cost: ``sum_ik ||D_ik||^2 / M_ik <= eps``, the perspective of
  ``||.||^2``) and the support ``(lo - xi_i) M_ik <= D_ik <= (hi - xi_i) M_ik``. K sub-atoms per
  sample suffice: merging the sub-atoms of sample ``i`` on which piece ``k`` is active into
  their barycenter keeps ``sum m l_k`` (``l_k`` affine), stays in the convex ``Xi``, and does not
  raise the cost (triangle inequality, resp. Jensen).
* **dual** (Mohajerin Esfahani & Kuhn 2018, Thm 4.2): ``min lam eps + sum_i p_i s_i`` s.t.
  ``b_k + a_k' xi_i + gamma_ik'(d - C xi_i) <= s_i`` and ``||C' gamma_ik - a_k||_q <= lam``,
  ``gamma_ik >= 0`` (``1/p + 1/q = 1``); for the squared cost the norm constraint is replaced by
  the term ``+ ||a_k - C' gamma_ik||_q^2 / (4 lam)`` in ``s_i`` (``sup_xi a'xi - lam
  ||xi - xi_i||^2 = a'xi_i + ||a||_q^2 / (4 lam)``; paper 002 Cor. 5.9 for the Euclidean case).
  Unbounded support, norm cost: ``lam* = max_k ||a_k||_q`` and the value is ``eps lam* +
  sum_i p_i loss(xi_i)``.

With the norm cost and unbounded directions the supremum need not be attained (vanishing mass
moved infinitely far: ``M_ik -> 0`` with ``D_ik != 0``). The returned distribution is then built
by giving such sub-atoms a small mass ``tau p_i`` (value within ``1e-9 max(1, |v|)`` of the
program's) and ``attained`` is False. Every returned distribution is exactly feasible: its
coupling cost is recomputed and, if the solver's point overshoots the radius, the distribution
is mixed with the nominal (the cost and the gain over the nominal scale by ``1 - t``). The dual
value is evaluated exactly at a repaired (feasible) dual point, its ``lam`` refined by a 1-d
search of the exact dual function, so ``value <= sup <= dual_value``. Every point Clarabel
reports (inaccurate ones and those of its retries) is repaired this way; the best bound of each
side is kept.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cvxpy as cp
import numpy as np
from scipy.optimize import minimize_scalar

from dro_opt.ambiguity.base import (
    AmbiguitySet,
    WorstCase,
    check_bracket,
    check_radius,
    check_weights,
)
from dro_opt.errors import LossError, NumericalError, ParameterError

if TYPE_CHECKING:
    from dro_opt.dro.losses import PiecewiseAffineLoss

#: Clarabel settings of every worst-case program (tight: the results are compared to 1e-6).
SOLVER_SETTINGS: dict[str, Any] = {
    "tol_gap_abs": 1e-10,
    "tol_gap_rel": 1e-10,
    "tol_feas": 1e-10,
    "max_iter": 400,
}
_REFINE = {
    "iterative_refinement_reltol": 1e-14,
    "iterative_refinement_abstol": 1e-14,
    "iterative_refinement_max_iter": 50,
}
#: (objective scale, extra settings) tried in turn when Clarabel stops short of
#: :data:`SOLVER_SETTINGS` (exponential cones with tiny divergence budgets are delicate).
FALLBACKS: tuple[tuple[float, dict[str, Any]], ...] = (
    (1.0, _REFINE),
    (0.1, _REFINE),
    (1.0, {"max_step_fraction": 0.9}),
    (0.01, _REFINE),
    (1.0, {"equilibrate_enable": False}),
)
#: Relative value tolerance of the approximating distribution when the sup is not attained.
APPROX_TOL = 1e-9
_TAUS = tuple(10.0**-e for e in range(6, 16))
_VANISHING = 1e-6  # sub-atom mass below this fraction of p_i counts as vanishing


@dataclass
class TransportWorstCase(WorstCase):
    """:class:`WorstCase` of a set that moves the samples, with the coupling that certifies it.

    Attributes (besides those of :class:`WorstCase`)
    ----------
    origins : (M,) index of the nominal sample each atom was moved from.
    nominal_masses : (M,) mass of the nominal side of each coupling pair (``gamma`` of paper 002
        Def. 5.1; equal to ``probabilities`` for the Wasserstein coupling).
    discrepancy : the cost of that coupling (``<= radius``), an upper bound on the discrepancy.
    """

    origins: np.ndarray | None = None
    nominal_masses: np.ndarray | None = None
    discrepancy: float = math.nan


@dataclass
class TransportInstance:
    """Numeric data of one worst-case problem (samples of zero weight dropped)."""

    xi: np.ndarray  # (N, d)
    p: np.ndarray  # (N,) > 0
    A: np.ndarray  # (K, d)
    b: np.ndarray  # (K,) or (K, N): per-sample intercepts b_{k,i}
    lo: np.ndarray  # (d,)
    hi: np.ndarray  # (d,)
    index: np.ndarray  # (N,) positions in the caller's sample order

    @property
    def c(self) -> np.ndarray:
        """(N, K) piece values ``a_k' xi_i + b_k`` (``b_{k,i}`` with per-sample intercepts)."""
        return self.xi @ self.A.T + (self.b.T if self.b.ndim == 2 else self.b)

    def values(self, atoms: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """Loss ``max_k a_k' z_j + b_k`` at the atoms ``z_j`` moved from the kept samples
        ``origins[j]`` (their intercepts ``b_{k, origins[j]}`` when they are per sample)."""
        b = self.b[:, origins].T if self.b.ndim == 2 else self.b
        return (atoms @ self.A.T + b).max(axis=1)

    @property
    def fin_hi(self) -> np.ndarray:
        return np.flatnonzero(np.isfinite(self.hi))

    @property
    def fin_lo(self) -> np.ndarray:
        return np.flatnonzero(np.isfinite(self.lo))

    @property
    def unbounded(self) -> bool:
        return self.fin_hi.size == 0 and self.fin_lo.size == 0


# --------------------------------------------------------------------------- parameter parsing
def parse_norm(norm: Any) -> tuple[float, float]:
    """``(p, q)`` for ``norm`` in {1, 2, inf} (also "inf", np.inf) with ``1/p + 1/q = 1``."""
    if isinstance(norm, str) and norm.strip().lower() in ("inf", "infinity"):
        return np.inf, 1
    if not isinstance(norm, bool):
        try:
            v = float(norm)
        except (TypeError, ValueError):
            v = math.nan
        if v == 1:
            return 1, np.inf
        if v == 2:
            return 2, 2
        if v == math.inf:
            return np.inf, 1
    raise ParameterError(f"norm must be 1, 2 or 'inf' (np.inf), got {norm!r}")


def parse_cost(cost: Any) -> str:
    if cost not in ("norm", "squared"):
        raise ParameterError(
            f"cost must be 'norm' (||xi - xi'||) or 'squared' (||xi - xi'||^2), got {cost!r}"
        )
    return str(cost)


def parse_support(support: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``None`` or a box ``(lower, upper)`` of scalars or 1-d arrays (may be infinite)."""
    if support is None:
        return None
    try:
        lo, hi = support
        lo_a = np.atleast_1d(np.asarray(lo, dtype=float))
        hi_a = np.atleast_1d(np.asarray(hi, dtype=float))
        np.broadcast(lo_a, hi_a)
    except (TypeError, ValueError):
        raise ParameterError(
            "support must be a box (lower, upper) of scalars or 1-d arrays"
        ) from None
    if lo_a.ndim != 1 or hi_a.ndim != 1:
        raise ParameterError("support bounds must be scalars or 1-d arrays")
    if np.isnan(lo_a).any() or np.isnan(hi_a).any() or (lo_a > hi_a).any():
        raise ParameterError("support box needs lower <= upper in every coordinate (no NaN)")
    return lo_a, hi_a


def make_instance(
    loss: Any, weights: Any, support: tuple[np.ndarray, np.ndarray] | None
) -> TransportInstance:
    """Check the loss and weights and intersect the set's support box with the loss's own."""
    from dro_opt.dro.losses import PiecewiseAffineLoss  # deferred: dro_opt.dro may import us

    if not isinstance(loss, PiecewiseAffineLoss):
        raise LossError(
            "sets that move the samples need a dro_opt.dro.PiecewiseAffineLoss (samples and "
            f"pieces of max_k a_k' xi + b_k), got {type(loss).__name__}"
        )
    A, b = loss.numeric_pieces()
    xi, d = loss.samples, loss.dim
    p = check_weights(weights, loss.num_samples)
    lo, hi = loss.support
    if support is not None:
        try:
            slo = np.broadcast_to(support[0], (d,))
            shi = np.broadcast_to(support[1], (d,))
        except ValueError:
            raise ParameterError(
                f"support box has {support[0].size} entries but the loss has dimension {d}"
            ) from None
        lo, hi = np.maximum(lo, slo), np.minimum(hi, shi)
        if (lo > hi).any():
            raise ParameterError("the set's support box does not meet the loss's support box")
        outside = (xi < lo - 1e-12).any(axis=1) | (xi > hi + 1e-12).any(axis=1)
        if outside.any():
            raise ParameterError(
                f"sample {int(np.flatnonzero(outside)[0])} lies outside the support box"
            )
    keep = np.flatnonzero(p > 0)
    b = b[:, keep] if b.ndim == 2 else b
    return TransportInstance(xi[keep], p[keep], A, b, lo.astype(float), hi.astype(float), keep)


# --------------------------------------------------------------------------- shared programs
Snapshot = dict[int, np.ndarray]


def solve(problem: cp.Problem, what: str) -> list[Snapshot]:
    """Solve with Clarabel at :data:`SOLVER_SETTINGS`; when Clarabel stops short of its
    tolerances (``optimal_inaccurate``) or fails, retry with the :data:`FALLBACKS` (a scaled
    objective has the same optimal points).

    Returns the variable values (by variable id) of every attempt that reported an optimum,
    inaccurate ones included (the last is the accurate one when there is one): each is
    repaired into a valid bound and the best is kept. NumericalError if none did."""
    snaps: list[Snapshot] = []
    error: Exception | None = None
    for scale, extra in ((1.0, {}), *FALLBACKS):
        prob = problem
        if scale != 1.0:
            objective = type(problem.objective)(problem.objective.expr * scale)
            prob = cp.Problem(objective, problem.constraints)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                prob.solve(solver=cp.CLARABEL, **SOLVER_SETTINGS, **extra)
        except cp.error.SolverError as exc:
            error = exc
            continue
        if prob.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
            snaps.append({v.id: np.asarray(v.value, dtype=float) for v in prob.variables()})
        if prob.status == cp.OPTIMAL:
            break
    if not snaps:
        detail = f": {error}" if error is not None else f" (status {problem.status})"
        raise NumericalError(f"Clarabel found no optimum of the {what}{detail}")
    return snaps


def multiplier_values(
    gams: list[tuple[cp.Variable | None, cp.Variable | None]], snap: Snapshot
) -> list[tuple[np.ndarray | None, np.ndarray | None]]:
    """The box multipliers of :func:`dtransform_blocks` in one :func:`solve` snapshot."""
    return [
        (None if gh is None else snap[gh.id], None if gl is None else snap[gl.id])
        for gh, gl in gams
    ]


def primal_blocks(
    inst: TransportInstance, p_norm: float, cost: str
) -> tuple[cp.Variable, list[cp.Variable], cp.Expression, cp.Expression, list[cp.Constraint]]:
    """Masses ``M`` (N, K), moments ``D_k`` (N, d), the objective ``sum M c + a_k' D_k``, the
    transport ``sum ||D_ik||`` (squared: ``sum ||D_ik||^2 / M_ik`` via rotated cones) and the
    support constraints ``(lo - xi) M_ik <= D_ik <= (hi - xi) M_ik``."""
    n, k_num = inst.c.shape
    d = inst.xi.shape[1]
    M = cp.Variable((n, k_num), nonneg=True)
    D = [cp.Variable((n, d)) for _ in range(k_num)]
    c = inst.c
    obj = cp.sum(cp.multiply(M, c)) + sum(cp.sum(D[k] @ inst.A[k]) for k in range(k_num))
    cons: list[cp.Constraint] = []
    fh, fl = inst.fin_hi, inst.fin_lo
    H = inst.hi[fh] - inst.xi[:, fh]
    Lo = inst.xi[:, fl] - inst.lo[fl]
    terms = []
    for k in range(k_num):
        if fh.size:
            cons.append(D[k][:, fh] <= cp.multiply(M[:, k : k + 1], H))
        if fl.size:
            cons.append(D[k][:, fl] >= -cp.multiply(M[:, k : k + 1], Lo))
        nrm = cp.norm(D[k], p_norm, axis=1)
        if cost == "norm":
            terms.append(cp.sum(nrm))
        else:
            u, w = cp.Variable(n), cp.Variable(n)
            cons += [u >= nrm, cp.SOC(M[:, k] + w, cp.vstack([2 * u, M[:, k] - w]), axis=0)]
            terms.append(cp.sum(w))
    return M, D, obj, sum(terms), cons


def dtransform_blocks(
    inst: TransportInstance, q_norm: float, cost: str, alpha: cp.Expression, zeta: cp.Expression
) -> tuple[list[cp.Constraint], list[tuple[cp.Variable | None, cp.Variable | None]]]:
    """Constraints ``zeta_i >= sup_{xi in Xi} a_k' xi + b_k - alpha c(xi, xi_i)`` for all i, k
    (Mohajerin Esfahani & Kuhn 2018, Thm 4.2 / paper 002 Thm 5.8 with box multipliers
    ``gamma = (g_hi, g_lo) >= 0``); returns them and the multiplier variables per piece."""
    n, k_num = inst.c.shape
    d = inst.xi.shape[1]
    fh, fl = inst.fin_hi, inst.fin_lo
    H = inst.hi[fh] - inst.xi[:, fh]
    Lo = inst.xi[:, fl] - inst.lo[fl]
    cons: list[cp.Constraint] = []
    gams: list[tuple[cp.Variable | None, cp.Variable | None]] = []
    for k in range(k_num):
        G: Any = 0
        rhs: Any = inst.c[:, k]
        gh = gl = None
        if fh.size:
            gh = cp.Variable((n, fh.size), nonneg=True)
            G = G + gh @ np.eye(d)[fh]
            rhs = rhs + cp.sum(cp.multiply(gh, H), axis=1)
        if fl.size:
            gl = cp.Variable((n, fl.size), nonneg=True)
            G = G - gl @ np.eye(d)[fl]
            rhs = rhs + cp.sum(cp.multiply(gl, Lo), axis=1)
        gams.append((gh, gl))
        resid = np.tile(inst.A[k], (n, 1)) - G
        nrm = cp.norm(resid, q_norm, axis=1)
        if cost == "norm":
            cons += [nrm <= alpha, zeta >= rhs]
        else:
            u, w = cp.Variable(n), cp.Variable(n)
            four = 4 * alpha * np.ones(n)
            cons += [u >= nrm, cp.SOC(four + w, cp.vstack([2 * u, four - w]), axis=0)]
            cons.append(zeta >= rhs + w)
    return cons, gams


def dtransform_exact(
    inst: TransportInstance,
    q_norm: float,
    cost: str,
    alpha: float,
    gams: list[tuple[np.ndarray | None, np.ndarray | None]],
) -> tuple[np.ndarray, float]:
    """Exact ``zeta_i = max_k`` of the robust-constraint left sides at the multiplier values
    ``gams`` (clipped to ``>= 0``) and, for the norm cost, the smallest ``alpha`` they need."""
    n, k_num = inst.c.shape
    d = inst.xi.shape[1]
    fh, fl = inst.fin_hi, inst.fin_lo
    zeta = np.full(n, -np.inf)
    need = 0.0
    for k in range(k_num):
        G = np.zeros((n, d))
        val = inst.c[:, k].copy()
        gh, gl = gams[k] if gams else (None, None)
        if gh is not None and fh.size:
            g = np.maximum(gh, 0.0)
            G[:, fh] += g
            val += (g * (inst.hi[fh] - inst.xi[:, fh])).sum(axis=1)
        if gl is not None and fl.size:
            g = np.maximum(gl, 0.0)
            G[:, fl] -= g
            val += (g * (inst.xi[:, fl] - inst.lo[fl])).sum(axis=1)
        r = np.linalg.norm(inst.A[k] - G, ord=q_norm, axis=1)
        if cost == "norm":
            need = max(need, float(r.max()))
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                quad = (
                    np.where(r == 0, 0.0, r**2 / (4.0 * alpha))
                    if alpha > 0
                    else np.where(r == 0, 0.0, np.inf)
                )
            val = val + quad
        zeta = np.maximum(zeta, val)
    return zeta, need


def refine_lambda(h: Callable[[float], float], lam0: float, lower: float) -> float:
    """A multiplier ``lam >= lower`` with ``h(lam) <= h(max(lam0, lower))``: bounded Brent on
    ``log lam`` within three decades of the solver's ``lam0`` (``h`` is the exact dual
    function at fixed box multipliers, convex in ``lam``, hence unimodal in ``log lam``)."""
    lam0 = max(lam0, lower)
    base = max(lam0, 1e-12)
    lo_s = math.log(max(lower, base * 1e-3))
    hi_s = math.log(base * 1e3)
    cands = [lam0] + ([lower] if lower > 0 else [])
    if hi_s > lo_s:
        res = minimize_scalar(
            lambda s: h(math.exp(s)),
            bounds=(lo_s, hi_s),
            method="bounded",
            options={"xatol": 1e-11},
        )
        cands.append(max(lower, math.exp(float(res.x))))
    return min(cands, key=h)


def direction(a: np.ndarray, p_norm: float) -> np.ndarray:
    """A ``u`` with ``||u||_p = 1`` and ``a'u = ||a||_q`` (zero for ``a = 0``)."""
    if not np.any(a):
        return np.zeros_like(a)
    if p_norm == 2:
        return a / np.linalg.norm(a)
    if p_norm == 1:
        u = np.zeros_like(a)
        j = int(np.argmax(np.abs(a)))
        u[j] = np.sign(a[j])
        return u
    return np.sign(a)


def concentrate(
    inst: TransportInstance,
    M: np.ndarray,
    D: np.ndarray,
    p_norm: float,
    q_norm: float,
    budget: float,
) -> tuple[np.ndarray, bool]:
    """Detect sub-atoms of vanishing mass carrying a share of the transport ``budget`` (bound on
    ``sum ||D_ik||``; norm cost). With unbounded support their budget ``B`` is moved to a
    sub-atom of non-vanishing mass of a piece with maximal ``||a_k||_q = L`` along its steepest
    direction: the objective gains ``L B >= sum a_k' D`` and the transport does not grow.
    Returns the new ``D`` and whether no such sub-atom is left (always True on a bounded box,
    where the supremum is attained)."""
    if np.isfinite(inst.lo).all() and np.isfinite(inst.hi).all():
        return D, True
    dn = np.linalg.norm(D, ord=p_norm, axis=2)
    small = M < _VANISHING * inst.p[:, None]
    deg = small & (dn > _VANISHING * budget)
    if not deg.any():
        return D, True
    if not inst.unbounded:
        return D, False
    an = np.linalg.norm(inst.A, ord=q_norm, axis=1)
    target = ~small & (an >= an.max() * (1 - 1e-9))[None, :]
    if not target.any():
        return D, False
    i, k = np.unravel_index(int(np.argmax(np.where(target, M, -1.0))), M.shape)
    D = D.copy()
    budget = float(dn[deg].sum())
    D[deg] = 0.0
    D[i, k] += budget * direction(inst.A[k], p_norm)
    return D, True


def distances(diff: np.ndarray, p_norm: float, cost: str) -> np.ndarray:
    dist = np.linalg.norm(diff, ord=p_norm, axis=1)
    return dist**2 if cost == "squared" else dist


# --------------------------------------------------------------------------- common base class
class TransportSet(AmbiguitySet):
    """Common part of the sets that move the samples (Wasserstein, OT-phi).

    Subclasses provide ``_primal(inst) -> (M, D)``, ``_assemble``, ``_coupling_cost`` and
    ``_dual(inst) -> (value, multipliers)``.
    """

    moves_samples = True

    def __init__(self, radius: Any, norm: Any, support: Any, cost: Any) -> None:
        self.radius = check_radius(radius)
        self.norm, self.dual_norm = parse_norm(norm)
        self.cost = parse_cost(cost)
        self.support = parse_support(support)

    def _cost_text(self) -> str:
        p = "inf" if self.norm == np.inf else str(int(self.norm))
        sq = "^2" if self.cost == "squared" else ""
        box = ", box support" if self.support is not None else ""
        return f"cost ||xi - xi'||_{p}{sq}{box}"

    def worst_case(
        self, loss: PiecewiseAffineLoss, weights: Any = None
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """``(value, atoms, probabilities)``: the worst-case expected loss over the set and a
        distribution attaining it (within :data:`APPROX_TOL` when it is not attained);
        ``value == probabilities @ loss.values(atoms, origins)``."""
        wc = self.worst_case_distribution(loss, weights)
        assert wc.atoms is not None
        return wc.value, wc.atoms, wc.probabilities

    def worst_case_distribution(
        self, loss: PiecewiseAffineLoss, weights: Any = None
    ) -> TransportWorstCase:
        """Primal distribution and dual value (see the module docstring)."""
        inst = make_instance(loss, weights, self.support)
        if self.radius == 0.0:
            return self._nominal(inst, loss)
        dual_value, mult = self._dual(inst)
        outs = [self._distribution(inst, loss, M, D) for M, D in self._primal(inst)]
        atoms, origins, probs, nominal, cost, value, attained = max(outs, key=lambda o: o[5])
        check_bracket(value, float(dual_value), self.describe())
        return TransportWorstCase(
            value=value,
            dual_value=float(dual_value),
            probabilities=probs,
            atoms=atoms,
            attained=attained,
            multipliers=mult,
            origins=inst.index[origins],
            nominal_masses=nominal,
            discrepancy=cost,
        )

    def _nominal(self, inst: TransportInstance, loss: PiecewiseAffineLoss) -> TransportWorstCase:
        """Radius 0: the ball is the nominal; the dual value is its limit ``lambda -> inf``."""
        v = float(inst.p @ inst.values(inst.xi, np.arange(inst.p.size)))
        return TransportWorstCase(
            value=v,
            dual_value=v,
            probabilities=inst.p.copy(),
            atoms=inst.xi.copy(),
            multipliers={"lambda": math.inf},
            origins=inst.index.copy(),
            nominal_masses=inst.p.copy(),
            discrepancy=0.0,
        )

    def _distribution(
        self,
        inst: TransportInstance,
        loss: PiecewiseAffineLoss,
        M: np.ndarray,
        D: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float, bool]:
        """The program's point as an exactly feasible distribution (module docstring):
        ``(atoms, origins, probabilities, nominal masses, cost, value, attained)``.

        Sub-atoms of vanishing mass whose moment is solver noise lose it; those that move get
        the mass ``tau p_i`` (largest ``tau`` in :data:`_TAUS` whose final value is within
        :data:`APPROX_TOL` of the best one, i.e. of the limit ``tau -> 0``)."""
        M = np.maximum(M, 0.0)
        attained = True
        if self.cost == "norm":
            D, attained = concentrate(inst, M, D, self.norm, self.dual_norm, self._budget())
        dn = np.linalg.norm(D, ord=self.norm, axis=2)
        vanishing = M < _VANISHING * inst.p[:, None]
        noise = vanishing & (dn <= 1e-9 * self._budget())
        D = np.where(noise[:, :, None], 0.0, D)
        moving = vanishing & ~noise
        outs = []
        for tau in _TAUS:
            floor = tau * inst.p[:, None]
            low = moving & (M < floor)
            Mf = np.where(low, floor, M)
            outs.append(self._feasible(inst, loss, *self._assemble(inst, Mf, D)))
            if not low.any():
                break
        top = max(out[-1] for out in outs)
        best = next(out for out in outs if out[-1] >= top - APPROX_TOL * max(1.0, abs(top)))
        return (*best, attained)

    def _feasible(
        self,
        inst: TransportInstance,
        loss: PiecewiseAffineLoss,
        atoms: np.ndarray,
        origins: np.ndarray,
        probs: np.ndarray,
        nominal: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float]:
        """Mix with the nominal when the coupling cost exceeds the radius (solver tolerance):
        cost and ``value - E_P[loss]`` scale by the kept fraction; then evaluate the loss."""
        cost = self._coupling_cost(inst, atoms, origins, probs, nominal)
        if cost > self.radius:
            keep = self.radius / cost * (1 - 1e-12)
            n = inst.p.size
            atoms = np.vstack([atoms, inst.xi])
            origins = np.concatenate([origins, np.arange(n)])
            probs = np.concatenate([keep * probs, (1 - keep) * inst.p])
            nominal = np.concatenate([keep * nominal, (1 - keep) * inst.p])
            cost = self._coupling_cost(inst, atoms, origins, probs, nominal)
        value = float(probs @ inst.values(atoms, origins))
        return atoms, origins, probs, nominal, float(cost), value

    @staticmethod
    def _subatoms(
        inst: TransportInstance, M: np.ndarray, D: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(N*K, d) atoms ``xi_i + D_ik / M_ik`` clipped to the box (``xi_i`` where ``M = 0``),
        and their origins. Clipping moves every coordinate towards ``xi_i``: no cost increase."""
        n, k_num, d = D.shape
        with np.errstate(divide="ignore", invalid="ignore"):
            disp = np.where(M[:, :, None] > 0, D / M[:, :, None], 0.0)
        atoms = np.clip(inst.xi[:, None, :] + disp, inst.lo, inst.hi).reshape(n * k_num, d)
        return atoms, np.repeat(np.arange(n), k_num)

    # subclass hooks ---------------------------------------------------------------
    def _budget(self) -> float:
        """Bound on ``sum_ik ||D_ik||`` implied by the radius (norm cost)."""
        return self.radius

    def _primal(self, inst: TransportInstance) -> list[tuple[np.ndarray, np.ndarray]]:
        """Masses ``M`` (N, K) and moments ``D`` (N, K, d) of the primal program's optimum, one
        pair per :func:`solve` snapshot."""
        raise NotImplementedError

    def _assemble(
        self, inst: TransportInstance, M: np.ndarray, D: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(atoms, origins, probabilities, nominal masses)`` of the sub-atoms."""
        raise NotImplementedError

    def _coupling_cost(
        self,
        inst: TransportInstance,
        atoms: np.ndarray,
        origins: np.ndarray,
        probs: np.ndarray,
        nominal: np.ndarray,
    ) -> float:
        raise NotImplementedError

    def _dual(self, inst: TransportInstance) -> tuple[float, dict[str, Any]]:
        raise NotImplementedError


# --------------------------------------------------------------------------- Wasserstein
class WassersteinSet(TransportSet):
    """Type-1 Wasserstein ball ``{Q : W_c(Q, P) <= radius}`` with ``c = ||xi - xi'||_norm`` (or
    its square, ``cost="squared"``), optionally restricted to a box support.

    Attributes read by the rewrite rules: ``radius``, ``norm`` (1, 2 or ``np.inf``),
    ``dual_norm`` (``1/norm + 1/dual_norm = 1``), ``cost`` ("norm" | "squared"), ``support``
    (None or ``(lower, upper)`` arrays; intersected with the loss's own box).
    """

    def describe(self) -> str:
        return f"Wasserstein ball radius={self.radius:g}, {self._cost_text()}"

    def _primal(self, inst: TransportInstance) -> list[tuple[np.ndarray, np.ndarray]]:
        """Mohajerin Esfahani & Kuhn 2018, Thm 4.4 (module docstring)."""
        M, D, obj, transport, cons = primal_blocks(inst, self.norm, self.cost)
        cons += [cp.sum(M, axis=1) == inst.p, transport <= self.radius]
        snaps = solve(cp.Problem(cp.Maximize(obj), cons), "Wasserstein primal (MEK 2018 Thm 4.4)")
        return [(sn[M.id], np.stack([sn[Dk.id] for Dk in D], axis=1)) for sn in snaps]

    def _assemble(
        self, inst: TransportInstance, M: np.ndarray, D: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        atoms, origins = self._subatoms(inst, M, D)
        masses = (M * (inst.p / M.sum(axis=1))[:, None]).ravel()  # rows to p_i, atoms kept
        keep = masses > 0
        return atoms[keep], origins[keep], masses[keep], masses[keep]

    def _coupling_cost(
        self,
        inst: TransportInstance,
        atoms: np.ndarray,
        origins: np.ndarray,
        probs: np.ndarray,
        nominal: np.ndarray,
    ) -> float:
        return float(probs @ distances(atoms - inst.xi[origins], self.norm, self.cost))

    def _dual(self, inst: TransportInstance) -> tuple[float, dict[str, Any]]:
        """Mohajerin Esfahani & Kuhn 2018, Thm 4.2, evaluated exactly at the repaired point
        ``lam >= max ||a_k - C' gamma_ik||_q``, ``gamma >= 0``, ``s_i`` = its smallest value."""
        n = inst.p.size
        lam, s = cp.Variable(nonneg=True), cp.Variable(n)
        cons, gams = dtransform_blocks(inst, self.dual_norm, self.cost, lam, s)
        snaps = solve(
            cp.Problem(cp.Minimize(lam * self.radius + inst.p @ s), cons),
            "Wasserstein dual (MEK 2018 Thm 4.2)",
        )
        best: tuple[float, dict[str, Any]] | None = None
        for sn in snaps:
            gv = multiplier_values(gams, sn)
            lam_v = max(float(sn[lam.id]), 0.0)
            _, need = dtransform_exact(inst, self.dual_norm, self.cost, lam_v, gv)

            def h(lam_: float, gv: Any = gv) -> float:
                zeta = dtransform_exact(inst, self.dual_norm, self.cost, lam_, gv)[0]
                return lam_ * self.radius + float(inst.p @ zeta)

            if self.cost == "squared":
                lam_v = refine_lambda(h, lam_v, 0.0)
            lam_v = max(lam_v, need)
            zeta, _ = dtransform_exact(inst, self.dual_norm, self.cost, lam_v, gv)
            value = lam_v * self.radius + float(inst.p @ zeta)
            if best is None or value < best[0]:
                best = (value, {"lambda": lam_v, "s": zeta})
        assert best is not None
        return best


def wasserstein(
    radius: Any,
    norm: Any = 2,
    *,
    support: tuple[Any, Any] | None = None,
    cost: str = "norm",
) -> WassersteinSet:
    """Type-1 Wasserstein ball of ``radius`` with cost ``||xi - xi'||_norm`` (``cost="squared"``:
    ``||xi - xi'||_norm^2``), norm in {1, 2, inf}; ``support`` an optional box ``(lower,
    upper)`` intersected with the loss's own. Raises ParameterError for a radius that is not a
    finite number ``>= 0``, another norm or cost, or a malformed box."""
    return WassersteinSet(radius, norm, support, cost)
