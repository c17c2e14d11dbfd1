"""Dolan-More performance profiles over a set of targets.

Dolan & More, "Benchmarking optimization software with performance profiles", Math. Program. 91
(2002), eqs. (1)-(2): for problem p and configuration s (a solver, or solver/method) let
``t[p, s]`` be its solve time if it *proved* optimality and ``inf`` otherwise; the performance ratio
is ``r[p, s] = t[p, s] / min_s t[p, s]`` and the profile of s is

    rho_s(tau) = |{p : r[p, s] <= tau}| / n_p,

the fraction of problems s solves within a factor tau of the best configuration. ``rho_s(1)`` is
the share of wins, ``rho_s(inf)`` the share solved at all. Repeats of a run are summarised by the
median of their times (an unsolved repeat counts as ``inf``); times are floored at ``min_time`` so
that sub-millisecond solves do not turn noise into large ratios.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

SOLVED = frozenset({"optimal"})


def config_label(row: dict[str, Any]) -> str:
    """``solver`` for model files, ``solver/method`` for application targets."""
    m = row.get("method")
    return row["solver"] if m in (None, "direct") else f"{row['solver']}/{m}"


@dataclass
class PerformanceProfile:
    """Ratios ``ratios[p, s]`` and the profile curves evaluated at ``taus``."""

    problems: list[str]
    configs: list[str]
    times: np.ndarray  # (P, S) seconds, inf where not solved
    ratios: np.ndarray  # (P, S) performance ratios, inf where not solved
    taus: np.ndarray  # (T,) increasing, starting at 1
    fractions: np.ndarray  # (S, T) rho_s(tau)

    def fraction_solved(self) -> dict[str, float]:
        """``rho_s(inf)`` for each configuration."""
        solved = np.isfinite(self.ratios).mean(axis=0) if self.problems else np.zeros(0)
        return dict(zip(self.configs, solved.tolist(), strict=True))


def performance_profile(
    rows: list[dict[str, Any]], min_time: float = 1e-3, num_taus: int = 200
) -> PerformanceProfile:
    """Profile of every configuration that ran (rows ``unavailable`` everywhere are dropped)."""
    ran = [r for r in rows if r.get("status") != "unavailable"]
    problems = list(dict.fromkeys(str(r["target"]) for r in ran))
    configs = list(dict.fromkeys(config_label(r) for r in ran))
    P, S = len(problems), len(configs)
    pi = {p: i for i, p in enumerate(problems)}
    si = {s: j for j, s in enumerate(configs)}
    samples: dict[tuple[int, int], list[float]] = {}
    for r in ran:
        t = r.get("solve_seconds")
        ok = r.get("status") in SOLVED and t is not None and not r.get("killed")
        value = max(float(t), min_time) if ok else np.inf
        samples.setdefault((pi[str(r["target"])], si[config_label(r)]), []).append(value)
    times = np.full((P, S), np.inf)
    if samples:
        idx = np.array(list(samples.keys()))
        times[idx[:, 0], idx[:, 1]] = [np.median(v) for v in samples.values()]
    best = times.min(axis=1, initial=np.inf, keepdims=True) if S else np.full((P, 1), np.inf)
    with np.errstate(invalid="ignore"):
        ratios = np.where(np.isfinite(times) & np.isfinite(best), times / best, np.inf)
    finite = ratios[np.isfinite(ratios)]
    top = max(2.0, float(finite.max()) * 1.05) if finite.size else 2.0
    taus = np.unique(np.concatenate([[1.0], np.geomspace(1.0, top, num_taus), finite]))
    if P:
        fractions = (ratios[:, :, None] <= taus[None, None, :]).mean(axis=0)
    else:
        fractions = np.zeros((S, taus.size))
    return PerformanceProfile(problems, configs, times, ratios, taus, fractions)
