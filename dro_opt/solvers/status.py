"""Solver-neutral status enum. Native codes map here; unknown codes -> UNKNOWN.

See docs/conventions.md, 'Result and certificate'.
"""

from __future__ import annotations

from enum import Enum


class Status(Enum):
    """Outcome of a solve. ``OPTIMAL`` only when the solver *proved* optimality (within its gap)."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # a solution, no proof (e.g. stopped by gap/node limit without proof)
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    TIME_LIMIT = "time_limit"  # stopped by the time limit; objective/bound may still be present
    ITERATION_LIMIT = "iteration_limit"
    NODE_LIMIT = "node_limit"
    INTERRUPTED = "interrupted"
    LICENSE_LIMIT = "license_limit"  # the solver's licence is missing or too small for the model
    NUMERICAL_ERROR = "numerical_error"
    UNSUPPORTED = "unsupported"  # the solver lacks a capability the model needs
    ERROR = "error"
    UNKNOWN = "unknown"

    @property
    def has_solution(self) -> bool:
        return self in _WITH_SOLUTION

    @property
    def is_proven(self) -> bool:
        """A claim the solver proved: optimal, infeasible or unbounded."""
        return self in (Status.OPTIMAL, Status.INFEASIBLE, Status.UNBOUNDED)

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: str | Status) -> Status:
        if isinstance(value, Status):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            return cls.UNKNOWN


_WITH_SOLUTION = frozenset(
    {
        Status.OPTIMAL,
        Status.FEASIBLE,
        Status.TIME_LIMIT,
        Status.ITERATION_LIMIT,
        Status.NODE_LIMIT,
        Status.INTERRUPTED,
    }
)
