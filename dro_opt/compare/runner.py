"""Run every (target, solver, method, repeat) in its own process under a hard wall-clock limit.

:func:`execute_task` is the unit of work for both back ends -- ``--jobs J`` runs it in J local
threads, ``--dask ADDRESS`` sends it to a Dask cluster (:mod:`dro_opt.compare.dask_backend`) -- and
it always isolates the solve in a fresh worker process (:mod:`dro_opt.compare.worker`):

* hard limit = time limit + grace (``DRO_OPT_COMPARE_GRACE`` seconds, default ``10 + T / 4``): a
  solver that ignores its time limit is killed (the whole process group) and its row is
  ``time_limit`` with ``killed = true``, which counts as a failed run;
* a worker that dies (segfault, abort, ``os._exit``) gives a ``crashed`` row naming the signal or
  exit code and the tail of its stderr;
* the address space of each worker is capped (``DRO_OPT_COMPARE_MEMORY_MB``, default 8192).

:func:`run_compare` plans the runs, skips rows already present (``--resume``), streams each finished
row to the JSON/CSV files and re-checks consistency after every row.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dro_opt.compare import consistency
from dro_opt.compare.plugins import PARENT_ENV, load_plugins, plugins_from_env
from dro_opt.compare.records import RecordWriter, is_failed, new_row, read_rows, run_key
from dro_opt.compare.targets import Target
from dro_opt.errors import ParameterError

GRACE_ENV = "DRO_OPT_COMPARE_GRACE"
MEMORY_ENV = "DRO_OPT_COMPARE_MEMORY_MB"
DEFAULT_MEMORY_MB = 8192
_STDERR_TAIL = 600

# The worker's first statements, before importing dro_opt (numpy/scipy take ~1 s): ask Linux to
# SIGKILL it when its parent dies, and leave at once if the parent died already.
_BOOTSTRAP = f"""
import ctypes, os, sys
if sys.platform.startswith("linux"):
    try:
        ctypes.CDLL(None).prctl(1, {int(signal.SIGKILL)})  # PR_SET_PDEATHSIG
    except Exception:
        pass
    if os.getppid() != int(os.environ["{PARENT_ENV}"]):
        os._exit(1)
from dro_opt.compare.worker import main
sys.exit(main(sys.argv[1:]))
"""

_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()


@dataclass
class CompareConfig:
    """What to run on every target (see ``dro-opt compare --help``)."""

    solvers: Sequence[str]
    methods: Sequence[str] | None = None
    time_limit: float = 60.0
    repeats: int = 1
    jobs: int = 1
    gap: float = 1e-6
    threads: int = 1
    grace: float | None = None
    memory_mb: int | None = None
    plugins: list[str] = field(default_factory=plugins_from_env)

    def hard_limit(self) -> float:
        return self.time_limit + self.grace_seconds()

    def grace_seconds(self) -> float:
        if self.grace is not None:
            return float(self.grace)
        env = os.environ.get(GRACE_ENV)
        return float(env) if env else 10.0 + 0.25 * self.time_limit

    def memory(self) -> int:
        if self.memory_mb is not None:
            return int(self.memory_mb)
        env = os.environ.get(MEMORY_ENV)
        return int(env) if env else DEFAULT_MEMORY_MB


@dataclass
class CompareOutcome:
    """All rows (resumed and new), the contradicting pairs and the failed rows."""

    rows: list[dict[str, Any]]
    conflicts: list[consistency.Conflict]
    skipped: int

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if is_failed(r)]


def plan_tasks(targets: Sequence[Target], config: CompareConfig) -> list[dict[str, Any]]:
    """One task per (target, solver, method, repeat), in a stable order."""
    if config.time_limit is None or not (config.time_limit > 0):
        raise ParameterError(f"--time-limit must be > 0 seconds, got {config.time_limit}")
    if config.repeats < 1:
        raise ParameterError(f"--repeats must be >= 1, got {config.repeats}")
    tasks = []
    for target in targets:
        for method in target.methods(config.methods):
            for solver in config.solvers:
                for repeat in range(1, config.repeats + 1):
                    tasks.append(
                        {
                            "target": target.payload(),
                            "solver": solver,
                            "method": method,
                            "repeat": repeat,
                            "time_limit": float(config.time_limit),
                            "hard_limit": config.hard_limit(),
                            "gap": config.gap,
                            "threads": config.threads,
                            "memory_mb": config.memory(),
                            "plugins": list(config.plugins),
                        }
                    )
    return tasks


def task_key(task: dict[str, Any]) -> tuple[str, str, str, int]:
    return (task["target"]["spec"], task["solver"], task["method"], int(task["repeat"]))


# ------------------------------------------------------------------ one run
def execute_task(task: dict[str, Any]) -> dict[str, Any]:
    """Run ``task`` in a fresh worker process; always returns a row, never raises."""
    t0 = time.perf_counter()
    try:
        row = _execute(task)
    except Exception as exc:  # the isolation layer itself failed (e.g. cannot spawn)
        row = new_row(task, status="error", message=f"runner: {type(exc).__name__}: {exc}")
    row["wall_seconds"] = time.perf_counter() - t0
    return row


def _execute(task: dict[str, Any]) -> dict[str, Any]:
    from dro_opt.errors import DroOptError
    from dro_opt.solvers.registry import get_backend

    load_plugins(task.get("plugins"))
    try:
        backend = get_backend(task["solver"])
    except DroOptError as exc:
        return new_row(task, status="error", message=str(exc))
    if not backend.is_installed():  # no process needed to say so
        return new_row(
            task,
            status="unavailable",
            license=backend.availability().license,
            message=f"solver {task['solver']!r} is not installed "
            f"(pip install {backend.distribution or backend.module})",
        )
    with tempfile.TemporaryDirectory(prefix="dro-opt-compare-") as tmp:
        scratch = Path(tmp)
        task_file, out_file = scratch / "task.json", scratch / "row.json"
        task_file.write_text(json.dumps({**task, "scratch": tmp}))
        env = dict(os.environ)
        env.update(
            {
                PARENT_ENV: str(os.getpid()),
                "OMP_NUM_THREADS": "1",
                "OPENBLAS_NUM_THREADS": "1",
                "MKL_NUM_THREADS": "1",
            }
        )
        with (scratch / "stdout.txt").open("wb") as out, (scratch / "stderr.txt").open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP, str(task_file), str(out_file)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                start_new_session=True,
            )
            with _LIVE_LOCK:
                _LIVE.add(proc)
            try:
                rc = proc.wait(timeout=task["hard_limit"])
                killed = False
            except subprocess.TimeoutExpired:
                _kill(proc)
                rc, killed = proc.wait(), True
            finally:
                with _LIVE_LOCK:
                    _LIVE.discard(proc)
        stderr_tail = _tail(scratch / "stderr.txt")
        if killed:
            return new_row(
                task,
                status="time_limit",
                killed=True,
                message=f"killed at the hard wall-clock limit of {task['hard_limit']:.4g} s "
                f"(time limit {task['time_limit']:.4g} s + grace): the solver did not stop",
            )
        if out_file.is_file():
            return json.loads(out_file.read_text())
        return new_row(task, status="crashed", message=_crash_message(rc, stderr_tail, task))


def _crash_message(rc: int, stderr_tail: str, task: dict[str, Any]) -> str:
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        what = f"worker process died from {name}"
    else:
        what = f"worker process exited with code {rc} without a result"
    if any(s in stderr_tail for s in ("MemoryError", "bad_alloc", "Cannot allocate memory")):
        what += f" (out of memory: the per-run limit is {task.get('memory_mb')} MiB)"
    return what + (f"; stderr: {stderr_tail}" if stderr_tail else "")


def _tail(path: Path) -> str:
    try:
        data = path.read_bytes()[-_STDERR_TAIL:]
    except OSError:
        return ""
    return " ".join(data.decode(errors="replace").split())


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


def kill_all_workers() -> None:
    """Kill every worker process this process started (used on Ctrl-C)."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for proc in live:
        _kill(proc)


