"""Recurrent networks and the gradient through time.

* :class:`RecurrentNet` - a recurrent layer (tanh, sigmoid or ReLU RNN, IRNN, LSTM, the
  forget-gate-free LSTM of 1997, or GRU) followed by a linear read-out of the last hidden
  state. Its :meth:`~RecurrentNet.step` writes the cell's equations out by hand, and
  :meth:`~RecurrentNet.unroll` runs them step by step, keeping every state, so the
  gradient can be read at every time step. :meth:`~RecurrentNet.forward` uses PyTorch's
  fused ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU`` (same weights, same numbers, much faster)
  wherever one exists.
* :func:`recurrent_net` - build one, with a seed and the initialisation the chapters use.
* :func:`net_jacobian` - d net_t / d net_{t-1} = W diag(f'(net_{t-1})) for a plain RNN.
* :func:`scaled_orthogonal` - a random orthogonal matrix scaled to a chosen largest
  singular value (every singular value equal), the recurrent matrix of chapter 7.
* :func:`step_jacobians` and :func:`jacobian_product_norms` - the Jacobian of every step,
  d s_t / d s_{t-1}, and the norms ||d s_T / d s_k|| for every k, computed in a single
  pass of Jacobian products from the end (not one backward pass per k).
* :func:`state_gradient_norms` - the two combined, for one sequence.
* :func:`hidden_gradient_norms` - ||dL/dh_k|| for every k from one backward pass.
* :func:`train` - a small training loop that records the loss and the gradient norm
  before any clipping, with optional clipping by norm or by value.

The state s_t is h_t for the plain RNNs and the GRU, and the pair (h_t, c_t) for the
LSTMs, flattened to one vector [h_t, c_t]. Introduced in chapter 7; chapters 8 and 9
use it too (the adding problem is in :mod:`gradbook.tasks`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import torch
from torch import nn

from ._validate import integer, one_of, real

__all__ = [
    "KINDS",
    "RecurrentNet",
    "hidden_gradient_norms",
    "jacobian_product_norms",
    "net_jacobian",
    "recurrent_net",
    "scaled_orthogonal",
    "state_gradient_norms",
    "step_jacobians",
    "train",
]

#: The recurrent cells :func:`recurrent_net` builds.
KINDS = ("tanh", "sigmoid", "relu", "irnn", "lstm", "lstm1997", "gru")

_PLAIN = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "irnn": torch.relu}
_FUSED = {"tanh", "relu", "irnn", "lstm", "gru"}  # kinds PyTorch has a fused implementation of

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]

# PyTorch initialises nn.RNN/LSTM/GRU from the global generator; a seeded build borrows it
# (fork_rng), so two threads building at once must take turns (see gradbook.parallel).
_SEEDED_BUILD = threading.Lock()


class RecurrentNet(nn.Module):
    """A one-layer recurrent network with a linear read-out of its last hidden state.

    The weights follow PyTorch's names and layout: ``rnn.weight_ih_l0`` (U, input to
    hidden), ``rnn.weight_hh_l0`` (W, hidden to hidden), ``rnn.bias_ih_l0`` and
    ``rnn.bias_hh_l0``, with the gates of the LSTM stacked in the order (input, forget,
    cell, output) and those of the GRU in the order (reset, update, new). The 1997 LSTM
    (``"lstm1997"``) has the LSTM's weights but no forget gate: c_t = c_{t-1} + i_t g_t.

    Inputs are batch first: ``x`` has shape (batch, time, input_size).
    """

    def __init__(self, kind: str, input_size: int, hidden_size: int, output_size: int = 1):
        super().__init__()
        self.kind = one_of("kind", kind, KINDS)
        self.input_size = integer("input_size", input_size, minimum=1)
        self.hidden_size = integer("hidden_size", hidden_size, minimum=1)
        self.output_size = integer("output_size", output_size, minimum=1)
        if kind in _PLAIN:
            nonlinearity = "relu" if kind in ("relu", "irnn") else "tanh"
            self.rnn = nn.RNN(input_size, hidden_size, nonlinearity=nonlinearity, batch_first=True)
        elif kind in ("lstm", "lstm1997"):
            self.rnn = nn.LSTM(input_size, hidden_size, batch_first=True)
        else:
            self.rnn = nn.GRU(input_size, hidden_size, batch_first=True)
        self.readout = nn.Linear(hidden_size, output_size)

    # -- the cell's equations, written out ---------------------------------------------------
    @property
    def has_cell_state(self) -> bool:
        """True for the LSTMs, whose state is the pair (h, c)."""
        return self.kind in ("lstm", "lstm1997")

    @property
    def state_size(self) -> int:
        """The length of the flattened state: hidden_size, or 2 hidden_size for an LSTM."""
        return 2 * self.hidden_size if self.has_cell_state else self.hidden_size

    def initial_state(self, batch: int) -> State:
        """The zero state for ``batch`` sequences."""
        weight = self.rnn.weight_hh_l0
        h = torch.zeros(batch, self.hidden_size, dtype=weight.dtype, device=weight.device)
        return (h, torch.zeros_like(h)) if self.has_cell_state else h

    def step(self, x_t: torch.Tensor, state: State) -> State:
        """One time step of the cell: the new state from the input ``x_t`` (batch, input_size)."""
        r = self.rnn
        W_ih, W_hh, b_ih, b_hh = r.weight_ih_l0, r.weight_hh_l0, r.bias_ih_l0, r.bias_hh_l0
        if self.kind in _PLAIN:  # h_t = f(U x_t + W h_{t-1} + b)
            return _PLAIN[self.kind](x_t @ W_ih.T + b_ih + state @ W_hh.T + b_hh)
        if self.has_cell_state:
            h, c = state
            i, f, g, o = (x_t @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=-1)
            i, o, g = torch.sigmoid(i), torch.sigmoid(o), torch.tanh(g)
            c = c + i * g if self.kind == "lstm1997" else torch.sigmoid(f) * c + i * g
            return o * torch.tanh(c), c
        # GRU (PyTorch's convention, as Cho et al. 2014): h_t = z h_{t-1} + (1 - z) n_t
        gi_r, gi_z, gi_n = (x_t @ W_ih.T + b_ih).chunk(3, dim=-1)
        gh_r, gh_z, gh_n = (state @ W_hh.T + b_hh).chunk(3, dim=-1)
        reset, update = torch.sigmoid(gi_r + gh_r), torch.sigmoid(gi_z + gh_z)
        new = torch.tanh(gi_n + reset * gh_n)
        return update * state + (1 - update) * new

    def unroll(self, x: torch.Tensor, state: State | None = None) -> list[State]:
        """Every state s_0, s_1, ..., s_T of the sequences ``x`` (batch, T, input_size), by :meth:`step`."""
        x = self._check_x(x)
        states = [self.initial_state(x.shape[0]) if state is None else state]
        for t in range(x.shape[1]):
            states.append(self.step(x[:, t], states[-1]))
        return states

    @staticmethod
    def hidden(state: State) -> torch.Tensor:
        """The hidden vector h of a state (the state itself, or h of the pair (h, c))."""
        return state[0] if isinstance(state, tuple) else state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The read-out of the last hidden state, shape (batch, output_size)."""
        x = self._check_x(x)
        if self.kind in _FUSED:
            out, _ = self.rnn(x)
            return self.readout(out[:, -1])
        return self.readout(self.hidden(self.unroll(x)[-1]))

    def _check_x(self, x) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim != 3 or not x.dtype.is_floating_point:
            raise ValueError("x must be a floating-point tensor of shape (batch, time, input_size)")
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"x must hold at least one sequence of at least one step, got shape {tuple(x.shape)}")
        if x.shape[2] != self.input_size:
            raise ValueError(f"x has {x.shape[2]} input features per step but the network expects {self.input_size}")
        if x.dtype != self.rnn.weight_hh_l0.dtype:
            raise ValueError(f"x has dtype {x.dtype} but the network's weights have dtype "
                             f"{self.rnn.weight_hh_l0.dtype}; convert one of them")
        return x

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}"


