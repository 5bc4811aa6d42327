"""The gradient through time: Jacobians of a recurrent step and the products backpropagation forms.

* :func:`net_jacobian` - d net_t / d net_{t-1} = W diag(f'(net_{t-1})) for a plain RNN.
* :func:`step_jacobians` and :func:`jacobian_product_norms` - the Jacobian of every step,
  d s_t / d s_{t-1}, and the norms ||d s_T / d s_k|| for every k, computed in a single
  pass of Jacobian products from the end (not one backward pass per k).
* :func:`state_gradient_norms` - the two combined, for one sequence.
* :func:`hidden_gradient_norms` - ||dL/dh_k|| for every k from one backward pass.

They work on a :class:`gradbook.RecurrentNet`, whose state s_t is h_t for the plain RNNs
and the GRU, and the pair (h_t, c_t), flattened to one vector [h_t, c_t], for the LSTMs.
Introduced in chapter 7; chapter 9 uses it too.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ._validate import one_of
from .activations import derivative
from .rnn import RecurrentNet, State

__all__ = [
    "hidden_gradient_norms", "jacobian_product_norms", "net_jacobian", "state_gradient_norms", "step_jacobians",
]

#: The activations of a plain RNN whose Jacobian :func:`net_jacobian` writes out.
NET_ACTIVATIONS = ("tanh", "sigmoid", "relu", "identity")


def net_jacobian(W: torch.Tensor, net_prev: torch.Tensor, activation: str = "tanh") -> torch.Tensor:
    """d net_t / d net_{t-1} = W diag(f'(net_{t-1})) for net_t = U x_t + W f(net_{t-1}) + b.

    ``W`` is the (n, n) recurrent matrix and ``net_prev`` the pre-activation at the previous
    step, shape (n,) or (batch, n); the result has shape (n, n) or (batch, n, n).
    """
    activation = one_of("activation", activation, NET_ACTIVATIONS)
    if not isinstance(W, torch.Tensor) or W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError("W must be a square matrix (a 2-D tensor of shape (n, n))")
    if not isinstance(net_prev, torch.Tensor) or net_prev.ndim not in (1, 2) or net_prev.shape[-1] != W.shape[0]:
        raise ValueError(f"net_prev must be a tensor of shape ({W.shape[0]},) or (batch, {W.shape[0]})")
    return W * derivative(activation)(net_prev).unsqueeze(-2)  # scales column j by f'(net_j)


def _check_sequence(net: RecurrentNet, x) -> torch.Tensor:
    if not isinstance(net, RecurrentNet):
        raise TypeError(f"net must be a gb.RecurrentNet (see gb.recurrent_net), got {type(net).__name__}")
    if not isinstance(x, torch.Tensor) or x.ndim != 2:
        raise ValueError("x must be one sequence, a tensor of shape (time, input_size)")
    return net._check_x(x.unsqueeze(0))[0]


def _flatten(state: State) -> torch.Tensor:
    return torch.cat(state, dim=-1) if isinstance(state, tuple) else state


def step_jacobians(net: RecurrentNet, x: torch.Tensor, state: State | None = None) -> torch.Tensor:
    """The Jacobian d s_t / d s_{t-1} of every step of one sequence ``x`` (T, input_size).

    Returns a tensor of shape (T, d, d), d = ``net.state_size``; entry t - 1 is the Jacobian
    of step t, evaluated along the trajectory that starts from ``state`` (zero by default).
    """
    x = _check_sequence(net, x)
    n, d = net.hidden_size, net.state_size

    def step(s_flat: torch.Tensor, x_t: torch.Tensor) -> torch.Tensor:
        """The step on a batch of flattened states (rows), all with the same input x_t."""
        s = (s_flat[:, :n], s_flat[:, n:]) if net.has_cell_state else s_flat
        return _flatten(net.step(x_t.expand(s_flat.shape[0], -1), s))

    s = _flatten(net.initial_state(1) if state is None else state)[:1].detach()
    eye = torch.eye(d, dtype=s.dtype)
    jacobians = []
    for t in range(x.shape[0]):
        # d copies of the state, one backward pass: row i of the result is e_i^T J, the
        # gradient of output i, because the copies do not interact. The scalar
        # sum(out * I) has the same backward pass as grad_outputs=I, to the bit, without
        # the shape check that imports SymPy on first use (0.2 s of a chapter's start).
        with torch.enable_grad():
            copies = s.expand(d, d).clone().requires_grad_(True)
            (rows,) = torch.autograd.grad((step(copies, x[t]) * eye).sum(), copies)
        jacobians.append(rows)
        with torch.no_grad():
            s = step(s, x[t])
    return torch.stack(jacobians)


def jacobian_product_norms(jacobians: torch.Tensor, ord: float | str = 2) -> torch.Tensor:
    """||d s_T / d s_k|| for k = 0, ..., T from the step Jacobians J_t = d s_t / d s_{t-1}.

    d s_T / d s_k = J_T J_{T-1} ... J_{k+1}, so the products for every k come from one pass
    that starts at the end and multiplies by one more factor per step. Entry k of the result
    (length T + 1) is the norm of that product; entry T is the norm of the identity.
    ``ord`` is any matrix norm ``torch.linalg.matrix_norm`` accepts (2 = largest singular value).
    """
    if not isinstance(jacobians, torch.Tensor) or jacobians.ndim != 3 or jacobians.shape[1] != jacobians.shape[2]:
        raise ValueError("jacobians must be a tensor of shape (T, d, d), one square Jacobian per step")
    T, d, _ = jacobians.shape
    product = torch.eye(d, dtype=jacobians.dtype)
    norms = [torch.linalg.matrix_norm(product, ord=ord)]
    for t in range(T - 1, -1, -1):
        product = product @ jacobians[t]
        norms.append(torch.linalg.matrix_norm(product, ord=ord))
    return torch.stack(norms[::-1])


def state_gradient_norms(net: RecurrentNet, x: torch.Tensor, ord: float | str = 2) -> torch.Tensor:
    """||d s_T / d s_k|| for k = 0, ..., T along one sequence ``x`` (T, input_size); length T + 1."""
    return jacobian_product_norms(step_jacobians(net, x), ord=ord)


LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def hidden_gradient_norms(
    net: RecurrentNet, x: torch.Tensor, y: torch.Tensor, loss_fn: LossFn | None = None, *, reduce: str = "mean"
) -> torch.Tensor:
    """||dL/dh_k|| for k = 0, ..., T from one backward pass through the unrolled network.

    L is ``loss_fn(net(x), y)`` (mean squared error by default), computed from the last
    hidden state. With ``reduce="mean"`` the result has length T + 1 and holds the mean over
    the batch of each sequence's gradient norm; with ``reduce="none"`` it has shape
    (batch, T + 1). Parameter gradients are not touched.
    """
    reduce = one_of("reduce", reduce, ("mean", "none"))
    if not isinstance(net, RecurrentNet):
        raise TypeError(f"net must be a gb.RecurrentNet (see gb.recurrent_net), got {type(net).__name__}")
    x = net._check_x(x)
    if not isinstance(y, torch.Tensor) or y.shape[0] != x.shape[0]:
        raise ValueError(f"y must be a tensor with one row per sequence ({x.shape[0]})")
    loss_fn = nn.functional.mse_loss if loss_fn is None else loss_fn
    with torch.enable_grad():
        start = net.initial_state(x.shape[0])
        start = tuple(s.requires_grad_(True) for s in start) if isinstance(start, tuple) else start.requires_grad_(True)
        hs = [net.hidden(s) for s in net.unroll(x, start)]
        loss = loss_fn(net.readout(hs[-1]), y)
        grads = torch.autograd.grad(loss, hs, allow_unused=True)
    norms = torch.stack([
        torch.zeros(x.shape[0], dtype=x.dtype) if g is None else g.detach().flatten(1).norm(dim=1) for g in grads
    ], dim=1)
    return norms.mean(dim=0) if reduce == "mean" else norms
