r"""Local refinement of the ERM certificate: a fine grid only around the incumbent.

The ERM model of :mod:`.misocp` in the ``curvature`` mode bounds the continuous optimum by
``max over feasible grid points c of E_p [(N_n + sum_j Gamma_nj) / D_n](c)`` (proof in
:mod:`.cell_curvature`); its error ``O(delta^2)`` matters only near the optimum. Far from it
the coarse grid already proves that nothing better exists. With the coarse grid decision at
grid indices ``k*`` and an index box ``a = clip(k* - w/2, 0, K - w)``, ``b = a + w``
(``w`` cells per target), ``A = prod_j [a_j delta, b_j delta]``:

Claim. ``OPT_cont <= max(B_out, B_in)`` where ``B_out`` is a proven bound of the coarse model
with the exclusion row (every grid point strictly inside the index box dropped) and ``B_in`` a
proven bound of the same model built on the sub-box ``A`` with ``w m`` pieces (cell width
``delta / m``).

Proof. A feasible ``z`` in ``A`` lies in a fine cell of ``A``'s grid; that grid has one cell
width ``delta' = delta / m`` with ``R / delta'`` and the box corners ``a_j delta / delta'``
integral, so :mod:`.cell_curvature`'s theorem holds on it verbatim (the sub-box is a product of
intervals: the corner decomposition stays in it): ``F(z) <= B_in``. A feasible ``z`` outside
``A`` lies in a coarse cell ``Q`` not inside ``A`` (cells are grid-aligned). A corner ``c`` of
``Q`` with ``a_j < c_j / delta < b_j`` for every ``j`` would have all its adjacent cells inside
``A``, ``Q`` among them -- impossible; so every corner of ``Q`` survives the exclusion row and
the theorem gives ``F(z) <= B_out``. QED.

An infeasible excluded model proves ``B_out = -inf`` (no grid point outside). The fine model's
decision is a feasible coverage and competes for the certificate's lower side.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dro_opt.models.security_game.instance import SSGInstance
from dro_opt.models.security_game.misocp import SSGMisocp, build_ssg_misocp
from dro_opt.models.security_game.objective import evaluate
from dro_opt.solvers.result import Result
from dro_opt.solvers.status import Status

WIDTH = 4  # cells per target in the refined box
FACTOR = 4  # fine cells per coarse cell


@dataclass
class Refinement:
    """``upper`` (mean units, original payoffs; None if a solve proved nothing), the best exact
    ``decision`` found (may be None) and one entry per solve."""

    upper: float | None
    decision: np.ndarray | None
    value: float
    solves: list[dict[str, Any]] = field(default_factory=list)
    seconds: tuple[float, float] = (0.0, 0.0)  # build, solve


def refine_erm(
    instance: SSGInstance,
    pieces: int,
    center: np.ndarray,
    run: Callable[[SSGMisocp], Result],
    width: int = WIDTH,
    factor: int = FACTOR,
) -> Refinement | None:
    """The claim of the module docstring around the grid coverage ``center``; ``run`` solves a
    built model (the caller's solver and options). None when the grid is too coarse."""
    K = int(pieces)
    if K <= width:
        return None
    k_star = np.rint(np.asarray(center, dtype=float) * K).astype(int)
    a = np.clip(k_star - width // 2, 0, K - width)
    b = a + width
    delta = 1.0 / K
    box = (a * delta, b * delta)
    out = build_ssg_misocp(instance, "erm", 0.0, K, "curvature", exclude=(a, b))
    inner = build_ssg_misocp(instance, "erm", 0.0, width * factor, "curvature", box=box)
    bounds: list[float | None] = []
    result = Refinement(None, None, -math.inf)
    build = solve = 0.0
    for label, model in (("outside", out), ("inside", inner)):
        res = run(model)
        build += res.build_seconds
        solve += res.solve_seconds
        entry: dict[str, Any] = {"part": label, "pieces": model.pieces, "status": res.status.value}
        if res.status is Status.INFEASIBLE and label == "outside":
            bounds.append(-math.inf)
            entry["bound"] = None
            result.solves.append(entry)
            continue
        bound = None
        if res.bound is not None and math.isfinite(res.bound):
            bound = float(res.bound) - model.shift
        if res.status.has_solution and "v" in res.solution:
            z = np.clip(model.decision(res.solution), 0.0, 1.0)
            if z.sum() <= instance.budget + 1e-9:
                value = evaluate(instance, z, "erm", 0.0)
                if bound is not None and bound < value - 1e-7 * max(1.0, abs(value)):
                    bound = None  # the solver contradicts its own decision: prove nothing
                if value > result.value:
                    result.decision, result.value = z, value
        entry["bound"] = bound
        result.solves.append(entry)
        bounds.append(bound)
    if all(v is not None for v in bounds):
        result.upper = max(bounds)  # type: ignore[type-var]
    result.seconds = (build, solve)
    return result
