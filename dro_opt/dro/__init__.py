"""The DRO modelling API: robust counterparts of per-sample losses as cvxpy constraints."""

from dro_opt.dro.losses import PiecewiseAffineLoss

__all__ = ["PiecewiseAffineLoss"]
