"""Trajectories in a comparison: read from a solver's log, and as gaps over time.

The recorder and the solver callbacks live in :mod:`dro_opt.solvers.trajectory`; a backend's
``log_parser`` reads its log when it has no callback (see :mod:`dro_opt.compare.worker`).
"""

from __future__ import annotations

from typing import Any

from dro_opt.solvers.trajectory import TrajectoryRecorder


def parse_log(backend: Any, text: str) -> list[list[float | None]]:
    """Trajectory read from ``backend``'s log with its ``log_parser`` (empty when it has none or
    the format is not recognised)."""
    parser = getattr(backend, "log_parser", None)
    if parser is None:
        return []
    rec = TrajectoryRecorder()
    last_p = last_d = None
    for t, p, d in parser(text):
        # a column left blank (e.g. "Cuts: 6" in CPLEX's bound column) keeps the last value:
        # an incumbent and a proven bound stay valid until replaced
        last_p = last_p if p is None else p
        last_d = last_d if d is None else d
        rec.add(t, last_p, last_d)
    return rec.as_list()


def gap_series(
    trajectory: list[list[float | None]],
) -> list[tuple[float, float | None]]:
    """``(seconds, relative gap)`` along a trajectory; gap = |dual - primal| / max(1, |primal|)."""
    out = []
    for t, p, d in trajectory:
        if p is None or d is None:
            out.append((float(t), None))
        else:
            out.append((float(t), abs(d - p) / max(1.0, abs(p))))
    return out
