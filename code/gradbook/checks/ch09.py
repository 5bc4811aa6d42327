"""Checks for chapter 9's coding exercises (LSTM and GRU): one step of each cell.

The reference is PyTorch's own ``nn.LSTMCell`` and ``nn.GRUCell``, loaded with the same
weights, so a reader's step is compared with an implementation written independently of
``gb.RecurrentNet``; the reader's step may not call them, nor the package's cells
(:data:`FORBIDDEN_LSTM`, :data:`FORBIDDEN_GRU`). Both checks use PyTorch's weight layout:
the gates are stacked in the rows of ``W_ih`` (input to hidden), ``W_hh`` (hidden to
hidden) and the two biases, in the order (input, forget, cell, output) for the LSTM and
(reset, update, new) for the GRU.
"""

from __future__ import annotations

import torch
from torch import nn

from .._validate import generator
from ._common import _as_float64, _call, _compare, _fail, _pass, _require_callable

__all__ = ["check_gru_step", "check_lstm_step"]

F64 = torch.float64
_SIZES = ((1, 3, 4), (5, 2, 3), (7, 6, 8))  # (batch, input_size, hidden_size); batch 1 on purpose

#: The package's cells, written out (``RecurrentNet.step``) or batched (``StackedRNN``).
_PACKAGE_CELLS = ("gradbook.RecurrentNet.step", "gradbook.StackedRNN.forward")
#: What the reader's LSTM step may not call (the exercise says so); the check enforces it.
FORBIDDEN_LSTM = (*_PACKAGE_CELLS, "torch.nn.LSTMCell.forward", "torch.nn.LSTM.forward", "torch.lstm_cell",
                  "torch._VF.lstm_cell", "torch.lstm", "torch._VF.lstm",
                  "gradbook.checks.ch09._lstm_variant")  # with its defaults, the right step
#: What the reader's GRU step may not call.
FORBIDDEN_GRU = (*_PACKAGE_CELLS, "torch.nn.GRUCell.forward", "torch.nn.GRU.forward", "torch.gru_cell",
                 "torch._VF.gru_cell", "torch.gru", "torch._VF.gru",
                 "gradbook.checks.ch09._gru_variant")  # with its defaults, the right step


def _weights(cell: nn.Module) -> tuple[torch.Tensor, ...]:
    return tuple(p.detach().clone() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh))


def _random_sizes(seed: int):
    """Four (batch, input_size, hidden_size, weight scale) drawn from ``seed``, the first of batch size 1."""
    gen = generator(seed)

    def randint(low, high):
        return int(torch.randint(low, high + 1, (), generator=gen))

    sizes = [(1 if k == 0 else randint(2, 8), randint(1, 6), randint(1, 8),
              float(torch.empty((), dtype=F64).uniform_(0.5, 1.5, generator=gen))) for k in range(4)]
    return gen, sizes


def _lstm_case(gen, batch, n_in, n_h, what, scale=1.0):
    """(description, inputs, (h_new, c_new)) with the reference from nn.LSTMCell."""
    with torch.random.fork_rng():  # the cell's default init must not move the reader's generator
        cell = nn.LSTMCell(n_in, n_h, dtype=F64)
    with torch.no_grad():  # weights of order 1, so every gate matters and none is saturated
        for p in cell.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=F64) * scale)
    x = torch.randn(batch, n_in, generator=gen, dtype=F64)
    h = torch.randn(batch, n_h, generator=gen, dtype=F64).tanh()
    c = 2 * torch.randn(batch, n_h, generator=gen, dtype=F64)
    with torch.no_grad():
        h_new, c_new = cell(x, (h, c))
    return what, (x, h, c, *_weights(cell)), (h_new, c_new)


def _lstm_cases(seed: int | None = None):
    """The three documented cases, or with ``seed`` four fresh ones (what a grader runs)."""
    if seed is None:
        gen = torch.Generator().manual_seed(9)
        return [_lstm_case(gen, batch, n_in, n_h, f"batch {batch}, {n_in} inputs, {n_h} hidden units")
                for batch, n_in, n_h in _SIZES]
    gen, sizes = _random_sizes(seed)
    return [_lstm_case(gen, batch, n_in, n_h, f"random case {k + 1} (batch {batch}, {n_in} inputs, "
                                              f"{n_h} hidden units)", scale)
            for k, (batch, n_in, n_h, scale) in enumerate(sizes)]


