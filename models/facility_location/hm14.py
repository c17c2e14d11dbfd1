"""Strict reader of the HM14 maximum-capture facility location format.

Format (Haase & Mueller 2014, as distributed with robinlegault/CBCFLP;
docs/conventions.md, 'MC-FLP and HM14 instances'), whitespace separated, one block per line:

* line 1: ``N D E`` (customers, candidate locations, competitors; positive integers);
* line 2: the ``N`` customer weights ``q_n >= 0``;
* the next ``E`` lines: for each competitor ``e`` the ``N`` values ``-k_{n,e}`` (negated distances);
* the next ``D`` lines: for each candidate location ``d`` the ``N`` values ``-c_{n,d}``.

Nothing but blank lines may follow the declared blocks. Utilities under the MNL model with
distance aversion ``beta`` and competitor aversion ``alpha``::

    v_{n,d} = -beta * c_{n,d},   w_{n,e} = -alpha * beta * k_{n,e},   W_n = sum_e exp(w_{n,e}),

and the instance stores the log-odds
``a_{n,d} = log(V_{n,d} / W_n) = v_{n,d} - logsumexp_e w_{n,e}`` (docs/facility_location.md,
"Data model"),
computed without ever forming ``exp(v)`` or ``W``: at alpha = 0.2,
beta = 10 those span more than 70 orders of magnitude between customers.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from dro_opt.errors import InstanceError, ParameterError
from dro_opt.io.atomic import atomic_write_text
from dro_opt.models.facility_location.instance import MCFLPInstance

__all__ = [
    "check_alpha_beta",
    "format_hm14",
    "hm14_log_odds",
    "read_hm14",
    "read_hm14_arrays",
    "write_hm14",
]


def check_alpha_beta(alpha: float, beta: float) -> tuple[float, float]:
    """Validate the MNL parameters: both must be finite numbers > 0.

    Raises
    ------
    ParameterError
        naming the offending parameter and the fix.
    """
    out = []
    for label, value in (("alpha", alpha), ("beta", beta)):
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ParameterError(
                f"{label} must be a finite number > 0, got {value!r}; pass e.g. {label}=0.1"
            ) from None
        if not (math.isfinite(v) and v > 0):
            raise ParameterError(
                f"{label} must be a finite number > 0, got {value!r}; pass e.g. {label}=0.1"
            )
        out.append(v)
    return out[0], out[1]


def hm14_log_odds(neg_c: np.ndarray, neg_k: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """Log-odds utilities ``a = v - logsumexp_e(w)`` from the file's negated distances.

    Parameters
    ----------
    neg_c : (D, N) values ``-c_{n,d}`` as stored in the file (one row per location).
    neg_k : (E, N) values ``-k_{n,e}`` (one row per competitor).
    alpha, beta : competitor and distance aversion (> 0).

    Returns
    -------
    (N, D) array ``a_{n,d} = beta * (-c_{n,d}) - logsumexp_e(alpha * beta * (-k_{n,e}))``.
    """
    v = beta * np.asarray(neg_c, dtype=float).T  # (N, D)
    log_w = logsumexp(alpha * beta * np.asarray(neg_k, dtype=float), axis=0)  # (N,)
    return v - log_w[:, None]


def _parse_floats(tokens: list[str], where: str, path: Path) -> np.ndarray:
    try:
        values = np.array([float(t) for t in tokens], dtype=float)
    except ValueError:
        bad = next(t for t in tokens if not _is_float(t))
        raise InstanceError(
            f"{path}: {where} holds the non-numeric token {bad!r}; every value must be a number"
        ) from None
    if not np.isfinite(values).all():
        bad_idx = int(np.flatnonzero(~np.isfinite(values))[0])
        raise InstanceError(
            f"{path}: {where} holds {tokens[bad_idx]!r} (value {bad_idx + 1}); NaN and inf are "
            "not allowed -- fix or regenerate the file"
        )
    return values


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _parse_header(tokens: list[str], lineno: int, path: Path) -> tuple[int, int, int]:
    if len(tokens) != 3:
        raise InstanceError(
            f"{path}: line {lineno} must be 'N D E' (3 integers), found {len(tokens)} tokens"
        )
    sizes = []
    for label, tok in zip(("N", "D", "E"), tokens, strict=True):
        try:
            value = int(tok)
        except ValueError:
            raise InstanceError(
                f"{path}: line {lineno}: {label} must be a positive integer, got {tok!r}"
            ) from None
        if value < 1:
            raise InstanceError(
                f"{path}: line {lineno}: {label} must be >= 1, got {value}"
                + (" (the MNL model needs at least one competitor)" if label == "E" else "")
            )
        sizes.append(value)
    return sizes[0], sizes[1], sizes[2]


def read_hm14_arrays(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read and validate an HM14 file; return ``(q (N,), neg_k (E, N), neg_c (D, N))``.

    Blank lines are ignored; every other line must be exactly one declared block.

    Raises
    ------
    InstanceError
        missing/unreadable file, wrong token count on a line, non-numeric token, NaN/inf,
        negative or all-zero weights, missing blocks, or data after the declared blocks.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InstanceError(f"{path}: no such instance file; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InstanceError(f"{path}: cannot read the instance file ({exc})") from None
    lines = [(i + 1, ln.split()) for i, ln in enumerate(text.splitlines()) if ln.strip()]
    if not lines:
        raise InstanceError(f"{path}: empty file; expected an HM14 instance ('N D E' first)")
    N, D, E = _parse_header(lines[0][1], lines[0][0], path)
    expected = 1 + 1 + E + D
    if len(lines) < expected:
        raise InstanceError(
            f"{path}: truncated file: 'N D E' = {N} {D} {E} declares {expected} non-blank lines "
            f"(header, weights, {E} competitor rows, {D} location rows), found {len(lines)}"
        )
    if len(lines) > expected:
        raise InstanceError(
            f"{path}: unexpected data after the declared blocks at line {lines[expected][0]} "
            f"('N D E' = {N} {D} {E} declares {expected} non-blank lines); remove the extra "
            "data or fix the header"
        )
    rows = []
    for k, (lineno, tokens) in enumerate(lines[1:]):
        if k == 0:
            what = "customer weights"
        elif k <= E:
            what = f"competitor row {k}"
        else:
            what = f"location row {k - E}"
        if len(tokens) != N:
            raise InstanceError(
                f"{path}: line {lineno} ({what}) has {len(tokens)} values, expected N = {N}"
            )
        rows.append(_parse_floats(tokens, f"line {lineno} ({what})", path))
    q = rows[0]
    if (q < 0).any():
        i = int(np.flatnonzero(q < 0)[0])
        raise InstanceError(
            f"{path}: customer weight {i + 1} is negative ({q[i]}); weights must be >= 0"
        )
    if q.sum() <= 0:
        raise InstanceError(f"{path}: all customer weights are zero; at least one must be > 0")
    neg_k = np.vstack(rows[1 : 1 + E])
    neg_c = np.vstack(rows[1 + E :])
    return q, neg_k, neg_c


def read_hm14(
    path: str | Path, alpha: float, beta: float, name: str | None = None
) -> MCFLPInstance:
    """Read an HM14 ``.data`` file into an :class:`MCFLPInstance` (log-odds utilities).

    Parameters
    ----------
    path : the ``.data`` file.
    alpha : competitor aversion (> 0): ``w_{n,e} = -alpha * beta * k_{n,e}``.
    beta : distance aversion (> 0): ``v_{n,d} = -beta * c_{n,d}``.
    name : label; defaults to the file stem.

    Raises
    ------
    ParameterError
        alpha or beta not a finite number > 0.
    InstanceError
        malformed file (see :func:`read_hm14_arrays`).
    """
    alpha, beta = check_alpha_beta(alpha, beta)
    q, neg_k, neg_c = read_hm14_arrays(path)
    a = hm14_log_odds(neg_c, neg_k, alpha, beta)
    path = Path(path)
    return MCFLPInstance(
        q=q,
        a=a,
        name=name or path.stem,
        meta={
            "source": str(path),
            "format": "hm14",
            "alpha": alpha,
            "beta": beta,
            "competitors": int(neg_k.shape[0]),
        },
    )


def _format_row(values: np.ndarray, fmt: str) -> str:
    if fmt == "auto":
        v = np.asarray(values, dtype=float)
        if np.all(v == np.round(v)) and np.all(np.abs(v) < 2**53):
            return " ".join(str(int(x)) for x in v)
        fmt = "%.17g"
    return " ".join(np.char.mod(fmt, np.asarray(values, dtype=float)).tolist())


def format_hm14(
    q: np.ndarray, neg_k: np.ndarray, neg_c: np.ndarray, value_format: str = "%.17g"
) -> str:
    """HM14 text of ``(q (N,), neg_k (E, N), neg_c (D, N))``; inverse of :func:`read_hm14_arrays`.

    Weights are written as integers when they all are; the distance rows with
    ``value_format`` (``"%.17g"`` round-trips exactly; ``"%.5g"`` mimics the classic files).
    """
    q = np.asarray(q, dtype=float).ravel()
    neg_k = np.atleast_2d(np.asarray(neg_k, dtype=float))
    neg_c = np.atleast_2d(np.asarray(neg_c, dtype=float))
    N = q.shape[0]
    if neg_k.shape[1] != N or neg_c.shape[1] != N:
        raise InstanceError(
            f"every row must have N = {N} values; got competitor rows {neg_k.shape}, "
            f"location rows {neg_c.shape}"
        )
    for label, arr in (("weights", q), ("competitor rows", neg_k), ("location rows", neg_c)):
        if not np.isfinite(arr).all():
            raise InstanceError(f"{label} contain NaN or inf; cannot write an HM14 file")
    if (q < 0).any() or q.sum() <= 0:
        raise InstanceError("weights must be >= 0 and not all zero")
    lines = [f"{N} {neg_c.shape[0]} {neg_k.shape[0]}", _format_row(q, "auto")]
    lines += [_format_row(row, value_format) for row in neg_k]
    lines += [_format_row(row, value_format) for row in neg_c]
    return "\n".join(lines) + "\n"


def write_hm14(
    path: str | Path,
    q: np.ndarray,
    neg_k: np.ndarray,
    neg_c: np.ndarray,
    value_format: str = "%.17g",
) -> Path:
    """Write an HM14 ``.data`` file atomically (see :func:`format_hm14`); returns the path."""
    atomic_write_text(path, format_hm14(q, neg_k, neg_c, value_format))
    return Path(path)
