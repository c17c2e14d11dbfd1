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
   values with ``dro_opt.progress_line.publish(incumbent, bound)``, or wrap a solver run in
   ``with dro_opt.progress_line.solver_values(phase):`` to show the solver's own incumbent and
   bound as its callbacks report them (shown only on a terminal, off with ``--quiet``;
   :mod:`dro_opt.progress_line`);
6. argument checks: :func:`solve_options` checks the solver options, ``--seed`` and the
   reduction options (``--clusters`` / ``--strata`` / ``--per-stratum``) with
   :mod:`dro_opt.validate`, the same functions the library's ``solve_*`` functions call.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
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


#: The option names of the library arguments, for :mod:`dro_opt.validate`'s messages.
OPTION_NAMES = {
    "time_limit": "--time-limit",
    "gap": "--gap",
    "threads": "--threads",
    "seed": "--seed",
    "clusters": "--clusters",
    "strata": "--strata",
    "per_stratum": "--per-stratum",
}


def solve_options(args: argparse.Namespace) -> Any:
    """The solver options of ``args`` (:func:`add_solver_options`) as ``SolveOptions``, checked
    by :func:`dro_opt.validate.check_solve_arguments` (one message per mistake, as in the
    library) -- with ``--seed`` and the reduction options when the parser has them."""
    from dro_opt.solvers.base import SolveOptions
    from dro_opt.validate import check_reduction, check_solve_arguments

    check_solve_arguments(
        time_limit=args.time_limit, gap=args.gap, threads=args.threads, names=OPTION_NAMES
    )
    if hasattr(args, "seed"):
        check_solve_arguments(seed=args.seed, names=OPTION_NAMES)
    if hasattr(args, "clusters") or hasattr(args, "strata"):
        check_reduction(
            getattr(args, "clusters", None),
            getattr(args, "strata", None),
            getattr(args, "per_stratum", None),
            names=OPTION_NAMES,
        )
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


def add_objective_options(p: argparse.ArgumentParser, objective_help: str) -> None:
    """``--objective erm|variance|chi2`` (``objective_help`` says what each means for the model)
    and ``--rho`` (the radius; checked by :func:`check_objective_rho`)."""
    p.add_argument(
        "--objective", choices=("erm", "variance", "chi2"), default="erm", help=objective_help
    )
    p.add_argument(
        "--rho",
        type=float,
        default=0.0,
        help="robustness radius >= 0, for --objective variance or chi2 only (default 0)",
    )


def add_reduction_options(p: argparse.ArgumentParser, samples: str, seed_help: str) -> None:
    """``--clusters K`` | ``--strata S --per-stratum s`` (paper 003 Sec. 4: weighted k-means
    representatives or stratified sampling of the ``samples``) and ``--seed``."""
    red = p.add_mutually_exclusive_group()
    red.add_argument("--clusters", type=int, help=f"solve on K weighted k-means {samples}")
    red.add_argument("--strata", type=int, help="stratified sampling: number of strata")
    p.add_argument("--per-stratum", type=int, help=f"{samples} drawn per stratum (with --strata)")
    p.add_argument("--seed", type=int, default=0, help=f"{seed_help} (default 0)")


def check_objective_rho(args: argparse.Namespace) -> None:
    """``--rho``: a finite radius ``>= 0``, and only with ``--objective variance`` or ``chi2``
    (ERM has no radius: a ``--rho`` there would be ignored silently)."""
    from dro_opt.errors import ParameterError
    from dro_opt.validate import check_radius

    check_radius(args.rho, "--rho")
    if args.objective == "erm" and args.rho != 0:
        raise ParameterError(
            f"--rho {args.rho:g} only applies to --objective variance or chi2; drop --rho or "
            "choose --objective variance or chi2"
        )


def add_solver_options(p: argparse.ArgumentParser, gap: float = 1e-6) -> None:
    """The solver options; ``gap`` is the default of ``--gap`` (the route's library default)."""
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
    p.add_argument(
        "--gap",
        type=float,
        default=gap,
        help=f"relative gap target, >= 0: 'optimal' only when the certified gap is below it "
        f"(default {gap:g})",
    )
    p.add_argument("--threads", type=int, default=1, help="solver threads, >= 1 (default 1)")
    p.add_argument("--verbose", action="store_true", help="show the solver's log")
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no live progress line (it is shown only when stdout is a terminal)",
    )
    p.set_defaults(time_budget=True)  # --time-limit is the whole command's budget (dro_opt.cli)