def recurrent_net(
    kind: str,
    input_size: int,
    hidden_size: int,
    output_size: int = 1,
    *,
    recurrent_scale: float | None = None,
    forget_bias: float | None = None,
    seed: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> RecurrentNet:
    """Build a :class:`RecurrentNet` of one of :data:`KINDS`.

    Every weight starts from PyTorch's default, U(-1/sqrt(hidden), 1/sqrt(hidden)), except:

    * ``"irnn"`` (Le, Jaitly & Hinton 2015): a ReLU RNN whose recurrent matrix is the
      identity and whose biases are zero;
    * ``recurrent_scale``: for the plain RNNs, the recurrent matrix W becomes a random
      orthogonal matrix times ``recurrent_scale``, so all its singular values equal it
      (:func:`scaled_orthogonal`); not allowed for the gated cells;
    * ``forget_bias``: for ``"lstm"``, the forget gate's bias (b_ih + b_hh) is set to this
      value, the usual trick (Gers et al. 2000; Jozefowicz et al. 2015) to start with
      a forget gate near 1.

    ``seed`` makes the weights repeatable without touching the global generator, also when
    several threads build networks at once.
    """
    kind = one_of("kind", kind, KINDS)
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    if recurrent_scale is not None:
        recurrent_scale = real("recurrent_scale", recurrent_scale, positive=True)
        if kind not in ("tanh", "sigmoid", "relu"):
            raise ValueError(f"recurrent_scale applies to the plain RNNs (tanh, sigmoid, relu), not to {kind!r}")
    if forget_bias is not None:
        forget_bias = real("forget_bias", forget_bias)
        if kind != "lstm":
            raise ValueError(f"forget_bias applies to kind 'lstm' only, not to {kind!r}")
    if seed is not None:
        seed = integer("seed", seed, minimum=0, maximum=2**63 - 1)
    with _SEEDED_BUILD if seed is not None else contextlib.nullcontext(), \
            torch.random.fork_rng(enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        net = RecurrentNet(kind, input_size, hidden_size, output_size).to(dtype)
        with torch.no_grad():
            if kind == "irnn":
                net.rnn.weight_hh_l0.copy_(torch.eye(hidden_size, dtype=dtype))
                net.rnn.bias_ih_l0.zero_()
                net.rnn.bias_hh_l0.zero_()
            if recurrent_scale is not None:
                net.rnn.weight_hh_l0.copy_(scaled_orthogonal(hidden_size, recurrent_scale, dtype=dtype))
            if forget_bias is not None:
                n = hidden_size
                net.rnn.bias_ih_l0[n:2 * n] = 0.0
                net.rnn.bias_hh_l0[n:2 * n] = forget_bias
    return net


def scaled_orthogonal(
    n: int, largest_singular_value: float, *, seed: int | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """A random n x n orthogonal matrix (Haar distributed) times ``largest_singular_value``.

    All n singular values equal ``largest_singular_value``, so ||W h|| = that value times ||h||
    for every h: the cleanest case of Pascanu et al.'s conditions.
    """
    n = integer("n", n, minimum=1)
    scale = real("largest_singular_value", largest_singular_value, positive=True)
    gen = None
    if seed is not None:
        gen = torch.Generator().manual_seed(integer("seed", seed, minimum=0, maximum=2**63 - 1))
    A = torch.randn(n, n, generator=gen, dtype=torch.float64)
    Q, R = torch.linalg.qr(A)
    Q = Q * torch.sign(torch.diagonal(R))  # the sign fix that makes Q Haar distributed
    return (scale * Q).to(dtype)


_DERIVATIVES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": lambda z: 1 - torch.tanh(z) ** 2,
    "sigmoid": lambda z: torch.sigmoid(z) * (1 - torch.sigmoid(z)),
    "relu": lambda z: (z > 0).to(z.dtype),
    "identity": torch.ones_like,
}


def net_jacobian(W: torch.Tensor, net_prev: torch.Tensor, activation: str = "tanh") -> torch.Tensor:
    """d net_t / d net_{t-1} = W diag(f'(net_{t-1})) for net_t = U x_t + W f(net_{t-1}) + b.

    ``W`` is the (n, n) recurrent matrix and ``net_prev`` the pre-activation at the previous
    step, shape (n,) or (batch, n); the result has shape (n, n) or (batch, n, n).
    """
    activation = one_of("activation", activation, _DERIVATIVES)
    if not isinstance(W, torch.Tensor) or W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError("W must be a square matrix (a 2-D tensor of shape (n, n))")
    if not isinstance(net_prev, torch.Tensor) or net_prev.ndim not in (1, 2) or net_prev.shape[-1] != W.shape[0]:
        raise ValueError(f"net_prev must be a tensor of shape ({W.shape[0]},) or (batch, {W.shape[0]})")
    return W * _DERIVATIVES[activation](net_prev).unsqueeze(-2)  # scales column j by f'(net_j)


def _check_sequence(net: RecurrentNet, x) -> torch.Tensor:
    if not isinstance(net, RecurrentNet):
        raise TypeError(f"net must be a gb.recurrent.RecurrentNet (see recurrent_net), got {type(net).__name__}")
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
        # gradient of output i, because the copies do not interact.
        with torch.enable_grad():
            copies = s.expand(d, d).clone().requires_grad_(True)
            (rows,) = torch.autograd.grad(step(copies, x[t]), copies, grad_outputs=eye)
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
        raise TypeError(f"net must be a gb.recurrent.RecurrentNet (see recurrent_net), got {type(net).__name__}")
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


def _batches(make_batch) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    while True:
        yield make_batch()


def train(
    net: nn.Module,
    make_batch: Callable[[], tuple[torch.Tensor, torch.Tensor]],
    steps: int,
    *,
    lr: float,
    optimizer: str = "adam",
    clip_norm: float | None = None,
    clip_value: float | None = None,
    loss_fn: LossFn | None = None,
) -> dict[str, torch.Tensor]:
    """Train ``net`` for ``steps`` steps on batches from ``make_batch()``; return the history.

    ``optimizer`` is ``"sgd"`` or ``"adam"``. With ``clip_norm`` the whole gradient is
    rescaled to that norm when it is longer (Pascanu et al. 2013, Algorithm 1); with
    ``clip_value`` each entry is clipped to [-clip_value, clip_value]. The history holds
    ``"loss"`` and ``"grad_norm"`` (the norm *before* clipping), one float64 entry per step.
    A non-finite loss stops nothing: it is recorded, and the caller decides what it means.
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}")
    if not callable(make_batch):
        raise TypeError("make_batch must be a function that returns a batch (x, y)")
    steps = integer("steps", steps, minimum=1)
    lr = real("lr", lr, positive=True)
    optimizer = one_of("optimizer", optimizer, ("sgd", "adam"))
    if clip_norm is not None and clip_value is not None:
        raise ValueError("give clip_norm or clip_value, not both")
    if clip_norm is not None:
        clip_norm = real("clip_norm", clip_norm, positive=True)
    if clip_value is not None:
        clip_value = real("clip_value", clip_value, positive=True)
    loss_fn = nn.functional.mse_loss if loss_fn is None else loss_fn
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=lr) if optimizer == "sgd" else torch.optim.Adam(params, lr=lr)
    losses = torch.empty(steps, dtype=torch.float64)
    norms = torch.empty(steps, dtype=torch.float64)
    batches = _batches(make_batch)
    for step in range(steps):
        x, y = next(batches)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        grads = [p.grad for p in params if p.grad is not None]
        norms[step] = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.double()) for g in grads]))
        losses[step] = float(loss.detach())
        if clip_norm is not None:
            nn.utils.clip_grad_norm_(params, clip_norm)
        elif clip_value is not None:
            nn.utils.clip_grad_value_(params, clip_value)
        opt.step()
    return {"loss": losses, "grad_norm": norms}
