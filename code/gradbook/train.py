"""The training loop: one function, :func:`fit`, for every network a chapter trains by gradient descent.

Chapters whose loop *is* the lesson (the hand-written backpropagation of chapter 1, the
explosion caught step by step in chapter 4) write it out. Everywhere else a network is
trained by :func:`fit`, so every chapter trains the same way and records the same things:

* the loss of every step's batch and the norm of the whole gradient before any clipping
  (:func:`gradbook.total_norm`), always;
* with ``layer_grad_norms=True``, the norm of every ``nn.Linear`` layer's weight
  gradient at every step, input side first;
* with ``val=(X_val, y_val)``, the classification accuracy on those examples at the end
  (and every ``eval_every`` steps);
* with ``monitor=``, a :class:`gradbook.GradientMonitor` that sees every step.

Data are either a pair ``(X, y)``, from which each step draws ``batch_size`` rows at
random with replacement (the same rows for every network trained with the same seed),
or a function of no arguments that returns the next batch ``(x, y)`` (a sequence task).
Clipping by norm or by value is applied after the gradient is recorded and before the
step. Introduced for chapters 5 and 6; chapters 8 and 9 train recurrent networks with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ._validate import flag, generator, integer, module, one_of, real
from .models import linear_layers
from .probes import total_norm

__all__ = ["OPTIMIZERS", "FitRecord", "accuracy", "fit"]

#: The optimisers :func:`fit` builds by name.
OPTIMIZERS = ("sgd", "adam")

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class FitRecord:
    """What :func:`fit` returns: one entry per training step unless said otherwise (float64).

    loss: the loss of the step's batch, before the step, (steps,).
    grad_norm: the norm of the whole gradient before clipping, (steps,).
    layer_grad_norms: with ``layer_grad_norms=True``, each ``nn.Linear`` layer's weight
        gradient norm, (steps, layers), input side first; otherwise None.
    val_acc: with validation data, the accuracy after the steps in ``val_steps``; otherwise None.
    val_steps: how many steps had been taken at each entry of ``val_acc`` (int64).
    """

    loss: torch.Tensor
    grad_norm: torch.Tensor
    layer_grad_norms: torch.Tensor | None = None
    val_acc: torch.Tensor | None = None
    val_steps: torch.Tensor | None = None

    @property
    def final_val_acc(self) -> float:
        """The accuracy on the validation data after the last step."""
        if self.val_acc is None:
            raise ValueError("fit was run without validation data: pass val=(X_val, y_val)")
        return float(self.val_acc[-1])

    def mean_loss(self, last: int) -> float:
        """The mean batch loss over the ``last`` steps, a less noisy end point than one batch."""
        last = integer("last", last, minimum=1, maximum=self.loss.numel())
        return float(self.loss[-last:].mean())


def accuracy(net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """The fraction of rows of ``X`` whose largest output of ``net`` is the label in ``y``,
    computed in evaluation mode without gradients (the network's mode is restored)."""
    module("net", net)
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor) or X.shape[0] != y.shape[0]:
        raise ValueError("X and y must be tensors with one label in y per row of X")
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            return float((net(X).argmax(1) == y).double().mean())
    finally:
        net.train(was_training)


def _batches(data, batch_size: int | None, seed) -> Callable[[], Batch]:
    """A function that returns the next batch: drawn from (X, y), or ``data`` itself if callable."""
    if callable(data):
        if batch_size is not None or seed is not None:
            raise ValueError("batch_size and seed apply to data given as (X, y); a batch function draws its own")
        return data
    if not (isinstance(data, tuple | list) and len(data) == 2
            and all(isinstance(t, torch.Tensor) for t in data) and data[0].shape[0] == data[1].shape[0]):
        raise TypeError("data must be a pair (X, y) of tensors with one row of y per row of X, "
                        "or a function of no arguments that returns a batch (x, y)")
    X, y = data
    n = X.shape[0]
    if batch_size is None:
        return lambda: (X, y)
    batch_size = integer("batch_size", batch_size, minimum=1)
    gen = generator(seed)

    def draw() -> Batch:
        idx = torch.randint(n, (batch_size,), generator=gen)  # with replacement
        return X[idx], y[idx]

    return draw


class _Descent:
    """The update of ``torch.optim.SGD`` (with momentum) or ``torch.optim.Adam`` (its
    defaults), written out with the same operations in the same order as their CPU
    implementation, so :func:`fit` takes the same steps to the last bit (a unit test
    compares them). Why not call them: an optimiser's first ``step()`` imports TorchDynamo,
    the compiler, 0.7 s of a chapter that never compiles anything.
    """

    BETAS, EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults

    def __init__(self, params: list[torch.Tensor], optimizer: str, lr: float, momentum: float):
        self.params, self.optimizer, self.lr, self.momentum = params, optimizer, lr, momentum
        self.state: list[list[torch.Tensor] | None] = [None] * len(params)
        self.steps = [0] * len(params)  # Adam counts each parameter's own steps, as torch does

    @torch.no_grad()
    def step(self) -> None:
        if self.optimizer == "sgd" and not self.momentum:  # one fused call: p -= lr * grad
            live = [p for p in self.params if p.grad is not None]
            if live:
                torch._foreach_add_(live, [p.grad for p in live], alpha=-self.lr)
            return
        beta1, beta2 = self.BETAS
        for i, (p, g) in enumerate(zip(self.params, (p.grad for p in self.params), strict=True)):
            if g is None:
                continue
            state = self.state[i]
            if self.optimizer == "sgd":
                if self.momentum:
                    if state is None:  # the first step's buffer is the gradient itself
                        state = self.state[i] = [g.detach().clone()]
                    else:
                        state[0].mul_(self.momentum).add_(g)
                    g = state[0]
                p.add_(g, alpha=-self.lr)
                continue
            if state is None:  # Adam: the running mean and mean square of the gradient
                state = self.state[i] = [torch.zeros_like(p), torch.zeros_like(p)]
            mean, mean_sq = state
            self.steps[i] += 1
            mean.lerp_(g, 1 - beta1)
            mean_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            step = float(self.steps[i])
            step_size = self.lr / (1 - beta1**step)
            denom = (mean_sq.sqrt() / (1 - beta2**step) ** 0.5).add_(self.EPS)
            p.addcdiv_(mean, denom, value=-step_size)


