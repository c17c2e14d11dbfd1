"""Misbehaving solver backends for the ``dro-opt compare`` tests.

Imported in every worker process through ``DRO_OPT_COMPARE_PLUGINS`` (a path to this file); each
class registers itself with :func:`dro_opt.solvers.registry.register_backend`:

* ``fake_crash``  -- dereferences a NULL pointer (a real SIGSEGV);
* ``fake_hang``   -- ignores its time limit and sleeps;
* ``fake_license`` -- answers LICENSE_LIMIT like a size-limited commercial licence;
* ``fake_wrong``  -- solves with HiGHS, then claims an "optimal" value 10% + 1 too good (a wrong
  bound, as a buggy solver or formulation would);
* ``fake_slow``   -- HiGHS after a 3 s pause;
* ``fake_memory`` -- allocates far beyond the per-run memory limit.
"""

from __future__ import annotations

import ctypes
import time

import numpy as np

from dro_opt.conic.problem import ConicProblem
from dro_opt.solvers.base import ALL_FEATURES, Backend, SolveOptions
from dro_opt.solvers.registry import get_backend, register_backend
from dro_opt.solvers.result import Result
from dro_opt.solvers.status import Status


class _Fake(Backend):
    module = "json"  # always importable: the fake is "installed"
    distribution = "dro-opt"
    features = frozenset(ALL_FEATURES)


class CrashBackend(_Fake):
    name = "fake_crash"

    def _solve(self, problem: ConicProblem, options: SolveOptions) -> Result:
        ctypes.string_at(0)  # SIGSEGV
        raise AssertionError("unreachable")


class HangBackend(_Fake):
    name = "fake_hang"

    def _solve(self, problem: ConicProblem, options: SolveOptions) -> Result:
        while True:
            time.sleep(3600)


class LicenseBackend(_Fake):
    name = "fake_license"
    open_source = False
    license_limit = "<= 1 variable"

    def _solve(self, problem: ConicProblem, options: SolveOptions) -> Result:
        return Result(
            Status.LICENSE_LIMIT,
            solver=self.name,
            sense=problem.sense,
            message=f"model too large for the size-limited licence ({self.license_limit}, "
            f"model has {problem.n}); use scip or highs",
        )


class WrongBoundBackend(_Fake):
    name = "fake_wrong"
    features = frozenset({"integer", "bound"})

    def _solve(self, problem: ConicProblem, options: SolveOptions) -> Result:
        res = get_backend("highs").solve(problem, SolveOptions(time_limit=options.time_limit))
        obj = float(res.objective)
        better = obj + (0.1 * abs(obj) + 1.0) * (1.0 if problem.sense == "max" else -1.0)
        return Result(
            Status.OPTIMAL, objective=better, bound=better, solver=self.name, sense=problem.sense
        )


class SlowBackend(_Fake):
    """HiGHS after a pause: a well-behaved but slow solver, to interrupt sweeps mid-way."""

    name = "fake_slow"
    features = frozenset({"integer", "bound"})

    def _solve(self, problem: ConicProblem, options: SolveOptions) -> Result:
        time.sleep(3.0)
        res = get_backend("highs").solve(problem, SolveOptions(time_limit=options.time_limit))
        res.solver = self.name
        return res


class MemoryBackend(_Fake):
    name = "fake_memory"

    def _solve(self, problem: ConicProblem, options: SolveOptions) -> Result:
        hog = np.ones(2**34)  # 128 GiB
        return Result(Status.ERROR, objective=float(hog[0]), solver=self.name)


for _cls in (
    CrashBackend,
    HangBackend,
    LicenseBackend,
    WrongBoundBackend,
    SlowBackend,
    MemoryBackend,
):
    register_backend(_cls())
