"""Stacked recurrent networks: many small RNNs, LSTMs or GRUs of one shape, trained side by side.

The recurrent counterpart of :class:`gradbook.StackedMLP`. :class:`StackedRNN` holds
``members`` networks of one kind and size (each a :class:`gradbook.RecurrentNet`: one
recurrent layer and a linear read-out of the last hidden state) in tensors with a
leading member dimension, and runs one ``torch.baddbmm`` per time step for all of them.
It is built from ordinary networks (:meth:`StackedRNN.from_nets`, for example those
:func:`gradbook.recurrent_net` draws), so its members start exactly where those networks
start, and :meth:`StackedRNN.member` gives one back as a :class:`gradbook.RecurrentNet`.
:func:`gradbook.fit_stacked` and :func:`gradbook.stacked_accuracy` train and score it as
they do a stacked MLP, with a learning rate, a penalty, clipping and label smoothing per
member.

Each member can also be trained by truncated backpropagation through time: with
``truncate=k`` the gradient flows back through the last k steps only (the state before
them is detached), as when a long sequence is cut into windows of k steps
(Williams & Peng 1990). ``tests/unit/test_stacked_rnn.py`` checks outputs and gradients
member by member against :class:`gradbook.RecurrentNet` (PyTorch's fused layers) and
the truncation against an explicit detach. Introduced in chapter 8 (thirty latching runs
as one network, on fresh batches of the task); chapter 12 compares remedies with it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._validate import float_tensor, integer, one_of
from .models import materialise
from .rnn import RecurrentNet

__all__ = ["STACKED_KINDS", "StackedRNN"]

#: The recurrent cells a :class:`StackedRNN` can hold (gates per cell in brackets):
#: tanh and ReLU RNNs (1; the IRNN is a ReLU RNN with its own start), LSTM (4), GRU (3).
STACKED_KINDS = ("tanh", "relu", "irnn", "lstm", "gru")

_GATES = {"tanh": 1, "relu": 1, "irnn": 1, "lstm": 4, "gru": 3}


def _tanh(z: torch.Tensor) -> torch.Tensor:
    """tanh(z) as 2 sigmoid(2z) - 1: the same function, and on the CPU builds the book
    uses about five times faster than ``torch.tanh``, whose kernel is ten times slower
    than the sigmoid's (measured: ``tests/unit/test_stacked_rnn.py`` checks the values)."""
    return torch.sigmoid(2 * z).mul(2).sub(1)


