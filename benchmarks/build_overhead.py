"""Model-building overhead: ``ConicBuilder`` vs cvxpy on a MISOCP with 10^5 SOC entries.

The model is the variance-regularised max-capture facility-location MISOCP of paper 003
(Section 3.2, eq. (VR); docs/conventions.md, 'Variance regularisation (VR)') on a sparse synthetic
instance: N samples (customers),
D candidate sites, each sample linked to its ``links`` nearest sites (utility V_l = exp(-beta d)),
competitor utility W_i, weights p_i = 1/N::

    max   m - sqrt(2 rho / N) t
    s.t.  W_i y_i + sum_{l in i} V_l w_l - sum_{l in i} V_l z_{j(l)} = 0     (linear-fractional)
          w_l <= ymax_l z_{j(l)},  w_l <= y_{i(l)},
          w_l >= y_{i(l)} - ymax_l (1 - z_{j(l)}),  w_l >= 0                     (McCormick, exact)
          m = p'y,   t >= || diag(sqrt p) (y - m 1) ||_2                          (one SOC, dim N+1)
          sum_j z_j <= r,   z binary,   0 <= y_i <= ymax_i.

Both builds start from the same numpy arrays and end with solver-ready conic data:
dro_opt: ``ConicBuilder`` calls + ``build()``; cvxpy: constructing the ``cp.Problem`` from
vectorised expressions + ``get_problem_data(solver=cp.SCIP)`` (a MISOCP-capable solver; this
only canonicalises, cvxpy cannot prove a gap on this model here). Build seconds (best of
``--repeats``) are measured first without tracing, then peak memory with ``tracemalloc`` in a
second pass (tracing slows Python allocation, so its seconds are not reported). Then every
installed backend loads the built model into its solver (``Result.build_seconds`` of a solve
stopped by a 0.01 s limit), printed beside the build time measured interleaved with it (build,
load, build, load, ...: best of ``--repeats`` each); HiGHS gets the linear part (the SOC
dropped: a timing of the hand-over only). Size-limited licences refuse the model after the load,
so their load is timed too. No timing is asserted anywhere.

Run (from the repository root)::

    python benchmarks/build_overhead.py --check    # N = 99,999, D = 100, links = 1
    python benchmarks/build_overhead.py --samples 20000 --links 3 --skip-native
    python benchmarks/build_overhead.py --skip-cvxpy --repeats 2 --routes   # + fallback routes

Two measured runs in one window (2-core machine shared with about ten other jobs: load average
12-14 during the runs, so absolute seconds are inflated and single figures are noisy -- the build
time of the "scip C API" row below is an outlier); Python 3.11, SCIP 10 / pyscipopt 6.3,
highspy 1.16, gurobipy 13, CPLEX 22.1, Xpress 9.9, MOSEK 11. Model: variables 200100, rows
499998, non-zeros 1300089, one SOC with 100000 entries. This code,
``python benchmarks/build_overhead.py --skip-cvxpy --repeats 2 --routes``::

      backend            build s   load s load/build  model  then
      scip C API           0.337    8.128      24.2x  MISOCP time_limit C API
      scip lp file         0.148   18.265     123.6x  MISOCP time_limit lp file
      scip objects         0.099   19.620     198.0x  MISOCP time_limit
      highs                0.114    0.085       0.7x  linear time_limit
      clarabel                        n/a             (cannot hold it)
      gurobi               0.113    0.638       5.6x  MISOCP license_limit
      mosek                0.129    0.445       3.4x  MISOCP license_limit
      cplex C API          0.102    0.923       9.0x  MISOCP license_limit
      cplex python API     0.094    5.810      61.9x  MISOCP license_limit
      xpress               0.088    0.939      10.7x  MISOCP time_limit
    load average: ['13.62', '12.01', '9.70']

and right after it the code before this benchmark's hand-over work (commit 06235a4: SCIP through
the LP file, Gurobi ``addMVar``/``addMConstr``, CPLEX per-row lists), same script::

      scip                 0.095   16.132     169.1x  MISOCP time_limit lp file
      highs                0.110    0.068       0.6x  linear time_limit
      gurobi               0.105    5.506      52.4x  MISOCP license_limit
      mosek                0.121    0.538       4.5x  MISOCP license_limit
      cplex                0.125    7.481      60.0x  MISOCP license_limit
      xpress               0.136    1.341       9.8x  MISOCP time_limit
    load average: ['14.28', '12.65', '10.18']

A third run of this code, ``--repeats 3`` (load average 15)::

      scip                 0.102    4.927      48.4x  MISOCP time_limit C API
      gurobi               0.100    0.629       6.3x  MISOCP license_limit
      mosek                0.104    0.374       3.6x  MISOCP license_limit
      cplex                0.101    0.682       6.8x  MISOCP license_limit
      xpress               0.102    1.127      11.0x  MISOCP time_limit
      highs                0.094    0.081       0.9x  linear time_limit

Over all runs of this session (load 8-15): SCIP C API 36-48x (plus the outlier above), LP file
120-141x, objects 173-248x (before: the LP file, 108-169x). SCIP's C functions themselves, timed
in a C loop on the same library, take about 1.3 us per column and 1.5 us per row (about 1 s
here), so even without Python SCIP's floor is near 10x this build. Gurobi 5.6-6.3x (before
39-52x), CPLEX C API 6.4-9.0x (before 60-66x), Xpress 9.5-11x (before 9.8-14x; the rest is
``loadMIQCQP`` itself), MOSEK 3-4.5x, HiGHS under 1x.

Afterwards the SCIP C-API route builds the cone quadratics as product expressions ``x*x`` (one
``SCIPcreateExprVar`` x 2 + ``SCIPcreateExprProduct`` + ``SCIPaddExprNonlinear`` per cone term,
the form pyscipopt creates): the powers ``x^2`` of ``SCIPcreateConsBasicQuadraticNonlinear`` made
SCIP solve small MISOCPs 2-14x slower. Its load here then: 6.04 s, 59.9x the build (one run,
``--skip-cvxpy --repeats 2``, load 9.2), still about 3x faster than the per-object route.

Then the C-API route's loops moved into C (:mod:`dro_opt.solvers._scip_loops`, compiled once
where a C compiler exists; the same SCIP calls in the same order, so the same problem text and,
on the MC-FCP secant model K = 16 (120 clients x 8 locations), the same bounds and solve time:
3.60 / 3.66 s vs 3.81 / 3.84 s with the Python calls, interleaved, load 11). The ``(cpu)``
column is the ratio of CPU seconds (the backend's ``build`` hook over the build), and
``--phases`` splits the SCIP C-API load: its "C loops" column is SCIP's own functions called in a
C loop, i.e. the floor of any route through SCIP's API. ``nice -n 10 python
benchmarks/build_overhead.py --skip-cvxpy --repeats 3 --routes --phases`` (load average 11.3 -
11.4 during the run)::

      backend            build s   load s load/build    (cpu)  model  then
      scip C API           0.080    0.942      11.7x    11.7x  MISOCP time_limit C API
      scip C API cffi      0.085    5.448      64.1x    56.3x  MISOCP time_limit C API
      scip lp file         0.087   11.080     127.5x   132.4x  MISOCP time_limit lp file
      scip objects         0.088   16.942     192.9x   195.7x  MISOCP time_limit
      highs                0.078    0.083       1.1x     1.0x  linear time_limit
      gurobi               0.101    0.692       6.9x     7.2x  MISOCP license_limit
      mosek                0.083    0.264       3.2x     3.3x  MISOCP license_limit
      cplex C API          0.090    0.629       7.0x     7.7x  MISOCP license_limit
      cplex python API     0.085    5.032      59.5x    61.0x  MISOCP license_limit
      xpress               0.084    0.893      10.7x    10.7x  MISOCP time_limit
      scip C-API phase             C loops       cffi calls   (wall / cpu s)
      add_columns           0.080 /  0.032   0.773 /  0.308
      add_linear_rows       0.482 /  0.191   2.110 /  0.799
      add_quadratic_rows    0.178 /  0.067   1.105 /  0.417
      finish                0.008 /  0.004   0.628 /  0.230
      load_bulk total       0.905 /    nan   4.880 /    nan

The model SCIP receives has 300,099 columns (200,100 + 99,999 cone slacks: the SOC body rows
``sqrt(p_i) (y_i - m)`` have two entries, so no column can be reused) and 499,997 linear rows.
SCIP's calls alone (the C loops: 0.75 s here, 9.3x this build) leave about 0.16 s for numpy
(translation, row gathering) and the model's creation. A stand-alone C program timing the same
calls on the same arrays against pyscipopt's libscip (load about 3) measured 1.19-1.53 s: columns
0.29-0.40, linear rows 0.58-0.84, cone terms 0.24-0.28 (one ``SCIPcreateExprSum`` over all
products + ``SCIPcreateConsBasicNonlinear`` instead: 0.38-0.42, slower), releases 0.01-0.02;
against the 0.070 s build measured on an idle machine that floor is 17-22x, so the 10x target is
below what SCIP's API allows for this model whenever the build runs at full speed.
"""