def fit(
    net: nn.Module,
    data: Batch | Callable[[], Batch],
    steps: int,
    *,
    lr: float,
    batch_size: int | None = None,
    seed: int | torch.Generator | None = None,
    optimizer: str = "sgd",
    momentum: float = 0.0,
    loss_fn: LossFn = nn.functional.cross_entropy,
    clip_norm: float | None = None,
    clip_value: float | None = None,
    layer_grad_norms: bool = False,
    val: Batch | None = None,
    eval_every: int | None = None,
    monitor=None,
) -> FitRecord:
    """Train ``net`` in place for ``steps`` steps of gradient descent; return a :class:`FitRecord`.

    Parameters
    ----------
    data:
        ``(X, y)`` or a function that returns a batch ``(x, y)`` (see the module docstring).
    lr, optimizer, momentum:
        ``"sgd"`` (with ``momentum``, default 0) or ``"adam"`` (PyTorch's defaults), at
        learning rate ``lr``.
    batch_size, seed:
        With ``(X, y)``: each step draws ``batch_size`` rows with replacement, from a
        generator seeded with ``seed`` (a seed or a ``torch.Generator``; default: the
        global generator). Without ``batch_size`` every step uses all of ``X``.
    loss_fn:
        ``loss_fn(net(x), y)``, a scalar; cross-entropy by default, ``F.mse_loss`` for the
        sequence tasks.
    clip_norm, clip_value:
        Rescale the whole gradient to at most this norm (Pascanu et al. 2013), or clamp
        every entry to [-clip_value, clip_value]; at most one of the two.
    layer_grad_norms, val, eval_every, monitor:
        What else to record (see :class:`FitRecord`); ``monitor`` is called as
        ``monitor.record(loss)`` after every backward pass, before clipping.

    A non-finite loss stops nothing: it is recorded, and the caller decides what it means.
    """
    module("net", net)
    steps = integer("steps", steps, minimum=1)
    lr = real("lr", lr, positive=True)
    optimizer = one_of("optimizer", optimizer, OPTIMIZERS)
    momentum = real("momentum", momentum, minimum=0.0, maximum=1.0)
    if momentum and optimizer != "sgd":
        raise ValueError(f"momentum applies to optimizer 'sgd' only, not to {optimizer!r}")
    if not callable(loss_fn):
        raise TypeError("loss_fn must be a callable loss_fn(output, y) -> scalar tensor")
    if clip_norm is not None and clip_value is not None:
        raise ValueError("give clip_norm or clip_value, not both")
    clip_norm = None if clip_norm is None else real("clip_norm", clip_norm, positive=True)
    clip_value = None if clip_value is None else real("clip_value", clip_value, positive=True)
    flag("layer_grad_norms", layer_grad_norms)
    if val is not None and not (isinstance(val, tuple | list) and len(val) == 2):
        raise TypeError("val must be a pair (X_val, y_val) of tensors")
    if eval_every is not None:
        if val is None:
            raise ValueError("eval_every needs validation data: pass val=(X_val, y_val)")
        eval_every = integer("eval_every", eval_every, minimum=1, maximum=steps)
    if monitor is not None and not callable(getattr(monitor, "record", None)):
        raise TypeError("monitor must have a record(loss) method, as gb.GradientMonitor has")
    next_batch = _batches(data, batch_size, seed)
    layers = linear_layers(net) if layer_grad_norms else []

    params = [p for p in net.parameters() if p.requires_grad]
    opt = _Descent(params, optimizer, lr, momentum)
    losses = torch.empty(steps, dtype=torch.float64)
    norms = torch.empty(steps, dtype=torch.float64)
    per_layer = torch.empty(steps, len(layers), dtype=torch.float64) if layers else None
    val_acc, val_steps = [], []
    was_training = net.training
    net.train()
    try:
        for step in range(steps):
            x, y = next_batch()
            for p in params:
                p.grad = None
            loss = loss_fn(net(x), y)
            loss.backward()
            losses[step] = float(loss.detach())
            norms[step] = total_norm([p.grad for p in params if p.grad is not None])
            if per_layer is not None:
                for k, layer in enumerate(layers):
                    g = layer.weight.grad
                    per_layer[step, k] = 0.0 if g is None else total_norm(g)
            if monitor is not None:
                monitor.record(loss)
            if clip_norm is not None:
                nn.utils.clip_grad_norm_(params, clip_norm)
            elif clip_value is not None:
                nn.utils.clip_grad_value_(params, clip_value)
            opt.step()
            if val is not None and ((eval_every and (step + 1) % eval_every == 0) or step + 1 == steps):
                if not val_steps or val_steps[-1] != step + 1:
                    val_acc.append(accuracy(net, *val))
                    val_steps.append(step + 1)
    finally:
        net.train(was_training)
    return FitRecord(
        loss=losses, grad_norm=norms, layer_grad_norms=per_layer,
        val_acc=torch.tensor(val_acc, dtype=torch.float64) if val is not None else None,
        val_steps=torch.tensor(val_steps, dtype=torch.int64) if val is not None else None,
    )
