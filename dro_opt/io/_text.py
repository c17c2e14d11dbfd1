"""Bulk text formatting and line-aware errors shared by the model-file writers and readers.

Writers format whole columns at once (one printf-style template applied to a flat tuple, the
``np.savetxt`` idea without its per-row Python loop); floats use ``%.17g``, which round-trips every
IEEE double exactly. Readers report problems as :class:`~dro_opt.errors.ModelFileError` naming
the file and line.
"""

from __future__ import annotations

import gzip
from itertools import chain, repeat
from pathlib import Path

import numpy as np

from dro_opt.errors import ModelFileError

FLOAT = "%.17g"
_CHUNK = 200_000


def bulk_format(fmt: str, *cols: np.ndarray | list) -> str:
    """Apply the one-line template ``fmt`` to the rows of ``cols`` and concatenate.

    Parameters
    ----------
    fmt
        printf-style template for one line, including its trailing newline, with one field per
        column (e.g. ``"%d %d %.17g\\n"``).
    cols
        Equal-length 1-D arrays or lists (numbers or strings).

    Returns
    -------
    str
        ``fmt % row`` for every row, joined; formatted in chunks of 200,000 lines by a single
        C-level ``%`` per chunk.
    """
    if not cols:
        return ""
    lists = [c.tolist() if isinstance(c, np.ndarray) else list(c) for c in cols]
    n = len(lists[0])
    if any(len(lst) != n for lst in lists):
        raise ValueError("bulk_format: columns differ in length")
    out = []
    for s in range(0, n, _CHUNK):
        e = min(n, s + _CHUNK)
        if len(lists) == 1:
            flat = lists[0][s:e]
        else:
            flat = list(chain.from_iterable(zip(*(lst[s:e] for lst in lists), strict=True)))
        out.append((fmt * (e - s)) % tuple(flat))
    return "".join(out)


def fmt_floats(values: np.ndarray) -> list[str]:
    """``%.17g`` strings of ``values`` (exact round trip)."""
    vals = np.asarray(values, dtype=float)
    if vals.size == 0:
        return []
    return bulk_format(FLOAT + "\n", vals).splitlines()


def read_text(path: str | Path) -> str:
    """Read a model file (``.gz`` transparently); missing/unreadable -> ModelFileError."""
    p = Path(path)
    if not p.exists():
        raise ModelFileError(f"model file {p} does not exist; check the path")
    if p.is_dir():
        raise ModelFileError(f"model file {p} is a directory, not a file")
    try:
        if p.suffix.lower() == ".gz":
            with gzip.open(p, "rt", encoding="utf-8") as fh:
                return fh.read()
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise ModelFileError(f"cannot read model file {p}: {exc}") from exc


def write_text(path: Path, text: str, compress: bool) -> None:
    """Write ``text`` to ``path`` (a temporary path from ``atomic_path``), gzip if asked."""
    if compress:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")


def parse_floats(
    tokens: list[str] | np.ndarray, where: str, lines: np.ndarray | None = None
) -> np.ndarray:
    """Convert number tokens to finite floats; the first bad one raises ModelFileError.

    ``lines`` (same length as ``tokens``) gives the line number of each token for the message.
    """
    tokens = list(tokens) if not isinstance(tokens, np.ndarray) else tokens.tolist()
    try:
        vals = np.array(tokens, dtype=float) if tokens else np.zeros(0)
    except (ValueError, TypeError):
        vals = np.full(len(tokens), np.nan)
        for k, tok in enumerate(tokens):
            try:
                vals[k] = float(tok)
            except ValueError:
                raise ModelFileError(f"{where}{_at(lines, k)}: {tok!r} is not a number") from None
    bad = ~np.isfinite(vals)
    if bad.any():
        k = int(np.argmax(bad))
        raise ModelFileError(
            f"{where}{_at(lines, k)}: coefficient {tokens[k]!r} is not finite; model files must "
            "hold finite numbers (write infinite bounds as free/absent bounds)"
        )
    return vals


def parse_ints(
    tokens: list[str] | np.ndarray, where: str, lines: np.ndarray | None = None
) -> np.ndarray:
    """Convert index tokens to int64; the first bad one raises ModelFileError."""
    tokens = list(tokens) if not isinstance(tokens, np.ndarray) else tokens.tolist()
    try:
        return np.array(tokens, dtype=np.int64) if tokens else np.zeros(0, np.int64)
    except (ValueError, OverflowError):
        for k, tok in enumerate(tokens):
            try:
                int(tok)
            except ValueError:
                raise ModelFileError(
                    f"{where}{_at(lines, k)}: {tok!r} is not an integer index"
                ) from None
        raise ModelFileError(f"{where}: bad integer index") from None


def token_table(lines: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whitespace tokens of ``lines`` in bulk: (tokens, tokens per line, offset of each line).

    One ``str.split`` for the whole block and a byte-level count of token starts per line
    (numpy), instead of one Python ``split`` per line. ``tokens`` is an object array.
    """
    k = len(lines)
    if k == 0:
        return np.zeros(0, dtype=object), np.zeros(0, np.int64), np.zeros(0, np.int64)
    joined = "\n".join(lines)
    raw = np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)
    sep = (raw == 32) | (raw == 9) | (raw == 10) | (raw == 13) | (raw == 11) | (raw == 12)
    tok_pos = np.flatnonzero(~sep & np.r_[True, sep[:-1]])
    bounds = np.r_[0, np.flatnonzero(raw == 10), raw.size]  # line i spans bounds[i:i+2]
    counts = np.diff(np.searchsorted(tok_pos, bounds)).astype(np.int64)
    toks = joined.split()
    if len(toks) != int(counts.sum()):  # exotic Unicode whitespace: split line by line
        per = [ln.split() for ln in lines]
        counts = np.fromiter(map(len, per), dtype=np.int64, count=k)
        toks = [t for p in per for t in p]
    tokens = np.empty(len(toks), dtype=object)
    tokens[:] = toks
    return tokens, counts, np.cumsum(counts) - counts


def lookup(index: dict[str, int], names: np.ndarray) -> np.ndarray:
    """Indices of ``names`` in ``index`` (-1 where absent), by C-level dict lookups."""
    return np.fromiter(map(index.get, names.tolist(), repeat(-1)), dtype=np.int64, count=len(names))


def _at(lines: np.ndarray | None, k: int) -> str:
    return f" line {int(lines[k])}" if lines is not None and len(lines) > k else ""
