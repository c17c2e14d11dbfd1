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

Measured 2026-12-01, shared 2-core machine at load average 8-10 (seconds inflated; M = 3, K = 4,
VR rho = 10, one thread; ``--types 5 10 20 40 80 --time-limit 120`` then ``--types 160 320 640
--solvers scip --time-limit 300``; the certificate does not depend on the solver, only on N)::

        N  SCIP solve s   Gurobi s   CPLEX s   Xpress / MOSEK   lower     grid bd   upper    gap
        5      9.57         0.08       0.24      licence          -3.1533  -3.5511  10.1417  4.216
       10      0.40         0.17       0.24      licence          -2.4537  -2.8089   8.1503  4.322
       20      1.16       licence    licence     licence          -2.4161  -2.8072   5.9375  3.458
       40      1.52       licence    licence     licence          -2.2790  -2.7379   4.6893  3.058
       80      6.56       licence    licence     licence          -2.2107  -2.6294   3.9435  2.784
      160     23.98                                               -2.1103  -2.4883   3.3521  2.588
      320     86.32                                               -2.1273  -2.5274   2.9460  2.385
      640    300 (time limit; build 59.9 s)                       -2.0910  -1.9495   3.2010  2.531

Licence limits met (the backends' messages): Gurobi 2,000 variables / constraints (N = 20: 298
variables with quadratic terms > 200), CPLEX Community 1,000 (N = 20: 1,016 constraints), Xpress
community 200 rows + columns with quadratic terms already at N = 5 (354), MOSEK no licence file.
Every status above the time limit is ``feasible``: the MISOCP was solved, but the PWLA line at
K = 4 leaves the certified gap wide (the line, not the solver, dominates; more pieces shrink it,
benchmarks/ssg_pieces.py). ``scip`` vs ``scip-obj`` (``--types 5 10 40 --solvers scip scip-obj
scip scip-obj``, load 8.9-9.7): solve 8.21 / 6.32 vs 5.53 / 7.39 s at N = 5, 0.89 / 0.89 vs
0.78 / 0.80 s at N = 10, 4.05 / 3.58 vs 2.92 / 2.66 s at N = 40 (same bounds).
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
