"""Exact MC-FCP capture probabilities, their Jacobian and the robust objectives (mean units).

For the model of :mod:`.instance` (paper 003 Sec. 3.2 'MC-FCP')::

    log S_n = logsumexp_j (bias_nj + log expm1(rate_nj z_j)),     f_n = sigmoid(log S_n),
    d f_n / d z_j = rate_nj exp(bias_nj + rate_nj z_j) / (1 + S_n)^2,

evaluated in log space (no overflow for any scale of utilities). Objectives in MEAN units
(``n = sum q``, ``p = q / n``; docs/conventions.md, 'Variance regularisation (VR)' and
'Chi-square DRO'): ``erm`` = ``E_p f`` (average capture probability), ``variance`` =
``E_p f - sqrt(2 rho Var_p f / n)``, ``chi2`` = ``min {E_P f : sum_i p_i (P_i/p_i - 1)^2 / 2
<= rho / n}`` -- the exact evaluators of :mod:`dro_opt.algorithms.gradient_baselines`.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logsumexp

from dro_opt.algorithms.gradient_baselines import exact_objective
from dro_opt.errors import ParameterError
from dro_opt.models.facility_cost.instance import FCPInstance

OBJECTIVES = ("erm", "variance", "chi2")


def _log_terms(instance: FCPInstance, z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=float)
    if z.shape != (instance.num_locations,) or not np.isfinite(z).all() or (z < 0).any():
        raise ParameterError(
            f"investment z must be {instance.num_locations} finite numbers >= 0, got {z!r}"
        )
    with np.errstate(divide="ignore"):
        return instance.bias + np.log(np.expm1(instance.rate * z))  # (N, M), -inf at z_j = 0


def capture_probabilities(instance: FCPInstance, z: np.ndarray) -> np.ndarray:
    """``f_n(z)`` (N,)."""
    return expit(logsumexp(_log_terms(instance, z), axis=1))


def values_and_jacobian(instance: FCPInstance, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(f (N,), J (N, M))``, ``J[n, j] = d f_n / d z_j`` (module docstring)."""
    logS = logsumexp(_log_terms(instance, z), axis=1)
    f = expit(logS)
    log1pS = np.logaddexp(0.0, logS)
    with np.errstate(invalid="ignore"):
        J = instance.rate * np.exp(instance.bias + instance.rate * z - 2.0 * log1pS[:, None])
    return f, np.nan_to_num(J, nan=0.0)


def evaluate(instance: FCPInstance, z: np.ndarray, objective: str, rho: float = 0.0) -> float:
    """Exact full-data objective of ``z`` (the certificate's ``lower``)."""
    if objective not in OBJECTIVES:
        raise ParameterError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    return exact_objective(capture_probabilities(instance, z), instance.q, objective, rho)


def attractiveness(instance: FCPInstance, t: np.ndarray) -> np.ndarray:
    """``A_nj(t_jk)`` for grid points ``t`` of shape (M, K + 1): (N, M, K + 1)."""
    with np.errstate(invalid="ignore"):
        A = np.exp(instance.bias[:, :, None]) * np.expm1(instance.rate[:, :, None] * t[None])
    return np.nan_to_num(A, nan=0.0)


def capture_range(instance: FCPInstance, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``0 <= f_n(z) <= hi_n`` on the box ``[0, upper]`` (``S_n`` is increasing in every z_j)."""
    hi = capture_probabilities(instance, np.asarray(upper, dtype=float))
    return np.zeros(instance.num_clients), hi


__all__ = [
    "OBJECTIVES",
    "attractiveness",
    "capture_probabilities",
    "capture_range",
    "evaluate",
    "values_and_jacobian",
]
