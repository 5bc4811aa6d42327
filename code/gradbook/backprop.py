"""Backpropagation written out by hand, as chapter 1 derives it.

* A chain of scalar neurons ``z_j = w_j a_{j-1} + b_j``, ``a_j = f(z_j)`` and the
  product formula for dC/db_j (:func:`chain_bias_grads`), one factor ``w_k f'(z_k)``
  per later layer.
* The classic two-layer ReLU network with a summed squared error
  (:func:`two_layer_relu_problem`, :func:`two_layer_relu_grads`), its gradients derived
  by hand; the tests and chapter 1 check both against ``torch.autograd``.
"""

from __future__ import annotations

import torch

from ._validate import float_dtype, float_tensor, generator, integer, one_of
from .activations import activation_fn, derivative

__all__ = [
    "CHAIN_ACTIVATIONS", "chain_bias_grads", "chain_forward", "two_layer_relu_grads", "two_layer_relu_loss",
    "two_layer_relu_problem",
]

#: The activations a scalar chain can use (f and f' come from :mod:`gradbook.activations`).
CHAIN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")


def _chain_args(w, b, x, activation):
    one_of("activation", activation, CHAIN_ACTIVATIONS)
    w = torch.as_tensor(w, dtype=torch.float64)
    b = torch.as_tensor(b, dtype=torch.float64)
    if w.ndim != 1 or b.shape != w.shape or w.numel() == 0:
        raise ValueError("w and b must be 1-D sequences of the same, non-zero length (one entry per neuron)")
    return w, b, torch.as_tensor(x, dtype=torch.float64), activation


def chain_forward(w, b, x, activation: str = "sigmoid"):
    """Run the scalar chain forward; return ``(z, a)`` with one entry per neuron."""
    w, b, x, activation = _chain_args(w, b, x, activation)
    f = activation_fn(activation)
    zs, as_ = [], []
    a = x
    for wj, bj in zip(w, b, strict=True):
        z = wj * a + bj
        a = f(z)
        zs.append(z)
        as_.append(a)
    return torch.stack(zs), torch.stack(as_)


def chain_bias_grads(w, b, x, activation: str = "sigmoid", dC_daL: float = 1.0) -> torch.Tensor:
    """dC/db_j for every neuron j of the chain, by the product formula.

    dC/db_j = f'(z_j) * prod_{k > j} (w_k f'(z_k)) * dC/da_L. Computed from the output
    backwards, so the whole vector costs one pass.
    """
    w, b, x, activation = _chain_args(w, b, x, activation)
    z, _ = chain_forward(w, b, x, activation)
    fprime = derivative(activation)(z)
    L = w.numel()
    grads = torch.empty(L, dtype=torch.float64)
    upstream = torch.as_tensor(float(dC_daL), dtype=torch.float64)  # dC/da_j
    for j in range(L - 1, -1, -1):
        grads[j] = fprime[j] * upstream
        upstream = grads[j] * w[j]  # dC/da_{j-1} = dC/dz_j * w_j
    return grads


def two_layer_relu_problem(
    n: int = 64,
    d_in: int = 1000,
    hidden: int = 100,
    d_out: int = 10,
    seed: int | torch.Generator = 0,
    dtype: torch.dtype = torch.float64,
):
    """Random data and N(0, 1) weights for the classic two-layer ReLU example.

    Returns ``x (n, d_in), y (n, d_out), w1 (d_in, hidden), w2 (hidden, d_out)``, all
    with i.i.d. N(0, 1) entries, drawn from their own generator seeded by ``seed``.
    """
    sizes = [integer(k, v, minimum=1) for k, v in
             (("n", n), ("d_in", d_in), ("hidden", hidden), ("d_out", d_out))]
    n, d_in, hidden, d_out = sizes
    float_dtype("dtype", dtype)
    gen = generator(seed)
    x = torch.randn(n, d_in, generator=gen, dtype=dtype)
    y = torch.randn(n, d_out, generator=gen, dtype=dtype)
    w1 = torch.randn(d_in, hidden, generator=gen, dtype=dtype)
    w2 = torch.randn(hidden, d_out, generator=gen, dtype=dtype)
    return x, y, w1, w2


def _check_two_layer(x, y, w1, w2) -> None:
    named = {"x": x, "y": y, "w1": w1, "w2": w2}
    for name, t in named.items():
        float_tensor(name, t, ndim=2, shape="(rows, columns)")
    n, d_in = x.shape
    if w1.shape[0] != d_in or w2.shape[0] != w1.shape[1] or y.shape != (n, w2.shape[1]):
        raise ValueError(
            "shapes must be x (n, d_in), y (n, d_out), w1 (d_in, hidden), w2 (hidden, d_out); got "
            + ", ".join(f"{k} {tuple(v.shape)}" for k, v in named.items())
        )


def two_layer_relu_loss(x, y, w1, w2) -> torch.Tensor:
    """Summed squared error of ``relu(x @ w1) @ w2`` against ``y``."""
    _check_two_layer(x, y, w1, w2)
    return ((torch.relu(x @ w1) @ w2 - y) ** 2).sum()


def two_layer_relu_grads(x, y, w1, w2):
    """Loss and its gradients for w1 and w2, by hand (no autograd).

    Returns ``loss, grad_w1, grad_w2``.
    """
    _check_two_layer(x, y, w1, w2)
    h = x @ w1  # (n, hidden): pre-activations
    h_relu = h.clamp(min=0)
    y_pred = h_relu @ w2  # (n, d_out)
    diff = y_pred - y
    loss = (diff**2).sum()
    grad_y_pred = 2.0 * diff
    grad_w2 = h_relu.T @ grad_y_pred
    grad_h = (grad_y_pred @ w2.T) * (h > 0).to(h.dtype)  # ReLU passes the gradient where h > 0
    grad_w1 = x.T @ grad_h
    return loss, grad_w1, grad_w2
