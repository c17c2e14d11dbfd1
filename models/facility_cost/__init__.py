"""Robust facility cost planning (MC-FCP, paper 003 Sec. 3.2 and Sec. 5.2): continuous
investments, MNL capture, secant MISOCP relaxation (default) and PWLA MISOCP with a certificate,
gradient baselines."""

from dro_opt.models.facility_cost.instance import FCPInstance, from_log_odds, read_json, write_json
from dro_opt.models.facility_cost.objective import (
    OBJECTIVES,
    capture_probabilities,
    evaluate,
    values_and_jacobian,
)
from dro_opt.models.facility_cost.secant_socp import build_fcp_secant, secant_capture
from dro_opt.models.facility_cost.solve import METHODS, solve_mc_fcp

__all__ = [
    "METHODS",
    "OBJECTIVES",
    "FCPInstance",
    "build_fcp_secant",
    "capture_probabilities",
    "evaluate",
    "from_log_odds",
    "read_json",
    "secant_capture",
    "solve_mc_fcp",
    "values_and_jacobian",
    "write_json",
]
