"""``dro-opt compare``: argument handling, live display, outputs and the exit code.

Exit codes: 0 every run answered (an ``unsupported``/``unavailable``/``license_limit`` row is an
answer: it says why); 3 some run failed (error, crash, numerical failure, or a hang killed at the
hard limit) or two runs contradict each other (disjoint proven intervals); 2 bad input, including
an output path (``--json``/``--csv``/``--plot``) that cannot be written or names a target file --
checked before the first run starts; 130 interrupted (Ctrl-C): the workers are killed, the rows
already finished stay in the ``--json``/``--csv`` files (each rewritten atomically after every
row, so ``--resume`` continues the sweep) and their table is printed (:mod:`dro_opt.interrupt`:
the stop callback unwinds the wait for the next row).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dro_opt import interrupt

EXIT_OK = 0
EXIT_FAILED = 3


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``compare`` flags (documented in ``dro-opt compare --help``)."""
    p.add_argument(
        "targets",
        nargs="+",
        metavar="TARGET",
        help="model files (.mps/.lp/.cbf) or instance specs "
        "'mc-flp:PATH.data?alpha=A&beta=B&budget=R&objective=erm|variance|chi2&rho=RHO' "
        "('mc-flp:default?budget=R' for the shipped instance; keys also clusters, strata, "
        "per_stratum, seed)",
    )
    p.add_argument(
        "--solvers",
        default="scip,highs,clarabel",
        help="comma-separated: scip,highs,gurobi,cplex,xpress,clarabel,mosek "
        "(default scip,highs,clarabel)",
    )
    p.add_argument(
        "--methods",
        help="for application targets: comma-separated misocp,oa (default: the model's own "
        "choice, shown as 'auto'); model files always run 'direct'",
    )
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds per run (default 60)")
    p.add_argument("--repeats", type=int, default=1, help="runs of each combination (default 1)")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel locally (default 1)")
    p.add_argument(
        "--dask", metavar="ADDRESS", help="run on an existing Dask scheduler, e.g. tcp://host:8786"
    )
    p.add_argument("--json", type=Path, metavar="OUT", help="rows as JSON (rewritten per row)")
    p.add_argument("--csv", type=Path, metavar="OUT", help="rows as CSV (rewritten per row)")
    p.add_argument(
        "--plot", type=Path, metavar="OUT", help="gap-over-time + performance profile: .png/.html"
    )
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no live display on a terminal: one line per finished run, as on a pipe",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="skip runs already in the --json/--csv file of an interrupted sweep",
    )


def run(args: argparse.Namespace) -> int:
    """Execute ``dro-opt compare``; returns the exit code."""
    from dro_opt.compare.runner import CompareConfig, kill_all_workers, run_compare
    from dro_opt.compare.table import ProgressDisplay, print_table
    from dro_opt.compare.targets import parse_methods, parse_targets
    from dro_opt.errors import ParameterError
    from dro_opt.io.paths import OutputPathError, check_output_path

    solvers = [s.strip().lower() for s in str(args.solvers).split(",") if s.strip()]
    solvers = list(dict.fromkeys(solvers))
    if args.plot is not None and args.plot.suffix.lower() not in (".png", ".html", ".htm"):
        raise ParameterError(f"--plot writes .png or .html, got {args.plot.name!r}")
    if args.dask is not None and args.jobs != 1:
        raise ParameterError("--jobs and --dask exclude each other: the cluster sets parallelism")
    if not (args.time_limit > 0):
        raise ParameterError(f"--time-limit must be > 0 seconds, got {args.time_limit}")
    targets = parse_targets(args.targets)
    # every output before the first run: a typo must not cost a whole comparison
    inputs = [t.path for t in targets if t.path is not None]
    outputs = [("--json", args.json), ("--csv", args.csv), ("--plot", args.plot)]
    for option, path in outputs:
        check_output_path(path, inputs=inputs, option=option)
    given = [(o, p) for o, p in outputs if p is not None]
    for i, (option, path) in enumerate(given):
        for other_option, other in given[:i]:
            if path.absolute() == other.absolute():
                raise OutputPathError(
                    f"{other_option} and {option} both name {path}; give each its own file"
                )
    config = CompareConfig(
        solvers=solvers,
        methods=parse_methods(args.methods),
        time_limit=args.time_limit,
        repeats=args.repeats,
        jobs=args.jobs,
    )
    display = ProgressDisplay(live=False if args.quiet else None)
    display.running = None if args.dask is not None else args.jobs
    finished: list[dict[str, Any]] = []

    def on_row(row: dict[str, Any]) -> None:
        finished.append(row)
        display.update(row)

    try:
        with interrupt.stopping(interrupt.raise_keyboard_interrupt):
            outcome = run_compare(
                targets,
                config,
                json_path=args.json,
                csv_path=args.csv,
                resume=args.resume,
                dask_address=args.dask,
                on_start=display.start,
                on_row=on_row,
            )
    except KeyboardInterrupt:
        kill_all_workers()
        display.stop()
        return _interrupted(finished, args)
    finally:
        display.stop()
    print_table(outcome.rows, outcome.conflicts)
    if outcome.conflicts:
        for c in outcome.conflicts:
            sys.stderr.write(f"dro-opt compare: CONFLICT: {c}\n")
    if args.plot is not None:
        from dro_opt.compare.plots import write_plot

        write_plot(outcome.rows, args.plot)
        print(f"wrote {args.plot}")
    return _exit_code(outcome)


def _interrupted(finished: list[dict[str, Any]], args: argparse.Namespace) -> int:
    """Ctrl-C: the finished rows' table, one line on stderr, exit 130."""
    from dro_opt.cli_common import EXIT_INTERRUPTED
    from dro_opt.compare.table import print_table

    if finished:
        print_table(finished, [])
    files = " and ".join(str(p) for p in (args.json, args.csv) if p is not None)
    where = f"; {files} hold(s) them (--resume continues)" if files else ""
    sys.stderr.write(f"dro-opt compare: interrupted after {len(finished)} finished run(s){where}\n")
    return EXIT_INTERRUPTED


def _exit_code(outcome: Any) -> int:
    failed = outcome.failed
    if failed:
        sys.stderr.write(
            f"dro-opt compare: {len(failed)} run(s) failed: "
            + "; ".join(f"{r['solver']} on {r['target']}: {r['status']}" for r in failed[:5])
            + ("; ..." if len(failed) > 5 else "")
            + "\n"
        )
    return EXIT_FAILED if failed or outcome.conflicts else EXIT_OK
