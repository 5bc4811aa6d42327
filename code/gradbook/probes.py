"""Probes: what the gradient and the activations look like, layer by layer.

Gradients:

* :func:`total_norm` - the Euclidean norm of several tensors taken together, as one long
  vector, in float64: the package's one gradient-norm helper (clipping, the training
  loop and the gradient monitor all call it).
* :func:`grad_norms` - the norm of each ``nn.Linear`` layer's weight (or bias) gradient
  for one batch, the basic picture of vanishing and exploding gradients.
* :func:`nielsen_delta_norms` - Nielsen's statistic ||delta^l||: the bias gradient
  dC/db^l averaged over a set of examples, then normed (his ch. 5).
* :func:`delta_norms` - that norm of the mean beside the mean of the per-example norms
  ||delta^l_x||, which is what the product formula of chapter 1 describes for one
  example. The two differ: errors of different examples point different ways and partly
  cancel in the mean (and the output layer's mean error goes to zero once the predicted
  class frequencies match the data, however badly single examples are fitted).

Activations:

* :func:`activation_outputs` - the output of every activation module on a batch.
* :func:`activation_stats` - their mean, standard deviation and fraction of exact zeros,
  as an :class:`ActivationStats`.
* :func:`dead_units` and :func:`dead_unit_fraction` - the units that output 0 for every
  input of a data set (chapter 6).

They work on any network whose ``nn.Linear`` layers are applied in the order
``net.modules()`` lists them (an ``nn.Sequential`` of layers, for example).
Introduced in chapter 1; used by every chapter that looks inside a network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn

from ._validate import module, one_of
from .activations import ACTIVATIONS, Maxout
from .models import linear_layers

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Tensors = torch.Tensor | Iterable[torch.Tensor]


def as_tensor_list(tensors: Tensors, name: str = "grads") -> list[torch.Tensor]:
    """A tensor or an iterable of tensors, as a non-empty list of floating-point tensors."""
    if isinstance(tensors, torch.Tensor):
        items = [tensors]
    elif isinstance(tensors, Iterable) and not isinstance(tensors, str):
        items = list(tensors)
    else:
        items = []
    if not items:
        raise ValueError(f"{name} must be a tensor or a non-empty list of tensors, got {tensors!r}")
    for i, g in enumerate(items):
        if not isinstance(g, torch.Tensor) or not g.dtype.is_floating_point:
            raise TypeError(f"{name}[{i}] must be a floating-point tensor, got {type(g).__name__}"
                            + (f" of dtype {g.dtype}" if isinstance(g, torch.Tensor) else ""))
    return items


def total_norm(tensors: Tensors) -> torch.Tensor:
    """||g||: the Euclidean norm of all entries of ``tensors`` together, as a float64 scalar tensor.

    It is the norm ``torch.nn.utils.clip_grad_norm_`` returns, but taken in float64, so a
    large float32 gradient never reports a spurious ``inf``: an infinite result means an
    entry itself was infinite.
    """
    items = as_tensor_list(tensors)
    # The norm of the per-tensor norms is the norm of the concatenation, without
    # concatenating. One fused call takes every tensor's norm in float64 (the same numbers
    # as converting each tensor to float64 first, without the copies): gb.fit takes this
    # norm at every step, where a loop of small operations was a tenth of a step's cost.
    with torch.no_grad():
        return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(items, 2, dtype=torch.float64)))


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


@dataclass(frozen=True)
class DeltaNorms:
    """What :func:`delta_norms` returns: one entry per ``nn.Linear`` layer, input side first.

    batch: ||mean_x delta^l_x||, the norm of the batch's mean error (Nielsen's statistic,
        the norm of the bias gradient of the mean cost).
    per_example: mean_x ||delta^l_x||, the mean of the per-example error norms.
    """

    batch: torch.Tensor
    per_example: torch.Tensor


def delta_norms(
    net: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    loss_fn: LossFn | None = None,
) -> DeltaNorms:
    """Per-layer error norms of every example and of the batch mean, from one backward pass.

    delta^l_x = dC_x/dz^l is the error of example x at layer l's pre-activation z^l (the
    output of the l-th ``nn.Linear``). ``loss_fn(output, y)`` must return one loss per
    example, shape (batch,) (default: cross-entropy with ``reduction="none"``). The
    network's ``.grad`` fields are left untouched. By the triangle inequality
    ``batch <= per_example`` in every layer.
    """
    _check_batch(X, y)
    layers = linear_layers(net)
    loss_fn = (lambda out, t: nn.functional.cross_entropy(out, t, reduction="none")) if loss_fn is None else loss_fn
    if not callable(loss_fn):
        raise TypeError("loss_fn must be a callable loss_fn(output, y) -> one loss per example")
    preacts: list[torch.Tensor] = []
    hooks = [layer.register_forward_hook(lambda _m, _i, out: preacts.append(out)) for layer in layers]
    try:
        with torch.enable_grad():
            losses = loss_fn(net(X.detach().requires_grad_(True)), y)
            if not isinstance(losses, torch.Tensor) or losses.shape != (X.shape[0],):
                raise ValueError(f"loss_fn must return one loss per example, shape ({X.shape[0]},); "
                                 "use reduction='none'")
            # The examples do not interact, so row x of d(sum_x C_x)/dz^l is delta^l_x.
            errors = torch.autograd.grad(losses.sum(), preacts)
    finally:
        for h in hooks:
            h.remove()
    rows = [e.detach().flatten(1) for e in errors]  # (batch, units) per layer
    return DeltaNorms(batch=torch.stack([r.mean(0).norm() for r in rows]),
                      per_example=torch.stack([r.norm(dim=1).mean() for r in rows]))


# --- activations -----------------------------------------------------------------------

def _activation_modules(net: nn.Module) -> list[nn.Module]:
    kinds = (*ACTIVATIONS.values(), Maxout)
    return [m for m in net.modules() if isinstance(m, kinds) and not isinstance(m, nn.Identity)]


def activation_outputs(net: nn.Module, X: torch.Tensor) -> list[torch.Tensor]:
    """The output of every activation module of ``net`` (maxout included, ``nn.Identity``
    excluded) on the batch ``X``, in the order ``net.modules()`` lists them, without
    recording gradients. Shared by :func:`dead_units` and :func:`activation_stats`."""
    module("net", net)
    if not isinstance(X, torch.Tensor) or X.ndim != 2 or X.shape[0] == 0:
        raise ValueError("X must be a non-empty tensor of shape (examples, features)")
    acts = _activation_modules(net)
    if not acts:
        raise ValueError(f"net has no activation module among: {', '.join([*ACTIVATIONS, 'maxout'])}")
    outputs: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: outputs.append(out.detach())) for m in acts]
    try:
        with torch.no_grad():
            net(X)
    finally:
        for h in hooks:
            h.remove()
    return outputs


@dataclass(frozen=True)
class ActivationStats:
    """What :func:`activation_stats` returns: one entry per activation module, in order.

    mean, std: over all units and examples of the batch.
    frac_zero: the fraction of outputs that are exactly 0 (inactive ReLU units).
    """

    mean: torch.Tensor
    std: torch.Tensor
    frac_zero: torch.Tensor


def activation_stats(net: nn.Module, X: torch.Tensor) -> ActivationStats:
    """Statistics of each activation module's output on the batch ``X``.

    Returns an :class:`ActivationStats` of 1-D tensors with one entry per activation
    module (in order). Maxout modules count as activation modules; ``nn.Identity`` does not.
    """
    outputs = activation_outputs(net, X)
    return ActivationStats(
        mean=torch.stack([o.mean() for o in outputs]),
        std=torch.stack([o.std() for o in outputs]),
        frac_zero=torch.stack([(o == 0).float().mean() for o in outputs]),
    )


def dead_units(net: nn.Module, X: torch.Tensor) -> list[torch.Tensor]:
    """Which units of each activation layer of ``net`` are dead on the inputs ``X``.

    A unit is dead when its output is exactly 0 for every row of ``X``. Such a unit also
    passes no gradient back for any of these inputs: for a ReLU, output 0 means z <= 0,
    where ReLU'(z) = 0. Returns one boolean tensor of shape (units,) per activation module
    (``nn.Identity`` excluded), in the order the modules are listed by ``net.modules()``.
    """
    return [(out == 0).flatten(1).all(dim=0) for out in activation_outputs(net, X)]  # (units,) per layer


def dead_unit_fraction(net: nn.Module, X: torch.Tensor, *, per_layer: bool = False):
    """The fraction of hidden units of ``net`` that output exactly 0 for every row of ``X``.

    Returns a float (over all units of all activation layers) or, with ``per_layer=True``,
    a 1-D tensor with one fraction per activation layer. See :func:`dead_units`.
    """
    masks = dead_units(net, X)
    if per_layer:
        return torch.stack([m.float().mean() for m in masks])
    return float(torch.cat(masks).float().mean())


__all__ = [
    "ActivationStats", "DeltaNorms", "activation_outputs", "activation_stats", "dead_unit_fraction", "dead_units",
    "delta_norms", "grad_norms", "nielsen_delta_norms", "total_norm",
]