from __future__ import annotations

import argparse
import gc
import math
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from dro_opt.conic import ConicBuilder, ConicProblem


# --------------------------------------------------------------------------- instance
@dataclass(frozen=True)
class Instance:
    """Sparse facility-location data: link l joins sample ``li[l]`` to site ``lj[l]``."""

    n: int
    d: int
    li: np.ndarray
    lj: np.ndarray
    v: np.ndarray  # link utilities V_l
    w0: np.ndarray  # competitor utility W_i
    ymax_i: np.ndarray  # bound on y_i
    budget: int
    rho: float

    @property
    def ymax_l(self) -> np.ndarray:
        return self.ymax_i[self.li]

    @property
    def p(self) -> np.ndarray:
        return np.full(self.n, 1.0 / self.n)


def make_instance(n: int, d: int, links: int, budget: int, rho: float, seed: int) -> Instance:
    """Random points in the unit square; each sample linked to its ``links`` nearest sites."""
    rng = np.random.default_rng(seed)
    cust = rng.uniform(size=(n, 2))
    sites = rng.uniform(size=(d, 2))
    dist = np.sqrt(((cust[:, None, :] - sites[None, :, :]) ** 2).sum(axis=2))
    near = np.argpartition(dist, links - 1, axis=1)[:, :links]
    li = np.repeat(np.arange(n), links)
    lj = near.ravel()
    v = np.exp(-5.0 * dist[li, lj])
    w0 = rng.uniform(0.2, 1.0, n)
    # f_i(z) = V_i'z / (W_i + V_i'z) is increasing in z: all links open bounds y_i.
    vsum = np.bincount(li, weights=v, minlength=n)
    ymax_i = vsum / (w0 + vsum)
    return Instance(n, d, li, lj, v, w0, ymax_i, budget, rho)


