# ruff: noqa: E501  (the docstring quotes the measured wide table verbatim)
"""Certified interval of the quantal-response security game vs the number of PWLA pieces K.

Paper 003 App. K varied K = 2, 4, ..., 20 and reported that the objective "saturates"; it proves
only an O(1/K) error order (Theorem 2). Here every K gives a certificate on the ORIGINAL
continuous problem (docs/conventions.md, 'PWLA'; :mod:`dro_opt.models.security_game.solve`)::

    lower = exact objective of the returned grid coverage   <=   OPT   <=   upper
          = SCIP's bound of the grid MISOCP + PWLA line

printed beside a fine-grid oracle of the continuous optimum (M = 3 targets: a 41^3 grid
restricted to sum z <= R, polished by SLSQP from its three best points), for each ``pwla_mode``
side by side (:mod:`dro_opt.models.security_game.misocp`): ``adaptive`` (default), ``curvature``
and ``restriction`` (the round-down / averaged line of
:mod:`dro_opt.models.security_game.curvature`, the former certificate).

Run (from the repository root)::

    python benchmarks/ssg_pieces.py                      # M = 3 targets, N = 6 types, seed 3
    python benchmarks/ssg_pieces.py --types 10 --rho 5 --objectives erm

Measured (2-core machine shared with ~8 other jobs, load 8-13: seconds are inflated; SCIP 10
through dro_opt's backend, root separation off; ``upper`` = proven bound of the continuous
problem, ``gap`` relative; ``ok``: the interval contains the fine-grid oracle):

    objective erm: continuous oracle -2.148873495343381
      K     lower | adaptive:  line     upper     gap   ok   sec | curvature: line     upper     gap   ok   sec | restriction: line   upper     gap   ok   sec
      2  -2.14887 | 4.7869    0.3318  1.1544 True   5.0 | 4.7869    0.3318  1.1544 True   5.4 |15.3878   10.9326  6.0876 True   0.7
      4  -2.14887 | 4.7869    2.2279  2.0368 True   4.9 | 4.7869    2.2279  2.0368 True   4.4 |15.3878   12.8287  6.9700 True   0.8
      6  -2.14887 | 0.0000   -0.7433  0.6541 True  39.0 | 0.0000    0.5949  1.2769 True   4.5 | 8.7657    6.6152  4.0785 True   1.4
      8  -2.14887 | 0.0000   -1.9825  0.0774 True  37.3 | 0.0000   -1.1375  0.4707 True   6.8 | 4.9307    2.6561  2.2361 True   3.1
     10  -2.14887 | 0.0000   -2.1347  0.0066 True  49.0 | 0.0000   -1.6371  0.2381 True   6.4 | 3.1557    0.9384  1.4367 True   5.3
     12  -2.14887 | 0.0000   -2.1389  0.0047 True  17.0 | 0.0000   -1.8141  0.1558 True   5.4 | 2.1914    0.0410  1.0191 True   5.1
     14  -2.14887 | 0.0000   -2.1407  0.0038 True  28.8 | 0.0000   -1.9545  0.0904 True   6.8 | 1.6100   -0.5725  0.7336 True   6.1
     16  -2.14887 | 0.0000   -2.1445  0.0021 True  18.9 | 0.0000   -2.0131  0.0632 True   5.6 | 1.2327   -0.9421  0.5616 True   8.7
     18  -2.14887 | 0.0000   -2.1457  0.0015 True  21.9 | 0.0000   -2.0326  0.0541 True   8.2 | 0.9740   -1.1765  0.4525 True  11.8
     20  -2.14887 | 0.0000   -2.1451  0.0018 True  22.5 | 0.0000   -2.0700  0.0367 True   5.7 | 0.7889   -1.3734  0.3609 True  13.2

    objective variance: continuous oracle -2.5136787137045262
      K     lower | curvature: line     upper     gap   ok   sec | restriction: line   upper     gap   ok   sec
      2  -2.51368 | 8.7030    3.6868  2.4667 True   8.0 |27.9878   22.9715 10.1386 True   4.8
      4  -2.51368 | 8.7030    5.8615  3.3319 True   3.6 |27.9878   25.1463 11.0038 True  22.5
      6  -2.51368 | 8.7030    6.1680  3.4538 True   2.6 |20.7172   18.1822  8.2333 True  15.8
      8  -2.51368 | 8.7030    6.0688  3.4143 True   3.4 |12.5492    9.9150  4.9444 True  10.2
     10  -2.51368 | 7.3688    4.8291  2.9211 True   4.2 | 8.6047    6.0651  3.4128 True  12.1
     12  -2.51368 | 5.8584    3.3234  2.3221 True   4.0 | 6.3736    3.8386  2.5271 True  25.2
     14  -2.51368 | 4.8560    2.3090  1.9186 True   6.0 | 4.9752    2.4281  1.9660 True  35.0
     16  -2.51368 | 4.0330    1.5160  1.6031 True   6.0 | 4.0330    1.5160  1.6031 True  43.0
     18  -2.51368 | 3.3635    0.8285  1.3296 True   5.9 | 3.3635    0.8285  1.3296 True  55.2
     20  -2.51368 | 2.8343    0.3029  1.1205 True   7.9 | 2.8678    0.3364  1.1338 True  43.7
    objective chi2: continuous oracle -2.513678713685387
      K     lower | curvature: line     upper     gap   ok   sec | restriction: line   upper     gap   ok   sec
      2  -2.51368 | 5.2205    0.2054  1.0817 True   4.2 |17.0505   12.0355  5.7880 True   2.5
      4  -2.51368 | 5.2205    2.3831  1.9480 True   3.3 |17.0505   14.2131  6.6543 True  16.0
      6  -2.51368 | 5.2205    2.6855  2.0684 True   2.6 |16.1207   13.5857  6.4047 True   8.1
      8  -2.51368 | 5.2205    2.5870  2.0292 True   3.7 | 9.9636    7.3301  3.9161 True   8.6
     10  -2.51368 | 4.4720    1.9324  1.7687 True   3.0 | 6.9500    4.4104  2.7546 True  10.5
     12  -2.51368 | 3.5550    1.0200  1.4058 True   4.8 | 5.2245    2.6895  2.0700 True  35.0
     14  -2.51368 | 2.9465    0.3995  1.1589 True   6.2 | 4.1309    1.5839  1.6301 True  37.6
     16  -2.51368 | 2.5142   -0.0029  0.9989 True   5.0 | 3.3867    0.8696  1.3459 True  42.7
     18  -2.51368 | 2.1916   -0.3434  0.8634 True   6.1 | 2.8528    0.3178  1.1264 True  35.4
     20  -2.51368 | 1.9419   -0.5894  0.7655 True   6.4 | 2.4541   -0.0773  0.9693 True  83.3

Reading. ERM: ``curvature`` puts the second-order, cell-dependent error inside the MISOCP
(:mod:`dro_opt.models.security_game.cell_curvature`; line 0), ``adaptive`` (the default)
refines a 4-cell box around the incumbent 4x (:mod:`dro_opt.models.security_game.refine`). At
K = 20 the certified relative gap is 0.0018 (adaptive), 0.037 (curvature) and 0.36 (restriction,
the former certificate); adaptive is below 0.01 from K = 10 on. At K = 2-4 the in-model
offsets are too large (the a-priori test then keeps the round-down line, with the feasible-set
utility range of :mod:`dro_opt.models.security_game.value_range`, 1.15 vs 6.09 at K = 2). VR and
chi-square keep a first-order line (the objectives are concave in ``f``; their maximum over a
cell can exceed the corners to first order), improved only modestly: K = 20 gaps 1.12 / 0.77
(restriction 1.13 / 0.97), better at small K (VR K = 2: 2.47 vs 10.1), and the curvature mode
solves 5-10x faster (tighter McCormick boxes). The decision itself (``lower``) equals the oracle
at every K.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
from scipy.optimize import minimize

from dro_opt.models.security_game import SSGInstance, evaluate, generate_ssg
from dro_opt.models.security_game.solve import solve_ssg


def continuous_oracle(inst: SSGInstance, objective: str, rho: float, steps: int = 40) -> float:
    """Fine grid of the continuous feasible set (M = 3), polished by SLSQP."""
    t = np.linspace(0.0, 1.0, steps + 1)
    Z = np.array(
        [z for z in itertools.product(t, repeat=inst.num_targets) if sum(z) <= inst.budget]
    )
    vals = np.array([evaluate(inst, z, objective, rho) for z in Z])
    best = float(vals.max())
    cons = [{"type": "ineq", "fun": lambda z: inst.budget - z.sum()}]
    for i in np.argsort(vals)[-3:]:
        res = minimize(
            lambda z: -evaluate(inst, np.clip(z, 0, 1), objective, rho),
            Z[i],
            method="SLSQP",
            bounds=[(0, 1)] * inst.num_targets,
            constraints=cons,
        )
        z = np.clip(res.x, 0, 1)
        if z.sum() <= inst.budget + 1e-9:
            best = max(best, evaluate(inst, z, objective, rho))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--targets", type=int, default=3)
    ap.add_argument("--types", type=int, default=6)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--rho", type=float, default=2.0)
    ap.add_argument("--objectives", default="erm,variance,chi2")
    ap.add_argument("--pieces", default="2,4,6,8,10,12,14,16,18,20")
    ap.add_argument("--modes", default="adaptive,curvature,restriction", help="pwla_mode list")
    args = ap.parse_args()
    inst = generate_ssg(args.targets, args.types, seed=args.seed)
    modes = args.modes.split(",")
    print(
        f"SSG: M={inst.num_targets} targets, N={inst.num_types} types, budget {inst.budget:g}, "
        f"lambda {inst.lam:g}, rho {args.rho:g} (variance/chi2), solver SCIP; load "
        + open("/proc/loadavg").read().split(" ")[0]
    )
    for objective in args.objectives.split(","):
        rho = 0.0 if objective == "erm" else args.rho
        oracle = continuous_oracle(inst, objective, rho) if inst.num_targets <= 3 else None
        # adaptive differs from curvature for ERM only (VR / chi2 lines are not localised)
        use = [m for m in modes if objective == "erm" or m != "adaptive"]
        print(f"\nobjective {objective}: continuous oracle {oracle}")
        head = f"{'K':>3} {'lower':>9}"
        for m in use:
            head += f" | {m[:11]:>11} {'line':>7} {'upper':>9} {'gap':>7} {'ok':>4} {'sec':>5}"
        print(head)
        for K in (int(k) for k in args.pieces.split(",")):
            row, lower = f"{K:>3}", None
            for m in use:
                t0 = time.perf_counter()
                res = solve_ssg(inst, objective, rho, pieces=K, gap=1e-6, pwla_mode=m)
                sec = time.perf_counter() - t0
                c = res.certificate
                lower = c.lower if lower is None else max(lower, c.lower)
                line = c.lines[1].value
                # the oracle is a lower estimate of OPT: the polished decision may beat it
                ok = (
                    "n/a"
                    if oracle is None
                    else str(
                        c.lower <= oracle + 1e-6 * max(1.0, abs(oracle))
                        and max(oracle, c.lower) <= c.upper + 1e-9
                    )
                )
                row += f" | {'':>11} {line:>7.4f} {c.upper:>9.4f} {c.gap:>7.4f} {ok:>4} {sec:>5.1f}"
            print(row[:3] + f" {lower:>9.5f}" + row[3:], flush=True)


if __name__ == "__main__":
    main()
