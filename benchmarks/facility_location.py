"""Robust max-capture facility location: time to a certified gap, ours vs the paper's MISOCP.

Issue 5 "What must be shown". For every row, in the same run and on the same solver:

* **ours**: ``solve_mc_flp(method="auto")`` -- exact outer approximation for ERM and chi-square
  DRO, the chi-square bound first and then the MISOCP for VR (see ``models/facility_location/
  solve.py``);
* **paper**: the paper's direct MISOCP (MILP for ERM) route, ``solve_mc_flp(method="misocp",
  chi2_bound=False)`` -- build, solve on ``--solver`` (default SCIP, the OA master's solver),
  exact re-evaluation and the same certificate rules (cap/drop and reduction lines);

each with a time limit. A time is "to a certified gap <= --gap" only when the certificate for the
ORIGINAL full-data problem reaches it (status ``optimal``); otherwise the row shows ``no:``, the
seconds spent and the certified gap reached (``n/a``: no valid bound, e.g. a solver answer
rejected as a numerical error). The ratio column is ours / paper (``<x`` when the paper's route
was not proven within its limit: the true ratio is below ``ours / limit``). For the ERM rows of
``../shared/data/hm14_reference.csv`` it also prints ours / the published MOA time (Mai & Lodi
2020 multicut OA with CPLEX, measured on the authors' machine -- a different machine and solver:
an order-of-magnitude reference, not a like-for-like ratio), and checks every value: enumerated
rows must match (1e-6 relative, same open set), other rows must be proven with a value at least
the reference ``objective``.

Parts (``--parts``):

* ``hm14-erm``: HM14 N=800, D in {25, 50} (all reference rows) and D = 100 (same alpha, beta, r
  grid; no reference), ERM, full data. The paper's MILP runs on the subset ``r in {2, 10}`` x
  ``(alpha, beta) in {(0.05, 1), (0.1, 2), (0.2, 10)}`` (``--baseline all`` for every row).
* ``hm14-robust``: HM14 N=800, D in {25, 50, 100} at ``--robust-alpha/--robust-beta/
  --robust-budget``, VR and chi-square with rho in {1e2, 1e3, 1e4}, on the full data and on
  k-means clusters K in {25, 50, 100} (certificate = bound + rigorous reduction error).
* ``nyc``: the NYC-scale synthetic instance (82,341 customers, 59 locations, seed 0), budget
  ``--nyc-budget``: ERM, VR and chi-square as above; the paper's MISOCP is not run on the full data
  (4.9 million McCormick pairs: it does not fit) but on the clusters, as in the paper.

Run from the repository root (2-core shared machine: run the full benchmark once)::

    python benchmarks/facility_location.py --quick          # a few rows of each part, ~5 min
    python benchmarks/facility_location.py                  # everything (long)
    python benchmarks/facility_location.py --parts hm14-erm --time-limit 60 --json out.json
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RHOS = (1e2, 1e3, 1e4)
CLUSTERS = (25, 50, 100)
ALPHAS = (0.05, 0.1, 0.2)
BETAS = (1.0, 2.0, 5.0, 10.0)
BUDGETS = tuple(range(2, 11))
BASELINE_SUBSET = {(0.05, 1.0), (0.1, 2.0), (0.2, 10.0)}
BASELINE_BUDGETS = {2, 10}
MAX_BASELINE_PAIRS = 400_000  # McCormick pairs N*D above which the paper's MISOCP is not built


@dataclass
class Row:
    """One benchmark row (an instance, objective, radius and data mode)."""

    part: str
    instance: str
    D: int
    objective: str
    rho: float
    budget: int
    data: str  # "full" or "K<clusters>"
    alpha: float | None = None
    beta: float | None = None
    reference: dict[str, Any] | None = None
    run_baseline: bool = True
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def clusters(self) -> int | None:
        return None if self.data == "full" else int(self.data[1:])


# ------------------------------------------------------------------------------ instances
_CACHE: dict[tuple, Any] = {}


def hm14_instance(D: int, alpha: float, beta: float):
    from dro_opt.models.facility_location.hm14 import read_hm14

    key = ("hm14", D, alpha, beta)
    if key not in _CACHE:
        _CACHE.clear()  # one instance at a time (memory)
        _CACHE[key] = read_hm14(DATA / "hm14" / f"HM14_800_{D}.data", alpha, beta)
    return _CACHE[key]


def nyc_instance(customers: int):
    from dro_opt.instances.nyc_synthetic import generate_nyc_synthetic

    key = ("nyc", customers)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = generate_nyc_synthetic(0, customers=customers)
    return _CACHE[key]


def reference_rows() -> list[dict[str, Any]]:
    with open(DATA / "hm14_reference.csv", newline="") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------------------ row lists
def hm14_erm_rows(quick: bool, baseline: str) -> list[Row]:
    rows = []
    for ref in reference_rows():
        alpha, beta, r = float(ref["alpha"]), float(ref["beta"]), int(ref["budget"])
        rows.append(
            Row(
                "hm14-erm",
                ref["instance"],
                int(ref["D"]),
                "erm",
                0.0,
                r,
                "full",
                alpha,
                beta,
                ref,
                _baseline_wanted(alpha, beta, r, baseline),
            )
        )
    for alpha in ALPHAS:
        for beta in BETAS:
            for r in BUDGETS:
                rows.append(
                    Row(
                        "hm14-erm",
                        "HM14_800_100",
                        100,
                        "erm",
                        0.0,
                        r,
                        "full",
                        alpha,
                        beta,
                        None,
                        _baseline_wanted(alpha, beta, r, baseline),
                    )
                )
    if quick:
        keep = {
            ("HM14_800_25", 0.2, 10.0, 4),
            ("HM14_800_25", 0.05, 1.0, 2),
            ("HM14_800_50", 0.1, 2.0, 10),
            ("HM14_800_100", 0.2, 10.0, 10),
        }
        rows = [w for w in rows if (w.instance, w.alpha, w.beta, w.budget) in keep]
    return rows


def _baseline_wanted(alpha: float, beta: float, r: int, baseline: str) -> bool:
    if baseline == "all":
        return True
    if baseline == "none":
        return False
    return (alpha, beta) in BASELINE_SUBSET and r in BASELINE_BUDGETS


def robust_rows(
    part: str,
    instance: str,
    D: int,
    budget: int,
    quick: bool,
    alpha: float | None = None,
    beta: float | None = None,
    with_erm: bool = False,
) -> list[Row]:
    rows = []
    rhos = (1e3,) if quick else RHOS
    datas = ("full", "K25") if quick else ("full", *(f"K{k}" for k in CLUSTERS))
    for data in datas:
        if with_erm:
            rows.append(Row(part, instance, D, "erm", 0.0, budget, data, alpha, beta))
        for objective in ("variance", "chi2"):
            for rho in rhos:
                rows.append(Row(part, instance, D, objective, rho, budget, data, alpha, beta))
    return rows


# ------------------------------------------------------------------------------ running
def run(inst, row: Row, method: str, args: argparse.Namespace) -> dict[str, Any]:
    """One solve; wall-clock seconds and the certificate's outcome."""
    from dro_opt.models.facility_location.solve import solve_mc_flp

    baseline = method == "misocp"
    limit = args.baseline_time_limit if baseline else args.time_limit
    t0 = time.perf_counter()
    try:
        res = solve_mc_flp(
            inst,
            row.budget,
            row.objective,
            row.rho,
            method=method,
            solver=args.solver if baseline else None,
            time_limit=limit,
            gap=args.gap,
            clusters=row.clusters,
            seed=0,
            threads=1,
            chi2_bound=not baseline,
        )
    except Exception as exc:  # a failed row is reported, not fatal to the benchmark
        return {
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
            "seconds": time.perf_counter() - t0,
            "limit": limit,
        }
    seconds = time.perf_counter() - t0
    cert = res.certificate
    return {
        "ok": True,
        "status": res.status.value,
        "proven": res.status.value == "optimal",
        "objective": res.objective,
        "bound": res.bound,
        "gap": None if cert is None else cert.gap,
        "open": res.extra.get("open"),
        "method": res.extra.get("method"),
        "seconds": seconds,
        "build_seconds": res.build_seconds,
        "limit": limit,
        "message": res.message[:300],
        "reduction": res.extra.get("reduction"),
    }


