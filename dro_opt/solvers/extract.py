"""One result convention for every backend: :class:`Extracted` -> :class:`Result`.

A backend's ``extract`` hook reports what the solver says (:class:`Extracted`); the
:class:`~dro_opt.solvers.base.Backend` template turns it into a
:class:`~dro_opt.solvers.result.Result` with :func:`assemble_result`, so every backend reports
objective, solution, bound and gap the same way (docs/conventions.md, 'Result and certificate').
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dro_opt.conic.problem import ConicProblem
from dro_opt.solvers.result import Result
from dro_opt.solvers.status import Status


@dataclass
class Extracted:
    """What a backend reads from its solver: status, the point (all columns the solver had; the
    first ``problem.n`` are the model's), the proven bound in the problem's sense, node count,
    conic duals by constraint block, a message and native details for ``Result.extra``."""

    status: Status
    x: np.ndarray | None = None
    bound: float | None = None
    nodes: int | None = None
    duals: dict[str, np.ndarray] = field(default_factory=dict)
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def assemble_result(
    problem: ConicProblem, out: Extracted, *, solver: str, version: str | None
) -> Result:
    """The :class:`Result` of ``out``.

    * ``x`` is kept only for statuses with a solution; integer columns are rounded (they are
      integral within the solver's tolerance; no ``-0``) and ``objective = c'x + c0`` is
      recomputed from the returned point, in the problem's own sense;
    * a non-finite ``bound`` becomes ``None``;
    * ``extra["max_violation"]`` is the point's largest violation of the model in natural units
      (:meth:`ConicProblem.max_violation`).
    """
    objective = None
    solution: dict[str, np.ndarray] = {}
    extra = dict(out.extra)
    x = None
    if out.x is not None and out.status.has_solution:
        x = np.array(out.x, dtype=float)[: problem.n]
        ints = problem.integer_mask
        x[ints] = np.round(x[ints]) + 0.0
        objective = problem.objective_value(x)
        solution = problem.split_solution(x)
        extra.setdefault("max_violation", problem.max_violation(x))
    bound = out.bound
    if bound is not None and not np.isfinite(bound):
        bound = None
    return Result(
        status=out.status,
        objective=objective,
        bound=None if bound is None else float(bound),
        solver=solver,
        solver_version=version,
        sense=problem.sense,
        x=x,
        solution=solution,
        duals=out.duals,
        nodes=out.nodes,
        message=out.message,
        extra=extra,
    )
