"""The loops of :mod:`dro_opt.solvers._scip_bulk` as C, compiled once where a C compiler exists.

Through cffi's ABI mode every SCIP call made from Python costs about 0.5-1 us of call overhead
on top of SCIP's own work, so the bulk loader's Python-side ``map`` over 10^5-10^6 calls is
about twice SCIP's own time (benchmarks/build_overhead.py, 'C loops'). This module holds the
same loops as a small C file that takes SCIP's functions as pointers (the very functions cffi
resolved in the library pyscipopt loaded, so no link step against a SCIP build and no second
copy of the library):

* ``dro_scip_columns``: ``SCIPcreateVarBasic`` + ``SCIPaddVar`` per column;
* ``dro_scip_linear_rows``: ``SCIPcreateConsBasicLinear`` + ``SCIPaddCons`` + ``SCIPreleaseCons``
  per CSR row;
* ``dro_scip_quadratic_rows``: per constraint an empty ``SCIPcreateConsBasicQuadraticNonlinear``,
  then per term ``SCIPcreateExprVar`` x 2, ``SCIPcreateExprProduct``, ``SCIPaddExprNonlinear``
  and the three ``SCIPreleaseExpr``; then ``SCIPaddCons`` + ``SCIPreleaseCons`` (exactly the
  calls, in the same order, of the Python route, so the same expression tree);
* ``dro_scip_release_vars``: ``SCIPreleaseVar`` per column.

:func:`compiled_loops` compiles the file with ``$CC`` (default ``cc``) into the user's cache
directory (``$XDG_CACHE_HOME/dro_opt`` or ``~/.cache/dro_opt``; never a shared temporary
directory, whose files other users could replace) the first time it is needed, under a name
holding the hash of the source, and loads it with :func:`cffi.FFI.dlopen`. Without a compiler,
a writable cache directory or with ``DRO_OPT_NO_COMPILE=1`` it returns ``None`` and the loader
keeps its Python loops (same calls, same model).
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

#: Declarations shared by cffi's ``cdef`` and the C file (SCIP's opaque types and the API table).
API_CDEF = """
typedef int (*dro_create_var)(SCIP*, SCIP_VAR**, const char*, double, double, double, int);
typedef int (*dro_add_var)(SCIP*, SCIP_VAR*);
typedef int (*dro_release_var)(SCIP*, SCIP_VAR**);
typedef int (*dro_create_linear)(SCIP*, SCIP_CONS**, const char*, int, SCIP_VAR**, double*,
                                 double, double);
typedef int (*dro_create_quadratic)(SCIP*, SCIP_CONS**, const char*, int, SCIP_VAR**, double*,
                                    int, SCIP_VAR**, SCIP_VAR**, double*, double, double);
typedef int (*dro_create_expr_var)(SCIP*, SCIP_EXPR**, SCIP_VAR*, void*, void*);
typedef int (*dro_create_expr_product)(SCIP*, SCIP_EXPR**, int, SCIP_EXPR**, double, void*,
                                       void*);
typedef int (*dro_add_expr_nonlinear)(SCIP*, SCIP_CONS*, SCIP_EXPR*, double);
typedef int (*dro_release_expr)(SCIP*, SCIP_EXPR**);
typedef int (*dro_add_cons)(SCIP*, SCIP_CONS*);
typedef int (*dro_release_cons)(SCIP*, SCIP_CONS**);
typedef struct {
    dro_create_var create_var; dro_add_var add_var; dro_release_var release_var;
    dro_create_linear create_linear; dro_create_quadratic create_quadratic;
    dro_create_expr_var create_expr_var; dro_create_expr_product create_expr_product;
    dro_add_expr_nonlinear add_expr_nonlinear; dro_release_expr release_expr;
    dro_add_cons add_cons; dro_release_cons release_cons;
} dro_scip_api;
int dro_scip_columns(SCIP*, const dro_scip_api*, long long, const double*, const double*,
                     const double*, const int*, SCIP_VAR**);
int dro_scip_linear_rows(SCIP*, const dro_scip_api*, long long, const long long*, SCIP_VAR**,
                         double*, const double*, const double*);
int dro_scip_quadratic_rows(SCIP*, const dro_scip_api*, long long, const long long*,
                            SCIP_VAR**, SCIP_VAR**, const double*, double, double);
int dro_scip_release_vars(SCIP*, const dro_scip_api*, long long, SCIP_VAR**);
"""

#: SCIP function behind each field of ``dro_scip_api``.
API_FIELDS = {
    "create_var": "SCIPcreateVarBasic",
    "add_var": "SCIPaddVar",
    "release_var": "SCIPreleaseVar",
    "create_linear": "SCIPcreateConsBasicLinear",
    "create_quadratic": "SCIPcreateConsBasicQuadraticNonlinear",
    "create_expr_var": "SCIPcreateExprVar",
    "create_expr_product": "SCIPcreateExprProduct",
    "add_expr_nonlinear": "SCIPaddExprNonlinear",
    "release_expr": "SCIPreleaseExpr",
    "add_cons": "SCIPaddCons",
    "release_cons": "SCIPreleaseCons",
}

_C_BODY = r"""
#define DRO_TRY(call) do { int code_ = (call); if (code_ != 1) return code_; } while (0)
static const char dro_noname[] = "";

