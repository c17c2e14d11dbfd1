"""What ``dro-opt compare`` runs on: model files and application instance specs.

Grammar of a TARGET argument
----------------------------
::

    TARGET     := MODEL_FILE | MCFLP_SPEC
    MODEL_FILE := a path ending in .mps, .lp or .cbf (case-insensitive)
    MCFLP_SPEC := "mc-flp:" INSTANCE [ "?" PARAM ( "&" PARAM )* ]
    INSTANCE   := "default"            (the small HM14-format instance shipped with dro_opt)
                | a path to an HM14 .data, .npz or .json instance
    PARAM      := KEY "=" VALUE

Keys of an ``mc-flp`` spec (the options of ``dro-opt solve mc-flp``):

=============  ========  ==============================================================
key            required  meaning
=============  ========  ==============================================================
budget         yes       number of facilities r (integer >= 1)
alpha, beta    for .data competitor / distance aversion (defaults 0.1 / 1 for ``default``)
objective      no        ``erm`` (default), ``variance`` or ``chi2``
rho            no        robustness radius (default 0)
clusters       no        solve on K weighted k-means representatives
strata         no        stratified sampling: number of strata (needs ``per_stratum``)
per_stratum    no        samples per stratum (``per-stratum`` is accepted too)
seed           no        seed of the reductions (default 0)
=============  ========  ==============================================================

Example::

    mc-flp:../shared/data/hm14/HM14_800_25.data?alpha=0.05&beta=1&budget=5&objective=chi2&rho=100

Model files are solved as they are (method ``direct``); ``mc-flp`` targets are solved with each
method of ``--methods`` (``oa``, ``misocp``; default ``auto`` = the model's own choice). A target
keeps the exact string given on the command line: it is the ``target`` column of every row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from dro_opt.errors import ModelFileError, ParameterError

MODEL_SUFFIXES = (".mps", ".lp", ".cbf")
MCFLP_PREFIX = "mc-flp:"
MCFLP_METHODS = ("oa", "misocp")
DIRECT = "direct"
AUTO = "auto"

_FLOAT_KEYS = ("alpha", "beta", "rho")
_INT_KEYS = ("budget", "clusters", "strata", "per_stratum", "seed")
_OBJECTIVES = ("erm", "variance", "chi2")


@dataclass(frozen=True)
class Target:
    """One parsed TARGET.

    Attributes
    ----------
    spec : the string exactly as given (the ``target`` column of the rows).
    kind : ``"model"`` (a model file) or ``"mc-flp"``.
    path : absolute path of the file, ``None`` for the shipped default instance.
    params : the ``mc-flp`` parameters (empty for model files).
    """

    spec: str
    kind: str
    path: Path | None
    params: dict[str, Any] = field(default_factory=dict)

    def methods(self, requested: Sequence[str] | None) -> tuple[str, ...]:
        """Methods to run on this target: ``direct`` for files, else ``requested`` or ``auto``."""
        if self.kind == "model":
            return (DIRECT,)
        return tuple(requested) if requested else (AUTO,)

    def payload(self) -> dict[str, Any]:
        """A JSON-serialisable description a worker process rebuilds the model from."""
        return {
            "spec": self.spec,
            "kind": self.kind,
            "path": None if self.path is None else str(self.path),
            "params": dict(self.params),
        }


def parse_target(spec: str) -> Target:
    """Parse one TARGET (see the module docstring); raises a typed error naming the fix."""
    text = str(spec).strip()
    if text.lower().startswith(MCFLP_PREFIX):
        return _parse_mcflp(spec, text[len(MCFLP_PREFIX) :])
    path = Path(text)
    if path.suffix.lower() not in MODEL_SUFFIXES:
        raise ParameterError(
            f"target {spec!r} is neither a model file ({', '.join(MODEL_SUFFIXES)}) nor an "
            f"instance spec like 'mc-flp:default?budget=3' (see dro-opt compare --help)"
        )
    if not path.is_file():
        raise ModelFileError(f"model file {spec!r} does not exist (check the path)")
    return Target(spec=spec, kind="model", path=path.resolve())


def parse_targets(specs: Sequence[str]) -> list[Target]:
    """Parse every TARGET; duplicates are refused (each target is one row key)."""
    if not specs:
        raise ParameterError("give at least one TARGET (a model file or an mc-flp:... spec)")
    seen: set[str] = set()
    out = []
    for spec in specs:
        if spec in seen:
            raise ParameterError(f"target {spec!r} is given twice; use --repeats to repeat runs")
        seen.add(spec)
        out.append(parse_target(spec))
    return out


def parse_methods(text: str | None) -> tuple[str, ...] | None:
    """``--methods misocp,oa`` -> ``("misocp", "oa")``; ``None`` keeps each model's default."""
    if text is None:
        return None
    methods = tuple(dict.fromkeys(m.strip().lower() for m in text.split(",") if m.strip()))
    bad = [m for m in methods if m not in (*MCFLP_METHODS, AUTO)]
    if bad or not methods:
        raise ParameterError(
            f"--methods takes a comma-separated list of {', '.join((*MCFLP_METHODS, AUTO))}; "
            f"got {text!r}"
        )
    return methods


