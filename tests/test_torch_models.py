"""TorchModel (paper 001 Algorithm 1 with PyTorch modules, optional extra).

The adapter's losses, parameter gradients and feature gradients equal the hand-written numpy
MLP's on the same weights (an independent implementation), and finite differences for a
user-given loss; Algorithm 1 run with the adapter follows the numpy MLP's iterates. Without
torch these tests are reported as skipped, except the missing-torch error itself.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from dro_opt.errors import ParameterError
from dro_opt.models.iterative_best_response import iterative_best_response
from dro_opt.models.numpy_models import MLP
from dro_opt.models.torch_models import TorchModel, TorchUnavailableError


def _torch_twin(mlp: MLP, theta: np.ndarray):
    """A torch Sequential with the numpy MLP's weights, and the permutation ``perm`` with
    ``torch_theta = numpy_theta[perm]`` (numpy stores W as (in, out), torch as (out, in))."""
    torch = pytest.importorskip("torch")
    layers: list = []
    perm: list[np.ndarray] = []
    k = 0
    for i, (a, b) in enumerate(mlp._shapes):
        lin = torch.nn.Linear(a, b).double()
        idx = np.arange(k, k + a * b).reshape(a, b)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(theta[idx].T))
            lin.bias.copy_(torch.tensor(theta[k + a * b : k + a * b + b]))
        perm += [idx.T.ravel(), np.arange(k + a * b, k + a * b + b)]
        k += a * b + b
        layers += [lin] + ([torch.nn.Tanh()] if i < len(mlp._shapes) - 1 else [])
    return torch.nn.Sequential(*layers), np.concatenate(perm)


def _data(n: int = 9, d: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), np.sign(rng.normal(size=n)), rng.random(n)


def test_adapter_matches_numpy_mlp() -> None:
    X, ypm, wts = _data()
    mlp = MLP(3, (5, 4), seed=1)
    th = mlp.init() + 0.1 * np.random.default_rng(1).normal(size=mlp.init().size)
    module, perm = _torch_twin(mlp, th)
    tm = TorchModel(module)
    th_t = tm.init()
    np.testing.assert_array_equal(th_t, th[perm])
    np.testing.assert_allclose(tm.losses(th_t, X, ypm), mlp.losses(th, X, ypm), rtol=1e-12)
    np.testing.assert_allclose(tm.decision(th_t, X), mlp.decision(th, X), rtol=1e-12)
    np.testing.assert_allclose(
        tm.grad_theta(th_t, X, ypm, wts), mlp.grad_theta(th, X, ypm, wts)[perm], atol=1e-12
    )
    np.testing.assert_allclose(tm.grad_x(th_t, X, ypm), mlp.grad_x(th, X, ypm), atol=1e-12)
    np.testing.assert_array_equal(tm.penalised(th_t), mlp.penalised(th)[perm])
    # the user's module is not modified by evaluating other parameters
    tm.losses(th_t + 1.0, X, ypm)
    np.testing.assert_array_equal(TorchModel(module).init(), th[perm])


def test_custom_loss_against_finite_differences() -> None:
    torch = pytest.importorskip("torch")
    X, ypm, wts = _data(seed=2)
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Softplus(), torch.nn.Linear(6, 1))
    tm = TorchModel(module, loss=lambda f, y: (1.0 - y * f) ** 2)
    th = tm.init()
    num = approx_fprime(th, lambda t: wts @ tm.losses(t, X, ypm), 1e-7)
    np.testing.assert_allclose(tm.grad_theta(th, X, ypm, wts), num, atol=1e-5)
    gx = tm.grad_x(th, X, ypm)
    for i in range(X.shape[0]):
        f = lambda x, i=i: tm.losses(th, x[None], ypm[i : i + 1])[0]  # noqa: E731
        np.testing.assert_allclose(gx[i], approx_fprime(X[i], f, 1e-7), atol=1e-5)
    with pytest.raises(ParameterError, match="entries"):
        tm.losses(th[:-1], X, ypm)
    with pytest.raises(ParameterError, match=r"torch\.nn\.Module"):
        TorchModel(lambda x: x)


def test_algorithm1_with_torch_follows_numpy() -> None:
    rng = np.random.default_rng(3)
    codes = np.repeat(np.arange(3), [40, 25, 15])
    X = rng.normal(size=(80, 2)) + np.array([[1.0, 0.0], [-1.0, 0.5], [0.5, -1.0]])[codes]
    ypm = np.where(X[:, 0] + 0.3 * rng.normal(size=80) > 0, 1.0, -1.0)
    mlp = MLP(2, (6,), seed=0)
    module, perm = _torch_twin(mlp, mlp.init())
    tm = TorchModel(module)
    kw = {"phi": "kl", "rho": 0.2, "eps": [0.0, 0.1, 0.3], "alpha": 0.01, "epochs": 25}
    ref = iterative_best_response(mlp, mlp.init(), X, ypm, codes, **kw)
    res = iterative_best_response(tm, tm.init(), X, ypm, codes, **kw)
    np.testing.assert_allclose(res.theta, ref.theta[perm], atol=1e-9)
    np.testing.assert_allclose(res.history, ref.history, rtol=1e-9)
    np.testing.assert_allclose(res.group_weights, ref.group_weights, atol=1e-9)
    assert res.history[-1] < res.history[0]


def test_missing_torch_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    with pytest.raises(TorchUnavailableError, match=r"pip install 'dro_opt\[torch\]'"):
        TorchModel(object())
