"""Diagnosis: one call on a network and a batch, and a compact report of its gradient health.

:func:`diagnose` runs one forward and backward pass of ``net`` on ``(X, y)`` and reads
what practitioners read when training goes wrong (the statistics of Karpathy's
"Building makemore", part 3, and of chapters 1 to 11):

* per weight matrix (every parameter with two or more dimensions: the weights of each
  ``nn.Linear``, and of a recurrent network the input, recurrent and output weights): the
  gradient norm, the weight norm, their ratio, and,
  given a learning rate, the size of one plain SGD step relative to the weights (the
  update-to-weight ratio, whose rule of thumb is about 1e-3);
* per activation module: the mean and spread of its outputs, the saturated fraction of
  tanh and sigmoid outputs (|tanh| > 0.97, or the sigmoid's equivalent |2 sigma - 1| > 0.97,
  where the derivative is below 6 % of its maximum), and the fraction of dead units (zero
  for every example);
* of a :class:`gradbook.RecurrentNet`, the gradient through time: the norm of dL/ds_t for
  every state s_1, ..., s_T (for an LSTM the pair (h_t, c_t)), so that a gradient that
  shrinks or grows as it travels back through the steps is seen as such;
* every place where a non-finite value appears: the loss, a gradient, a weight, an
  activation.

The result is a frozen :class:`Diagnosis` with :meth:`Diagnosis.report` (a text table),
:meth:`Diagnosis.findings` (the rules of thumb below, applied) and
:meth:`Diagnosis.figure`. The thresholds are rules of thumb, stated in
:data:`THRESHOLDS` and in each finding, not laws: chapter 12 shows their spread.
The network's ``.grad`` fields are left as the backward pass set them. Introduced in
chapter 12; :class:`gradbook.GradientMonitor` (chapter 4) logs the same norms step by step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ._validate import module, real
from .activations import ACTIVATIONS, Maxout
from .rnn import RecurrentNet

__all__ = ["THRESHOLDS", "ActivationReport", "Diagnosis", "LayerReport", "diagnose"]

#: The rules of thumb :meth:`Diagnosis.findings` applies.
THRESHOLDS = {
    "saturation": 0.97,  # |tanh| (or |2 sigma - 1|) above this counts as saturated
    "saturated_layer": 0.5,  # a layer with more than this fraction of saturated outputs
    "dead_layer": 0.5,  # a layer with more than this fraction of dead units
    "vanishing": 1e-3,  # first layer's gradient norm below this times the last layer's
    "exploding": 1e3,  # ... or above this times the last layer's
    "update_low": 1e-4,  # update-to-weight ratio below this: the layer barely moves
    "update_high": 1e-2,  # above this: one step changes the layer by more than 1 %
}

_NAMES = {cls: name for name, cls in ACTIVATIONS.items()}


@dataclass(frozen=True)
class LayerReport:
    """One weight matrix (numbered from 1 at the input side), with its parameter name."""

    layer: int
    name: str
    grad_norm: float
    weight_norm: float
    update_to_weight: float | None  # lr * ||grad|| / ||W||, with a learning rate given

    @property
    def grad_to_weight(self) -> float:
        """||grad W|| / ||W||."""
        return self.grad_norm / self.weight_norm if self.weight_norm > 0 else math.inf


@dataclass(frozen=True)
class ActivationReport:
    """One activation module (numbered from 1 at the input)."""

    layer: int
    activation: str
    mean: float
    std: float
    saturated: float | None  # tanh and sigmoid only
    dead: float  # fraction of units that output exactly 0 for every example


@dataclass(frozen=True)
class Diagnosis:
    """What :func:`diagnose` found (see the module docstring)."""

    loss: float
    layers: tuple[LayerReport, ...]
    activations: tuple[ActivationReport, ...]
    nonfinite: tuple[str, ...]
    lr: float | None
    through_time: tuple[float, ...] | None = None  # ||dL/ds_t||, t = 1..T, for a RecurrentNet

    def findings(self) -> tuple[str, ...]:
        """The rules of thumb of :data:`THRESHOLDS`, applied; empty if nothing is flagged."""
        t, found = THRESHOLDS, []
        if self.nonfinite:
            found.append(f"non-finite values in: {', '.join(self.nonfinite)}")
        flow = _flow_finding([r.grad_norm for r in self.layers], "", "layer 1's gradient norm",
                             "the last layer's")
        if self.through_time is not None:
            flow += _flow_finding(self.through_time, " through time", "the gradient at step 1",
                                  f"that at step {len(self.through_time)}")
        found += flow
        for a in self.activations:
            if a.saturated is not None and a.saturated > t["saturated_layer"]:
                found.append(f"saturated: {a.saturated:.0%} of layer {a.layer}'s {a.activation} outputs beyond "
                             f"{t['saturation']:g}")
            if a.dead > t["dead_layer"]:
                found.append(f"dead: {a.dead:.0%} of layer {a.layer}'s {a.activation} units output 0 for every "
                             "example")
        for r in self.layers:
            u = r.update_to_weight
            if u is None or not math.isfinite(u):
                continue
            if u < t["update_low"]:
                found.append(f"slow: layer {r.layer}'s update-to-weight ratio is {u:.1e} (rule of thumb ~1e-3)")
            elif u > t["update_high"]:
                found.append(f"fast: layer {r.layer}'s update-to-weight ratio is {u:.1e} (rule of thumb ~1e-3)")
        return tuple(found)

    def report(self) -> str:
        """A compact text table of every layer, then the findings."""
        lines = [f"loss {self.loss:.4g}" + (f", lr {self.lr:g}" if self.lr is not None else "")]
        width = max(len(r.name) for r in self.layers)
        lines.append(f"layer  {'weight':<{width}}  |grad W|   |W|      grad/W   update/W")
        for r in self.layers:
            u = "" if r.update_to_weight is None else f"{r.update_to_weight:.1e}"
            lines.append(f"{r.layer:>5}  {r.name:<{width}}  {r.grad_norm:<9.2e}{r.weight_norm:<9.3g}"
                         f"{r.grad_to_weight:<9.1e}{u}")
        if self.through_time is not None:
            tt = self.through_time
            lines.append(f"through time: |dL/ds_t| at t = 1: {tt[0]:.2e}, t = {len(tt)}: {tt[-1]:.2e}, "
                         f"ratio {tt[0] / tt[-1] if tt[-1] > 0 else math.inf:.1e}")
        if self.activations:
            lines.append("layer  activation  mean     std      saturated  dead")
        for a in self.activations:
            sat = "" if a.saturated is None else f"{a.saturated:.0%}"
            lines.append(f"{a.layer:>5}  {a.activation:<11} {a.mean:<8.3g} {a.std:<8.3g} {sat:<10} {a.dead:.0%}")
        findings = self.findings()
        lines.append("findings: " + ("none" if not findings else ""))
        lines += [f"  - {f}" for f in findings]
        return "\n".join(lines)

    def figure(self):
        """Three panels: gradient norm per layer, update-to-weight (or gradient-to-weight)
        ratio per layer, and saturated and dead fractions per activation layer; for a
        recurrent network the third shows the gradient's norm through time instead."""
        from .plotting import PALETTE, figure, log_axis

        fig, axes = figure(ncols=3, height=2.8)
        layers = [r.layer for r in self.layers]
        axes[0].plot(layers, [r.grad_norm for r in self.layers], "o-", color=PALETTE[0])
        log_axis(axes[0])
        axes[0].set(xlabel="layer", ylabel="weight-gradient norm")
        if self.lr is not None:
            axes[1].plot(layers, [r.update_to_weight for r in self.layers], "o-", color=PALETTE[1])
            axes[1].axhline(1e-3, color="grey", ls="--", lw=1)
            axes[1].set(xlabel="layer", ylabel="update / weight")
        else:
            axes[1].plot(layers, [r.grad_to_weight for r in self.layers], "o-", color=PALETTE[1])
            axes[1].set(xlabel="layer", ylabel="gradient / weight")
        log_axis(axes[1])
        if self.through_time is not None:
            steps = range(1, len(self.through_time) + 1)
            axes[2].plot(steps, self.through_time, "o-", ms=3, color=PALETTE[2])
            log_axis(axes[2])
            axes[2].set(xlabel="time step t", ylabel="|dL/ds_t|")
            return fig
        acts = [a.layer for a in self.activations]
        axes[2].plot(acts, [a.dead for a in self.activations], "s-", color=PALETTE[2], label="dead units")
        axes[2].plot(acts, [a.saturated if a.saturated is not None else math.nan for a in self.activations],
                     "^-", color=PALETTE[3], label="saturated outputs")
        axes[2].set(xlabel="activation layer", ylabel="fraction", ylim=(-0.05, 1.05))
        axes[2].legend(fontsize=7)
        return fig


