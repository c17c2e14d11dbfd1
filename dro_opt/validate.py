"""Argument checks shared by the library's entry points (one message per mistake, everywhere).

Every check raises :class:`dro_opt.errors.ParameterError` naming the argument, the value given
and what is accepted, so the ``dro-opt`` command turns it into one line on stderr and exit code
2 before any work. The names in the messages are the library's keyword arguments
(``time_limit``); :func:`dro_opt.cli_common.solve_options` checks the same values under their
option names (``--time-limit``) with the same functions.

* :func:`check_solve_arguments` -- ``time_limit``, ``gap``, ``threads``, ``seed`` of a model's
  ``solve_*`` function (``solve_mc_flp``, ``solve_ssg``, ``solve_mc_fcp``);
* :func:`check_reduction` -- the reduction arguments of those functions: ``clusters`` (weighted
  k-means representatives) or ``strata`` with ``per_stratum`` (stratified sampling), paper 003
  Sec. 4;
* :func:`check_radius`, :func:`check_weights` -- a robustness radius and nominal probabilities
  (the ambiguity sets and the reformulations; re-exported by :mod:`dro_opt.ambiguity.base`).
  They live here, outside :mod:`dro_opt.ambiguity`, so that a conic reformulation needing only
  these checks does not import the ambiguity sets (and cvxpy, 2-3 s) with them.

This module imports numpy and :mod:`dro_opt.errors` only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dro_opt.errors import ParameterError

__all__ = [
    "WEIGHT_SUM_TOL",
    "check_integer",
    "check_radius",
    "check_reduction",
    "check_solve_arguments",
    "check_weights",
]

#: Relative tolerance on ``sum(weights) = 1`` (:func:`check_weights`).
WEIGHT_SUM_TOL = 1e-8


def _is_integer(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | np.integer)


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float | np.integer | np.floating)


def check_integer(value: Any, name: str, minimum: int | None = None) -> int:
    """``value`` as int if it is an integer (``>= minimum`` when given), else ParameterError."""
    if not _is_integer(value) or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise ParameterError(f"{name} must be an integer{bound}, got {value!r}")
    return int(value)


#: "Argument not given" (``None`` is a value: no time limit, or a mistake for the others).
_NOT_GIVEN: Any = object()


def check_solve_arguments(
    *,
    time_limit: Any = _NOT_GIVEN,
    gap: Any = _NOT_GIVEN,
    threads: Any = _NOT_GIVEN,
    seed: Any = _NOT_GIVEN,
    names: dict[str, str] | None = None,
) -> None:
    """The solver arguments of a ``solve_*`` function (only those passed are checked).

    ``time_limit``: ``None`` (no limit) or finite seconds ``> 0``; ``gap``: a finite relative gap
    ``>= 0``; ``threads``: an integer ``>= 1`` (1 = one thread; 0 or negative counts are refused
    rather than handed to a solver that reads them as "all cores"); ``seed``: an integer.
    ``names`` renames arguments in the messages (the CLI passes ``{"time_limit":
    "--time-limit", ...}``).
    """
    label = {"time_limit": "time_limit", "gap": "gap", "threads": "threads", "seed": "seed"}
    label.update(names or {})
    if time_limit is not _NOT_GIVEN and time_limit is not None:
        if not (_is_number(time_limit) and math.isfinite(time_limit) and time_limit > 0):
            raise ParameterError(
                f"{label['time_limit']} must be a finite number of seconds > 0, got {time_limit!r}"
            )
    if gap is not _NOT_GIVEN and not (_is_number(gap) and math.isfinite(gap) and gap >= 0):
        raise ParameterError(f"{label['gap']} must be a finite number >= 0, got {gap!r}")
    if threads is not _NOT_GIVEN and (not _is_integer(threads) or threads < 1):
        raise ParameterError(
            f"{label['threads']} must be an integer >= 1 (1 = one thread), got {threads!r}"
        )
    if seed is not _NOT_GIVEN:
        check_integer(seed, label["seed"])


def check_reduction(
    clusters: Any = None,
    strata: Any = None,
    per_stratum: Any = None,
    *,
    full_data_only: str | None = None,
    names: dict[str, str] | None = None,
) -> None:
    """The reduction arguments: each an integer ``>= 1`` when given; ``clusters`` excludes
    ``strata``; ``strata`` and ``per_stratum`` go together. ``full_data_only`` names a method
    that runs on the full data only (the gradient baselines): any reduction is then refused."""
    label = {"clusters": "clusters", "strata": "strata", "per_stratum": "per_stratum"}
    label.update(names or {})
    for key, value in (("clusters", clusters), ("strata", strata), ("per_stratum", per_stratum)):
        if value is not None:
            check_integer(value, label[key], minimum=1)
    if clusters is not None and strata is not None:
        raise ParameterError(
            f"give either {label['clusters']} or {label['strata']} (with "
            f"{label['per_stratum']}), not both"
        )
    if (strata is None) != (per_stratum is None):
        given, missing = (
            ("strata", "per_stratum") if per_stratum is None else ("per_stratum", "strata")
        )
        raise ParameterError(
            f"{label[given]} needs {label[missing]}: stratified sampling takes both (the number "
            "of strata and the samples drawn per stratum)"
        )
    if full_data_only is not None and (clusters is not None or strata is not None):
        raise ParameterError(
            f"{full_data_only} runs on the full data: drop {label['clusters']}/{label['strata']}"
        )


def check_radius(radius: Any, name: str = "radius") -> float:
    """A finite radius ``>= 0`` as float, else :class:`ParameterError`."""
    try:
        r = float(radius)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a finite number >= 0, got {radius!r}") from None
    if not (math.isfinite(r) and r >= 0.0):
        raise ParameterError(f"{name} must be a finite number >= 0, got {radius!r}")
    return r


def check_weights(weights: Any, n: int) -> np.ndarray:
    """Nominal probabilities: uniform when ``None``; else ``n`` finite non-negative numbers
    summing to one (relative tolerance :data:`WEIGHT_SUM_TOL`), else :class:`ParameterError`."""
    if weights is None:
        return np.full(n, 1.0 / n)
    try:
        w = np.asarray(weights, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ParameterError("weights must be an array of probabilities") from None
    if w.size != n:
        raise ParameterError(f"weights has {w.size} entries for {n} samples; give one per sample")
    if not np.isfinite(w).all():
        raise ParameterError("weights must be finite")
    if (w < 0).any():
        bad = int(np.flatnonzero(w < 0)[0])
        raise ParameterError(f"weights must be non-negative; weights[{bad}] = {w[bad]}")
    total = float(w.sum())
    if abs(total - 1.0) > WEIGHT_SUM_TOL:
        raise ParameterError(
            f"weights must sum to 1, they sum to {total:.12g}; pass weights / weights.sum()"
        )
    return w / total