class StackedRNN(nn.Module):
    """``members`` recurrent networks of one kind and size, run as one computation.

    Build it with :meth:`from_nets`. ``forward`` takes sequences ``x`` of shape
    ``(batch, time, input_size)`` (every member reads the same batch) or
    ``(members, batch, time, input_size)`` and returns the read-out of each member's last
    hidden state, ``(members, batch, output_size)``. The parameters are PyTorch's, stacked
    and transposed: ``weight_ih`` ``(members, input_size, gates * hidden)``, ``weight_hh``
    ``(members, hidden, gates * hidden)``, ``bias_ih`` and ``bias_hh``
    ``(members, 1, gates * hidden)``, ``weight_out`` ``(members, hidden, output_size)``
    and ``bias_out`` ``(members, 1, output_size)``, gates in PyTorch's order.
    :attr:`weights` lists the three weight matrices (what a penalty acts on).

    ``truncate`` is None (full backpropagation through time) or, per member, None or a
    window k >= 1: the state that enters the last k steps is detached, so no gradient
    reaches earlier states, inputs or uses of the weights.
    """

    def __init__(self, kind: str, members: int, input_size: int, hidden_size: int, output_size: int, *,
                 truncate: int | None | Sequence[int | None] = None, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.kind = one_of("kind", kind, STACKED_KINDS)
        self.members = integer("members", members, minimum=1)
        self.input_size = integer("input_size", input_size, minimum=1)
        self.hidden_size = integer("hidden_size", hidden_size, minimum=1)
        self.output_size = integer("output_size", output_size, minimum=1)
        g = _GATES[kind] * hidden_size
        m = self.members

        def blank(*shape):
            return nn.Parameter(torch.zeros(m, *shape, dtype=dtype))

        self.weight_ih, self.weight_hh = blank(input_size, g), blank(hidden_size, g)
        self.bias_ih, self.bias_hh = blank(1, g), blank(1, g)
        self.weight_out, self.bias_out = blank(hidden_size, output_size), blank(1, output_size)
        windows = [truncate] * m if truncate is None or isinstance(truncate, int) else list(truncate)
        if len(windows) != m:
            raise ValueError(f"truncate must be None, one window or one per member ({m}), got {len(windows)}")
        self.truncate = tuple(None if k is None else integer("truncate", k, minimum=1) for k in windows)

    @classmethod
    def from_nets(cls, nets: Sequence[RecurrentNet], *,
                  truncate: int | None | Sequence[int | None] = None) -> StackedRNN:
        """Stack copies of the parameters of ``nets`` (all of one kind, size and dtype)."""
        nets = list(nets)
        if not nets or not all(isinstance(n, RecurrentNet) for n in nets):
            raise TypeError("nets must be a non-empty sequence of gb.RecurrentNet (for example from gb.recurrent_net)")
        first = nets[0]
        if first.kind not in STACKED_KINDS:
            raise ValueError(f"a StackedRNN holds kinds {STACKED_KINDS}, not {first.kind!r}")
        shape = (first.kind, first.input_size, first.hidden_size, first.output_size, first.rnn.weight_hh_l0.dtype)
        for i, n in enumerate(nets):
            other = (n.kind, n.input_size, n.hidden_size, n.output_size, n.rnn.weight_hh_l0.dtype)
            if other != shape:
                raise ValueError(f"every net must have the kind, sizes and dtype of nets[0] {shape}; "
                                 f"nets[{i}] has {other}")
        kind = "relu" if first.kind == "irnn" else first.kind
        net = cls(kind, len(nets), *shape[1:4], truncate=truncate, dtype=shape[4])
        with torch.no_grad():
            for i, n in enumerate(nets):
                r = n.rnn
                net.weight_ih[i] = r.weight_ih_l0.T
                net.weight_hh[i] = r.weight_hh_l0.T
                net.bias_ih[i, 0] = r.bias_ih_l0
                net.bias_hh[i, 0] = r.bias_hh_l0
                net.weight_out[i] = n.readout.weight.T
                net.bias_out[i, 0] = n.readout.bias
        return net

    @property
    def weights(self) -> list[torch.Tensor]:
        """The weight matrices (input, recurrent, read-out), without the biases."""
        return [self.weight_ih, self.weight_hh, self.weight_out]

    def member(self, i: int) -> RecurrentNet:
        """Member ``i`` as a :class:`gradbook.RecurrentNet` with copies of its parameters."""
        i = integer("i", i, minimum=0, maximum=self.members - 1)
        dtype = self.weight_hh.dtype
        net = materialise(RecurrentNet(self.kind, self.input_size, self.hidden_size,
                                       self.output_size, device="meta")).to(dtype)
        with torch.no_grad():
            r = net.rnn
            r.weight_ih_l0.copy_(self.weight_ih[i].T)
            r.weight_hh_l0.copy_(self.weight_hh[i].T)
            r.bias_ih_l0.copy_(self.bias_ih[i, 0])
            r.bias_hh_l0.copy_(self.bias_hh[i, 0])
            net.readout.weight.copy_(self.weight_out[i].T)
            net.readout.bias.copy_(self.bias_out[i, 0])
        return net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        float_tensor("x", x, ndim=(3, 4), shape="(batch, time, input_size) or (members, batch, time, input_size)")
        m, h_size = self.members, self.hidden_size
        if x.ndim == 3:
            x = x.unsqueeze(0)
        if x.ndim != 4 or x.shape[0] not in (1, m) or x.shape[3] != self.input_size or 0 in x.shape:
            raise ValueError(f"x must have shape (batch, time, {self.input_size}) or ({m}, batch, time, "
                             f"{self.input_size}) with batch and time >= 1, got {tuple(x.shape)}")
        if x.dtype != self.weight_hh.dtype:
            raise ValueError(f"x has dtype {x.dtype} but the network's weights have dtype {self.weight_hh.dtype}")
        batch, steps = x.shape[1], x.shape[2]
        # The input projection step by step, inside the loop: a projection of the whole
        # sequence at once is a large temporary per training step, slower to allocate and
        # fill than the small per-step products are to call.
        xs = [x_t.expand(m, -1, -1) for x_t in x.unbind(2)]  # (members, batch, input) each
        gated_reset = self.kind == "gru"  # the GRU's b_hh sits inside r * (W h + b_hh)
        bias = self.bias_ih if gated_reset else self.bias_ih + self.bias_hh
        cut = {}  # time step -> members whose window starts there
        for i, k in enumerate(self.truncate):
            if k is not None and k < steps:
                cut.setdefault(steps - k, []).append(i)
        h = x.new_zeros(m, batch, h_size)
        c = torch.zeros_like(h) if self.kind == "lstm" else None
        if c is not None:
            doubled = torch.ones(4 * h_size, dtype=x.dtype)
            doubled[2 * h_size : 3 * h_size] = 2.0
        for t in range(steps):
            if t in cut:
                mask = torch.zeros(m, 1, 1, dtype=torch.bool)
                mask[cut[t]] = True
                h = torch.where(mask, h.detach(), h)
                if c is not None:
                    c = torch.where(mask, c.detach(), c)
            gi = torch.baddbmm(bias, xs[t], self.weight_ih)  # U x_t + b
            if gated_reset:  # GRU, PyTorch's convention: h = z h + (1 - z) n
                gh = torch.baddbmm(self.bias_hh, h, self.weight_hh)
                r, z = torch.sigmoid(gi[..., : 2 * h_size] + gh[..., : 2 * h_size]).chunk(2, dim=-1)
                h = z * h + (1 - z) * _tanh(gi[..., 2 * h_size :] + r * gh[..., 2 * h_size :])
                continue
            pre = torch.baddbmm(gi, h, self.weight_hh) if t else gi  # U x_t + b + W h_{t-1}
            if self.kind == "tanh":
                h = _tanh(pre)
            elif self.kind == "relu":
                h = torch.relu(pre)
            else:  # LSTM, gates (input, forget, cell, output); one sigmoid for all four,
                # the cell gate's input doubled so that 2 sigmoid(2 g) - 1 = tanh(g)
                i_, f_, g_, o_ = torch.sigmoid(pre * doubled).chunk(4, dim=-1)
                c = i_ * (2 * g_ - 1) + (f_ * c if t else 0)
                h = o_ * _tanh(c)
        return torch.baddbmm(self.bias_out, h, self.weight_out)

    def extra_repr(self) -> str:
        windows = "" if all(k is None for k in self.truncate) else f", truncate={self.truncate}"
        return (f"kind={self.kind!r}, members={self.members}, input_size={self.input_size}, "
                f"hidden_size={self.hidden_size}, output_size={self.output_size}{windows}")
