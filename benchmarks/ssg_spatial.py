"""Certified gap of the security game: spatial branch-and-bound vs the PWLA MISOCP, side by side.

For every (M targets, rho) cell, on the same generated games (``generate_ssg(M, N, seed)``) and
the same wall-clock limit, this prints the certified relative gap ``(upper - lower) / max(1,
|lower|)`` and the CPU seconds of

* ``solve_ssg(method="spatial")`` (:mod:`dro_opt.models.security_game.spatial`: no PWLA,
  second-order box bounds; nodes printed), and
* ``solve_ssg(method="misocp", pieces=K)`` (PWLA MISOCP on SCIP with the ball dual, the default
  route),

and the lower values' difference (both are exact objectives of their decisions). Run from the
repository root (2-core shared machine: wall limits are shared with other jobs; CPU seconds are
``time.process_time`` of the call, SCIP included: it runs in the process, one thread)::

    python benchmarks/ssg_spatial.py                      # M = 2..5, rho 1e3 / 1e6, N = 12
    python benchmarks/ssg_spatial.py --targets 3,4 --rhos 10,1e4 --types 24 --limit 30

Measured (session 7, ``python benchmarks/ssg_spatial.py --limit 60``, nice 5, load 0.9-2 (one
other job); "lower sp - mi" >= 0 up to rounding: the spatial decision is never worse)::

    VR, N = 12, K = 12, limit 60 s per solve; load 0.87
     M     rho seed | spatial gap   cpu s   nodes | misocp gap   cpu s | lower sp - mi
     2   1e+03    0 |    4.10e-05     0.4      91 |   3.52e-01    12.9 |      0.00e+00
     2   1e+06    0 |    9.66e-05     0.3     163 |   7.18e-01    12.7 |      0.00e+00
     3   1e+03    0 |    9.64e-05     0.7     455 |   2.49e-01    40.2 |      8.88e-16
     3   1e+06    0 |    7.96e-05     2.3     785 |   5.81e-01    25.1 |      4.36e-05
     4   1e+03    0 |    9.78e-05     5.8    2249 |   2.50e-01    59.3 |     -1.78e-15
     4   1e+06    0 |    9.82e-05     7.9    3531 |   4.49e-01    59.3 |      0.00e+00
     5   1e+03    0 |    9.94e-05    23.8   10115 |   3.32e-01    59.3 |      1.78e-15
     5   1e+06    0 |    9.99e-05    55.8   22063 |   8.38e-01    59.2 |      1.49e-04

The spatial B&B proves 1e-4 for M = 2-5 at rho 1e3 and 1e6 in 0.3-56 CPU s (the second-order
bound with the P-weighted Hessian, ``spatial_bounds.quadratic_bound``, halved the nodes: before
it, M = 5 ended at 0.94 % / 10.9 % in 60 s). The PWLA MISOCP (K = 12, SCIP, ball dual) ends at
its 60 s limit with certified gaps 0.25-0.84: its PWLA error is multiplied by ``sum |P_n|``. The
MISOCP's strength is many targets, where the spatial B&B's node count (about C^M) is out of
reach (M = 10, N = 20, rho 1e3: no useful bound in 60 s).
"""

from __future__ import annotations

import argparse
import time

from dro_opt.models.security_game import generate_ssg
from dro_opt.models.security_game.solve import solve_ssg


def _run(inst, rho: float, limit: float, **kw) -> tuple[float, float, float, object]:
    t = time.process_time()
    res = solve_ssg(inst, "variance", rho, gap=1e-4, time_limit=limit, **kw)
    cpu = time.process_time() - t
    gap = res.certificate.gap
    return (float("inf") if gap is None else gap), cpu, res.objective, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--targets", default="2,3,4,5", help="comma list of M")
    ap.add_argument("--rhos", default="1e3,1e6", help="comma list of rho (VR objective)")
    ap.add_argument("--types", type=int, default=12, help="attacker types N")
    ap.add_argument("--seeds", default="0", help="comma list of game seeds")
    ap.add_argument("--pieces", type=int, default=12, help="K of the MISOCP")
    ap.add_argument("--limit", type=float, default=60.0, help="wall seconds per solve")
    args = ap.parse_args()
    print(f"VR, N = {args.types}, K = {args.pieces}, limit {args.limit:g} s per solve; load "
          + open("/proc/loadavg").read().split(" ")[0])  # fmt: skip
    print(f"{'M':>2} {'rho':>7} {'seed':>4} | {'spatial gap':>11} {'cpu s':>7} {'nodes':>7} | "
          f"{'misocp gap':>10} {'cpu s':>7} | {'lower sp - mi':>13}")  # fmt: skip
    for M in (int(m) for m in args.targets.split(",")):
        for rho in (float(r) for r in args.rhos.split(",")):
            for seed in (int(s) for s in args.seeds.split(",")):
                inst = generate_ssg(M, args.types, seed=seed)
                g_sp, c_sp, v_sp, r_sp = _run(inst, rho, args.limit, method="spatial")
                g_mi, c_mi, v_mi, _ = _run(inst, rho, args.limit, pieces=args.pieces)
                print(f"{M:>2} {rho:>7.0e} {seed:>4} | {g_sp:>11.2e} {c_sp:>7.1f} "
                      f"{r_sp.nodes:>7} | {g_mi:>10.2e} {c_mi:>7.1f} | {v_sp - v_mi:>13.2e}",
                      flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
