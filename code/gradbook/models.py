"""Models: the multilayer perceptron every chapter builds, with an explicit initialisation.

:func:`mlp` returns an ``nn.Sequential`` of ``Linear, activation, ..., Linear``.
:func:`initialise` re-initialises every ``nn.Linear`` of a network by a named scheme.
PyTorch's own default (uniform on +-1/sqrt(fan_in), i.e. n Var[W] = 1/3) is one
scheme among several, never an accident: chapter 5 shows why that matters.
Introduced in chapter 1; used by every feed-forward chapter. Chapter 6 adds the
``"lecun"`` scheme (Var[W] = 1/fan_in, the one SELU needs) and :func:`maxout_mlp`, a
network of maxout layers.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._validate import float_dtype, generator, integer, module, one_of, real
from .activations import ACTIVATIONS, Maxout, activation_module

__all__ = ["INITS", "initialise", "linear_layers", "maxout_mlp", "mlp"]

INITS = ("pytorch-default", "normal", "xavier", "he", "orthogonal", "lecun")

# The gain that keeps the signal's scale through one layer of each activation
# (torch.nn.init.calculate_gain, with He's sqrt(2) for the rectifiers).
_GAINS = {
    "relu": math.sqrt(2.0),
    "leaky_relu": math.sqrt(2.0 / (1 + 0.01**2)),
    "elu": 1.0,
    "selu": 1.0,  # LeCun normal, the init SELU was derived for
    "gelu": math.sqrt(2.0),
    "tanh": 5.0 / 3.0,
    "sigmoid": 1.0,
    "identity": 1.0,
    "prelu": math.sqrt(2.0 / (1 + 0.25**2)),  # PReLU's initial slope is 0.25
}


def linear_layers(net: nn.Module) -> list[nn.Linear]:
    """The ``nn.Linear`` modules of ``net`` in the order they are applied."""
    module("net", net)
    layers = [m for m in net.modules() if isinstance(m, nn.Linear)]
    if not layers:
        raise ValueError("net has no nn.Linear layer")
    return layers


def initialise(
    net: nn.Module,
    init: str,
    *,
    std: float | None = None,
    gain: float = 1.0,
    bias_std: float = 0.0,
    seed: int | torch.Generator | None = None,
) -> nn.Module:
    """Re-initialise every ``nn.Linear`` of ``net`` in place and return ``net``.

    Parameters
    ----------
    init:
        ``"pytorch-default"`` (U(+-1/sqrt(fan_in)) for weights and biases, PyTorch's own
        rule), ``"normal"`` (N(0, std^2); ``std`` is required, either a number or the
        string ``"1/sqrt(fan_in)"``), ``"xavier"`` (Glorot normal, Var = gain^2 2/(fan_in +
        fan_out)), ``"he"`` (Var = gain^2 2/fan_in with gain 1 meaning He's rule),
        ``"orthogonal"`` (a random orthogonal matrix times ``gain``) or ``"lecun"``
        (LeCun normal, Var = gain^2 / fan_in, the initialisation SELU needs).
    gain:
        A positive scale on the weights (for every scheme except ``"pytorch-default"``
        and ``"normal"``).
    bias_std:
        Biases are drawn N(0, bias_std^2); 0 (the default) sets them to zero. Ignored by
        ``"pytorch-default"``.
    seed:
        If given (a seed or a ``torch.Generator``), the draw uses its own generator and
        leaves torch's global generator untouched.
    """
    one_of("init", init, INITS)
    gain = real("gain", gain, positive=True)
    bias_std = real("bias_std", bias_std, nonnegative=True)
    if init == "normal":
        if std is None:
            raise ValueError('init "normal" needs std: a positive number or "1/sqrt(fan_in)"')
        if not (isinstance(std, str) and std == "1/sqrt(fan_in)"):
            std = real("std", std, positive=True)
    elif std is not None:
        raise ValueError(f'std is only used with init "normal", not with init {init!r}')
    layers = linear_layers(net)
    gen = generator(seed)
    with torch.no_grad():
        for layer in layers:
            fan_out, fan_in = layer.weight.shape
            W = layer.weight
            if init == "pytorch-default":
                bound = 1.0 / math.sqrt(fan_in)
                W.uniform_(-bound, bound, generator=gen)
                if layer.bias is not None:
                    layer.bias.uniform_(-bound, bound, generator=gen)
                continue
            if init == "normal":
                s = 1.0 / math.sqrt(fan_in) if isinstance(std, str) else std
                W.normal_(0.0, s, generator=gen)
            elif init == "xavier":
                W.normal_(0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator=gen)
            elif init == "he":
                W.normal_(0.0, gain * math.sqrt(2.0 / fan_in), generator=gen)
            elif init == "lecun":
                W.normal_(0.0, gain * math.sqrt(1.0 / fan_in), generator=gen)
            else:  # orthogonal
                W.copy_(_orthogonal(fan_out, fan_in, gen, W.dtype) * gain)
            if layer.bias is not None:
                if bias_std == 0:
                    layer.bias.zero_()
                else:
                    layer.bias.normal_(0.0, bias_std, generator=gen)
    return net


def _blank_linear(n_in: int, n_out: int, dtype: torch.dtype) -> nn.Linear:
    """An ``nn.Linear`` whose weights are not drawn yet (:func:`initialise` draws them).

    Built on the meta device, so its constructor's default draw neither happens nor
    advances the global generator that the chapter seeded: no global state is touched,
    which keeps building networks in several threads at once repeatable.
    """
    return materialise(nn.Linear(n_in, n_out, device="meta", dtype=dtype))


def materialise(net: nn.Module) -> nn.Module:
    """Give a module built on the meta device uninitialised CPU storage, in place.

    What ``net.to_empty(device="cpu")`` does, without its detour: ``torch.empty_like`` from
    a meta tensor runs torch's Python meta kernels, whose first use imports SymPy (0.2 s of
    a chapter's start). ``torch.empty`` of the same shape and dtype needs none of that.
    """
    return net._apply(lambda t: torch.empty(t.shape, dtype=t.dtype))


def _orthogonal(rows: int, cols: int, gen, dtype) -> torch.Tensor:
    """A (rows, cols) matrix with orthonormal rows or columns (QR of a Gaussian, sign-fixed)."""
    flat = torch.randn(max(rows, cols), min(rows, cols), generator=gen, dtype=torch.float64)
    q, r = torch.linalg.qr(flat)
    q = q * torch.sign(torch.diagonal(r))  # makes the draw uniform (Haar) over orthogonal matrices
    if rows < cols:
        q = q.T
    return q.to(dtype)


def mlp(
    depth: int,
    width: int,
    activation: str = "relu",
    init: str = "he",
    *,
    in_features: int = 64,
    out_features: int = 10,
    std: float | str | None = None,
    gain: float | None = None,
    bias_std: float = 0.0,
    output_activation: str | None = None,
    seed: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> nn.Sequential:
    """A multilayer perceptron with ``depth`` hidden layers of ``width`` units.

    ``mlp(2, 30, "sigmoid", "normal", std="1/sqrt(fan_in)")`` is the network
    ``Linear(64, 30), Sigmoid, Linear(30, 30), Sigmoid, Linear(30, 10)``.
    ``depth=0`` gives a single linear (or logistic, with ``output_activation``) layer.

    ``gain`` defaults to the activation's own gain for ``"xavier"`` and ``"orthogonal"``
    (5/3 for tanh, sqrt(2) for ReLU, 1 for sigmoid) and to 1 for ``"he"``, whose
    variance 2/fan_in already contains ReLU's factor of 2, and for ``"lecun"``.
    See :func:`initialise` for ``init``, ``std`` and ``bias_std``.
    """
    depth = integer("depth", depth, minimum=0)
    width = integer("width", width, minimum=1)
    in_features = integer("in_features", in_features, minimum=1)
    out_features = integer("out_features", out_features, minimum=1)
    one_of("activation", activation, ACTIVATIONS)
    one_of("init", init, INITS)
    if output_activation is not None:
        one_of("output_activation", output_activation, ACTIVATIONS)
    float_dtype("dtype", dtype)
    if gain is None:
        gain = 1.0 if init in ("he", "lecun") else _GAINS[activation]
    sizes = [in_features] + [width] * depth + [out_features]
    modules: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        modules.append(_blank_linear(sizes[i], sizes[i + 1], dtype))
        if i < len(sizes) - 2:
            # .to(dtype) matters only for activations with parameters (PReLU's slope)
            modules.append(activation_module(activation).to(dtype))
    if output_activation is not None:
        modules.append(activation_module(output_activation).to(dtype))
    net = nn.Sequential(*modules)
    if std is not None and init != "normal":
        raise ValueError(f'std is only used with init "normal", not with init {init!r}')
    kwargs = {"std": std} if init == "normal" else {}
    if init not in ("pytorch-default", "normal"):
        kwargs["gain"] = gain
    return initialise(net, init, bias_std=bias_std, seed=seed, **kwargs)


def maxout_mlp(
    depth: int,
    width: int,
    pieces: int = 2,
    init: str = "lecun",
    *,
    in_features: int = 64,
    out_features: int = 10,
    std: float | str | None = None,
    gain: float = 1.0,
    bias_std: float = 0.0,
    seed: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> nn.Sequential:
    """A maxout network (Goodfellow et al. 2013) with ``depth`` hidden layers of ``width`` units.

    Each hidden layer is an ``nn.Linear`` with ``width * pieces`` outputs followed by
    :class:`~gradbook.activations.Maxout`, which keeps the largest of each unit's
    ``pieces`` linear pieces: ``maxout_mlp(2, 30, pieces=2)`` is
    ``Linear(64, 60), Maxout(2), Linear(30, 60), Maxout(2), Linear(30, 10)``.
    Every ``nn.Linear`` is visible to :func:`linear_layers`, :func:`initialise` and
    :func:`gradbook.grad_norms`, as in :func:`mlp`.

    The default ``"lecun"`` initialisation (Var = 1/fan_in) keeps the mean square of the
    signal through a layer with two pieces, because the larger of two independent
    N(0, q) numbers has mean square q. See :func:`initialise` for ``init``, ``std``,
    ``gain`` (here 1 unless given) and ``bias_std``.
    """
    depth = integer("depth", depth, minimum=0)
    width = integer("width", width, minimum=1)
    pieces = integer("pieces", pieces, minimum=1)
    in_features = integer("in_features", in_features, minimum=1)
    out_features = integer("out_features", out_features, minimum=1)
    one_of("init", init, INITS)
    float_dtype("dtype", dtype)
    if std is not None and init != "normal":
        raise ValueError(f'std is only used with init "normal", not with init {init!r}')
    sizes = [in_features] + [width] * depth
    modules: list[nn.Module] = []
    for n_in in sizes[:-1]:
        modules += [_blank_linear(n_in, width * pieces, dtype), Maxout(pieces)]
    modules.append(_blank_linear(sizes[-1], out_features, dtype))
    net = nn.Sequential(*modules)
    kwargs = {"std": std} if init == "normal" else {}
    if init not in ("pytorch-default", "normal"):
        kwargs["gain"] = gain
    return initialise(net, init, bias_std=bias_std, seed=seed, **kwargs)
