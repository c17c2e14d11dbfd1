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

from dro_opt.conic.cones import EXP, NONNEG, POW, RSOC, SOC, ZERO
from dro_opt.conic.problem import ConicProblem
from dro_opt.errors import UnsupportedFormatError
from dro_opt.io._text import read_text, write_text
from dro_opt.io.atomic import atomic_path


@dataclass(frozen=True)
class FormatInfo:
    """A model-file format: the cone kinds it holds and its text writer/parser."""

    suffix: str
    description: str
    cones: frozenset[str]
    integer: bool
    to_text: Callable[[ConicProblem], str]
    parse: Callable[[str, str], ConicProblem]


def _mps_text(p: ConicProblem) -> str:
    from dro_opt.io.mps_write import mps_text

    return mps_text(p)


def _mps_parse(text: str, where: str) -> ConicProblem:
    from dro_opt.io.mps import parse_mps

    return parse_mps(text, where)


def _lp_text(p: ConicProblem) -> str:
    from dro_opt.io.lp_write import lp_text

    return lp_text(p)


def _lp_parse(text: str, where: str) -> ConicProblem:
    from dro_opt.io.lp import parse_lp

    return parse_lp(text, where)


def _cbf_text(p: ConicProblem) -> str:
    from dro_opt.io.cbf import cbf_text

    return cbf_text(p)


def _cbf_parse(text: str, where: str) -> ConicProblem:
    from dro_opt.io.cbf import parse_cbf

    return parse_cbf(text, where)


_QUADRATIC = frozenset({ZERO, NONNEG, SOC, RSOC})
FORMATS: dict[str, FormatInfo] = {
    ".mps": FormatInfo(".mps", "free MPS", _QUADRATIC, True, _mps_text, _mps_parse),
    ".lp": FormatInfo(".lp", "CPLEX LP", _QUADRATIC, True, _lp_text, _lp_parse),
    ".cbf": FormatInfo(
        ".cbf",
        "Conic Benchmark Format v3",
        frozenset({*_QUADRATIC, EXP, POW}),
        True,
        _cbf_text,
        _cbf_parse,
    ),
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
    problem.validate()  # NaN/inf data or inconsistent shapes -> InvalidModelError, no file
    extra = sorted(problem.cone_kinds() - info.cones)
    if extra:
        raise UnsupportedFormatError(
            f"{info.suffix} ({info.description}) cannot hold {', '.join(extra)} cones of model "
            f"{problem.name!r}; nothing written to {path}. Use .cbf, which holds exponential and "
            "power cones exactly"
        )
    text = info.to_text(problem)
    with atomic_path(path) as tmp:  # keeps an existing file's mode, else 0666 & ~umask
        write_text(tmp, text, gz)
    return path


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
