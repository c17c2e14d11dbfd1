"""``--dask ADDRESS``: send the same runs to an existing Dask distributed cluster.

Each task is :func:`dro_opt.compare.runner.execute_task` (handed in by the runner) -- exactly
what ``--jobs`` runs locally --
so on a Dask worker every solve is still isolated in its own worker process with the hard
wall-clock limit, and a crashing solver never takes the Dask worker down. Rows come back as they
finish (``distributed.as_completed``) and are streamed to the JSON/CSV like local rows. The cluster
needs dro_opt installed on its workers (and the solvers it should run).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dro_opt.compare.records import new_row
from dro_opt.errors import ParameterError


def run_on_dask(
    address: str,
    tasks: list[dict[str, Any]],
    land: Callable[[dict[str, Any]], None],
    execute: Callable[[dict[str, Any]], dict[str, Any]],
    key: Callable[[dict[str, Any]], tuple[str, str, str, int]],
    connect_timeout: float = 30.0,
) -> None:
    """Run ``execute(task)`` for every task on the scheduler at ``address``; ``land`` each row
    as it completes. ``key(task)`` names the task (the runner passes its own
    ``execute_task`` and ``task_key``, so this module does not import the runner)."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ParameterError(
            "--dask needs dask.distributed: pip install 'dask[distributed]' "
            "(or pip install 'dro-opt[compare]')"
        ) from None
    try:
        client = Client(address, timeout=connect_timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ParameterError(
            f"--dask: cannot connect to a Dask scheduler at {address!r} ({exc}); start one with "
            "'dask scheduler' and 'dask worker ADDRESS', or drop --dask to run locally"
        ) from None
    try:
        if not tasks:
            return
        keys = [_dask_key(key(t)) for t in tasks]
        futures = client.map(execute, tasks, key=keys, pure=False, retries=0)
        by_key = {f.key: t for f, t in zip(futures, tasks, strict=True)}
        for fut in as_completed(futures, loop=client.loop):
            task = by_key[fut.key]
            try:
                row = fut.result()
            except Exception as exc:  # the Dask worker itself died or lost the task
                row = new_row(
                    task,
                    status="error",
                    message=f"dask: the task failed on the cluster: {type(exc).__name__}: {exc}",
                )
            land(row)
    finally:
        client.close()


def _dask_key(key: tuple[str, str, str, int]) -> str:
    import uuid

    _target, solver, method, repeat = key
    return f"dro-opt-compare-{solver}-{method}-{repeat}-{uuid.uuid4().hex[:12]}"
