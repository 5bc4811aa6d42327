"""Recurrent networks: the cells written out, and the networks the chapters build from them.

* :class:`RecurrentNet` - a recurrent layer (tanh, sigmoid or ReLU RNN, IRNN, LSTM, the
  forget-gate-free LSTM of 1997, or GRU) followed by a linear read-out of the last hidden
  state. Its :meth:`~RecurrentNet.step` writes the cell's equations out by hand, and
  :meth:`~RecurrentNet.unroll` runs them step by step, keeping every state, so the
  gradient can be read at every time step (:mod:`gradbook.through_time`).
  :meth:`~RecurrentNet.forward` uses PyTorch's fused ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU``
  (same weights, same numbers, much faster) wherever one exists.
* :func:`recurrent_net` - build one, drawn from its own ``torch.Generator`` when given a
  seed, with the initialisations the chapters use.
* :func:`scaled_orthogonal` - a random orthogonal matrix scaled to a chosen largest
  singular value (every singular value equal), the recurrent matrix of chapter 7.

The state s_t is h_t for the plain RNNs and the GRU, and the pair (h_t, c_t) for the
LSTMs. Introduced in chapter 7; chapters 8 and 9 use it too.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._validate import float_dtype, float_tensor, generator, integer, one_of, real
from .models import materialise

__all__ = ["KINDS", "RecurrentNet", "recurrent_net", "scaled_orthogonal"]

#: The recurrent cells :func:`recurrent_net` builds.
KINDS = ("tanh", "sigmoid", "relu", "irnn", "lstm", "lstm1997", "gru")

_PLAIN = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "irnn": torch.relu}
_FUSED = {"tanh", "relu", "irnn", "lstm", "gru"}  # kinds PyTorch has a fused implementation of

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


class RecurrentNet(nn.Module):
    """A one-layer recurrent network with a linear read-out of its last hidden state.

    The weights follow PyTorch's names and layout: ``rnn.weight_ih_l0`` (U, input to
    hidden), ``rnn.weight_hh_l0`` (W, hidden to hidden), ``rnn.bias_ih_l0`` and
    ``rnn.bias_hh_l0``, with the gates of the LSTM stacked in the order (input, forget,
    cell, output) and those of the GRU in the order (reset, update, new). The 1997 LSTM
    (``"lstm1997"``) has the LSTM's weights but no forget gate: c_t = c_{t-1} + i_t g_t.

    Inputs are batch first: ``x`` has shape (batch, time, input_size). Built directly,
    the weights get PyTorch's default initialisation from the global generator;
    :func:`recurrent_net` builds with a seed of its own. ``device`` and ``dtype`` are
    passed to the submodules, as PyTorch's own modules take them.
    """

    def __init__(self, kind: str, input_size: int, hidden_size: int, output_size: int = 1, *,
                 device=None, dtype=None):
        super().__init__()
        self.kind = one_of("kind", kind, KINDS)
        self.input_size = integer("input_size", input_size, minimum=1)
        self.hidden_size = integer("hidden_size", hidden_size, minimum=1)
        self.output_size = integer("output_size", output_size, minimum=1)
        where = {"device": device, "dtype": dtype}
        if kind in _PLAIN:
            nonlinearity = "relu" if kind in ("relu", "irnn") else "tanh"
            self.rnn = nn.RNN(input_size, hidden_size, nonlinearity=nonlinearity, batch_first=True, **where)
        elif kind in ("lstm", "lstm1997"):
            self.rnn = nn.LSTM(input_size, hidden_size, batch_first=True, **where)
        else:
            self.rnn = nn.GRU(input_size, hidden_size, batch_first=True, **where)
        self.readout = nn.Linear(hidden_size, output_size, **where)

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
        float_tensor("x", x, ndim=3, shape="(batch, time, input_size)")
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


def _pytorch_default(net: RecurrentNet, gen: torch.Generator | None) -> None:
    """PyTorch's own initialisation of ``net`` (``nn.RNNBase`` and ``nn.Linear``'s
    ``reset_parameters``, in their order), drawn from ``gen`` (or the global generator)."""
    stdv = 1.0 / math.sqrt(net.hidden_size)
    with torch.no_grad():
        for weight in net.rnn.parameters():
            nn.init.uniform_(weight, -stdv, stdv, generator=gen)
        nn.init.kaiming_uniform_(net.readout.weight, a=math.sqrt(5), generator=gen)
        bound = 1.0 / math.sqrt(net.hidden_size)
        nn.init.uniform_(net.readout.bias, -bound, bound, generator=gen)


def recurrent_net(
    kind: str,
    input_size: int,
    hidden_size: int,
    output_size: int = 1,
    *,
    recurrent_scale: float | None = None,
    forget_bias: float | None = None,
    seed: int | torch.Generator | None = None,
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

    ``seed`` (a seed or a ``torch.Generator``) draws every weight from its own generator,
    leaving the global one untouched, so networks built in several threads at once are
    repeatable; without it they come from the global generator. The numbers are those
    PyTorch's constructors draw (in their order, in float32, then converted to ``dtype``):
    with ``seed=s`` the network equals one built after ``torch.manual_seed(s)``.
    """
    kind = one_of("kind", kind, KINDS)
    float_dtype("dtype", dtype)
    if recurrent_scale is not None:
        recurrent_scale = real("recurrent_scale", recurrent_scale, positive=True)
        if kind not in ("tanh", "sigmoid", "relu"):
            raise ValueError(f"recurrent_scale applies to the plain RNNs (tanh, sigmoid, relu), not to {kind!r}")
    if forget_bias is not None:
        forget_bias = real("forget_bias", forget_bias)
        if kind != "lstm":
            raise ValueError(f"forget_bias applies to kind 'lstm' only, not to {kind!r}")
    gen = generator(seed)
    # Built on the meta device: no memory, and no draw from the global generator.
    net = materialise(RecurrentNet(kind, input_size, hidden_size, output_size, device="meta"))
    _pytorch_default(net, gen)
    net = net.to(dtype)
    with torch.no_grad():
        if kind == "irnn":
            net.rnn.weight_hh_l0.copy_(torch.eye(hidden_size, dtype=dtype))
            net.rnn.bias_ih_l0.zero_()
            net.rnn.bias_hh_l0.zero_()
        if recurrent_scale is not None:
            net.rnn.weight_hh_l0.copy_(scaled_orthogonal(hidden_size, recurrent_scale, seed=gen, dtype=dtype))
        if forget_bias is not None:
            n = hidden_size
            net.rnn.bias_ih_l0[n:2 * n] = 0.0
            net.rnn.bias_hh_l0[n:2 * n] = forget_bias
    return net


def scaled_orthogonal(
    n: int, largest_singular_value: float, *, seed: int | torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """A random n x n orthogonal matrix (Haar distributed) times ``largest_singular_value``.

    All n singular values equal ``largest_singular_value``, so ||W h|| = that value times ||h||
    for every h: the cleanest case of Pascanu et al.'s conditions. ``seed`` is a seed or a
    ``torch.Generator`` (default: the global generator).
    """
    n = integer("n", n, minimum=1)
    scale = real("largest_singular_value", largest_singular_value, positive=True)
    float_dtype("dtype", dtype)
    A = torch.randn(n, n, generator=generator(seed), dtype=torch.float64)
    Q, R = torch.linalg.qr(A)
    Q = Q * torch.sign(torch.diagonal(R))  # the sign fix that makes Q Haar distributed
    return (scale * Q).to(dtype)
