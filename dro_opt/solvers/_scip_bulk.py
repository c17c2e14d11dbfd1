"""SCIP's C library called directly (cffi) to load a linear / second-order-cone model.

pyscipopt creates one Python ``Variable`` / ``Constraint`` object per column and row (about
5-10 us each); SCIP's own ``.lp`` reader parses text and looks every name up in hash tables.
Both are far slower than SCIP's C functions themselves (measured in a C program on the same
library: 1.0-1.3 us per variable and 1.2-1.7 us per linear row). This module calls those C functions
on the ``SCIP*`` of a pyscipopt :class:`~pyscipopt.Model` (``Model.to_ptr``), with no Python
object per column or row: every call is fed by ``map`` over precomputed argument lists, and every
row's variables and coefficients are pointers into two contiguous arrays (the CSR arrays of the
rows, with column indices replaced by the columns' ``SCIP_VAR*``):

* columns: ``SCIPcreateVarBasic`` + ``SCIPaddVar`` (unnamed: SCIP skips its name table for
  empty names);
* linear rows ``lhs <= a'x <= rhs``: ``SCIPcreateConsBasicLinear`` + ``SCIPaddCons``;
* second-order cones as the quadratic ``sum_i s_i^2 - s_0^2 <= 0`` in the very form the
  per-object route of :mod:`dro_opt.solvers.scip_backend` creates: an empty
  ``SCIPcreateConsBasicQuadraticNonlinear`` plus one product expression per term
  (``SCIPcreateExprVar`` twice, ``SCIPcreateExprProduct``, ``SCIPaddExprNonlinear``);
* then every creation reference is released (``SCIPreleaseCons`` / ``SCIPreleaseVar``); the
  problem keeps its own.

The loops run in C where a C compiler is present (:mod:`dro_opt.solvers._scip_loops`, compiled
once into the user's cache; the same calls in the same order), otherwise as Python ``map`` calls
through cffi's ABI mode (about twice SCIP's own time; benchmarks/build_overhead.py).

The route is used only when the library pyscipopt has loaded can be opened by path and is the one
mapped into this process (Linux ``/proc/self/maps``) with the same version; otherwise
:func:`scip_library` returns ``None`` and the backend falls back to the other routes.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np

from dro_opt.solvers._scip_loops import API_CDEF, compiled_loops

SCIP_OKAY = 1
# SCIP_VARTYPE (SCIP 10 type_var.h): binary 0, integer 1, continuous 3
VARTYPE_BINARY, VARTYPE_INTEGER, VARTYPE_CONTINUOUS = 0, 1, 3

_CDEF = """
typedef struct Scip SCIP; typedef struct SCIP_Var SCIP_VAR; typedef struct SCIP_Cons SCIP_CONS;
typedef struct SCIP_Sol SCIP_SOL; typedef struct SCIP_Expr SCIP_EXPR;
int SCIPmajorVersion(void); int SCIPminorVersion(void); int SCIPtechVersion(void);
int SCIPcreateVarBasic(SCIP*, SCIP_VAR**, const char*, double, double, double, int);
int SCIPaddVar(SCIP*, SCIP_VAR*);
int SCIPreleaseVar(SCIP*, SCIP_VAR**);
int SCIPcreateConsBasicLinear(SCIP*, SCIP_CONS**, const char*, int, SCIP_VAR**, double*,
                              double, double);
int SCIPcreateConsBasicQuadraticNonlinear(SCIP*, SCIP_CONS**, const char*, int, SCIP_VAR**,
                                          double*, int, SCIP_VAR**, SCIP_VAR**, double*,
                                          double, double);
