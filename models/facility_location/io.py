"""MC-FLP instance files: documented ``.npz`` and JSON utility formats, and suffix dispatch.

``.npz`` format (``numpy.savez``; read with ``allow_pickle=False``)
------------------------------------------------------------------
Required:

* ``q``: float (N,), customer weights, finite, >= 0, not all zero.

and EXACTLY ONE of the two utility encodings:

* ``a``: float (N, D), log-odds utilities ``a_ij = log(V_ij / W_i)``; ``-inf`` allowed
  (location ``j`` never chosen by customer ``i``), NaN and ``+inf`` are not; or
* ``V``: float (N, D) raw MNL utilities ``V_ij = exp(v_ij) >= 0`` together with
  ``W``: float (N,), the competitors' total utility ``W_i > 0``; the reader forms
  ``a = log V - log W[:, None]``. Prefer ``a`` when utilities span many orders of magnitude.

Optional: ``name`` (0-d string array) and ``meta_json`` (0-d string array holding a JSON object).

JSON format
-----------
``{"format": "dro_opt.mcflp", "version": 1, "name": str, "meta": {...}, "q": [N numbers],
"a": [N rows of D numbers or null]}`` where ``null`` in ``a`` stands for ``-inf``; or ``"V"``
(N rows of D numbers >= 0) and ``"W"`` (N numbers > 0) instead of ``"a"``.

Writers (:func:`write_npz`, :func:`write_json`) always write ``a`` and are atomic (a temporary file
beside the target renamed over it). Readers validate everything and raise :class:`InstanceError`
naming the problem.
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from dro_opt.errors import InstanceError, ParameterError
from dro_opt.io.atomic import atomic_path, atomic_write_text
from dro_opt.models.facility_location.hm14 import read_hm14
from dro_opt.models.facility_location.instance import MCFLPInstance

__all__ = [
    "JSON_FORMAT",
    "JSON_VERSION",
    "from_raw_utilities",
    "read_instance",
    "read_json",
    "read_npz",
    "write_instance",
    "write_json",
    "write_npz",
]

JSON_FORMAT = "dro_opt.mcflp"
JSON_VERSION = 1


def from_raw_utilities(
    q: np.ndarray, V: np.ndarray, W: np.ndarray, name: str = "mcflp", meta: dict | None = None
) -> MCFLPInstance:
    """Instance from raw MNL utilities: ``a_ij = log V_ij - log W_i``.

    Raises
    ------
    InstanceError
        shapes disagree, ``V`` negative/non-finite, or ``W`` not finite and > 0.
    """
    V = np.asarray(V, dtype=float)
    W = np.asarray(W, dtype=float).ravel()
    if V.ndim != 2 or W.shape[0] != V.shape[0]:
        raise InstanceError(f"V must be N x D and W of length N; got V {V.shape}, W {W.shape}")
    if not np.isfinite(V).all() or (V < 0).any():
        raise InstanceError("raw utilities V must be finite and >= 0 (V = exp(v))")
    if not np.isfinite(W).all() or (W <= 0).any():
        raise InstanceError("competitor utilities W must be finite and > 0 (W = sum_e exp(w_e))")
    with np.errstate(divide="ignore"):
        a = np.log(V) - np.log(W)[:, None]
    return MCFLPInstance(q=q, a=a, name=name, meta=dict(meta or {}))


def _as_float_array(value: Any, key: str, path: Path, ndim: int) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InstanceError(f"{path}: {key!r} must be a numeric array") from None
    if arr.ndim != ndim:
        raise InstanceError(f"{path}: {key!r} must have {ndim} dimension(s), got shape {arr.shape}")
    return arr


def _build(path: Path, data: dict[str, Any], name: str, meta: dict) -> MCFLPInstance:
    if "q" not in data:
        raise InstanceError(f"{path}: missing the customer weights 'q'")
    has_a = "a" in data
    has_vw = "V" in data or "W" in data
    if has_a == has_vw:
        raise InstanceError(
            f"{path}: give exactly one utility encoding: 'a' (log-odds) or both 'V' and 'W'"
        )
    q = _as_float_array(data["q"], "q", path, 1)
    meta = {"source": str(path), **meta}
    try:
        if has_a:
            return MCFLPInstance(
                q=q, a=_as_float_array(data["a"], "a", path, 2), name=name, meta=meta
            )
        if "V" not in data or "W" not in data:
            raise InstanceError(f"{path}: raw utilities need both 'V' (N x D) and 'W' (N)")
        V = _as_float_array(data["V"], "V", path, 2)
        W = _as_float_array(data["W"], "W", path, 1)
        return from_raw_utilities(q, V, W, name=name, meta=meta)
    except InstanceError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise InstanceError(f"{path}: {exc}") from None


def read_npz(path: str | Path) -> MCFLPInstance:
    """Read the ``.npz`` format documented in this module."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise InstanceError(f"{path}: no such instance file; check the path") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InstanceError(f"{path}: not a readable .npz instance ({exc})") from None
    unknown = set(data) - {"q", "a", "V", "W", "name", "meta_json"}
    if unknown:
        raise InstanceError(
            f"{path}: unknown arrays {sorted(unknown)}; allowed: q, a | V, W, name, meta_json"
        )
    name = str(data.pop("name")) if "name" in data else path.stem
    meta: dict = {}
    if "meta_json" in data:
        try:
            meta = json.loads(str(data.pop("meta_json")))
        except json.JSONDecodeError as exc:
            raise InstanceError(f"{path}: 'meta_json' is not valid JSON ({exc})") from None
        if not isinstance(meta, dict):
            raise InstanceError(f"{path}: 'meta_json' must hold a JSON object")
    return _build(path, data, name, meta)


