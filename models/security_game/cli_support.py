"""``dro-opt solve ssg`` and ``dro-opt generate ssg`` (registered by :func:`register`).

``dro-opt solve ssg INSTANCE.json --objective erm|variance|chi2 --rho RHO --pieces K|auto
--json OUT.json [--method misocp|pga|tt-gad] [--clusters K | --strata S --per-stratum s]
[solver options]``; ``dro-opt generate ssg --targets M --types N --seed S OUT.json``.
Bad input exits with code 2 and one line on stderr before any work.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from dro_opt.cli_common import add_solver_options
from dro_opt.errors import ParameterError


def register(solve_models: Any, generate_models: Any) -> None:
    """Add the ``ssg`` parsers to the ``solve`` and ``generate`` sub-parser collections."""
    m = solve_models.add_parser(
        "ssg", help="Bayesian security game with quantal response, PWLA MISOCP (paper 003)"
    )
    m.add_argument("instance", type=Path, help="SSG instance JSON (dro-opt generate ssg)")
    m.add_argument(
        "--objective",
        choices=("erm", "variance", "chi2"),
        default="erm",
        help="erm: mean defender utility; variance: mean - sqrt(2 rho Var / n); chi2: worst "
        "case over the chi-square ball of radius rho / n (default erm)",
    )
    m.add_argument("--rho", type=float, default=0.0, help="robustness radius >= 0 (default 0)")
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
        "--method",
        choices=("misocp", "pga", "tt-gad"),
        default="misocp",
        help="misocp: certified PWLA MISOCP; pga / tt-gad: gradient baselines, best of 10 "
        "random starts, no bound (default misocp)",
    )
    red = m.add_mutually_exclusive_group()
    red.add_argument("--clusters", type=int, help="solve on K weighted k-means attacker types")
    red.add_argument("--strata", type=int, help="stratified sampling: number of strata")
    m.add_argument("--per-stratum", type=int, help="types drawn per stratum (with --strata)")
    m.add_argument("--seed", type=int, default=0, help="seed of reductions/baselines (default 0)")
    add_solver_options(m)
    m.set_defaults(gap=1e-4)
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
    """``dro-opt solve ssg``; returns the exit code."""
    from dro_opt.cli_common import solve_options, status_exit_code
    from dro_opt.io.paths import check_output_path
    from dro_opt.models.security_game.instance import read_instance
    from dro_opt.models.security_game.solve import solve_ssg
    from dro_opt.solvers.result import write_json_atomic

    pieces = _pieces(str(args.pieces))
    if not (math.isfinite(args.rho) and args.rho >= 0):
        raise ParameterError(f"--rho must be a finite number >= 0, got {args.rho}")
    if args.max_pieces < 1:
        raise ParameterError(f"--max-pieces must be >= 1, got {args.max_pieces}")
    if args.per_stratum is not None and args.strata is None:
        raise ParameterError("--per-stratum needs --strata")
    if args.strata is not None and args.per_stratum is None:
        raise ParameterError("--strata needs --per-stratum (types drawn per stratum)")
    for label in ("clusters", "strata", "per_stratum"):
        value = getattr(args, label)
        if value is not None and value < 1:
            raise ParameterError(f"--{label.replace('_', '-')} must be >= 1, got {value}")
    options = solve_options(args)
    check_output_path(args.json, inputs=[args.instance], option="--json")
    instance = read_instance(args.instance)
    result = solve_ssg(
        instance,
        args.objective,
        args.rho,
        pieces=pieces,
        method=args.method,
        solver=args.solver,
        time_limit=options.time_limit,
        gap=options.gap if options.gap is not None else 1e-4,
        clusters=args.clusters,
        strata=args.strata,
        per_stratum=args.per_stratum,
        seed=args.seed,
        threads=options.threads or 1,
        verbose=options.verbose,
        max_pieces=args.max_pieces,
    )
    payload = ssg_payload(result, instance, args)
    _print_summary(payload)
    if args.json:
        write_json_atomic(args.json, payload)
    return status_exit_code(result.status)


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
            "method": args.method,
            "clusters": args.clusters,
            "strata": args.strata,
            "per_stratum": args.per_stratum,
            "seed": args.seed,
        },
        "message": result.message,
        "result": result.to_dict(include_solution=False),
    }


def _print_summary(payload: dict[str, Any]) -> None:
    def fmt(v: Any) -> str:
        return "n/a" if v is None else (f"{v:.10g}" if isinstance(v, float) else str(v))

    inst, par = payload["instance"], payload["parameters"]
    print(
        f"instance: {inst['name']} ({inst['types']} attacker types, {inst['targets']} targets, "
        f"budget {fmt(inst['budget'])}, lambda {fmt(inst['lambda'])})"
    )
    print(
        f"parameters: objective {par['objective']}, rho {fmt(par['rho'])}, method "
        f"{par['method']}, pieces {fmt(payload['pieces'])}"
    )
    print(f"status: {payload['status']}")
    cov = payload["coverage"] or []
    print("coverage: " + ", ".join(f"{c:.4g}" for c in cov))
    cert = payload["certificate"] or {}
    print(f"lower: {fmt(cert.get('lower'))}  (exact objective of this coverage on all types)")
    print(f"upper: {fmt(cert.get('upper'))}  (proven upper bound on the continuous optimum)")
    print(f"gap: {fmt(cert.get('gap'))}  ((upper - lower) / max(1, |lower|))")
    for line in cert.get("lines", []):
        print(f"  {line['name']}: {fmt(line['value'])}")


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
