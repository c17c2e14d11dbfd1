"""``dro-opt solve ssg`` and ``dro-opt generate ssg`` (registered by :func:`register`).

``dro-opt solve ssg INSTANCE.json --objective erm|variance|chi2 --rho RHO --pieces K|auto
--json OUT.json [--pwla-mode adaptive|curvature|restriction] [--method misocp|spatial|pga|tt-gad]
[--clusters K | --strata S --per-stratum s]
[solver options]``; ``dro-opt generate ssg --targets M --types N --seed S OUT.json``.
Bad input exits with code 2 and one line on stderr before any work.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dro_opt.cli_common import (
    add_objective_options,
    add_reduction_options,
    add_solver_options,
    check_objective_rho,
    command_status,
    model_solve_arguments,
    progress_line,
    solve_options,
    status_exit_code,
)
from dro_opt.errors import ParameterError


def register(solve_models: Any, generate_models: Any) -> None:
    """Add the ``ssg`` parsers to the ``solve`` and ``generate`` sub-parser collections."""
    m = solve_models.add_parser(
        "ssg", help="Bayesian security game with quantal response, PWLA MISOCP (paper 003)"
    )
    m.add_argument("instance", type=Path, help="SSG instance JSON (dro-opt generate ssg)")
    add_objective_options(
        m,
        "erm: mean defender utility; variance: mean - sqrt(2 rho Var / n); chi2: worst "
        "case over the chi-square ball of radius rho / n (default erm)",
    )
    m.add_argument(
        "--pieces",
        default="8",
        help="PWLA cells per target K >= 1, or 'auto' (refine until the PWLA certificate line "
        "is below the requested --gap, K <= --max-pieces) (default 8)",
    )
    m.add_argument(
        "--max-pieces", type=int, default=64, help="largest K for --pieces auto (default 64)"
    )
    m.add_argument(
        "--pwla-mode",
        choices=("adaptive", "curvature", "restriction"),
        default="adaptive",
        help="PWLA certificate: adaptive = ERM curvature error inside the MISOCP plus a 4x finer "
        "grid around the incumbent; curvature = without the refinement; restriction = grid "
        "restriction plus the round-down line (the former behaviour) (default adaptive)",
    )
    m.add_argument(
        "--method",
        choices=("misocp", "spatial", "pga", "tt-gad"),
        default="misocp",
        help="misocp: certified PWLA MISOCP; spatial: certified optimum of the continuous game "
        "by spatial branch-and-bound (no PWLA; for few targets, M <= 5 or so); pga / tt-gad: "
        "gradient baselines, best of 10 random starts, no bound (default misocp)",
    )
    add_reduction_options(m, "attacker types", "seed of the reductions and baselines")
    add_solver_options(m, gap=1e-4)  # solve_ssg's default
    m.add_argument("--json", type=Path, metavar="OUT", help="write the result as JSON")
    m.set_defaults(func=run_solve)

    g = generate_models.add_parser("ssg", help="two-layer beta/Gaussian security game (App. I)")
    g.add_argument("--targets", type=int, required=True, help="number of targets M >= 1")
    g.add_argument("--types", type=int, required=True, help="number of attacker types N >= 1")
    g.add_argument("--seed", type=int, default=0, help="random seed >= 0 (default 0)")
    g.add_argument("--budget", type=float, help="coverage resources R in [0, M] (default M/4)")
    g.add_argument("--lambda", dest="lam", type=float, help="QR rationality >= 0 (default 0.25)")
    g.add_argument("output", type=Path, help="the JSON file to write")
    g.set_defaults(func=run_generate)


def _pieces(text: str) -> int | str:
    if text == "auto":
        return "auto"
    try:
        k = int(text)
    except ValueError:
        raise ParameterError(f"--pieces must be an integer >= 1 or 'auto', got {text!r}") from None
    if k < 1:
        raise ParameterError(f"--pieces must be an integer >= 1 or 'auto', got {k}")
    return k


def run_solve(args: argparse.Namespace) -> int:
    """``dro-opt solve ssg``; every check before any work, exit code from the status (130 after
    Ctrl-C), the solve within what is left of ``--time-limit``, the live progress line."""
    from dro_opt.io.paths import check_output_path
    from dro_opt.models.security_game.instance import read_instance
    from dro_opt.models.security_game.solve import solve_ssg
    from dro_opt.progress_line import solver_values
    from dro_opt.solvers.result import write_json_atomic
    from dro_opt.validate import check_reduction

    pieces = _pieces(str(args.pieces))
    check_objective_rho(args)
    if args.max_pieces < 1:
        raise ParameterError(f"--max-pieces must be >= 1, got {args.max_pieces}")
    options = solve_options(args)  # also --seed and the reduction options
    if args.method != "misocp":
        check_reduction(
            args.clusters, args.strata, args.per_stratum,
            full_data_only=f"--method {args.method}", names=_NAMES,
        )  # fmt: skip
    check_output_path(args.json, inputs=[args.instance], option="--json")
    instance = read_instance(args.instance)
    phase = f"PWLA MISOCP ({args.solver or 'scip'}), values of the model"
    if args.method == "spatial":
        phase = "spatial branch-and-bound, certified values"
    elif args.method != "misocp":
        phase = f"{args.method} (no bound)"
    with progress_line(args), solver_values(phase):
        result = solve_ssg(
            instance,
            args.objective,
            args.rho,
            pieces=pieces,
            method=args.method,
            max_pieces=args.max_pieces,
            pwla_mode=args.pwla_mode,
            **model_solve_arguments(args, options, default_gap=1e-4),
        )
    result.status = command_status(result.status)  # interrupted after Ctrl-C
    payload = ssg_payload(result, instance, args)
    _print_summary(payload, verbose=bool(args.verbose))
    if args.json:
        write_json_atomic(args.json, payload)
    return status_exit_code(result.status)


_NAMES = {"clusters": "--clusters", "strata": "--strata", "per_stratum": "--per-stratum"}


def ssg_payload(result: Any, instance: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The JSON of issue 13's interface contract (plus parameters and the full Result)."""
    cert = result.certificate.to_dict() if result.certificate is not None else None
    z = result.solution.get("z")
    return {
        "status": result.status.value,
        "objective": result.objective,
        "bound": result.bound,
        "gap": None if cert is None else cert["gap"],
        "coverage": [float(v) for v in z] if z is not None else None,
        "certificate": cert,
        "solver": result.solver,
        "method": result.extra.get("method"),
        "build_seconds": result.build_seconds,
        "solve_seconds": result.solve_seconds,
        "pieces": result.extra.get("pieces"),
        "pwla_mode": result.extra.get("pwla_mode"),
        "instance": {
            "name": instance.name,
            "types": instance.num_types,
            "targets": instance.num_targets,
            "budget": instance.budget,
            "lambda": instance.lam,
            "n": instance.n,
        },
        "parameters": {
            "objective": args.objective,
            "rho": args.rho,
            "pieces": args.pieces,
            "pwla_mode": args.pwla_mode,
            "method": args.method,
            "clusters": args.clusters,
            "strata": args.strata,
            "per_stratum": args.per_stratum,
            "seed": args.seed,
            "gap": args.gap,
            "time_limit": args.time_limit,
        },
        "message": result.message,
        "result": result.to_dict(include_solution=False),
    }


