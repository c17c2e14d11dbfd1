"""Glue between ``dro-opt solve mc-flp`` and :func:`solve_mc_flp` (argument checks, output)."""

from __future__ import annotations

import argparse
import math
from importlib import resources
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

DEFAULT_INSTANCE = "default_mcflp.data"
DEFAULT_ALPHA = 0.1
DEFAULT_BETA = 1.0


def default_instance_path() -> Path:
    """The small HM14-format instance shipped in ``dro_opt.instances/data``."""
    return Path(str(resources.files("dro_opt.instances") / "data" / DEFAULT_INSTANCE))


def _check_positive(name: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ParameterError(f"--{name} must be a finite number > 0, got {value}")


def load_instance(path: Path | None, alpha: float | None, beta: float | None) -> Any:
    """Read the instance (default: the shipped one with alpha=0.1, beta=1 unless given)."""
    from dro_opt.models.facility_location.io import read_instance

    _check_positive("alpha", alpha)
    _check_positive("beta", beta)
    if path is None:
        path = default_instance_path()
        alpha = DEFAULT_ALPHA if alpha is None else alpha
        beta = DEFAULT_BETA if beta is None else beta
    if path.suffix == ".data" and (alpha is None or beta is None):
        raise ParameterError(
            f"{path.name} is an HM14 .data file: give --alpha and --beta (utilities are "
            "v = -beta * distance, w = -alpha * beta * competitor distance)"
        )
    return read_instance(path, alpha=alpha, beta=beta)


def run_mc_flp(args: argparse.Namespace) -> int:
    """Run ``dro-opt solve mc-flp``; returns the exit code."""
    from dro_opt.io.paths import check_output_path
    from dro_opt.models.facility_location.solve import solve_mc_flp
    from dro_opt.solvers.result import write_json_atomic

    check_objective_rho(args)
    options = solve_options(args)  # also --seed and the reduction options
    # outputs before any work: a typo in a directory must not cost a solve
    check_output_path(args.json, inputs=[args.instance, args.export], option="--json")
    check_output_path(args.export, inputs=[args.instance], option="--export")
    instance = load_instance(args.instance, args.alpha, args.beta)
    if args.export is not None:
        from dro_opt.io.formats import write_model
        from dro_opt.models.facility_location.misocp import build_mc_flp_misocp

        if not (1 <= args.budget <= instance.num_locations):
            raise ParameterError(
                f"--budget must be between 1 and the {instance.num_locations} candidate "
                f"locations, got {args.budget}"
            )
        write_model(
            build_mc_flp_misocp(instance, args.budget, args.objective, args.rho), args.export
        )
        print(f"wrote the paper's MISOCP to {args.export}")
    with progress_line(args) as line:
        result = solve_mc_flp(
            instance,
            args.budget,
            args.objective,
            args.rho,
            method=args.method,
            trajectory=line is not None,  # its certified points feed the progress line
            **model_solve_arguments(args, options, default_gap=1e-6),
        )
    for key in ("trajectory", "trajectory_kind"):  # the same JSON with and without the line
        result.extra.pop(key, None)
    result.status = command_status(result.status)  # interrupted after Ctrl-C
    payload = mc_flp_payload(result, instance, args)
    _print_summary(payload, verbose=bool(args.verbose))
    if args.json:
        write_json_atomic(args.json, payload)
    return status_exit_code(result.status)


def mc_flp_payload(result: Any, instance: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The JSON of issue 5's interface contract (plus the full Result under ``result``)."""
    cert = result.certificate.to_dict() if result.certificate is not None else None
    alpha, beta = args.alpha, args.beta
    if args.instance is None:  # the shipped instance: report the values actually used
        alpha = DEFAULT_ALPHA if alpha is None else alpha
        beta = DEFAULT_BETA if beta is None else beta
    return {
        "status": result.status.value,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "open": [int(j) for j in result.extra.get("open", [])],
        "open_indexing": "1-based",
        "solver": result.solver,
        "method": result.extra.get("method"),
        "build_seconds": result.build_seconds,
        "solve_seconds": result.solve_seconds,
        "certificate": cert,
        "instance": {
            "name": instance.name,
            "customers": instance.num_customers,
            "locations": instance.num_locations,
            "n": instance.n,
        },
        "parameters": {
            "alpha": alpha,
            "beta": beta,
            "budget": args.budget,
            "objective": args.objective,
            "rho": args.rho,
            "clusters": args.clusters,
            "strata": args.strata,
            "per_stratum": args.per_stratum,
            "seed": args.seed,
        },
        "message": result.message,
        "result": result.to_dict(include_solution=False),
    }


def _print_summary(payload: dict[str, Any], *, verbose: bool = False) -> None:
    """What a user needs: the parameters, the 1-based open locations, ``lower``/``upper``/gap
    (the certificate, as the README names them); solver internals only with ``--verbose``."""
    from dro_opt.cli_common import (
        print_certificate,
        print_parameters,
        print_run_details,
        print_status,
    )

    inst = payload["instance"]
    par = payload["parameters"]
    print(
        f"instance: {inst['name']} ({inst['customers']} customers, {inst['locations']} locations)"
    )
    reduced = par.get("clusters") is not None or par.get("strata") is not None
    print_parameters(
        [
            ("objective", par["objective"]),
            ("rho", par["rho"] if par["objective"] != "erm" else None),
            ("budget", par["budget"]),
            ("alpha", par.get("alpha")),
            ("beta", par.get("beta")),
            ("clusters", par.get("clusters")),
            ("strata", par.get("strata")),
            ("per-stratum", par.get("per_stratum")),
            ("seed", par["seed"] if reduced else None),
        ]
    )
    print_status(payload["status"])
    opened = ", ".join(str(j) for j in payload["open"]) or "none"
    print(f"open locations (1-based): {opened}")
    cert = payload["certificate"] or {
        "lower": payload["objective"],
        "upper": payload["bound"],
        "gap": payload["gap"],
    }
    print_certificate(
        cert,
        "exact objective of these locations on the full data",
        "proven upper bound on the optimum",
    )
    print_run_details(payload, verbose, solver_values=True)
