"""One comparison run, in its own process: ``python -m dro_opt.compare.worker TASK.json OUT.json``.

The parent (:func:`dro_opt.compare.runner.execute_task`) starts this module once per
``(target, solver, method, repeat)`` and kills it at the hard wall-clock limit. Before importing
any solver the worker

* caps its address space (``RLIMIT_AS``, ``task["memory_mb"]``) so a memory blow-up ends in a
  ``MemoryError`` row (or a crash row) instead of taking the machine down;
* asks Linux to kill it when its parent dies (``PR_SET_PDEATHSIG``), so an interrupted sweep
  leaves no orphan solver behind;
* imports the plugin modules named in ``task["plugins"]`` (test doubles registered with
  :func:`dro_opt.solvers.registry.register_backend`).

:func:`run_task` itself never raises for a solver-side outcome: capability mismatches become
``unsupported`` rows, a missing package ``unavailable``, a size-limited licence ``license_limit``
(from the backend's Result), anything else ``error`` with the exception in ``message``.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dro_opt.compare.plugins import PARENT_ENV, load_plugins
from dro_opt.compare.records import NOT_RUN_STATUSES


# ------------------------------------------------------------------ the run
def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """Build the target's model, solve it with the task's solver, return the row."""
    from dro_opt.compare.records import new_row
    from dro_opt.errors import CapabilityError, DroOptError, SolverUnavailableError
    from dro_opt.solvers.registry import get_backend

    t0 = time.perf_counter()
    try:
        backend = get_backend(task["solver"])
    except DroOptError as exc:
        return new_row(task, status="error", message=str(exc))
    av = backend.availability()
    info = {"solver_version": av.version, "license": av.license}
    if not backend.is_installed():
        return new_row(
            task,
            status="unavailable",
            message=f"solver {task['solver']!r} is not installed "
            f"(pip install {backend.distribution or backend.module})",
            **info,
        )
    try:
        if task["target"]["kind"] == "model":
            row = _solve_model(task, backend)
        else:
            row = _solve_mcflp(task)
    except SolverUnavailableError as exc:
        row = {"status": "unavailable", "message": str(exc)}
    except CapabilityError as exc:
        row = {"status": "unsupported", "message": str(exc)}
    except MemoryError:
        row = {
            "status": "error",
            "message": f"out of memory: the run exceeded its limit of {task.get('memory_mb')} MiB "
            "(MemoryError); raise DRO_OPT_COMPARE_MEMORY_MB or use a smaller instance",
        }
    except DroOptError as exc:
        row = {"status": "error", "message": str(exc)}
    except Exception as exc:
        row = {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
    for k, v in info.items():
        if not row.get(k):
            row[k] = v
    row.setdefault("wall_seconds", time.perf_counter() - t0)
    return new_row(task, **row)


def _solve_model(task: dict[str, Any], backend: Any) -> dict[str, Any]:
    from dro_opt.compare.trajectory import parse_log
    from dro_opt.io.formats import read_model
    from dro_opt.solvers.base import SolveOptions

    t0 = time.perf_counter()
    problem = read_model(task["target"]["path"])
    read_seconds = time.perf_counter() - t0
    # a backend with a callback fills Result.extra["trajectory"]; one with only a log parser
    # gets its log captured and read
    use_log = backend.log_parser is not None and not backend.trajectory_callback
    options = SolveOptions(
        time_limit=task["time_limit"],
        gap=task.get("gap", 1e-6),
        threads=task.get("threads", 1),
        verbose=use_log,
        trajectory=True,
    )
    log_path = Path(task["scratch"]) / "solver.log" if use_log else None
    with _capture_stdout(log_path):
        result = backend.solve(problem, options)
    row = _row_from_result(result)
    row["problem_class"] = problem.problem_class()
    row["build_seconds"] = read_seconds
    if row["trajectory"]:
        row["trajectory_source"] = "callback"
    elif log_path is not None and log_path.is_file():
        row["trajectory"] = parse_log(backend, log_path.read_text(errors="replace"))
        row["trajectory_source"] = "log" if row["trajectory"] else None
    return _close_trajectory(row)


def _solve_mcflp(task: dict[str, Any]) -> dict[str, Any]:
    from dro_opt.errors import CapabilityError
    from dro_opt.models.facility_location.cli_support import load_instance
    from dro_opt.models.facility_location.solve import solve_mc_flp

    tgt = task["target"]
    params = dict(tgt["params"])
    if task["method"] == "oa" and params.get("objective") == "variance" and params.get("rho"):
        raise CapabilityError(
            "method 'oa' is exact only for the concave monotone objectives erm and chi2; "
            "objective variance needs method misocp"
        )
    t0 = time.perf_counter()
    path = None if tgt["path"] is None else Path(tgt["path"])
    instance = load_instance(path, params.get("alpha"), params.get("beta"))
    load_seconds = time.perf_counter() - t0
    result = solve_mc_flp(
        instance,
        params["budget"],
        params.get("objective", "erm"),
        params.get("rho", 0.0),
        method=task["method"],
        solver=task["solver"],
        time_limit=task["time_limit"],
        gap=task.get("gap", 1e-6),
        clusters=params.get("clusters"),
        strata=params.get("strata"),
        per_stratum=params.get("per_stratum"),
        seed=params.get("seed", 0),
        threads=task.get("threads", 1),
        trajectory=True,
    )
    row = _row_from_result(result)
    row["problem_class"] = f"MC-FLP {params.get('objective', 'erm')}"
    if row["status"] in NOT_RUN_STATUSES and result.objective is not None:
        # the solver never ran (licence, capability): solve_mc_flp still returns its own greedy
        # decision with its exact value, but that is not this solver's result -- keep it out
        row["message"] += (
            f" [no objective shown: {result.objective:.10g} is the value of dro_opt's greedy "
            "decision, not a result of this solver]"
        )
        row.update(objective=None, bound=None, gap=None, trajectory=[])
    row["build_seconds"] = (result.build_seconds or 0.0) + load_seconds
    # "certified" (OA: exact values, proven bounds) or "solver-reported" (MISOCP callback)
    row["trajectory_source"] = result.extra.get("trajectory_kind") if row["trajectory"] else None
    return _close_trajectory(row)


def _row_from_result(result: Any) -> dict[str, Any]:
    traj = result.extra.get("trajectory") or []
    return {
        "status": result.status.value,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "sense": result.sense,
        "solve_seconds": result.solve_seconds,
        "nodes": result.nodes,
        "solver_version": result.solver_version,
        "message": result.message or "",
        "method_used": result.extra.get("method"),
        "trajectory": [list(p) for p in traj],
    }


def _close_trajectory(row: dict[str, Any]) -> dict[str, Any]:
    """Append the final ``(solve_seconds, objective, bound)`` when the run has one."""
    obj, bnd = row.get("objective"), row.get("bound")
    if obj is None and bnd is None:
        return row
    traj = row["trajectory"]
    t = max(float(row.get("solve_seconds") or 0.0), traj[-1][0] if traj else 0.0)
    if not traj or traj[-1][1:] != [obj, bnd]:
        traj.append([t, obj, bnd])
        row["trajectory_source"] = row.get("trajectory_source") or "final"
    return row


@contextlib.contextmanager
def _capture_stdout(path: Path | None) -> Iterator[None]:
    """Send file descriptor 1 (where C solvers write their logs) to ``path`` while solving."""
    if path is None:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.close(fd)
    try:
        yield
    finally:
        sys.stdout.flush()
        with contextlib.suppress(Exception):
            ctypes.CDLL(None).fflush(None)
        os.dup2(saved, 1)
        os.close(saved)


# ------------------------------------------------------------------ process
def _limit_resources(memory_mb: int | None) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        parent = os.environ.get(PARENT_ENV)
        if parent and os.getppid() != int(parent):
            os._exit(1)  # the parent died before the death signal was armed
    if memory_mb:
        import resource

        limit = int(memory_mb) * 2**20
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        sys.stderr.write("usage: python -m dro_opt.compare.worker TASK.json OUT.json\n")
        return 2
    task = json.loads(Path(args[0]).read_text())
    _limit_resources(task.get("memory_mb"))
    load_plugins(task.get("plugins"))
    row = run_task(task)
    from dro_opt.compare.records import clean_row
    from dro_opt.io.atomic import atomic_write_text

    atomic_write_text(args[1], json.dumps(clean_row(row), allow_nan=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
