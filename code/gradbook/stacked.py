"""Stacked networks: many small MLPs of one shape, trained side by side as one batched computation.

A fair comparison trains every method at a few learning rates and over several seeds,
which is dozens of small networks per figure. Trained one by one, each step of each
network pays Python's and PyTorch's fixed cost per operation, which for a 100-unit layer
is most of the time. :class:`StackedMLP` holds ``members`` networks of the same shape in
tensors with a leading member dimension (a layer's weights are ``(members, n_in, n_out)``)
and runs all of them with one ``torch.baddbmm`` per layer. The loss is the sum of the
members' losses, so one backward pass gives each member exactly its own gradient (the
members share no parameter), and :func:`fit_stacked` steps each member with its own
learning rate. A member that diverges to inf or NaN leaves the others untouched.

Normalisation (``norm``) is written out here rather than borrowed from ``nn.BatchNorm1d``,
because it must act on each member's batch separately; ``tests/unit/test_stacked.py``
checks it against ``nn.BatchNorm1d`` and ``nn.LayerNorm`` member by member, in training
and in evaluation mode, outputs, gradients and running statistics. Introduced in
chapter 10 (batch normalisation).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ._validate import flag, float_dtype, generator, integer, one_of, real
from .activations import ELEMENTWISE, activation_fn
from .train import FitRecord

if TYPE_CHECKING:
    from .stacked_rnn import StackedRNN

__all__ = [
    "NORMS", "RESIDUALS", "STACKED_LOSSES", "GradientWalk", "StackedFit", "StackedMLP", "fit_stacked",
    "gradient_walk", "stacked_accuracy", "stacked_layer_grad_norms", "stacked_member",
]

#: What may follow each hidden layer's linear map: nothing, batch or layer normalisation.
NORMS = ("none", "batch", "layer")

#: How hidden layers 2..depth connect: "none" (a plain stack), "preact" (pre-activation blocks,
#: h + f(norm(h)) W + b: the branch ends with a weight layer, He et al. 2016b) or "postact"
#: (h + f(norm(h W + b)): the branch ends with the activation, so a ReLU branch only ever adds).
RESIDUALS = ("none", "preact", "postact")

_STACKED_INITS = ("xavier", "he", "lecun", "normal")


class StackedMLP(nn.Module):
    """``members`` MLPs with ``depth`` hidden layers of ``width`` units, run as one computation.

    Each hidden layer is ``Linear -> [normalisation] -> activation``; the output layer is
    linear. ``forward`` takes ``x`` of shape ``(batch, in_features)`` (every member sees
    the same batch) or ``(members, batch, in_features)`` and returns logits of shape
    ``(members, batch, out_features)``.

    Parameters
    ----------
    norm:
        ``"none"``, ``"batch"`` (batch normalisation, Ioffe & Szegedy 2015: each unit
        normalised over the member's batch, then scaled by gamma and shifted by beta; in
        evaluation mode, by running statistics updated with PyTorch's convention, the new
        batch weighted by ``momentum``, the running variance from the unbiased batch
        variance) or ``"layer"`` (layer normalisation, Ba et al. 2016: each example
        normalised over the layer's units, the same in training and evaluation).
    init:
        ``"xavier"`` (Var = 2/(fan_in + fan_out)), ``"he"`` (2/fan_in), ``"lecun"``
        (1/fan_in) or ``"normal"`` (N(0, std^2)); biases start at 0, gamma at 1, beta at 0.
    noise:
        ``(shift, scale)`` or None. With a pair, in training mode each normalised output is
        multiplied by a factor drawn from U(1, scale) and shifted by one from
        U(-shift, shift), drawn afresh for every member, unit and step (the "noisy
        BatchNorm" of Santurkar et al. 2018), from ``noise_seed``'s generator.
    shared_init:
        If True every member starts from the same weights (those of member 0), so that
        members differ only in how they are trained (a learning-rate sweep from one start).
    residual:
        One of :data:`RESIDUALS`. Hidden layer 1 maps the input to ``width`` units as in a
        plain stack; with ``"preact"`` each later hidden layer is a residual block
        ``h + f(norm(h)) W + b`` (normalisation and activation before the weights), with
        ``"postact"`` a block ``h + f(norm(h W + b))`` around the plain layer (chapter 11).
        A plain stack (``"none"``) applies ``f(norm(h W + b))``.
    branch_scale:
        A number multiplying every residual branch (1 by default), or ``"learned"``: one
        scalar per block and member, starting at 0 and trained with the rest (ReZero,
        Bachlechner et al. 2021), so that every block starts as the identity.
    dropout:
        In training mode, each activation output (a plain layer's output, a block's branch
        activation) is zeroed with this probability and the rest scaled by 1 / (1 - p)
        (inverted dropout, Srivastava et al. 2014), with masks drawn from ``dropout_seed``'s
        generator; evaluation mode uses every unit. One probability, or one per member
        (so that members with and without dropout train side by side).
    """

    def __init__(
        self,
        members: int,
        depth: int,
        width: int,
        activation: str = "sigmoid",
        *,
        norm: str = "none",
        init: str = "xavier",
        std: float | None = None,
        in_features: int = 64,
        out_features: int = 10,
        momentum: float = 0.1,
        eps: float = 1e-5,
        noise: tuple[float, float] | None = None,
        noise_seed: int | None = None,
        shared_init: bool = False,
        residual: str = "none",
        branch_scale: float | str = 1.0,
        dropout: float | Sequence[float] = 0.0,
        dropout_seed: int | None = None,
        seed: int | torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ):
        super().__init__()
        self.members = integer("members", members, minimum=1)
        self.depth = integer("depth", depth, minimum=0)
        self.width = integer("width", width, minimum=1)
        self.activation = one_of("activation", activation, ELEMENTWISE)
        self.norm = one_of("norm", norm, NORMS)
        one_of("init", init, _STACKED_INITS)
        if (init == "normal") != (std is not None):
            raise ValueError('init "normal" needs std (a positive number), and only it takes one')
        std = None if std is None else real("std", std, positive=True)
        in_features = integer("in_features", in_features, minimum=1)
        out_features = integer("out_features", out_features, minimum=1)
        self.momentum = real("momentum", momentum, minimum=0.0, maximum=1.0)
        self.eps = real("eps", eps, positive=True)
        if noise is not None:
            if self.norm != "batch":
                raise ValueError('noise is injected after batch normalisation: it needs norm="batch"')
            if not (isinstance(noise, tuple | list) and len(noise) == 2):
                raise TypeError("noise must be a pair (shift, scale), e.g. (1.0, 2.0), or None")
            noise = (real("noise shift", noise[0], nonnegative=True), real("noise scale", noise[1], minimum=1.0))
        self.noise = noise
        self._noise_gen = generator(noise_seed, "noise_seed") if noise is not None else None
        flag("shared_init", shared_init)
        self.residual = one_of("residual", residual, RESIDUALS)
        if isinstance(branch_scale, str):
            one_of("branch_scale", branch_scale, ["learned"])
        else:
            branch_scale = real("branch_scale", branch_scale, nonnegative=True)
        if self.residual == "none" and branch_scale != 1.0:
            raise ValueError("branch_scale applies to residual blocks: give residual='preact' or 'postact'")
        self.branch_scale = branch_scale
        if isinstance(dropout, int | float):
            self.dropout = real("dropout", dropout, minimum=0.0, maximum=0.99)
        else:
            rates = list(dropout)
            if len(rates) != self.members:
                raise ValueError(f"dropout must be one number or one per member ({self.members}), got {len(rates)}")
            self.dropout = tuple(real("dropout", p, minimum=0.0, maximum=0.99) for p in rates)
        self._dropout_gen = generator(dropout_seed, "dropout_seed") if self.has_dropout else None
        float_dtype("dtype", dtype)
        self._f = activation_fn(activation)

        gen = generator(seed)
        draws = 1 if shared_init else self.members
        sizes = [in_features] + [width] * self.depth + [out_features]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
            s = {"xavier": math.sqrt(2.0 / (n_in + n_out)), "he": math.sqrt(2.0 / n_in),
                 "lecun": math.sqrt(1.0 / n_in), "normal": std}[init]
            W = torch.randn(draws, n_in, n_out, generator=gen, dtype=dtype) * s
            self.weights.append(nn.Parameter(W.expand(self.members, -1, -1).clone()))
            self.biases.append(nn.Parameter(torch.zeros(self.members, 1, n_out, dtype=dtype)))
        self.gammas = nn.ParameterList()
        self.betas = nn.ParameterList()
        if self.norm != "none":
            for k in range(self.depth):
                self.gammas.append(nn.Parameter(torch.ones(self.members, 1, width, dtype=dtype)))
                self.betas.append(nn.Parameter(torch.zeros(self.members, 1, width, dtype=dtype)))
                if self.norm == "batch":
                    self.register_buffer(f"running_mean{k}", torch.zeros(self.members, 1, width, dtype=dtype))
                    self.register_buffer(f"running_var{k}", torch.ones(self.members, 1, width, dtype=dtype))
        # ReZero's scalars, one per block (hidden layers 2..depth) and member, starting at 0
        self.alphas = nn.Parameter(torch.zeros(self.members, max(self.depth - 1, 0), 1, 1, dtype=dtype),
                                   requires_grad=True) if branch_scale == "learned" else None

    def _normalise(self, z: torch.Tensor, k: int, update_stats: bool) -> torch.Tensor:
        """Hidden layer ``k``'s normalisation of pre-activations ``z`` (members, batch, width)."""
        members, batch, width = z.shape
        gamma, beta = self.gammas[k], self.betas[k]
        if self.norm == "layer":
            return nn.functional.layer_norm(z, (width,), eps=self.eps) * gamma + beta
        if self.training and batch < 2:
            raise ValueError("batch normalisation in training mode needs at least 2 examples per batch "
                             "(one example is its own mean); call net.eval() to use the running statistics")
        # Each (member, unit) pair is one channel of PyTorch's fused batch norm, normalised over the
        # batch: (batch, members * width). The running statistics follow PyTorch's convention (the
        # new batch weighted by momentum, the unbiased batch variance), updated in place.
        flat = z.transpose(0, 1).reshape(batch, members * width)
        track = self.training and update_stats
        out = nn.functional.batch_norm(
            flat,
            getattr(self, f"running_mean{k}").view(-1) if (track or not self.training) else None,
            getattr(self, f"running_var{k}").view(-1) if (track or not self.training) else None,
            weight=gamma.reshape(-1), bias=beta.reshape(-1), training=self.training,
            momentum=self.momentum, eps=self.eps,
        ).reshape(batch, members, width).transpose(0, 1)
        if self.noise is not None and self.training:
            shift, scale = self.noise
            shape = (members, 1, width)
            s = 1 + (scale - 1) * torch.rand(shape, generator=self._noise_gen, dtype=out.dtype)
            m = shift * (2 * torch.rand(shape, generator=self._noise_gen, dtype=out.dtype) - 1)
            out = out * s + m
        return out

    def forward(
        self, x: torch.Tensor, *, inputs: list | None = None, update_stats: bool = True, drop: Sequence[int] = ()
    ) -> torch.Tensor:
        """Logits ``(members, batch, out)``.

        If ``inputs`` is a list, each hidden layer's activation-function input
        ``(members, batch, width)`` is appended to it (detached). ``update_stats=False``
        normalises a training-mode batch by its own statistics without moving the running
        ones (a probe that must not disturb training). ``drop`` lists hidden layers
        (numbered from 1; layer 1, which changes the width, cannot be dropped) that are
        removed from the forward pass: their input passes straight on, as in the lesion
        experiment of Veit et al. (2016), for a residual block and a plain layer alike."""
        if x.ndim == 2:
            x = x.unsqueeze(0).expand(self.members, -1, -1)
        if x.ndim != 3 or x.shape[0] != self.members:
            raise ValueError(f"x must have shape (batch, in) or ({self.members}, batch, in), got {tuple(x.shape)}")
        drop = set(drop)
        if not drop <= set(range(2, self.depth + 1)):
            raise ValueError(f"drop must list hidden layers between 2 and {self.depth}, got {sorted(drop)}")
        h = x
        for k in range(self.depth):
            if k + 1 in drop:
                continue
            if self.residual == "preact" and k > 0:  # h + f(norm(h)) W + b
                a = self._normalise(h, k, update_stats) if self.norm != "none" else h
                if inputs is not None:
                    inputs.append(a.detach())
                h = h + self._scaled(k, torch.baddbmm(self.biases[k], self._drop(self._f(a)), self.weights[k]))
                continue
            z = torch.baddbmm(self.biases[k], h, self.weights[k])
            if self.norm != "none":
                z = self._normalise(z, k, update_stats)
            if inputs is not None:
                inputs.append(z.detach())
            out = self._drop(self._f(z))
            h = h + self._scaled(k, out) if self.residual == "postact" and k > 0 else out
        return torch.baddbmm(self.biases[-1], h, self.weights[-1])

    @property
    def has_dropout(self) -> bool:
        """True if any member drops units in training mode."""
        return any(p > 0 for p in self.dropout) if isinstance(self.dropout, tuple) else self.dropout > 0

    def _drop(self, a: torch.Tensor) -> torch.Tensor:
        """Inverted dropout in training mode (identity otherwise, or with dropout 0)."""
        if not self.training or not self.has_dropout:
            return a
        p = self.dropout
        if not isinstance(p, tuple):
            keep = torch.rand(a.shape, generator=self._dropout_gen, dtype=a.dtype) >= p
            return a * keep / (1 - p)
        # One probability per member: masks are drawn for the members that drop units only
        # (random numbers are the cost of dropout), in member order.
        dropping = torch.tensor([m for m, q in enumerate(p) if q > 0])
        r = torch.tensor([q for q in p if q > 0], dtype=a.dtype).view(-1, *[1] * (a.ndim - 1))
        keep = torch.rand((len(dropping), *a.shape[1:]), generator=self._dropout_gen, dtype=a.dtype) >= r
        return a.index_copy(0, dropping, a[dropping] * keep / (1 - r))

    def _scale(self, k: int):
        """The multiplier of block k's branch (hidden layer k + 1): a number, or ReZero's scalar."""
        return self.alphas[:, k - 1] if self.alphas is not None else self.branch_scale

    def _scaled(self, k: int, branch: torch.Tensor) -> torch.Tensor:
        """Block k's branch times its multiplier. A multiplier of exactly 1 (the default) is
        left out: the same numbers, forward and backward, one operation fewer each way
        (about 5 % of the time of a step of chapter 11's 32-block stacks)."""
        scale = self._scale(k)
        return branch if isinstance(scale, float) and scale == 1.0 else scale * branch


def _check_trainable(net) -> None:
    """A StackedMLP or a StackedRNN (what fit_stacked and stacked_accuracy take)."""
    from .stacked_rnn import StackedRNN

    if not isinstance(net, StackedMLP | StackedRNN):
        raise TypeError(f"net must be a gb.StackedMLP or a gb.StackedRNN, got {type(net).__name__}")


def _members_values(net: StackedMLP, name: str, value, *, none: float | None = None, **bounds) -> torch.Tensor:
    """One number, or one per member, as a (members,) tensor in the net's dtype.

    With ``none`` given, a None in the list stands for that value (clipping's "unclipped"
    is inf); otherwise every entry must be a finite number within ``bounds``.
    """
    values = [value] * net.members if isinstance(value, int | float) else list(value)
    if len(values) != net.members:
        raise ValueError(f"{name} must be one number or one per member ({net.members}), got {len(values)}")
    return torch.tensor([none if v is None and none is not None else real(name, v, **bounds) for v in values],
                        dtype=net.weights[0].dtype)


def stacked_layer_grad_norms(
    net: StackedMLP, X: torch.Tensor | None = None, y: torch.Tensor | None = None
) -> torch.Tensor:
    """Each member's weight-gradient norm per layer, input side first: ``(members, depth + 1)``, float64.

    With a batch ``(X, y)``, first runs one forward and backward pass of each member's
    cross-entropy on it (batch normalisation by the batch's own statistics, running
    statistics left alone); without, reads the gradients of the last backward pass.
    """
    if not isinstance(net, StackedMLP):
        raise TypeError(f"net must be a gb.StackedMLP, got {type(net).__name__}")
    if (X is None) != (y is None):
        raise ValueError("give X and y together, or neither")
    if X is not None:
        for p in net.parameters():
            p.grad = None
        out = net(X, update_stats=False)  # (members, batch, classes)
        target = y.expand(net.members, -1) if y.ndim == 1 else y
        nn.functional.cross_entropy(out.transpose(1, 2), target, reduction="none").mean(1).sum().backward()
    if any(W.grad is None for W in net.weights):
        raise ValueError("no gradients yet: run a backward pass first, or pass a batch (X, y)")
    return torch.stack([W.grad.double().flatten(1).norm(dim=1) for W in net.weights], dim=1)


def stacked_member(net: StackedMLP, i: int) -> nn.Sequential:
    """Member ``i`` of a plain ``net`` (no residual blocks, no noise) as an ordinary PyTorch network:
    ``Linear, [BatchNorm1d | LayerNorm], activation, ..., Linear`` with copies of its parameters and
    running statistics, in the same mode. Chapter 10 uses it to show evaluation-mode pitfalls on a
    trained member with PyTorch's own modules."""
    if not isinstance(net, StackedMLP):
        raise TypeError(f"net must be a gb.StackedMLP, got {type(net).__name__}")
    i = integer("i", i, minimum=0, maximum=net.members - 1)
    if net.residual != "none" or net.noise is not None or net.has_dropout:
        raise ValueError("stacked_member copies plain members only (no residual blocks, noise or dropout)")
    from .activations import activation_module

    dtype = net.weights[0].dtype
    modules: list[nn.Module] = []
    with torch.no_grad():
        for k in range(net.depth + 1):
            W, b = net.weights[k][i], net.biases[k][i, 0]
            linear = nn.Linear(W.shape[0], W.shape[1], dtype=dtype)
            linear.weight.copy_(W.T)
            linear.bias.copy_(b)
            modules.append(linear)
            if k == net.depth:
                break
            if net.norm == "batch":
                norm = nn.BatchNorm1d(net.width, eps=net.eps, momentum=net.momentum, dtype=dtype)
                norm.running_mean.copy_(getattr(net, f"running_mean{k}")[i, 0])
                norm.running_var.copy_(getattr(net, f"running_var{k}")[i, 0])
            elif net.norm == "layer":
                norm = nn.LayerNorm(net.width, eps=net.eps, dtype=dtype)
            if net.norm != "none":
                norm.weight.copy_(net.gammas[k][i, 0])
                norm.bias.copy_(net.betas[k][i, 0])
                modules.append(norm)
            modules.append(activation_module(net.activation).to(dtype))
    return nn.Sequential(*modules).train(net.training)


def stacked_accuracy(net: StackedMLP | StackedRNN, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Each member's accuracy on ``(X, y)`` in evaluation mode, ``(members,)`` float64 (mode restored)."""
    _check_trainable(net)
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            return (net(X).argmax(2) == y).double().mean(dim=1)
    finally:
        net.train(was_training)


@dataclass(frozen=True)
class StackedFit:
    """What :func:`fit_stacked` returns.

    loss: each member's batch loss before each step, (steps, members), float64 (inf or NaN
        once a member has diverged).
    val_acc: with validation data, each member's accuracy after the steps in ``val_steps``,
        (evaluations, members); otherwise None.
    val_steps: the step counts of ``val_acc`` (int64).
    probes: what ``probe(step, net)`` returned, one entry per call, with ``probe_steps``.
    grad_norm: with ``record_grad_norm=True``, each member's whole-gradient norm before
        clipping (penalties included), (steps, members), float64; otherwise None.
    """

    loss: torch.Tensor
    val_acc: torch.Tensor | None
    val_steps: torch.Tensor | None
    probes: list[Any]
    probe_steps: list[int]
    grad_norm: torch.Tensor | None = None

    def member(self, i: int) -> FitRecord:
        """Member ``i``'s record as :func:`gradbook.fit` returns one: its loss and gradient
        norms, and its validation accuracy if there was validation data (needs a fit run
        with ``record_grad_norm=True``)."""
        i = integer("i", i, minimum=0, maximum=self.loss.shape[1] - 1)
        if self.grad_norm is None:
            raise ValueError("a member's FitRecord holds its gradient norms: run fit_stacked with "
                             "record_grad_norm=True")
        return FitRecord(
            loss=self.loss[:, i],
            grad_norm=self.grad_norm[:, i],
            val_acc=None if self.val_acc is None else self.val_acc[:, i],
            val_steps=self.val_steps,
        )

    def final_loss(self, last: int) -> torch.Tensor:
        """Each member's mean batch loss over the ``last`` steps, (members,)."""
        last = integer("last", last, minimum=1, maximum=self.loss.shape[0])
        return self.loss[-last:].mean(dim=0)


#: The losses :func:`fit_stacked` trains on: cross-entropy on class labels, or the mean
#: squared error on targets shaped like the output (as ``torch.nn.functional.mse_loss``).
STACKED_LOSSES = ("cross_entropy", "mse")


def fit_stacked(
    net: StackedMLP | StackedRNN,
    data: tuple[torch.Tensor, torch.Tensor] | Callable[[], tuple[torch.Tensor, torch.Tensor]],
    steps: int,
    *,
    lr: float | Sequence[float],
    batch_size: int | None = None,
    seed: int | torch.Generator | None = None,
    shared_batches: bool = True,
    val: tuple[torch.Tensor, torch.Tensor] | None = None,
    eval_every: int | None = None,
    probe: Callable[[int, StackedMLP], Any] | None = None,
    probe_every: int | None = None,
    weight_decay: float | Sequence[float] = 0.0,
    l1: float | Sequence[float] = 0.0,
    label_smoothing: float | Sequence[float] = 0.0,
    clip_norm: float | Sequence[float | None] | None = None,
    loss: str = "cross_entropy",
    record_grad_norm: bool = False,
) -> StackedFit:
    """Train every member of ``net`` by plain SGD for ``steps`` steps on mini-batches of ``data``.

    ``net`` is a :class:`StackedMLP`, or a :class:`gradbook.StackedRNN` whose ``X`` holds
    sequences ``(examples, time, input_size)``. ``data`` is either ``(X, y)``, from which
    the steps draw their mini-batches (below), or a function of no arguments that returns
    each step's batch ``(x, y)`` itself, fresh sequences of a task for example: ``x``
    shared by every member or with a leading member dimension, ``y`` likewise (then
    ``batch_size``, ``seed`` and ``shared_batches`` have no use and must not be given).
    ``loss`` is ``"cross_entropy"`` (``y`` holds class labels) or ``"mse"`` (``y`` has the
    output's shape; each member's mean squared error, as ``torch.nn.functional.mse_loss``).
    With ``record_grad_norm=True`` the result also holds each member's gradient norm
    before clipping, step by step.

    ``lr`` is one learning rate or one per member, and so are the remedies chapter 12
    compares: ``weight_decay`` adds ``weight_decay / 2 * ||W||^2`` and ``l1`` adds
    ``l1 * sum |W|`` to a member's loss for every weight matrix (not the biases, nor the
    normalisation's gamma and beta); ``clip_norm`` rescales a member's whole gradient to
    at most that norm before the step (Pascanu et al. 2013; None in a list of one per
    member leaves that member unclipped); ``label_smoothing`` is
    cross-entropy's (Szegedy et al. 2016: the target puts 1 - eps on the label and spreads
    eps evenly over all classes). The recorded loss is the data loss,
    without the penalties. Each step draws ``batch_size`` rows of
    ``(X, y)`` with replacement from ``seed``'s generator: the same rows for every member
    (``shared_batches=True``, common batches make a comparison less noisy) or independent
    rows per member. ``probe(step, net)``, if given, is called before the first step and
    after every ``probe_every`` steps (in the mode the net trains in, without gradients
    recorded for it).
    """
    _check_trainable(net)
    steps = integer("steps", steps, minimum=1)
    loss = one_of("loss", loss, STACKED_LOSSES)
    record_grad_norm = flag("record_grad_norm", record_grad_norm)
    flag("shared_batches", shared_batches)
    if callable(data):
        given = [name for name, value in (("batch_size", batch_size), ("seed", seed)) if value is not None]
        if given or not shared_batches:
            raise ValueError(f"data is a function that makes each step's batch, so {given or ['shared_batches']} "
                             "has no use here: leave it out, or pass data as (X, y) to draw batches from")
        draw = data
    else:
        if not (isinstance(data, tuple | list) and len(data) == 2):
            raise TypeError("data must be (X, y) or a function of no arguments that returns a batch (x, y), "
                            f"got {type(data).__name__}")
        X, y = data
        if batch_size is None:
            raise ValueError("batch_size is needed to draw mini-batches from (X, y)")
        batch_size = integer("batch_size", batch_size, minimum=1)
        gen = generator(seed)

        def draw():
            shape = (batch_size,) if shared_batches else (net.members, batch_size)
            idx = torch.randint(X.shape[0], shape, generator=gen)
            return X[idx], y[idx]

    flat_rates = _members_values(net, "lr", lr, positive=True)
    decay = _members_values(net, "weight_decay", weight_decay, nonnegative=True)
    lasso = _members_values(net, "l1", l1, nonnegative=True)
    smoothing = _members_values(net, "label_smoothing", label_smoothing, minimum=0.0, maximum=1.0)
    if loss == "mse" and bool(smoothing.any()):
        raise ValueError("label_smoothing applies to the cross-entropy loss, not to loss='mse'")
    if loss == "mse" and val is not None:
        raise ValueError("val is scored by classification accuracy, which needs loss='cross_entropy'; "
                         "with loss='mse' evaluate the members yourself (StackedRNN.member(i) gives one)")
    clip = None if clip_norm is None else _members_values(net, "clip_norm", clip_norm, none=math.inf, positive=True)
    if eval_every is not None:
        if val is None:
            raise ValueError("eval_every needs validation data: pass val=(X_val, y_val)")
        eval_every = integer("eval_every", eval_every, minimum=1, maximum=steps)
    if (probe is None) != (probe_every is None):
        raise ValueError("give probe and probe_every together")
    if probe_every is not None:
        probe_every = integer("probe_every", probe_every, minimum=1, maximum=steps)
    params = list(net.parameters())
    weight_ids = {id(W) for W in net.weights}
    weight_slots = [k for k, p in enumerate(params) if id(p) in weight_ids]  # what the penalties act on
    penalised = bool(decay.any() or lasso.any())
    losses = torch.empty(steps, net.members, dtype=torch.float64)
    grad_norms = torch.empty(steps, net.members, dtype=torch.float64) if record_grad_norm else None
    val_acc, val_steps, probes, probe_steps = [], [], [], []
    net.train()

    def call_probe(step):
        with torch.no_grad():
            probes.append(probe(step, net))
        probe_steps.append(step)

    if probe is not None:
        call_probe(0)
    for step in range(steps):
        x_batch, target = draw()
        logits = net(x_batch)  # (members, batch, out)
        if target.ndim < logits.ndim - (loss == "cross_entropy"):  # one batch of targets for every member
            target = target.expand(net.members, *target.shape)
        if loss == "mse":
            if target.shape != logits.shape:
                raise ValueError(f"loss='mse' needs targets shaped like the output {tuple(logits.shape)} "
                                 f"(or without its member dimension), got {tuple(target.shape)}")
            per_member = (logits - target).square().flatten(1).mean(dim=1)
        elif bool((smoothing == smoothing[0]).all()):  # one value: PyTorch's own loss
            per_member = nn.functional.cross_entropy(logits.transpose(1, 2), target, reduction="none",
                                                     label_smoothing=float(smoothing[0])).mean(dim=1)
        else:  # (1 - eps) (-log p_label) + eps mean_k(-log p_k), PyTorch's formula, eps per member
            # Classes on dim 1, as cross_entropy takes them: PyTorch's log_softmax over a
            # short last dimension is several times slower than over a middle one.
            logp = nn.functional.log_softmax(logits.transpose(1, 2), dim=1)  # (members, classes, batch)
            nll = -logp.gather(1, target.unsqueeze(1)).squeeze(1)  # (members, batch)
            eps = smoothing.view(-1, 1)
            per_member = ((1 - eps) * nll - eps * logp.mean(dim=1)).mean(dim=1)
        losses[step] = per_member.detach().double()
        if clip is None and not penalised and not record_grad_norm:
            # Members share no parameter, so weighting member m's loss by its learning rate
            # makes autograd return exactly lr_m * grad L_m for its parameters: the whole SGD
            # step is then a plain subtraction.
            grads = torch.autograd.grad((per_member * flat_rates).sum(), params)
            with torch.no_grad():
                torch._foreach_sub_(params, list(grads))
        else:
            grads = list(torch.autograd.grad(per_member.sum(), params))
            with torch.no_grad():
                # The penalties' gradients, added by hand (what autograd gives for
                # decay / 2 ||W||^2 and l1 sum |W|, with sign(0) = 0 as abs's backward):
                for k in weight_slots:
                    W = params[k]
                    shape = (-1, *[1] * (W.ndim - 1))
                    if decay.any():
                        grads[k] = grads[k].addcmul(decay.view(shape), W)
                    if lasso.any():
                        grads[k] = grads[k].addcmul(lasso.view(shape), W.sign())
                scale = flat_rates
                if clip is not None or record_grad_norm:  # the whole gradient's, penalties included
                    norms = torch.linalg.vector_norm(torch.stack(
                        [torch.linalg.vector_norm(g.flatten(1), dim=1, dtype=torch.float64) for g in grads]), dim=0)
                    if record_grad_norm:
                        grad_norms[step] = norms
                if clip is not None:
                    scale = flat_rates * torch.clamp(clip / norms, max=1.0).to(flat_rates.dtype)  # (members,)
                for p, g in zip(params, grads, strict=True):
                    p.addcmul_(g, scale.view(-1, *[1] * (g.ndim - 1)), value=-1)
        if val is not None and ((eval_every and (step + 1) % eval_every == 0) or step + 1 == steps):
            if not val_steps or val_steps[-1] != step + 1:
                val_acc.append(stacked_accuracy(net, *val))
                val_steps.append(step + 1)
        if probe is not None and (step + 1) % probe_every == 0:
            call_probe(step + 1)
    return StackedFit(
        loss=losses,
        val_acc=torch.stack(val_acc) if val is not None else None,
        val_steps=torch.tensor(val_steps, dtype=torch.int64) if val is not None else None,
        probes=probes, probe_steps=probe_steps, grad_norm=grad_norms,
    )


@dataclass(frozen=True)
class GradientWalk:
    """What :func:`gradient_walk` measures, per step size (rows) and member (columns), float64.

    loss: the loss at ``w - eta g``; grad_change: ``||grad L(w - eta g) - grad L(w)||``;
    distance: ``||eta g||``, the length of the move; loss0 and grad_norm: the loss and
    ``||g||`` at ``w`` itself, (members,).
    """

    loss: torch.Tensor
    grad_change: torch.Tensor
    distance: torch.Tensor
    loss0: torch.Tensor
    grad_norm: torch.Tensor

    @property
    def loss_variation(self) -> torch.Tensor:
        """The range (max - min) of the loss over the walk, including its start, (members,)."""
        losses = torch.cat([self.loss0.unsqueeze(0), self.loss])
        return losses.max(dim=0).values - losses.min(dim=0).values

    @property
    def gradient_predictiveness(self) -> torch.Tensor:
        """The largest change of the gradient over the walk, (members,) (smaller: more predictive)."""
        return self.grad_change.max(dim=0).values

    @property
    def effective_smoothness(self) -> torch.Tensor:
        """The largest ``||grad change|| / ||move||`` over the walk, an effective beta-smoothness, (members,)."""
        return (self.grad_change / self.distance).max(dim=0).values


def _loss_and_grads(net: StackedMLP, x, y, params) -> tuple[torch.Tensor, list[torch.Tensor]]:
    logits = net(x, update_stats=False)
    per_member = nn.functional.cross_entropy(logits.transpose(1, 2), y.expand(net.members, -1),
                                             reduction="none").mean(dim=1)
    grads = torch.autograd.grad(per_member.sum(), params)
    return per_member.detach().double(), list(grads)


def _member_norm(tensors: list[torch.Tensor]) -> torch.Tensor:
    return torch.stack([t.double().flatten(1).pow(2).sum(dim=1) for t in tensors]).sum(dim=0).sqrt()


def gradient_walk(
    net: StackedMLP, x: torch.Tensor, y: torch.Tensor, lr: float | Sequence[float], factors: Sequence[float]
) -> GradientWalk:
    """Walk each member from its weights ``w`` along its own gradient ``g`` on the batch ``(x, y)``.

    For every ``f`` in ``factors`` the member moves to ``w - f * lr * g`` (``lr`` one rate
    or one per member), and the loss and the gradient there are measured on the same
    batch, with batch normalisation using that batch's statistics (running statistics are
    left alone). This is the measurement of loss-landscape smoothness of Santurkar et al.
    (2018, their figure 4): how much the loss and the gradient change along the step the
    optimiser is about to take. The weights are restored afterwards. Needs a net without
    noise (the loss along the walk must be a function of the weights).
    """
    if not isinstance(net, StackedMLP):
        raise TypeError(f"net must be a gb.StackedMLP, got {type(net).__name__}")
    if net.noise is not None or net.has_dropout:
        raise ValueError("gradient_walk needs a deterministic loss: use a net built without noise or dropout")
    rates = _members_values(net, "lr", lr, positive=True)
    factors = [real("factor", f, positive=True) for f in factors]
    if not factors:
        raise ValueError("factors must hold at least one positive step multiple, e.g. (0.5, 1, 2)")
    params = list(net.parameters())
    start = [p.detach().clone() for p in params]
    was_training = net.training
    net.train()
    loss0, g0 = _loss_and_grads(net, x, y, params)
    losses, changes, distances = [], [], []
    try:
        for f in factors:
            moves = [f * rates.view(-1, *[1] * (g.ndim - 1)) * g for g in g0]  # each member's own rate
            with torch.no_grad():
                for p, w, move in zip(params, start, moves, strict=True):
                    p.copy_(w - move)
            loss, g = _loss_and_grads(net, x, y, params)
            losses.append(loss)
            changes.append(_member_norm([a - b for a, b in zip(g, g0, strict=True)]))
            distances.append(_member_norm(moves))
    finally:
        with torch.no_grad():
            for p, w in zip(params, start, strict=True):
                p.copy_(w)
        net.train(was_training)
    return GradientWalk(loss=torch.stack(losses), grad_change=torch.stack(changes),
                        distance=torch.stack(distances), loss0=loss0, grad_norm=_member_norm(g0))
