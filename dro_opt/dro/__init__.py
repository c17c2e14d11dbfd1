"""The DRO modelling API: robust counterparts of per-sample losses as cvxpy constraints.

``worst_case(loss, ambiguity)`` returns ``(t, constraints)`` with ``t >= sup_P E_P[loss]``
exactly representable; ``dro_opt.solve(problem)`` solves a cvxpy problem using them and returns a
certified :class:`~dro_opt.solvers.result.Result` (see :mod:`dro_opt.dro.solve`).
"""

from dro_opt.dro.losses import PiecewiseAffineLoss
from dro_opt.dro.robust import (
    RobustTerm,
    robust_term,
    robust_terms,
    worst_case,
    worst_case_distribution,
)

__all__ = [
    "PiecewiseAffineLoss",
    "RobustTerm",
    "robust_term",
    "robust_terms",
    "worst_case",
    "worst_case_distribution",
]
