"""Jacobians: how a network stretches and squashes small changes of its input, layer by layer.

* :func:`layer_jacobians` - the Jacobian of every layer of an MLP, one per ``nn.Linear``:
  J^l = diag(f'(z^l)) W^l, the factor that chapter 1 found in every backward product.
* :func:`input_output_jacobian` - d net(x) / dx, the product of those factors.
* :func:`jacobian_singular_values` - its singular values, whose spread says whether a
  network is close to an isometry (Saxe et al. 2013; Pennington et al. 2017).
* :func:`forward_backward_std` - the standard deviation of the pre-activations z^l
  (forward) and of the errors dC/dz^l (backward) in every layer, the two quantities that
  variance propagation predicts.

The layer-by-layer functions need an ``nn.Sequential`` of ``nn.Linear`` layers and
elementwise activations (what :func:`gradbook.mlp` builds); :func:`input_output_jacobian`
also accepts any other module, for which it falls back on ``torch.func.jacrev``.
Introduced in chapter 5.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ._validate import float_tensor, module
from .activations import ACTIVATIONS
from .models import linear_layers

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# Modules applied elementwise: their Jacobian is the diagonal matrix diag(f'(z)).
_ELEMENTWISE = tuple(ACTIVATIONS.values())


def _check_inputs(X, net: nn.Module) -> tuple[torch.Tensor, bool]:
    """Return X as a (batch, features) tensor and whether it was a single (features,) input."""
    float_tensor("X", X, ndim=(1, 2), shape="(features,) or (batch, features)")
    if X.shape[-1] == 0 or (X.ndim == 2 and X.shape[0] == 0):
        raise ValueError(f"X must not be empty, got shape {tuple(X.shape)}")
    first = linear_layers(net)[0]
    if X.shape[-1] != first.in_features:
        raise ValueError(f"X has {X.shape[-1]} features but the network's first layer expects {first.in_features}")
    if X.dtype != first.weight.dtype:
        raise ValueError(f"X has dtype {X.dtype} but the network's weights have dtype {first.weight.dtype}; "
                         "convert one of them (e.g. X.to(torch.float64))")
    return (X.unsqueeze(0), True) if X.ndim == 1 else (X, False)


def _mlp_blocks(net: nn.Module) -> list[tuple[nn.Linear, list[nn.Module]]] | None:
    """Split an nn.Sequential into (Linear, [activations after it]) blocks; None if it is not such a chain."""
    if not isinstance(net, nn.Sequential):
        return None
    blocks: list[tuple[nn.Linear, list[nn.Module]]] = []
    for layer in net:
        if isinstance(layer, nn.Linear):
            blocks.append((layer, []))
        elif isinstance(layer, _ELEMENTWISE) and blocks:
            blocks[-1][1].append(layer)
        else:
            return None
    return blocks or None


def _require_mlp(net: nn.Module) -> list[tuple[nn.Linear, list[nn.Module]]]:
    module("net", net)
    blocks = _mlp_blocks(net)
    if blocks is None:
        raise ValueError("net must be an nn.Sequential that starts with nn.Linear and otherwise holds only "
                         f"nn.Linear layers and elementwise activations ({', '.join(ACTIVATIONS)}), "
                         "as gb.mlp builds")
    return blocks


def _elementwise_derivative(module: nn.Module, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(f(z), f'(z)) for an elementwise module: the gradient of sum f(z) is f'(z), entry by entry."""
    with torch.enable_grad():
        z = z.detach().requires_grad_(True)
        out = module(z)
        (fprime,) = torch.autograd.grad(out.sum(), z)
    return out.detach(), fprime


def layer_jacobians(net: nn.Module, X: torch.Tensor) -> list[torch.Tensor]:
    """The Jacobian of each layer's output with respect to its input, one per ``nn.Linear``.

    Layer l maps a^{l-1} to a^l = f(W^l a^{l-1} + b^l), so its Jacobian is
    J^l = diag(f'(z^l)) W^l (just W^l for a layer with no activation after it). For a
    batch ``X`` of shape (batch, features) each entry has shape (batch, n_l, n_{l-1});
    for a single input of shape (features,) the batch dimension is left out.
    """
    blocks = _require_mlp(net)
    X, single = _check_inputs(X, net)
    jacobians = []
    a = X.detach()
    with torch.no_grad():
        for linear, activations in blocks:
            a = linear(a)
            J = linear.weight.expand(a.shape[0], *linear.weight.shape).clone()  # (batch, n_l, n_{l-1})
            for module in activations:
                a, fprime = _elementwise_derivative(module, a)
                J = fprime.unsqueeze(-1) * J  # diag(f'(z)) J, for every example
            jacobians.append(J[0] if single else J)
    return jacobians