# ------------------------------------------------------------------ summaries
#: What the summary adds after the status (the result is still the best certified one so far).
STATUS_NOTES = {
    "interrupted": " (Ctrl-C: the best certified result so far)",
    "time_limit": " (the budget of --time-limit ran out: the best certified result so far)",
}


def fmt(value: Any) -> str:
    """A value of the summary: ``n/a`` for None, 10 significant digits for floats."""
    if value is None:
        return "n/a"
    return f"{value:.10g}" if isinstance(value, float) else str(value)


def print_parameters(pairs: Sequence[tuple[str, Any]]) -> None:
    """``parameters: name value, ...`` (the ones given; None = not given, left out)."""
    shown = [f"{name} {fmt(value)}" for name, value in pairs if value is not None]
    print("parameters: " + ", ".join(shown))


def print_status(status: str) -> None:
    print(f"status: {status}{STATUS_NOTES.get(status, '')}")


def print_certificate(cert: dict[str, Any] | None, lower_means: str, upper_means: str) -> None:
    """``lower``/``upper``/``gap`` as the README names them (the certificate of the result)."""
    cert = cert or {}
    print(f"lower: {fmt(cert.get('lower'))}  ({lower_means})")
    print(f"upper: {fmt(cert.get('upper'))}  ({upper_means})")
    print(f"gap: {fmt(cert.get('gap'))}  ((upper - lower) / max(1, |lower|))")


def print_certificate_lines(cert: dict[str, Any] | None) -> None:
    """The certificate's lines (``--verbose``): each error term, marked when not rigorous."""
    for line in (cert or {}).get("lines", []):
        flag = "" if line.get("rigorous", True) else " (not rigorous)"
        note = f" -- {line['note']}" if line.get("note") else ""
        print(f"  certificate {line['name']}: {fmt(line['value'])}{flag}{note}")


def print_indexed(label: str, values: Sequence[float], digits: int = 4, tiny: float = 1e-8) -> None:
    """``label (1-based): 1: v1, 2: v2, ...``; above 30 entries only those with ``|v| > tiny``
    (and how many were left out)."""
    entries = list(enumerate(values, start=1))
    note = ""
    if len(entries) > 30:
        kept = [(i, v) for i, v in entries if abs(v) > tiny]
        note = f"; the other {len(entries) - len(kept)} are below {tiny:g}"
        entries = kept
    shown = ", ".join(f"{i}: {v:.{digits}g}" for i, v in entries) or "none"
    print(f"{label} (1-based{note}): {shown}")


def print_run_details(payload: dict[str, Any], verbose: bool, solver_values: bool = False) -> None:
    """The summary's last lines: method and solver, build and solve seconds; with ``--verbose``
    also the solver's own objective and bound (``solver_values``), the certificate's lines and
    the route's messages (solver details)."""
    print(f"method: {fmt(payload['method'])}, solver: {fmt(payload['solver'])}")
    print(
        f"time: build {payload['build_seconds'] or 0:.2f} s, "
        f"solve {payload['solve_seconds'] or 0:.2f} s"
    )
    if not verbose:
        return
    if solver_values:
        print(f"solver objective: {fmt(payload['objective'])}, bound: {fmt(payload['bound'])}")
    print_certificate_lines(payload["certificate"])
    if payload.get("message"):  # the routes' own words; "status=" there is a solver's status
        print(f"message (solver details): {payload['message']}")


def model_solve_arguments(
    args: argparse.Namespace, options: Any, default_gap: float
) -> dict[str, Any]:
    """The keyword arguments every model's ``solve_*`` function takes from the command line:
    solver, the time left of the command's budget (:func:`dro_opt.deadline.clip`), gap,
    reduction, seed, threads, verbose."""
    from dro_opt.deadline import clip

    return {
        "solver": args.solver,
        "time_limit": clip(options.time_limit),  # what is left of the command's budget
        "gap": options.gap if options.gap is not None else default_gap,
        "clusters": args.clusters,
        "strata": args.strata,
        "per_stratum": args.per_stratum,
        "seed": args.seed,
        "threads": options.threads or 1,
        "verbose": options.verbose,
    }
