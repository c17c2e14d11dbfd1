"""Ctrl-C (SIGINT) for every route: one handler, one flag, and the running solver asked to stop.

The ``dro-opt`` command installs :func:`handle_sigint` around every subcommand. The first Ctrl-C
does not raise: it records the request (:func:`requested`) and calls the stop callbacks
registered by whatever is running (:func:`stopping`); the command then finishes as it would at
its time limit -- the best certified result so far is written, the status is ``interrupted``
and the exit code 130 (:data:`dro_opt.cli_common.EXIT_INTERRUPTED`). A second Ctrl-C raises
:class:`KeyboardInterrupt` at once (exit 130 without a result file).

How SIGINT reaches each solver (measured with pyscipopt 6.3 / SCIP 10, highspy 1.16):

* **SCIP** installs its own C handler for the duration of ``Model.optimize`` (parameter
  ``misc/catchctrlc``, default on): Python's handler does not run, SCIP stops at its next check
  with status ``userinterrupt`` (printing "pressed CTRL-C" with ``printf``; the solvers run inside
  :func:`dro_opt.solvers._quiet.quiet_fds`, which drops it unless verbose). The flag is set
  afterwards from the status: :meth:`dro_opt.solvers.base.Backend.solve` and the OA master call
  :func:`note_solver_interrupt` when a solver reports :attr:`Status.INTERRUPTED`. SCIP's checks
  sit between LP solves, nodes and heuristics; Ipopt, which SCIP calls for its NLP heuristics,
  checks only between its own iterations. One MUMPS factorization inside SCIP's MPEC heuristic
  took over 100 s on a small security-game MISOCP (Ctrl-C latencies of 98-144 s, measured with a
  real SIGINT and gdb), so that heuristic is off by default
  (:data:`dro_opt.solvers.scip_backend.NO_MPEC`); the latency is then 0.35-2.4 s (16 moments
  of the same run, load ~10 on 2 cores).
* **HiGHS** has no handler of its own and runs with the GIL held by the calling thread, so
  Python's handler only runs when Python code does: every ``Highs`` made by
  :func:`dro_opt.solvers._quiet.new_highs` while the handler is installed subscribes
  :func:`highs_interrupt_callback` to its simplex/IPM/MIP interrupt checks; running that callback
  runs the pending handler first, the callback then sees the flag and interrupts HiGHS
  (status ``kInterrupt``).
* **Python phases** (greedy, cut generation, certificate evaluation): the flag is set at once;
  :func:`dro_opt.deadline.time_left` returns 0 from then on, so every phase that consults the
  command's deadline stops and no new solver starts with more than
  :data:`dro_opt.deadline.MIN_SECONDS`. A phase that consults neither (a long numpy loop) delays
  the exit by its own length: such loops check :func:`requested` between steps.
* **compare** runs each solve in a worker process in its own session (the terminal's Ctrl-C does
  not reach it); its stop callback raises :class:`KeyboardInterrupt` in the waiting main thread,
  the workers are killed and the rows already finished stay in the (atomically rewritten)
  ``--json``/``--csv`` files.

Library use (no handler installed) is unchanged: Ctrl-C raises :class:`KeyboardInterrupt` as
usual, and SCIP still answers ``Status.INTERRUPTED``.

For model packages (``dro_opt.models.*.cli_support``): the handler is already installed by
``dro-opt``; a route that runs its own loop checks :func:`requested` between steps, wraps a
solver that can be stopped from Python in ``with stopping(model.interruptSolve): ...``, and
reports ``Status.INTERRUPTED`` when :func:`requested` is true at the end
(:func:`dro_opt.cli_common.status_exit_code` then gives 130).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "handle_sigint",
    "highs_interrupt_callback",
    "installed",
    "note_solver_interrupt",
    "raise_keyboard_interrupt",
    "requested",
    "stopping",
]

_REQUESTED = threading.Event()
_STOPPERS: list[Callable[[], None]] = []
_LOCK = threading.Lock()
_INSTALLED = False


def requested() -> bool:
    """True once Ctrl-C was pressed (or a solver reported that it was interrupted)."""
    return _REQUESTED.is_set()


def installed() -> bool:
    """True while :func:`handle_sigint` is active (the ``dro-opt`` command)."""
    return _INSTALLED


def note_solver_interrupt() -> None:
    """Record an interruption a solver caught with its own handler (SCIP's ``userinterrupt``).

    Only while :func:`handle_sigint` is active: a library caller's flag is never set behind its
    back."""
    if _INSTALLED:
        _REQUESTED.set()


def _on_sigint(signum: int, frame: Any) -> None:
    if _REQUESTED.is_set():
        raise KeyboardInterrupt  # the second Ctrl-C: stop now, without a result
    _REQUESTED.set()
    with _LOCK:
        stoppers = list(_STOPPERS)
    for stop in reversed(stoppers):  # innermost first
        stop()


@contextmanager
def handle_sigint() -> Iterator[None]:
    """Install the SIGINT handler described in the module docstring (main thread only).

    The flag is cleared on entry and on exit, so consecutive commands in one process (tests)
    start clean."""
    global _INSTALLED
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = signal.getsignal(signal.SIGINT)
    _REQUESTED.clear()
    signal.signal(signal.SIGINT, _on_sigint)
    _INSTALLED = True
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _INSTALLED = False
        _REQUESTED.clear()


@contextmanager
def stopping(stop: Callable[[], None]) -> Iterator[None]:
    """Call ``stop()`` on Ctrl-C while the block runs (at once if Ctrl-C came already).

    ``stop`` runs inside the signal handler, in the main thread, between two Python bytecodes:
    it must only ask (set a flag, call a solver's thread-safe interrupt function), or raise
    :class:`KeyboardInterrupt` (:func:`raise_keyboard_interrupt`) to unwind pure-Python waits."""
    with _LOCK:
        _STOPPERS.append(stop)
    try:
        if _REQUESTED.is_set():
            stop()
        yield
    finally:
        with _LOCK:
            _STOPPERS.remove(stop)


def raise_keyboard_interrupt() -> None:
    """A stop callback for code that waits in Python (``dro-opt compare``): unwind at once."""
    raise KeyboardInterrupt


def highs_interrupt_callback(event: Any) -> None:
    """highspy interrupt-check callback: ask HiGHS to stop once Ctrl-C was pressed."""
    if _REQUESTED.is_set():
        event.interrupt()
