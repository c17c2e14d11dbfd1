"""Feature names a model can need (:meth:`ConicProblem.needs`) and a backend can declare."""

from __future__ import annotations

from dro_opt.conic.problem import ConicProblem

INTEGER = "integer"
SOC = "soc"
RSOC = "rsoc"
EXP = "exp"
POW = "pow"
# Mixed-integer combined with a nonlinear cone: separate flags, since some solvers do SOC but not
# integer SOC, or exp but not integer exp.
MI_SOC = "mi_soc"
MI_EXP = "mi_exp"
DUALS = "duals"  # returns conic duals
BOUND = "bound"  # returns a proven dual bound for MIPs

ALL_FEATURES = (INTEGER, SOC, RSOC, EXP, POW, MI_SOC, MI_EXP, DUALS, BOUND)


def required_features(problem: ConicProblem) -> frozenset[str]:
    """Features ``problem`` needs from a backend (adds mi_soc / mi_exp combinations)."""
    needs = set(problem.needs())
    if INTEGER in needs and needs & {SOC, RSOC}:
        needs.add(MI_SOC)
    if INTEGER in needs and needs & {EXP, POW}:
        needs.add(MI_EXP)
    return frozenset(needs)
