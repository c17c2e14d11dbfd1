"""The ``dro-opt`` command.

Subcommands::

    dro-opt solvers [--json]                          table of the seven backends
    dro-opt solve-file MODEL.{mps,lp,cbf} [...]       solve any model file
    dro-opt convert IN OUT                            convert between .mps/.lp/.cbf (by suffix)
    dro-opt solve mc-flp [INSTANCE] --budget R [...]  robust max-capture facility location
    dro-opt compare TARGETS... --solvers S,... [...]  compare solvers' gaps side by side

Exit codes: 0 the solver ran and answered (optimal, feasible, time limit, infeasible, unbounded);
2 bad input (file, parameters, output path, unknown solver, capability mismatch) -- one line on
stderr, before any work is done; 3 the solver could not answer (licence limit, numerical error,
solver error, unknown) or a comparison failed; 130 interrupted; 70 an internal error (a bug: set
DRO_OPT_DEBUG=1 for the traceback).

Output paths (``--json``, ``--csv``, ``--plot``, ``--export``, ``convert``'s OUT) are checked
before any work (:func:`dro_opt.io.paths.check_output_path`). When stdout is closed early
(``dro-opt ... | head -1``) the command still finishes its work and writes its files
(:class:`dro_opt.io.paths.SafeStdout`).

Every subcommand runs under :func:`dro_opt.interrupt.handle_sigint` (Ctrl-C: status
``interrupted``, the best certified result so far written, exit 130) and, when its parser has the
solver options, under :func:`dro_opt.deadline.command_deadline` (``--time-limit`` is the budget
of the whole command, counted from the start of the process).

On a terminal every solve route (``solve-file``, ``solve mc-flp``, ``solve ssg``, ``solve
mc-fcp``) shows a live progress line -- elapsed, incumbent, bound, gap -- after a second
(:mod:`dro_opt.progress_line`; ``--quiet`` turns it off, never on a pipe), and ``compare`` a
summary line (runs finished, running, seconds; ``--quiet``: one line per finished run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from dro_opt.cli_common import (
    EXIT_CODES_EPILOG,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    add_objective_options,
    add_reduction_options,
    add_solver_options,
    command_status,
    progress_line,
    solve_options,
    status_exit_code,
)
from dro_opt.errors import DroOptError


class _OneLineParser(argparse.ArgumentParser):
    """argparse prints usage + error on two lines; the contract is one line on stderr.

    Every parser shows the exit codes at the end of its ``--help``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("epilog", EXIT_CODES_EPILOG)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(EXIT_USAGE)


# ------------------------------------------------------------------ solvers
def _cmd_solvers(args: argparse.Namespace) -> int:
    from dro_opt.solvers.base import ALL_FEATURES
    from dro_opt.solvers.registry import SOLVER_NAMES, get_backend

    rows = []
    for name in SOLVER_NAMES:
        backend = get_backend(name)
        av = backend.availability()
        rows.append(
            {
                "name": name,
                "available": av.installed,
                "version": av.version,
                "open_source": backend.open_source,
                "license": av.license,
                "license_limit": av.license_limit,
                "capabilities": [f for f in ALL_FEATURES if f in backend.features],
            }
        )
    if args.json:
        print(json.dumps({"solvers": rows}, indent=2))
        return EXIT_OK
    header = f"{'solver':<9} {'available':<9} {'version':<11} {'capabilities':<44} licence"
    print(header)
    print("-" * len(header))
    for r in rows:
        caps = ",".join(
            ["lp", "milp" if "integer" in r["capabilities"] else ""]
            + [c for c in r["capabilities"] if c != "integer"]
        )
        caps = ",".join(c for c in caps.split(",") if c)
        print(
            f"{r['name']:<9} {'yes' if r['available'] else 'no':<9} {r['version'] or '-':<11} "
            f"{caps:<44} {r['license']}"
        )
    return EXIT_OK


