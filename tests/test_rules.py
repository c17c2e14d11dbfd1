"""Every rewrite rule against an independent solution of its source problem.

Collects ``CASES`` from every ``tests/rule_cases_*.py`` (see ``rule_harness.py``), checks each
case for each of its seeds, and checks that every rule module in ``dro_opt/reformulations``
(all ``.py`` files but ``__init__``, ``emitter``, ``phi_dual``, the sandwich solve loop
``exp_cone_polyhedral_solve`` and private ``_*`` modules) has
at least one case.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from rule_harness import RuleCase, check_case  # noqa: E402

RULES_DIR = TESTS.parent / "dro_opt" / "reformulations"
NOT_RULES = {"__init__", "emitter", "phi_dual", "exp_cone_polyhedral_solve"}


def _collect() -> list[RuleCase]:
    cases: list[RuleCase] = []
    for path in sorted(TESTS.glob("rule_cases_*.py")):
        module = importlib.import_module(path.stem)
        cases.extend(module.CASES)
    return cases


ALL_CASES = _collect()
PARAMS = [
    pytest.param(case, seed, id=f"{case.id}:seed{seed}")
    for case in ALL_CASES
    for seed in case.seeds
]


def test_case_ids_unique() -> None:
    ids = [case.id for case in ALL_CASES]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    assert not dup, f"duplicate rule case ids: {dup}"


@pytest.mark.parametrize(("case", "seed"), PARAMS)
def test_rule_case(case: RuleCase, seed: int) -> None:
    check_case(case, seed)


def test_every_rule_module_has_a_case() -> None:
    modules = sorted(
        p.stem
        for p in RULES_DIR.glob("*.py")
        if p.stem not in NOT_RULES and not p.stem.startswith("_")
    )
    covered = {case.rule for case in ALL_CASES}
    missing = [m for m in modules if m not in covered]
    assert not missing, f"rule modules without a case in tests/rule_cases_*.py: {missing}"
    unknown = sorted(covered - set(modules))
    assert not unknown, f"cases name rule modules that do not exist: {unknown}"
