# ruff: noqa: E501  (the docstring quotes the measured wide table verbatim)
"""MC-FCP columns of paper 003 Tables 3-5, measured here and printed beside the paper's numbers.

Data: the real P&R-NYC data (82,341 clients, 59 locations) is NOT available here; every row runs
on the seeded stand-in :mod:`dro_opt.instances.nyc_synthetic` with the MC-FCP parameters derived
as documented in ``models/facility_cost/instance.py`` (paper 003 App. I lost its equations), so
the numbers are comparable in kind, not in value. Protocol (paper 003 Sec. 5.2):

* random 80:20 client split (``--seed``); the decision comes from the training clients, solved
  with the secant MISOCP relaxation (``--method secant``, default; or the grid PWLA MISOCP,
  ``pwla``) with ``--pieces`` cells per location on SCIP (``solve_mc_fcp``), ERM and VR for each
  ``rho``. ``--reduce vr`` (default): the ERM rows on ALL training clients (no reduction line),
  the VR rows on ``--clusters`` k-means centroids (default 200; the paper used 50) or on
  ``--strata`` strata with ``--per-stratum`` drawn clients, certified by the coupling line of
  :mod:`dro_opt.reductions.representatives`; ``all`` / ``none`` reduce every row / no row;
* Table 3: on the TEST clients, ``A`` = weighted average capture probability and ``H`` = the
  weighted average over the lowest 5% of test clients by capture probability (the paper's ``H`` is
  undefined in the text; this is our reading, the low-probability bucket of its Fig. 2);
* Table 4: the gradient baselines (PGA on VR, TT-GAD on the chi-square DRO, best of
  ``--restarts`` random starts, full training data) as % of OUR exact VR objective on the
  training data (the paper's units were lost; this is our reading), and per row as % of the
  certified OPT interval (``100 b / upper`` to ``100 b / lower``);
* Table 5: our training time (reduction + build + solve, seconds), with the certified gap
  that the time bought (the paper reports no gap);
* certified OPT: ``[lower, upper]`` per row with its lines (mean units: capture probability).
  ``lower`` = exact full-training-data value of the returned ``z``; ``upper`` = SCIP's bound of
  the secant relaxation (valid for continuous ``z``) + the reduction line, capped by
  ``capture_cap`` (:mod:`dro_opt.models.facility_cost.solve`).

``m`` (budget) is read as the number of standard facilities (``U_j = 1``), as for MC-FLP.

Run from the repository root (2-core shared machine; numbers measured under contention)::

    python benchmarks/fcp_tables.py --quick      # 1,000 clients, 15 locations, m in {2, 3, 4}
    python benchmarks/fcp_tables.py              # 5,000 clients, 59 locations, m in {7, 10, 13}
    nice -n 10 python benchmarks/fcp_tables.py --reduce all --cpu-limit --time-limit 60 --budgets 7

``--cpu-limit`` makes ``--time-limit`` SCIP's CPU seconds (``timing/clocktype = 1``): on the
loaded machine a niced run got 3-12 % of a core, so wall-second limits measured the load, not the
method. Each later row of a budget is offered the earlier rows' decisions (``candidates`` of
``solve_mc_fcp``: exact full-data values, the best is returned; the bound is untouched).

LATEST (2026-12-01 evening; SCIP 10.0 one thread; load 7.9-13.6, every run niced; CPU seconds
compare, wall seconds mostly waited for a core).

1. Where the full-data VR bound was stuck (``--quick`` data: 800 training clients x 15 locations,
   m = 2, K = 4, rho = 1E3; best known decision 0.1656 = the ERM row's ``z``). Not in a PWLA line
   (the secant model has none) and not in the secant relaxation: at that decision (a grid point)
   the secant and the exact captures coincide, the exact continuous relaxation of the model
   (binaries relaxed, Clarabel) is 0.2010, and on 200 centroids SCIP closes the model's own gap
   completely. It was SCIP's LP outer approximation of the 801-dimensional standard-deviation
   cone with root separation switched off (the setting chosen for ERM): root bound 0.4085, above
   the relaxation it approximates. VR now keeps the root separation rounds
   (``models/facility_cost/solve.py``, 'SCIP options'). Measured on the same model::

       SCIP setting                        SCIP CPU s  nodes  bound    certified OPT (full data)
       root separation off (before)          30.8        4    0.3999   [0.1656, 0.3999]
       root separation on (after)            40          1    0.1932
       after, solve_mc_fcp, 1E3              90          3    0.1915   [0.1656, 0.1915] gap 0.026
       after, solve_mc_fcp, 1E4              90          5    0.0300   [0.0000, 0.0300] gap 0.030
       after, solve_mc_fcp, 1E2            <= 90         4    0.2967   optimal (98.6 CPU s call)
       session 5 (off), 1E3, 120 wall s     n/a               0.2914   [0.1656, 0.2914] gap 0.126
       session 5, 1E3 / 1E4 on 200 centroids                           gap 0.090 / 0.365

   (CPU s: "before" = the whole solve call under a 100 wall s limit; the others = SCIP's CPU clock
   limit, 53.9 / 109 / 112 CPU s for the whole calls, 290 / 1,289 / 1,042 wall s; the 1E2 row,
   optimal before too in 78 wall s at load ~3 with CPU not recorded, took 870 wall s at load 6.9.)
   The full data now beats the 200-centroid reduction at 1E3 (gap 0.026 vs 0.090) and proves at 1E4
   that no investment is worth more than 0.030 (before: 0.365). SCIP's own 1E3 decision scored
   0.0527; the returned 0.1656 is the ERM decision offered as a candidate. Tried and not kept:
   tangent floor rows ``y_n >= c_n S^tan_n(v)`` (valid, but the continuous relaxation stayed
   0.2010); a per-location box from the budget is already ``U'_j = min(U_j, B)`` and does not bind
   (every U_j = 1 <= B). Not tried (time): SOC row scaling, branching priorities (the solver layer
   passes no per-variable priorities).

2. Full size (5,000 clients: 4,000 train / 1,000 test, 59 locations, ``--reduce all`` on 200
   k-means centroids, ``--cpu-limit --time-limit 60``, 10 baseline restarts; certified OPT on the
   4,000 training clients, line = clustering line; ours | paper)::

       m = 7  ERM [0.6483, 0.7827] line 0.0880  69 CPU s (869 wall)  H/A 0.004/0.664 | 0.069/0.692
              1E2 [0.6315, 0.7551] line 0.0968  71 CPU s (787 wall)      0.032/0.661 | 0.069/0.692
                  Table 4: TT-GAD 47.3 % / PGA 75.7 % of ours | paper 51.6 / 38.7
                  (% of the certified OPT: TT-GAD 39.6-47.3, PGA 63.3-75.7)
              1E3 [0.5937, 0.7374] line 0.1157  68 CPU s (682 wall)      0.032/0.657 | 0.093/0.697
              1E4 [0.4204, 0.6858] line 0.1756  67 CPU s (540 wall)      0.004/0.656 | 0.093/0.697
       m = 13 ERM [0.7708, 0.8747] cap   0.8747  69 CPU s (860 wall)      0.063/0.782 | 0.420/0.758
              1E2 [0.7535, 0.8492] line 0.0968  46 CPU s (537 wall)      0.063/0.782 | 0.417/0.751
                  Table 4: TT-GAD 61.3 % / PGA 80.2 % of ours | paper 61.2 / 55.3
              1E3 [0.7161, 0.8309] line 0.1157  59 CPU s (363 wall)      0.063/0.782 | 0.417/0.757
                  Table 4: TT-GAD 57.8 % / PGA 79.6 % of ours | paper 60.0 / 27.8
              1E4 [0.6010, 0.7773] line 0.1756  71 CPU s (245 wall)      0.065/0.778 | 0.446/0.750
                  Table 4: TT-GAD 50.9 % / PGA 73.6 % of ours | paper 30.4 / 19.1

   m = 13 (one run, ERM row first, the earlier rows' decisions as candidates as in the script's
   default): ERM hit the limit and its upper is the capture cap (``capture_cap`` of solve.py; the
   solver bound + line were higher; before the fix 108 wall s at falling load gave 0.8576); 1E2
   and 1E3 ended with SCIP's own gap closed (status ``feasible``: what is left is the clustering
   line), 1E4 at the limit with SCIP's part 0.0007. The robust decision equals the ERM one at 1E2
   and 1E3 (same H and A); at 1E4 H rises to 0.065 at A 0.778 vs 0.782.

   m = 7: every row ended at the 60 CPU s limit; SCIP's own part of the gap (upper - line - lower) is
   0.046 (ERM), 0.027 (1E2), 0.028 (1E3) and 0.090 (1E4), the rest is the clustering line. The 1E3
   / 1E4 rows ran in a separate process without the baselines (``run_row(..., baselines=False)``,
   so without the ERM / 1E2 decisions as candidates; their decisions are SCIP's; before the fix 1E4
   had found a better one, lower 0.4262). The same rows before the SCIP fix (180 wall s, below) had
   [0.6414, 0.8121], [0.6193, 0.8123], [0.5715, 0.8118] and [0.4262, 0.8207], model parts 0.083 /
   0.096 / 0.125 / 0.219 (the ERM row rerun that way in this session got 22 CPU s and the same
   interval). The robust decisions at 1E2 / 1E3 raise H from 0.004 to 0.032 at A 0.661 / 0.657 vs
   0.664: the direction of the paper's Table 3 (where m = 7 moves only at 1E3, 0.069 -> 0.093); at
   1E4 H is back at 0.004. The m = 7 baselines at 1E3 / 1E4 and m = 10 were not
   reached before the session's deadline (by the process CPU the ten-start baselines cost about 85
   CPU s each at this size, more than our solve); the pre-fix m = 10 rows below are the latest for
   that budget (a leftover run with the session-5 settings, 180 wall s per row, 22 CPU s for ERM,
   gave the m = 7 rows [0.6414, 0.8121], [0.6193, 0.8093], [0.5715, 0.8049], [0.4229, 0.8102] and m
   = 10 ERM [0.7330, 0.8449]). Time (Table 5): ours 46-71 CPU s per row vs the paper's 62-901 s on
   a 2.1 GHz machine with a solver it does not name.

   Why the reproduction differs: the data is a seeded synthetic stand-in, not the P&R-NYC
   utilities (82,341 clients; the MC-FCP parameter equations of App. I were lost, ours are in
   ``models/facility_cost/instance.py``); 4,000 training clients, not 65,873; 200 centroids with a
   rigorous clustering line (the paper used 50 and reports no gap); SCIP one thread with 60 CPU s,
   not the paper's solver and up to 900 s; K = 4 secant cells; ``H`` is our reading (lowest 5 %
   of test clients), undefined in the text. Our lowest 5 % capture almost nothing under any
   budget (0.004-0.063), which is why H is far below the paper's 0.07-0.45.

EARLIER measurements follow (VR without root separation). Every figure below was measured on
2026-12-01 BEFORE commit f230119 fixed SCIP's C-API cone load (until then 5-15x slower on this
model, e.g. the 8-client secant test at K = 16: 56 s vs 3.8 s object by object; after it 1.3 s);
times and the time-limited rows are therefore pessimistic.

AFTER the fix (load 3.0): the full-data VR row below (800 clients, rho = 1E2, m = 2, K = 4) that
had ended at 300 s with bound 0.525 now solves to OPTIMAL in 67.8 s: OPT = 0.29672, gap 4.4e-7,
the same decision as the 200-centroid row (whose clustering line 0.0627 was pure pessimism). So
``--quick --reduce none`` (full data everywhere), load 2.4-3.4, m = 2: ERM optimal 38 s,
1E2 optimal 78 s ([0.2967, 0.2967]; baselines exactly 53.5 / 63.9% of OPT), 1E3 time limit
120 s with [0.1656, 0.2914] (gap 0.126, vs 0.090 with 200 centroids); the run was stopped there
(session deadline). So the default stays ``--reduce vr``; ``none`` wins where SCIP closes the
full-data gap in the time limit (ERM, 1E2 here).

Full data or reduction (measured 2026-12-01, shared 2-core machine, load average 8-12, SCIP one
thread, K = 4, the 800 training clients of ``--quick``): ERM on ALL clients solves to a certified
gap <= 6.4e-6 in 72-102 s (m = 2, 3, 4; 27 s at load 4.4 for m = 2, 171 s with K = 8, gap 2.5e-7),
so the ERM rows carry no reduction line. VR (rho = 1E2, m = 2) on all clients does NOT: 300 s,
one node, lower 0.0003, bound 0.525 (K = 4 and 8; the same with SCIP's object-by-object load),
so the VR rows are reduced. 200 clusters: line 0.0627 (1E2), 0.0899 (1E3), 0.176 (1E4);
400 clusters: 0.0245 at 1E2 (same decision, 69 s) but 1E3 hit the 120 s limit with a worse
decision (lower 0.111 vs 0.166, gap 0.30), so 200 is the default. Stratified sampling with the
same 200 representatives (``--strata 100 --per-stratum 2``, load 13-14): line 0.146 at 1E2 (same
decision, 78 s), 0.210 at 1E3 (120 s limit, lower 0.105): the product coupling within a stratum
costs more than the centroid coupling here.

Measured ``--quick`` (all rows, load 7.7-11.8, 2026-12-01)::

    certified OPT            m = 2                  m = 3                  m = 4
    ERM (full data)   [0.3574, 0.3574] 86 s  [0.4160, 0.4160] 102 s [0.4607, 0.4607] 76 s
    1E2 (200 clusters) [0.2967, 0.3594] 38 s  [0.3567, 0.4195] 54 s  [0.4016, 0.4643] 50 s
    1E3 (200 clusters) [0.1656, 0.2556] 84 s  [0.2284, 0.3187] 53 s  [0.2738, 0.3640] 56 s
    1E4 (200 clusters) [0.0000, 0.3653] 121 s [0.0000, 0.2387] 120 s [0.0000, 0.2549] 120 s
    H / A (test), ours | paper (m = 7 / 10 / 13 for our 2 / 3 / 4):
    ERM, 1E2, 1E3     0.003/0.381 | 0.069/0.692   0.003/0.466 | 0.150/0.719   0.004/0.539 | 0.420/0.758
    1E4               0.000/0.000 (z = 0)          0.000/0.000                  0.000/0.000
    Table 4, TT-GAD / PGA % of ours | paper:
    1E2               53.5 / 63.9 | 51.6 / 38.7    66.8 / 75.7 | 50.3 / 45.7    67.2 / 71.7 | 61.2 / 55.3
    1E3               63.3 / 63.3 | 49.2 / 18.3    45.9 / 86.4 | 46.2 / 26.2    38.5 / 72.1 | 60.0 / 27.8
    1E4               undefined (ours = 0)

Reading, plainly: the robust decision equals the ERM one at 1E2 and 1E3 here (same H and A), so
the paper's gain in H for robust decisions is NOT reproduced on this stand-in (its lowest 5% of
test clients capture ~0.003 under any budget); at 1E4 every decision the methods found has VR
<= 0 on the training data and ours returns z = 0, with OPT not proven (upper 0.24-0.37). The
baselines reach 38-86% of ours (paper 15-61%); as % of the certified OPT they are 29-86%.
The full-size run (``--reduce all --time-limit 180``: 5,000 clients, 4,000 training, 59
locations, every row on 200 centroids; the full-data ERM m = 7 row first tried at 300 s ended
with NO solution, bound 0.875) was started on 2026-12-01 at load 13-15 falling to 3, and
stopped after these rows (certified OPT, line = clustering line; H / A on the test clients)::

    m = 7   ERM [0.6414, 0.8121] line 0.0880 182 s  H/A 0.004/0.656 | paper 0.069/0.692
            1E2 [0.6193, 0.8123] line 0.0968 181 s      0.004/0.656 | 0.069/0.692  TT-GAD 48.2 PGA 77.2 | 51.6 38.7
            1E3 [0.5715, 0.8118] line 0.1157 181 s      0.004/0.656 | 0.093/0.697  TT-GAD 54.3 PGA 74.9 | 49.2 18.3
            1E4 [0.4262, 0.8207] line 0.1756 180 s      0.030/0.634 | 0.093/0.697  TT-GAD 42.0 PGA 78.7 | 48.2 15.0
    m = 10  ERM [0.7361, 0.8231] line 0.0880 101 s      0.043/0.748 | 0.150/0.719
            1E2 [0.7132, 0.8487] line 0.0968 181 s      0.043/0.743 | 0.417/0.751  TT-GAD 60.9 PGA 78.9 | 50.3 45.7
            1E3 [0.6801, 0.8373] line 0.1157 180 s      0.043/0.748 | 0.416/0.747  TT-GAD 49.3 PGA 75.9 | 46.2 26.2
            1E4 [0.5559, 0.7720] line 0.1756 180 s      0.043/0.743 | 0.416/0.747  TT-GAD 47.5 PGA 73.0 | 45.0 18.2
    m = 13  ERM [0.7708, 0.8576] line 0.0880 108 s      0.063/0.782 | 0.420/0.758

Every VR row hit the 180 s limit (the rest of its gap is SCIP's); at m = 7, 1E4 the robust
decision raises H from 0.004 to 0.030 at A 0.634 vs 0.656, the direction of the paper's
Table 3; elsewhere H and A move by <= 0.005.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from dro_opt.instances.nyc_synthetic import generate_nyc_synthetic
from dro_opt.models.facility_cost import FCPInstance, from_log_odds, solve_mc_fcp
from dro_opt.models.facility_cost.objective import capture_probabilities, evaluate

PAPER_T3 = {  # setting -> {m: (H, A)} (MC-FCP columns of paper 003 Table 3)
    "ERM": {7: (0.069, 0.692), 10: (0.150, 0.719), 13: (0.420, 0.758)},
    "1E2": {7: (0.069, 0.692), 10: (0.417, 0.751), 13: (0.4170, 0.751)},
    "1E3": {7: (0.093, 0.697), 10: (0.416, 0.747), 13: (0.417, 0.757)},
    "1E4": {7: (0.093, 0.697), 10: (0.416, 0.747), 13: (0.446, 0.750)},
}
PAPER_T4 = {  # rho -> {m: (TT-GAD %, PGA %)} (paper 003 Table 4)
    "1E2": {7: (51.6, 38.7), 10: (50.3, 45.7), 13: (61.2, 55.3)},
    "1E3": {7: (49.2, 18.3), 10: (46.2, 26.2), 13: (60.0, 27.8)},
    "1E4": {7: (48.2, 15.0), 10: (45.0, 18.2), 13: (30.4, 19.1)},
}
PAPER_T5 = {  # setting -> {m: seconds} (paper 003 Table 5, MC-FCP)
    "ERM": {7: 62.16, 10: 182.47, 13: 128.54},
    "1E2": {7: 271.51, 10: 267.50, 13: 80.24},
    "1E3": {7: 80.94, 10: 297.64, 13: 900.84},
    "1E4": {7: 263.53, 10: 558.82, 13: 820.54},
}


def low_and_average(f: np.ndarray, q: np.ndarray, share: float = 0.05) -> tuple[float, float]:
    """``(H, A)``: weighted mean of the lowest ``share`` of clients, weighted mean of all."""
    order = np.argsort(f, kind="stable")
    fs, qs = f[order], q[order]
    cum = np.cumsum(qs) / qs.sum()
    k = int(np.searchsorted(cum, share, side="left")) + 1
    return float(qs[:k] @ fs[:k] / qs[:k].sum()), float(q @ f / q.sum())


def label(rho: float) -> str:
    return "ERM" if rho == 0 else f"1E{round(float(np.log10(rho)))}"


def split(seed: int, clients: int, locations: int) -> tuple[FCPInstance, FCPInstance]:
    """The seeded NYC-synthetic MC-FCP instance, split 80:20 into (train, test) clients."""
    flp = generate_nyc_synthetic(seed, customers=clients, locations=locations)
    full = from_log_odds(flp.q, flp.a, name="nyc_synthetic_fcp")
    perm = np.random.default_rng(seed).permutation(full.num_clients)
    cut = int(0.8 * full.num_clients)
    train = full.subset(perm[:cut], full.q[perm[:cut]], "train")
    return train, full.subset(perm[cut:], full.q[perm[cut:]], "test")


def run_row(
    train: FCPInstance, test: FCPInstance, m: float, rho: float, *, reduction: dict,
    pieces: int, method: str, time_limit: float, restarts: int, seed: int,
    cpu_limit: bool = False, candidates: list[np.ndarray] | None = None, baselines: bool = True,
) -> dict:  # fmt: skip
    """One (m, setting) cell of Tables 3-5: our certified solve on the training clients
    (``reduction``: {} for the full data, else ``clusters`` or ``strata`` + ``per_stratum``),
    H / A on the test clients, and (VR settings) the two baselines on the full training data.
    ``cpu_limit``: ``time_limit`` is SCIP's limit in CPU seconds (``timing/clocktype = 1``), not
    wall seconds; ``candidates``: decisions of earlier rows, kept when better (exact values);
    ``baselines=False`` skips PGA / TT-GAD (no Table 4 cell)."""
    objective = "erm" if rho == 0 else "variance"
    limits: dict = {"time_limit": time_limit}
    if cpu_limit:
        limits = {"solver_options": {"timing/clocktype": 1, "limits/time": time_limit}}
    t0, c0 = time.perf_counter(), time.process_time()
    res = solve_mc_fcp(
        train, m, objective, rho, pieces=pieces, seed=seed, method=method,
        candidates=candidates, **limits, **reduction,
    )  # fmt: skip
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    z = res.solution["z"]
    assert abs(res.objective - evaluate(train, z, objective, rho)) <= 1e-9  # exact, full train
    H, A = low_and_average(capture_probabilities(test, z), test.q)
    cert = res.certificate
    lines = {line.name: line.value for line in cert.lines if line.name != "solver_bound"}
    row = dict(m=m, setting=label(rho), H=H, A=A, seconds=seconds, cpu=cpu, status=res.status.value)
    row["z"] = z
    row["decision"] = "MISOCP's"
    for word, who in (("candidate", "earlier row's"), ("returning z = 0", "z = 0 (no investment)")):
        row["decision"] = who if word in res.message else row["decision"]
    row.update(lower=cert.lower, upper=cert.upper, gap=cert.gap, lines=lines)
    row["reduced"] = "full data" if not reduction else ", ".join(f"{k} {v}" for k, v in
                                                                 reduction.items())  # fmt: skip
    if rho > 0 and baselines:
        for name in ("tt-gad", "pga"):
            b = solve_mc_fcp(train, m, objective, rho, method=name, restarts=restarts, seed=seed)
            row[f"{name}_value"], row[f"{name}_s"] = b.objective, b.solve_seconds
            # % of ours (paper 003 Table 4's reading) and % of the certified OPT interval
            row[name] = _pct(b.objective, res.objective)
            row[f"{name}_opt"] = (_pct(b.objective, cert.upper), _pct(b.objective, cert.lower))
        row["ours_vr"] = res.objective
    return row


def _pct(value: float, ref: float | None) -> float:
    """``100 value / ref``; nan when ``ref`` is missing or <= 0 (a % of it means nothing)."""
    return 100.0 * value / ref if ref is not None and ref > 0 else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--clients", type=int, help="5000 (--quick: 1000)")
    ap.add_argument("--locations", type=int, help="59 (--quick: 15)")
    ap.add_argument("--budgets", type=float, nargs="+", help="7 10 13 (--quick: 2 3 4)")
    ap.add_argument("--rhos", type=float, nargs="+", default=[1e2, 1e3, 1e4])
    ap.add_argument("--clusters", type=int, help="k-means centroids for the reduced rows (200)")
    ap.add_argument("--strata", type=int, help="stratified sampling instead of clustering")
    ap.add_argument("--per-stratum", type=int, default=2)
    ap.add_argument(
        "--reduce", choices=("vr", "all", "none"), default="vr",
        help="which rows solve on reduced clients (default: the VR rows; ERM on the full data)",
    )  # fmt: skip
    ap.add_argument("--pieces", type=int, default=4)
    ap.add_argument(
        "--method", choices=("secant", "pwla"), default="secant", help="our model (secant)"
    )
    ap.add_argument("--restarts", type=int, help="baseline random starts (10; --quick: 3)")
    ap.add_argument("--time-limit", type=float, default=300.0, help="per MISOCP solve (s)")
    ap.add_argument(
        "--cpu-limit", action="store_true",
        help="--time-limit counts SCIP's CPU seconds, not wall seconds (a loaded machine)",
    )  # fmt: skip
    ap.add_argument(
        "--no-candidates", action="store_true",
        help="do not offer the earlier rows' decisions (same m) to each later row",
    )  # fmt: skip
    ap.add_argument(
        "--no-baselines", action="store_true",
        help="skip PGA / TT-GAD (Table 4; their values do not depend on our solve)",
    )  # fmt: skip
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    sizes = (1000, 15, [2.0, 3.0, 4.0], 3) if args.quick else (5000, 59, [7.0, 10.0, 13.0], 10)
    args.clients = args.clients or sizes[0]
    args.locations = args.locations or sizes[1]
    args.budgets = args.budgets or sizes[2]
    args.restarts = args.restarts or sizes[3]
    if args.quick:
        args.time_limit = min(args.time_limit, 120.0)
    if args.strata is not None:
        reduction = {"strata": args.strata, "per_stratum": args.per_stratum}
    else:
        reduction = {"clusters": args.clusters or 200}
    train, test = split(args.seed, args.clients, args.locations)
    print(
        f"NYC-synthetic MC-FCP (NOT the P&R-NYC data): {train.num_clients + test.num_clients} "
        f"clients ({train.num_clients} train / {test.num_clients} test), {train.num_locations} "
        f"locations, K = {args.pieces}, {args.method} model, SCIP, time limit "
        f"{args.time_limit:g} {'CPU' if args.cpu_limit else 'wall'} s/solve; reduced rows ({args.reduce}): {reduction}; "
        f"load {os.getloadavg()[0]:.2f}"
    )
    rows = []
    for m in args.budgets:
        earlier: list[np.ndarray] = []
        for rho in [0.0, *args.rhos]:
            reduced = args.reduce == "all" or (args.reduce == "vr" and rho > 0)
            row = run_row(
                train, test, m, rho, reduction=reduction if reduced else {},
                pieces=args.pieces, method=args.method, time_limit=args.time_limit,
                restarts=args.restarts, seed=args.seed, cpu_limit=args.cpu_limit,
                candidates=None if args.no_candidates else earlier,
                baselines=not args.no_baselines,
            )  # fmt: skip
            earlier.append(row["z"])
            rows.append(row)
            print(_row_line(row) + f" load {os.getloadavg()[0]:.2f}", flush=True)
    tables(rows, args.budgets)
    return 0


def _paper_m(m: float, budgets: list[float]) -> int | None:
    """The paper's m: ``m`` itself when it is one of 7, 10, 13, else the one in the same position
    of the budget list (``--quick``: 2, 3, 4 stand for 7, 10, 13)."""
    if m in (7, 10, 13):
        return int(m)
    i = budgets.index(m)
    return (7, 10, 13)[i] if i < 3 else None


def _num(v: float | None, fmt: str = ".4f") -> str:
    return "none" if v is None else format(v, fmt)


def _row_line(r: dict) -> str:
    s = f"  m={r['m']:g} {r['setting']} ({r['reduced']}): H {r['H']:.3f} A {r['A']:.3f} time "
    s += f"{r['seconds']:.1f}s (CPU {r['cpu']:.1f}s) OPT in [{_num(r['lower'])}, {_num(r['upper'])}] gap "
    s += f"{_num(r['gap'], '.3g')} ({r['status']}, {r['decision']} decision; lines "
    s += ", ".join(f"{k} {v:.4g}" for k, v in r["lines"].items()) + ")"
    if "pga" in r:
        s += f"; TT-GAD {r['tt-gad']:.1f}% PGA {r['pga']:.1f}% of our VR {r['ours_vr']:.4f}"
        s += f" (TT-GAD {r['tt-gad_value']:.4f}, PGA {r['pga_value']:.4f}; % of OPT: TT-GAD "
        s += "{:.1f}-{:.1f}, PGA {:.1f}-{:.1f})".format(*r["tt-gad_opt"], *r["pga_opt"])
    return s


def tables(rows: list[dict], budgets: list[float]) -> None:
    print("\nTable 3 (MC-FCP): H / A on test clients, ours | paper (paper m = 7, 10, 13)")
    for setting in ("ERM", *sorted({r["setting"] for r in rows} - {"ERM"})):
        cells = []
        for r in (r for r in rows if r["setting"] == setting):
            pm = _paper_m(r["m"], budgets)
            ph, pa = PAPER_T3.get(setting, {}).get(pm, (float("nan"),) * 2)
            cells.append(f"m={r['m']:g}: {r['H']:.3f}/{r['A']:.3f} | {ph:.3f}/{pa:.3f}")
        print(f"  {setting:>4}  " + "   ".join(cells))
    print("\nTable 4 (MC-FCP): baselines, % of our exact VR objective (train), ours | paper")
    for setting in sorted({r["setting"] for r in rows} - {"ERM"}):
        cells = []
        for r in (r for r in rows if r["setting"] == setting and "pga" in r):
            pm = _paper_m(r["m"], budgets)
            pt, pp = PAPER_T4.get(setting, {}).get(pm, (float("nan"),) * 2)
            cells.append(
                f"m={r['m']:g}: TT-GAD {r['tt-gad']:.1f} | {pt:.1f}, PGA {r['pga']:.1f} | {pp:.1f}"
            )
        print(f"  {setting:>4}  " + "   ".join(cells))
    print("\nTable 5 (MC-FCP): our training time in wall s (CPU s, certified gap), ours | paper")
    for setting in ("ERM", *sorted({r["setting"] for r in rows} - {"ERM"})):
        cells = []
        for r in (r for r in rows if r["setting"] == setting):
            pm = _paper_m(r["m"], budgets)
            gap = "n/a" if r["gap"] is None else f"{r['gap']:.2g}"
            paper = PAPER_T5.get(setting, {}).get(pm, float("nan"))
            cells.append(
                f"m={r['m']:g}: {r['seconds']:.1f} (CPU {r['cpu']:.1f}, gap {gap}) | {paper:.1f}"
            )
        print(f"  {setting:>4}  " + "   ".join(cells))
    print("\nCertified OPT of our objective on the training clients (mean units; no paper value)")
    for r in rows:
        lines = ", ".join(f"{k} {v:.4g}" for k, v in r["lines"].items()) or "none"
        print(
            f"  m={r['m']:g} {r['setting']:>4}: [{_num(r['lower'])}, {_num(r['upper'])}] gap "
            f"{_num(r['gap'], '.3g')} {r['status']} ({r['reduced']}; lines: {lines})"
        )


if __name__ == "__main__":
    raise SystemExit(main())