def _print_summary(payload: dict[str, Any], *, verbose: bool = False) -> None:
    """The parameters, the status, the coverage by 1-based target, ``lower``/``upper``/gap (the
    certificate); its lines and the solver's messages with ``--verbose``."""
    from dro_opt.cli_common import (
        fmt,
        print_certificate,
        print_parameters,
        print_run_details,
        print_status,
    )

    inst, par = payload["instance"], payload["parameters"]
    print(
        f"instance: {inst['name']} ({inst['types']} attacker types, {inst['targets']} targets, "
        f"budget {fmt(inst['budget'])}, lambda {fmt(inst['lambda'])})"
    )
    reduced = par.get("clusters") is not None or par.get("strata") is not None
    print_parameters(
        [
            ("objective", par["objective"]),
            ("rho", par["rho"] if par["objective"] != "erm" else None),
            ("method", par["method"]),
            ("pieces", payload["pieces"] if par["method"] == "misocp" else None),
            ("pwla-mode", par["pwla_mode"] if par["method"] == "misocp" else None),
            ("gap", par.get("gap")),
            ("clusters", par.get("clusters")),
            ("strata", par.get("strata")),
            ("per-stratum", par.get("per_stratum")),
            ("seed", par["seed"] if reduced or par["method"] != "misocp" else None),
        ]
    )
    print_status(payload["status"])
    cov = payload["coverage"] or []
    print(
        "coverage by target (1-based): "
        + (", ".join(f"{j}: {c:.4g}" for j, c in enumerate(cov, start=1)) or "none")
    )
    print_certificate(
        payload["certificate"],
        "exact objective of this coverage on all attacker types",
        "proven upper bound on the continuous optimum",
    )
    print_run_details(payload, verbose)


def run_generate(args: argparse.Namespace) -> int:
    """``dro-opt generate ssg``; returns the exit code."""
    from dro_opt.io.paths import check_output_path
    from dro_opt.models.security_game.generator import LAMBDA, generate_ssg
    from dro_opt.models.security_game.instance import write_instance

    check_output_path(args.output, option="OUT")
    inst = generate_ssg(
        args.targets,
        args.types,
        args.seed,
        budget=args.budget,
        lam=LAMBDA if args.lam is None else args.lam,
    )
    write_instance(inst, args.output)
    print(
        f"wrote {args.output}: {inst.num_types} attacker types, {inst.num_targets} targets, "
        f"budget {inst.budget:g}, lambda {inst.lam:g}"
    )
    return 0