def check_reference(row: Row, ours: dict[str, Any]) -> str:
    """'match', 'better' (beats a moa row), 'ok' (>= reference), or a failure description."""
    ref = row.reference
    if ref is None or not ours.get("ok"):
        return "-"
    value, target = ours["objective"], float(ref["objective"])
    rel = (value - target) / max(1.0, abs(target))
    if ref["status"] == "enumerated":
        same = " ".join(map(str, ours["open"])) == ref["open"].strip()
        return (
            "match" if abs(rel) <= 1e-6 and same else f"MISMATCH ({rel:+.2e}, open {ours['open']})"
        )
    if rel < -1e-6:
        return f"BELOW REF ({rel:+.2e})"
    if not ours["proven"]:
        return "unproven"
    moa = float(ref["moa_objective"])
    if (value - moa) / max(1.0, abs(moa)) > 1e-6:
        return "better than moa"
    return "ok"


def fmt_time(res: dict[str, Any] | None) -> str:
    if res is None:
        return "-"
    if not res.get("ok"):
        return "error"
    if res["proven"]:
        return f"{res['seconds']:.2f}"
    gap = res["gap"]
    gap_txt = "n/a" if gap is None else f"{gap:.1e}"
    return f"no: {res['seconds']:.1f}s gap {gap_txt} ({res['status']})"