# --------------------------------------------------------------------------- dro_opt build
def build_dro_opt(inst: Instance) -> ConicProblem:
    """The MISOCP of the module docstring with :class:`ConicBuilder` (all blocks in bulk)."""
    n, d, nl = inst.n, inst.d, inst.li.size
    links = np.arange(nl)
    bld = ConicBuilder("max", name="vr_flp")
    z = bld.add_variables("z", d, lb=0, ub=1, vtype="binary")
    y = bld.add_variables("y", n, lb=0, ub=inst.ymax_i)
    w = bld.add_variables("w", nl, lb=0)
    m = bld.add_variables("m", 1)
    t = bld.add_variables("t", 1, lb=0)

    bld.add_eq(
        "fractional",
        [
            (y, sp.diags(inst.w0)),
            (w, sp.coo_matrix((inst.v, (inst.li, links)), shape=(n, nl))),
            (z, sp.coo_matrix((-inst.v, (inst.li, inst.lj)), shape=(n, d))),
        ],
        0.0,
    )
    eye = sp.identity(nl, format="coo")
    py = sp.coo_matrix((np.ones(nl), (links, inst.li)), shape=(nl, n))
    pz = sp.coo_matrix((inst.ymax_l, (links, inst.lj)), shape=(nl, d))  # ymax_l * z_j(l)
    empty_y, empty_z = sp.coo_matrix((nl, n)), sp.coo_matrix((nl, d))
    bld.add_ge(
        "mccormick",
        [
            (w, sp.vstack([-eye, -eye, eye])),
            (y, sp.vstack([empty_y, py, -py])),
            (z, sp.vstack([pz, empty_z, -pz])),
        ],
        np.concatenate([np.zeros(2 * nl), -inst.ymax_l]),
    )
    bld.add_le("budget", [(z, np.ones((1, d)))], inst.budget)
    bld.add_eq("mean", [(m, [[1.0]]), (y, -inst.p[None, :])], 0.0)
    sq = np.sqrt(inst.p)
    bld.add_constraints(
        "std",
        "soc",
        [
            (t, sp.coo_matrix(([1.0], ([0], [0])), shape=(n + 1, 1))),
            (y, sp.vstack([sp.coo_matrix((1, n)), sp.diags(sq)])),
            (m, np.r_[0.0, -sq][:, None]),
        ],
        dims=n + 1,
    )
    bld.set_objective([(m, [1.0]), (t, [-np.sqrt(2.0 * inst.rho / n)])])
    return bld.build()