def _lstm_variant(x, h, c, W_ih, W_hh, b_ih, b_hh, *, order="ifgo", hh_bias=True, forget=True, squash=True):
    """A common wrong LSTM step, for hints: another gate order, a missing bias, and so on."""
    pre = x @ W_ih.T + b_ih + h @ W_hh.T + (b_hh if hh_bias else 0)
    gates = dict(zip(order, pre.chunk(4, dim=1), strict=True))
    i, f, o, g = (torch.sigmoid(gates["i"]), torch.sigmoid(gates["f"]),
                  torch.sigmoid(gates["o"]), torch.tanh(gates["g"]))
    c_new = (f * c if forget else c) + i * g
    return o * (torch.tanh(c_new) if squash else c_new), c_new


_LSTM_HINTS = (
    (dict(order="ifog"), "PyTorch stacks the gates in the order input, forget, cell (g), output"),
    (dict(order="fiog"), "PyTorch stacks the gates in the order input, forget, cell (g), output"),
    (dict(hh_bias=False), "the pre-activations use both biases, b_ih and b_hh"),
    (dict(forget=False), "that is the 1997 cell: the modern cell multiplies c_{t-1} by the forget gate"),
    (dict(squash=False), "h_t = o_t * tanh(c_t): the cell state is squashed before the output gate"),
)


def _as_pair(got):
    if isinstance(got, torch.Tensor) or not isinstance(got, tuple | list) or len(got) != 2:
        return None, "return the pair (h_new, c_new)"
    h_new, err = _as_float64(got[0], "h_new")
    if err is None:
        c_new, err = _as_float64(got[1], "c_new")
    return (None, err) if err else ((h_new, c_new), None)


def check_lstm_step(fn, *, seed: int | None = None) -> bool:
    """Chapter 9: ``fn(x, h, c, W_ih, W_hh, b_ih, b_hh)`` must return one LSTM step ``(h_new, c_new)``.

    ``x`` has shape (batch, input_size), ``h`` and ``c`` (batch, hidden_size); ``W_ih``
    (4 hidden_size, input_size), ``W_hh`` (4 hidden_size, hidden_size) and the biases
    (4 hidden_size,) hold the gates in PyTorch's order (input, forget, cell, output). The
    answer is compared with ``torch.nn.LSTMCell`` on three cases, one of batch size 1; ``fn``
    may not call :data:`FORBIDDEN_LSTM` (PyTorch's LSTM layers and cells, the package's
    cells). With ``seed`` (an int) it runs on four fresh random cases drawn from that seed
    (random sizes and weights, the first of batch size 1) instead.
    """
    _require_callable(fn, "fn(x, h, c, W_ih, W_hh, b_ih, b_hh)")
    cases = _lstm_cases(seed)
    for what, args, (h_ref, c_ref) in cases:
        got, err = _call(fn, *(a.clone() for a in args), forbid=FORBIDDEN_LSTM)
        if err is None:
            got, err = _as_pair(got)
        if err is None:
            h_new, c_new = got
            if (h_new.shape, c_new.shape) == (c_ref.shape, h_ref.shape) and torch.allclose(h_new, c_ref):
                err = "you returned (c_new, h_new); return (h_new, c_new)"
            else:
                err = _compare(c_new, c_ref, "c_new") or _compare(h_new, h_ref, "h_new")
            if err:
                for kwargs, hint in _LSTM_HINTS:
                    h_alt, c_alt = _lstm_variant(*args, **kwargs)
                    if ((h_new.shape, c_new.shape) == (h_alt.shape, c_alt.shape)
                            and torch.allclose(h_new, h_alt) and torch.allclose(c_new, c_alt)):
                        err += f" (hint: {hint})"
                        break
        if err:
            return _fail(f"{what}: {err}.")
    return _pass(f"your LSTM step matches torch.nn.LSTMCell on all {len(cases)} cases, batch size 1 included.")


def _gru_case(gen, batch, n_in, n_h, what, scale=1.0):
    """(description, inputs, h_new) with the reference from nn.GRUCell."""
    with torch.random.fork_rng():
        cell = nn.GRUCell(n_in, n_h, dtype=F64)
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=F64) * scale)
    x = torch.randn(batch, n_in, generator=gen, dtype=F64)
    h = torch.randn(batch, n_h, generator=gen, dtype=F64).tanh()
    with torch.no_grad():
        h_new = cell(x, h)
    return what, (x, h, *_weights(cell)), h_new


