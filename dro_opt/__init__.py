"""dro_opt: distributionally robust optimisation with exact conic models and certified gaps."""

from dro_opt import front_door as _front_door  # noqa: F401  (registers solve routes)
from dro_opt.certify import Certificate, CertificateLine
from dro_opt.conic import ConicBuilder, ConicProblem
from dro_opt.errors import DroOptError
from dro_opt.solvers import Result, SolveOptions, Status, get_backend, solve

__version__ = "0.1.0"

__all__ = [
    "Certificate",
    "CertificateLine",
    "ConicBuilder",
    "ConicProblem",
    "DroOptError",
    "Result",
    "SolveOptions",
    "Status",
    "__version__",
    "get_backend",
    "solve",
]
