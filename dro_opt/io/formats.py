"""Model files by suffix: :func:`write_model`, :func:`read_model`, :func:`convert`.

=========  ==========================================  ==========================================
suffix     cones it holds                              notes
=========  ==========================================  ==========================================
``.mps``   zero, nonneg, soc, rsoc (+ integers)        free MPS; cones as QCMATRIX rows on slacks
``.lp``    zero, nonneg, soc, rsoc (+ integers)        CPLEX LP; cones as ``[ ... ]`` rows
``.cbf``   zero, nonneg, soc, rsoc, exp, pow (+ int)   CBF version 3, exact conic form
=========  ==========================================  ==========================================

Each suffix may be followed by ``.gz`` (gzip). A model needing a cone the format cannot hold is
refused with :class:`~dro_opt.errors.UnsupportedFormatError` before anything is written; every
write goes through :func:`dro_opt.io.atomic.atomic_path`, so a failed write never leaves a partial
file (nor replaces an existing one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dro_opt.conic.problem import ConicProblem
from dro_opt.errors import UnsupportedFormatError
from dro_opt.io import cbf, lp, mps
from dro_opt.io._text import read_text
from dro_opt.io._write import write_model_file
from dro_opt.io.lp_write import lp_text
from dro_opt.io.mps_write import mps_text


@dataclass(frozen=True)
class FormatInfo:
    """A model-file format: the cone kinds it holds and its text writer/parser."""

    suffix: str
    description: str
    cones: frozenset[str]
    integer: bool
    to_text: Callable[[ConicProblem], str]
    parse: Callable[[str, str], ConicProblem]


FORMATS: dict[str, FormatInfo] = {
    ".mps": FormatInfo(".mps", mps.DESCRIPTION, mps.CONES, True, mps_text, mps.parse_mps),
    ".lp": FormatInfo(".lp", lp.DESCRIPTION, lp.CONES, True, lp_text, lp.parse_lp),
    ".cbf": FormatInfo(".cbf", cbf.DESCRIPTION, cbf.CONES, True, cbf.cbf_text, cbf.parse_cbf),
}


def format_of(path: str | Path) -> tuple[FormatInfo, bool]:
    """The format of ``path`` by suffix, and whether it is gzip-compressed."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    if gz:
        suffixes = suffixes[:-1]
    suffix = suffixes[-1] if suffixes else ""
    if suffix not in FORMATS:
        raise UnsupportedFormatError(
            f"unknown model-file suffix {suffix or '(none)'!r} in {path}; use one of "
            f"{', '.join(FORMATS)} (optionally followed by .gz)"
        )
    return FORMATS[suffix], gz


def can_hold(problem: ConicProblem, suffix: str) -> bool:
    """Whether the format ``suffix`` (e.g. ``".mps"``) can hold ``problem`` exactly."""
    return problem.cone_kinds() <= FORMATS[suffix].cones


def write_model(problem: ConicProblem, path: str | Path, fmt: str | None = None) -> Path:
    """Write ``problem`` to ``path`` in the format of its suffix (or ``fmt``), atomically.

    Raises
    ------
    UnsupportedFormatError
        Unknown suffix, or the model has cones the format cannot hold (nothing is written).
    InvalidModelError
        The model holds NaN/inf data (nothing is written).
    """
    path = Path(path)
    if fmt is None:
        info, gz = format_of(path)
    else:
        info, gz = FORMATS[fmt], path.suffix.lower() == ".gz"
    return write_model_file(
        problem,
        path,
        suffix=info.suffix,
        description=info.description,
        cones=info.cones,
        to_text=info.to_text,
        gz=gz,
    )


def read_model(path: str | Path) -> ConicProblem:
    """Read a ``.mps``/``.lp``/``.cbf`` (optionally ``.gz``) file into the canonical form.

    Raises
    ------
    ModelFileError
        Missing, empty, truncated or malformed file (the message names the line).
    UnsupportedFormatError
        Unknown suffix, or content dro_opt's conic form cannot hold (quadratic objectives,
        nonconvex quadratics, semidefinite cones, ...).
    InvalidModelError
        The file parses but describes an inconsistent model.
    """
    info, _ = format_of(path)
    text = read_text(path)
    return info.parse(text, str(path))


def convert(in_path: str | Path, out_path: str | Path) -> ConicProblem:
    """Read ``in_path`` and write it to ``out_path`` (formats by suffix); returns the model."""
    problem = read_model(in_path)
    write_model(problem, out_path)
    return problem


__all__ = ["FORMATS", "FormatInfo", "can_hold", "convert", "format_of", "read_model", "write_model"]
