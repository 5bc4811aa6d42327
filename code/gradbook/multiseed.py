"""Multi-seed training: many sigmoid networks of one shape, trained at once as one batched model.

Nielsen's chapter-5 experiment (reproduced in chapter 3) trains the same architecture
from several random starts. Rather than loop over seeds in Python, every tensor here
carries a leading *seed* dimension: a layer's weights have shape ``(seeds, out, in)``,
its biases ``(seeds, out)``, its activations ``(seeds, batch, width)``, and one batched
matrix product (``torch.baddbmm``) does the work of every seed at once. Each seed still
has its own initialisation and its own mini-batch order, so the result is what training
the seeds one after another would give (the unit tests check this against a plain
single-network implementation that uses autograd).

The networks are Nielsen's: sigmoid hidden and output units, the cross-entropy cost
summed over the outputs (so the output error is simply ``a - y``), weights
N(0, 1/n_in), biases N(0, 1), and stochastic gradient descent with L2 weight decay in
his form ``w <- (1 - lr * lmbda / n) w - (lr / m) sum_x dC_x/dw`` (n training examples,
m per mini-batch; biases are not decayed).

Why the gradients are written by hand. ``benchmarks/multiseed_speedup.py`` times the
same training with autograd on the same batched ``(seeds, out, in)`` tensors. On this
book's problems the hand-written step (:class:`_SGD`, a few fused batched products) is
3 to 5 times faster for mini-batches of 10, the many tiny steps where autograd's fixed
cost per operation dominates, and 1.3 to 1.5 times faster for full-batch steps on 1000
examples (measured in two runs on a 2-core machine, one thread; ``make bench`` records
both factors in benchmarks/results.json). There is one hand-written step, used for both; the unit
tests check it against autograd.

* :func:`multiseed_init` - Nielsen's initialisation for each seed: a list of ``(W, b)``.
* :func:`multiseed_orders` - each seed's shuffle of the training set for every epoch.
* :func:`multiseed_forward` - the activations of every layer.
* :func:`multiseed_backprop` - the gradients of the mean cost, by hand.
* :func:`multiseed_delta_norms` - Nielsen's ||delta^l||, the norm of the mean bias gradient.
* :func:`multiseed_cost`, :func:`multiseed_accuracy` - per seed.
* :func:`multiseed_train` - Nielsen's SGD for every seed at once; returns a :class:`MultiseedRun`.

Introduced in chapter 3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ._validate import flag, float_dtype, generator, integer, real, seed

__all__ = [
    "NIELSEN", "MultiseedRun", "multiseed_accuracy", "multiseed_backprop", "multiseed_cost",
    "multiseed_delta_norms", "multiseed_forward", "multiseed_init", "multiseed_orders", "multiseed_train",
]

# Nielsen's hyper-parameters for the chapter-5 experiment.
NIELSEN = {"epochs": 30, "batch_size": 10, "lr": 0.1, "lmbda": 5.0}

# The mini-batch order of seed s comes from the seed's own stream _ORDER_STREAM (see
# gradbook._validate.generator), so it never shares numbers with any initialisation.
_ORDER_STREAM = 0x5EED_0000_0000

Params = list[tuple[torch.Tensor, torch.Tensor]]


# --- argument checks -------------------------------------------------------------------

def _check_seeds(seeds) -> list[int]:
    if isinstance(seeds, torch.Tensor | str) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds must be a list of whole numbers such as [0, 1, 2], got {seeds!r}")
    seeds = [seed("each seed", s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one seed, e.g. [0, 1, 2, 3, 4]")
    return seeds


def _check_sizes(sizes) -> list[int]:
    if isinstance(sizes, str) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"sizes must be a list of layer sizes such as [64, 30, 10], got {sizes!r}")
    sizes = [integer("each layer size", s, minimum=1) for s in sizes]
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output size, e.g. [64, 30, 10], got {sizes}")
    return sizes


def _check_params(params) -> int:
    """Check a list of (W, b) with W (seeds, out, in) and b (seeds, out); return the seed count."""
    if not isinstance(params, list | tuple) or not params:
        raise ValueError("params must be a non-empty list of (W, b) pairs, as multiseed_init returns")
    n_seeds, fan_in, dtype = None, None, None
    for l, pair in enumerate(params):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValueError(f"params[{l}] must be a pair (W, b)")
        W, b = pair
        if not isinstance(W, torch.Tensor) or W.ndim != 3:
            raise ValueError(f"params[{l}][0] (W) must be a tensor of shape (seeds, out, in)")
        if not isinstance(b, torch.Tensor) or b.shape != W.shape[:2]:
            raise ValueError(f"params[{l}][1] (b) must be a tensor of shape (seeds, out) = {tuple(W.shape[:2])}")
        float_dtype(f"params[{l}]'s dtype", W.dtype)
        if b.dtype != W.dtype:
            raise ValueError(f"params[{l}]: W and b must share one dtype")
        if n_seeds is None:
            n_seeds, dtype = W.shape[0], W.dtype
        elif W.shape[0] != n_seeds or W.dtype != dtype:
            raise ValueError(f"params[{l}] has {W.shape[0]} seeds of {W.dtype}; params[0] has {n_seeds} of {dtype}")
        if fan_in is not None and W.shape[2] != fan_in:
            raise ValueError(f"params[{l}] expects {W.shape[2]} inputs but the layer before gives {fan_in}")
        fan_in = W.shape[1]
    return n_seeds


def _check_data(params, X, y, name: str = "X") -> torch.Tensor:
    """Check inputs X (n, in) and integer labels y (n,); return the float one-hot targets."""
    W0 = params[0][0]
    n_in, n_out = W0.shape[2], params[-1][0].shape[1]
    if not isinstance(X, torch.Tensor) or X.ndim != 2 or X.shape[1] != n_in:
        raise ValueError(f"{name} must be a tensor of shape (examples, {n_in}), one row per example")
    if X.dtype != W0.dtype:
        raise ValueError(f"{name} has dtype {X.dtype} but the weights have {W0.dtype}; convert one of them")
    if not isinstance(y, torch.Tensor) or y.ndim != 1 or y.shape[0] != X.shape[0] or y.dtype not in (
            torch.int64, torch.int32):
        raise ValueError(f"the labels for {name} must be a 1-D integer tensor with one label per row of {name}")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= n_out):
        raise ValueError(f"labels must lie in 0..{n_out - 1} (the network has {n_out} outputs)")
    return torch.nn.functional.one_hot(y.long(), n_out).to(X.dtype)


# --- the model ---------------------------------------------------------------------------

def multiseed_init(sizes, seeds, *, dtype: torch.dtype = torch.float32) -> Params:
    """Nielsen's initialisation of a ``sizes`` network for every seed.

    Layer l gets weights W of shape (seeds, sizes[l+1], sizes[l]) from N(0, 1/sizes[l])
    and biases b of shape (seeds, sizes[l+1]) from N(0, 1). Seed ``s`` draws from its own
    generator, layer by layer (W, then b), so its network does not depend on which other
    seeds are in the list. ``multiseed_init([64, 30, 10], [0, 1, 2])`` -> ``[(W1, b1), (W2, b2)]``.
    """
    sizes, seeds, dtype = _check_sizes(sizes), _check_seeds(seeds), float_dtype("dtype", dtype)
    per_seed = []
    for s in seeds:
        gen = generator(s)
        layers = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
            W = torch.randn(n_out, n_in, generator=gen, dtype=torch.float64) / math.sqrt(n_in)
            b = torch.randn(n_out, generator=gen, dtype=torch.float64)
            layers.append((W, b))
        per_seed.append(layers)
    return [(torch.stack([p[l][0] for p in per_seed]).to(dtype), torch.stack([p[l][1] for p in per_seed]).to(dtype))
            for l in range(len(sizes) - 1)]


def multiseed_orders(n: int, epochs: int, seeds) -> torch.Tensor:
    """Each seed's shuffle of ``n`` training examples for every epoch: int64, (epochs, seeds, n).

    Seed ``s`` shuffles with a stream of its own (independent of its initialisation's), so
    a seed trained alone or among others sees the same mini-batches.
    """
    n, epochs, seeds = integer("n", n, minimum=1), integer("epochs", epochs, minimum=1), _check_seeds(seeds)
    orders = torch.empty(epochs, len(seeds), n, dtype=torch.int64)
    for k, s in enumerate(seeds):
        gen = generator(s, stream=_ORDER_STREAM)
        for e in range(epochs):
            orders[e, k] = torch.randperm(n, generator=gen)
    return orders


def _forward(params: Params, X: torch.Tensor) -> list[torch.Tensor]:
    """Activations of every layer, (seeds, n, width); every seed sees the same inputs X (n, in)."""
    acts, a = [], X.expand(params[0][0].shape[0], *X.shape)
    for W, b in params:
        a = torch.baddbmm(b.unsqueeze(1), a, W.mT).sigmoid_()
        acts.append(a)
    return acts


def multiseed_forward(params: Params, X: torch.Tensor) -> list[torch.Tensor]:
    """The activations ``a^1, ..., a^L`` of every layer, each of shape (seeds, examples, width).

    ``X`` (examples, inputs) is fed to every seed's network; the last entry is the output.
    """
    _check_params(params)
    W0 = params[0][0]
    if not isinstance(X, torch.Tensor) or X.ndim != 2 or X.shape[1] != W0.shape[2] or X.dtype != W0.dtype:
        raise ValueError(f"X must be a {W0.dtype} tensor of shape (examples, {W0.shape[2]})")
    with torch.no_grad():
        return _forward(params, X)


def _deltas(params: Params, X: torch.Tensor, Y: torch.Tensor):
    """Activations and errors delta^l = dC_x/dz^l of every example, (seeds, n, width), input side first."""
    acts = _forward(params, X)
    delta = acts[-1] - Y  # sigmoid output + cross-entropy: dC_x/dz^L = a^L - y
    deltas = [delta]
    for l in range(len(params) - 1, 0, -1):
        a = acts[l - 1]
        delta = torch.bmm(delta, params[l][0]) * (a - a * a)  # delta^{l+1} W^{l+1} * sigma'(z^l)
        deltas.append(delta)
    return acts, deltas[::-1]


def multiseed_backprop(params: Params, X: torch.Tensor, y: torch.Tensor) -> Params:
    """Gradients of the mean cost over the examples, by hand-written backpropagation.

    The cost of one example is the cross-entropy summed over the outputs,
    ``-sum_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)]``; the returned list has one
    ``(dC/dW, dC/db)`` pair per layer, shaped like ``params``. No weight decay is included.
    """
    _check_params(params)
    Y = _check_data(params, X, y)
    n = X.shape[0]
    with torch.no_grad():
        acts, deltas = _deltas(params, X, Y)
        inputs = [X.expand(len(params[0][0]), *X.shape)] + acts[:-1]
        return [(torch.bmm(d.mT, a) / n, d.mean(1)) for d, a in zip(deltas, inputs, strict=True)]


def multiseed_delta_norms(params: Params, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Nielsen's ||delta^l|| for every layer and seed: shape (seeds, layers), input side first.

    delta^l = dC/db^l averaged over the examples in ``X``, then its Euclidean norm: the
    batched equivalent of :func:`gradbook.nielsen_delta_norms` with a mean-over-examples
    cost. Nielsen reports the hidden layers, i.e. all columns but the last.
    """
    _check_params(params)
    Y = _check_data(params, X, y)
    with torch.no_grad():
        _, deltas = _deltas(params, X, Y)
        return torch.stack([d.mean(1).norm(dim=1) for d in deltas], dim=1)


