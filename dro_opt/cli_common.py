"""What every ``dro-opt`` subcommand shares: exit codes, the solver options, status -> exit code.

Public so that model packages (``dro_opt.models.*.cli_support``) can define their own
``dro-opt solve MODEL`` / ``dro-opt generate MODEL`` subcommands without importing the private
parts of :mod:`dro_opt.cli` (which imports them, never the other way round).
"""

from __future__ import annotations

import argparse
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


def status_exit_code(status: Any) -> int:
    from dro_opt.solvers.status import Status

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


def add_solver_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--solver",
        help="scip, highs, clarabel, gurobi, mosek, cplex or xpress "
        "(default: chosen from the model's needs)",
    )
    p.add_argument(
        "--time-limit", type=float, default=None, help="seconds, > 0 (default: no limit)"
    )
    p.add_argument("--gap", type=float, default=1e-6, help="relative gap tolerance (default 1e-6)")
    p.add_argument("--threads", type=int, default=1, help="solver threads, >= 1 (default 1)")
    p.add_argument("--verbose", action="store_true", help="show the solver's log")
