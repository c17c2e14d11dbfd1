"""Bayesian Stackelberg security game with quantal response (paper 003 Sec. 3.2, Sec. 5.1)."""

from dro_opt.models.security_game.generator import generate_ssg
from dro_opt.models.security_game.instance import SSGInstance, read_instance, write_instance
from dro_opt.models.security_game.objective import (
    OBJECTIVES,
    defender_values,
    evaluate,
    values_and_jacobian,
)

__all__ = [
    "OBJECTIVES",
    "SSGInstance",
    "defender_values",
    "evaluate",
    "generate_ssg",
    "read_instance",
    "values_and_jacobian",
    "write_instance",
]
