"""Output paths checked before any work, and stdout that survives a reader leaving early.

:func:`check_output_path` is what every ``dro-opt`` command calls on its ``--json``, ``--csv``,
``--plot``, ``--export`` or ``convert`` output *before* reading a model or starting a solve, so
that a typo in a directory name costs nothing and never overwrites an input file.

:class:`SafeStdout` wraps ``sys.stdout`` for the command line: when the reader of a pipe goes
away (``dro-opt ... | head -1``), the first write that hits the closed pipe redirects the file
descriptor to ``os.devnull`` (the recipe of the Python documentation on SIGPIPE) and the command
carries on, so its output files are still written and its exit code is the normal one.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from dro_opt.errors import DroOptError


class OutputPathError(DroOptError, ValueError):
    """An output path that cannot be written, or that names an input file (exit code 2)."""

    exit_code: int = 2


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.abspath(a) == os.path.abspath(b)


def check_output_path(
    path: str | Path | None,
    *,
    inputs: Iterable[str | Path | None] = (),
    option: str | None = None,
) -> Path | None:
    """Check that ``path`` can be written, before any work is done; returns it as a Path.

    ``option`` (e.g. ``"--json"``) names the flag in the message. ``inputs`` are files the
    command reads (and other outputs of the same command): writing onto one of them is refused.

    Raises
    ------
    OutputPathError
        The directory does not exist or is not writable, the path is a directory, or it is
        one of ``inputs``. Nothing has been written.
    """
    if path is None:
        return None
    path = Path(path)
    what = f"{option} {path}" if option else str(path)
    if not path.name or path.is_dir():
        raise OutputPathError(f"{what} is a directory; give a file name inside it")
    for other in inputs:
        if other is not None and _same_file(path, Path(other)):
            raise OutputPathError(
                f"{what} is also the input file {other}; refusing to overwrite it, "
                "choose another output path"
            )
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise OutputPathError(
            f"cannot write {what}: directory {parent} does not exist; create it "
            f"(mkdir -p {parent}) or choose another path"
        )
    if not parent.is_dir():
        raise OutputPathError(f"cannot write {what}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(
            f"cannot write {what}: directory {parent} is not writable; choose a writable "
            "directory or fix its permissions"
        )
    return path


class SafeStdout:
    """A text stream proxy that turns a closed pipe into a silent ``os.devnull``.

    Everything but ``write``/``writelines``/``flush`` is delegated to the wrapped stream
    (``isatty``, ``fileno``, ``encoding`` ...), so ``rich`` and ``print`` behave as before.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.broken = False

    def _redirect(self) -> None:
        self.broken = True
        try:
            fd = self._stream.fileno()
        except (AttributeError, OSError, ValueError):
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)  # pending buffered bytes now drain into devnull
        finally:
            os.close(devnull)

    def _guard(self, call: Any, *args: Any) -> Any:
        if self.broken:
            try:
                return call(*args)
            except (BrokenPipeError, ValueError, OSError):
                return None
        try:
            return call(*args)
        except BrokenPipeError:
            self._redirect()
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            self._redirect()
        return None

    def write(self, text: str) -> int:
        self._guard(self._stream.write, text)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._guard(self._stream.flush)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


__all__ = ["OutputPathError", "SafeStdout", "check_output_path"]
