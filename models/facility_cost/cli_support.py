"""``dro-opt solve mc-fcp`` and ``dro-opt generate mc-fcp`` (registered by ``dro_opt.cli``).

``solve mc-fcp INSTANCE --budget B --objective erm|variance|chi2 --rho RHO --pieces K
--json OUT.json [--method secant|pwla|pga|tt-gad] [--clusters K | --strata S --per-stratum P]``
(``--pieces auto``: K = 4, 8, ..., 64 until the certified gap is below ``--gap`` or the time limit;
``--method misocp`` is the old name of ``pwla``).
INSTANCE is an MC-FCP JSON file (:mod:`.instance`, keys ``weights``, ``bias``, ``rate``,
``upper``) or any MC-FLP instance (HM14 ``.data`` with ``--alpha``/``--beta``, ``.npz``,
``.json``) whose log-odds utilities are turned into FCP parameters by the documented derivation
(:func:`~dro_opt.models.facility_cost.instance.from_log_odds`: ``--upper``, ``--theta``,
``--margin``). Objective values are in mean units (average capture probability per client).

JSON output (the SSG contract's keys): ``status``, ``objective`` (exact value of the returned
investment on the full data), ``bound`` (proven upper bound on the continuous full-data optimum,
null for the baselines), ``gap``, ``investment`` (M floats), ``certificate`` {lower, upper, gap,
lines}, ``solver``, ``method``, ``build_seconds``, ``solve_seconds``, plus ``instance``,
``parameters``, ``message``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from dro_opt.cli_common import (
    check_objective_rho,
    command_status,
    model_solve_arguments,
    progress_line,
    solve_options,
    status_exit_code,
)
from dro_opt.errors import ParameterError


def register(solve_models: Any, generate_models: Any) -> None:
    """Add ``mc-fcp`` to the ``solve`` and ``generate`` sub-parser collections."""
    from dro_opt.cli_common import (
        add_objective_options,
        add_reduction_options,
        add_solver_options,
    )

    m = solve_models.add_parser(
        "mc-fcp", help="robust facility cost planning, continuous investments (paper 003)"
    )
    m.add_argument(
        "instance",
        type=Path,
        help="MC-FCP .json, or an MC-FLP instance (.data with --alpha/--beta, .npz, .json)",
    )
    m.add_argument("--budget", type=float, required=True, help="investment budget B > 0")
    add_objective_options(
        m,
        "erm: average capture probability; variance: mean - sqrt(2 rho Var / n); chi2: "
        "worst case over the chi-square ball of radius rho / n (default erm)",
    )
    m.add_argument(
        "--pieces",
        type=_pieces,
        default=8,
        help="cells per location K >= 1, or 'auto' (refine until --gap or the time limit)",
    )
    m.add_argument(
        "--method",
        choices=("secant", "pwla", "misocp", "pga", "tt-gad"),
        default="secant",
        help="secant: secant relaxation (default); pwla (= misocp): grid PWLA MISOCP; "
        "pga / tt-gad: gradient baselines without a bound",
    )
    add_reduction_options(m, "clients", "seed of the reductions and baselines")
    m.add_argument("--restarts", type=int, default=10, help="random starts of pga/tt-gad")
    m.add_argument("--alpha", type=float, help="competitor aversion (HM14 .data inputs)")
    m.add_argument("--beta", type=float, help="distance aversion (HM14 .data inputs)")
    m.add_argument("--upper", type=float, default=1.0, help="U_j of derived instances (1)")
    m.add_argument("--theta", type=float, default=0.5, help="share of utility bought (0.5)")
    m.add_argument("--margin", type=float, default=1.0, help="floor margin of the rates (1)")
    add_solver_options(m, gap=1e-4)  # solve_mc_fcp's default
    m.add_argument("--json", type=Path, metavar="OUT", help="write the result as JSON")
    m.set_defaults(func=run_solve)

    g = generate_models.add_parser(
        "mc-fcp", help="NYC-scale synthetic MC-FCP instance (derived parameters, JSON)"
    )
    g.add_argument("output", type=Path, help="the .json file to write")
    g.add_argument("--clients", type=int, default=2000, help="number of clients (2000)")
    g.add_argument("--locations", type=int, default=59, help="candidate locations (59)")
    g.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    g.add_argument("--theta", type=float, default=0.5, help="share of utility bought (0.5)")
    g.add_argument("--margin", type=float, default=1.0, help="floor margin of the rates (1)")
    g.set_defaults(func=run_generate)


def _pieces(text: str) -> int | str:
    """``--pieces``: an integer or ``auto`` (argparse turns the ValueError into exit code 2)."""
    if text == "auto":
        return "auto"
    return int(text)


def load_instance(args: argparse.Namespace) -> Any:
    """The FCP instance of ``args.instance`` (read, or derived from MC-FLP utilities)."""
    from dro_opt.models.facility_cost.instance import from_log_odds, is_fcp_json, read_json

    if not args.instance.is_file():
        raise ParameterError(f"instance file {args.instance} does not exist")
    if is_fcp_json(args.instance):
        return read_json(args.instance)
    from dro_opt.models.facility_location.io import read_instance

    flp = read_instance(args.instance, alpha=args.alpha, beta=args.beta)
    return from_log_odds(
        flp.q, flp.a, upper=args.upper, theta=args.theta, margin=args.margin,
        name=flp.name, meta={"source": str(args.instance)},
    )  # fmt: skip


def run_solve(args: argparse.Namespace) -> int:
    """``dro-opt solve mc-fcp``; every check before any work, exit code from the status (130
    after Ctrl-C), the solve within what is left of ``--time-limit``, the live progress line."""
    from dro_opt.io.paths import check_output_path
    from dro_opt.models.facility_cost.solve import solve_mc_fcp
    from dro_opt.progress_line import solver_values
    from dro_opt.solvers.result import write_json_atomic
    from dro_opt.validate import check_integer, check_reduction

    check_objective_rho(args)
    if args.pieces != "auto" and args.pieces < 1:
        raise ParameterError(f"--pieces (K) must be an integer >= 1, got {args.pieces}")
    if not (math.isfinite(args.budget) and args.budget > 0):
        raise ParameterError(f"--budget must be a finite number > 0, got {args.budget}")
    check_integer(args.restarts, "--restarts", minimum=1)
    options = solve_options(args)  # also --seed and the reduction options
    if args.method in ("pga", "tt-gad"):
        check_reduction(
            args.clusters, args.strata, args.per_stratum,
            full_data_only=f"--method {args.method}", names=_NAMES,
        )  # fmt: skip
    check_output_path(args.json, inputs=[args.instance], option="--json")
    instance = load_instance(args)
    if args.budget > float(instance.upper.sum()):
        raise ParameterError(
            f"--budget {args.budget:g} exceeds the sum of the investment bounds "
            f"{float(instance.upper.sum()):g}"
        )
    kind = {"secant": "secant MISOCP", "pwla": "PWLA MISOCP", "misocp": "PWLA MISOCP"}
    phase = f"{args.method} (no bound)"
    if args.method in kind:
        phase = f"{kind[args.method]} ({args.solver or 'scip'}), values of the model"
    with progress_line(args), solver_values(phase):
        result = solve_mc_fcp(
            instance, args.budget, args.objective, args.rho, pieces=args.pieces,
            method=args.method, restarts=args.restarts,
            **model_solve_arguments(args, options, default_gap=1e-4),
        )  # fmt: skip
    result.status = command_status(result.status)  # interrupted after Ctrl-C
    payload = payload_of(result, instance, args)
    _print_summary(payload, verbose=bool(args.verbose))
    if args.json:
        write_json_atomic(args.json, payload)
    return status_exit_code(result.status)


_NAMES = {"clusters": "--clusters", "strata": "--strata", "per_stratum": "--per-stratum"}


def _print_summary(payload: dict[str, Any], *, verbose: bool = False) -> None:
    """The parameters, the status, the investment by 1-based location, ``lower``/``upper``/gap
    (the certificate); its lines and the solver's messages with ``--verbose``."""
    from dro_opt.cli_common import (
        print_certificate,
        print_indexed,
        print_parameters,
        print_run_details,
        print_status,
    )

    inst, par = payload["instance"], payload["parameters"]
    print(f"instance: {inst['name']} ({inst['clients']} clients, {inst['locations']} locations)")
    reduced = par.get("clusters") is not None or par.get("strata") is not None
    baseline = payload["method"] in ("pga", "tt-gad")
    print_parameters(
        [
            ("budget", par["budget"]),
            ("objective", par["objective"]),
            ("rho", par["rho"] if par["objective"] != "erm" else None),
            ("method", par.get("method")),
            ("pieces", None if baseline else payload["pieces"]),
            ("gap", par.get("gap")),
            ("alpha", par.get("alpha")),
            ("beta", par.get("beta")),
            ("clusters", par.get("clusters")),
            ("strata", par.get("strata")),
            ("per-stratum", par.get("per_stratum")),
            ("seed", par["seed"] if reduced or baseline else None),
            ("restarts", par.get("restarts") if baseline else None),
        ]
    )
    print_status(payload["status"])
    print_indexed("investment by location", payload["investment"])
    print_certificate(
        payload["certificate"],
        "exact objective of this investment on the full data, mean capture per client",
        "proven upper bound on the continuous optimum",
    )
    print_run_details(payload, verbose)


