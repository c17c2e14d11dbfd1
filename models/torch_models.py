r"""PyTorch models for paper 001 Algorithm 1 (optional extra: ``pip install 'dro_opt[torch]'``).

:class:`TorchModel` turns a ``torch.nn.Module`` with a scalar output per sample, plus a
per-sample loss of that output and the :math:`\pm 1` label, into the loss-and-gradient
interface of :class:`~dro_opt.models.iterative_best_response.DifferentiableModel` (the one
:class:`~dro_opt.models.numpy_models.MLP` implements by hand):

* ``theta`` is the flat vector of the module's parameters (``named_parameters`` order, each
  flattened row-major), in float64;
* ``losses(theta, X, ypm)`` the per-sample losses :math:`\ell(f_\theta(x_i), y_i)`, by
  ``torch.func.functional_call`` on a float64 copy of the module (the user's module is never
  modified);
* ``grad_theta`` the gradient of ``weights @ losses`` by reverse-mode autodiff;
* ``grad_x`` every sample's gradient in its own features, as the gradient of the summed losses
  in ``X`` -- exact only when the module treats samples independently (no batch norm in
  training mode or other batch coupling; the module is put in ``eval`` mode);
* ``penalised`` the weights under the ridge: parameters with at least two dimensions (not the
  biases), or a user-given predicate on the parameter name.

The default loss is the logistic loss of the margin, :math:`\log(1 + e^{-y f})` (paper 001
Appendix E trains with cross-entropy), the one :class:`~dro_opt.models.numpy_models.MLP` uses.
``torch`` is imported only when a :class:`TorchModel` is built.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from dro_opt.errors import DroOptError, ParameterError


class TorchUnavailableError(DroOptError, ImportError):
    """PyTorch is needed (a :class:`TorchModel`) but not installed."""


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise TorchUnavailableError(
            "TorchModel needs PyTorch, which is not installed; install the optional extra: "
            "pip install 'dro_opt[torch]'"
        ) from None
    return torch


def logistic_loss(output: Any, ypm: Any) -> Any:
    r"""Per-sample :math:`\log(1 + e^{-y f})` of the scalar outputs ``f`` (torch tensors)."""
    torch = _torch()
    return torch.nn.functional.softplus(-ypm * output)


class TorchModel:
    """Loss-and-gradient adapter of a ``torch.nn.Module`` (module docstring).

    Parameters
    ----------
    module : maps an ``(n, d)`` float tensor to ``(n,)`` or ``(n, 1)`` outputs.
    loss : ``loss(output, ypm) -> (n,)`` per-sample losses (torch ops, differentiable);
        default :func:`logistic_loss`.
    penalise : ``penalise(name) -> bool`` choosing the parameters under the ridge; default
        those with ``ndim >= 2``.
    """

    def __init__(
        self,
        module: Any,
        loss: Callable[[Any, Any], Any] | None = None,
        penalise: Callable[[str], bool] | None = None,
    ) -> None:
        torch = _torch()
        if not isinstance(module, torch.nn.Module):
            raise ParameterError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        self.module = copy.deepcopy(module).double().eval()
        self.loss = loss if loss is not None else logistic_loss
        named = list(self.module.named_parameters())
        if not named:
            raise ParameterError("the module has no parameters to train")
        self._names = [n for n, _ in named]
        self._shapes = [tuple(p.shape) for _, p in named]
        self._sizes = [int(p.numel()) for _, p in named]
        flags = [penalise(n) if penalise is not None else p.dim() >= 2 for n, p in named]
        self._mask = np.repeat(np.array(flags, dtype=bool), self._sizes)

    def init(self) -> np.ndarray:
        """The module's current parameters as one flat float64 vector."""
        return np.concatenate(
            [p.detach().cpu().numpy().ravel() for p in self.module.parameters()]
        ).astype(float)

    def _params(self, theta: np.ndarray, requires_grad: bool) -> dict[str, Any]:
        torch = _torch()
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (self._mask.size,):
            raise ParameterError(f"theta must have {self._mask.size} entries, got {theta.shape}")
        flat = torch.tensor(theta, dtype=torch.float64, requires_grad=requires_grad)
        parts = torch.split(flat, self._sizes)
        params = {n: t.view(s) for n, t, s in zip(self._names, parts, self._shapes, strict=True)}
        return {"__flat__": flat, **params}

    def _losses(self, params: dict[str, Any], X: Any, ypm: np.ndarray) -> Any:
        torch = _torch()
        named = {k: v for k, v in params.items() if k != "__flat__"}
        out = torch.func.functional_call(self.module, named, (X,))
        if out.dim() == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if out.shape != (X.shape[0],):
            raise ParameterError(f"the module must output one value per sample, got {out.shape}")
        return self.loss(out, torch.as_tensor(ypm, dtype=torch.float64))

    @staticmethod
    def _tensor(X: np.ndarray, requires_grad: bool = False) -> Any:
        torch = _torch()
        return torch.tensor(np.asarray(X, dtype=float), requires_grad=requires_grad)

    def decision(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        torch = _torch()
        named = {k: v for k, v in self._params(theta, False).items() if k != "__flat__"}
        with torch.no_grad():
            out = torch.func.functional_call(self.module, named, (self._tensor(X),))
        return out.reshape(-1).numpy()

    def losses(self, theta: np.ndarray, X: np.ndarray, ypm: np.ndarray) -> np.ndarray:
        torch = _torch()
        with torch.no_grad():
            return self._losses(self._params(theta, False), self._tensor(X), ypm).numpy()

    def grad_theta(
        self, theta: np.ndarray, X: np.ndarray, ypm: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        torch = _torch()
        params = self._params(theta, True)
        total = self._losses(params, self._tensor(X), ypm) @ torch.as_tensor(
            np.asarray(weights, dtype=float)
        )
        (g,) = torch.autograd.grad(total, params["__flat__"])
        return g.numpy()

    def grad_x(self, theta: np.ndarray, X: np.ndarray, ypm: np.ndarray) -> np.ndarray:
        torch = _torch()
        Xt = self._tensor(X, requires_grad=True)
        total = self._losses(self._params(theta, False), Xt, ypm).sum()
        (g,) = torch.autograd.grad(total, Xt)
        return g.numpy()

    def penalised(self, theta: np.ndarray) -> np.ndarray:
        return self._mask.copy()


__all__ = ["TorchModel", "TorchUnavailableError", "logistic_loss"]