int dro_scip_columns(SCIP *scip, const dro_scip_api *api, long long n, const double *lb,
                     const double *ub, const double *obj, const int *vtype, SCIP_VAR **vars) {
    for (long long j = 0; j < n; ++j) {
        DRO_TRY(api->create_var(scip, &vars[j], dro_noname, lb[j], ub[j], obj[j], vtype[j]));
        DRO_TRY(api->add_var(scip, vars[j]));
    }
    return 1;
}

int dro_scip_linear_rows(SCIP *scip, const dro_scip_api *api, long long m,
                         const long long *indptr, SCIP_VAR **row_vars, double *vals,
                         const double *lhs, const double *rhs) {
    for (long long i = 0; i < m; ++i) {
        SCIP_CONS *cons = 0;
        long long a = indptr[i];
        DRO_TRY(api->create_linear(scip, &cons, dro_noname, (int)(indptr[i + 1] - a),
                                   row_vars + a, vals + a, lhs[i], rhs[i]));
        DRO_TRY(api->add_cons(scip, cons));
        DRO_TRY(api->release_cons(scip, &cons));
    }
    return 1;
}

int dro_scip_quadratic_rows(SCIP *scip, const dro_scip_api *api, long long k,
                            const long long *start, SCIP_VAR **first, SCIP_VAR **second,
                            const double *coef, double lhs, double rhs) {
    for (long long q = 0; q < k; ++q) {
        SCIP_CONS *cons = 0;
        DRO_TRY(api->create_quadratic(scip, &cons, dro_noname, 0, 0, 0, 0, 0, 0, 0, lhs, rhs));
        for (long long t = start[q]; t < start[q + 1]; ++t) {
            SCIP_EXPR *factors[2] = {0, 0};
            SCIP_EXPR *product = 0;
            DRO_TRY(api->create_expr_var(scip, &factors[0], first[t], 0, 0));
            DRO_TRY(api->create_expr_var(scip, &factors[1], second[t], 0, 0));
            DRO_TRY(api->create_expr_product(scip, &product, 2, factors, 1.0, 0, 0));
            DRO_TRY(api->add_expr_nonlinear(scip, cons, product, coef[t]));
            DRO_TRY(api->release_expr(scip, &product));
            DRO_TRY(api->release_expr(scip, &factors[1]));
            DRO_TRY(api->release_expr(scip, &factors[0]));
        }
        DRO_TRY(api->add_cons(scip, cons));
        DRO_TRY(api->release_cons(scip, &cons));
    }
    return 1;
}

int dro_scip_release_vars(SCIP *scip, const dro_scip_api *api, long long n, SCIP_VAR **vars) {
    for (long long j = 0; j < n; ++j) DRO_TRY(api->release_var(scip, &vars[j]));
    return 1;
}
"""

_TYPES_C = (
    "typedef struct Scip SCIP; typedef struct SCIP_Var SCIP_VAR; "
    "typedef struct SCIP_Cons SCIP_CONS; typedef struct SCIP_Expr SCIP_EXPR;\n"
)
C_SOURCE = _TYPES_C + API_CDEF + _C_BODY
DISABLE_ENV = "DRO_OPT_NO_COMPILE"


def cache_dir() -> Path | None:
    """``$XDG_CACHE_HOME/dro_opt`` or ``~/.cache/dro_opt`` (created), ``None`` if unusable."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "dro_opt"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


def library_path(folder: Path) -> Path:
    """Where the compiled loops live: the name carries the source's and the platform's hash."""
    key = f"{C_SOURCE}\n{platform.machine()}\n{platform.system()}".encode()
    return folder / f"scip_loops_{hashlib.sha256(key).hexdigest()[:16]}.so"


def _compile(target: Path) -> bool:
    """Compile :data:`C_SOURCE` into ``target`` (atomically: concurrent first uses are safe)."""
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        return False
    fd, src = tempfile.mkstemp(suffix=".c", prefix="scip_loops_", dir=target.parent)
    out = src[:-2] + ".so"
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(C_SOURCE)
        proc = subprocess.run(
            [compiler, "-O2", "-shared", "-fPIC", "-o", out, src],
            capture_output=True,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0 or not os.path.isfile(out):
            return False
        os.replace(out, target)
        return True
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        for leftover in (src, out):
            if os.path.exists(leftover):
                os.unlink(leftover)


def compiled_loops(ffi: Any, scip_lib: Any) -> tuple[Any, Any] | None:
    """``(loops library, filled dro_scip_api*)`` or ``None`` (module docstring). ``ffi`` must
    have :data:`API_CDEF` in its ``cdef``; ``scip_lib`` is the cffi handle on SCIP."""
    if os.environ.get(DISABLE_ENV, "") not in ("", "0"):
        return None
    folder = cache_dir()
    if folder is None:
        return None
    target = library_path(folder)
    if not target.is_file() and not _compile(target):
        return None
    try:
        loops = ffi.dlopen(str(target))
        api = ffi.new("dro_scip_api*")
        for fld, function in API_FIELDS.items():
            setattr(api, fld, getattr(scip_lib, function))
    except (OSError, AttributeError, TypeError):
        return None
    return loops, api
