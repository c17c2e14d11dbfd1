"""Synthetic Bayesian security games: the two-layer beta/Gaussian generator of paper 003 App. I.

Paper 003 App. I (following Yang, Ordonez & Tambe 2012) draws the payoffs with two layers of
randomness: (1) i.i.d. samples of a *mean-shifted beta distribution* on ``[low, high]``, (2) used
as the means of Gaussians from which the final parameters are drawn i.i.d. Only ``low = 5`` and
``high = 8`` survived the text extraction; the choices below fill in what was lost (each is a
keyword argument and is recorded in the instance's ``meta``):

* layer 1, one mean per target and payoff kind (shared by all attacker types, so the types are
  perturbations of one game): ``mu = low + (high - low) * Beta(beta_a, beta_b)``,
  ``beta_a = beta_b = 2``;
* layer 2, per type ``n`` and target ``j``: ``|x| ~ Normal(mu_j, sigma^2)``, ``sigma = 1``;
* signs as in the SSG literature: rewards positive (``defender_reward``, ``attacker_reward`` =
  ``+x``), penalties negative (``defender_penalty``, ``attacker_penalty`` = ``-x``), so coverage
  helps the defender and hurts the attacker;
* rationality ``lam = 0.25`` (``lambda`` lost; small enough that the quantal response is not
  a hard best response at payoff spreads of ~13), budget ``R = max(1, round(M / 4))``
  resources, unit weights.

Reproducible: the same ``(targets, types, seed, parameters)`` give the same instance.
"""

from __future__ import annotations

import math

import numpy as np

from dro_opt.errors import ParameterError
from dro_opt.models.security_game.instance import PAYOFFS, SSGInstance

LOW, HIGH = 5.0, 8.0
BETA_A = BETA_B = 2.0
SIGMA = 1.0
LAMBDA = 0.25


def default_budget(targets: int) -> float:
    return float(max(1, round(targets / 4)))


def generate_ssg(
    targets: int,
    types: int,
    seed: int = 0,
    *,
    budget: float | None = None,
    lam: float = LAMBDA,
    low: float = LOW,
    high: float = HIGH,
    beta_a: float = BETA_A,
    beta_b: float = BETA_B,
    sigma: float = SIGMA,
) -> SSGInstance:
    """An ``types x targets`` game (module docstring)."""
    for label, value in (("targets", targets), ("types", types)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ParameterError(f"--{label} must be an integer >= 1, got {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ParameterError(f"--seed must be an integer >= 0, got {seed!r}")
    for label, value in (("sigma", sigma), ("lambda", lam)):
        if not (math.isfinite(value) and value >= 0):
            raise ParameterError(f"{label} must be a finite number >= 0, got {value}")
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ParameterError(f"need finite low < high, got {low}, {high}")
    if not (beta_a > 0 and beta_b > 0):
        raise ParameterError("beta shape parameters must be > 0")
    M, N = int(targets), int(types)
    R = default_budget(M) if budget is None else float(budget)
    rng = np.random.default_rng(int(seed))
    mu = low + (high - low) * rng.beta(beta_a, beta_b, size=(4, 1, M))
    x = np.abs(rng.normal(mu, sigma, size=(4, N, M)))
    sign = np.array([1.0, -1.0, 1.0, -1.0])[:, None, None]  # rewards +, penalties -
    payoffs = dict(zip(PAYOFFS, sign * x, strict=True))
    meta = {
        "generator": "paper 003 App. I two-layer beta/Gaussian",
        "targets": M,
        "types": N,
        "seed": int(seed),
        "low": low,
        "high": high,
        "beta_a": beta_a,
        "beta_b": beta_b,
        "sigma": sigma,
    }
    return SSGInstance(R, lam, **payoffs, name=f"ssg_m{M}_n{N}_s{seed}", meta=meta)
