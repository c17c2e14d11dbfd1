"""Certificates for the ORIGINAL problem (docs/conventions.md, 'Result and certificate').

For a maximisation problem with true optimum ``OPT``:

* ``lower`` = exact objective of the returned decision, re-evaluated on the full data with the
  original (un-approximated, un-clustered) formula.  ``lower <= OPT`` because the decision is
  feasible.
* ``upper`` = a proven upper bound of the solved (relaxed/approximate) model plus every
  approximation error bound used on the way (one :class:`CertificateLine` each).
  ``OPT <= upper`` holds only if every line is rigorous; a line that is not (e.g. a
  high-probability bound) makes the certificate non-rigorous and its gap is reported as unknown.
* ``gap = (upper - lower) / max(1, |lower|)``.

For minimisation the roles swap (``upper`` = exact value of the decision, ``lower`` = bound minus
errors); :meth:`Certificate.for_sense` builds either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CertificateLine:
    """One term of the certificate: the solver bound or one approximation error bound."""

    name: str
    value: float | None
    rigorous: bool = True
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": _num(self.value),
            "rigorous": self.rigorous,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CertificateLine:
        v = d.get("value")
        return cls(
            d["name"],
            None if v is None else float(v),
            bool(d.get("rigorous", True)),
            d.get("note", ""),
        )


def total_error(errors: list[CertificateLine]) -> float | None:
    """Sum of the error magnitudes, or None when one of them is not rigorous or not finite
    (then no valid widened bound exists)."""
    total = 0.0
    for e in errors:
        if not e.rigorous or e.value is None or not math.isfinite(e.value):
            return None
        total += float(e.value)
    return total


@dataclass
class Certificate:
    """Proven sandwich ``lower <= OPT <= upper`` for maximisation (mirrored for minimisation)."""

    lower: float | None
    upper: float | None
    sense: str = "max"
    lines: list[CertificateLine] = field(default_factory=list)

    @classmethod
    def for_sense(
        cls,
        sense: str,
        exact_value: float | None,
        solver_bound: float | None,
        errors: list[CertificateLine] | None = None,
        bound_note: str = "solver's proven dual bound of the solved model",
    ) -> Certificate:
        """Build from the decision's exact value, the solver's bound and the error lines.

        ``errors`` hold non-negative error magnitudes; they widen the bound side
        (``upper += err`` for max, ``lower -= err`` for min). A bound of ``None`` (none proven)
        or a non-rigorous line leaves that side ``None``.
        """
        errors = list(errors or [])
        lines = [
            CertificateLine("solver_bound", solver_bound, solver_bound is not None, bound_note)
        ]
        lines += errors
        total = total_error(errors)
        widened: float | None = None
        if solver_bound is not None and total is not None:
            widened = solver_bound + total if sense == "max" else solver_bound - total
        if sense == "max":
            return cls(lower=exact_value, upper=widened, sense=sense, lines=lines)
        return cls(lower=widened, upper=exact_value, sense=sense, lines=lines)

    @property
    def gap(self) -> float | None:
        """``(upper - lower) / max(1, |decision value|)``; ``None`` when either side is unknown."""
        if self.lower is None or self.upper is None:
            return None
        ref = self.lower if self.sense == "max" else self.upper
        return max(0.0, self.upper - self.lower) / max(1.0, abs(ref))

    @property
    def rigorous(self) -> bool:
        return self.gap is not None

    def contains(self, value: float, tol: float = 1e-9) -> bool:
        """Whether ``value`` lies in ``[lower, upper]`` (relative tolerance ``tol``)."""
        slack = tol * max(1.0, abs(value))
        lo_ok = self.lower is None or value >= self.lower - slack
        hi_ok = self.upper is None or value <= self.upper + slack
        return lo_ok and hi_ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "lower": _num(self.lower),
            "upper": _num(self.upper),
            "gap": _num(self.gap),
            "sense": self.sense,
            "lines": [ln.to_dict() for ln in self.lines],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Certificate:
        return cls(
            lower=None if d.get("lower") is None else float(d["lower"]),
            upper=None if d.get("upper") is None else float(d["upper"]),
            sense=d.get("sense", "max"),
            lines=[CertificateLine.from_dict(x) for x in d.get("lines", [])],
        )

    def describe(self) -> str:
        g = self.gap
        head = (
            f"certified: {self.lower} <= OPT <= {self.upper} (gap {g:.3g})"
            if g is not None
            else f"not certified: lower={self.lower}, upper={self.upper} (gap unknown)"
        )
        body = "\n".join(
            f"  {ln.name}: {ln.value}{'' if ln.rigorous else ' (NOT rigorous)'}"
            + (f"  -- {ln.note}" if ln.note else "")
            for ln in self.lines
        )
        return head + ("\n" + body if body else "")


def _num(v: float | None) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None