def read_json(path: str | Path) -> MCFLPInstance:
    """Read the JSON format documented in this module (``null`` in ``a`` means ``-inf``)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise InstanceError(f"{path}: no such instance file; check the path") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InstanceError(f"{path}: not a readable JSON instance ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != JSON_FORMAT:
        raise InstanceError(
            f"{path}: not a dro_opt MC-FLP instance ('format' must be {JSON_FORMAT!r})"
        )
    if doc.get("version") != JSON_VERSION:
        raise InstanceError(
            f"{path}: unsupported version {doc.get('version')!r}; this reader knows {JSON_VERSION}"
        )
    data = {k: doc[k] for k in ("q", "a", "V", "W") if k in doc}
    if "a" in data:
        rows = data["a"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise InstanceError(f"{path}: 'a' must be a list of rows")
        data["a"] = [[-math.inf if x is None else x for x in r] for r in rows]
        if len({len(r) for r in rows}) > 1:
            raise InstanceError(f"{path}: the rows of 'a' have different lengths")
    meta = doc.get("meta", {})
    if not isinstance(meta, dict):
        raise InstanceError(f"{path}: 'meta' must be a JSON object")
    return _build(path, data, str(doc.get("name", path.stem)), meta)


def write_npz(instance: MCFLPInstance, path: str | Path) -> Path:
    """Write ``q``, ``a``, ``name`` and ``meta_json`` atomically; returns the path."""
    path = Path(path)
    with atomic_path(path, suffix=".npz") as tmp, tmp.open("wb") as fh:
        np.savez(
            fh,
            q=instance.q,
            a=instance.a,
            name=np.array(instance.name),
            meta_json=np.array(json.dumps(instance.meta, default=str)),
        )
    return path


def write_json(instance: MCFLPInstance, path: str | Path) -> Path:
    """Write the JSON format atomically (``-inf`` in ``a`` written as ``null``)."""
    a = [[None if math.isinf(x) else x for x in row] for row in instance.a.tolist()]
    doc = {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "name": instance.name,
        "meta": json.loads(json.dumps(instance.meta, default=str)),
        "q": instance.q.tolist(),
        "a": a,
    }
    atomic_write_text(path, json.dumps(doc))
    return Path(path)


def write_instance(instance: MCFLPInstance, path: str | Path) -> Path:
    """Write by suffix: ``.npz`` or ``.json``."""
    suffix = Path(path).suffix.lower()
    if suffix == ".npz":
        return write_npz(instance, path)
    if suffix == ".json":
        return write_json(instance, path)
    raise InstanceError(f"{path}: cannot write {suffix!r}; use a .npz or .json file name")


def read_instance(
    path: str | Path, alpha: float | None = None, beta: float | None = None
) -> MCFLPInstance:
    """Read an MC-FLP instance, dispatching on the suffix.

    ``.data``: HM14 format (:func:`read_hm14`), needs ``alpha`` and ``beta``;
    ``.npz`` / ``.json``: the utility formats of this module (``alpha``/``beta`` must be None:
    the utilities are already in the file).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".data":
        if alpha is None or beta is None:
            raise ParameterError(
                f"{path.name} is an HM14 .data file: give alpha and beta (v = -beta * distance, "
                "w = -alpha * beta * competitor distance)"
            )
        return read_hm14(path, alpha, beta)
    if suffix in (".npz", ".json"):
        if alpha is not None or beta is not None:
            raise ParameterError(
                f"{path.name} already holds utilities; alpha/beta apply only to HM14 .data files "
                "-- drop them"
            )
        return read_npz(path) if suffix == ".npz" else read_json(path)
    raise InstanceError(
        f"{path}: unknown instance format {suffix!r}; use .data (HM14), .npz or .json"
    )