int SCIPcreateExprVar(SCIP*, SCIP_EXPR**, SCIP_VAR*, void*, void*);
int SCIPcreateExprProduct(SCIP*, SCIP_EXPR**, int, SCIP_EXPR**, double, void*, void*);
int SCIPaddExprNonlinear(SCIP*, SCIP_CONS*, SCIP_EXPR*, double);
int SCIPreleaseExpr(SCIP*, SCIP_EXPR**);
int SCIPaddCons(SCIP*, SCIP_CONS*);
int SCIPreleaseCons(SCIP*, SCIP_CONS**);
int SCIPgetSolVals(SCIP*, SCIP_SOL*, int, SCIP_VAR**, double*);
SCIP_SOL* SCIPgetBestSol(SCIP*);
"""

_LIB: dict[str, Any] = {}


@dataclass
class ScipLibrary:
    """The cffi handle on the SCIP library pyscipopt uses (and the compiled loops, if any)."""

    ffi: Any
    lib: Any
    path: str
    loops: Any = None  # the library of dro_opt.solvers._scip_loops, or None (Python loops)
    api: Any = None  # its dro_scip_api* table of SCIP's functions


def _candidate_paths() -> list[str]:
    import pyscipopt

    here = os.path.dirname(pyscipopt.__file__)
    return sorted(glob.glob(os.path.join(here, os.pardir, "pyscipopt.libs", "libscip*.so*")))


def _mapped(path: str) -> bool:
    """True when ``path`` is mapped into this process (the very copy pyscipopt loaded)."""
    try:
        with open("/proc/self/maps") as fh:
            maps = fh.read()
    except OSError:
        return False
    return os.path.realpath(path) in maps


def scip_library(model: Any) -> ScipLibrary | None:
    """The SCIP library behind ``model`` (cached), or ``None`` when it cannot be used safely."""
    if "handle" in _LIB:
        return _LIB["handle"]
    handle = None
    try:
        import cffi

        paths = [p for p in _candidate_paths() if _mapped(p)]
        if len(paths) == 1:
            ffi = cffi.FFI()
            ffi.cdef(_CDEF + API_CDEF)
            lib = ffi.dlopen(paths[0])
            ours = (lib.SCIPmajorVersion(), lib.SCIPminorVersion(), lib.SCIPtechVersion())
            theirs = (model.getMajorVersion(), model.getMinorVersion(), model.getTechVersion())
            if ours == theirs:
                handle = ScipLibrary(ffi, lib, paths[0])
                handle.loops, handle.api = compiled_loops(ffi, lib) or (None, None)
    except (ImportError, OSError, AttributeError):
        handle = None
    _LIB["handle"] = handle
    return handle


def scip_pointer(model: Any, sl: ScipLibrary) -> Any:
    """``SCIP*`` of a pyscipopt model (the model keeps ownership)."""
    import ctypes

    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype = ctypes.c_void_p
    get.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return sl.ffi.cast("SCIP*", get(model.to_ptr(False), b"scip"))


class BulkLoader:
    """Creates columns and rows of one SCIP problem through the C API (module docstring)."""

    def __init__(self, model: Any, sl: ScipLibrary) -> None:
        self.sl, self.ffi, self.lib = sl, sl.ffi, sl.lib
        self.scip = scip_pointer(model, sl)
        self.name = self.ffi.new("char[]", b"")
        self.inf = float(model.infinity())
        self.vars: Any = None  # SCIP_VAR*[num_cols]
        self.var_addr = np.zeros(0, dtype=np.uint64)
        self._conss: list[Any] = []  # SCIP_CONS*[] blocks still to release
        self._keep: list[Any] = []  # arrays SCIP reads while the constraints are created

    def _check(self, codes: list[int], what: str) -> None:
        bad = [c for c in codes if c != SCIP_OKAY]
        if bad:
            raise RuntimeError(f"SCIP returned error code {bad[0]} while {what}")

    def add_columns(
        self, lb: np.ndarray, ub: np.ndarray, obj: np.ndarray, vtype: np.ndarray
    ) -> None:
        """Columns with bounds (``+-inf`` -> SCIP's infinity), costs and SCIP_VARTYPE codes."""
        ffi, lib, k = self.ffi, self.lib, int(lb.shape[0])
        self.vars = ffi.new("SCIP_VAR*[]", max(k, 1))
        if self.sl.loops is not None:
            inf = self.inf
            code = self.sl.loops.dro_scip_columns(
                self.scip, self.sl.api, k,
                self._doubles(np.clip(lb, -inf, inf)), self._doubles(np.clip(ub, -inf, inf)),
                self._doubles(obj), self._ints(vtype), self.vars,
            )  # fmt: skip
            self._check([code], "creating variables")
            self._var_slots = k  # released by one C call in finish()
            self.var_addr = np.frombuffer(ffi.buffer(self.vars), dtype=np.uint64)[:k].copy()
            return
        slots = [self.vars + j for j in range(k)]
        inf = self.inf
        codes = list(
            map(
                lib.SCIPcreateVarBasic,
                repeat(self.scip, k),
                slots,
                repeat(self.name, k),
                np.clip(lb, -inf, inf).tolist(),
                np.clip(ub, -inf, inf).tolist(),
                np.asarray(obj, dtype=float).tolist(),
                np.asarray(vtype, dtype=np.int64).tolist(),
            )
        )
        self._check(codes, "creating variables")
        self._var_slots = slots
        self._check(
            list(map(lib.SCIPaddVar, repeat(self.scip, k), self.vars[0:k])), "adding variables"
        )
        self.var_addr = np.frombuffer(ffi.buffer(self.vars), dtype=np.uint64)[:k].copy()

    def _var_array(self, cols: np.ndarray) -> Any:
        """A C array ``SCIP_VAR*[]`` of the given columns (kept alive until :meth:`finish`)."""
        return self._pointer(self.var_addr[cols], np.uint64, "SCIP_VAR**")

    def _pointer(self, values: np.ndarray, dtype: Any, ctype: str) -> Any:
        """``values`` as a contiguous ``dtype`` array (kept alive until :meth:`finish`), cast to
        the C pointer type ``ctype``."""
        arr = np.ascontiguousarray(values, dtype=dtype)
        self._keep.append(arr)
        return self.ffi.cast(ctype, arr.ctypes.data)

    def _doubles(self, values: np.ndarray) -> Any:
        return self._pointer(values, np.float64, "double*")

    def _ints(self, values: np.ndarray) -> Any:
        return self._pointer(values, np.intc, "int*")

    def _offsets(self, values: np.ndarray) -> Any:
        return self._pointer(values, np.longlong, "long long*")

    def _create_conss(self, create: Any, k: int, what: str, *per_row: Any) -> None:
        """``create(scip, &cons_i, "", *per_row_i)`` then ``SCIPaddCons`` for ``i < k``."""
        conss = self.ffi.new("SCIP_CONS*[]", max(k, 1))
        self._conss.append((conss, k))
        slots = [conss + i for i in range(k)]
        codes = list(map(create, repeat(self.scip, k), slots, repeat(self.name, k), *per_row))
        self._check(codes, f"creating {what}")
        codes = list(map(self.lib.SCIPaddCons, repeat(self.scip, k), conss[0:k]))
        self._check(codes, f"adding {what}")

    def add_linear_rows(
        self,
        indptr: np.ndarray,
        cols: np.ndarray,
        vals: np.ndarray,
        lhs: np.ndarray,
        rhs: np.ndarray,
    ) -> None:
        """Rows ``lhs_i <= sum_k vals[k] x[cols[k]] <= rhs_i`` (CSR layout; ``+-inf`` allowed)."""
        k = int(lhs.shape[0])
        if k == 0:
            return
        vbase, dbase = self._var_array(cols), self._doubles(vals)
        if self.sl.loops is not None:
            code = self.sl.loops.dro_scip_linear_rows(
                self.scip, self.sl.api, k, self._offsets(indptr), vbase, dbase,
                self._doubles(np.clip(lhs, -self.inf, self.inf)),
                self._doubles(np.clip(rhs, -self.inf, self.inf)),
            )  # fmt: skip
            self._check([code], "creating linear constraints")
            return
        starts = indptr[:-1].tolist()
        self._create_conss(
            self.lib.SCIPcreateConsBasicLinear,
            k,
            "linear constraints",
            np.diff(indptr).tolist(),
            [vbase + a for a in starts],
            [dbase + a for a in starts],
            np.clip(lhs, -self.inf, self.inf).tolist(),
            np.clip(rhs, -self.inf, self.inf).tolist(),
        )

    def add_quadratic_rows(
        self, start: np.ndarray, col1: np.ndarray, col2: np.ndarray, coef: np.ndarray
    ) -> None:
        """Constraints ``sum_k coef[k] x[col1[k]] x[col2[k]] <= 0`` for ``k`` in
        ``start[q]:start[q+1]``, built as pyscipopt builds them: an empty quadratic constraint,
        then one product expression ``x * y`` per term (``SCIPaddExprNonlinear``).

        Not ``SCIPcreateConsBasicQuadraticNonlinear`` with the terms: for ``x = y`` it creates
        the power ``x^2`` instead of the product, and SCIP then solved the same MISOCPs 2-14x
        slower (MC-FCP secant models, K = 4..16, measured side by side against the per-object
        route), with optima differing by up to 4e-6."""
        k = int(start.shape[0] - 1)
        if k <= 0:
            return
        if self.sl.loops is not None:
            code = self.sl.loops.dro_scip_quadratic_rows(
                self.scip, self.sl.api, k, self._offsets(start), self._var_array(col1),
                self._var_array(col2), self._doubles(coef), -self.inf, 0.0,
            )  # fmt: skip
            self._check([code], "creating quadratic constraints")
            return
        ffi, lib, scip, null = self.ffi, self.lib, self.scip, self.ffi.NULL
        conss = ffi.new("SCIP_CONS*[]", k)
        self._conss.append((conss, k))
        slots = [conss + i for i in range(k)]
        codes = list(
            map(
                lib.SCIPcreateConsBasicQuadraticNonlinear,
                repeat(scip, k), slots, repeat(self.name, k),
                repeat(0, k), repeat(null, k), repeat(null, k),
                repeat(0, k), repeat(null, k), repeat(null, k), repeat(null, k),
                repeat(-self.inf, k), repeat(0.0, k),
            )
        )  # fmt: skip
        self._check(codes, "creating quadratic constraints")
        t = int(col1.shape[0])
        owner = np.repeat(np.arange(k), np.diff(start)).tolist()
        factors = ffi.new("SCIP_EXPR*[]", 2 * t)  # (x, y) of term j at 2j, 2j + 1
        prods = ffi.new("SCIP_EXPR*[]", t)
        first = [factors + 2 * j for j in range(t)]
        second = [factors + 2 * j + 1 for j in range(t)]
        for slot_list, cols in ((first, col1), (second, col2)):
            codes = list(
                map(
                    lib.SCIPcreateExprVar,
                    repeat(scip, t), slot_list, self._var_array(cols)[0:t],
                    repeat(null, t), repeat(null, t),
                )
            )  # fmt: skip
            self._check(codes, "creating variable expressions")
        prod_slots = [prods + j for j in range(t)]
        codes = list(
            map(
                lib.SCIPcreateExprProduct,
                repeat(scip, t), prod_slots, repeat(2, t), first, repeat(1.0, t),
                repeat(null, t), repeat(null, t),
            )
        )  # fmt: skip
        self._check(codes, "creating product expressions")
        codes = list(
            map(
                lib.SCIPaddExprNonlinear,
                repeat(scip, t), [conss[q] for q in owner], prods[0:t],
                np.asarray(coef, dtype=float).tolist(),
            )
        )  # fmt: skip
        self._check(codes, "adding quadratic terms")
        release = lib.SCIPreleaseExpr
        for slot_list in (prod_slots, second, first):
            self._check(list(map(release, repeat(scip, t), slot_list)), "releasing expressions")
        self._check(list(map(lib.SCIPaddCons, repeat(scip, k), conss[0:k])), "adding constraints")

    def finish(self) -> None:
        """Release the creation references (the problem holds its own)."""
        release = self.lib.SCIPreleaseCons
        for conss, k in self._conss:
            codes = list(map(release, repeat(self.scip, k), [conss + i for i in range(k)]))
            self._check(codes, "releasing constraints")
        self._conss.clear()
        self._keep.clear()
        slots = getattr(self, "_var_slots", [])
        if isinstance(slots, int):  # the C loops: one call for all columns
            code = self.sl.loops.dro_scip_release_vars(self.scip, self.sl.api, slots, self.vars)
            self._check([code], "releasing variables")
            self._var_slots = []
            return
        self._check(
            list(map(self.lib.SCIPreleaseVar, repeat(self.scip, len(slots)), slots)),
            "releasing variables",
        )
        self._var_slots = []


@dataclass
class BulkColumns:
    """Original problem columns as ``SCIP_VAR*`` addresses, read back in one call."""

    sl: ScipLibrary
    model: Any
    addresses: np.ndarray  # uint64 SCIP_VAR* of the problem's n columns

    def values(self) -> np.ndarray:
        """The best solution's values of these columns (``SCIPgetBestSol``, ``SCIPgetSolVals``)."""
        n = int(self.addresses.shape[0])
        out = np.zeros(n, dtype=np.float64)
        if n == 0:
            return out
        ffi, lib = self.sl.ffi, self.sl.lib
        scip = scip_pointer(self.model, self.sl)
        sol = lib.SCIPgetBestSol(scip)
        if sol == ffi.NULL:
            raise RuntimeError("SCIP has no solution to read")
        vars_ = ffi.cast("SCIP_VAR**", self.addresses.ctypes.data)
        code = lib.SCIPgetSolVals(scip, sol, n, vars_, ffi.cast("double*", out.ctypes.data))
        if code != SCIP_OKAY:
            raise RuntimeError(f"SCIP returned error code {code} while reading the solution")
        return out
