"""Bayesian Stackelberg security game instance (paper 003 Sec. 3.2 and App. I) + JSON io.

``N`` attacker types (samples) and ``M`` targets. For type ``n`` and target ``j`` the defender
gets ``defender_reward[n, j]`` if an attack on ``j`` meets a protected target and
``defender_penalty[n, j]`` otherwise; the attacker gets ``attacker_penalty[n, j]`` and
``attacker_reward[n, j]`` respectively. The defender chooses coverage ``z in [0, 1]^M`` with
``sum z <= budget``; ``lam >= 0`` is the quantal-response rationality (``0``: uniform attack).
``weights`` (``N``, default all 1) are the sample weights ``q`` (``n = sum q``, ``p = q / n``).

JSON format (the interface contract of ``dro-opt solve ssg``)::

    {"budget": R, "lambda": lam,
     "defender_reward": [[...M...] x N], "defender_penalty": ..., "attacker_reward": ...,
     "attacker_penalty": ..., "weights": [...N...] (optional), "name": "..." (optional),
     "meta": {...} (optional, e.g. the generator's parameters)}
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dro_opt.errors import InstanceError

PAYOFFS = ("defender_reward", "defender_penalty", "attacker_reward", "attacker_penalty")


@dataclass
class SSGInstance:
    """Security-game data (module docstring); validated on construction (``InstanceError``)."""

    budget: float
    lam: float
    defender_reward: np.ndarray
    defender_penalty: np.ndarray
    attacker_reward: np.ndarray
    attacker_penalty: np.ndarray
    weights: np.ndarray | None = None
    name: str = "ssg"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        arrays = {}
        for key in PAYOFFS:
            try:
                arr = np.array(getattr(self, key), dtype=float)
            except (TypeError, ValueError):
                raise InstanceError(f"{key} must be an N x M array of numbers") from None
            if arr.ndim != 2 or arr.size == 0:
                raise InstanceError(f"{key} must be a non-empty N x M array, got shape {arr.shape}")
            if not np.isfinite(arr).all():
                raise InstanceError(
                    f"{key} has NaN or infinite payoffs; every payoff must be finite"
                )
            arrays[key] = arr
        shapes = {k: a.shape for k, a in arrays.items()}
        if len(set(shapes.values())) != 1:
            raise InstanceError(f"payoff arrays must all have the same N x M shape, got {shapes}")
        for key, arr in arrays.items():
            setattr(self, key, arr)
        N, M = self.shape
        self.lam = _number(self.lam, "lambda")
        if self.lam < 0:
            raise InstanceError(f"lambda (rationality) must be >= 0, got {self.lam}")
        self.budget = _number(self.budget, "budget")
        if not (0 <= self.budget <= M):
            raise InstanceError(
                f"budget (coverage resources) must be between 0 and the {M} targets, "
                f"got {self.budget}"
            )
        if self.weights is None:
            self.weights = np.ones(N)
        try:
            w = np.array(self.weights, dtype=float).ravel()
        except (TypeError, ValueError):
            raise InstanceError("weights must be a list of N numbers") from None
        if w.shape != (N,):
            raise InstanceError(
                f"weights must have one entry per attacker type ({N}), got {w.size}"
            )
        if not np.isfinite(w).all() or (w < 0).any() or not w.sum() > 0:
            raise InstanceError("weights must be finite, >= 0 and not all zero")
        self.weights = w

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.defender_reward.shape)  # type: ignore[return-value]

    @property
    def num_types(self) -> int:
        return self.shape[0]

    @property
    def num_targets(self) -> int:
        return self.shape[1]

    @property
    def n(self) -> float:
        return float(self.weights.sum())  # type: ignore[union-attr]

    def subset(self, rows: np.ndarray, weights: np.ndarray, name: str) -> SSGInstance:
        """Representatives ``rows`` (indices or an (K, 4, M) payoff stack) with new weights."""
        return SSGInstance(
            self.budget,
            self.lam,
            *(getattr(self, k)[rows] for k in PAYOFFS),
            weights=np.asarray(weights, dtype=float),
            name=name,
            meta=dict(self.meta),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "budget": self.budget,
            "lambda": self.lam,
            **{k: getattr(self, k).tolist() for k in PAYOFFS},
            "weights": self.weights.tolist(),  # type: ignore[union-attr]
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, d: Any, name: str = "ssg") -> SSGInstance:
        if not isinstance(d, dict):
            raise InstanceError("an SSG instance file must hold a JSON object")
        missing = [k for k in ("budget", "lambda", *PAYOFFS) if k not in d]
        if missing:
            raise InstanceError(f"SSG instance is missing the key(s) {', '.join(missing)}")
        return cls(
            d["budget"],
            d["lambda"],
            *(d[k] for k in PAYOFFS),
            weights=d.get("weights"),
            name=str(d.get("name", name)),
            meta=dict(d.get("meta") or {}),
        )


def read_instance(path: str | Path) -> SSGInstance:
    """Read the JSON format of the module docstring (``InstanceError`` on any problem)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InstanceError(f"cannot read SSG instance {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InstanceError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    return SSGInstance.from_dict(data, name=path.stem)


def write_instance(instance: SSGInstance, path: str | Path) -> None:
    """Write ``instance`` as JSON, atomically."""
    from dro_opt.io.atomic import atomic_write_text

    atomic_write_text(path, json.dumps(instance.to_dict(), indent=1, allow_nan=False) + "\n")


def _number(x: Any, what: str) -> float:
    if isinstance(x, bool):
        raise InstanceError(f"{what} must be a number, got {x!r}")
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise InstanceError(f"{what} must be a number, got {x!r}") from None
    if not math.isfinite(v):
        raise InstanceError(f"{what} must be finite, got {v}")
    return v
