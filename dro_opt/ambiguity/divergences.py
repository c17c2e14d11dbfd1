"""Catalog of entropy functions ``phi`` of the (generalized) phi-divergences.

An entropy function (paper 002 Def. 3.1) is a lower semicontinuous convex ``phi`` with
``phi(1) = 0`` and ``dom phi`` inside ``R_+``; its speed of growth is
``phi'_inf = lim_{t -> inf} phi(t) / t``. The generalized divergence of ``P`` from the nominal
``p`` on finitely many atoms is (paper 002 Def. 3.2 and Lemma 3.4)

    D_phi(P, p) = sum_{i: p_i > 0} p_i phi(P_i / p_i) + phi'_inf * sum_{i: p_i = 0} P_i,

with ``phi(0) = lim_{t -> 0+} phi(t)`` and ``0 * inf = 0``. The Csiszar dual is
``psi(t) = t phi(1/t)``, ``psi(0) = phi'_inf`` (paper 002 Remark 3.3).

The families of paper 002 Table 1 (``kl``, ``burg``, ``j``, ``chi2-distance``, ``modified-chi2``,
``hellinger``, ``chi-m``, ``tv``) plus ``chi2`` = ``(t - 1)^2 / 2`` and the Cressie-Read family
``(1 - theta + theta t - t^theta) / (theta (1 - theta))`` (Cressie & Read 1984; ``theta = 2`` is
``chi2``, ``theta = 1/2`` is twice Hellinger, ``theta -> 0 / 1`` are Burg / KL).

Every conjugate ``phi*(s) = sup_{t >= 0} s t - phi(t)`` is taken over ``dom phi`` inside
``R_+``, hence non-decreasing, finite for ``s < phi'_inf`` and ``+inf`` for ``s > phi'_inf``
(paper 002 Thm. 5.5 uses this form).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cvxpy as cp
import numpy as np
from scipy.special import xlogy

from dro_opt.errors import ParameterError

INF = math.inf
ArrayFn = Callable[..., np.ndarray]


def _arr(t: Any) -> np.ndarray:
    return np.asarray(t, dtype=float)


def _j_argmax(s: np.ndarray) -> np.ndarray:
    """The maximiser ``t`` of ``s t - phi_J(t)`` for ``phi_J(t) = (t - 1) log t``.

    The maximiser ``t = e^x`` solves ``phi_J'(t) = log t + 1 - 1/t = s``, i.e.
    ``g(x) = x + 1 - e^{-x} - s = 0``. ``g`` is increasing and concave, so Newton started below
    the root (``x0 = max(s - 1, -log(1 + |s|))`` is a lower bound) increases monotonically to it.
    """
    s = _arr(s)
    x = np.maximum(s - 1.0, -np.log1p(np.abs(s)))
    for _ in range(100):
        ex = np.exp(-x)
        step = (x + 1.0 - ex - s) / (1.0 + ex)
        x = x - step
        if np.all(np.abs(step) <= 1e-15 * np.maximum(1.0, np.abs(x))):
            break
    return np.exp(x)


def _j_conjugate(s: np.ndarray) -> np.ndarray:
    """``phi_J*(s) = s t - (t - 1) log t`` at the maximiser (no closed form; Lambert-W)."""
    t = _j_argmax(s)
    return s * t - (t - 1.0) * np.log(t)


@dataclass(frozen=True)
class Divergence:
    """One entropy function ``phi`` with its companions (paper 002 Table 1).

    Attributes
    ----------
    name : canonical name (``"kl"``, ``"chi-m"``, ...).
    params : family parameters (``{"m": 3.0}``, ``{"theta": 0.5}`` or ``{}``).
    phi0 : ``phi(0) = lim_{t -> 0+} phi(t)`` (may be ``inf``).
    phi_inf : ``phi'_inf = lim_{t -> inf} phi(t) / t`` (may be ``inf``), paper 002 Def. 3.1.
    """

    name: str
    params: dict[str, float]
    phi0: float
    phi_inf: float
    _phi: ArrayFn = field(repr=False, compare=False)
    _conj: ArrayFn = field(repr=False, compare=False)
    _dphi: ArrayFn = field(repr=False, compare=False)
    _argmax: ArrayFn = field(repr=False, compare=False)
    _cvx: Callable[[cp.Expression], cp.Expression] = field(repr=False, compare=False)

    def __hash__(self) -> int:
        return hash((self.name, tuple(sorted(self.params.items()))))

    def phi(self, t: Any) -> np.ndarray:
        """``phi(t)`` elementwise; ``phi(0)`` is the limit, ``+inf`` off ``dom phi``."""
        t = _arr(t)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.where(t >= 0, self._phi(np.maximum(t, 0.0)), INF)
        return out

    def conjugate(self, s: Any) -> np.ndarray:
        """``phi*(s) = sup_{t >= 0} s t - phi(t)`` elementwise (``+inf`` off its domain)."""
        s = _arr(s)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = self._conj(s)
        return np.where(np.isnan(out), INF, out)

    def derivative(self, t: Any) -> np.ndarray:
        """Right derivative ``phi'_+(t)`` for ``t > 0`` (used to bracket dual multipliers)."""
        t = _arr(t)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return self._dphi(t)

    def conjugate_argmax(self, s: Any) -> np.ndarray:
        """The maximiser ``t(s) >= 0`` of ``s t - phi(t)``, i.e. ``(phi*)'(s)`` (``+inf`` when
        only approached); the worst-case ratio ``P_i / p_i`` at ``s = (l_i - eta) / lam``."""
        s = _arr(s)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = self._argmax(s)
        return np.where(np.isnan(out), INF, out)

    def psi(self, t: Any) -> np.ndarray:
        """Csiszar dual ``psi(t) = t phi(1/t)``, ``psi(0) = phi'_inf`` (paper 002 Remark 3.3)."""
        t = _arr(t)
        pos = t > 0
        safe = np.where(pos, t, 1.0)
        return np.where(pos, safe * self.phi(1.0 / safe), np.where(t == 0, self.phi_inf, INF))

    def divergence_value(self, P: Any, p: Any) -> float:
        """``D_phi(P, p) = sum_{p_i > 0} p_i phi(P_i / p_i) + phi'_inf sum_{p_i = 0} P_i``
        (paper 002 Def. 3.2 / Lemma 3.4, with ``0 * inf = 0``)."""
        P, p = _arr(P), _arr(p)
        pos = p > 0
        total = float(np.sum(p[pos] * self.phi(P[pos] / p[pos])))
        singular = float(np.sum(P[~pos]))
        if singular > 0:
            total += self.phi_inf * singular
        return total

    def cvx_phi(self, w: cp.Expression) -> cp.Expression:
        """``phi(w)`` elementwise as a DCP-convex cvxpy expression of a likelihood ratio ``w``."""
        return self._cvx(w)

    def describe(self) -> str:
        """``name`` with its parameters, e.g. ``chi-m(m=3)``."""
        args = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"{self.name}({args})" if args else self.name