def _gru_cases(seed: int | None = None):
    """The three documented cases, or with ``seed`` four fresh ones."""
    if seed is None:
        gen = torch.Generator().manual_seed(19)
        return [_gru_case(gen, batch, n_in, n_h, f"batch {batch}, {n_in} inputs, {n_h} hidden units")
                for batch, n_in, n_h in _SIZES]
    gen, sizes = _random_sizes(seed)
    return [_gru_case(gen, batch, n_in, n_h, f"random case {k + 1} (batch {batch}, {n_in} inputs, "
                                             f"{n_h} hidden units)", scale)
            for k, (batch, n_in, n_h, scale) in enumerate(sizes)]


def _gru_variant(x, h, W_ih, W_hh, b_ih, b_hh, *, order="rzn", hh_bias=True, reset_first=False, swap_z=False):
    """A common wrong GRU step, for hints."""
    b_hh = b_hh if hh_bias else torch.zeros_like(b_hh)
    gi = dict(zip(order, (x @ W_ih.T + b_ih).chunk(3, dim=1), strict=True))
    gh = dict(zip(order, (h @ W_hh.T + b_hh).chunk(3, dim=1), strict=True))
    r, z = torch.sigmoid(gi["r"] + gh["r"]), torch.sigmoid(gi["z"] + gh["z"])
    if reset_first:  # Cho et al.'s form: the reset gate acts on h before the matrix
        W_hn = dict(zip(order, W_hh.chunk(3, dim=0), strict=True))["n"]
        b_hn = dict(zip(order, b_hh.chunk(3), strict=True))["n"]
        n = torch.tanh(gi["n"] + (r * h) @ W_hn.T + b_hn)
    else:
        n = torch.tanh(gi["n"] + r * gh["n"])
    return (1 - z) * h + z * n if swap_z else z * h + (1 - z) * n


_GRU_HINTS = (
    (dict(swap_z=True), "PyTorch, like Cho et al., keeps z * h_{t-1} and adds (1 - z) * n_t"),
    (dict(order="zrn"), "PyTorch stacks the gates in the order reset, update, new"),
    (dict(reset_first=True), "PyTorch applies the reset gate to W_hn h + b_hn, after the matrix product"),
    (dict(hh_bias=False), "every pre-activation uses both biases, b_ih and b_hh"),
)


def check_gru_step(fn, *, seed: int | None = None) -> bool:
    """Chapter 9: ``fn(x, h, W_ih, W_hh, b_ih, b_hh)`` must return one GRU step ``h_new``.

    ``x`` has shape (batch, input_size) and ``h`` (batch, hidden_size); ``W_ih``
    (3 hidden_size, input_size), ``W_hh`` (3 hidden_size, hidden_size) and the biases
    (3 hidden_size,) hold the gates in PyTorch's order (reset, update, new). The answer is
    compared with ``torch.nn.GRUCell`` on three cases, one of batch size 1; ``fn`` may not
    call :data:`FORBIDDEN_GRU` (PyTorch's GRU layers and cells, the package's cells). With
    ``seed`` (an int) it runs on four fresh random cases drawn from that seed (random sizes
    and weights, the first of batch size 1) instead.
    """
    _require_callable(fn, "fn(x, h, W_ih, W_hh, b_ih, b_hh)")
    cases = _gru_cases(seed)
    for what, args, h_ref in cases:
        got, err = _call(fn, *(a.clone() for a in args), forbid=FORBIDDEN_GRU)
        if err is None and isinstance(got, tuple | list):
            err = "return the new hidden state h_new alone, not a tuple"
        if err is None:
            err = _compare(got, h_ref, "h_new")
            if err:
                got = _as_float64(got, "h_new")[0]
                for kwargs, hint in _GRU_HINTS:
                    alt = _gru_variant(*args, **kwargs)
                    if got is not None and got.shape == alt.shape and torch.allclose(got, alt):
                        err += f" (hint: {hint})"
                        break
        if err:
            return _fail(f"{what}: {err}.")
    return _pass(f"your GRU step matches torch.nn.GRUCell on all {len(cases)} cases, batch size 1 included.")
