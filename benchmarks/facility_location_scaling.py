"""How the exact outer approximation (``solve_oa``) scales with the number of customers N.

Rows: N in ``--sizes`` (default 1e4, 1e5, 1e6), 59 candidate sites, budget r = 6, ERM and
chi-square DRO (``--rhos``, default 1e3), gap 1e-4, on generated instances of one family:

* ``--family nyc`` (default): the project's city-like generator ``instances/nyc_synthetic.py``
  (clustered population, site quality; seed 0) with N customers;
* ``--family uniform``: customers, 59 sites and 5 competitors uniform in a 30 x 30 square,
  integer weights 1..59, Euclidean distances, HM14 utilities with alpha = 0.5, beta = 0.3
  (:func:`uniform_instance`; flat utilities, the harder family).

Every row runs in its own process (peak resident memory of that process, ``ru_maxrss``, which
includes the instance itself: ``N * 59`` doubles of log-odds) and prints: wall seconds of the
whole solve, its build part (oracle, initial cuts, tightening, master model), status and gap,
fractional / integer separation rounds, branch-and-bound nodes, peak memory, the time of ONE
exact evaluation of the objective at the returned decision (``objectives.evaluate``, best of
3: the physical floor, every certified solve needs a few), and the ratios of time, rounds and
memory to the smallest-N row of the same objective, measured in the same run.

``--compare-with DIR`` also runs every row with ``DIR`` first on ``PYTHONPATH`` (an older
checkout, e.g. ``git archive <commit> | tar -x -C DIR``: its ``dro_opt.algorithms``), right after
the current code's row, and prints the time ratio old / new side by side.

Measured on this 2-core machine shared with other jobs (load average 5-11: absolute seconds
are inflated and vary by 3x between runs; compare within one run)::

    --sizes 10000,100000 --compare-with <checkout of 49772aa, before the one-pass separation>
       erm   N=1e4    2.20 s optimal 33 rounds 146 MiB | old  5.81 s 33 rounds  147 MiB  2.6x
       erm   N=1e5   47.84 s optimal 34 rounds 382 MiB | old 184.66 s 34 rounds 583 MiB  3.9x
       chi2 1e3 1e4  12.53 s optimal 36 rounds 251 MiB | old 18.18 s 31 rounds  150 MiB  1.5x
       chi2 1e3 1e5  75.08 s optimal 28 rounds 492 MiB | old 108.82 s 28 rounds 596 MiB  1.4x
    --family uniform --sizes 82341 --rhos 1000 --compare-with (same), 400 s limit, both stopped:
       erm   gap 2.8e-3 after 235 rounds, 90 nodes | old 44 rounds
       chi2  gap 9.0e-3 after 120 rounds, 34 nodes | old 85 rounds
    --sizes 10000,100000 (load about 5): erm 1.68 s / 14.06 s (8.4x), chi2 3.31 s / 25.93 s
       (7.8x); one exact evaluation 0.0085 s / 0.156 s (before it read all N x D columns)
    --sizes 1000000 --rhos "" (before the blocked initial cuts): erm 273 s (build 54 s), 33
       rounds, peak 4.8 GB, one exact evaluation 1.1 s
    --sizes 100000,1000000 --rhos "" (final code, load about 10):
       erm   N=1e5  134.57 s (build 16.95) optimal 34 rounds  352 MiB  eval 0.070 s
       erm   N=1e6  619.68 s (build 123.9) optimal 33 rounds 2195 MiB  eval 0.295 s  4.6x time

After the scaled-units cut arithmetic and 8 SCIP root rounds (commit 4d30cce; ``cpu s`` is
``time.process_time`` of ``solve_oa``, the meaningful figure when the load is 10-12 on 2
cores; old = 85e28b5, interleaved in the same run)::

    --sizes 82341 --seeds 0,1 --budgets 3,6,10 --rhos "" --repeat 1 --compare-with <85e28b5>
       seed r  wall s  cpu s  rounds nodes MiB | old wall  old cpu rounds  wall o/n  cpu o/n  load
       0    3   12.28   1.46    8     3    261 |   41.92     5.39    26       3.4      3.7   10.1
       0    6   13.76   2.48    8     1    293 |   63.13     8.92    26       4.6      3.6   11.1
       0   10   23.82   3.96   12     5    363 |   92.67    13.65    26       3.9      3.4   11.8
       1    3   10.49   1.56    8     1    261 |   48.58     7.27    36       4.6      4.7   12.1
       1    6   20.87   2.97   10     3    293 |   57.68     9.59    25       2.8      3.2   11.1
       1   10   23.51   4.21    8     1    360 |   92.83    14.61    19       3.9      3.5   10.1
    --sizes 10000,100000,1000000 --rhos "" (a574cfa, 30 root rounds, load 10-14):
       N=1e4  8.76 s wall  0.72 s cpu 33 rounds  135 MiB  eval 0.0003 s
       N=1e5 81.28 s wall  6.81 s cpu 34 rounds  339 MiB  eval 0.080 s
       N=1e6 543.7 s wall 43.49 s cpu 33 rounds 2389 MiB  eval 1.0 s  (1e6/1e5: 6.7x, 6.4x cpu)
    --family uniform --sizes 82341 --rhos "" (a574cfa, load 12.8): 581 s wall, 38.1 s cpu,
       optimal, 265 rounds, 152 nodes, 451 MiB (the tree, not the round cost, is the problem)

After the top-2r tables, per-column ranks, flat gathers and scaled-unit exact values (commit
7f14aac; old = 0284241, interleaved new, old, new, ... in the same run, median of 3 by wall
time; ``cpu s`` of that run)::

    --sizes 82341 --seeds 0,1 --budgets 3,6,10 --rhos "" --repeat 3 --compare-with <0284241>
       seed r  wall s  cpu s  rounds nodes MiB | old wall  old cpu rounds  wall o/n  cpu o/n  load
       0    3    4.98   1.06    8     3    219 |    7.46     1.78     8       1.5      1.7   11.4
       0    6    6.79   1.35    8     1    248 |   11.33     2.40     8       1.7      1.8   11.4
       0   10   14.05   2.82   12     5    374 |   20.68     4.43    12       1.5      1.6   11.4
       1    3    4.34   0.89    8     1    219 |    6.40     1.45     8       1.5      1.6   11.3
       1    6    6.13   1.49   10     3    250 |    9.78     2.50    10       1.6      1.7   11.4
       1   10   11.70   2.32    8     1    374 |   19.04     4.29     8       1.6      1.8   10.7
    the same command on 93b0ae3 (final code of this change, load 9.9-11.7), cpu s new / old:
       seed 0: r=3 1.01 / 1.53, r=6 1.59 / 2.73, r=10 2.91 / 4.45 (wall 7.7 / 7.8 / 15.6 s)
       seed 1: r=3 0.85 / 1.44, r=6 1.67 / 2.70, r=10 2.61 / 4.41 (wall 4.1 / 4.3 / 6.7 s)
       same rounds and optimum as old; cpu o/n 1.5-1.7, wall o/n 1.3-1.7
    --family uniform --sizes 82341 --rhos "" --compare-with <0284241> (load 8.8-13.8):
       323.2 s wall, 45.4 s cpu, optimal, 455 + 2 rounds, 270 nodes, 491 MiB
       | old 397.6 s wall, 60.5 s cpu, 457 rounds, 536 MiB (1.2x wall, 1.3x cpu)
    --hm14-d100 (7f14aac, 108 rows, load 7-11, nice 10): CPU median 0.23 s, max 60.9 s;
       wall median 1.13 s, max 271 s; over 10 s CPU: (alpha, beta, r) = (0.1, 1, 9) 15.3,
       (0.1, 1, 10) 20.5, (0.2, 1, 7) 12.2, (0.2, 1, 8) 13.5, (0.2, 1, 9) 26.5,
       (0.2, 1, 10) 60.9 (session 5: median 0.30, max 55.9): the tree (SCIP's LP and strong
       branching, :mod:`dro_opt.algorithms.oa_core`), not the cut arithmetic
    --sizes 10000,100000,1000000 --rhos "" (93b0ae3, load 6.3-11.5, nice 10):
       N=1e4   8.38 s wall  0.27 s cpu  8 rounds 1 node   117 MiB  eval 0.0003 s
       N=1e5  49.65 s wall  1.76 s cpu  9 rounds 3 nodes  280 MiB  eval 0.138 s
       N=1e6 117.70 s wall 15.91 s cpu 11 rounds 2 nodes 1799 MiB  eval 0.686 s
       (1e6 / 1e5: 9.0x cpu, 2.4x wall; at 1e6: 7f14aac 23.90 s cpu, 1939 MiB; a574cfa
       43.5 s cpu, 2389 MiB; separate runs, not interleaved)

Session 8 (``--targets``, final code, CPU s, load about 1-2 with a test run beside it): city
ERM r = 3 / 6 / 10, seeds 0 / 1: 0.89 / 0.96 / 1.96 and 0.91 / 1.19 / 1.66 (median 1.08, target
1); chi-square r = 6, rho = 1e2 / 1e3 / 1e4: 1.32 / 1.85 / 3.11 and 1.53 / 1.57 / 2.37 (target 3);
N = 1e5 / 1e6 ERM r = 6: 1.21 / 11.75 s (9.7x), peak 1.41 GB; uniform ERM 23.5 s, 387 rounds,
chi-square rho = 1e3 57.7 s, 729 rounds (session start: 49.0 s / 109 s)::

    python benchmarks/facility_location_scaling.py --targets city
    python benchmarks/facility_location_scaling.py --targets million
    python benchmarks/facility_location_scaling.py --targets uniform --time-limit 900

(The peak MiB includes the interpreter and the imports of the tree that runs: the chi-square
N = 1e4 difference above is the import baseline, 178 vs 72 MiB, not the algorithm.)

Run from the repository root (2 shared cores)::

    python benchmarks/facility_location_scaling.py --sizes 82341 --seeds 0,1 --budgets 3,10 --rhos=
    python benchmarks/facility_location_scaling.py --hm14-d100
    python benchmarks/facility_location_scaling.py --sizes 10000,100000
    python benchmarks/facility_location_scaling.py --family uniform --sizes 82341 --rhos 1000
    python benchmarks/facility_location_scaling.py --sizes 10000,100000 --compare-with /tmp/old
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
from scipy.special import logsumexp

from dro_opt.algorithms.capture_objectives import evaluate
from dro_opt.algorithms.submodular_oa import solve_oa
from dro_opt.models.facility_location.instance import MCFLPInstance

SITES, COMPETITORS, BUDGET, GAP = 59, 5, 6, 1e-4


def uniform_instance(
    customers: int, seed: int = 0, *, alpha: float = 0.5, beta: float = 0.3, side: float = 30.0
) -> MCFLPInstance:
    """Uniform square instance (module docstring): ``a_nd = -beta c_nd - logsumexp_e(-alpha beta
    k_ne)`` with ``c``, ``k`` the Euclidean distances to the sites and the competitors
    (HM14 utilities, docs/facility_location.md)."""
    rng = np.random.default_rng(seed)
    clients = rng.uniform(0.0, side, size=(customers, 2))
    q = rng.integers(1, 60, size=customers).astype(float)
    sites = rng.uniform(0.0, side, size=(SITES, 2))
    rivals = rng.uniform(0.0, side, size=(COMPETITORS, 2))
    c = np.sqrt(((clients[:, None, :] - sites[None, :, :]) ** 2).sum(axis=2))
    k = np.sqrt(((clients[:, None, :] - rivals[None, :, :]) ** 2).sum(axis=2))
    a = -beta * c - logsumexp(-alpha * beta * k, axis=1)[:, None]
    return MCFLPInstance(q=q, a=a, name=f"uniform_{customers}_s{seed}")


def make_instance(family: str, customers: int, seed: int = 0) -> MCFLPInstance:
    if family == "uniform":
        return uniform_instance(customers, seed)
    from dro_opt.instances.nyc_synthetic import generate_nyc_synthetic

    return generate_nyc_synthetic(seed, customers=customers)


def run_row(
    family: str, customers: int, rho: float, time_limit: float, seed: int = 0, budget: int = BUDGET
) -> dict:
    """One solve (called in a child process); returns the measured figures."""
    inst = make_instance(family, customers, seed)
    objective = "erm" if rho == 0 else "chi2"
    t0, c0 = time.perf_counter(), time.process_time()
    res = solve_oa(inst, budget, objective, rho, gap=GAP, time_limit=time_limit)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    evals = []
    for _ in range(3):
        t1 = time.perf_counter()
        evaluate(inst.a, inst.q, res.z, objective, rho)
        evals.append(time.perf_counter() - t1)
    fields = dict(part.split("=", 1) for part in res.message.split() if "=" in part)
    return {
        "N": customers,
        "rho": rho,
        "seconds": seconds,
        "cpu": cpu,
        "build": res.build_seconds,
        "status": res.status.value,
        "gap": res.gap,
        "value": res.value,
        "frac_rounds": int(fields.get("frac_rounds", "0").rstrip(";")),
        "rounds": res.iterations,
        "nodes": res.nodes,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "eval_seconds": min(evals),
        "load": os.getloadavg()[0],
    }


def hm14_d100(time_limit: float, quick: bool) -> int:
    """HM14_800_100 ERM (gap 1e-6) on the grid alpha in {0.05, 0.1, 0.2}, beta in
    {1, 2, 5, 10}, r = 2..10 (``--quick``: r in {2, 10}), side by side in one process: the
    default route (master slice, then the ERM branch-and-bound of
    :mod:`dro_opt.algorithms.oa_erm_branch_and_bound`) and the master alone
    (``branch_and_bound=False``), alternating which runs first; CPU and wall seconds per row,
    the CPU ratio, medians and maxima."""
    from pathlib import Path

    from dro_opt.models.facility_location.hm14 import read_hm14

    data = Path(__file__).resolve().parents[2] / "shared" / "data"
    path = data / "hm14" / "HM14_800_100.data"
    if not path.exists():
        print(f"data not found: {path}", file=sys.stderr)
        return 2
    print("## ERM, HM14_800_100, gap 1e-6, 1 thread: default route | master alone (load before)")
    routes = {"default": True, "master": False}
    cpus: dict[str, list[float]] = {name: [] for name in routes}
    walls: dict[str, list[float]] = {name: [] for name in routes}
    row = 0
    for alpha in (0.05, 0.1, 0.2):
        for beta in (1.0, 2.0, 5.0, 10.0):
            inst = read_hm14(path, alpha, beta)
            for b in (2, 10) if quick else range(2, 11):
                load = os.getloadavg()[0]
                names = list(routes) if row % 2 == 0 else list(routes)[::-1]
                got = {}
                for name in names:
                    c0 = time.process_time()
                    res = solve_oa(
                        inst, b, "erm", gap=1e-6, time_limit=time_limit,
                        branch_and_bound=routes[name],
                    )  # fmt: skip
                    got[name] = (time.process_time() - c0, res)
                    cpus[name].append(got[name][0])
                    walls[name].append(res.seconds)
                row += 1
                (c_new, r_new), (c_old, r_old) = got["default"], got["master"]
                same = abs(r_new.value - r_old.value) <= 1e-6 * max(1.0, abs(r_old.value))
                print(
                    f"HM14_800_100 {alpha:5.2f} {beta:4.0f} {b:2d}  cpu {c_new:7.2f} wall "
                    f"{r_new.seconds:7.2f} {r_new.status.value:>8} | cpu {c_old:7.2f} wall "
                    f"{r_old.seconds:7.2f} {r_old.status.value:>8} | old/new cpu "
                    f"{c_old / max(c_new, 1e-9):5.2f}  {r_new.value:12.6f}"
                    f"{'' if same else ' VALUES DIFFER'}  load {load:.1f}",
                    flush=True,
                )
    for name in routes:
        c, w = cpus[name], walls[name]
        print(
            f"  {name:>7}: CPU median {statistics.median(c):.3f} max {max(c):.2f}, rows over "
            f"10 CPU s {sum(x > 10 for x in c)}; wall median {statistics.median(w):.3f} max "
            f"{max(w):.2f}; rows {len(c)}"
        )
    print(f"  load at the end: {os.getloadavg()[0]:.1f}")
    return 0


#: issue 10's targets: (kind, rows as (family, N, seed, r, rho), what is compared, limit)
TARGETS = {
    "city": [
        ("ERM r in {3, 6, 10}, seeds 0, 1: median", "median", 1.0,
         [("nyc", 82341, s, r, 0.0) for s in (0, 1) for r in (3, 6, 10)]),
        ("chi-square rho in {1e2, 1e3, 1e4}, r = 6, seeds 0, 1: every row", "max", 3.0,
         [("nyc", 82341, s, 6, rho) for s in (0, 1) for rho in (1e2, 1e3, 1e4)]),
    ],
    "uniform": [
        ("uniform ERM, r = 6", "max", 5.0, [("uniform", 82341, 0, 6, 0.0)]),
        ("uniform chi-square rho = 1e3, r = 6", "max", 20.0, [("uniform", 82341, 0, 6, 1e3)]),
    ],
    "million": [
        ("ERM r = 6, N = 1e5 and 1e6 (ratio <= 10, memory < 8 GB)", "ratio", 10.0,
         [("nyc", 100_000, 0, 6, 0.0), ("nyc", 1_000_000, 0, 6, 0.0)]),
    ],
}  # fmt: skip


def targets(args) -> int:
    """Run the target rows of ``--targets KIND`` (each in its own process) and print, per
    target, the measured wall and CPU figure beside the limit, and whether every row was
    proven optimal (gap 1e-4)."""
    print(f"## issue-10 targets: {args.targets} (gap {GAP}, 1 thread, load before each row)")
    summary = []
    for label, how, limit, rows in TARGETS[args.targets]:
        got = []
        for family, N, seed, budget, rho in rows:
            args.family = family
            row = _child(args, N, rho, seed, budget)
            if not isinstance(row, dict):
                print(f"  {family} N={N} seed={seed} r={budget} rho={rho:g}: {row}")
                continue
            got.append(row)
            print(
                f"  {family:>7} N={N:>7} seed={seed} r={budget:>2} rho={rho:>7g}: "
                f"{row['seconds']:7.2f} s wall {row['cpu']:7.2f} s cpu {row['status']:>10} "
                f"{row['frac_rounds'] + row['rounds']:>4} rounds {row['peak_mib']:6.0f} MiB "
                f"load {row['load']:.1f}",
                flush=True,
            )
        if len(got) < len(rows):
            summary.append(f"{label}: {len(rows) - len(got)} row(s) failed")
            continue
        proven = all(r["status"] == "optimal" for r in got)
        if how == "ratio":
            wall = got[1]["seconds"] / got[0]["seconds"]
            cpu = got[1]["cpu"] / got[0]["cpu"]
            extra = f", peak {got[1]['peak_mib'] / 1024:.2f} GB"
            ok = proven and cpu <= limit and got[1]["peak_mib"] < 8 * 1024
        else:
            pick = statistics.median if how == "median" else max
            wall = pick(r["seconds"] for r in got)
            cpu = pick(r["cpu"] for r in got)
            extra = ""
            ok = proven and cpu <= limit
        summary.append(
            f"{label}: {how} {wall:.2f} wall / {cpu:.2f} cpu vs target {limit:g}{extra}; "
            f"all proven: {proven}; met (cpu): {'yes' if ok else 'NO'}"
        )
    print("## summary")
    for line in summary:
        print("  " + line)
    return 0


def _old_columns(old: dict | None, row: dict) -> str:
    """Side-by-side columns of the older checkout's run of the same row ('' if none)."""
    if old is None:
        return ""
    rounds = old["frac_rounds"] + old["rounds"]
    cpu = ""
    if "cpu" in old:
        cpu = f" {old['cpu']:>7.2f} {old['cpu'] / row['cpu']:>7.1f}"
    return (
        f" | {old['seconds']:>8.2f} {old['status']:>10} {rounds:>7} {old['peak_mib']:>8.0f} "
        f"{old['seconds'] / row['seconds']:>7.1f}{cpu}"
    )