def _chi_m(m: float) -> Divergence:
    q = m / (m - 1.0)
    return Divergence(
        "chi-m",
        {"m": m},
        1.0,
        INF,
        lambda t: np.abs(t - 1.0) ** m,
        lambda s: np.where(s >= -m, s + (m - 1.0) * (np.abs(s) / m) ** q, -1.0),
        lambda t: m * np.sign(t - 1.0) * np.abs(t - 1.0) ** (m - 1.0),
        lambda s: np.where(s >= -m, 1.0 + np.sign(s) * (np.abs(s) / m) ** (1.0 / (m - 1.0)), 0.0),
        lambda w: cp.power(cp.abs(w - 1.0), m),
    )


def _cressie_read(th: float) -> Divergence:
    c = th * (1.0 - th)
    phi_inf = 1.0 / (1.0 - th) if th < 1 else INF

    def conj(s: np.ndarray) -> np.ndarray:
        # sup_t s t - phi(t): t^{th-1} = u := 1 - (1 - th) s; value (u^{th/(th-1)} - 1) / th.
        # th > 1: u <= 0 means the maximiser is t = 0 and phi* = -phi(0) = -1/th ((u)_+ = 0).
        # th < 1: finite only for s < 1/(1 - th) (for th < 0 also at s = 1/(1 - th): -1/th).
        # written with expm1/log1p: for |s| << 1 (large lam in the dual) the naive form cancels
        u = 1.0 - (1.0 - th) * s
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            val = (
                np.where(
                    u > 0,
                    np.expm1(th / (th - 1.0) * np.log1p(np.maximum(-(1.0 - th) * s, -1.0))),
                    -1.0,
                )
                / th
            )
            if th < 0:  # at u = 0 exactly: u^{th/(th-1)} = 0
                val = np.where(u == 0, -1.0 / th, val)
        if th > 1:
            return val
        if th > 0:
            return np.where(u > 0, val, INF)
        return np.where(u >= 0, val, INF)

    def argmax(s: np.ndarray) -> np.ndarray:
        u = 1.0 - (1.0 - th) * s
        if th > 1:
            return np.maximum(u, 0.0) ** (1.0 / (th - 1.0))
        return np.where(u > 0, np.maximum(u, 0.0) ** (1.0 / (th - 1.0)), INF)

    return Divergence(
        "cressie-read",
        {"theta": th},
        1.0 / th if th > 0 else INF,
        phi_inf,
        lambda t: (1.0 - th + th * t - t**th) / c,
        conj,
        lambda t: (1.0 - t ** (th - 1.0)) / (1.0 - th),
        argmax,
        lambda w: 1.0 / th + w / (1.0 - th) - cp.power(w, th) / c,
    )