# --------------------------------------------------------------- solve-file
def _cmd_solve_file(args: argparse.Namespace) -> int:
    from dro_opt.deadline import clip
    from dro_opt.io.formats import read_model
    from dro_opt.io.paths import check_output_path
    from dro_opt.progress_line import solver_values
    from dro_opt.solvers.registry import default_solver, get_backend
    from dro_opt.solvers.result import write_json_atomic

    options = solve_options(args)
    check_output_path(args.json, inputs=[args.model], option="--json")
    t0 = time.perf_counter()
    problem = read_model(args.model)
    read_seconds = time.perf_counter() - t0
    backend = get_backend(args.solver or default_solver(problem))
    options.time_limit = clip(options.time_limit)  # reading the file used part of the budget
    with progress_line(args), solver_values(phase=backend.name):
        result = backend.solve(problem, options)
    result.status = command_status(result.status)
    result.extra.setdefault("read_seconds", read_seconds)
    result.extra.setdefault("model", str(args.model))
    result.extra.setdefault("problem_class", problem.problem_class())
    print(
        f"model: {args.model} ({problem.problem_class()}, {problem.n} variables, "
        f"{problem.m} rows, {problem.A.nnz} non-zeros)"
    )
    print(result.summary())
    if args.json:
        write_json_atomic(args.json, result.to_dict())
    return status_exit_code(result.status)


# ------------------------------------------------------------------ convert
def _cmd_convert(args: argparse.Namespace) -> int:
    from dro_opt.io.formats import convert
    from dro_opt.io.paths import check_output_path

    check_output_path(args.output, inputs=[args.input])
    problem = convert(args.input, args.output)
    print(
        f"wrote {args.output} ({problem.problem_class()}, {problem.n} variables, {problem.m} rows)"
    )
    return EXIT_OK


# ------------------------------------------------------------- solve mc-flp
def _cmd_solve_mcflp(args: argparse.Namespace) -> int:
    from dro_opt.models.facility_location.cli_support import run_mc_flp

    return run_mc_flp(args)


# ------------------------------------------------------------------ compare
def _cmd_compare(args: argparse.Namespace) -> int:
    from dro_opt.compare.command import run

    return run(args)


#: Model packages that add ``dro-opt solve MODEL`` / ``dro-opt generate MODEL`` subcommands.
#: Each defines ``register(solve_models, generate_models)``: it adds its parsers to the two
#: argparse sub-parser collections and sets ``func`` (``args -> exit code``) on each.
MODEL_CLI_MODULES = (
    "dro_opt.models.security_game.cli_support",
    "dro_opt.models.facility_cost.cli_support",
)


