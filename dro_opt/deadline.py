"""The whole command's time budget: ``--time-limit T`` ends the command within ``T`` (plus slack).

A command whose routes run several phases (``solve mc-flp --objective variance``: a chi-square
bound, a MISOCP, maybe a second bound) must not hand each phase the full ``T``. The ``dro-opt``
command opens :func:`command_deadline` as soon as it starts; every phase then asks for the
time that is really left instead of computing it from its own start:

* :func:`time_left` -- seconds left (``None``: no limit), ``0`` once Ctrl-C was pressed
  (:mod:`dro_opt.interrupt`), so an interrupted command starts no new work;
* :func:`clip` -- ``min(time_limit, time_left())``, at least :data:`MIN_SECONDS` (solvers and
  :func:`dro_opt.algorithms.submodular_oa.solve_oa` refuse a limit of 0);
  :meth:`dro_opt.solvers.base.Backend.solve` and ``solve_oa`` clip their own limits with it, so
  any time a caller over-allots (e.g. a minimum share for a second phase) is cut back to the
  budget;
* :func:`expired` -- nothing left: skip optional phases.

Without an open deadline (library use) :func:`clip` returns the limit it is given unchanged
(unless the command was interrupted) and :func:`time_left` returns ``None``.

For model packages: ``dro-opt`` opens the deadline for every subcommand whose parser got
:func:`dro_opt.cli_common.add_solver_options`; pass ``clip(options.time_limit)`` to the solve.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from dro_opt import interrupt

__all__ = ["MIN_SECONDS", "clip", "command_deadline", "expired", "time_left"]

#: The smallest time limit handed to a solver (a solver given it stops at its first check).
MIN_SECONDS = 1e-3

_END: float | None = None  # time.perf_counter() value at which the budget runs out


@contextmanager
def command_deadline(seconds: float | None, start: float | None = None) -> Iterator[None]:
    """Make ``seconds`` from ``start`` (default: now; ``time.perf_counter`` clock) the budget of
    everything run inside the block (``None``: no limit). Nested blocks keep the earlier end."""
    global _END
    previous = _END
    if seconds is not None:
        end = (time.perf_counter() if start is None else start) + float(seconds)
        _END = end if previous is None else min(previous, end)
    try:
        yield
    finally:
        _END = previous


def time_left() -> float | None:
    """Seconds left of the command's budget (``None``: no limit; 0 after Ctrl-C; never < 0)."""
    if interrupt.requested():
        return 0.0
    if _END is None:
        return None
    return max(0.0, _END - time.perf_counter())


def expired() -> bool:
    """True when the budget is used up or the command was interrupted."""
    left = time_left()
    return left is not None and left <= 0.0


def clip(time_limit: float | None) -> float | None:
    """``time_limit`` cut to the time left (at least :data:`MIN_SECONDS`; ``None`` = no limit)."""
    left = time_left()
    if left is None:
        return time_limit
    limit = left if time_limit is None else min(float(time_limit), left)
    return max(limit, MIN_SECONDS)
