"""CPLEX's callable library called directly (ctypes) to load columns and rows from flat arrays.

The ``cplex`` Python API takes rows as a list of ``[indices, values]`` pairs per row and converts
them back into CPLEX's flat row-major arrays (``rmatbeg``/``rmatind``/``rmatval``); on
benchmarks/build_overhead.py's model building those lists and converting them was 4 of the load's
4.3 s. The arrays are the CSR arrays scipy already holds, so this module hands them to the C
functions of the very library the Python API uses (``libcplex*.so`` beside it, mapped into this
process), on the API's own environment and problem pointers:

* ``CPXLnewcols(env, lp, ccnt, obj, lb, ub, xctype, colname)`` -- all columns, one call;
* ``CPXLaddrows(env, lp, 0, rcnt, nzcnt, rhs, sense, rmatbeg, rmatind, rmatval, NULL, NULL)`` --
  all linear rows, one call;
* ``CPXLaddqconstr(env, lp, 0, qnz, 0.0, 'L', NULL, NULL, qrow, qcol, qval, NULL)`` -- one call
  per cone (CPLEX has no bulk call for quadratic constraints).

(``CPXL*`` are the 64-bit-index entry points behind the API's ``CPXX*`` names.) A non-zero status
raises the API's own ``CplexSolverError`` (with CPLEX's error code and message), so licence errors
are recognised as before. Where the library cannot be found or is not the loaded one,
:func:`cplex_library` returns ``None`` and the backend uses the Python API.
"""

from __future__ import annotations

import ctypes
import glob
import os
from typing import Any

import numpy as np

_LIB: dict[str, Any] = {}
_P, _I, _D = ctypes.c_void_p, ctypes.c_int, ctypes.c_double


def _mapped(path: str) -> bool:
    try:
        with open("/proc/self/maps") as fh:
            return os.path.realpath(path) in fh.read()
    except OSError:
        return False


def cplex_library() -> Any | None:
    """ctypes handle on the CPLEX library the ``cplex`` package has loaded (cached), or
    ``None``."""
    if "lib" in _LIB:
        return _LIB["lib"]
    lib = None
    try:
        import cplex._internal as internal

        here = os.path.dirname(internal.__file__)
        paths = [p for p in sorted(glob.glob(os.path.join(here, "libcplex*.so*"))) if _mapped(p)]
        if len(paths) == 1:
            lib = ctypes.CDLL(paths[0])
            lib.CPXLnewcols.argtypes = [_P, _P, _I, _P, _P, _P, _P, _P]
            lib.CPXLaddrows.argtypes = [_P, _P, _I, _I, ctypes.c_longlong, _P, _P, _P, _P, _P]
            lib.CPXLaddrows.argtypes += [_P, _P]
            lib.CPXLaddqconstr.argtypes = [_P, _P, _I, ctypes.c_longlong, _D, _I, _P, _P]
            lib.CPXLaddqconstr.argtypes += [_P, _P, _P, _P]
            for fn in (lib.CPXLnewcols, lib.CPXLaddrows, lib.CPXLaddqconstr):
                fn.restype = _I
    except (ImportError, OSError, AttributeError):
        lib = None
    _LIB["lib"] = lib
    return lib


def _ptr(arr: np.ndarray) -> int:
    return arr.ctypes.data


def load_flat(
    lib: Any,
    cpx: Any,
    cols: tuple[np.ndarray, np.ndarray, np.ndarray, bytes | None],
    rows: tuple[Any, bytes, np.ndarray],
    quad: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """Columns ``(obj, lb, ub, xctype or None)``, linear rows ``(CSR matrix, senses, rhs)`` and
    quadratic constraints ``sum_k val[k] x[col1[k]] x[col2[k]] <= 0`` for ``k`` in
    ``start[q]:start[q+1]`` (``quad = (start, col1, col2, val)``) into the problem ``cpx``."""
    from cplex._internal._procedural import check_status

    env_swig = cpx._env._e
    env, lp = int(env_swig), int(cpx._lp)
    obj, lb, ub = (np.ascontiguousarray(a, dtype=np.float64) for a in cols[:3])
    xctype = cols[3]
    ncols = int(obj.shape[0])
    if ncols:
        types = ctypes.c_char_p(xctype) if xctype else None
        status = lib.CPXLnewcols(env, lp, ncols, _ptr(obj), _ptr(lb), _ptr(ub), types, None)
        check_status(env_swig, status)
    A, senses, rhs = rows
    nrows = int(A.shape[0])
    if nrows:
        beg = np.ascontiguousarray(A.indptr[:-1], dtype=np.int64)
        ind = np.ascontiguousarray(A.indices, dtype=np.int32)
        val = np.ascontiguousarray(A.data, dtype=np.float64)
        rhs = np.ascontiguousarray(rhs, dtype=np.float64)
        status = lib.CPXLaddrows(
            env, lp, 0, nrows, int(A.nnz), _ptr(rhs), ctypes.c_char_p(senses), _ptr(beg),
            _ptr(ind), _ptr(val), None, None,
        )  # fmt: skip
        check_status(env_swig, status)
    start, col1, col2, qval = quad
    c1 = np.ascontiguousarray(col1, dtype=np.int32)
    c2 = np.ascontiguousarray(col2, dtype=np.int32)
    qv = np.ascontiguousarray(qval, dtype=np.float64)
    sense_l = ord("L")
    for q in range(int(start.shape[0]) - 1):  # CPLEX has no bulk call for these
        a, b = int(start[q]), int(start[q + 1])
        status = lib.CPXLaddqconstr(
            env, lp, 0, b - a, 0.0, sense_l, None, None,
            _ptr(c1) + 4 * a, _ptr(c2) + 4 * a, _ptr(qv) + 8 * a, None,
        )  # fmt: skip
        check_status(env_swig, status)
