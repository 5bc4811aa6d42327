"""The gradient monitor: per-layer gradient norms logged every step, and an alarm for inf and NaN.

An exploding gradient rarely announces itself: the loss looks fine until, one step, it is
``nan``, and by then every weight is ``nan`` too. :class:`GradientMonitor` watches a
training loop from the inside. Call :meth:`GradientMonitor.record` once per step, after
``loss.backward()`` and before ``optimizer.step()``; it reads every layer's ``.grad`` and
keeps, for each step,

* the loss and each layer's gradient norm (so a growing gradient is visible long before
  it overflows),
* each layer's weight norm and the size of the update the previous step made,
* the first step at which the loss, a gradient or a weight stopped being finite, and in
  which layers (:attr:`GradientMonitor.first_nonfinite`); with ``on_nonfinite="raise"``
  it stops the loop there with a :class:`NonFiniteError` that says where.

:meth:`GradientMonitor.first_jump` finds the first step at which the total gradient norm
jumped far above its recent level, the early warning that usually precedes the NaN.
Norms are computed in float64, so a large float32 gradient never reports a spurious
``inf`` norm: ``inf`` in the record means an entry itself was infinite.

Introduced in chapter 4 (exploding gradients); chapter 12 uses it to diagnose broken networks.
:func:`gradbook.fit` takes one as ``monitor=``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ._validate import integer, one_of, real
from .models import linear_layers
from .probes import total_norm

__all__ = ["GradientMonitor", "NonFiniteError", "NonFiniteEvent"]

PARAMS = ("weight", "bias", "all")


@dataclass(frozen=True)
class NonFiniteEvent:
    """Where a training run first produced ``inf`` or ``nan``.

    step: the index of the :meth:`GradientMonitor.record` call (0 for the first).
    loss: the loss recorded at that step (``nan`` if none was given).
    loss_finite: whether that loss was finite (``True`` when no loss was given).
    grad_layers: the layers (numbered from 1, input side first) whose gradient held an
        ``inf`` or ``nan`` entry.
    weight_layers: the layers whose parameters held an ``inf`` or ``nan`` entry.
    """

    step: int
    loss: float
    loss_finite: bool
    grad_layers: tuple[int, ...]
    weight_layers: tuple[int, ...]

    def __str__(self) -> str:
        parts = []
        if not self.loss_finite:
            parts.append(f"the loss is {self.loss}")
        if self.grad_layers:
            parts.append(f"the gradient of layer(s) {_span(self.grad_layers)} is not finite")
        if self.weight_layers:
            parts.append(f"the weights of layer(s) {_span(self.weight_layers)} are not finite")
        return f"step {self.step}: " + "; ".join(parts)


class NonFiniteError(FloatingPointError):
    """Raised by :meth:`GradientMonitor.record` with ``on_nonfinite="raise"``; ``.event`` says where."""

    def __init__(self, event: NonFiniteEvent):
        super().__init__(f"non-finite values at {event}")
        self.event = event


def _span(layers: tuple[int, ...]) -> str:
    """``(1, 2, 3, 5)`` -> ``"1-3, 5"``."""
    runs: list[list[int]] = []
    for layer in layers:
        if runs and layer == runs[-1][-1] + 1:
            runs[-1].append(layer)
        else:
            runs.append([layer])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


class GradientMonitor:
    """Record per-layer gradient norms of ``net`` at every training step.

    Parameters
    ----------
    net:
        The network. Its ``nn.Linear`` layers are watched, input side first (layer 1).
    param:
        Which parameters make up a layer's gradient: ``"weight"`` (the default, as in
        :func:`gradbook.grad_norms`), ``"bias"`` or ``"all"`` (weight and bias together).
    on_nonfinite:
        ``"record"`` (the default) notes the first step with an ``inf`` or ``nan`` in
        :attr:`first_nonfinite` and carries on; ``"raise"`` raises :class:`NonFiniteError`
        at that step instead, before the optimiser can spread the damage.

    Example
    -------
    >>> monitor = GradientMonitor(net, on_nonfinite="raise")
    >>> for step in range(steps):
    ...     opt.zero_grad()
    ...     loss = loss_fn(net(X), y)
    ...     loss.backward()
    ...     monitor.record(loss)   # reads every layer's .grad
    ...     opt.step()
    """

    def __init__(self, net: nn.Module, *, param: str = "weight", on_nonfinite: str = "record"):
        self.param = one_of("param", param, PARAMS)
        self.on_nonfinite = one_of("on_nonfinite", on_nonfinite, ["record", "raise"])
        self.layers = linear_layers(net)
        if param in ("bias", "all") and any(layer.bias is None for layer in self.layers):
            raise ValueError(f'param "{param}" needs every nn.Linear to have a bias')
        self.first_nonfinite: NonFiniteEvent | None = None
        self._losses: list[float] = []
        self._grad_norms: list[list[float]] = []
        self._weight_norms: list[list[float]] = []
        self._update_norms: list[list[float]] = []
        self._previous: list[list[torch.Tensor]] | None = None

    # -- what a layer is made of -------------------------------------------------------
    def _tensors(self, layer: nn.Linear) -> list[torch.Tensor]:
        if self.param == "weight":
            return [layer.weight]
        if self.param == "bias":
            return [layer.bias]
        return [layer.weight, layer.bias]

    @staticmethod
    def _norm(tensors) -> float:
        return float(total_norm(tensors))  # float64: a large float32 entry does not overflow

    # -- the one call per step -----------------------------------------------------------
    def record(self, loss=None) -> torch.Tensor:
        """Record this step: call after ``loss.backward()`` and before ``optimizer.step()``.

        ``loss`` (a scalar tensor or a number) is optional but lets the monitor flag a
        non-finite loss. Returns this step's per-layer gradient norms (float64, input side
        first). A parameter whose ``.grad`` is ``None`` counts as a zero gradient; if no
        watched parameter has a gradient at all, ``record`` raises ``RuntimeError``.
        """
        if loss is None:
            loss_value = math.nan
        elif isinstance(loss, torch.Tensor):
            if loss.numel() != 1:
                raise ValueError(f"loss must be a scalar, got a tensor of shape {tuple(loss.shape)}")
            loss_value = float(loss.detach())
        else:
            try:
                loss_value = float(loss)
            except (TypeError, ValueError):
                raise TypeError(f"loss must be a scalar tensor or a number, got {type(loss).__name__}") from None
        tensors = [self._tensors(layer) for layer in self.layers]
        if all(t.grad is None for ts in tensors for t in ts):
            raise RuntimeError("no watched parameter has a gradient: call loss.backward() before monitor.record()")
        grads = [[t.grad if t.grad is not None else torch.zeros_like(t) for t in ts] for ts in tensors]
        step = len(self._losses)
        grad_norms = [self._norm(g) for g in grads]
        weight_norms = [self._norm(ts) for ts in tensors]
        current = [[t.detach().clone() for t in ts] for ts in tensors]
        if self._previous is not None:
            self._update_norms.append([self._norm([a - b for a, b in zip(now, before, strict=True)])
                                       for now, before in zip(current, self._previous, strict=True)])
        self._previous = current
        self._losses.append(loss_value)
        self._grad_norms.append(grad_norms)
        self._weight_norms.append(weight_norms)

        if self.first_nonfinite is None:
            loss_finite = loss is None or math.isfinite(loss_value)
            bad_grads = tuple(i + 1 for i, g in enumerate(grads) if not all(bool(torch.isfinite(t).all()) for t in g))
            bad_weights = tuple(i + 1 for i, ts in enumerate(tensors)
                                if not all(bool(torch.isfinite(t.detach()).all()) for t in ts))
            if not loss_finite or bad_grads or bad_weights:
                self.first_nonfinite = NonFiniteEvent(step, loss_value, loss_finite, bad_grads, bad_weights)
                if self.on_nonfinite == "raise":
                    raise NonFiniteError(self.first_nonfinite)
        return torch.tensor(grad_norms, dtype=torch.float64)

    # -- what was recorded -------------------------------------------------------------
    @property
    def steps(self) -> int:
        """How many steps have been recorded."""
        return len(self._losses)

    @property
    def losses(self) -> torch.Tensor:
        """The loss at every recorded step, shape ``(steps,)`` (``nan`` where none was given)."""
        return torch.tensor(self._losses, dtype=torch.float64)

    @property
    def grad_norms(self) -> torch.Tensor:
        """Per-layer gradient norms, shape ``(steps, layers)``, input side first."""
        return torch.tensor(self._grad_norms, dtype=torch.float64).reshape(-1, len(self.layers))

    @property
    def total_grad_norms(self) -> torch.Tensor:
        """The norm of the whole watched gradient at every step, shape ``(steps,)``."""
        return self.grad_norms.pow(2).sum(dim=1).sqrt()

    @property
    def weight_norms(self) -> torch.Tensor:
        """Per-layer norms of the watched parameters, shape ``(steps, layers)``."""
        return torch.tensor(self._weight_norms, dtype=torch.float64).reshape(-1, len(self.layers))

    @property
    def update_norms(self) -> torch.Tensor:
        """Per-layer size of each update, shape ``(steps - 1, layers)``: row ``t`` is the norm
        of the change in the watched parameters between record ``t`` and record ``t + 1``."""
        return torch.tensor(self._update_norms, dtype=torch.float64).reshape(-1, len(self.layers))

    def first_jump(self, factor: float = 10.0, window: int = 5) -> int | None:
        """The first step whose total gradient norm exceeds ``factor`` times the median of
        the (up to) ``window`` steps before it, or is not finite; ``None`` if there is none.

        Every step from step 1 on is tested against the steps recorded before it. A jump of
        this kind is the early warning of an explosion: it typically comes some steps before
        the first ``inf`` or ``nan``.
        """
        factor = real("factor", factor, minimum=1.0)
        window = integer("window", window, minimum=1)
        total = self.total_grad_norms
        for step in range(1, total.numel()):
            level = total[max(0, step - window):step].median()
            if not torch.isfinite(total[step]) or total[step] > factor * level:
                return step
        return None

    def __repr__(self) -> str:
        status = "all finite" if self.first_nonfinite is None else f"first non-finite at {self.first_nonfinite}"
        return f"GradientMonitor({len(self.layers)} layers, {self.steps} steps recorded, {status})"
