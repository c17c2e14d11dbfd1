"""Compare solvers and formulations on model files and instances (``dro-opt compare``, issue 6).

Library entry point: :func:`dro_opt.compare.runner.run_compare` with targets from
:func:`dro_opt.compare.targets.parse_targets`; the CLI glue is :mod:`dro_opt.compare.command`.
"""

from dro_opt.compare.runner import CompareConfig, CompareOutcome, execute_task, run_compare
from dro_opt.compare.targets import Target, parse_target, parse_targets

__all__ = [
    "CompareConfig",
    "CompareOutcome",
    "Target",
    "execute_task",
    "parse_target",
    "parse_targets",
    "run_compare",
]