# ------------------------------------------------------------------ sweep
def run_compare(
    targets: Sequence[Target],
    config: CompareConfig,
    *,
    json_path: Path | None = None,
    csv_path: Path | None = None,
    resume: bool = False,
    dask_address: str | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> CompareOutcome:
    """Run the comparison; every finished row is written before the next one is awaited.

    Parameters
    ----------
    on_start : called with ``(runs to do, runs skipped)`` before the first run starts.
    on_row : called with each finished row (after it has been written).
    """
    load_plugins(config.plugins)
    _check_solvers(config.solvers)
    if resume and json_path is None and csv_path is None:
        raise ParameterError("--resume needs --json or --csv: the file of the interrupted sweep")
    if config.jobs < 1:
        raise ParameterError(f"--jobs must be >= 1, got {config.jobs}")
    tasks = plan_tasks(targets, config)
    previous = read_rows(json_path, csv_path) if resume else []
    writer = RecordWriter(json_path, csv_path, previous, annotate=consistency.annotate)
    todo = [t for t in tasks if task_key(t) not in writer]
    if on_start is not None:
        on_start(len(todo), len(tasks) - len(todo))
    writer.flush()

    def land(row: dict[str, Any]) -> None:
        writer.add(row)
        if on_row is not None:
            on_row(row)

    if dask_address is not None:
        from dro_opt.compare.dask_backend import run_on_dask

        run_on_dask(dask_address, todo, land, execute=execute_task, key=task_key)
    else:
        _run_local(todo, config.jobs, land)
    order = {task_key(t): i for i, t in enumerate(tasks)}
    writer.rows.sort(key=lambda r: order.get(run_key(r), len(order)))
    writer.flush()
    conflicts = consistency.annotate(writer.rows)
    return CompareOutcome(writer.rows, conflicts, len(tasks) - len(todo))


def _run_local(
    tasks: list[dict[str, Any]], jobs: int, land: Callable[[dict[str, Any]], None]
) -> None:
    if not tasks:
        return
    pool = ThreadPoolExecutor(max_workers=min(jobs, len(tasks)), thread_name_prefix="compare")
    pending = {pool.submit(execute_task, t) for t in tasks}
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                land(fut.result())
    except BaseException:
        for fut in pending:
            fut.cancel()
        kill_all_workers()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _check_solvers(solvers: Sequence[str]) -> None:
    from dro_opt.solvers.registry import get_backend

    if not solvers:
        raise ParameterError("--solvers needs at least one solver name")
    for name in solvers:
        get_backend(name)  # UnknownSolverError (exit 2) names the known solvers
