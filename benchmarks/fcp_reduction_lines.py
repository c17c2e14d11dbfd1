# ruff: noqa: E501  (the docstring quotes the measured wide table verbatim)
"""MC-FCP full size: which clustering line, how many centroids, for the smallest certified gap.

One row of paper 003 Table 3 (``m = 7``, ERM and VR ``rho = 1E3``) on the NYC-synthetic stand-in
of benchmarks/fcp_tables.py (4,000 training clients x 59 locations), every solve under the same
SCIP limit in CPU seconds. For each number of centroids it prints, from ONE solve, two rigorous
certificates that share SCIP's bound on the reduced model and the exact full-data ``lower``:

* ``coupling``: the first-order line ``E_pi[d] (+ sqrt(2 rho / n) rms_pi(d))`` of the per-pair
  bounds (models/facility_cost/reduce.py; the line of every earlier figure);
* ``taylor``: the per-cluster line of ``representative_line`` with the second-order bound of
  models/facility_cost/cluster_taylor.py (the default since this script was added).

``model part`` = SCIP's bound minus the exact value of the returned decision on the reduced data
(what more SCIP time could close); ``gap`` = upper - lower on the full data. Run from the
repository root (long: use ``nice``)::

    nice -n 10 python benchmarks/fcp_reduction_lines.py [--clusters 200 400 800] [--time-limit 60]

Measured 2026-12-01 (see the LATEST section of benchmarks/fcp_tables.py for the table).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fcp_tables import split

from dro_opt.models.facility_cost import solve_mc_fcp
from dro_opt.models.facility_cost.objective import capture_probabilities, evaluate


def _cpu() -> float:
    """CPU seconds of this process and its finished children."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def row(train, m: float, rho: float, clusters: int, limit: float, seed: int) -> dict:
    """One CPU-limited secant solve on ``clusters`` centroids; both certificates."""
    objective = "erm" if rho == 0 else "variance"
    t0, c0 = time.perf_counter(), _cpu()
    res = solve_mc_fcp(
        train, m, objective, rho, pieces=4, clusters=clusters, seed=seed,
        solver_options={"timing/clocktype": 1, "limits/time": limit},
    )  # fmt: skip
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    z = res.solution["z"]
    assert abs(res.objective - evaluate(train, z, objective, rho)) <= 1e-9
    info, bound = res.extra["reduction"], res.extra["model_bound"]
    cap = float(train.q @ capture_probabilities(train, np.minimum(train.upper, m))) / train.n
    if bound is None or not np.isfinite(bound):
        bound = np.inf
    lower = res.objective
    on_solved = res.extra["model_value_of_decision"]
    out = dict(clusters=clusters, rho=rho, lower=lower, bound=bound, wall=wall, cpu=cpu)
    out["model_part"] = bound - (on_solved if on_solved is not None else np.nan)
    for name, line in (("coupling", info["coupling_bound"]), ("taylor", info["error_bound"])):
        upper = min(bound + line, cap)  # the capture cap of solve.py
        out[name] = (line, upper, upper - lower)
    out["load"] = os.getloadavg()[0]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clusters", type=int, nargs="+", default=[200, 400, 800])
    ap.add_argument("--rhos", type=float, nargs="+", default=[0.0, 1e3])
    ap.add_argument("--budget", type=float, default=7.0)
    ap.add_argument("--time-limit", type=float, default=60.0, help="SCIP CPU seconds per solve")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    train, _ = split(args.seed, 5000, 59)
    print(
        f"MC-FCP NYC-synthetic {train.num_clients} training clients x {train.num_locations}, "
        f"m = {args.budget:g}, secant K = 4, SCIP {args.time_limit:g} CPU s per solve; "
        f"load {os.getloadavg()[0]:.2f}"
    )
    print(
        "  setting  centroids  lower    SCIP bound  model part | coupling line  upper   gap  "
        "| taylor line  upper   gap   | gap ratio  CPU s  wall s  load"
    )
    for rho in args.rhos:
        for k in args.clusters:
            r = row(train, args.budget, rho, k, args.time_limit, args.seed)
            (lc, uc, gc), (lt, ut, gt) = r["coupling"], r["taylor"]
            setting = "ERM" if rho == 0 else f"1E{round(np.log10(rho))}"
            print(
                f"  {setting:>7}  {k:>9}  {r['lower']:.4f}  {r['bound']:.4f}      {r['model_part']:.4f}  "
                f"|  {lc:.4f}      {uc:.4f}  {gc:.4f} |  {lt:.4f}     {ut:.4f}  {gt:.4f} "
                f"|  {gt / gc:.2f}     {r['cpu']:5.1f}  {r['wall']:6.1f}  {r['load']:.2f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
