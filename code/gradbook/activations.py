"""Activation functions, their derivatives, and the modules that compute them.

Chapter 2 derives the bounds sigma'(z) <= 1/4 and tanh'(z) <= 1 from the formulas here;
:func:`gain_interval_width` is the closed form of Nielsen's chapter-5 problem (the width
of the inputs on which one sigmoid neuron can amplify a gradient). :data:`ACTIVATIONS`
maps the names that :func:`gradbook.mlp` accepts to module factories.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._validate import one_of, real

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


def activation_module(name: str) -> nn.Module:
    """A fresh module for the activation called ``name`` (one of :data:`ACTIVATIONS`)."""
    return ACTIVATIONS[one_of("activation", name, ACTIVATIONS)]()


def _as_tensor(z) -> torch.Tensor:
    if isinstance(z, torch.Tensor):
        if not z.dtype.is_floating_point:
            raise TypeError(f"z must be a floating-point tensor, got dtype {z.dtype}")
        return z
    try:
        return torch.as_tensor(z, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"z must be a number, a sequence of numbers or a tensor, got {type(z).__name__}") from None


def sigmoid_prime(z) -> torch.Tensor:
    """sigma'(z) = sigma(z) (1 - sigma(z)); at most 1/4, reached at z = 0."""
    s = torch.sigmoid(_as_tensor(z))
    return s * (1 - s)


def sigmoid_second(z) -> torch.Tensor:
    """sigma''(z) = sigma(z) (1 - sigma(z)) (1 - 2 sigma(z)): positive for z < 0, negative for z > 0."""
    s = torch.sigmoid(_as_tensor(z))
    return s * (1 - s) * (1 - 2 * s)


def tanh_prime(z) -> torch.Tensor:
    """tanh'(z) = 1 - tanh(z)^2, which lies in (0, 1] with its maximum 1 at z = 0."""
    t = torch.tanh(_as_tensor(z))
    return 1 - t * t


def gain_interval_width(w: float) -> float:
    """Width of the set of inputs ``a`` on which ``|w sigma'(w a + b)| >= 1``.

    For ``|w| < 4`` the set is empty (width 0). For ``|w| >= 4`` it is an interval of
    width ``(2/|w|) ln(|w| (1 + sqrt(1 - 4/|w|)) / 2 - 1)``, whatever the bias ``b``
    (Nielsen, *Neural Networks and Deep Learning*, ch. 5, problem). Its largest value,
    about 0.45, is reached near ``|w| = 6.9``.
    """
    w = abs(real("w", w))
    if w < 4:
        return 0.0
    return (2.0 / w) * math.log(w * (1.0 + math.sqrt(1.0 - 4.0 / w)) / 2.0 - 1.0)
