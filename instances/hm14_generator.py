"""Seeded generator of HM14-style max-capture facility location instances.

Construction (Haase & Mueller 2014, "A comparison of linear reformulations for multinomial logit
choice probabilities in facility location models", EJOR 232(3)):

* ``N`` customers, ``D`` candidate locations and ``E`` competitor facilities, all drawn
  independently and uniformly in the square ``[0, width]^2`` (``width = 30``);
* Euclidean distances ``c_{n,d}`` (customer to candidate) and ``k_{n,e}`` (customer to competitor);
* unit customer weights ``q_n = 1``;
* distances written with 5 significant digits, as in the classic files.

What was verified, and how (see the module's tests and the report that introduced it):

* The reimplementation in robinlegault/CBCFLP (``src/Instance_generation.jl``,
  ``generate_instance_HM14``) draws uniform points in a ``30 x 30`` square with unit weights, but
  uses L1 distances rounded to 3 decimals.
* The 15 classic files in ``../shared/data/hm14`` are *not* L1: their distances are at most
  41.2 (an L1 distance in a 30-square reaches 60; a Euclidean one at most 42.4), their mean is
  15.0 - 16.4 (uniform pairs in a 30-square: Euclidean 15.6, L1 20.0), and a least-squares planar
  embedding of HM14_50_25 reproduces all 1,300 distances with Euclidean distances to RMS 0.012
  (L1: max error 20). Weights are all 1 and values carry 5 significant digits. We therefore
  follow the classic files: Euclidean distances, width 30, unit weights, 5 significant digits.
  Random streams differ from the original, so the classic files cannot be regenerated bit for bit.

Utilities follow docs/conventions.md, 'MC-FLP and HM14 instances': ``v = -beta c``,
``w = -alpha beta k``.

Command line::

    python -m dro_opt.instances.hm14_generator OUT.data --customers 100 --locations 25 \\
        --competitors 1 --seed 0
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dro_opt.errors import ParameterError
from dro_opt.models.facility_location.hm14 import check_alpha_beta, hm14_log_odds, write_hm14
from dro_opt.models.facility_location.instance import MCFLPInstance

__all__ = ["HM14Data", "generate_hm14", "generate_hm14_data", "main", "write_generated_hm14"]

WIDTH = 30.0
VALUE_FORMAT = "%.5g"


@dataclass(frozen=True)
class HM14Data:
    """Raw HM14 arrays exactly as written to the file, plus the points they came from."""

    q: np.ndarray  # (N,) weights
    neg_k: np.ndarray  # (E, N) negated competitor distances
    neg_c: np.ndarray  # (D, N) negated candidate distances
    customers: np.ndarray  # (N, 2)
    locations: np.ndarray  # (D, 2)
    competitors: np.ndarray  # (E, 2)
    seed: int


def _check_sizes(N: int, D: int, E: int) -> None:
    for label, value in (("customers", N), ("locations", D), ("competitors", E)):
        if not (isinstance(value, int | np.integer) and value >= 1):
            raise ParameterError(f"number of {label} must be an integer >= 1, got {value!r}")


def _distances(points: np.ndarray, sites: np.ndarray) -> np.ndarray:
    """(S, P) Euclidean distances between ``sites`` (S, 2) and ``points`` (P, 2)."""
    return np.sqrt(((sites[:, None, :] - points[None, :, :]) ** 2).sum(axis=2))


def _as_written(values: np.ndarray) -> np.ndarray:
    """Round exactly as the file stores the values (format, then parse)."""
    return np.char.mod(VALUE_FORMAT, values).astype(float)


def generate_hm14_data(
    customers: int, locations: int, competitors: int = 1, *, seed: int = 0, width: float = WIDTH
) -> HM14Data:
    """Draw one HM14-style instance (see the module docstring); reproducible from ``seed``."""
    _check_sizes(customers, locations, competitors)
    if not (np.isfinite(width) and width > 0):
        raise ParameterError(f"width must be a finite number > 0, got {width}")
    rng = np.random.default_rng(seed)
    pts_e = width * rng.random((competitors, 2))
    pts_d = width * rng.random((locations, 2))
    pts_n = width * rng.random((customers, 2))
    return HM14Data(
        q=np.ones(customers),
        neg_k=-_as_written(_distances(pts_n, pts_e)),
        neg_c=-_as_written(_distances(pts_n, pts_d)),
        customers=pts_n,
        locations=pts_d,
        competitors=pts_e,
        seed=int(seed),
    )


def generate_hm14(
    customers: int,
    locations: int,
    competitors: int = 1,
    alpha: float = 0.1,
    beta: float = 1.0,
    *,
    seed: int = 0,
    width: float = WIDTH,
) -> MCFLPInstance:
    """Generated instance with log-odds utilities; identical to writing it and reading it back."""
    alpha, beta = check_alpha_beta(alpha, beta)
    data = generate_hm14_data(customers, locations, competitors, seed=seed, width=width)
    return MCFLPInstance(
        q=data.q,
        a=hm14_log_odds(data.neg_c, data.neg_k, alpha, beta),
        name=f"HM14gen_{customers}_{locations}_{competitors}_s{seed}",
        meta={
            "generator": "hm14",
            "seed": int(seed),
            "alpha": alpha,
            "beta": beta,
            "width": width,
            "competitors": competitors,
        },
    )


def write_generated_hm14(
    path: str | Path,
    customers: int,
    locations: int,
    competitors: int = 1,
    *,
    seed: int = 0,
    width: float = WIDTH,
) -> Path:
    """Generate and write an HM14 ``.data`` file atomically; returns the path."""
    data = generate_hm14_data(customers, locations, competitors, seed=seed, width=width)
    return write_hm14(path, data.q, data.neg_k, data.neg_c, value_format=VALUE_FORMAT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a seeded HM14-style .data instance.")
    parser.add_argument("out", type=Path, help="output .data file")
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--locations", type=int, default=25)
    parser.add_argument("--competitors", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width", type=float, default=WIDTH)
    args = parser.parse_args(argv)
    path = write_generated_hm14(
        args.out,
        args.customers,
        args.locations,
        args.competitors,
        seed=args.seed,
        width=args.width,
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