# --------------------------------------------------------------------------- cvxpy build
def build_cvxpy(inst: Instance) -> tuple[Any, Any]:
    """The same MISOCP as a vectorised cvxpy problem; returns (problem, SCIP problem data)."""
    import cvxpy as cp

    n, d, nl = inst.n, inst.d, inst.li.size
    links = np.arange(nl)
    z = cp.Variable(d, boolean=True, name="z")
    y = cp.Variable(n, bounds=[np.zeros(n), inst.ymax_i], name="y")
    w = cp.Variable(nl, nonneg=True, name="w")
    m = cp.Variable(name="m")
    t = cp.Variable(name="t", nonneg=True)
    vw = sp.csr_matrix((inst.v, (inst.li, links)), shape=(n, nl))
    vz = sp.csr_matrix((inst.v, (inst.li, inst.lj)), shape=(n, d))
    py = sp.csr_matrix((np.ones(nl), (links, inst.li)), shape=(nl, n))
    pz = sp.csr_matrix((np.ones(nl), (links, inst.lj)), shape=(nl, d))
    ymax = inst.ymax_l
    cons = [
        cp.multiply(inst.w0, y) + vw @ w - vz @ z == 0,
        w <= cp.multiply(ymax, pz @ z),
        w <= py @ y,
        w >= py @ y - cp.multiply(ymax, 1 - pz @ z),
        cp.sum(z) <= inst.budget,
        m == inst.p @ y,
        cp.SOC(t, cp.multiply(np.sqrt(inst.p), y - m)),
    ]
    prob = cp.Problem(cp.Maximize(m - np.sqrt(2.0 * inst.rho / n) * t), cons)
    data, _, _ = prob.get_problem_data(solver=cp.SCIP)
    return prob, data


# --------------------------------------------------------------------------- measuring
def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def best_of(repeats: int, fn: Callable[[], Any]) -> tuple[Any, float]:
    """``fn()`` and its fastest wall time over ``repeats`` runs (a loaded machine adds noise)."""
    out, best = timed(fn)
    for _ in range(repeats - 1):
        out, sec = timed(fn)
        best = min(best, sec)
    return out, best


def peak_mib(fn: Callable[[], Any]) -> float:
    """Peak traced Python/numpy allocation (MiB) while ``fn`` runs."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def cpu_seconds(fn: Callable[[], Any]) -> float:
    """Process CPU seconds (all threads) of ``fn()``."""
    gc.collect()
    c0 = time.process_time()
    fn()
    return time.process_time() - c0


def load_seconds(backend: Any, prob: ConicProblem) -> tuple[float, float, str]:
    """``Result.build_seconds`` of a solve stopped by a 0.01 s limit, the CPU seconds of the
    backend's ``build`` hook (the load itself), and the status."""
    from dro_opt.solvers.base import SolveOptions

    cls, cpu = type(backend), [0.0]
    original = cls.build

    def build(self: Any, run: Any) -> None:
        c0 = time.process_time()
        original(self, run)
        cpu[0] = time.process_time() - c0

    cls.build = build
    try:
        res = backend.solve(prob, SolveOptions(time_limit=0.01, threads=1))
    finally:
        cls.build = original
    then = f"{res.status.value} {res.extra.get('loaded_from') or ''}".strip()
    return res.build_seconds, cpu[0], then


# alternative loading routes kept as fallbacks: backend -> {route: class attributes to set}
ROUTES: dict[str, dict[str, dict[str, Any]]] = {
    "scip": {
        "C API": {"bulk_route": True, "compiled_loops": True},
        "C API cffi": {"bulk_route": True, "compiled_loops": False},
        "lp file": {"bulk_route": False, "file_route_min_nnz": 0},
        "objects": {"bulk_route": False, "file_route_min_nnz": 10**12},
    },
    "cplex": {"C API": {"bulk_route": True}, "python API": {"bulk_route": False}},
}


