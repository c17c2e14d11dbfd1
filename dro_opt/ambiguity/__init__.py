"""Ambiguity sets: what the adversary may do with the nominal distribution (one family per file).

* :func:`phi_divergence` -- phi-divergence balls of paper 002 Table 1 (and the chi-square,
  Cressie-Read families), with phi, phi*, phi'_inf and the Csiszar dual in
  :mod:`dro_opt.ambiguity.divergences`;
* :func:`cvar` -- the CVaR set ``{P : P_i <= p_i / alpha}``;
* :func:`wasserstein` -- type-1 Wasserstein balls with a norm (or squared-norm) transport cost;
* :func:`ot_phi` -- the joint phi-divergence + optimal-transport discrepancy of paper 002 Def. 5.1.

Every set computes its worst case two independent ways (primal distribution, dual value); see
:class:`~dro_opt.ambiguity.base.WorstCase` and the repository's ``docs/modelling.md``.
"""

from dro_opt.ambiguity.base import AmbiguitySet, ReweightingSet, WorstCase
from dro_opt.ambiguity.cvar import CVaRSet, cvar
from dro_opt.ambiguity.divergences import DIVERGENCE_NAMES, Divergence, divergence
from dro_opt.ambiguity.ot_phi import OTPhiSet, ot_phi
from dro_opt.ambiguity.phi_divergence import PhiDivergenceSet, phi_divergence
from dro_opt.ambiguity.wasserstein import WassersteinSet, wasserstein

__all__ = [
    "DIVERGENCE_NAMES",
    "AmbiguitySet",
    "CVaRSet",
    "Divergence",
    "OTPhiSet",
    "PhiDivergenceSet",
    "ReweightingSet",
    "WassersteinSet",
    "WorstCase",
    "cvar",
    "divergence",
    "ot_phi",
    "phi_divergence",
    "wasserstein",
]
