"""Writing one model file: validate, refuse cones the format cannot hold, write atomically.

Shared by :func:`dro_opt.io.formats.write_model` and the per-format ``write_mps`` /
``write_lp`` / ``write_cbf``, so that no format module needs the dispatcher (no import cycle).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dro_opt.conic.problem import ConicProblem
from dro_opt.errors import UnsupportedFormatError
from dro_opt.io._text import write_text
from dro_opt.io.atomic import atomic_path


def write_model_file(
    problem: ConicProblem,
    path: str | Path,
    *,
    suffix: str,
    description: str,
    cones: frozenset[str],
    to_text: Callable[[ConicProblem], str],
    gz: bool | None = None,
) -> Path:
    """Write ``problem`` as ``to_text`` renders it; ``gz`` (default: a ``.gz`` suffix)
    compresses.

    Raises
    ------
    UnsupportedFormatError
        The model has cones the format cannot hold (nothing is written).
    InvalidModelError
        The model holds NaN/inf data (nothing is written).
    """
    path = Path(path)
    if gz is None:
        gz = path.suffix.lower() == ".gz"
    problem.validate()  # NaN/inf data or inconsistent shapes -> InvalidModelError, no file
    extra = sorted(problem.cone_kinds() - cones)
    if extra:
        raise UnsupportedFormatError(
            f"{suffix} ({description}) cannot hold {', '.join(extra)} cones of model "
            f"{problem.name!r}; nothing written to {path}. Use .cbf, which holds exponential and "
            "power cones exactly"
        )
    text = to_text(problem)
    with atomic_path(path) as tmp:  # keeps an existing file's mode, else 0666 & ~umask
        write_text(tmp, text, gz)
    return path
