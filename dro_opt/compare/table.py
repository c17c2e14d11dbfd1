"""Terminal output of ``dro-opt compare``: a live progress display and the final table.

With ``rich`` installed and a terminal on stdout (and no ``--quiet``), runs in progress are shown
live: a progress bar, a summary line (runs finished, runs running, seconds elapsed; redrawn four
times a second) and the latest finished rows; otherwise one plain line is printed per finished
run. The final
table uses ``rich`` when it is installed and plain aligned text otherwise. A row whose proven
interval contradicts another run's is shown in red with ``CONFLICT`` in the consistency column.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from dro_opt.compare.consistency import CONFLICT, Conflict
from dro_opt.compare.records import is_failed

COLUMNS = (
    ("target", "target"),
    ("solver", "solver"),
    ("method", "method"),
    ("repeat", "rep"),
    ("status", "status"),
    ("objective", "objective"),
    ("bound", "bound"),
    ("gap", "gap"),
    ("solve_seconds", "solve s"),
    ("nodes", "nodes"),
    ("consistency", "consistency"),
    ("message", "message"),
)
_MESSAGE_WIDTH = 60
# The live view shows fewer columns so that it fits a normal terminal.
LIVE_COLUMNS = tuple(
    c for c in COLUMNS if c[0] in ("target", "solver", "method", "status", "gap", "solve_seconds")
)


def _have_rich() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def cell(row: dict[str, Any], key: str) -> str:
    """One formatted table cell."""
    v = row.get(key)
    if v is None:
        return "-"
    if key == "gap":
        return f"{v:.2e}"
    if key in ("objective", "bound"):
        return f"{v:.8g}"
    if key == "solve_seconds":
        return f"{v:.2f}"
    if key == "message":
        text = " ".join(str(v).split())
        return text if len(text) <= _MESSAGE_WIDTH else text[: _MESSAGE_WIDTH - 3] + "..."
    if key == "status" and row.get("killed"):
        return f"{v} (killed)"
    return str(v)


def plain_table(rows: list[dict[str, Any]]) -> str:
    """Aligned plain-text table of ``rows``."""
    headers = [h for _, h in COLUMNS]
    body = [[cell(r, k) for k, _ in COLUMNS] for r in rows]
    widths = [max([len(h)] + [len(b[i]) for b in body]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)) for b in body]
    return "\n".join(line.rstrip() for line in lines)


def _rich_table(
    rows: list[dict[str, Any]], title: str | None = None, columns: tuple = COLUMNS
) -> Any:
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for key, header in columns:
        numeric = key in ("objective", "bound", "gap", "solve_seconds", "nodes", "repeat")
        if key == "message":
            table.add_column(header, no_wrap=True, overflow="ellipsis", max_width=_MESSAGE_WIDTH)
        elif key in ("target", "consistency"):
            table.add_column(header, overflow="fold")
        else:
            table.add_column(header, justify="right" if numeric else "left", no_wrap=True)
    for r in rows:
        style = None
        if str(r.get("consistency") or "").startswith(CONFLICT):
            style = "bold red"
        elif is_failed(r):
            style = "red"
        elif r.get("status") in ("unsupported", "unavailable", "license_limit"):
            style = "dim"
        table.add_row(*(cell(r, k) for k, _ in columns), style=style)
    return table


def print_table(
    rows: list[dict[str, Any]], conflicts: list[Conflict], stream: TextIO | None = None
) -> None:
    """Print the final table, then every contradiction loudly."""
    stream = stream or sys.stdout
    if _have_rich():
        from rich.console import Console

        is_tty = hasattr(stream, "isatty") and stream.isatty()
        width = _terminal_width() if is_tty else 400  # a file/pipe gets the whole table
        Console(file=stream, width=width).print(_rich_table(rows))
    else:
        print(plain_table(rows), file=stream)
    for c in conflicts:
        print(f"!!! {CONFLICT}: {c}  -- one of these solvers or formulations is wrong", file=stream)


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((160, 24)).columns


class ProgressDisplay:
    """Shows runs as they finish: ``rich`` live view on a terminal, else one line per run."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        is_tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.live_mode = (_have_rich() and is_tty) if live is None else live
        self.total = 0
        self.done = 0
        self.running: int | None = 1  # runs in parallel (--jobs; None: unknown, e.g. Dask)
        self.started = time.perf_counter()
        self.rows: list[dict[str, Any]] = []
        self._live: Any = None

    def start(self, todo: int, skipped: int) -> None:
        self.total = todo
        self.started = time.perf_counter()
        if skipped:
            print(
                f"resuming: {skipped} run(s) already in the output, {todo} to go", file=self.stream
            )
        if self.live_mode:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(
                console=Console(file=self.stream),
                refresh_per_second=4,
                get_renderable=self._render,  # called at every refresh: the elapsed time moves
            )
            self._live.start()
        else:
            print(f"running {todo} run(s)", file=self.stream, flush=True)

    def update(self, row: dict[str, Any]) -> None:
        self.done += 1
        self.rows.append(row)
        if self._live is not None:
            self._live.refresh()
            return
        print(
            f"[{self.done}/{self.total}] {row['target']} {row['solver']} {row['method']} "
            f"#{row['repeat']}: {cell(row, 'status')} objective {cell(row, 'objective')} "
            f"bound {cell(row, 'bound')} gap {cell(row, 'gap')} "
            f"({cell(row, 'solve_seconds')} s)"
            + (f" -- {cell(row, 'message')}" if row.get("message") else ""),
            file=self.stream,
            flush=True,
        )

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _render(self) -> Any:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.text import Text

        bar = ProgressBar(total=max(self.total, 1), completed=self.done, width=30)
        running = (
            "" if self.running is None else f"{min(self.running, self.total - self.done)} running, "
        )
        head = Text(
            f" {self.done}/{self.total} runs finished, {running}"
            f"{time.perf_counter() - self.started:.0f} s"
        )
        recent = self.rows[-15:]
        table = _rich_table(recent, title="latest runs", columns=LIVE_COLUMNS)
        return Group(bar, head, table if recent else Text(""))
