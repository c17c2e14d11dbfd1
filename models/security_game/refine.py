r"""Local refinement of the ERM certificate: a fine grid only around the incumbent.

The ERM model of :mod:`.misocp` in the ``curvature`` mode bounds the continuous optimum by
``max over feasible grid points c of E_p [(N_n + sum_j Gamma_nj) / D_n](c)`` (proof in
:mod:`.cell_curvature`); its error ``O(delta^2)`` matters only near the optimum. Far from it
the coarse grid already proves that nothing better exists. With the coarse grid decision at
grid indices ``k*`` and an index box ``a = clip(k* - w/2, 0, K - w)``, ``b = a + w``
(``w`` cells per target), ``A = prod_j [a_j delta, b_j delta]``:

Claim (for one box; a list of boxes works the same way: one exclusion row and one fine model per
box, ``OPT_cont <= max(B_out, max_i B_in_i)``). ``OPT_cont <= max(B_out, B_in)`` where ``B_out``
is a proven bound of the coarse model with the exclusion row (every grid point strictly inside
the index box dropped) and ``B_in`` a proven bound of the same model built on the sub-box ``A``
with ``w m`` pieces (cell width ``delta / m``).

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
from dro_opt.models.security_game.objective import defender_values, evaluate
from dro_opt.solvers.result import Result
from dro_opt.solvers.status import Status

WIDTH = 4  # cells per target in the refined box
FACTOR = 4  # fine cells per coarse cell
ROUNDS = 3  # refined boxes at most


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
    rounds: int = ROUNDS,
    dual_weights: np.ndarray | None = None,
) -> Refinement | None:
    """The claim of the module docstring around the grid coverage ``center``; ``run`` solves a
    built model (the caller's solver and options). While the outside bound is the larger one
    (at most ``rounds`` times), a box around the outside model's decision is refined too (each
    box has its own exclusion row and fine model; the claim holds for any list of boxes). None
    when the grid is too coarse. ``dual_weights``: refine the ``P``-weighted ERM of
    :mod:`.dual_bound` instead (the claim holds verbatim for ``max_z P'f(z)``: both sub-models
    carry the signed offsets); decisions are then ranked by ``P'f``."""
    K = int(pieces)
    if K <= width:
        return None
    result = Refinement(None, None, -math.inf)
    boxes: list[tuple[np.ndarray, np.ndarray]] = []
    inside: list[float | None] = []
    build = solve = 0.0
    for _ in range(max(1, rounds)):
        k_star = np.rint(np.asarray(center, dtype=float) * K).astype(int)
        a = np.clip(k_star - width // 2, 0, K - width)
        if any(np.array_equal(a, old) for old, _ in boxes):
            break  # the outside decision lies in a refined box already: no progress possible
        boxes.append((a, a + width))
        fine = build_ssg_misocp(
            instance, "erm", 0.0, width * factor, "curvature", box=(a / K, (a + width) / K),
            dual_weights=dual_weights,
        )  # fmt: skip
        b_in, _, bs = _solve(instance, fine, run, "inside", result)
        inside.append(b_in)
        out = build_ssg_misocp(
            instance, "erm", 0.0, K, "curvature", exclude=list(boxes), dual_weights=dual_weights
        )
        b_out, z_out, bs2 = _solve(instance, out, run, "outside", result)
        build, solve = build + bs[0] + bs2[0], solve + bs[1] + bs2[1]
        if b_out is None or any(v is None for v in inside):
            result.upper = None
            break
        result.upper = max(b_out, *inside)  # type: ignore[type-var]
        if b_out <= max(inside) or z_out is None:  # type: ignore[type-var]
            break
        center = z_out
    result.seconds = (build, solve)
    return result


def _solve(
    instance: SSGInstance,
    model: SSGMisocp,
    run: Callable[[SSGMisocp], Result],
    label: str,
    result: Refinement,
) -> tuple[float | None, np.ndarray | None, tuple[float, float]]:
    """Solve one sub-model: (proven bound in original units or None; -inf when the excluded
    model is infeasible), its decision, (build, solve) seconds; updates ``result``."""
    res = run(model)
    entry: dict[str, Any] = {"part": label, "pieces": model.pieces, "status": res.status.value}
    seconds = (res.build_seconds, res.solve_seconds)
    if res.status is Status.INFEASIBLE and label == "outside":
        entry["bound"] = -math.inf
        result.solves.append(entry)
        return -math.inf, None, seconds
    bound = None
    if res.bound is not None and math.isfinite(res.bound):
        bound = float(res.bound) - model.shift
    z = None
    if res.status.has_solution and "v" in res.solution:
        z = np.clip(model.decision(res.solution), 0.0, 1.0)
        if z.sum() <= instance.budget + 1e-9:
            if model.dual_weights is None:
                value = evaluate(instance, z, "erm", 0.0)
            else:  # P'f(z) <= P'fmod(z): the same necessary check for the signed model
                value = float(model.dual_weights @ defender_values(instance, z))
            if bound is not None and bound < value - 1e-7 * max(1.0, abs(value)):
                bound = None  # the solver contradicts its own decision: prove nothing
            if value > result.value:
                result.decision, result.value = z, value
        else:
            z = None
    entry["bound"] = bound
    result.solves.append(entry)
    return bound, z, seconds