def _flow_finding(norms, where: str, first: str, last: str) -> list[str]:
    """The vanishing or exploding finding for a first-to-last ratio of gradient norms."""
    t = THRESHOLDS
    if len(norms) < 2 or not all(math.isfinite(g) for g in norms) or norms[-1] <= 0:
        return []
    ratio = norms[0] / norms[-1]
    if ratio < t["vanishing"]:
        return [f"vanishing{where}: {first} is {ratio:.1e} of {last} (flagged below {t['vanishing']:g})"]
    if ratio > t["exploding"]:
        return [f"exploding{where}: {first} is {ratio:.1e} times {last} (flagged above {t['exploding']:g})"]
    return []


def _activation_name(m: nn.Module) -> str:
    return "maxout" if isinstance(m, Maxout) else _NAMES.get(type(m), type(m).__name__)


def _finite(t: torch.Tensor | None) -> bool:
    return t is None or bool(torch.isfinite(t).all())


def diagnose(
    net: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    loss_fn: Callable = nn.functional.cross_entropy,
    lr: float | None = None,
) -> Diagnosis:
    """One forward and backward pass of ``net`` on ``(X, y)``, read as a :class:`Diagnosis`.

    ``loss_fn(net(X), y)`` must be a scalar (cross-entropy by default). With ``lr``, each
    layer's update-to-weight ratio is that of one plain SGD step at that rate,
    ``lr * ||grad W|| / ||W||``. A :class:`gradbook.RecurrentNet` is run step by step
    (its ``unroll``), so that the gradient of every state is kept. The network is left in
    the mode it was in; its ``.grad`` fields hold the gradients of this pass.
    """
    module("net", net)
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor) or X.shape[0] != y.shape[0]:
        raise ValueError("X and y must be tensors with one row of y per row of X")
    if X.shape[0] < 2:
        raise ValueError("diagnose needs a batch of at least 2 examples (dead units are judged over the batch)")
    if lr is not None:
        lr = real("lr", lr, positive=True)
    weights = [(name, p) for name, p in net.named_parameters() if p.ndim >= 2]
    if not weights:
        raise ValueError("net has no weight matrix (no parameter with two or more dimensions)")
    kinds = (*ACTIVATIONS.values(), Maxout)
    acts = [m for m in net.modules() if isinstance(m, kinds) and not isinstance(m, nn.Identity)]
    outputs: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: outputs.append(out.detach())) for m in acts]
    for p in net.parameters():
        p.grad = None
    states = []
    try:
        if isinstance(net, RecurrentNet):
            for state in net.unroll(X)[1:]:
                parts = state if isinstance(state, tuple) else (state,)
                for part in parts:
                    part.retain_grad()
                states.append(parts)
            loss = loss_fn(net.readout(states[-1][0]), y)  # h_T (of an LSTM's (h_T, c_T))
        else:
            loss = loss_fn(net(X), y)
    finally:
        for h in hooks:
            h.remove()
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError("loss_fn(net(X), y) must return a scalar tensor")
    loss.backward()

    nonfinite = [] if _finite(loss.detach()) else ["loss"]
    layers = []
    for i, (name, W) in enumerate(weights, start=1):
        g = W.grad
        gn = 0.0 if g is None else float(g.detach().double().norm())  # no gradient: unused this pass
        wn = float(W.detach().double().norm())
        if not _finite(g):
            nonfinite.append(f"layer {i} gradient")
        if not _finite(W.detach()):
            nonfinite.append(f"layer {i} weight")
        update = None if lr is None else (lr * gn / wn if wn > 0 else math.inf)
        layers.append(LayerReport(layer=i, name=name, grad_norm=gn, weight_norm=wn, update_to_weight=update))

    activations = []
    for i, (m, out) in enumerate(zip(acts, outputs, strict=True), start=1):
        name = _activation_name(m)
        flat = out.flatten(1).double()  # (examples, units)
        if not _finite(flat):
            nonfinite.append(f"activation {i}")
        saturated = None
        if name == "tanh":
            saturated = float((flat.abs() > THRESHOLDS["saturation"]).double().mean())
        elif name == "sigmoid":
            saturated = float(((2 * flat - 1).abs() > THRESHOLDS["saturation"]).double().mean())
        activations.append(ActivationReport(
            layer=i, activation=name, mean=float(flat.mean()), std=float(flat.std()),
            saturated=saturated, dead=float((flat == 0).all(dim=0).double().mean())))
    through_time = None
    if states:
        through_time = []
        for t, parts in enumerate(states, start=1):
            grads = [p.grad.double() if p.grad is not None else torch.zeros((), dtype=torch.float64)
                     for p in parts]
            g = torch.cat([x.flatten() for x in grads])
            if not _finite(g):
                nonfinite.append(f"state {t} gradient")
            through_time.append(float(g.norm()))
        through_time = tuple(through_time)
    return Diagnosis(loss=float(loss.detach()), layers=tuple(layers), activations=tuple(activations),
                     nonfinite=tuple(nonfinite), lr=lr, through_time=through_time)
