"""Silence what a solver writes straight onto file descriptors 1 and 2 (C ``printf``/``cerr``).

Used only where a solver's own options cannot stop the text:

* HiGHS prints its banner ("Running HiGHS ... Copyright ...") inside ``Highs()`` -- before any
  option, ``output_flag`` included, can be set -- once per process.
* SoPlex (SCIP's LP solver) warns "Cannot set feasibility tolerance to small value 1e-13 without
  GMP" on stderr whenever SCIP asks for an LP tolerance below ``1e-10`` (SCIP tightens the LP
  tolerance by 1e-3 when it meets numerical troubles), ignoring SCIP's message handler and
  ``display/verblevel``.

:func:`quiet_fds` points fds 1 and 2 at ``os.devnull`` for the duration of the block. Python's
own ``sys.stdout``/``sys.stderr`` are pointed at the saved descriptors meanwhile, so Python-level
output (progress lines printed from a solver callback, warnings) still appears; only C-level
writes are dropped. Nested and concurrent blocks (threads) share one redirection: the first to
enter redirects, the last to leave restores.
"""

from __future__ import annotations

import ctypes
import functools
import io
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.Lock()
_DEPTH = 0
_SAVED: dict[int, int] = {}
_STREAMS: list[tuple[str, object]] = []


@functools.cache
def _libc() -> object | None:
    try:
        return ctypes.CDLL(None)
    except (OSError, TypeError):  # no symbol lookup in the running process (Windows)
        return None


def _flush_c() -> None:
    """Flush C stdio buffers (text written through a buffered ``stdout`` goes to the current fd)."""
    libc = _libc()
    try:
        if libc is not None:
            libc.fflush(None)  # type: ignore[attr-defined]
    except (OSError, AttributeError):
        pass


def _flush_py() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass


def _fd_of(stream: object) -> int | None:
    try:
        return stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def _enter() -> None:
    global _DEPTH
    with _LOCK:
        _DEPTH += 1
        if _DEPTH > 1:
            return
        _flush_py()
        _flush_c()
        try:
            for fd in (1, 2):
                _SAVED[fd] = os.dup(fd)
        except OSError:  # no such descriptor: nothing to silence
            _restore_fds()
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            for fd in (1, 2):
                os.dup2(devnull, fd)
        finally:
            os.close(devnull)
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            fd = _fd_of(stream)
            if fd in _SAVED:  # a Python stream on a silenced fd: keep it visible
                encoding = getattr(stream, "encoding", None) or "utf-8"
                errors = getattr(stream, "errors", None) or "strict"
                replacement = open(
                    _SAVED[fd], "w", buffering=1, encoding=encoding, errors=errors, closefd=False
                )
                _STREAMS.append((name, stream))
                setattr(sys, name, replacement)


def _restore_fds() -> None:
    for fd, saved in list(_SAVED.items()):
        try:
            os.dup2(saved, fd)
        finally:
            os.close(saved)
        del _SAVED[fd]


def _exit() -> None:
    global _DEPTH
    with _LOCK:
        _DEPTH -= 1
        if _DEPTH > 0:
            return
        _flush_c()
        while _STREAMS:
            name, original = _STREAMS.pop()
            replacement = getattr(sys, name)
            try:
                replacement.flush()
                replacement.close()
            except (OSError, ValueError):
                pass
            setattr(sys, name, original)
        _restore_fds()


@contextmanager
def quiet_fds(enabled: bool = True) -> Iterator[None]:
    """Drop C-level writes to fds 1 and 2 inside the block (no-op when ``enabled`` is False)."""
    if not enabled:
        yield
        return
    _enter()
    try:
        yield
    finally:
        _exit()


def new_highs(verbose: bool = False) -> object:
    """A ``highspy.Highs()`` with ``output_flag``/``log_to_console`` set to ``verbose`` first;
    without ``verbose`` its construction banner is dropped (:func:`quiet_fds`)."""
    import highspy

    # HiGHS keeps ONE global thread scheduler, created by the first run with that run's thread
    # count; a later instance asking for another count then ends with model status kNotset
    # (measured: a default-thread run, then the OA master with threads=1). Every instance made
    # here starts from a fresh scheduler.
    highspy.Highs.resetGlobalScheduler(True)
    with quiet_fds(not verbose):
        h = highspy.Highs()
    h.setOptionValue("output_flag", bool(verbose))
    h.setOptionValue("log_to_console", bool(verbose))
    from dro_opt import interrupt

    if interrupt.installed():  # the dro-opt command: Ctrl-C stops HiGHS (dro_opt.interrupt)
        for event in (h.cbSimplexInterrupt, h.cbIpmInterrupt, h.cbMipInterrupt):
            event.subscribe(interrupt.highs_interrupt_callback)
    return h
