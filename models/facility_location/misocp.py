"""The paper's MISOCP for robust max-capture facility location (paper 003 Secs. 3.1-3.2, App. L).

Model (paper 003 Sec. 3.2 and App. L; weights ``q``, ``n = sum q``, ``p = q / n``), with
``s_ij = exp(a_ij)`` the log-odds utility of location ``j`` against customer ``i``'s competitors::

    f_i(z) = s_i'z / (1 + s_i'z)                     (linear-fractional in binary z)

The model is assembled from the rewrite rules of :mod:`dro_opt.reformulations` through a
:class:`~dro_opt.reformulations.emitter.ConicEmitter` (bulk blocks, no loop per customer/pair):

* :mod:`~dro_opt.reformulations.mccormick_fractional` -- the linear-fractional form (paper 003
  eqs. (2)-(4)), written per customer in the *scaled* form (every row divided by the competitor
  utility ``W_i``, so the competitor's coefficient is 1)::

      y_i + sum_j s_ij w_ij  (=|<=)  sum_j s_ij z_j,        w_ij = y_i z_j,

  with ``w_ij = y_i z_j`` replaced by its McCormick rows (paper 003 eqs. (5)-(10)), exact because
  ``z`` is binary and ``0 <= y_i <= ymax_i``::

      w_ij <= ymax_i z_j,   w_ij <= y_i,   w_ij >= y_i - ymax_i (1 - z_j),   w_ij >= 0 (bound).

  ``ymax_i = f_i(best r locations of customer i)`` is computed from the data. Budget
  ``sum_j z_j <= r``.
* :mod:`~dro_opt.reformulations.variance_soc` (``variance``) and
  :mod:`~dro_opt.reformulations.chi2_soc` (``chi2``) for the objectives, all on the scale of
  :mod:`.objectives`:

  - ``erm``:      max  sum_i q_i y_i                   (``<=`` suffices: objective increasing in y)
  - ``variance``: max  n (m - sqrt(2 rho / n) t),  m = p'y,  t >= ||diag(sqrt p)(y - m 1)||
    (one SOC, paper 003 eq. (11)); VR is not monotone in ``y``, so the fractional rows are
    equalities.
  - ``chi2``:     max  -n t,  t = sup { E_P[-y] : chi-square ball of radius rho / n } written by
    the lambda-free dual ``t = eta + sqrt(1 + 2 rho / n) tau``, ``u_i >= -y_i - eta``, ``u >= 0``,
    ``tau >= ||diag(sqrt p) u||`` (one SOC; Duchi & Namkoong 2019). ``eta`` here is minus the
    capture-scale multiplier (``-eta`` in ``[0, 1 + 1 / (2 sqrt(2 rho / n))]``); the dual is
    monotone in ``y``, so ``<=`` suffices.

``rho = 0`` builds the ERM model for every objective (the objectives coincide there).

Utilities outside double range (HM14 alpha = 0.2, beta = 10 spans more than 70 orders of
magnitude) are handled by an explicit, *accounted* change of the data, never silently:

* **cap**: ``a_ij > max_log_odds`` is replaced by ``max_log_odds`` (``s_ij <= e^A``). Opening such
  a ``j`` already captures customer ``i`` with probability ``>= sigmoid(A)``, so the capped model's
  ``f~_i`` is below ``f_i`` by at most ``1 / (1 + e^A)``.
* **drop**: pairs with ``a_ij < min_log_odds`` get no ``w_ij`` (``s~_ij = 0``). ``x/(1+x)`` is
  1-Lipschitz, so ``f_i - f~_i <= sum of the r largest dropped s_ij`` when no capped location is
  open. Solvers zero coefficients below about 1e-9 on their own, so keeping such pairs would be a
  silent change; dropping them here makes it an accounted one (and the model much sparser).

Hence ``0 <= f_i(z) - f~_i(z) <= e_i := max(cap_i, drop_i)`` for every feasible ``z``, and
:meth:`MCFLPMisocp.error_line` turns ``e`` into a rigorous, uniform-in-z bound on the objective
(ERM: ``sum q_i e_i``; chi2: ``n min(max e, sqrt(1 + 2 rho/n) ||e||_{2,p})`` by monotonicity and
the Cauchy-Schwarz bound on the worst-case density; VR: ``n (E_p e + sqrt(2 rho/n) ||e||_{2,p})``
since the standard deviation is a seminorm). The certificate adds this line to the solver's bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from dro_opt.certify import CertificateLine
from dro_opt.conic import ConicBuilder, ConicProblem
from dro_opt.errors import ParameterError
from dro_opt.models.facility_location.instance import MCFLPInstance
from dro_opt.models.facility_location.objectives import (
    OBJECTIVES,
    capture_probabilities,
    objective_from_probabilities,
)
from dro_opt.reformulations.chi2_soc import chi2_dual
from dro_opt.reformulations.emitter import ConicEmitter
from dro_opt.reformulations.mccormick_fractional import linear_fractional_mccormick
from dro_opt.reformulations.variance_soc import variance_soc
from dro_opt.validate import check_radius

#: Default cap on log-odds: e^13.82 = 1e6; a capped customer loses < 1e-6 of capture probability.
#: Larger caps are unsafe: with s_ij = 1e9, SCIP (feastol 1e-9) hit unresolved LP troubles on
#: HM14 alpha=0.2, beta=10 and, at its default feastol 1e-6, a "binary" z_j = 1e-6 already buys
#: capture 1e9 * 1e-6 = 1e3 (it claimed 316.83 for a decision worth 295.24). With 1e6 and
#: feastol 1e-9 it proved the true optimum 296.46 (r = 4) in 36-49 s.
DEFAULT_MAX_LOG_ODDS = math.log(1e6)
#: Default floor: pairs with s_ij < 1e-9 (the size solvers treat as zero) are dropped, accounted.
DEFAULT_MIN_LOG_ODDS = math.log(1e-9)


@dataclass
class MCFLPMisocp:
    """The built MISOCP with what is needed to interpret and certify its solutions.

    Attributes
    ----------
    problem : the canonical conic problem (sense ``max``); blocks ``z``, ``y``, ``w`` and
        ``m``/``t`` (variance) or ``eta``/``u``/``tau``/``t`` (chi2; ``t`` the worst-case
        expected loss ``sup_P E_P[-y]``, so the objective is ``-n t``).
    objective, rho : the objective actually modelled (``erm`` when ``rho == 0``) and radius.
    budget : ``r``.
    a_model : (N, D) log-odds used by the model (capped; ``-inf`` where a pair was dropped).
    pairs : (P, 2) customer/location index of every ``w`` variable (row-major order).
    ymax : (N,) McCormick upper bounds ``f~_i(best r locations)``.
    per_customer_error : (N,) ``e_i`` with ``0 <= f_i(z) - f~_i(z) <= e_i`` for all feasible z.
    relation : ``"eq"`` (variance) or ``"le"`` (erm, chi2) for the fractional rows.
    q : (N,) customer weights of the instance modelled.
    max_log_odds, min_log_odds : the cap and drop thresholds used.
    capped : (N, D) mask of the capped pairs.
    """

    problem: ConicProblem
    objective: str
    rho: float
    budget: int
    a_model: np.ndarray
    pairs: np.ndarray
    ymax: np.ndarray
    per_customer_error: np.ndarray
    relation: str
    q: np.ndarray
    max_log_odds: float
    min_log_odds: float
    capped: np.ndarray

    @property
    def num_capped(self) -> int:
        return int(self.capped.sum())

    @property
    def num_dropped(self) -> int:
        return int(np.isneginf(self.a_model).sum())

    def model_value(self, z: np.ndarray) -> float:
        """Exact optimum of the model over ``y`` for fixed binary ``z``: ``Phi(f~(z))``.

        This is what a correct solver reports for an optimal solution with this ``z``.
        """
        f = capture_probabilities(self.a_model, np.asarray(z, dtype=float))
        return objective_from_probabilities(self.q, f, self.objective, self.rho)

    def error_line(self) -> CertificateLine:
        """Rigorous bound on ``max_z F(z) - max_z F~(z)`` from the cap/drop (module docstring)."""
        e = self.per_customer_error
        n = float(self.q.sum())
        p = self.q / n
        l2 = float(np.sqrt(p @ (e * e)))
        if self.objective == "erm":
            value = float(self.q @ e)
        elif self.objective == "chi2":
            value = n * min(float(e.max(initial=0.0)), math.sqrt(1 + 2 * self.rho / n) * l2)
        else:
            value = n * (float(p @ e) + math.sqrt(2 * self.rho / n) * l2)
        note = (
            f"utility cap/drop of the MISOCP data: {self.num_capped} pairs capped at log-odds "
            f"{self.max_log_odds:.4g}, {self.num_dropped} pairs below {self.min_log_odds:.4g} "
            "dropped; bound uniform in z"
        )
        return CertificateLine("misocp_utility_cap", value, True, note)


def build_mc_flp_misocp(
    instance: MCFLPInstance,
    budget: int,
    objective: str = "erm",
    rho: float = 0.0,
    *,
    scale_rows: bool = True,
    max_log_odds: float = DEFAULT_MAX_LOG_ODDS,
    min_log_odds: float = DEFAULT_MIN_LOG_ODDS,
) -> ConicProblem:
    """The paper's MISOCP for ``instance`` as a :class:`ConicProblem` (for solving/export).

    See :func:`build_mc_flp_misocp_model` (which also returns what certificates need).
    """
    return build_mc_flp_misocp_model(
        instance,
        budget,
        objective,
        rho,
        scale_rows=scale_rows,
        max_log_odds=max_log_odds,
        min_log_odds=min_log_odds,
    ).problem


def build_mc_flp_misocp_model(
    instance: MCFLPInstance,
    budget: int,
    objective: str = "erm",
    rho: float = 0.0,
    *,
    scale_rows: bool = True,
    max_log_odds: float = DEFAULT_MAX_LOG_ODDS,
    min_log_odds: float = DEFAULT_MIN_LOG_ODDS,
) -> MCFLPMisocp:
    """Build the MISOCP of paper 003 Sec. 3.2 in bulk (no loop per customer or per pair).

    Parameters
    ----------
    instance : customers' weights ``q`` and log-odds ``a``.
    budget : number of locations ``r`` that may be opened (1 <= r <= D).
    objective : ``erm``, ``variance`` or ``chi2``; ``rho`` >= 0 the radius (``rho/n`` per sample).
    scale_rows : True (default) writes each customer's fractional row divided by its competitor
        utility ``W_i`` (coefficients ``exp(a_ij)``, competitor coefficient 1). False writes the
        paper's unscaled row ``W_i y_i + sum_j V_ij w_ij = sum_j V_ij z_j``; it needs
        ``instance.meta["log_W"]`` (per-customer log competitor utility) and exists to reproduce
        the numerical failures of the unscaled model (issue 5).
    max_log_odds, min_log_odds : cap and drop thresholds (module docstring), accounted for in
        :meth:`MCFLPMisocp.error_line`.
    """
    objective, rho, budget = _check_arguments(instance, budget, objective, rho)
    if not (math.isfinite(max_log_odds) and math.isfinite(min_log_odds)) or not (
        min_log_odds < 0 < max_log_odds
    ):
        raise ParameterError(
            f"need finite min_log_odds < 0 < max_log_odds, got {min_log_odds} and {max_log_odds}"
        )
    N, D = instance.a.shape
    q = instance.q
    n = float(q.sum())
    p = q / n

    # ---- data: cap, drop, bounds, per-customer error -------------------------------------
    a = instance.a
    capped = a > max_log_odds
    dropped = a < min_log_odds  # includes -inf
    a_model = np.where(capped, max_log_odds, a)
    a_model = np.where(dropped, -np.inf, a_model)
    s = np.exp(a_model)  # in [0, e^max_log_odds], 0 where dropped
    r = budget
    top_model = _top_r_sum(s, r)
    ymax = top_model / (1.0 + top_model)
    with np.errstate(over="ignore"):
        s_dropped = np.where(dropped, np.exp(np.minimum(a, 0.0)), 0.0)
    drop_err = np.minimum(1.0, _top_r_sum(s_dropped, r))
    cap_err = np.where(capped.any(axis=1), 1.0 / (1.0 + math.exp(max_log_odds)), 0.0)
    per_customer_error = np.maximum(drop_err, cap_err)

    kept = ~dropped
    pi, pj = np.nonzero(kept)  # row-major: customers in order (the rule's pair order)
    row_factor = np.ones(N)
    if not scale_rows:
        log_w = instance.meta.get("log_W") if isinstance(instance.meta, dict) else None
        if log_w is None:
            raise ParameterError(
                "scale_rows=False (the paper's unscaled rows) needs the competitor utilities: "
                "instance.meta['log_W']; use scale_rows=True (the per-customer scaled form)"
            )
        row_factor = np.exp(np.asarray(log_w, dtype=float).ravel())
        if row_factor.shape != (N,) or not np.isfinite(row_factor).all():
            raise ParameterError(
                "instance.meta['log_W'] must hold N finite values whose exp is finite for "
                "the unscaled rows; use scale_rows=True"
            )

    # ---- model: one rewrite rule per block (dro_opt.reformulations) ----------------------
    bld = ConicBuilder(sense="max", name=f"mcflp_misocp_{objective}")
    em = ConicEmitter(bld)
    z = em.variable("z", D, vtype="binary")
    # f_i(z) = (0 + sum_j W_i s_ij z_j) / (W_i + sum_j W_i s_ij z_j); W_i = 1 when scaled.
    S = sp.csr_matrix((row_factor[pi] * s[pi, pj], (pi, pj)), shape=(N, D))
    relation = "eq" if objective == "variance" else "le"
    y, _, info = linear_fractional_mccormick(
        em,
        z,
        numerator=(S, 0.0),
        denominator=(S, row_factor),
        y_bounds=(0.0, ymax),
        relation=relation,
        v_bounds=(0.0, 1.0),
        exact_binary=True,
    )
    em.nonneg("budget", float(r) - em.sum(z))

    if objective == "erm":
        em.set_objective(em.dot(q, y))
    elif objective == "variance":
        # Valid bounds: m = p'y in [0, max ymax]; t = Std_p(y) <= 1/2 (Popoviciu, y in [0, 1]).
        m, t = variance_soc(
            em,
            y,
            p,
            m_bounds=(0.0, max(float(ymax.max(initial=0.0)), 0.0)),
            s_bounds=(0.0, 0.5),
            names={"s": "t"},
        )
        em.set_objective(m * n - t * (n * math.sqrt(2 * rho / n)))
    else:
        # Worst-case capture n * (-(sup_P E_P[-y])) over the ball of radius rho / n. The rule's
        # eta is minus the capture-scale eta in [0, 1 + 1/(2 sqrt(2 rho/n))]: below min f the
        # capture dual increases in eta; above, its stationary point is at most
        # mu + sigma / sqrt(c^2 - 1) <= 1 + (1/2) / sqrt(2 rho / n). Hence u, tau <= eta_max.
        eta_max = 1.0 + 0.5 / math.sqrt(2 * rho / n)
        t_rule = chi2_dual(
            em,
            -y,
            p,
            rho / n,
            prefix="",
            eta_bounds=(-eta_max, 0.0),
            u_upper=eta_max,
            tau_upper=eta_max,
        )
        t = em.variable("t", 1)  # the worst-case expected loss, sup_P E_P[-y]
        em.zero("chi2_value", t - t_rule)
        em.set_objective(t * (-n))

    return MCFLPMisocp(
        problem=bld.build(),
        objective=objective,
        rho=rho,
        budget=r,
        a_model=a_model,
        pairs=info.pairs,
        ymax=ymax,
        per_customer_error=per_customer_error,
        relation=relation,
        q=q.copy(),
        max_log_odds=float(max_log_odds),
        min_log_odds=float(min_log_odds),
        capped=capped,
    )


def feasible_point(model: MCFLPMisocp, z: np.ndarray) -> np.ndarray:
    """The model's optimal completion ``x`` for binary ``z`` (``y = f~(z)``, ``w = y z``, ...).

    Used by tests (``max_violation``/``objective_value`` at the brute-force optimum) and as a
    warm start. Its objective equals :meth:`MCFLPMisocp.model_value`.
    """
    prob = model.problem
    z = np.round(np.asarray(z, dtype=float))
    f = capture_probabilities(model.a_model, z)
    y = np.minimum(f, model.ymax)
    x = np.zeros(prob.n)
    blocks = prob.var_blocks
    x[blocks["z"].slice] = z
    x[blocks["y"].slice] = y
    pi, pj = model.pairs[:, 0], model.pairs[:, 1]
    x[blocks["w"].slice] = y[pi] * z[pj]
    n = float(model.q.sum())
    p = model.q / n
    if "m" in blocks:
        mean = float(p @ y)
        x[blocks["m"].slice] = mean
        x[blocks["t"].slice] = math.sqrt(max(float(p @ (y - mean) ** 2), 0.0))
    if "eta" in blocks:
        # chi2_dual's variables for the loss -y: eta_rule = -eta, u = (eta - y)_+, tau = ||u||_p,
        # t = eta_rule + c tau = sup_P E_P[-y].
        from dro_opt.models.facility_location.objectives import chi2_worst_case

        radius = model.rho / n
        value, _ = chi2_worst_case(p, y, radius)
        c = math.sqrt(1 + 2 * radius)
        eta = _chi2_eta(p, y, c, value)
        u = np.maximum(eta - y, 0.0)
        tau = math.sqrt(float(p @ (u * u)))
        x[blocks["eta"].slice] = -eta
        x[blocks["u"].slice] = u
        x[blocks["tau"].slice] = tau
        x[blocks["t"].slice] = -eta + c * tau
    return x


def _chi2_eta(p: np.ndarray, f: np.ndarray, c: float, value: float) -> float:
    """An ``eta`` attaining the chi-square dual value (its maximiser, by a 1-D search)."""
    from scipy.optimize import minimize_scalar

    def neg(eta: float) -> float:
        d = np.maximum(eta - f, 0.0)
        return -(eta - c * math.sqrt(float(p @ (d * d))))

    hi = 1.0 + 0.5 / math.sqrt(max(c * c - 1.0, 1e-300))
    res = minimize_scalar(
        neg, bounds=(0.0, min(hi, 1e6)), method="bounded", options={"xatol": 1e-13}
    )
    return float(res.x)


def _top_r_sum(s: np.ndarray, r: int) -> np.ndarray:
    """Row-wise sum of the ``r`` largest entries of ``s`` (N, D)."""
    D = s.shape[1]
    if r >= D:
        return s.sum(axis=1)
    return np.partition(s, D - r, axis=1)[:, D - r :].sum(axis=1)


def _check_arguments(
    instance: MCFLPInstance, budget: int, objective: str, rho: float
) -> tuple[str, float, int]:
    """Validate and normalise (objective, rho, budget); ``rho == 0`` -> ``erm``."""
    if objective not in OBJECTIVES:
        raise ParameterError(f"objective must be one of {', '.join(OBJECTIVES)}; got {objective!r}")
    rho = check_radius(rho, "rho")
    D = instance.num_locations
    if (
        isinstance(budget, bool)
        or not isinstance(budget, int | np.integer)
        or not (1 <= int(budget) <= D)
    ):
        raise ParameterError(
            f"budget must be an integer between 1 and the {D} candidate locations, got {budget!r}"
        )
    return ("erm" if rho == 0.0 else objective), rho, int(budget)
