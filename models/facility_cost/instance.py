"""MC-FCP instance (paper 003 Sec. 3.2 'MC-FCP', App. I) and the derivation of its parameters.

Clients ``n = 1..N`` (weights ``q``), locations ``j = 1..M``; the firm invests ``z_j`` in
``[0, U_j]`` at location ``j`` with ``sum_j z_j <= B``. Client ``n`` sees facility ``j`` with the
utility ``bias_nj + rate_nj z_j`` inside the MNL exponent, against the competitors (utilities
are log-odds: the competitors' total attractiveness is 1). Zero investment means NO facility,
so the attractiveness counts only what the investment adds::

    A_nj(z_j) = exp(bias_nj + rate_nj z_j) - exp(bias_nj) = exp(bias_nj) expm1(rate_nj z_j),
    f_n(z)    = S_n / (1 + S_n),   S_n = sum_j A_nj(z_j)        (capture probability of n)

``A_nj(0) = 0``, ``A_nj`` is increasing and convex for ``rate_nj >= 0``, so ``f_n`` is a ratio of
separable, non-negative, Lipschitz sums (paper 003 Thm. 2's assumptions, PWLA applies).

Derivation from given utilities (App. I; its equations were lost, this is our documented
choice). Given MC-FLP log-odds ``a_nj`` (HM14, P&R-NYC or :mod:`dro_opt.instances.nyc_synthetic`),
read ``a_nj`` as the utility of a facility at full investment ``U_j``, and let the investment
account for the share ``theta`` of the utility above a floor ``l = min_nj a_nj - margin``
(``margin > 0`` is the constant of App. I that makes every rate positive)::

    rate_nj = theta (a_nj - l) / U_j  > 0,        bias_nj = a_nj - rate_nj U_j,

so ``bias + rate U = a`` (the given utility is reproduced at full investment), utilities increase
with the budget, and clients who value a site more also gain more per unit invested.
``a_nj = -inf`` (a site a client never uses) gives ``bias = -inf``, ``rate = 0``.
Defaults: ``U_j = 1`` (``z_j`` = fraction of a standard facility, so ``B`` = number of standard
facilities, the ``m`` of paper 003 Tables 3-5), ``theta = 0.5``, ``margin = 1``.

JSON format::

    {"weights": [...N...], "bias": [[...M...] x N] (null for -inf), "rate": [[...M...] x N],
     "upper": [...M...], "name": "...", "meta": {...}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dro_opt.errors import InstanceError, ParameterError


@dataclass
class FCPInstance:
    """Facility cost planning data (module docstring); validated on construction."""

    q: np.ndarray
    bias: np.ndarray
    rate: np.ndarray
    upper: np.ndarray
    name: str = "mcfcp"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.q = np.asarray(self.q, dtype=float).ravel()
        self.bias = np.asarray(self.bias, dtype=float)
        self.rate = np.asarray(self.rate, dtype=float)
        self.upper = np.asarray(self.upper, dtype=float).ravel()
        if self.bias.ndim != 2 or self.bias.shape != self.rate.shape or self.bias.size == 0:
            raise InstanceError(
                f"bias and rate must be N x M arrays of one shape, got {self.bias.shape} and "
                f"{self.rate.shape}"
            )
        N, M = self.bias.shape
        if self.q.shape != (N,):
            raise InstanceError(f"{self.q.size} client weights but {N} utility rows")
        if self.upper.shape != (M,):
            raise InstanceError(f"{self.upper.size} investment bounds but {M} locations")
        if not np.isfinite(self.q).all() or (self.q < 0).any() or self.q.sum() <= 0:
            raise InstanceError("client weights must be finite, >= 0 and not all zero")
        if np.isnan(self.bias).any() or np.isposinf(self.bias).any():
            raise InstanceError("bias has NaN or +inf entries (-inf = location never chosen)")
        if not np.isfinite(self.rate).all() or (self.rate < 0).any():
            raise InstanceError("rates must be finite and >= 0 (utility increases with budget)")
        if not np.isfinite(self.upper).all() or (self.upper <= 0).any():
            raise InstanceError("investment bounds U_j must be finite and > 0")

    @property
    def shape(self) -> tuple[int, int]:
        return self.bias.shape  # type: ignore[return-value]

    @property
    def num_clients(self) -> int:
        return int(self.bias.shape[0])

    @property
    def num_locations(self) -> int:
        return int(self.bias.shape[1])

    @property
    def n(self) -> float:
        return float(self.q.sum())

    def subset(self, rows: np.ndarray, weights: np.ndarray, name: str) -> FCPInstance:
        """The clients ``rows`` with new weights (stratified sampling)."""
        return FCPInstance(weights, self.bias[rows], self.rate[rows], self.upper, name, self.meta)


def from_log_odds(
    q: Any,
    a: Any,
    *,
    upper: Any = 1.0,
    theta: float = 0.5,
    margin: float = 1.0,
    name: str = "mcfcp",
    meta: dict | None = None,
) -> FCPInstance:
    """FCP parameters from MC-FLP log-odds ``a`` (N, M), derived as the module docstring says."""
    a = np.asarray(a, dtype=float)
    if a.ndim != 2 or np.isnan(a).any() or np.isposinf(a).any():
        raise InstanceError("log-odds utilities must be an N x M array without NaN or +inf")
    if not (0 < theta <= 1):
        raise ParameterError(
            f"theta (share of utility bought by investment) must be in (0, 1], got {theta}"
        )
    if not (np.isfinite(margin) and margin > 0):
        raise ParameterError(f"margin must be a finite number > 0, got {margin}")
    U = np.broadcast_to(np.asarray(upper, dtype=float).ravel(), (a.shape[1],)).copy()
    finite = np.isfinite(a)
    if not finite.any():
        raise InstanceError("every utility is -inf: no client would ever use any location")
    floor = float(a[finite].min()) - margin
    rate = np.where(finite, theta * (np.where(finite, a, 0.0) - floor) / U, 0.0)
    bias = np.where(finite, a - rate * U, -np.inf)
    info = {"derivation": "paper 003 App. I (ours)", "theta": theta, "margin": margin}
    info["floor"] = floor
    return FCPInstance(np.asarray(q, dtype=float), bias, rate, U, name, {**(meta or {}), **info})


def _jsonable(x: np.ndarray) -> list:
    return [[None if not np.isfinite(v) else float(v) for v in row] for row in x]


def write_json(instance: FCPInstance, path: str | Path) -> Path:
    """Write the JSON format (module docstring) atomically."""
    from dro_opt.io.atomic import atomic_write_text

    payload = {
        "weights": instance.q.tolist(),
        "bias": _jsonable(instance.bias),
        "rate": instance.rate.tolist(),
        "upper": instance.upper.tolist(),
        "name": instance.name,
        "meta": {k: v for k, v in instance.meta.items() if _is_plain(v)},
    }
    atomic_write_text(path, json.dumps(payload) + "\n")
    return Path(path)


def _is_plain(v: Any) -> bool:
    return isinstance(v, str | int | float | bool) or v is None


def read_json(path: str | Path) -> FCPInstance:
    """Read the JSON format (``InstanceError`` naming the problem)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InstanceError(f"{path}: cannot read an MC-FCP JSON instance ({exc})") from None
    missing = [k for k in ("weights", "bias", "rate", "upper") if k not in data]
    if not isinstance(data, dict) or missing:
        raise InstanceError(
            f"{path}: MC-FCP JSON needs keys weights, bias, rate, upper; missing {missing}"
        )
    try:
        bias = np.array(
            [[-np.inf if v is None else float(v) for v in row] for row in data["bias"]], dtype=float
        )
        rate = np.array(data["rate"], dtype=float)
        q = np.array(data["weights"], dtype=float)
        U = np.array(data["upper"], dtype=float)
    except (TypeError, ValueError):
        raise InstanceError(f"{path}: weights, bias, rate and upper must be numbers") from None
    return FCPInstance(
        q, bias, rate, U, str(data.get("name", path.stem)), dict(data.get("meta", {}))
    )


def is_fcp_json(path: str | Path) -> bool:
    """True for a JSON file holding an MC-FCP instance (it has a ``rate`` key)."""
    path = Path(path)
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    try:
        return "rate" in json.loads(path.read_text())
    except (OSError, ValueError):
        return False


__all__ = ["FCPInstance", "from_log_odds", "is_fcp_json", "read_json", "write_json"]
