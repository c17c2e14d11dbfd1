"""The live progress line of a ``dro-opt`` solve: ``elapsed, incumbent, bound, gap`` on a terminal.

Shown only when stdout is a terminal and ``--quiet`` is not given, and only once the solve has
run for :data:`DELAY` seconds (a quick solve prints nothing extra; ``DRO_OPT_PROGRESS_DELAY=0``
shows it at once). The line is redrawn in place
(``\\r`` + erase to the end of the line) every :data:`INTERVAL` seconds by a daemon thread, and
erased before the summary is printed, so the summary and any ``--json`` output are the same with
and without it.

The values are what the route has *proven* so far -- for ``solve mc-flp`` the certified points of
:class:`dro_opt.models.facility_location.progress.CertifiedTrajectory` (exact full-data value of
the best decision found, proven upper bound widened by the reduction lines), published with
:func:`publish`; ``gap = |bound - incumbent| / max(1, |incumbent|)`` as in the summary. Until a
route publishes a value the line shows the elapsed time and the phase (:func:`set_phase`).

Routes whose bound over time comes from one solver run (``solve-file``, ``solve mc-flp --method
misocp``, ``solve ssg``, ``solve mc-fcp``) wrap it in :func:`solver_values`: the running solver's
incumbent and bound, as its callbacks report them (:func:`dro_opt.solvers.trajectory.live`), are
published as they are found, mapped by the route to the values it can stand by (``solve mc-flp``
widens the bound by the certificate's error lines); where they are the solver's values on the
model it solves rather than certified values of the user's problem (the PWLA / secant models of
``ssg`` / ``mc-fcp``), the phase says so (``... model values``) and the summary printed at the
end is the certificate.

The line is written with ``os.write`` to a duplicate of file descriptor 1 taken when it starts, so
it stays visible while a solver's own output is silenced (:func:`dro_opt.solvers._quiet.
quiet_fds` points fd 1 at ``/dev/null``) and it never passes through Python's buffered
``sys.stdout``. A solver holding the GIL without calling back into Python (SCIP's LP solve without
callbacks) delays the redraws, never the solve.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = [
    "DELAY",
    "INTERVAL",
    "ProgressLine",
    "active",
    "publish",
    "set_phase",
    "solver_values",
    "wanted",
]

#: seconds before the line first appears (environment variable ``DRO_OPT_PROGRESS_DELAY``)
DELAY = 1.0
INTERVAL = 0.25  #: seconds between redraws

_ACTIVE: ProgressLine | None = None


def wanted(quiet: bool, fd: int = 1) -> bool:
    """Show a progress line? Only on a terminal and without ``--quiet``."""
    if quiet:
        return False
    try:
        return os.isatty(fd)
    except OSError:
        return False


def _delay() -> float:
    """:data:`DELAY`, or ``DRO_OPT_PROGRESS_DELAY`` seconds (>= 0) when that is set."""
    try:
        value = float(os.environ.get("DRO_OPT_PROGRESS_DELAY", DELAY))
    except ValueError:
        return DELAY
    return value if math.isfinite(value) and value >= 0 else DELAY


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.8g}"


class ProgressLine:
    """One self-rewriting terminal line (see the module docstring). Use :meth:`running`."""

    def __init__(self, fd: int = 1, delay: float | None = None, interval: float = INTERVAL) -> None:
        self.fd, self.delay, self.interval = fd, _delay() if delay is None else delay, interval
        self.start = time.perf_counter()
        self.incumbent: float | None = None
        self.bound: float | None = None
        self.phase = ""
        self.shown = False
        self._lock = threading.Lock()
        self._draw_lock = threading.Lock()
        self._last_draw = -math.inf
        self._drew_values = (
            False  # the last frame drawn showed values (the first are drawn at once)
        )
        self._stop = threading.Event()
        self._out: int | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ values
    def update(self, incumbent: float | None, bound: float | None) -> None:
        """The best proven values so far (None: not known yet)."""
        with self._lock:
            if incumbent is not None and math.isfinite(incumbent):
                self.incumbent = float(incumbent)
            if bound is not None and math.isfinite(bound):
                self.bound = float(bound)
        # drawn at once when due: a solver holding the GIL between its callbacks would otherwise
        # starve the drawing thread, and the callbacks are exactly when the values change
        self._draw(due_only=True)

    def text(self, now: float | None = None) -> str:
        """The line's content (without the terminal control characters)."""
        elapsed = (time.perf_counter() if now is None else now) - self.start
        with self._lock:
            inc, bnd, phase = self.incumbent, self.bound, self.phase
        parts = [f"{elapsed:7.1f} s"]
        if inc is not None or bnd is not None:
            parts.append(f"incumbent {_fmt(inc)}")
            parts.append(f"bound {_fmt(bnd)}")
            gap = None
            if inc is not None and bnd is not None:
                gap = abs(bnd - inc) / max(1.0, abs(inc))
            parts.append(f"gap {'-' if gap is None else f'{gap:.3g}'}")
        if phase:
            parts.append(phase)
        return "  ".join(parts)

    # ------------------------------------------------------------------ drawing
    def _write(self, data: str) -> None:
        if self._out is None:
            return
        try:
            os.write(self._out, data.encode("utf-8", "replace"))
        except OSError:  # the terminal went away: stop drawing, never fail the solve
            self._stop.set()

    def _draw(self, due_only: bool = False) -> None:
        """Redraw (``due_only``: only after :data:`DELAY` and :data:`INTERVAL` since the last)."""
        now = time.perf_counter()
        first_values = not self._drew_values and (
            self.incumbent is not None or self.bound is not None
        )
        if due_only and (
            now - self.start < self.delay
            or (now - self._last_draw < self.interval and not first_values)
        ):
            return
        if not self._draw_lock.acquire(blocking=False):  # the other thread is drawing
            return
        try:
            if self._stop.is_set() or self._out is None:
                return
            self.shown = True
            self._last_draw = now
            self._drew_values = self.incumbent is not None or self.bound is not None
            self._write("\r" + self.text(now) + "\x1b[K")
        finally:
            self._draw_lock.release()

    def _loop(self) -> None:
        if self._stop.wait(self.delay):
            return
        while not self._stop.is_set():
            self._draw()
            self._stop.wait(self.interval)

    @contextmanager
    def running(self) -> Iterator[ProgressLine]:
        """Draw the line while the block runs and erase it afterwards; :func:`active` is this
        line meanwhile."""
        global _ACTIVE
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
        self._out = os.dup(self.fd)
        self.start = time.perf_counter()
        previous, _ACTIVE = _ACTIVE, self
        self._thread = threading.Thread(target=self._loop, name="dro-opt-progress", daemon=True)
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()
            _ACTIVE = previous
            with self._draw_lock:  # no redraw after the erase
                pass
            if self.shown:
                self._write("\r\x1b[K")
            os.close(self._out)
            self._out = None


