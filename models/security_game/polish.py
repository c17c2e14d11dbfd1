"""Local polish of a grid coverage on the continuous problem (improves the certificate's lower).

The PWLA MISOCP returns a coverage on the ``K``-grid. Its exact value is a valid lower bound,
but the continuous optimum usually lies between grid points. Starting from the grid decision,
projected (super)gradient ascent with Armijo backtracking on the EXACT objective (erm, VR or the
chi-square worst case, mean units; :mod:`.objective`) moves it off the grid; every accepted step
increases the exact value, so the polished coverage is never worse. Feasibility is kept by the
Euclidean projection onto ``{0 <= z <= 1, sum z <= R}``
(:func:`dro_opt.algorithms.gradient_baselines.project_box_budget`). The upper bound is not
affected (it bounds every feasible coverage). Steps: initial step 0.1 / max(1, ||g||), halved up
to 30 times until the exact value increases; stop after ``max_iter`` steps or when an accepted
step moves ``z`` by less than 1e-9.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from dro_opt.algorithms.gradient_baselines import project_box_budget
from dro_opt.models.facility_location.objectives import chi2_worst_case
from dro_opt.models.security_game.instance import SSGInstance
from dro_opt.models.security_game.objective import objective_from_values, values_and_jacobian


def objective_gradient(
    instance: SSGInstance, z: np.ndarray, objective: str, rho: float
) -> tuple[float, np.ndarray]:
    """Exact value and a (super)gradient of the objective at ``z`` (mean units)."""
    f, J = values_and_jacobian(instance, z)
    q = instance.weights
    n = float(q.sum())
    p = q / n
    value = objective_from_values(f, q, objective, rho)
    if objective == "erm" or rho == 0.0:
        return value, J.T @ p
    if objective == "variance":
        dev = f - float(p @ f)
        std = math.sqrt(max(float(p @ (dev * dev)), 0.0))
        g = J.T @ p
        if std > 0:
            g = g - math.sqrt(2.0 * rho / n) * (J.T @ (p * dev)) / std
        return value, g
    _, P = chi2_worst_case(p, f, rho / n)
    return value, J.T @ P


def polish(
    instance: SSGInstance,
    z0: np.ndarray,
    objective: str,
    rho: float,
    max_iter: int = 200,
    stop: Callable[[], bool] | None = None,
) -> tuple[np.ndarray, float]:
    """Ascend from ``z0``; returns ``(z, exact value)`` with value >= that of ``z0``. ``stop()``
    True ends the ascent early (every accepted step improves, so any stop is valid)."""
    M = instance.num_targets
    lo, hi = np.zeros(M), np.ones(M)
    z = project_box_budget(np.asarray(z0, dtype=float), lo, hi, instance.budget)
    value, g = objective_gradient(instance, z, objective, rho)
    for _ in range(max_iter):
        if stop is not None and stop():
            break
        step = 0.1 / max(1.0, float(np.linalg.norm(g)))
        accepted = False
        for _ in range(30):
            cand = project_box_budget(z + step * g, lo, hi, instance.budget)
            if np.abs(cand - z).max() < 1e-12:
                break
            cand_value, cand_g = objective_gradient(instance, cand, objective, rho)
            if cand_value > value:
                moved = float(np.abs(cand - z).max())
                z, value, g, accepted = cand, cand_value, cand_g, True
                break
            step *= 0.5
        if not accepted or moved < 1e-9:
            break
    return z, value
