"""The one shared harness for rewrite-rule tests (``tests/rule_cases_*.py`` -> ``test_rules.py``).

A :class:`RuleCase` pairs the SOURCE problem of a rule, solved independently of the rule
(``reference``: brute force, a closed form, or a hand-written cvxpy model of the primal solved by
cvxpy's own Clarabel interface), with the TARGET model the rule builds (``rewritten``: built
through an emitter and solved on a dro_opt backend). :func:`check_case` asserts they agree.

Modules ``tests/rule_cases_<topic>.py`` export ``CASES: list[RuleCase]``; ``test_rules.py``
collects them all and checks that every rule module of :mod:`dro_opt.reformulations` has a case.

Helpers for ``rewritten``:

* :func:`solve_cvxpy_emitter` -- ``build(em)`` writes the model through a
  :class:`~dro_opt.reformulations.emitter.CvxpyEmitter` and returns the objective; the cvxpy
  problem is imported with :func:`dro_opt.conic.from_cvxpy` and solved by :func:`dro_opt.solve`;
* :func:`solve_conic_emitter` -- the same ``build`` through a
  :class:`~dro_opt.reformulations.emitter.ConicEmitter` over a ``ConicBuilder``;
* :func:`both_emitters` -- two cases (``[cvxpy]`` and ``[conic]``) from one ``build``, for rules
  that accept LinExpr as well as cvxpy expressions.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np

import dro_opt
from dro_opt.conic import ConicBuilder, from_cvxpy
from dro_opt.reformulations.emitter import ConicEmitter, CvxpyEmitter
from dro_opt.solvers import Status

#: ``build(em, data) -> objective`` writes a model through an emitter.
Build = Callable[[Any, Any], Any]

DEFAULT_SOLVER = "clarabel"


@dataclass(frozen=True)
class RuleCase:
    """One source problem and the rule's rewritten model of it.

    Attributes
    ----------
    rule : stem of the rule module in ``dro_opt/reformulations`` (e.g. ``"kl_exp_cone"``).
    name : a short unique description (used in the test id).
    make : ``rng -> data`` draws an instance.
    reference : ``data -> optimum`` of the source problem, computed WITHOUT the rule.
    rewritten : ``data -> optimum`` of the model the rule builds, solved on a dro_opt backend.
    rtol, atol : agreement tolerance (``numpy.isclose`` semantics).
    seeds : seeds of ``numpy.random.default_rng`` the case is checked with.
    """

    rule: str
    name: str
    make: Callable[[np.random.Generator], Any]
    reference: Callable[[Any], float]
    rewritten: Callable[[Any], float]
    rtol: float = 1e-6
    atol: float = 1e-7
    seeds: tuple[int, ...] = (0, 1, 2)

    @property
    def id(self) -> str:
        return f"{self.rule}:{self.name}"


def check_case(case: RuleCase, seed: int) -> None:
    """Assert ``case.rewritten(data) == case.reference(data)`` for the instance of ``seed``."""
    data = case.make(np.random.default_rng(seed))
    ref = float(case.reference(data))
    got = float(case.rewritten(data))
    assert math.isfinite(ref), f"{case.id} seed {seed}: reference is {ref}"
    assert np.isclose(got, ref, rtol=case.rtol, atol=case.atol), (
        f"{case.id} seed {seed}: rewritten {got!r} != reference {ref!r} "
        f"(diff {got - ref:.3e}, rtol {case.rtol}, atol {case.atol})"
    )


# ----------------------------------------------------------------------------- solving
def _objective(result: Any, what: str) -> float:
    assert result.status is Status.OPTIMAL, f"{what}: status {result.status} {result.message}"
    return float(result.objective)


def solve_cvxpy_emitter(
    build: Build, data: Any, *, sense: str = "min", solver: str = DEFAULT_SOLVER
) -> float:
    """Optimum of ``build(CvxpyEmitter(), data)`` imported by ``from_cvxpy``, solved by dro_opt."""
    em = CvxpyEmitter()
    obj = cp.sum(build(em, data))
    goal = cp.Minimize(obj) if sense == "min" else cp.Maximize(obj)
    problem = from_cvxpy(cp.Problem(goal, em.constraints))
    return _objective(dro_opt.solve(problem, solver=solver), "cvxpy emitter")


def solve_conic_emitter(
    build: Build, data: Any, *, sense: str = "min", solver: str = DEFAULT_SOLVER
) -> float:
    """Optimum of ``build(ConicEmitter(ConicBuilder(sense)), data)`` solved by dro_opt."""
    em = ConicEmitter(ConicBuilder(sense=sense))
    em.set_objective(build(em, data))
    return _objective(dro_opt.solve(em.builder.build(), solver=solver), "conic emitter")


def both_emitters(
    rule: str,
    name: str,
    make: Callable[[np.random.Generator], Any],
    reference: Callable[[Any], float],
    build: Build,
    *,
    sense: str = "min",
    **kwargs: Any,
) -> list[RuleCase]:
    """Two cases checking ``build`` through the cvxpy and the conic emitter."""
    return [
        RuleCase(
            rule,
            f"{name}[cvxpy]",
            make,
            reference,
            lambda d: solve_cvxpy_emitter(build, d, sense=sense),
            **kwargs,
        ),
        RuleCase(
            rule,
            f"{name}[conic]",
            make,
            reference,
            lambda d: solve_conic_emitter(build, d, sense=sense),
            **kwargs,
        ),
    ]


def solve_reference(problem: cp.Problem) -> float:
    """Optimum of a hand-written cvxpy model, solved by cvxpy's own Clarabel interface."""
    with warnings.catch_warnings():  # exact rational powers become SOCs: better scaled
        warnings.filterwarnings("ignore", message="Power atom with exponent")
        value = problem.solve(solver=cp.CLARABEL)
    assert problem.status == cp.OPTIMAL, f"reference model: status {problem.status}"
    return float(value)


__all__ = [
    "Build",
    "RuleCase",
    "both_emitters",
    "check_case",
    "solve_conic_emitter",
    "solve_cvxpy_emitter",
    "solve_reference",
]