def ratio(ours: dict[str, Any] | None, other: dict[str, Any] | None) -> str:
    if not ours or not other or not ours.get("ok") or not other.get("ok"):
        return "-"
    if not ours["proven"]:
        return "n/a (ours unproven)"
    if other["proven"]:
        return f"{ours['seconds'] / other['seconds']:.3g}"
    return f"<{ours['seconds'] / other['seconds']:.3g} (paper unproven)"


HEADER = (
    f"{'part':<11} {'instance':<14} {'D':>3} {'obj':<8} {'rho':>6} {'data':<5} {'r':>2} "
    f"{'a':>4} {'b':>3} | {'ours s':<22} {'method':<10} | {'paper s':<30} | "
    f"{'ours/paper':<24} | {'moa s':>6} {'ours/moa':>8} | check"
)


def print_row(row: Row) -> None:
    ours, paper = row.results.get("ours"), row.results.get("paper")
    moa_s = float(row.reference["moa_seconds"]) if row.reference else None
    moa_ratio = (
        f"{ours['seconds'] / moa_s:.3g}"
        if moa_s and ours and ours.get("ok") and ours["proven"]
        else "-"
    )
    paper_txt = fmt_time(paper) if row.run_baseline else row.results.get("paper_note", "-")
    print(
        f"{row.part:<11} {row.instance[:14]:<14} {row.D:>3} {row.objective[:8]:<8} "
        f"{row.rho:>6.0e} {row.data:<5} {row.budget:>2} "
        f"{'' if row.alpha is None else f'{row.alpha:g}':>4} "
        f"{'' if row.beta is None else f'{row.beta:g}':>3} | {fmt_time(ours):<22} "
        f"{(ours or {}).get('method') or '-':<10} | {paper_txt:<30} | {ratio(ours, paper):<24} | "
        f"{'-' if moa_s is None else f'{moa_s:.1f}':>6} {moa_ratio:>8} | "
        f"{row.results.get('check', '-')}",
        flush=True,
    )


def run_rows(rows: list[Row], load, args: argparse.Namespace) -> None:
    for row in rows:
        inst = load(row)
        row.results["ours"] = run(inst, row, "auto", args)
        pairs = (row.clusters or inst.num_customers) * inst.num_locations
        if row.run_baseline and pairs > MAX_BASELINE_PAIRS:
            row.run_baseline = False
            row.results["paper_note"] = f"not built ({pairs:,} pairs)"
        if row.run_baseline:
            row.results["paper"] = run(inst, row, "misocp", args)
        row.results["check"] = check_reference(row, row.results["ours"])
        print_row(row)


