"""Probes: what the gradient and the activations look like, layer by layer.

* :func:`grad_norms` - the norm of each ``nn.Linear`` layer's weight (or bias) gradient
  for one batch, the basic picture of vanishing and exploding gradients.
* :func:`nielsen_delta_norms` - Nielsen's statistic ||delta^l||: the bias gradient
  dC/db^l averaged over a set of examples, then normed (his ch. 5).
* :func:`activation_stats` - mean, standard deviation and fraction of exact zeros of
  every activation module's output on a batch.

They work on any network whose ``nn.Linear`` layers are applied in the order
``net.modules()`` lists them (an ``nn.Sequential`` of layers, for example).
Introduced in chapter 1; used by every chapter that looks inside a network.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ._validate import one_of
from .activations import activation_outputs
from .models import linear_layers

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _check_batch(X, y) -> None:
    if not isinstance(X, torch.Tensor) or X.ndim < 2:
        raise ValueError("X must be a tensor of shape (batch, features)")
    if not isinstance(y, torch.Tensor) or y.shape[0] != X.shape[0]:
        raise ValueError("y must be a tensor with one row (or label) per row of X")


def _backward(net: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: LossFn) -> torch.Tensor:
    if not callable(loss_fn):
        raise TypeError("loss_fn must be a callable loss_fn(output, y) -> scalar tensor")
    net.zero_grad(set_to_none=True)
    loss = loss_fn(net(X), y)
    if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
        raise ValueError("loss_fn must return a scalar tensor (use a 'mean' or 'sum' reduction)")
    loss.backward()
    return loss.detach()


def grad_norms(
    net: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    loss_fn: LossFn = nn.functional.cross_entropy,
    *,
    param: str = "weight",
) -> torch.Tensor:
    """Per-layer gradient norms, one entry per ``nn.Linear``, input side first.

    Runs one forward and backward pass of ``loss_fn(net(X), y)`` and returns the
    Frobenius norm of each layer's ``param`` gradient (``"weight"`` or ``"bias"``).
    The gradients are left in the network's ``.grad`` fields.
    """
    one_of("param", param, ["weight", "bias"])
    _check_batch(X, y)
    layers = linear_layers(net)
    if param == "bias" and any(layer.bias is None for layer in layers):
        raise ValueError('param "bias" needs every nn.Linear to have a bias')
    _backward(net, X, y, loss_fn)
    return torch.stack([getattr(layer, param).grad.norm() for layer in layers])


def nielsen_delta_norms(
    net: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    loss_fn: LossFn,
) -> torch.Tensor:
    """Nielsen's ||delta^l|| for every ``nn.Linear`` layer, input side first.

    delta^l = dC/db^l averaged over the examples in ``X``: ``loss_fn`` must therefore
    *average* the per-example cost over the batch (a ``"mean"`` reduction over examples).
    Nielsen reports the hidden layers, i.e. all entries but the last.
    """
    return grad_norms(net, X, y, loss_fn, param="bias")


def activation_stats(net: nn.Module, X: torch.Tensor) -> dict[str, torch.Tensor]:
    """Statistics of each activation module's output on the batch ``X``.

    Returns a dict of 1-D tensors with one entry per activation module (in order):
    ``"mean"``, ``"std"`` (over all units and examples) and ``"frac_zero"`` (the
    fraction of outputs that are exactly 0, i.e. inactive ReLU units). Maxout modules
    count as activation modules; ``nn.Identity`` does not.
    """
    outputs = activation_outputs(net, X)
    return {
        "mean": torch.stack([o.mean() for o in outputs]),
        "std": torch.stack([o.std() for o in outputs]),
        "frac_zero": torch.stack([(o == 0).float().mean() for o in outputs]),
    }
