"""MC-FLP instance: customers with weights and log-odds utilities of candidate locations.

``a[i, j] = log(V_ij / W_i)``: log-odds of candidate location ``j`` against customer ``i``'s
competitors (see :mod:`dro_opt.models.facility_location.objectives`). Readers for the HM14
format and the documented ``.npz``/JSON format, and the generators, live beside this file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dro_opt.errors import InstanceError


@dataclass
class MCFLPInstance:
    """Max-capture facility location data.

    Attributes
    ----------
    q : (N,) customer weights (demand), all >= 0 and finite, sum > 0.
    a : (N, D) log-odds utilities ``log(V_ij / W_i)``; -inf allowed (location never chosen).
    name : label used in outputs.
    meta : free-form provenance (source file, alpha, beta, seed, ...).
    """

    q: np.ndarray
    a: np.ndarray
    name: str = "mcflp"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.q = np.asarray(self.q, dtype=float).ravel()
        self.a = np.asarray(self.a, dtype=float)
        if self.a.ndim != 2:
            raise InstanceError(f"utilities must be an N x D matrix, got shape {self.a.shape}")
        if self.a.shape[0] != self.q.shape[0]:
            raise InstanceError(
                f"{self.q.shape[0]} customer weights but {self.a.shape[0]} utility rows"
            )
        if not np.isfinite(self.q).all() or (self.q < 0).any() or self.q.sum() <= 0:
            raise InstanceError("customer weights must be finite, >= 0 and not all zero")
        if np.isnan(self.a).any() or np.isposinf(self.a).any():
            raise InstanceError("utilities contain NaN or +inf; check alpha/beta and the data")

    @property
    def num_customers(self) -> int:
        return int(self.a.shape[0])

    @property
    def num_locations(self) -> int:
        return int(self.a.shape[1])

    @property
    def n(self) -> float:
        """Sample size ``n = sum q`` (docs/conventions.md, 'Data, weights, p and n')."""
        return float(self.q.sum())

    @property
    def p(self) -> np.ndarray:
        return self.q / self.q.sum()