def native_load_seconds(
    inst: Instance, prob: ConicProblem, repeats: int, routes: bool = False
) -> list[str]:
    """Seconds every installed backend spends loading the built model into its solver, beside
    the build time measured interleaved with it (build, load, build, load, ...; best of
    ``repeats`` each, so both see the same machine load); ``routes`` adds the fallback routes.

    A backend without second-order cones gets the linear part (cones dropped: a timing of the
    hand-over only, not a model anyone should solve). Size-limited licences refuse the model at
    the optimisation, after the load, so their load is timed too (status ``license_limit``).
    """
    from dro_opt.solvers import registry

    rows = [
        f"{'backend':17s} {'build s':>8s} {'load s':>8s} {'load/build':>10s} {'(cpu)':>8s}  model"
        "  then"
    ]
    for be in registry.all_backends():
        if not be.is_installed():
            rows.append(f"{be.name:17s} {'':>8s} {'n/a':>8s} {'':>10s}  (not installed)")
            continue
        full = not be.missing_features(prob)
        model = prob if full else linear_part(prob)
        if be.missing_features(model):
            rows.append(f"{be.name:17s} {'':>8s} {'n/a':>8s} {'':>10s}  (cannot hold it)")
            continue
        variants = ROUTES.get(be.name, {}) if routes else {}
        for route, attrs in variants.items() or [("", {})]:
            saved = {k: getattr(type(be), k) for k in attrs}
            for key, value in attrs.items():
                setattr(type(be), key, value)
            try:
                build = load = build_cpu = load_cpu = math.inf
                then = ""
                for _ in range(repeats):
                    build = min(build, timed(lambda: build_dro_opt(inst))[1])
                    build_cpu = min(build_cpu, cpu_seconds(lambda: build_dro_opt(inst)))
                    sec, cpu, then = load_seconds(be, model)
                    load, load_cpu = min(load, sec), min(load_cpu, cpu)
            finally:
                for key, value in saved.items():
                    setattr(type(be), key, value)
            label = f"{be.name} {route}".strip()
            what = "MISOCP" if full else "linear"
            rows.append(
                f"{label:17s} {build:8.3f} {load:8.3f} {load / build:9.1f}x "
                f"{load_cpu / build_cpu:7.1f}x  {what} {then}"
            )
    return rows


SCIP_PHASES = ("add_columns", "add_linear_rows", "add_quadratic_rows", "finish")


def scip_phase_seconds(prob: ConicProblem, repeats: int) -> list[str]:
    """The SCIP C-API load split into its phases (best of ``repeats`` each), with the loops
    compiled as C (SCIP's own functions in a C loop: the floor of any route through SCIP's API)
    and as Python calls through cffi, interleaved; CPU seconds beside wall seconds."""
    import resource

    from pyscipopt import Model

    from dro_opt.solvers import _scip_bulk, scip_backend

    def cpu() -> float:
        use = resource.getrusage(resource.RUSAGE_SELF)
        return use.ru_utime + use.ru_stime

    best: dict[str, dict[str, tuple[float, float]]] = {"C": {}, "cffi calls": {}}
    originals = {name: getattr(_scip_bulk.BulkLoader, name) for name in SCIP_PHASES}

    def timer(name: str, variant: str) -> Callable[..., Any]:
        def run(self: Any, *args: Any) -> Any:
            w0, c0 = time.perf_counter(), cpu()
            out = originals[name](self, *args)
            sec = (time.perf_counter() - w0, cpu() - c0)
            old = best[variant].get(name, (math.inf, math.inf))
            best[variant][name] = sec if sec[0] < old[0] else old
            return out

        return run

    for _ in range(repeats):
        for variant in best:
            model = Model()
            model.hideOutput()
            lib = _scip_bulk.scip_library(model)
            if lib is None or (variant == "C" and lib.loops is None):
                return [f"scip phases: the {variant} loops cannot be used here"]
            if variant != "C":
                lib = scip_backend.replace(lib, loops=None, api=None)
            for name in SCIP_PHASES:
                setattr(_scip_bulk.BulkLoader, name, timer(name, variant))
            try:
                w0 = time.perf_counter()
                scip_backend.load_bulk(model, prob, lib)
                sec = time.perf_counter() - w0
            finally:
                for name, fn in originals.items():
                    setattr(_scip_bulk.BulkLoader, name, fn)
            old = best[variant].get("load_bulk total", (math.inf, math.inf))
            best[variant]["load_bulk total"] = min(old, (sec, math.nan))
            del model
    rows = [f"{'scip C-API phase':19s} {'C loops':>16s} {'cffi calls':>16s}   (wall / cpu s)"]
    for name in (*SCIP_PHASES, "load_bulk total"):
        cells = [best[v].get(name, (math.nan, math.nan)) for v in best]
        rows.append(f"{name:19s} " + " ".join(f"{w:7.3f} / {c:6.3f}" for w, c in cells))
    return rows


