"""Rows of a comparison and their JSON/CSV files, streamed as runs finish.

One row per run, keyed by ``(target, solver, method, repeat)``. After every finished run the JSON
file ``{"schema_version": 1, "runs": [...]}`` is rewritten atomically (temp file + rename), so an
interrupted sweep leaves a valid file holding every finished row; the CSV is rewritten the same
way. ``--resume`` reads that file back and skips the keys already present.

Row fields (see :data:`ROW_FIELDS`): the contract of issue 6 (``target``, ``solver``, ``method``,
``status``, ``objective``, ``bound``, ``gap``, ``solve_seconds``, ``message``) plus ``repeat``,
``wall_seconds``, ``nodes``, ``solver_version``, ``license``, ``sense``, ``consistency``,
``trajectory`` (list of ``[seconds, primal, dual]``), ``trajectory_source`` (where it came from:
``callback`` = a solver callback / event handler, ``log`` = parsed from the solver log, ``final``
= only the end point, and for ``mc-flp`` targets ``certified`` = exact values and proven bounds of
the original problem during the OA solve, or ``solver-reported`` = the MISOCP solver's own values
from its callback, bounds widened by the certificate's error lines) and bookkeeping.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dro_opt.errors import ParameterError
from dro_opt.io.atomic import atomic_write_text

SCHEMA_VERSION = 1

ROW_FIELDS: tuple[str, ...] = (
    "target",
    "solver",
    "method",
    "repeat",
    "status",
    "objective",
    "bound",
    "gap",
    "solve_seconds",
    "wall_seconds",
    "build_seconds",
    "nodes",
    "solver_version",
    "license",
    "sense",
    "problem_class",
    "method_used",
    "consistency",
    "killed",
    "message",
    "trajectory_source",
    "trajectory",
)
KEY_FIELDS = ("target", "solver", "method", "repeat")

# Statuses that mean the run itself failed (exit code 3); a hang is "time_limit" with killed=True.
FAILED_STATUSES = frozenset({"error", "crashed", "numerical_error"})
# Statuses where the solver could not take the model at all: the row says why, not a failure.
NOT_RUN_STATUSES = frozenset({"unsupported", "unavailable", "license_limit"})

_FLOAT_FIELDS = ("objective", "bound", "gap", "solve_seconds", "wall_seconds", "build_seconds")


def run_key(row: dict[str, Any]) -> tuple[str, str, str, int]:
    """The identity of a run: ``(target, solver, method, repeat)``."""
    return (str(row["target"]), str(row["solver"]), str(row["method"]), int(row["repeat"]))


def is_failed(row: dict[str, Any]) -> bool:
    """A crash, an error, a numerical failure or a hang killed at the hard wall-clock limit."""
    return row.get("status") in FAILED_STATUSES or bool(row.get("killed"))


def new_row(task: dict[str, Any], **values: Any) -> dict[str, Any]:
    """A row with every field present (``None`` where unknown), keyed from ``task``."""
    row: dict[str, Any] = dict.fromkeys(ROW_FIELDS)
    row.update(
        target=task["target"]["spec"],
        solver=task["solver"],
        method=task["method"],
        repeat=int(task["repeat"]),
        killed=False,
        message="",
        trajectory=[],
        trajectory_source=None,
    )
    row.update(values)
    return clean_row(row)


def clean_row(row: dict[str, Any]) -> dict[str, Any]:
    """Make every value JSON-safe: non-finite floats -> None, tuples -> lists."""
    out: dict[str, Any] = dict.fromkeys(ROW_FIELDS)
    out.update({k: _jsonable(v) for k, v in row.items()})
    return out


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if hasattr(v, "item") and callable(v.item) and not isinstance(v, str):
        try:
            v = v.item()
        except (TypeError, ValueError):
            return str(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# ------------------------------------------------------------------ writing
class RecordWriter:
    """Collects rows and rewrites the JSON/CSV outputs atomically after each one.

    Parameters
    ----------
    json_path, csv_path : output files (either may be ``None``).
    rows : rows already present (``--resume``); they are kept and written first.
    annotate : called on the full row list before each write (the consistency check).
    """

    def __init__(
        self,
        json_path: Path | None,
        csv_path: Path | None,
        rows: Iterable[dict[str, Any]] = (),
        annotate: Any = None,
    ) -> None:
        self.json_path = json_path
        self.csv_path = csv_path
        self.rows: list[dict[str, Any]] = [clean_row(r) for r in rows]
        self._keys = {run_key(r) for r in self.rows}
        self._annotate = annotate

    def __contains__(self, key: tuple[str, str, str, int]) -> bool:
        return key in self._keys

    def add(self, row: dict[str, Any]) -> None:
        """Append ``row`` (a duplicate key replaces the earlier row) and rewrite the files."""
        row = clean_row(row)
        key = run_key(row)
        if key in self._keys:
            self.rows = [r for r in self.rows if run_key(r) != key]
        self._keys.add(key)
        self.rows.append(row)
        self.flush()

    def flush(self) -> None:
        if self._annotate is not None:
            self._annotate(self.rows)
        if self.json_path is not None:
            write_json(self.json_path, self.rows)
        if self.csv_path is not None:
            write_csv(self.csv_path, self.rows)


def write_json(path: Path, rows: list[dict[str, Any]]) -> None:
    payload = {"schema_version": SCHEMA_VERSION, "runs": [clean_row(r) for r in rows]}
    atomic_write_text(path, json.dumps(payload, indent=1, allow_nan=False) + "\n")


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(ROW_FIELDS), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        flat = dict(clean_row(r))
        flat["trajectory"] = json.dumps(flat["trajectory"] or [], separators=(",", ":"))
        writer.writerow({k: "" if v is None else v for k, v in flat.items()})
    atomic_write_text(path, buf.getvalue())


# ------------------------------------------------------------------ reading
def read_rows(json_path: Path | None, csv_path: Path | None) -> list[dict[str, Any]]:
    """Rows of a previous (possibly interrupted) run, for ``--resume``; JSON preferred.

    A missing file means nothing finished yet (empty list). A file that exists but cannot be read
    raises :class:`~dro_opt.errors.ParameterError` rather than silently starting over.
    """
    if json_path is not None and json_path.is_file():
        try:
            data = json.loads(json_path.read_text())
            rows = data["runs"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ParameterError(
                f"--resume: {json_path} is not a dro-opt compare JSON file ({exc}); "
                "move it away or drop --resume"
            ) from None
        return _dedupe(rows)
    if csv_path is not None and csv_path.is_file():
        with csv_path.open(newline="") as fh:
            return _dedupe(_row_from_csv(r) for r in csv.DictReader(fh))
    return []


def _row_from_csv(raw: dict[str, str]) -> dict[str, Any]:
    row: dict[str, Any] = {k: (None if v == "" else v) for k, v in raw.items()}
    for k in _FLOAT_FIELDS:
        if row.get(k) is not None:
            row[k] = float(row[k])
    for k in ("repeat", "nodes"):
        if row.get(k) is not None:
            row[k] = int(float(row[k]))
    row["killed"] = row.get("killed") == "True"
    row["trajectory"] = json.loads(row.get("trajectory") or "[]")
    row["message"] = row.get("message") or ""
    return clean_row(row)


def _dedupe(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[tuple[str, str, str, int]] = set()
    out = []
    for r in rows:
        key = run_key(r)
        if key not in seen:
            seen.add(key)
            out.append(clean_row(r))
    return out