_FIXED: dict[str, Callable[[], Divergence]] = {
    "kl": lambda: Divergence(
        "kl",
        {},
        1.0,
        INF,
        lambda t: xlogy(t, t) - t + 1.0,
        lambda s: np.expm1(s),
        lambda t: np.log(t),
        lambda s: np.exp(s),
        lambda w: -cp.entr(w) - w + 1.0,
    ),
    "burg": lambda: Divergence(
        "burg",
        {},
        INF,
        1.0,
        lambda t: -np.log(t) + t - 1.0,
        lambda s: np.where(s < 1, -np.log1p(-np.minimum(s, 1.0)), INF),
        lambda t: 1.0 - 1.0 / t,
        lambda s: np.where(s < 1, 1.0 / (1.0 - s), INF),
        lambda w: -cp.log(w) + w - 1.0,
    ),
    "j": lambda: Divergence(
        "j",
        {},
        INF,
        INF,
        lambda t: (t - 1.0) * np.log(t),
        _j_conjugate,
        lambda t: np.log(t) + 1.0 - 1.0 / t,
        _j_argmax,
        lambda w: -cp.entr(w) - cp.log(w),
    ),
    "chi2-distance": lambda: Divergence(
        "chi2-distance",
        {},
        INF,
        1.0,
        lambda t: (t - 1.0) ** 2 / t,
        # 2 - 2 sqrt(1 - s) = 2 s / (1 + sqrt(1 - s)): no cancellation for |s| << 1
        lambda s: np.where(s <= 1, 2.0 * s / (1.0 + np.sqrt(np.maximum(1.0 - s, 0.0))), INF),
        lambda t: 1.0 - 1.0 / t**2,
        lambda s: np.where(s < 1, 1.0 / np.sqrt(1.0 - s), INF),
        lambda w: w - 2.0 + cp.inv_pos(w),
    ),
    "modified-chi2": lambda: Divergence(
        "modified-chi2",
        {},
        1.0,
        INF,
        lambda t: (t - 1.0) ** 2,
        lambda s: np.where(s >= -2, s + s**2 / 4.0, -1.0),
        lambda t: 2.0 * (t - 1.0),
        lambda s: np.maximum(1.0 + s / 2.0, 0.0),
        lambda w: cp.square(w - 1.0),
    ),
    "chi2": lambda: Divergence(
        "chi2",
        {},
        0.5,
        INF,
        lambda t: 0.5 * (t - 1.0) ** 2,
        lambda s: np.where(s >= -1.0, s + 0.5 * s * s, -0.5),  # = -1/2 + (s + 1)_+^2 / 2
        lambda t: t - 1.0,
        lambda s: np.maximum(1.0 + s, 0.0),
        lambda w: 0.5 * cp.square(w - 1.0),
    ),
    "hellinger": lambda: Divergence(
        "hellinger",
        {},
        1.0,
        1.0,
        lambda t: (np.sqrt(t) - 1.0) ** 2,
        lambda s: np.where(s < 1, s / (1.0 - s), INF),
        lambda t: 1.0 - 1.0 / np.sqrt(t),
        lambda s: np.where(s < 1, 1.0 / (1.0 - s) ** 2, INF),
        lambda w: w - 2.0 * cp.sqrt(w) + 1.0,
    ),
    "tv": lambda: Divergence(
        "tv",
        {},
        1.0,
        1.0,
        lambda t: np.abs(t - 1.0),
        lambda s: np.where(s <= 1, np.maximum(s, -1.0), INF),
        lambda t: np.where(t >= 1, 1.0, -1.0),
        lambda s: np.where(s < -1, 0.0, np.where(s < 1, 1.0, INF)),
        lambda w: cp.abs(w - 1.0),
    ),
}