def linear_part(prob: ConicProblem) -> ConicProblem:
    """The zero/nonneg rows of ``prob`` (cones dropped): HiGHS takes no SOC."""
    off = prob.row_offsets()
    keep = np.zeros(prob.m, dtype=bool)
    runs = []
    for run, lo, hi in zip(prob.cones, off[:-1], off[1:], strict=True):
        if run.kind in ("zero", "nonneg"):
            keep[lo:hi] = True
            runs.append(run)
    return ConicProblem(
        c=prob.c,
        A=prob.A[keep],
        b=prob.b[keep],
        cones=runs,
        lb=prob.lb,
        ub=prob.ub,
        vtype=prob.vtype,
        sense=prob.sense,
        c0=prob.c0,
        var_blocks=prob.var_blocks,
        name=prob.name + "_linear_part",
    )


def check_same_model(seed: int) -> None:
    """Solve a tiny instance with both builds (same solver) and print both optima."""
    import cvxpy as cp

    from dro_opt.solvers import solve

    inst = make_instance(40, 8, 2, 3, 5.0, seed)
    res = solve(build_dro_opt(inst), "scip", threads=1)
    prob, _ = build_cvxpy(inst)
    prob.solve(solver=cp.SCIP)
    print(
        f"check (N=40, D=8, r=3): dro_opt+SCIP {res.status.value} {res.objective:.9f}, "
        f"cvxpy+SCIP {prob.status} {prob.value:.9f}"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=99_999, help="N (SOC dimension is N + 1)")
    ap.add_argument("--sites", type=int, default=100, help="D candidate sites (binaries)")
    ap.add_argument("--links", type=int, default=1, help="nearest sites linked to each sample")
    ap.add_argument("--budget", type=int, default=10)
    ap.add_argument("--rho", type=float, default=100.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="build timings: best of this many")
    ap.add_argument("--skip-cvxpy", action="store_true")
    ap.add_argument("--skip-native", action="store_true", help="skip the load into the solvers")
    ap.add_argument(
        "--routes", action="store_true", help="also time the fallback routes (SCIP, CPLEX)"
    )
    ap.add_argument(
        "--phases",
        action="store_true",
        help="also split SCIP's C-API load into its phases (C loops vs cffi calls)",
    )
    ap.add_argument(
        "--check",
        action="store_true",
        help="first solve a tiny instance both ways (dro_opt+SCIP, cvxpy+SCIP) and compare",
    )
    args = ap.parse_args(argv)
    if args.check:
        check_same_model(args.seed)

    inst = make_instance(args.samples, args.sites, args.links, args.budget, args.rho, args.seed)
    ours, t_ours = best_of(args.repeats, lambda: build_dro_opt(inst))
    soc_entries = sum(r.rows for r in ours.cones if r.kind == "soc")
    print(f"model: N={inst.n} samples, D={inst.d} binaries, {inst.li.size} links")
    print(f"  variables {ours.n}, rows {ours.m}, non-zeros {ours.A.nnz}, SOC entries {soc_entries}")
    print(f"  cone runs {[(r.kind, r.dim, r.count) for r in ours.cones]}")
    mem_ours = peak_mib(lambda: build_dro_opt(inst))
    print(f"build (best of {args.repeats})        seconds   peak MiB")
    print(f"dro_opt ConicBuilder      {t_ours:8.3f}   {mem_ours:8.1f}")

    if not args.skip_cvxpy:
        import cvxpy  # noqa: F401  - import time is not build time

        (_, data), t_cvx = best_of(args.repeats, lambda: build_cvxpy(inst))
        a_cvx = data["A"]
        mem_cvx = peak_mib(lambda: build_cvxpy(inst))
        print(f"cvxpy get_problem_data    {t_cvx:8.3f}   {mem_cvx:8.1f}")
        print(f"ratio cvxpy / dro_opt     {t_cvx / t_ours:7.1f}x  {mem_cvx / mem_ours:7.1f}x")
        print(f"  (cvxpy's A: {a_cvx.shape[0]} rows, {a_cvx.nnz} non-zeros)")

    if not args.skip_native:
        print(f"load into each solver (best of {args.repeats}, interleaved with the build)")
        for line in native_load_seconds(inst, ours, args.repeats, args.routes):
            print("  " + line)
        if args.phases:
            for line in scip_phase_seconds(ours, args.repeats):
                print("  " + line)
        print(f"load average: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
