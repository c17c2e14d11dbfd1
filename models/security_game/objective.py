"""Exact defender utility of the quantal-response security game, its Jacobian and objectives.

Paper 003 Sec. 3.2 and App. I (the interface contract of ``dro-opt solve ssg``). For type ``n``
and target ``j`` under coverage ``z``::

    Ua_nj = z_j AP_nj + (1 - z_j) AR_nj,      Ud_nj = z_j DR_nj + (1 - z_j) DP_nj,
    q_nj  = exp(lam Ua_nj) / sum_k exp(lam Ua_nk)                 (quantal response)
    f_n(z) = sum_j q_nj Ud_nj                                     (defender's expected utility)

computed with a max-shift of the exponents (no overflow for any ``lam``). Jacobian::

    d f_n / d z_j = q_nj [ (DR_nj - DP_nj) + lam (AP_nj - AR_nj) (Ud_nj - f_n) ].

Objectives in MEAN units (``q`` the weights, ``n = sum q``, ``p = q / n``;
docs/conventions.md, 'Variance regularisation (VR)' and 'Chi-square DRO'): ``erm`` = ``E_p f``;
``variance`` = ``E_p f - sqrt(2 rho Var_p f / n)``; ``chi2`` = ``min {E_P f : sum_i p_i
(P_i / p_i - 1)^2 / 2 <= rho / n}``. They reuse the exact evaluators of
:mod:`dro_opt.models.facility_location.objectives` (``n``-scaled there, divided by ``n`` here).
"""

from __future__ import annotations

import numpy as np

from dro_opt.errors import ParameterError
from dro_opt.models.facility_location.objectives import chi2_value, erm_value, variance_value
from dro_opt.models.security_game.instance import SSGInstance

OBJECTIVES = ("erm", "variance", "chi2")


def utilities(instance: SSGInstance, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(Ua, Ud)`` of shape (N, M) for coverage ``z`` (M,)."""
    z = np.asarray(z, dtype=float)
    Ua = instance.attacker_reward + z * (instance.attacker_penalty - instance.attacker_reward)
    Ud = instance.defender_penalty + z * (instance.defender_reward - instance.defender_penalty)
    return Ua, Ud


def attack_probabilities(instance: SSGInstance, z: np.ndarray) -> np.ndarray:
    """``q_nj`` (N, M), the quantal-response attack distribution of every type."""
    Ua, _ = utilities(instance, z)
    e = instance.lam * Ua
    e = np.exp(e - e.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def defender_values(instance: SSGInstance, z: np.ndarray) -> np.ndarray:
    """``f_n(z)`` (N,) in the original payoff units."""
    _, Ud = utilities(instance, z)
    return (attack_probabilities(instance, z) * Ud).sum(axis=1)


def values_and_jacobian(instance: SSGInstance, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(f (N,), J (N, M))`` with ``J[n, j] = d f_n / d z_j`` (module docstring)."""
    _, Ud = utilities(instance, z)
    q = attack_probabilities(instance, z)
    f = (q * Ud).sum(axis=1)
    a = instance.defender_reward - instance.defender_penalty
    c = instance.attacker_penalty - instance.attacker_reward
    J = q * (a + instance.lam * c * (Ud - f[:, None]))
    return f, J


def objective_from_values(f: np.ndarray, weights: np.ndarray, objective: str, rho: float) -> float:
    """Mean-unit objective of per-sample values ``f`` (module docstring)."""
    if objective not in OBJECTIVES:
        raise ParameterError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    q = np.asarray(weights, dtype=float)
    n = float(q.sum())
    if objective == "erm" or rho == 0.0:
        return float(erm_value(q, f)) / n
    if objective == "variance":
        return float(variance_value(q, f, rho)) / n
    return float(chi2_value(q, f, rho)) / n


def evaluate(instance: SSGInstance, z: np.ndarray, objective: str, rho: float = 0.0) -> float:
    """Exact objective of coverage ``z`` on all of ``instance`` (the certificate's ``lower``)."""
    return objective_from_values(defender_values(instance, z), instance.weights, objective, rho)


def utility_range(instance: SSGInstance) -> tuple[np.ndarray, np.ndarray]:
    """Per-type ``(lo, hi)`` with ``lo_n <= f_n(z) <= hi_n`` for every ``z`` in the box
    (``f_n`` is an average of the ``Ud_nj``, each between ``DP_nj`` and ``DR_nj``)."""
    lo = np.minimum(instance.defender_reward, instance.defender_penalty).min(axis=1)
    hi = np.maximum(instance.defender_reward, instance.defender_penalty).max(axis=1)
    return lo, hi