def multiseed_cost(params: Params, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The cross-entropy cost summed over the outputs, averaged over the examples: (seeds,).

    This is Nielsen's cost without its L2 term.
    """
    _check_params(params)
    Y = _check_data(params, X, y)
    with torch.no_grad():
        return _cost(params, X, Y)


def _cost(params: Params, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    return _cost_of_outputs(_forward(params, X)[-1], Y)


def _cost_of_outputs(a: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Mean over examples (dimension 1) of -sum_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)], outputs last."""
    # With one-hot y each term is ln a_j or ln(1 - a_j); clamping the logarithm at -100
    # (as torch's binary_cross_entropy does) keeps a saturated output finite.
    p = torch.where(Y > 0, a, 1 - a)
    return -p.log_().clamp_(min=-100.0).sum(-1).to(torch.float64).mean(-1)


def multiseed_accuracy(params: Params, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The fraction of examples whose largest output is the right class, per seed: (seeds,)."""
    _check_params(params)
    _check_data(params, X, y)
    with torch.no_grad():
        return _accuracy(params, X, y)


def _accuracy(params: Params, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (_forward(params, X)[-1].argmax(-1) == y).to(torch.float64).mean(1)


# --- training ----------------------------------------------------------------------------

@dataclass(frozen=True)
class MultiseedRun:
    """What :func:`multiseed_train` returns.

    sizes, seeds: the architecture and the seeds, one network per seed.
    params: the trained ``(W, b)`` of every layer, W (seeds, out, in), b (seeds, out).
    init: the same at initialisation (a copy).
    val_acc: validation accuracy after each epoch, (seeds, epochs), or None without
        validation data.
    train_cost: with ``record_cost``, the mean training cost (cross-entropy, no L2 term)
        at initialisation and after each epoch, (seeds, epochs + 1); otherwise None.
        (:func:`multiseed_cost` gives the cost of any parameters.)
    grad_norms: with ``record_grad_norms``, the norm of every layer's mean bias gradient
        over the mini-batch, taken at every step before the update: a list with one
        (seeds, steps) tensor per layer. With full-batch training it is Nielsen's
        ||delta^l|| at the start of every epoch. Otherwise None.
    """

    sizes: list[int]
    seeds: list[int]
    params: Params
    init: Params
    val_acc: torch.Tensor | None
    train_cost: torch.Tensor | None
    grad_norms: list[torch.Tensor] | None


def multiseed_train(
    sizes,
    seeds,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int = NIELSEN["epochs"],
    batch_size: int = NIELSEN["batch_size"],
    lr: float = NIELSEN["lr"],
    lmbda=NIELSEN["lmbda"],
    X_val: torch.Tensor | None = None,
    y_val: torch.Tensor | None = None,
    params: Params | None = None,
    record_cost: bool = False,
    record_grad_norms: bool = False,
) -> MultiseedRun:
    """Train one ``sizes`` network per seed with Nielsen's SGD, all seeds at once.

    Every epoch, seed s visits the ``n`` training examples in its own order
    (:func:`multiseed_orders`) in mini-batches of ``batch_size`` (a final partial batch is
    dropped, as ``n`` is usually a multiple), and each mini-batch of m examples updates

    ``W <- (1 - lr * lmbda / n) W - (lr / m) sum_x dC_x/dW``,  ``b <- b - (lr / m) sum_x dC_x/db``.

    With ``batch_size`` equal to ``n`` each epoch is a single full-batch step, whose
    gradient does not depend on the order of the examples (so no order is drawn).

    ``lmbda`` is one number for every seed, or a list with one value per seed (the same
    seed may then appear twice, to train one initialisation under two penalties).
    ``params`` (default: :func:`multiseed_init` of ``sizes`` and ``seeds`` in the dtype of
    ``X``) is copied, never changed. ``X_val``/``y_val`` add the validation accuracy
    after every epoch, ``record_cost`` the training cost, ``record_grad_norms`` the bias
    gradients' norms at every step. See :class:`MultiseedRun` for what is returned.
    """
    sizes, seeds = _check_sizes(sizes), _check_seeds(seeds)
    epochs = integer("epochs", epochs, minimum=1)
    lr = real("lr", lr, positive=True)
    if isinstance(lmbda, list | tuple):
        if len(lmbda) != len(seeds):
            raise ValueError(f"lmbda must be one number, or a list of one number per seed ({len(seeds)}), "
                             f"got {len(lmbda)} values")
        lmbdas = [real("each lmbda", v, nonnegative=True) for v in lmbda]
    else:
        lmbdas = [real("lmbda", lmbda, nonnegative=True)] * len(seeds)
    flag("record_cost", record_cost)
    flag("record_grad_norms", record_grad_norms)
    if not isinstance(X, torch.Tensor):
        raise ValueError("X must be a float32 or float64 tensor of shape (examples, inputs)")
    float_dtype("X's dtype", X.dtype)
    if params is None:
        params = multiseed_init(sizes, seeds, dtype=X.dtype)
    if _check_params(params) != len(seeds) or [params[0][0].shape[2]] + [W.shape[1] for W, _ in params] != sizes:
        raise ValueError(f"params must hold {len(seeds)} seeds of a {sizes} network, "
                         "as multiseed_init(sizes, seeds) gives")
    Y = _check_data(params, X, y)
    n = X.shape[0]
    batch_size = integer("batch_size", batch_size, minimum=1, maximum=n)
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither")
    if X_val is not None:
        _check_data(params, X_val, y_val, "X_val")
    return _train(sizes, seeds, params, X, Y, epochs, batch_size, lr, lmbdas, X_val, y_val, record_cost,
                  record_grad_norms)


def _train(sizes, seeds, params, X, Y, epochs, m, lr, lmbdas, X_val, y_val, record_cost, record) -> MultiseedRun:
    S, n = len(seeds), X.shape[0]
    steps = n // m
    full_batch = m == n  # one step per epoch on every example: the order cannot matter
    uniform = len(set(lmbdas)) == 1
    # One decay for all seeds is fused into the weight update; per-seed decays are a multiply.
    decay = 1.0 - lr * lmbdas[0] / n if uniform else 1.0
    decays = None if uniform else torch.tensor([1.0 - lr * v / n for v in lmbdas], dtype=X.dtype).view(S, 1, 1)
    init = [(W.clone(), b.clone()) for W, b in params]
    Ws = [W.clone() for W, _ in params]  # (seeds, out, in)
    bs = [b.clone().unsqueeze(1) for _, b in params]  # (seeds, 1, out): broadcasts over the batch rows
    norms = [torch.empty(steps * epochs, S, 1, W.shape[1], dtype=X.dtype) for W in Ws] if record else None
    val_acc = torch.empty(S, epochs, dtype=torch.float64) if X_val is not None else None
    train_cost = torch.empty(S, epochs + 1, dtype=torch.float64) if record_cost else None
    sgd = _SGD(Ws, bs, lr / m, decay, decays, torch.ones(S, 1, m, dtype=X.dtype))

    def current():
        return [(W, b.view(b.shape[0], -1)) for W, b in zip(Ws, bs, strict=True)]

    with torch.no_grad():
        if full_batch:
            Xf, Yf = X.expand(S, -1, -1), Y.expand(S, -1, -1)  # (seeds, n, in), (seeds, n, out)
        else:
            orders = multiseed_orders(n, epochs, seeds)
        if record_cost and not full_batch:
            train_cost[:, 0] = _cost(current(), X, Y)
        t = 0
        for e in range(epochs):
            if full_batch:
                out = sgd.step(Xf, Yf, None if norms is None else [g[t] for g in norms])
                if record_cost:  # the cost before this epoch's step, from the step's own forward pass
                    train_cost[:, e] = _cost_of_outputs(out, Yf)
                t += 1
            else:
                Xe, Ye = X[orders[e]], Y[orders[e]]  # (seeds, n, in), each seed in its own order
                for A, Yb in zip(Xe.split(m, dim=1)[:steps], Ye.split(m, dim=1)[:steps], strict=True):
                    sgd.step(A, Yb, None if norms is None else [g[t] for g in norms])
                    t += 1
            now = current()
            if record_cost and (not full_batch or e == epochs - 1):
                train_cost[:, e + 1] = _cost(now, X, Y)
            if val_acc is not None:
                val_acc[:, e] = _accuracy(now, X_val, y_val)
    grad_norms = None
    if norms is not None:
        grad_norms = [(g.flatten(2) / m).norm(dim=2).T.contiguous() for g in norms]  # (seeds, steps)
    return MultiseedRun(sizes=sizes, seeds=seeds, params=[(W.clone(), b.clone()) for W, b in current()],
                        init=init, val_acc=val_acc, train_cost=train_cost, grad_norms=grad_norms)


class _SGD:
    """One step of Nielsen's SGD on every seed, with hand-written backpropagation.

    :meth:`step` takes a mini-batch with the examples as rows, ``(seeds, m, in)``, updates
    the weights and biases in place, writes each layer's summed bias gradient into
    ``sums`` if given, and returns the output activations of the forward pass.
    """

    def __init__(self, Ws, bs, step, decay, decays, ones):
        self.Ws, self.bs, self.lr, self.decay, self.decays, self.ones = Ws, bs, step, decay, decays, ones
        self.WTs = [W.mT for W in Ws]  # views: they follow the in-place updates of W

    def _update(self, l, delta, a_prev, sums):
        W, b, lr = self.Ws[l], self.bs[l], self.lr
        if sums is not None:  # sum delta over the batch into the record, then step the bias
            torch.bmm(self.ones, delta, out=sums[l])
            b.sub_(sums[l], alpha=lr)
        else:
            b.baddbmm_(self.ones, delta, alpha=-lr)
        if self.decays is not None:
            W.mul_(self.decays)
        # W <- decay W - lr * sum_x delta_x a_x^T, in one fused call
        W.baddbmm_(delta.mT, a_prev, beta=self.decay, alpha=-lr)

    def step(self, A, Y, sums=None):
        acts = [A]  # (seeds, m, width)
        for WT, b in zip(self.WTs, self.bs, strict=True):
            acts.append(torch.baddbmm(b, acts[-1], WT).sigmoid_())
        delta = acts[-1] - Y  # dC_x/dz^L = a^L - y
        for l in range(len(self.Ws) - 1, -1, -1):
            a_prev = acts[l]
            if l > 0:  # the next delta needs W^l before it is updated
                sp = torch.addcmul(a_prev, a_prev, a_prev, value=-1.0)  # sigma' = a (1 - a)
                delta_prev = torch.bmm(delta, self.Ws[l]).mul_(sp)
            self._update(l, delta, a_prev, sums)
            if l > 0:
                delta = delta_prev
        return acts[-1]
