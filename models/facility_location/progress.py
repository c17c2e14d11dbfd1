"""Certified bound-over-time of an MC-FLP solve: ``[(seconds, primal, dual), ...]``.

Every point is a statement about the ORIGINAL (full-data) problem at that time:

* ``primal`` = the exact full-data value (:func:`objectives.evaluate`) of the best decision found
  so far -- decisions found on a reduced instance are re-evaluated on the full data, so the
  curve never shows a value no decision achieves;
* ``dual`` = the smallest proven upper bound so far, widened by the certificate's error lines
  that do not depend on the decision (reduction / cap-and-drop lines), i.e. the certificate's
  ``upper`` had the solve stopped then.

Both are monotone (primal non-decreasing, dual non-increasing) and a point is kept only when one
of them changes. Every kept point is also published to the live progress line of ``dro-opt``
(:func:`dro_opt.progress_line.publish`; a no-op when none is shown). The final point equals
the returned Result's ``(objective, bound)``; on the MISOCP route, whose earlier points are the
solver's own model values (:meth:`add_solver_points`), that last point may therefore step back
(the exact value of the decision is below the solver's claim, or its bound was found false and
dropped).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np

from dro_opt.certify import CertificateLine, total_error
from dro_opt.models.facility_location.instance import MCFLPInstance
from dro_opt.models.facility_location.objectives import evaluate
from dro_opt.progress_line import publish

Point = tuple[float, float | None, float | None]


class CertifiedTrajectory:
    """Collects certified ``(seconds, primal, dual)`` points of the full-data problem.

    Parameters
    ----------
    instance, objective, rho : the ORIGINAL problem (decisions are evaluated on it).
    start : ``time.perf_counter()`` at the start of the solve; points are seconds since then.
    """

    def __init__(self, instance: MCFLPInstance, objective: str, rho: float, start: float) -> None:
        self.instance, self.objective, self.rho = instance, objective, float(rho)
        self.start = start
        self.best_value = -math.inf
        self.best_bound = math.inf
        self.widen: float | None = 0.0
        self.points: list[Point] = []
        self._last_key: bytes | None = None

    # ------------------------------------------------------------------ updates
    def set_widening(self, lines: Sequence[CertificateLine]) -> None:
        """Error lines added to every later bound (None-valued or non-rigorous: bounds dropped)."""
        self.widen = total_error(list(lines))

    def update(
        self, mask: np.ndarray | None, bound: float | None, seconds: float | None = None
    ) -> None:
        """A decision found and/or a proven bound on the SOLVED problem (widened here)."""
        changed = False
        if mask is not None:
            key = np.asarray(mask, dtype=bool).tobytes()
            if key != self._last_key:
                self._last_key = key
                z = np.asarray(mask, dtype=float)
                value = float(
                    evaluate(self.instance.a, self.instance.q, z, self.objective, self.rho)
                )
                if value > self.best_value:
                    self.best_value, changed = value, True
        if bound is not None and self.widen is not None and math.isfinite(bound):
            widened = float(bound) + self.widen
            if widened < self.best_bound:
                self.best_bound, changed = widened, True
        if changed:
            self._record(seconds)

    def add_solver_points(
        self, points: Sequence[Sequence[float | None]], offset: float, bounds_valid: bool
    ) -> None:
        """Points ``(seconds, primal, dual)`` a solver reported on the model it solved (e.g. the
        MISOCP through a backend's callback), ``seconds`` from its solve start = ``offset``
        seconds after ``start``. ``primal`` is the solver's own incumbent value (no decision to
        re-evaluate); ``dual`` is widened by the error lines. ``bounds_valid=False`` (the solver's
        bound was found false) keeps only the primal side."""
        for t, primal, dual in points:
            changed = False
            if primal is not None and primal > self.best_value:
                self.best_value, changed = float(primal) + 0.0, True  # no -0.0
            if bounds_valid and dual is not None and self.widen is not None:
                widened = float(dual) + self.widen
                if widened < self.best_bound:
                    self.best_bound, changed = widened, True
            if changed:
                self._record(offset + float(t))

    def final(self, value: float, bound: float | None, seconds: float) -> None:
        """The returned Result's certified pair closes the curve (exactly these values)."""
        self.best_value = float(value)
        self.best_bound = math.inf if bound is None else float(bound)
        self._record(seconds, force=True)

    def _record(self, seconds: float | None, force: bool = False) -> None:
        t = time.perf_counter() - self.start if seconds is None else float(seconds)
        primal = self.best_value if math.isfinite(self.best_value) else None
        dual = self.best_bound if math.isfinite(self.best_bound) else None
        if self.points:
            t = max(t, self.points[-1][0])
            if self.points[-1][1:] == (primal, dual):
                return
        if primal is None and dual is None and not force:
            return
        self.points.append((t, primal, dual))
        publish(primal, dual)

    def as_list(self) -> list[list[float | None]]:
        return [[t, p, d] for t, p, d in self.points]
