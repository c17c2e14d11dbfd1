"""Exact, vectorised objectives of robust max-capture facility location (paper 003 Sec. 3.2).

The implementation lives in :mod:`dro_opt.algorithms.capture_objectives` (a lower layer, used by
the outer approximation and the greedy incumbents); this module re-exports its public names so
that ``dro_opt.models.facility_location.objectives`` keeps working. The math (MNL capture
probabilities in log-odds units, ERM / variance / chi-square objectives on the HM14 scale) is
documented there and in docs/conventions.md, 'MC-FLP and HM14 instances' and 'Chi-square DRO'.
"""

from __future__ import annotations

from dro_opt.algorithms.capture_objectives import (
    OBJECTIVES,
    capture_probabilities,
    chi2_value,
    chi2_worst_case,
    erm_value,
    evaluate,
    evaluate_many,
    log_score,
    objective_from_probabilities,
    variance_value,
)

__all__ = [
    "OBJECTIVES",
    "capture_probabilities",
    "chi2_value",
    "chi2_worst_case",
    "erm_value",
    "evaluate",
    "evaluate_many",
    "log_score",
    "objective_from_probabilities",
    "variance_value",
]