def _child(args, N: int, rho: float, seed: int, budget: int, env=None) -> dict | str:
    cmd = [sys.executable, __file__, "--family", args.family, "--row", str(N), str(rho)]
    cmd += ["--time-limit", str(args.time_limit), "--seeds", str(seed), "--budgets", str(budget)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if out.returncode != 0:
        return f"failed: {out.stderr.strip().splitlines()[-1:]}"
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--rhos", default="1000", help="chi-square radii (ERM always runs)")
    ap.add_argument("--family", choices=("nyc", "uniform"), default="nyc")
    ap.add_argument("--seeds", default="0", help="instance seeds (comma list)")
    ap.add_argument("--budgets", default=str(BUDGET), help="budgets r (comma list)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per row: median and min")
    ap.add_argument("--time-limit", type=float, default=600.0)
    ap.add_argument("--compare-with", metavar="DIR", help="older checkout to time side by side")
    ap.add_argument("--hm14-d100", action="store_true", help="HM14_800_100 ERM grid instead")
    ap.add_argument("--quick", action="store_true", help="with --hm14-d100: r in {2, 10}")
    ap.add_argument(
        "--targets",
        choices=("city", "uniform", "million"),
        help="the issue-10 target rows of one kind, then a summary against the targets",
    )
    ap.add_argument("--row", nargs=2, metavar=("N", "RHO"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.repeat < 1:
        print("--repeat must be >= 1", file=sys.stderr)
        return 2
    seeds = [int(x) for x in args.seeds.split(",") if x]
    budgets = [int(x) for x in args.budgets.split(",") if x]
    if args.row:  # child process: one row, JSON on stdout
        row = run_row(
            args.family, int(args.row[0]), float(args.row[1]), args.time_limit, seeds[0], budgets[0]
        )
        print(json.dumps(row))
        return 0
    if args.hm14_d100:
        return hm14_d100(args.time_limit, args.quick)
    if args.targets:
        return targets(args)
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    rhos = [0.0] + [float(r) for r in args.rhos.split(",") if r]
    print(f"## scaling in N: family {args.family}, {SITES} sites, gap {GAP}, "
          f"time limit {args.time_limit:g} s, 1 thread, each run in its own process, "
          f"{args.repeat} run(s) per row (median; 'runs' lists all)")  # fmt: skip
    head = (
        f"{'objective':>12} {'seed':>4} {'r':>3} {'N':>8} {'seconds':>8} {'cpu s':>7} "
        f"{'build s':>8} {'status':>10} {'gap':>8} {'frac rnd':>8} {'int rnd':>7} {'nodes':>6} "
        f"{'peak MiB':>9} {'1 eval s':>9} {'x time':>7} {'x rounds':>8} {'x mem':>6} {'load':>5}"
    )
    if args.compare_with:
        head += f" | {'old s':>8} {'old status':>10} {'old rnd':>7} {'old MiB':>8} {'old/new':>7}"
        head += f" {'old cpu':>7} {'cpu o/n':>7}"
    print(head + "  runs")
    for rho in rhos:
        for seed in seeds:
            for budget in budgets:
                base = None
                for N in sizes:
                    runs, olds = [], []
                    for _ in range(args.repeat):  # interleaved: new, old, new, old, ...
                        runs.append(_child(args, N, rho, seed, budget))
                        if args.compare_with:
                            env = dict(os.environ, PYTHONPATH=args.compare_with)
                            olds.append(_child(args, N, rho, seed, budget, env))
                    good = [r for r in runs if isinstance(r, dict)]
                    if not good:
                        print(f"{'':>12} {seed:>4} {budget:>3} {N:>8} {runs[0]}")
                        continue
                    row = sorted(good, key=lambda r: r["seconds"])[len(good) // 2]
                    good_old = [r for r in olds if isinstance(r, dict)]
                    old = (
                        sorted(good_old, key=lambda r: r["seconds"])[len(good_old) // 2]
                        if good_old
                        else None
                    )
                    base = base or row
                    rounds = row["frac_rounds"] + row["rounds"]
                    base_rounds = max(base["frac_rounds"] + base["rounds"], 1)
                    name = "erm" if rho == 0 else f"chi2 {rho:g}"
                    gap = "-" if row["gap"] is None else f"{row['gap']:.1e}"
                    all_s = ",".join(f"{r['seconds']:.2f}" for r in good)
                    print(
                        f"{name:>12} {seed:>4} {budget:>3} {N:>8} {row['seconds']:>8.2f} "
                        f"{row['cpu']:>7.2f} "
                        f"{row['build']:>8.2f} {row['status']:>10} {gap:>8} "
                        f"{row['frac_rounds']:>8} {row['rounds']:>7} "
                        f"{row['nodes'] if row['nodes'] is not None else '-':>6} "
                        f"{row['peak_mib']:>9.0f} {row['eval_seconds']:>9.4f} "
                        f"{row['seconds'] / base['seconds']:>7.1f} {rounds / base_rounds:>8.1f} "
                        f"{row['peak_mib'] / base['peak_mib']:>6.1f} {row['load']:>5.1f}"
                        + _old_columns(old, row)
                        + f"  {all_s}",
                        flush=True,
                    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
