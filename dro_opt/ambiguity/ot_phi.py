"""Joint phi-divergence and optimal-transport balls (paper 002 Def. 5.1), a set that moves and
reweights the samples.

``W^theta_{d,phi}(Q, P) = inf theta1 E_{gamma'}[d(Z, Z')] + theta2 D_phi(gamma', gamma)`` over
``gamma, gamma'`` on ``Z x Z`` with ``gamma'_Z = Q`` and ``gamma_Z' = P``, ``theta2 = theta1 /
(theta1 - 1)`` (``1/theta1 + 1/theta2 = 1``), ``d(xi, xi') = ||xi - xi'||_p`` (or its square) and
``phi`` the KL entropy ``t log t - t + 1``. For ``loss = max_k a_k' xi + b_k`` the worst case
``sup { E_Q[loss] : W^theta(Q, P) <= r }`` is computed two independent ways:

* **primal**, the lifted form of paper 002 Thm 5.4 (``phi'_inf = inf``, ``r > 0``): a coupling
  ``pi`` of ``(V, W)`` with ``P x delta_1``, ``E_pi[W] = 1``, objective ``E_pi[W loss(V)]``, cost
  ``E_pi[theta1 W d(V, xi) + theta2 phi(W)] <= r``. Each sample ``xi_i`` is split into K
  sub-atoms with nominal mass ``beta_ik >= 0`` (``sum_k beta_ik = p_i``), final mass
  ``m_ik = beta_ik w_ik >= 0`` (``sum_ik m_ik = 1``) and first moment ``q_ik`` (atom ``xi_i +
  q_ik / m_ik``): maximise ``sum_ik m_ik (a_k' xi_i + b_k) + a_k' q_ik`` s.t. ``theta1 sum_ik
  ||q_ik|| + theta2 sum_ik beta_ik phi(m_ik / beta_ik) <= r`` (squared cost: ``||q_ik||^2 /
  m_ik``) and ``(lo - xi_i) m_ik <= q_ik <= (hi - xi_i) m_ik`` in a box support.
  K sub-atoms suffice: merge the part of ``pi`` from ``xi_i`` whose ``V`` has piece ``k`` active
  into one sub-atom (``beta`` = its ``pi``-mass, ``m`` = its ``W``-mass, ``q = E[W (V - xi_i)]``).
  The objective is kept (``l_k`` is affine) and the cost does not grow: ``E[W ||V - xi||] >=
  ||q||`` (triangle inequality), ``E[W ||V - xi||^2] >= ||q||^2 / m`` (Cauchy-Schwarz), ``E[phi(W)]
  >= beta phi(m / beta)`` (Jensen); the barycenter stays in the convex support.
  The split ``beta`` is then eliminated: the perspective ``(m, beta) -> beta phi(m / beta)`` is
  sublinear, so ``sum_k beta_ik phi(m_ik / beta_ik) >= p_i phi(m_i / p_i)`` (``m_i = sum_k
  m_ik``) with equality at ``beta_ik = p_i m_ik / m_i``. The program solved has the divergence
  term ``theta2 sum_i p_i phi(m_i / p_i)`` (N exponential cones, none at the cone's apex).
* **dual**, paper 002 Cor. 5.6 / Thm 5.8: ``min lam r + t`` s.t. ``ExpCone(zeta_i - t, lam theta2,
  eta_i)`` (``lam theta2 exp((zeta_i - t)/(lam theta2)) <= eta_i``), ``sum_i p_i eta_i <= lam
  theta2`` and ``zeta_i >= sup_{xi in Xi} a_k' xi + b_k - lam theta1 d(xi, xi_i)``, i.e. ``zeta_i
  >= a_k' xi_i + b_k + gamma_ik'(d - C xi_i)`` with ``||a_k - C' gamma_ik||_q <= lam theta1``
  (Thm 5.8 with the box's support function); squared cost: ``+ ||a_k - C' gamma_ik||_q^2 /
  (4 lam theta1)`` (Cor. 5.9, extended to any norm and a box by the same Lagrangian argument:
  ``sup_u v'u - alpha ||u||^2 = ||v||_q^2 / (4 alpha)``). The cone is scaled by ``1/theta2``
  for the solver and the value is evaluated exactly (log-sum-exp) at the repaired multipliers.

Remark 5.7 (paper 002): ``theta1 -> inf`` gives the KL-DRO dual, ``theta1 -> 1`` the Wasserstein
one; ``theta1 = inf`` itself is refused (use the KL-divergence ball). The returned distribution
is made exactly feasible as for :mod:`dro_opt.ambiguity.wasserstein` (vanishing sub-atoms moved
far with norm cost and unbounded support: ``attained`` False).
"""

