"""Activation functions f and their derivatives f': the package's one table of both.

* :data:`ACTIVATIONS` maps the names :func:`gradbook.mlp` accepts to module factories.
* :func:`activation_fn` and :func:`derivative` give f and f' of an elementwise activation
  by name (:data:`ELEMENTWISE` lists them). Every other module that needs f or f' (the
  hand-written backpropagation of chapter 1, the recurrent Jacobians of chapter 7) asks
  these two, so each formula is written once.
* Chapter 2 derives the bounds sigma'(z) <= 1/4 and tanh'(z) <= 1 from
  :func:`sigmoid_prime` and :func:`tanh_prime`; :func:`sigmoid_second` is sigma'';
  :func:`gain_interval_width` is the closed form of Nielsen's chapter-5 problem (the
  width of the inputs on which one sigmoid neuron can amplify a gradient).
* Chapter 6 adds the rectifier family's derivatives (:func:`relu_prime`,
  :func:`leaky_relu_prime`, :func:`elu_prime`, :func:`selu_prime`, with SELU's constants
  :data:`SELU_ALPHA` and :data:`SELU_LAMBDA`) and the :class:`Maxout` unit with its
  derivative :func:`maxout_prime`.

Statistics of a network's activations (dead units, saturation) are in :mod:`gradbook.probes`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ._validate import float_tensor, integer, one_of, real

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
    "prelu": nn.PReLU,  # one learnable slope per layer, initialised at 0.25 (He et al. 2015)
}


def activation_module(name: str) -> nn.Module:
    """A fresh module for the activation called ``name`` (one of :data:`ACTIVATIONS`)."""
    return ACTIVATIONS[one_of("activation", name, ACTIVATIONS)]()


def _as_tensor(z) -> torch.Tensor:
    """A float32/float64 tensor as it is; a number or a sequence of numbers as float64."""
    if isinstance(z, torch.Tensor):
        return float_tensor("z", z)
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


# ---------------------------------------------------------------------------------------
# Chapter 6: the rectifier family, SELU, maxout, and dead units.
#
# At z = 0, where a rectifier's derivative jumps, every function below returns the
# left-hand derivative, which is the value torch.autograd uses.
# ---------------------------------------------------------------------------------------

#: SELU's alpha and lambda (Klambauer et al. 2017): the values that make mean 0 and
#: variance 1 a fixed point of a layer with N(0, 1/fan_in) weights. PyTorch uses the same.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_LAMBDA = 1.0507009873554804934193349852946


def relu_prime(z) -> torch.Tensor:
    """ReLU'(z): 1 for z > 0 and 0 for z <= 0."""
    z = _as_tensor(z)
    return (z > 0).to(z.dtype)


def leaky_relu_prime(z, negative_slope: float = 0.01) -> torch.Tensor:
    """Derivative of the leaky ReLU max(z, a z): 1 for z > 0, ``negative_slope`` a for z <= 0.

    With a learnable ``a`` this is also PReLU's derivative with respect to its input.
    """
    z = _as_tensor(z)
    a = real("negative_slope", negative_slope)
    return torch.where(z > 0, torch.ones_like(z), torch.full_like(z, a))


def elu_prime(z, alpha: float = 1.0) -> torch.Tensor:
    """Derivative of the ELU (z for z > 0, alpha (e^z - 1) otherwise): 1, or alpha e^z for z <= 0."""
    z = _as_tensor(z)
    alpha = real("alpha", alpha, positive=True)
    return torch.where(z > 0, torch.ones_like(z), alpha * torch.exp(z.clamp(max=0)))


def selu_prime(z) -> torch.Tensor:
    """Derivative of SELU = lambda ELU_alpha: lambda for z > 0, lambda alpha e^z for z <= 0."""
    return SELU_LAMBDA * elu_prime(z, SELU_ALPHA)


class Maxout(nn.Module):
    """The maxout unit (Goodfellow et al. 2013): the largest of ``pieces`` linear pieces.

    It takes the output of a linear layer with ``width * pieces`` features, whose
    consecutive groups of ``pieces`` features are the pieces of one unit, and returns the
    ``width`` maxima: (..., width * pieces) -> (..., width). The gradient flows back
    through the winning piece of each unit only. :func:`gradbook.models.maxout_mlp`
    builds whole networks of such layers.
    """

    def __init__(self, pieces: int = 2):
        super().__init__()
        self.pieces = integer("pieces", pieces, minimum=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.shape[-1] % self.pieces:
            raise ValueError(f"Maxout({self.pieces}) needs a number of features divisible by "
                             f"{self.pieces}, got {z.shape[-1]}")
        # (..., width, pieces) -> (..., width); max (not amax) sends the gradient to one piece
        return z.unflatten(-1, (-1, self.pieces)).max(dim=-1).values

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}"


def maxout_prime(z, pieces: int) -> torch.Tensor:
    """d(maxout)/dz: for each unit, 1 for its winning piece and 0 for the others.

    ``z`` has shape (..., width * pieces) as for :class:`Maxout`; the result has the same
    shape. Entry [..., i * pieces + j] is the derivative of unit i's output with respect
    to its piece j (all other derivatives are 0). Ties go to the first maximal piece.
    """
    z = _as_tensor(z)
    pieces = integer("pieces", pieces, minimum=1)
    if z.ndim == 0 or z.shape[-1] % pieces:
        raise ValueError(f"z must have a last dimension divisible by pieces={pieces}, got shape {tuple(z.shape)}")
    grouped = z.unflatten(-1, (-1, pieces))  # (..., width, pieces)
    winner = grouped.argmax(dim=-1, keepdim=True)
    return torch.zeros_like(grouped).scatter_(-1, winner, 1.0).flatten(-2)


# ---------------------------------------------------------------------------------------
# The table: f and f' of every elementwise activation, by name.
# ---------------------------------------------------------------------------------------

_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01),
    "elu": torch.nn.functional.elu,
    "selu": torch.nn.functional.selu,
    "identity": lambda z: z,
}
_DERIVATIVES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sigmoid": sigmoid_prime,
    "tanh": tanh_prime,
    "relu": relu_prime,
    "leaky_relu": leaky_relu_prime,
    "elu": elu_prime,
    "selu": selu_prime,
    "identity": lambda z: torch.ones_like(_as_tensor(z)),
}
#: The elementwise activations whose f and f' :func:`activation_fn` and :func:`derivative` give.
ELEMENTWISE = tuple(_FUNCTIONS)


def activation_fn(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The function f of the elementwise activation ``name`` (one of :data:`ELEMENTWISE`)."""
    return _FUNCTIONS[one_of("activation", name, ELEMENTWISE)]


def derivative(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The derivative f' of the elementwise activation ``name`` (one of :data:`ELEMENTWISE`).

    Leaky ReLU uses PyTorch's default slope 0.01, as ``nn.LeakyReLU`` does; at a kink the
    value is the left-hand derivative, the one ``torch.autograd`` uses.
    """
    return _DERIVATIVES[one_of("activation", name, ELEMENTWISE)]


__all__ = [
    "ACTIVATIONS", "ELEMENTWISE", "SELU_ALPHA", "SELU_LAMBDA", "Maxout", "activation_fn", "activation_module",
    "derivative", "elu_prime", "gain_interval_width", "leaky_relu_prime", "maxout_prime", "relu_prime",
    "selu_prime", "sigmoid_prime", "sigmoid_second", "tanh_prime",
]
