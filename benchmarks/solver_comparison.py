"""Solver comparison (issue 6): HM14 N=800 MC-FLP (ERM and chi-square) and the reference models.

Runs ``dro-opt compare`` (the library behind it) over

* HM14 N=800 instances from ``../shared/data/hm14`` (D in {25, 50, 100}), ERM (rho = 0) and
  chi-square DRO (rho = 100), for a grid of (alpha, beta, budget), with both methods (``oa``:
  exact outer approximation; ``misocp``: the paper's direct formulation);
* the reference model files under ``instances/models/`` (.mps/.lp/.cbf, known optima);

across every installed solver, each run in its own process with a hard time limit. It prints the
comparison table, checks every ERM row against ``../shared/data/hm14_reference.csv`` (a proven bound
below a reference value, or an exact value above an enumerated optimum, is a wrong result), and
writes JSON/CSV, the gap-over-time + performance-profile PNG and an interactive HTML to
``benchmarks/out/``. Re-running with ``--resume`` continues an interrupted sweep.

Usage::

    python benchmarks/solver_comparison.py --quick            # a few minutes
    python benchmarks/solver_comparison.py --time-limit 120 --jobs 2
    python benchmarks/solver_comparison.py --dask tcp://scheduler:8786
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sys
from pathlib import Path
from typing import Any

from dro_opt.compare import CompareConfig, parse_targets, run_compare
from dro_opt.compare.plots import profile_groups, write_plot
from dro_opt.compare.profiles import performance_profile
from dro_opt.compare.table import ProgressDisplay, print_table
from dro_opt.solvers.registry import SOLVER_NAMES, get_backend

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
MODELS = ROOT / "instances" / "models"
OUT = ROOT / "benchmarks" / "out"


def hm14_targets(
    dims: list[int], params: list[tuple[float, float]], budgets: list[int], rho_chi2: float
) -> list[str]:
    """``mc-flp:`` specs for HM14 N=800: ERM and chi-square rows."""
    specs = []
    for d, (alpha, beta), r in itertools.product(dims, params, budgets):
        path = DATA / "hm14" / f"HM14_800_{d}.data"
        if not path.is_file():
            print(f"skipping D={d}: {path} not found", file=sys.stderr)
            continue
        base = f"mc-flp:{path}?alpha={alpha:g}&beta={beta:g}&budget={r}"
        specs.append(base + "&objective=erm")
        specs.append(base + f"&objective=chi2&rho={rho_chi2:g}")
    return specs


def model_targets(names: list[str] | None = None) -> list[str]:
    """Reference model files (all, or the given file names) under ``instances/models``."""
    files = sorted(p for ext in ("mps", "lp", "cbf") for p in MODELS.glob(f"*.{ext}"))
    return [str(p) for p in files if names is None or p.name in names]


def reference_check(rows: list[dict[str, Any]]) -> list[str]:
    """Compare ERM rows with hm14_reference.csv; returns one line per checked row."""
    ref_path = DATA / "hm14_reference.csv"
    if not ref_path.is_file():
        return []
    ref = {}
    with ref_path.open() as fh:
        for r in csv.DictReader(fh):
            key = (r["instance"], float(r["alpha"]), float(r["beta"]), int(r["budget"]))
            ref[key] = (float(r["objective"]), r["status"])
    lines = []
    for row in rows:
        t = parse_targets([row["target"]])[0] if row["target"].startswith("mc-flp:") else None
        if t is None or t.params.get("objective") != "erm" or t.path is None:
            continue
        key = (t.path.stem, t.params["alpha"], t.params["beta"], t.params["budget"])
        if key not in ref:
            continue
        value, status = ref[key]
        tol = 1e-6 * max(1.0, abs(value))
        verdict = "ok"
        if row.get("bound") is not None and row["bound"] < value - tol:
            verdict = "WRONG: proven bound below the reference value"
        elif status == "enumerated" and (row.get("objective") or -1e300) > value + tol:
            verdict = "WRONG: value above the enumerated optimum"
        elif row.get("status") == "optimal" and abs(row["objective"] - value) > tol:
            verdict = "better than reference" if row["objective"] > value else "WRONG: not optimal"
        lines.append(
            f"{key[0]} a={key[1]:g} b={key[2]:g} r={key[3]} {row['solver']}/{row['method']}: "
            f"{row['status']} {row.get('objective')} vs ref {value} ({status}): {verdict}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small subset (D=25, 2 solvers)")
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--dask", metavar="ADDRESS")
    ap.add_argument("--solvers", help="default: every installed solver")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)

    if args.quick:
        specs = hm14_targets([25], [(0.05, 1.0)], [3], 100.0) + model_targets(
            ["milp.mps", "misocp.cbf", "miexp.cbf"]
        )
        solvers = ["scip", "highs"]
        time_limit = args.time_limit or 20.0
    else:
        specs = (
            hm14_targets([25, 50, 100], [(0.05, 1.0), (0.1, 2.0), (0.2, 10.0)], [2, 5, 10], 100.0)
            + model_targets()
        )
        solvers = [n for n in SOLVER_NAMES if get_backend(n).is_installed()]
        time_limit = args.time_limit or 120.0
    if args.solvers:
        solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    args.out.mkdir(parents=True, exist_ok=True)
    name = "solver_comparison_quick" if args.quick else "solver_comparison"
    config = CompareConfig(
        solvers=solvers, methods=("oa", "misocp"), time_limit=time_limit, jobs=args.jobs
    )
    print(
        f"{len(specs)} targets x {len(solvers)} solvers ({', '.join(solvers)}), "
        f"time limit {time_limit:g} s, jobs {args.jobs}"
        + (f", dask {args.dask}" if args.dask else "")
    )
    display = ProgressDisplay()
    try:
        outcome = run_compare(
            parse_targets(specs),
            config,
            json_path=args.out / f"{name}.json",
            csv_path=args.out / f"{name}.csv",
            resume=args.resume,
            dask_address=args.dask,
            on_start=display.start,
            on_row=display.update,
        )
    finally:
        display.stop()
    print_table(outcome.rows, outcome.conflicts)
    for group, rows in profile_groups(outcome.rows):
        prof = performance_profile(rows)
        print(f"\n{group}: fraction of {len(prof.problems)} targets proven optimal, and wins")
        wins = (prof.ratios == 1.0).mean(axis=0)
        for j, (cfg, frac) in enumerate(prof.fraction_solved().items()):
            print(f"  {cfg:<20} solved {frac:.2f}  fastest {wins[j]:.2f}")
    checks = reference_check(outcome.rows)
    if checks:
        print("\nERM rows vs ../shared/data/hm14_reference.csv:")
        print("\n".join("  " + line for line in checks))
    for suffix in (".png", ".html"):
        print(f"wrote {write_plot(outcome.rows, args.out / (name + suffix))}")
    print(f"rows: {args.out / (name + '.json')}, failed runs: {len(outcome.failed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
