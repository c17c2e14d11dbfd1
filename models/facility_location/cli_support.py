"""Glue between ``dro-opt solve mc-flp`` and :func:`solve_mc_flp` (argument checks, output)."""

from __future__ import annotations

import argparse
import math
from importlib import resources
from pathlib import Path
from typing import Any

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
    from dro_opt.cli import _solve_options, _status_exit_code
    from dro_opt.models.facility_location.solve import solve_mc_flp
    from dro_opt.solvers.result import write_json_atomic

    if not (math.isfinite(args.rho) and args.rho >= 0):
        raise ParameterError(f"--rho must be a finite number >= 0, got {args.rho}")
    if args.per_stratum is not None and args.strata is None:
        raise ParameterError("--per-stratum needs --strata")
    if args.strata is not None and args.per_stratum is None:
        raise ParameterError("--strata needs --per-stratum (samples drawn per stratum)")
    options = _solve_options(args)
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
    result = solve_mc_flp(
        instance,
        args.budget,
        args.objective,
        args.rho,
        method=args.method,
        solver=args.solver,
        time_limit=options.time_limit,
        gap=options.gap if options.gap is not None else 1e-6,
        clusters=args.clusters,
        strata=args.strata,
        per_stratum=args.per_stratum,
        seed=args.seed,
        threads=options.threads or 1,
        verbose=options.verbose,
    )
    payload = mc_flp_payload(result, instance, args)
    _print_summary(payload)
    if args.json:
        write_json_atomic(args.json, payload)
    return _status_exit_code(result.status)


def mc_flp_payload(result: Any, instance: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The JSON of issue 5's interface contract (plus the full Result under ``result``)."""
    cert = result.certificate.to_dict() if result.certificate is not None else None
    return {
        "status": result.status.value,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "open": [int(j) for j in result.extra.get("open", [])],
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
            "alpha": args.alpha,
            "beta": args.beta,
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


def _print_summary(payload: dict[str, Any]) -> None:
    def fmt(v: Any) -> str:
        return "n/a" if v is None else (f"{v:.10g}" if isinstance(v, float) else str(v))

    inst = payload["instance"]
    print(
        f"instance: {inst['name']} ({inst['customers']} customers, {inst['locations']} locations)"
    )
    for key in (
        "status",
        "objective",
        "bound",
        "gap",
        "open",
        "method",
        "solver",
        "build_seconds",
        "solve_seconds",
    ):
        print(f"{key}: {fmt(payload[key])}")
    cert = payload["certificate"]
    if cert:
        for line in cert["lines"]:
            flag = "" if line["rigorous"] else " (not rigorous)"
            print(
                f"  certificate {line['name']}: {fmt(line['value'])}{flag}"
                + (f" -- {line['note']}" if line.get("note") else "")
            )
    if payload.get("message"):
        print(f"message: {payload['message']}")