def _register_model_commands(solve_models: Any, generate_models: Any) -> None:
    import importlib

    for name in MODEL_CLI_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # that model package is not part of this build
            if exc.name is not None and name.startswith(exc.name):
                continue
            raise
        module.register(solve_models, generate_models)


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="dro-opt",
        description="Distributionally robust optimisation with certified optimality gaps.",
    )
    from dro_opt import __version__

    parser.add_argument("--version", action="version", version=f"dro-opt {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=_OneLineParser, metavar="COMMAND"
    )

    p = sub.add_parser("solvers", help="list solver backends, availability, licences, capabilities")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_cmd_solvers)

    p = sub.add_parser("solve-file", help="solve a .mps/.lp/.cbf model file")
    p.add_argument("model", type=Path, help="the model file (.mps, .lp or .cbf, optionally .gz)")
    add_solver_options(p)
    p.add_argument("--json", type=Path, metavar="OUT", help="write the result as JSON")
    p.set_defaults(func=_cmd_solve_file)

    p = sub.add_parser("convert", help="convert a model file; formats by suffix (.mps/.lp/.cbf)")
    p.add_argument("input", type=Path, help="the model file to read")
    p.add_argument(
        "output", type=Path, help="the file to write (its directory must exist; not the input)"
    )
    p.set_defaults(func=_cmd_convert)

    p = sub.add_parser("solve", help="build and solve an application model")
    models = p.add_subparsers(
        dest="model", required=True, parser_class=_OneLineParser, metavar="MODEL"
    )
    m = models.add_parser("mc-flp", help="robust max-capture facility location (paper 003)")
    m.add_argument(
        "instance",
        nargs="?",
        type=Path,
        help="HM14 .data, .npz or .json instance (default: the shipped instance)",
    )
    m.add_argument("--alpha", type=float, help="competitor aversion (HM14 .data files)")
    m.add_argument("--beta", type=float, help="distance aversion (HM14 .data files)")
    m.add_argument("--budget", type=int, required=True, help="number of facilities r")
    add_objective_options(
        m,
        "erm: expected capture (sum of weighted capture probabilities); variance: mean "
        "minus sqrt(2 rho Var / n) (paper 003 VR); chi2: worst case over a chi-square ball "
        "of radius rho (default erm)",
    )
    m.add_argument(
        "--method",
        choices=("auto", "oa", "misocp"),
        default="auto",
        help="oa: exact outer approximation (erm, chi2); misocp: the paper's MISOCP on "
        "--solver; auto: oa for erm/chi2, for variance the chi-square bound first and the "
        "MISOCP only if needed (default auto)",
    )
    add_reduction_options(m, "customers", "random seed of --clusters/--strata")
    add_solver_options(m)
    m.add_argument("--json", type=Path, metavar="OUT", help="write the result as JSON")
    m.add_argument(
        "--export",
        type=Path,
        metavar="MODEL",
        help="also write the paper's MISOCP as .lp/.mps/.cbf",
    )
    m.set_defaults(func=_cmd_solve_mcflp)

    generate = sub.add_parser("generate", help="write a generated application instance")
    generators = generate.add_subparsers(
        dest="model", required=True, parser_class=_OneLineParser, metavar="MODEL"
    )
    _register_model_commands(models, generators)

    from dro_opt.compare.command import add_arguments as _compare_arguments

    p = sub.add_parser(
        "compare", help="compare solvers/methods on model files and instances (one process per run)"
    )
    _compare_arguments(p)
    p.set_defaults(func=_cmd_compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from dro_opt.io.paths import SafeStdout

    start = time.perf_counter() - _process_age()  # --time-limit counts from the process start
    original = sys.stdout
    safe = SafeStdout(original)
    sys.stdout = safe  # type: ignore[assignment]  # `| head -1`: finish the work regardless
    try:
        code = _main(argv, start)
        safe.flush()
        return code
    finally:
        sys.stdout = original


def _main(argv: Sequence[str] | None, start: float) -> int:
    from dro_opt.deadline import command_deadline
    from dro_opt.interrupt import handle_sigint

    try:
        with handle_sigint():  # already while the model packages' parsers are imported
            parser = build_parser()
            args = parser.parse_args(argv)
            budget = (
                getattr(args, "time_limit", None) if getattr(args, "time_budget", False) else None
            )
            with command_deadline(_positive_or_none(budget), start):
                return int(args.func(args))
    except DroOptError as exc:
        sys.stderr.write(f"dro-opt: error: {_one_line(str(exc))}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("dro-opt: interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: still one line unless debugging
        if os.environ.get("DRO_OPT_DEBUG"):
            raise
        sys.stderr.write(
            f"dro-opt: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
            "(set DRO_OPT_DEBUG=1 for the traceback)\n"
        )
        return EXIT_INTERNAL


def _process_age() -> float:
    """Seconds since this process started (interpreter start-up and imports count towards
    ``--time-limit``); 0 where ``/proc`` is unavailable."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start time in ticks
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


def _positive_or_none(seconds: Any) -> float | None:
    """The budget to open (a bad ``--time-limit`` is refused later, with its own message)."""
    return float(seconds) if isinstance(seconds, int | float) and seconds > 0 else None


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
