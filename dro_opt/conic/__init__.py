"""Canonical conic form (DESIGN.md 2.1) and its bulk builder."""

from dro_opt.conic.builder import ConicBuilder
from dro_opt.conic.cones import EXP, NONNEG, POW, RSOC, SOC, ZERO, ConeRun
from dro_opt.conic.problem import (
    BINARY,
    CONTINUOUS,
    INTEGER,
    MAX,
    MIN,
    ConBlock,
    ConicProblem,
    VarBlock,
)

__all__ = [
    "BINARY",
    "CONTINUOUS",
    "EXP",
    "INTEGER",
    "MAX",
    "MIN",
    "NONNEG",
    "POW",
    "RSOC",
    "SOC",
    "ZERO",
    "ConBlock",
    "ConeRun",
    "ConicBuilder",
    "ConicProblem",
    "VarBlock",
]