def input_output_jacobian(net: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """The Jacobian d net(x) / dx at each input: (out_features, in_features) for one input
    ``X`` of shape (features,), (batch, out_features, in_features) for a batch.

    For an MLP (an ``nn.Sequential`` of ``nn.Linear`` layers and elementwise activations)
    it is the product J^{L} ... J^{2} J^{1} of :func:`layer_jacobians`. For any other
    module it is computed by ``torch.func.jacrev``, one input at a time; the module must
    then treat the examples of a batch independently.
    """
    module("net", net)
    Xb, single = _check_inputs(X, net)
    if _mlp_blocks(net) is not None:
        factors = layer_jacobians(net, Xb)
        J = factors[0]
        for factor in factors[1:]:
            J = factor @ J  # (batch, n_l, in_features)
    else:
        jac = torch.func.jacrev(lambda x: net(x.unsqueeze(0)).squeeze(0))
        J = torch.stack([jac(x).detach() for x in Xb])
        if J.ndim != 3:
            raise ValueError("net must map a (batch, features) input to a (batch, outputs) output")
    return J[0] if single else J


def jacobian_singular_values(net: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """Singular values of :func:`input_output_jacobian` at each input, largest first.

    Returns a tensor of shape (batch, min(out_features, in_features)), or
    (min(out_features, in_features),) for a single input. Compute in float64 for deep
    networks: the smallest singular values of a deep product can lie many orders of
    magnitude below the largest.
    """
    return torch.linalg.svdvals(input_output_jacobian(net, X))


@dataclass(frozen=True)
class SignalSpread:
    """What :func:`forward_backward_std` returns: one entry per ``nn.Linear``, input side first.

    forward: the standard deviation of the pre-activations z^l.
    backward: the standard deviation of the errors dC/dz^l, or None without labels.
    """

    forward: torch.Tensor
    backward: torch.Tensor | None = None


def forward_backward_std(
    net: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor | None = None,
    loss_fn: LossFn = nn.functional.cross_entropy,
) -> SignalSpread:
    """The spread of the signal in every layer, one entry per ``nn.Linear``, input side first.

    ``forward``: the standard deviation of the pre-activations z^l = W^l a^{l-1} + b^l over
    all units and examples of the batch ``X``. ``backward`` (only if labels ``y`` are given):
    the standard deviation of the errors dC/dz^l for C = ``loss_fn(net(X), y)``. With a
    ``"mean"`` reduction every error carries a factor 1/batch, which leaves the ratios
    between layers, the quantity variance propagation predicts, unchanged.
    The network's ``.grad`` fields are left untouched.
    """
    module("net", net)
    X, _ = _check_inputs(X, net)
    if y is not None and (not isinstance(y, torch.Tensor) or y.shape[0] != X.shape[0]):
        raise ValueError("y must be a tensor with one row (or label) per row of X")
    if y is not None and not callable(loss_fn):
        raise TypeError("loss_fn must be a callable loss_fn(output, y) -> scalar tensor")
    preacts: list[torch.Tensor] = []
    hooks = [layer.register_forward_hook(lambda _m, _i, out: preacts.append(out)) for layer in linear_layers(net)]
    try:
        with torch.enable_grad() if y is not None else torch.no_grad():
            # The input takes part in the graph so that every z^l does, even with frozen weights.
            out = net(X.detach().requires_grad_(y is not None))
            if y is not None:
                loss = loss_fn(out, y)
                if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
                    raise ValueError("loss_fn must return a scalar tensor (use a 'mean' or 'sum' reduction)")
                errors = torch.autograd.grad(loss, preacts)  # dC/dz^l; the .grad fields stay as they were
    finally:
        for h in hooks:
            h.remove()
    return SignalSpread(forward=torch.stack([z.detach().std() for z in preacts]),
                        backward=None if y is None else torch.stack([e.std() for e in errors]))


__all__ = ["SignalSpread", "forward_backward_std", "input_output_jacobian", "jacobian_singular_values",
           "layer_jacobians"]