# ------------------------------------------------------------------ mc-flp
def _parse_mcflp(spec: str, rest: str) -> Target:
    where, _, query = rest.partition("?")
    where = unquote(where)
    if not where:
        raise ParameterError(
            f"target {spec!r}: name an instance after 'mc-flp:' (a .data/.npz/.json file or "
            "'default')"
        )
    params: dict[str, Any] = {}
    for item in (p for p in query.split("&") if p):
        key, eq, value = item.partition("=")
        key = unquote(key).strip().lower().replace("-", "_")
        if not eq:
            raise ParameterError(f"target {spec!r}: parameter {item!r} needs the form key=value")
        if key in params:
            raise ParameterError(f"target {spec!r}: parameter {key!r} is given twice")
        params[key] = _convert(spec, key, unquote(value).strip())
    _check_mcflp(spec, params)
    if where.lower() == "default":
        return Target(spec=spec, kind="mc-flp", path=None, params=params)
    path = Path(where)
    if path.suffix.lower() not in (".data", ".npz", ".json"):
        raise ParameterError(
            f"target {spec!r}: the instance must be an HM14 .data, .npz or .json file or 'default'"
        )
    if not path.is_file():
        raise ModelFileError(f"target {spec!r}: instance file {where!r} does not exist")
    if path.suffix.lower() == ".data" and not {"alpha", "beta"} <= params.keys():
        raise ParameterError(
            f"target {spec!r}: an HM14 .data instance needs alpha=... and beta=... "
            "(utilities v = -beta * distance, w = -alpha * beta * competitor distance)"
        )
    return Target(spec=spec, kind="mc-flp", path=path.resolve(), params=params)


def _convert(spec: str, key: str, value: str) -> Any:
    if key == "objective":
        if value.lower() not in _OBJECTIVES:
            raise ParameterError(
                f"target {spec!r}: objective must be one of {', '.join(_OBJECTIVES)}, got {value!r}"
            )
        return value.lower()
    if key in _FLOAT_KEYS:
        try:
            x = float(value)
        except ValueError:
            raise ParameterError(
                f"target {spec!r}: {key} must be a number, got {value!r}"
            ) from None
        if not math.isfinite(x):
            raise ParameterError(f"target {spec!r}: {key} must be finite, got {value!r}")
        return x
    if key in _INT_KEYS:
        try:
            return int(value)
        except ValueError:
            raise ParameterError(
                f"target {spec!r}: {key} must be an integer, got {value!r}"
            ) from None
    known = ", ".join(sorted((*_FLOAT_KEYS, *_INT_KEYS, "objective")))
    raise ParameterError(f"target {spec!r}: unknown parameter {key!r}; known: {known}")


def _check_mcflp(spec: str, params: dict[str, Any]) -> None:
    if "budget" not in params:
        raise ParameterError(f"target {spec!r}: give the number of facilities, e.g. '?budget=3'")
    if params["budget"] < 1:
        raise ParameterError(f"target {spec!r}: budget must be >= 1, got {params['budget']}")
    for key in ("alpha", "beta"):
        if key in params and params[key] <= 0:
            raise ParameterError(f"target {spec!r}: {key} must be > 0, got {params[key]}")
    if params.get("rho", 0.0) < 0:
        raise ParameterError(f"target {spec!r}: rho must be >= 0, got {params['rho']}")
    if ("strata" in params) != ("per_stratum" in params):
        raise ParameterError(f"target {spec!r}: strata and per_stratum go together")
    if "clusters" in params and "strata" in params:
        raise ParameterError(f"target {spec!r}: choose clusters or strata, not both")
    params.setdefault("objective", "erm")
    params.setdefault("rho", 0.0)
