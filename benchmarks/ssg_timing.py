"""Time of the security-game PWLA MISOCP vs the number of attacker types N, per solver.

Paper 003 Fig. 1 (right) reports that the optimisation time stays reasonable as the data grows
(the solver and N were lost in the text). Here the full-data PWLA MISOCP of
:mod:`dro_opt.models.security_game.misocp` is solved by :func:`~dro_opt.models.security_game.
solve.solve_ssg` with ``solver=`` each of SCIP (open) and, within their size-limited pip
licences, Gurobi, CPLEX, Xpress and MOSEK; ``scip-obj`` is SCIP with the model loaded object by
object (the backend's ``bulk_route = False``) instead of its default C-API route, side by side,
because the two loads gave SCIP very different times on the MC-FCP secant model. A model above
a licence's size limit comes back with status ``license_limit`` (the backend's message names
the limit) and no time is measured.

Every row prints the seconds (model build, solver), the status, and the certificate on the
ORIGINAL continuous game: ``lower`` = exact objective of the returned coverage, ``upper`` =
solver bound (``grid bd``, the solver's proven bound of the grid MISOCP) + PWLA line
(docs/conventions.md, 'PWLA'), ``gap = upper - lower``. The PWLA line
does not depend on the solver, so at small K the gap is mostly that line; what differs between
solvers is the time and the solver bound. One thread each; solvers are interleaved within every
N (same instance, same load) and ``/proc/loadavg`` is printed per row: the machine is shared.

Run from the repository root::

    python benchmarks/ssg_timing.py                        # M = 3, K = 4, VR rho = 10, N = 5..80
    python benchmarks/ssg_timing.py --types 10 40 160 --solvers scip gurobi --time-limit 120

Measured 2026-12-01 AFTER the SCIP C-API cone-load fix (f230119), shared 2-core machine at load
average 8.7-13.6, the run niced (``nice -n 10``), so WALL seconds are mostly waiting for a core
and only the CPU seconds compare; M = 3, K = 4, VR rho = 10, one thread; ``--types 5 10 20 40
80 160 320 --time-limit 120``, then ``--types 320 --solvers scip --time-limit 900`` (the 120 s
limit, which covers build + solve, ended the first N = 320 SCIP rows after 9.8 / 8.9 CPU s with
lower -6.19). CPU = the whole call (build + solve, ``time.process_time``); a ``licence`` row
stops before solving, so its CPU is the model build alone (listed)::

        N  SCIP CPU s  SCIP obj-load  Gurobi  CPLEX  build only  lower    grid bd  upper   rel. gap
        5     1.7          1.5          0.3     0.3    0.2-0.5    -3.1533  -3.5511  10.1417  4.216
       10     0.4          0.4          0.4     0.4    0.3        -2.4537  -2.8089   8.1503  4.322
       20     0.8          0.7        licence licence  0.4-0.6    -2.4161  -2.8072   5.9375  3.458
       40     1.4          1.3        licence licence  0.8-0.9    -2.2790  -2.7379   4.6893  3.058
       80     2.4          2.3        licence licence  1.4-1.6    -2.2107  -2.6293   3.9436  2.784
      160     6.3          6.2        licence licence  2.6-2.9    -2.1103  -2.4883   3.3521  2.588
      320    10.8 (900 s limit run)   licence licence  6.2-7.7    -2.1273  -2.5274   2.9465  2.385

So SCIP's own share (CPU minus the build) is about 1.3 s at N = 5 (a harder instance than
N = 10), 0.1-0.6 s for N = 10-40, about 0.9 s at 80, 3.5 s at 160 and 3-5 s at 320: the model build
(Python, vectorised) takes 45-70 % of the CPU from N = 40 on. Gurobi and CPLEX solve N <= 10
in at most about 0.1 CPU s beyond the build; from N = 20 the models exceed their pip licences
(Gurobi 2,000 variables / constraints, 200 with quadratic terms: N = 20 has 298 quadratic
variables; CPLEX Community 1,000: N = 20 has 1,016 constraints), Xpress community (200 rows +
columns with quadratic terms) already at N = 5 (354), MOSEK has no licence file. The C-API and the
object-by-object SCIP loads now cost the same CPU (before the fix the C-API route was 5-15x
slower on the MC-FCP secant model). Same bounds for every solver; the wide certified gap is the
PWLA line at K = 4 (more pieces shrink it, benchmarks/ssg_pieces.py). Wall seconds of the same
run, for the record: SCIP solve 47.8 / 4.6 / 6.8 / 13.9 / 41.6 / 39.4 / 157.8 s (N = 5 ... 320).
Earlier figures (before the fix, load 8-10, not niced) were SCIP 9.57 / 0.40 / 1.16 / 1.52 / 6.56 /
23.98 / 86.32 wall s.
"""