def active() -> ProgressLine | None:
    """The progress line being drawn (None: none, e.g. not a terminal or ``--quiet``)."""
    return _ACTIVE


def publish(incumbent: float | None, bound: float | None) -> None:
    """Give the active line (if any) the best proven values so far; a no-op otherwise."""
    line = _ACTIVE
    if line is not None:
        line.update(incumbent, bound)


def set_phase(text: str) -> None:
    """What the command is doing now (e.g. ``"chi-square bound (OA)"``), shown after the values."""
    line = _ACTIVE
    if line is not None:
        with line._lock:
            line.phase = text


Pair = tuple[float | None, float | None]


@contextmanager
def solver_values(
    phase: str | None = None, transform: Callable[[float | None, float | None], Pair] | None = None
) -> Iterator[None]:
    """While the block runs, publish the running solver's ``(incumbent, bound)`` to the active
    line as its callbacks report them, mapped by ``transform`` (default: as reported); ``phase``
    is shown meanwhile. Without an active line nothing is registered, so the solvers attach no
    callbacks (no cost when stdout is not a terminal or with ``--quiet``)."""
    line = _ACTIVE
    if line is None:
        yield
        return
    from dro_opt.solvers.trajectory import live

    def listener(seconds: float, primal: float | None, dual: float | None) -> None:
        incumbent, bound = (primal, dual) if transform is None else transform(primal, dual)
        line.update(incumbent, bound)

    with line._lock:
        previous = line.phase
        if phase is not None:
            line.phase = phase
    try:
        with live(listener):
            yield
    finally:
        with line._lock:
            line.phase = previous
