"""Seeded NYC-scale synthetic park-and-ride instance (stand-in for paper 003's P&R-NYC data).

Paper 003 (Sec. 5, App. I/L) uses the New York City park-and-ride data of Holguin-Veras et al.
(2012) / Aros-Vera et al. (2013): 82,341 clients, 59 candidate P&R locations and their utilities,
plus incumbent utilities of competing alternatives (the CBCFLP repository names the file
``NYC_82341_59_5_1.data``: 5 competitors). That data is not redistributable here, so this module
synthesises an instance of the same size and shape. Everything below is an ASSUMPTION chosen to
be plausible, not a fact about the real data:

* Geography (km, Manhattan CBD at the origin): clients live around 9 residential centres
  (outer boroughs, Long Island, New Jersey, Westchester, and one remote exurban centre with no
  candidate site nearby) -- a Gaussian mixture with the shares/spreads in :data:`CENTRES`.
* Client weights: integer trip counts ``q ~ Geometric(0.15)`` (>= 1, mean about 6.7).
* The 59 candidate sites and the ``E - 1`` existing P&R facilities sit near the (non-remote)
  centres, spread 1.2x wider than the clients.
* MNL utilities: ``v_{n,d} = asc_d - theta * dist(n, d)`` with ``asc_d ~ N(0, 0.5^2)`` (site
  quality) and ``theta = 0.25`` per km; competitor ``e < E``: ``w_{n,e} = -0.5 + asc_e -
  theta * dist(n, e)``; competitor ``E`` is "drive all the way": ``w_{n,E} = -2.5``.
* Calibration target (paper 003 Table 3, MC-FLP, ERM, m = 10: average choice probability 0.741,
  low-end 0.175): with the default seed, greedy m = 10 gives a mean of about 0.72 and a 5%
  quantile of about 0.19.

The instance stores the log-odds ``a = v - logsumexp_e w`` (no overflow at any scale).

Command line::

    python -m dro_opt.instances.nyc_synthetic OUT.npz [--seed 0] [--customers 82341]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from dro_opt.errors import ParameterError
from dro_opt.models.facility_location.instance import MCFLPInstance

__all__ = ["CENTRES", "NYC_COMPETITORS", "NYC_CUSTOMERS", "NYC_LOCATIONS", "generate_nyc_synthetic"]

NYC_CUSTOMERS = 82_341
NYC_LOCATIONS = 59
NYC_COMPETITORS = 5

# (x km, y km, client share, spread km, hosts candidate/competitor sites)
CENTRES = np.array(
    [
        [12.0, -6.0, 0.19, 4.0, 1.0],  # Brooklyn
        [8.0, -14.0, 0.17, 5.0, 1.0],  # south Brooklyn / Queens south
        [-6.0, -22.0, 0.06, 4.0, 1.0],  # Staten Island
        [6.0, 14.0, 0.12, 3.5, 1.0],  # Bronx
        [10.0, 26.0, 0.08, 5.0, 1.0],  # Westchester
        [30.0, 2.0, 0.15, 7.0, 1.0],  # Long Island (Nassau)
        [-14.0, 4.0, 0.09, 4.0, 1.0],  # Hudson county NJ
        [-10.0, 16.0, 0.09, 5.0, 1.0],  # Bergen county NJ
        [-32.0, -28.0, 0.05, 6.0, 0.0],  # remote exurb: no site nearby
    ]
)
THETA = 0.25
ASC_SD = 0.5
COMPETITOR_SHIFT = -0.5
DRIVE_UTILITY = -2.5
WEIGHT_P = 0.15
SITE_SPREAD = 1.2


def _distances(points: np.ndarray, sites: np.ndarray) -> np.ndarray:
    """(P, S) Euclidean distances."""
    return np.sqrt(((points[:, None, :] - sites[None, :, :]) ** 2).sum(axis=2))


def _draw_points(
    rng: np.random.Generator, count: int, shares: np.ndarray, spread: float
) -> np.ndarray:
    group = rng.choice(len(CENTRES), size=count, p=shares / shares.sum())
    return CENTRES[group, :2] + rng.normal(size=(count, 2)) * (spread * CENTRES[group, 3])[:, None]


def generate_nyc_synthetic(
    seed: int = 0,
    *,
    customers: int = NYC_CUSTOMERS,
    locations: int = NYC_LOCATIONS,
    competitors: int = NYC_COMPETITORS,
) -> MCFLPInstance:
    """Draw the synthetic P&R instance (module docstring); reproducible from ``seed``.

    Parameters
    ----------
    seed : random seed (numpy ``default_rng``).
    customers, locations : sizes (defaults: the paper's 82,341 and 59).
    competitors : ``E >= 1``; the last one is the "drive all the way" alternative.

    Returns
    -------
    MCFLPInstance with integer weights ``q`` and log-odds ``a`` (N, D); ``meta`` records the
    generator parameters and the site coordinates.
    """
    for label, value in (
        ("customers", customers),
        ("locations", locations),
        ("competitors", competitors),
    ):
        if not (isinstance(value, int | np.integer) and value >= 1):
            raise ParameterError(f"number of {label} must be an integer >= 1, got {value!r}")
    rng = np.random.default_rng(seed)
    shares = CENTRES[:, 2]
    site_shares = shares * CENTRES[:, 4]
    clients = _draw_points(rng, customers, shares, 1.0)
    q = rng.geometric(WEIGHT_P, size=customers).astype(float)
    sites = _draw_points(rng, locations, site_shares, SITE_SPREAD)
    rivals = _draw_points(rng, competitors - 1, site_shares, SITE_SPREAD)
    asc_d = rng.normal(0.0, ASC_SD, size=locations)
    asc_e = rng.normal(0.0, ASC_SD, size=competitors - 1)
    v = asc_d[None, :] - THETA * _distances(clients, sites)
    w = np.empty((customers, competitors))
    w[:, :-1] = COMPETITOR_SHIFT + asc_e[None, :] - THETA * _distances(clients, rivals)
    w[:, -1] = DRIVE_UTILITY
    a = v - logsumexp(w, axis=1)[:, None]
    return MCFLPInstance(
        q=q,
        a=a,
        name=f"NYCsyn_{customers}_{locations}_{competitors}_s{seed}",
        meta={
            "generator": "nyc_synthetic",
            "seed": int(seed),
            "theta_per_km": THETA,
            "asc_sd": ASC_SD,
            "competitor_shift": COMPETITOR_SHIFT,
            "drive_utility": DRIVE_UTILITY,
            "weight_geometric_p": WEIGHT_P,
            "sites_km": sites.round(3).tolist(),
            "competitors_km": rivals.round(3).tolist(),
            "note": "synthetic stand-in for the NYC P&R data of paper 003; see module docstring",
        },
    )


def main(argv: list[str] | None = None) -> int:
    from dro_opt.models.facility_location.io import write_instance

    parser = argparse.ArgumentParser(description="Write the synthetic NYC-scale P&R instance.")
    parser.add_argument("out", type=Path, help="output .npz or .json file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--customers", type=int, default=NYC_CUSTOMERS)
    parser.add_argument("--locations", type=int, default=NYC_LOCATIONS)
    parser.add_argument("--competitors", type=int, default=NYC_COMPETITORS)
    args = parser.parse_args(argv)
    inst = generate_nyc_synthetic(
        args.seed,
        customers=args.customers,
        locations=args.locations,
        competitors=args.competitors,
    )
    print(f"wrote {write_instance(inst, args.out)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