from __future__ import annotations

import argparse
import os
import time

from dro_opt.models.security_game import evaluate, generate_ssg
from dro_opt.models.security_game.solve import solve_ssg
from dro_opt.solvers.catalogue import get_backend

SOLVERS = ("scip", "scip-obj", "gurobi", "cplex", "xpress", "mosek")


def _cell(value: float | None, width: int = 10) -> str:
    return f"{'none':>{width}}" if value is None else f"{value:>{width}.4f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", type=int, default=3)
    ap.add_argument("--types", type=int, nargs="+", default=[5, 10, 20, 40, 80])
    ap.add_argument("--pieces", type=int, default=4)
    ap.add_argument("--objective", choices=("erm", "variance", "chi2"), default="variance")
    ap.add_argument("--rho", type=float, default=10.0)
    ap.add_argument("--solvers", nargs="+", choices=SOLVERS, default=list(SOLVERS))
    ap.add_argument("--time-limit", type=float, default=60.0, help="per solve (s)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    print(
        f"SSG PWLA MISOCP vs N: M = {args.targets} targets, K = {args.pieces}, "
        f"{args.objective} rho = {args.rho:g}, time limit {args.time_limit:g} s, 1 thread, "
        f"seed {args.seed} (shared machine: load average per row)"
    )
    head = f"{'N':>5} {'solver':>7} {'status':>14} {'build s':>8} {'solve s':>8}"
    print(head + f" {'lower':>10} {'grid bd':>10} {'upper':>10} {'gap':>10} {'load':>5}")
    for N in args.types:
        inst = generate_ssg(args.targets, N, seed=args.seed)
        for name in args.solvers:
            scip = get_backend("scip")
            scip.bulk_route = name != "scip-obj"  # "scip-obj": SCIP loaded object by object
            t0, c0 = time.perf_counter(), time.process_time()
            r = solve_ssg(
                inst, args.objective, args.rho, pieces=args.pieces, solver=name.split("-")[0],
                time_limit=args.time_limit, seed=args.seed,
            )  # fmt: skip
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            scip.bulk_route = True
            exact = evaluate(inst, r.solution["z"], args.objective, args.rho)
            if abs(exact - r.objective) > 1e-9 * max(1.0, abs(exact)):
                raise RuntimeError(f"{name}: reported objective is not the exact value")
            solves = (r.extra or {}).get("solves") or [{}]
            grid_bound = solves[-1].get("bound")
            licence = r.status.value == "license_limit"
            build = "-" if licence else f"{r.build_seconds:.2f}"
            solve = "-" if licence else f"{r.solve_seconds:.2f}"
            print(
                f"{N:>5} {name:>7} {r.status.value:>14} {build:>8} {solve:>8} "
                f"{_cell(r.objective)} {_cell(grid_bound)} {_cell(r.bound)} "
                f"{_cell(r.certificate.gap)} {os.getloadavg()[0]:>5.2f}"
                f"  (wall {wall:.1f} s, CPU {cpu:.1f} s)",
                flush=True,
            )
            if licence:
                print(f"      {name}: {r.message.splitlines()[0][:160]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