def summarise(rows: list[Row]) -> None:
    print("\nsummary")
    erm = [w for w in rows if w.part == "hm14-erm" and w.results.get("ours", {}).get("ok")]
    for D in sorted({w.D for w in erm}):
        sub = [w for w in erm if w.D == D]
        proven = [w for w in sub if w.results["ours"]["proven"]]
        times = [w.results["ours"]["seconds"] for w in proven]
        med = f"{statistics.median(times):.2f}" if times else "n/a"
        mx = f"{max(times):.2f}" if times else "n/a"
        print(
            f"  HM14 N=800 D={D} ERM: {len(proven)}/{len(sub)} proven optimal "
            f"(gap <= target); median {med} s, max {mx} s"
        )
    checks = [w.results.get("check", "-") for w in rows]
    bad = [c for c in checks if c.startswith(("MISMATCH", "BELOW"))]
    print(
        f"  reference rows: {checks.count('match')} enumerated matched, "
        f"{sum(c in ('ok', 'better than moa') for c in checks)} others proven >= reference, "
        f"{len(bad)} failures, {checks.count('unproven')} unproven"
    )
    for w in rows:
        if w.results.get("check") == "better than moa":
            ours = w.results["ours"]
            print(
                f"  proved better than the published MOA row: {w.instance} alpha={w.alpha} "
                f"beta={w.beta} r={w.budget}: {ours['objective']:.6f} {ours['open']} vs "
                f"moa {float(w.reference['moa_objective']):.6f} ({w.reference['status']})"
            )
    both = [
        w
        for w in rows
        if w.results.get("paper", {}).get("ok")
        and w.results.get("ours", {}).get("ok")
        and w.results["ours"]["proven"]
    ]
    proven_both = [w for w in both if w.results["paper"]["proven"]]
    if proven_both:
        rs = [w.results["ours"]["seconds"] / w.results["paper"]["seconds"] for w in proven_both]
        print(
            f"  ours/paper where both proven: median {statistics.median(rs):.3g} "
            f"over {len(rs)} rows"
        )
    unproven = [w for w in both if not w.results["paper"]["proven"]]
    print(
        f"  paper route unproven within its limit on {len(unproven)} of {len(both)} compared "
        "rows (ours proven on all of them)"
    )
    print(
        "  MOA times: Mai & Lodi (2020) on the authors' machine with CPLEX -- a different "
        "machine and solver; ratios are indicative only"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few rows of each part")
    ap.add_argument(
        "--parts",
        default="hm14-erm,hm14-robust,nyc",
        help="comma list of hm14-erm, hm14-robust, nyc",
    )
    ap.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="seconds per solve for ours (default 120; quick 30)",
    )
    ap.add_argument(
        "--baseline-time-limit",
        type=float,
        default=None,
        help="seconds per solve for the paper's MISOCP (default 60; quick 20)",
    )
    ap.add_argument("--gap", type=float, default=1e-4, help="certified relative gap target")
    ap.add_argument("--solver", default="scip", help="solver for the paper's MISOCP route")
    ap.add_argument(
        "--baseline",
        choices=("subset", "all", "none"),
        default="subset",
        help="HM14 ERM rows on which the paper's MILP also runs",
    )
    ap.add_argument("--robust-alpha", type=float, default=0.1)
    ap.add_argument("--robust-beta", type=float, default=1.0)
    ap.add_argument("--robust-budget", type=int, default=5)
    ap.add_argument("--nyc-budget", type=int, default=10)
    ap.add_argument(
        "--nyc-customers",
        type=int,
        default=None,
        help="NYC synthetic size (default 82341; quick 5000)",
    )
    ap.add_argument("--json", type=Path, default=None, help="write every row's results here")
    args = ap.parse_args(argv)
    if args.time_limit is None:
        args.time_limit = 30.0 if args.quick else 120.0
    if args.baseline_time_limit is None:
        args.baseline_time_limit = 20.0 if args.quick else 60.0
    if args.nyc_customers is None:
        args.nyc_customers = 5000 if args.quick else 82_341
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = set(parts) - {"hm14-erm", "hm14-robust", "nyc"}
    if unknown:
        ap.error(f"unknown parts {sorted(unknown)}")

    print(
        f"time limits: ours {args.time_limit:g} s, paper route {args.baseline_time_limit:g} s; "
        f"gap target {args.gap:g}; paper route solver {args.solver}; threads 1"
    )
    print(HEADER)
    all_rows: list[Row] = []
    t0 = time.perf_counter()
    if "hm14-erm" in parts:
        rows = hm14_erm_rows(args.quick, args.baseline)
        run_rows(rows, lambda w: hm14_instance(w.D, w.alpha, w.beta), args)
        all_rows += rows
    if "hm14-robust" in parts:
        rows = []
        for D in (25,) if args.quick else (25, 50, 100):
            rows += robust_rows(
                "hm14-robust",
                f"HM14_800_{D}",
                D,
                args.robust_budget,
                args.quick,
                args.robust_alpha,
                args.robust_beta,
            )
        run_rows(rows, lambda w: hm14_instance(w.D, w.alpha, w.beta), args)
        all_rows += rows
    if "nyc" in parts:
        budget = min(args.nyc_budget, 5) if args.quick else args.nyc_budget
        name = f"NYCsyn_{args.nyc_customers}"
        rows = robust_rows("nyc", name, 59, budget, args.quick, with_erm=True)
        run_rows(rows, lambda w: nyc_instance(args.nyc_customers), args)
        all_rows += rows
    summarise(all_rows)
    print(f"total wall time {time.perf_counter() - t0:.0f} s")
    if args.json:
        from dro_opt.io.atomic import atomic_write_text

        payload = [
            {k: v for k, v in vars(w).items() if k != "reference"} | {"reference": w.reference}
            for w in all_rows
        ]
        atomic_write_text(args.json, json.dumps(payload, indent=1, default=_json_default))
    failures = [w for w in all_rows if str(w.results.get("check", "")).startswith(("MIS", "BEL"))]
    return 1 if failures else 0


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return str(obj)


if __name__ == "__main__":
    sys.exit(main())