from __future__ import annotations

import math
from typing import Any

import cvxpy as cp
import numpy as np
from scipy.special import kl_div, logsumexp, rel_entr

from dro_opt.ambiguity.wasserstein import (
    TransportInstance,
    TransportSet,
    distances,
    dtransform_blocks,
    dtransform_exact,
    multiplier_values,
    primal_blocks,
    refine_lambda,
    solve,
)
from dro_opt.errors import ParameterError

#: Entropy functions with a finite recession slope phi'_inf (paper 002 Table 1): Thm 5.4 fails.
_FINITE_SLOPE = ("burg", "chi2", "hellinger", "tv", "total_variation")


def check_theta1(theta1: Any) -> float:
    """A finite ``theta1 > 1`` (``theta2 = theta1 / (theta1 - 1)`` then is finite and > 1)."""
    try:
        t = float(theta1)
    except (TypeError, ValueError):
        raise ParameterError(f"theta1 must be a finite number > 1, got {theta1!r}") from None
    if t == math.inf:
        raise ParameterError(
            "theta1 = inf is the pure phi-divergence ball (paper 002 Lemma 5.3): use the "
            "KL-divergence set; theta1 must be a finite number > 1"
        )
    if not (math.isfinite(t) and t > 1.0):
        raise ParameterError(
            f"theta1 must be a finite number > 1 (theta2 = theta1/(theta1 - 1)), got {theta1!r}"
        )
    return t


def check_phi(phi: Any) -> str:
    name = str(phi).strip().lower() if isinstance(phi, str) else None
    if name == "kl":
        return name
    if name in _FINITE_SLOPE:
        raise ParameterError(
            f"phi={phi!r} has a finite recession slope phi'_inf; the joint OT-phi worst case "
            "(paper 002 Thm 5.4) needs phi'_inf = inf. Only phi='kl' is implemented"
        )
    raise ParameterError(f"phi must be 'kl' (the only entropy function implemented), got {phi!r}")