def payload_of(result: Any, instance: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The JSON of the module docstring."""
    cert = result.certificate.to_dict() if result.certificate is not None else None
    return {
        "status": result.status.value,
        "objective": result.objective,
        "bound": result.bound,
        "gap": None if cert is None else cert["gap"],
        "investment": [float(v) for v in result.solution["z"]],
        "certificate": cert,
        "solver": result.solver,
        "method": result.extra.get("method"),
        "pieces": result.extra.get("pieces"),
        "build_seconds": result.build_seconds,
        "solve_seconds": result.solve_seconds,
        "instance": {
            "name": instance.name,
            "clients": instance.num_clients,
            "locations": instance.num_locations,
            "n": instance.n,
        },
        "parameters": {
            "budget": args.budget,
            "objective": args.objective,
            "rho": args.rho,
            "pieces": args.pieces,
            "clusters": args.clusters,
            "strata": args.strata,
            "per_stratum": args.per_stratum,
            "seed": args.seed,
            "method": args.method,
            "gap": args.gap,
            "time_limit": args.time_limit,
            "restarts": args.restarts,
            "alpha": args.alpha,
            "beta": args.beta,
        },
        "message": result.message,
    }


def run_generate(args: argparse.Namespace) -> int:
    """``dro-opt generate mc-fcp OUT.json``: NYC-scale synthetic utilities + App. I derivation."""
    from dro_opt.instances.nyc_synthetic import generate_nyc_synthetic
    from dro_opt.io.paths import check_output_path
    from dro_opt.models.facility_cost.instance import from_log_odds, write_json

    if args.clients < 1 or args.locations < 1:
        raise ParameterError("--clients and --locations must be >= 1")
    if args.output.suffix.lower() != ".json":
        raise ParameterError(f"{args.output}: the MC-FCP instance is written as .json")
    check_output_path(args.output, option="OUT")
    flp = generate_nyc_synthetic(args.seed, customers=args.clients, locations=args.locations)
    inst = from_log_odds(
        flp.q, flp.a, theta=args.theta, margin=args.margin,
        name=f"nyc_synthetic_fcp_{args.clients}x{args.locations}_s{args.seed}",
        meta={"generator": "dro_opt.instances.nyc_synthetic", "seed": args.seed},
    )  # fmt: skip
    write_json(inst, args.output)
    print(f"wrote {args.output} ({inst.num_clients} clients, {inst.num_locations} locations)")
    return 0


__all__ = ["load_instance", "payload_of", "register", "run_generate", "run_solve"]
