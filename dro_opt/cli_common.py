"""What every ``dro-opt`` subcommand shares: exit codes, the solver options, status -> exit code.

Public so that model packages (``dro_opt.models.*.cli_support``) can define their own
``dro-opt solve MODEL`` / ``dro-opt generate MODEL`` subcommands without importing the private
parts of :mod:`dro_opt.cli` (which imports them, never the other way round).

A model subcommand gets Ctrl-C, the time budget and the progress line like the built-in ones:

1. ``add_solver_options(parser)`` -- the options, and ``--time-limit`` becomes the budget of the
   whole command (:mod:`dro_opt.deadline`; ``dro-opt`` opens it before calling ``func``);
2. ``options = solve_options(args)``; give the solver ``dro_opt.deadline.clip(options.time_limit)``
   (the time really left) and run optional phases only while ``not dro_opt.deadline.expired()``;
3. Ctrl-C is already handled (:mod:`dro_opt.interrupt`): backends stop and report
   ``Status.INTERRUPTED``; a route's own loops check ``dro_opt.interrupt.requested()``;
4. ``status = command_status(result.status)`` (``interrupted`` after Ctrl-C), write the JSON,
   ``return status_exit_code(status)`` (130 after Ctrl-C);
5. live progress: run the solve inside ``with progress_line(args):`` and publish the best proven
   values with ``dro_opt.progress_line.publish(incumbent, bound)`` (shown only on a terminal,
   off with ``--quiet``; :mod:`dro_opt.progress_line`).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_SOLVER = 3
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130

EXIT_CODES_EPILOG = """exit codes:
  0    the solver answered (optimal, feasible, time limit, infeasible, unbounded)
  2    bad input: model/instance file, parameter, output path, unknown solver, capability
       (one line on stderr, before any work is done)
  3    the solver could not answer (licence limit, numerical or solver error) /
       a comparison failed or two runs contradict each other
  130  interrupted (Ctrl-C)
  70   internal error (a bug; set DRO_OPT_DEBUG=1 for the traceback)"""


def command_status(status: Any) -> Any:
    """``Status.INTERRUPTED`` once Ctrl-C was pressed during the command, else ``status``."""
    from dro_opt import interrupt
    from dro_opt.solvers.status import Status

    return Status.INTERRUPTED if interrupt.requested() else status


def status_exit_code(status: Any) -> int:
    """0 the solver answered, 130 interrupted (Ctrl-C), 3 it could not answer."""
    from dro_opt.solvers.status import Status

    if status is Status.INTERRUPTED:
        return EXIT_INTERRUPTED

    answered = {
        Status.OPTIMAL,
        Status.FEASIBLE,
        Status.TIME_LIMIT,
        Status.ITERATION_LIMIT,
        Status.NODE_LIMIT,
        Status.INFEASIBLE,
        Status.UNBOUNDED,
        Status.INFEASIBLE_OR_UNBOUNDED,
    }
    return EXIT_OK if status in answered else EXIT_SOLVER


def solve_options(args: argparse.Namespace) -> Any:
    from dro_opt.errors import ParameterError
    from dro_opt.solvers.base import SolveOptions

    if args.time_limit is not None and not (args.time_limit > 0):
        raise ParameterError(f"--time-limit must be > 0 seconds, got {args.time_limit}")
    if args.gap is not None and not (args.gap >= 0):
        raise ParameterError(f"--gap must be >= 0, got {args.gap}")
    if args.threads is not None and args.threads < 1:
        raise ParameterError(f"--threads must be >= 1 (1 = one thread), got {args.threads}")
    return SolveOptions(
        time_limit=args.time_limit, gap=args.gap, threads=args.threads, verbose=args.verbose
    )


@contextmanager
def progress_line(args: argparse.Namespace) -> Iterator[Any]:
    """The live progress line (:class:`dro_opt.progress_line.ProgressLine`) around a solve, or
    ``None`` when stdout is not a terminal, with ``--quiet`` or with ``--verbose`` (the solver's
    own log is the progress then)."""
    from dro_opt.progress_line import ProgressLine, wanted

    if getattr(args, "verbose", False) or not wanted(bool(getattr(args, "quiet", False))):
        yield None
        return
    with ProgressLine().running() as line:
        yield line


def add_solver_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--solver",
        help="scip, highs, clarabel, gurobi, mosek, cplex or xpress "
        "(default: chosen from the model's needs)",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="seconds, > 0, for the whole command: reading, every solve phase and the "
        "certificate (default: no limit)",
    )
    p.add_argument("--gap", type=float, default=1e-6, help="relative gap tolerance (default 1e-6)")
    p.add_argument("--threads", type=int, default=1, help="solver threads, >= 1 (default 1)")
    p.add_argument("--verbose", action="store_true", help="show the solver's log")
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no live progress line (it is shown only when stdout is a terminal)",
    )
    p.set_defaults(time_budget=True)  # --time-limit is the whole command's budget (dro_opt.cli)