class OTPhiSet(TransportSet):
    """Ball ``{Q : W^theta_{d,phi}(Q, P) <= radius}`` of paper 002 Def. 5.1 (module docstring).

    Attributes read by the rewrite rules: ``radius``, ``theta1``, ``theta2``, ``phi`` ("kl"),
    ``norm`` (1, 2 or ``np.inf``), ``dual_norm``, ``cost`` ("norm" | "squared"), ``support``
    (None or ``(lower, upper)`` arrays).
    """

    def __init__(
        self, radius: Any, theta1: Any, phi: Any, norm: Any, support: Any, cost: Any
    ) -> None:
        super().__init__(radius, norm, support, cost)
        self.theta1 = check_theta1(theta1)
        self.theta2 = self.theta1 / (self.theta1 - 1.0)
        self.phi = check_phi(phi)

    def describe(self) -> str:
        return (
            f"OT-{self.phi} ball radius={self.radius:g}, theta1={self.theta1:g}, "
            f"theta2={self.theta2:g}, {self._cost_text()}"
        )

    def _budget(self) -> float:
        return self.radius / self.theta1

    def _primal(self, inst: TransportInstance) -> list[tuple[np.ndarray, np.ndarray]]:
        """Lifted paper 002 Thm 5.4 program with K sub-atoms per sample and the nominal split
        eliminated (module docstring): N exponential cones."""
        M, D, obj, transport, cons = primal_blocks(inst, self.norm, self.cost)
        m = cp.sum(M, axis=1)
        cons += [
            cp.sum(m) == 1,
            self.theta1 * transport + self.theta2 * cp.sum(cp.kl_div(m, inst.p)) <= self.radius,
        ]
        snaps = solve(cp.Problem(cp.Maximize(obj), cons), "OT-phi primal (paper 002 Thm 5.4)")
        return [(sn[M.id], np.stack([sn[Dk.id] for Dk in D], axis=1)) for sn in snaps]

    def _assemble(
        self, inst: TransportInstance, M: np.ndarray, D: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Masses scaled to total one (atoms kept); the optimal nominal split ``beta_ik = p_i
        m_ik / m_i`` (``p_i / K`` each when ``m_i = 0``)."""
        atoms, origins = self._subatoms(inst, M, D)
        Mn = M / M.sum()
        mi = Mn.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = np.where(mi > 0, inst.p[:, None] * Mn / mi, inst.p[:, None] / M.shape[1])
        return atoms, origins, Mn.ravel(), beta.ravel()

    def _feasible(
        self,
        inst: TransportInstance,
        loss: Any,
        atoms: np.ndarray,
        origins: np.ndarray,
        probs: np.ndarray,
        nominal: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float]:
        """The base repair (mixing with the nominal) or, when the solver's point overshoots the
        radius, the optimal reweighting of the samples for its sub-atoms (:meth:`_tilt`) if
        that has the larger value."""
        base = super()._feasible(inst, loss, atoms, origins, probs, nominal)
        if base[0].shape[0] == atoms.shape[0]:  # no mixing was needed
            return base
        tilted = self._tilt(inst, loss, atoms, origins, probs)
        if tilted is not None:
            cand = super()._feasible(inst, loss, atoms, origins, *tilted)
            if cand[-1] > base[-1]:
                return cand
        return base

    def _tilt(
        self,
        inst: TransportInstance,
        loss: Any,
        atoms: np.ndarray,
        origins: np.ndarray,
        probs: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Keep the sub-atoms and their shares ``f_ik`` within each sample and choose the sample
        masses ``m`` optimally: with ``v_i = sum_k f_ik loss(z_ik)`` and ``t_i = sum_k f_ik
        d(z_ik, xi_i)``, ``max m'v`` s.t. ``theta1 m't + theta2 KL(m || p) <= r`` is solved by
        ``m_i ~ p_i exp(v_i / (mu theta2) - theta1 t_i / theta2)`` with ``mu > 0`` found by
        bisection (the cost decreases in ``mu``). Returns ``(probabilities, nominal masses)``
        meeting the radius, or None when no ``mu`` does (solver noise is then handled by
        mixing)."""
        n = inst.p.size
        m = np.bincount(origins, weights=probs, minlength=n)
        count = np.bincount(origins, minlength=n)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(m[origins] > 0, probs / m[origins], 1.0 / count[origins])
        v = np.bincount(origins, weights=f * inst.values(atoms, origins), minlength=n)
        dist = distances(atoms - inst.xi[origins], self.norm, self.cost)
        t = np.bincount(origins, weights=f * dist, minlength=n)
        logp = np.log(inst.p)

        def masses(log_mu: float) -> np.ndarray:
            z = logp + v / (math.exp(log_mu) * self.theta2) - self.theta1 * t / self.theta2
            return np.exp(z - logsumexp(z))

        def cost(mi: np.ndarray) -> float:
            return self.theta1 * float(mi @ t) + self.theta2 * float(np.sum(kl_div(mi, inst.p)))

        lo, hi = -40.0, 40.0  # log mu: small mu = aggressive tilt (high cost)
        if cost(masses(hi)) > self.radius:
            return None
        for _ in range(64):
            mid = 0.5 * (lo + hi)
            if cost(masses(mid)) > self.radius:
                lo = mid
            else:
                hi = mid
        mi = masses(hi)
        return f * mi[origins], f * inst.p[origins]

    def _coupling_cost(
        self,
        inst: TransportInstance,
        atoms: np.ndarray,
        origins: np.ndarray,
        probs: np.ndarray,
        nominal: np.ndarray,
    ) -> float:
        """``theta1 sum m d(atom, xi) + theta2 sum beta phi(m / beta)`` of the split coupling,
        an upper bound on ``W^theta`` (sub-atoms at the same point merge at no higher cost)."""
        transport = float(probs @ distances(atoms - inst.xi[origins], self.norm, self.cost))
        div = float(np.sum(rel_entr(probs, nominal) - probs + nominal))
        return self.theta1 * transport + self.theta2 * div

    def _dual(self, inst: TransportInstance) -> tuple[float, dict[str, Any]]:
        """Paper 002 Thm 5.8 / Cor. 5.9 (box: Thm 5.8's support-function terms), evaluated
        exactly: ``lam >= max ||a_k - C' gamma_ik||_q / theta1``, ``zeta`` its least value,
        ``t = lam theta2 log sum_i p_i exp(zeta_i / (lam theta2))``."""
        n = inst.p.size
        lam, t = cp.Variable(nonneg=True), cp.Variable()
        e, zeta = cp.Variable(n, nonneg=True), cp.Variable(n)
        cons, gams = dtransform_blocks(inst, self.dual_norm, self.cost, self.theta1 * lam, zeta)
        # ExpCone(zeta - t, lam theta2, eta) scaled by 1/theta2 (eta = theta2 e): same set.
        cons += [cp.ExpCone((zeta - t) / self.theta2, lam * np.ones(n), e), inst.p @ e <= lam]
        snaps = solve(
            cp.Problem(cp.Minimize(lam * self.radius + t), cons),
            "OT-phi dual (paper 002 Thm 5.8)",
        )
        best: tuple[float, dict[str, Any]] | None = None
        for sn in snaps:
            value, mult = self._dual_point(inst, float(sn[lam.id]), multiplier_values(gams, sn))
            if best is None or value < best[0]:
                best = (value, mult)
        assert best is not None
        return best

    def _dual_point(
        self,
        inst: TransportInstance,
        lam0: float,
        gv: list[tuple[np.ndarray | None, np.ndarray | None]],
    ) -> tuple[float, dict[str, Any]]:
        """Exact dual value at the repaired multipliers ``(lam, gamma)`` of one solver point."""
        need = 0.0
        if self.cost == "norm":
            need = dtransform_exact(inst, self.dual_norm, self.cost, 0.0, gv)[1] / self.theta1

        def parts(lam_: float) -> tuple[np.ndarray, float]:
            z = dtransform_exact(inst, self.dual_norm, self.cost, lam_ * self.theta1, gv)[0]
            s = lam_ * self.theta2
            return z, (s * float(logsumexp(z / s, b=inst.p)) if s > 0 else float(z.max()))

        def h(lam_: float) -> float:
            return lam_ * self.radius + parts(lam_)[1]

        lam_v = refine_lambda(h, max(lam0, 0.0), need)
        z, t_v = parts(lam_v)
        s = lam_v * self.theta2
        eta = s * np.exp((z - t_v) / s) if s > 0 else np.zeros(z.size)
        value = lam_v * self.radius + t_v
        return value, {"lambda": lam_v, "t": t_v, "zeta": z, "eta": eta}


def ot_phi(
    radius: Any,
    theta1: Any,
    phi: str = "kl",
    norm: Any = 2,
    *,
    support: tuple[Any, Any] | None = None,
    cost: str = "norm",
) -> OTPhiSet:
    """Joint phi-divergence and OT ball of paper 002 Def. 5.1: ``theta1 > 1`` finite,
    ``theta2 = theta1 / (theta1 - 1)``, ``d = ||xi - xi'||_norm`` (``cost="squared"``: squared),
    ``phi="kl"``; ``support`` an optional box ``(lower, upper)``. Raises ParameterError for a
    radius that is not a finite number ``>= 0``, ``theta1 <= 1``, NaN or inf, another norm, cost
    or phi, or a malformed box."""
    return OTPhiSet(radius, theta1, phi, norm, support, cost)