#: Canonical names accepted by :func:`divergence` (and ``phi_divergence``).
DIVERGENCE_NAMES: tuple[str, ...] = (*_FIXED, "chi-m", "cressie-read")
_PARAMS: dict[str, tuple[str, ...]] = {"chi-m": ("m",), "cressie-read": ("theta",)}


def _number(name: str, value: Any, family: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not math.isfinite(v):
        raise ParameterError(f"{family}: {name} must be a finite number, got {value!r}")
    return v


def divergence(name: str, **params: Any) -> Divergence:
    """The catalog entry ``name`` (paper 002 Table 1 plus ``chi2`` and Cressie-Read).

    ``chi-m`` needs ``m > 1``; ``cressie-read`` needs ``theta`` not in ``{0, 1}``; the other
    families take no parameters. Names are case-insensitive and ``_`` may replace ``-``.
    """
    key = str(name).strip().lower().replace("_", "-")
    if key not in DIVERGENCE_NAMES:
        raise ParameterError(
            f"unknown phi-divergence {name!r}; valid names: {', '.join(DIVERGENCE_NAMES)}"
        )
    wanted = _PARAMS.get(key, ())
    extra = sorted(set(params) - set(wanted))
    if extra:
        need = f"takes only {', '.join(wanted)}" if wanted else "takes no parameters"
        raise ParameterError(f"{key} {need}; remove {', '.join(extra)}")
    missing = [k for k in wanted if params.get(k) is None]
    if missing:
        hint = "m > 1, e.g. m=2" if key == "chi-m" else "theta not in {0, 1}, e.g. theta=0.5"
        raise ParameterError(f"{key} needs the parameter {missing[0]}= ({hint})")
    if key == "chi-m":
        m = _number("m", params["m"], key)
        if m <= 1:
            raise ParameterError(f"chi-m needs m > 1, got m={m:g} (m = 1 is 'tv')")
        return _chi_m(m)
    if key == "cressie-read":
        th = _number("theta", params["theta"], key)
        if th in (0.0, 1.0):
            alt = "'burg'" if th == 0 else "'kl'"
            raise ParameterError(
                f"cressie-read needs theta not in {{0, 1}}, got theta={th:g} (use {alt})"
            )
        return _cressie_read(th)
    return _FIXED[key]()
