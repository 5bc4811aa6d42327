"""Checks for chapter 6's coding exercises (activation functions and dead units)."""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validate import generator
from ..activations import SELU_ALPHA, SELU_LAMBDA, selu_prime
from ..models import _blank_linear
from ..probes import dead_units
from ._common import _as_float64, _call, _compare, _fail, _pass, _require_callable

__all__ = ["check_selu_prime", "check_dead_unit_fraction"]

#: What the reader's SELU' may not call (the exercise says so); the check enforces it.
FORBIDDEN_SELU = ("gradbook.selu_prime", "gradbook.elu_prime", "autograd")
#: What the reader's dead-unit counter may not call (the exercise says so).
FORBIDDEN_DEAD = ("gradbook.dead_units", "gradbook.dead_unit_fraction")


# --- SELU' ---------------------------------------------------------------------------------

def _selu_points(seed: int | None) -> list[tuple[str, torch.Tensor]]:
    """The documented 49 points, or three fresh sets drawn from ``seed``: 10 to 80 points on
    each side of 0 reaching out to between 3 and 10, never nearer to 0 than 1e-3 (the
    derivative jumps there)."""
    if seed is None:
        return [("49 points from -5.97 to 6.03", torch.linspace(-6, 6, 49, dtype=torch.float64) + 0.03)]
    gen = generator(seed)
    cases = []
    for _ in range(3):
        n = int(torch.randint(5, 41, (), generator=gen))
        reach = float(torch.empty((), dtype=torch.float64).uniform_(3, 10, generator=gen))
        side = torch.empty(2 * n, dtype=torch.float64).uniform_(1e-3, reach, generator=gen)
        z = side * torch.cat([-torch.ones(n, dtype=torch.float64), torch.ones(n, dtype=torch.float64)])
        z = z[torch.randperm(2 * n, generator=gen)]
        cases.append((f"{2 * n} random points from {-reach:.3g} to {reach:.3g}", z))
    return cases


def _selu_hint(z: torch.Tensor, got: torch.Tensor) -> str:
    pos, neg = z > 0, z < 0
    if torch.allclose(got[pos], torch.ones_like(got[pos])):
        return ". Hint: for z > 0 the slope is lambda (about 1.0507), not 1: SELU is lambda times an ELU."
    if not torch.allclose(got[pos], torch.full_like(got[pos], SELU_LAMBDA)):
        return ". Hint: for z > 0, SELU(z) = lambda z, so its derivative is the constant lambda."
    e = torch.exp(z[neg])
    if torch.allclose(got[neg], SELU_LAMBDA * e):
        return ". Hint: for z <= 0 you are missing the factor alpha (about 1.6733)."
    if torch.allclose(got[neg], SELU_ALPHA * e):
        return ". Hint: for z <= 0 you are missing the factor lambda."
    if torch.allclose(got[neg], SELU_LAMBDA * SELU_ALPHA * (e - 1)):
        return ". Hint: that is SELU itself for z <= 0; differentiate alpha (e^z - 1)."
    return ". Hint: for z <= 0, SELU(z) = lambda alpha (e^z - 1), whose derivative is lambda alpha e^z."


def check_selu_prime(fn, *, seed: int | None = None) -> bool:
    """Chapter 6: ``fn(z)`` must return SELU'(z) elementwise for a float64 tensor ``z``.

    The answer is compared with :func:`gradbook.selu_prime`, which ``fn`` may not call (nor
    :func:`gradbook.elu_prime` or autograd: :data:`FORBIDDEN_SELU`). Without ``seed`` it
    runs on 49 points from -5.97 to 6.03 (z = 0 itself, where the derivative jumps, is
    avoided); with ``seed`` (an int) on three fresh random sets of points on both sides of
    0 drawn from that seed, which is what a grader runs.
    """
    _require_callable(fn, "fn(z)")
    cases = _selu_points(seed)
    for description, z in cases:
        got, err = _call(fn, z.clone(), forbid=FORBIDDEN_SELU)
        if err is None:
            err = _compare(got, selu_prime(z), "SELU'(z)", rtol=1e-6, atol=1e-12)
            if err and "differs" in err:
                err += _selu_hint(z, _as_float64(got, "SELU'(z)")[0])
        if err:
            return _fail(f"on {description}: {err}")
    what = "49 points from -5.97 to 6.03" if seed is None else f"{len(cases)} random sets of points"
    return _pass(f"your SELU' matches the reference on {what}.")


# --- dead units ------------------------------------------------------------------------------

def _expected_fraction(net: nn.Sequential, X: torch.Tensor) -> float:
    """The package's dead units (chapter 6), their fraction in float64; called by the check, never by the reader."""
    return float(torch.cat(dead_units(net, X)).double().mean())


def _wrong_fractions(net: nn.Sequential, X: torch.Tensor) -> dict[str, float]:
    """What the usual mistakes give: how often units output 0 (over all unit-example pairs, or per
    layer and then averaged), the mean of the layers' dead fractions, and the count of dead units."""
    zeros, a = [], X
    with torch.no_grad():
        for module in net:
            a = module(a)
            if not isinstance(module, nn.Linear):  # an activation layer: a is (examples, units)
                zeros.append((a == 0).double().mean(dim=0))
    dead = dead_units(net, X)
    return {"zero_pairs": float(torch.cat(zeros).mean()),
            "zero_layers": float(torch.stack([z.mean() for z in zeros]).mean()),
            "layer_mean": float(torch.stack([d.double().mean() for d in dead]).mean()),
            "count": float(torch.cat(dead).double().sum())}


def _build(widths: list[int], kind: str, gen: torch.Generator) -> nn.Sequential:
    """An ``nn.Sequential`` of float64 linear layers (N(0, 1) weights, zero biases) and ``kind``
    activations between them, built without touching the global generator."""
    act = {"relu": nn.ReLU, "leaky": nn.LeakyReLU}[kind]
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        linear = _blank_linear(n_in, n_out, torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(linear.weight.shape, generator=gen, dtype=torch.float64))
            linear.bias.zero_()
        layers.append(linear)
        if i < len(widths) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def _check_net(kind: str, seed: int) -> tuple[nn.Sequential, torch.Tensor]:
    """A documented small network with some dead units planted in it, and the inputs to test it on."""
    gen = generator(seed)
    X = torch.rand(200, 5, generator=gen, dtype=torch.float64) * 2 - 1  # (examples, features)
    net = _build([5, 12, 8, 3], kind, gen)
    with torch.no_grad():
        net[0].bias[:3] = -100.0  # three units of layer 1 never switch on ...
        net[2].bias[:2] = -100.0  # ... nor two of layer 2
        net[2].bias[2] = -2.0  # and this one is off for most inputs, but not all
    return net, X


def _random_net(kind: str, gen: torch.Generator) -> tuple[nn.Sequential, torch.Tensor]:
    """A fresh network: 1 to 3 hidden layers of 4 to 16 units; in each, up to 3 planted dead units
    and one that is off for about 90% of the inputs (its bias set from the inputs it sees)."""
    def rint(lo, hi):
        return int(torch.randint(lo, hi + 1, (), generator=gen))

    widths = [rint(2, 8)] + [rint(4, 16) for _ in range(rint(1, 3))] + [rint(1, 4)]
    X = torch.rand(rint(50, 300), widths[0], generator=gen, dtype=torch.float64) * 2 - 1
    net = _build(widths, kind, gen)
    with torch.no_grad():
        a = X
        for linear, act in zip(net[0:-1:2], net[1::2], strict=True):
            units = torch.randperm(linear.out_features, generator=gen)
            planted = rint(0, min(3, linear.out_features - 2))
            linear.bias[units[:planted]] = -100.0
            sleepy = int(units[planted])
            z = a @ linear.weight[sleepy]  # the unit's input without its bias
            linear.bias[sleepy] = -float(torch.quantile(z, 0.9)) + 1e-9 if float(z.max() - z.min()) > 0 else -1.0
            a = act(linear(a))
    return net, X


def _dead_cases(seed: int | None):
    """(kind, description, net, X) of the documented three networks, or of four drawn from ``seed``."""
    if seed is None:
        return [(kind, f"a {kind} network with 20 hidden units (test seed {s})", *_check_net(kind, s))
                for kind, s in [("relu", 0), ("relu", 1), ("leaky", 2)]]
    gen = generator(seed)
    cases = []
    for k, kind in enumerate(["relu", "relu", "leaky", "relu"]):
        net, X = _random_net(kind, gen)
        hidden = sum(m.out_features for m in net[0:-1:2])
        cases.append((kind, f"random {kind} network {k + 1} with {hidden} hidden units", net, X))
    return cases


def check_dead_unit_fraction(fn, *, seed: int | None = None) -> bool:
    """Chapter 6: ``fn(net, X)`` must return the fraction of hidden units of the
    ``nn.Sequential`` ``net`` whose output is exactly 0 for every row of ``X``, as a number.

    The answer is compared with :func:`gradbook.dead_units`, which ``fn`` may not call (nor
    :func:`gradbook.dead_unit_fraction`: :data:`FORBIDDEN_DEAD`). Without ``seed`` it runs
    on three documented networks with planted dead units; with ``seed`` (an int) on four
    fresh random networks of the same kind (three ReLU, one leaky) drawn from that seed,
    which is what a grader runs.
    """
    _require_callable(fn, "fn(net, X)")
    cases = _dead_cases(seed)
    for kind, description, net, X in cases:
        expected = _expected_fraction(net, X)
        got, err = _call(fn, net, X.clone(), forbid=FORBIDDEN_DEAD)
        if err is None:
            try:
                got = float(got)
            except (TypeError, ValueError, RuntimeError):
                err = f"return one number (a float), got {type(got).__name__}"
        if err is None and (not math.isfinite(got) or abs(got - expected) > 1e-6):
            err = (f"your fraction is {'too large' if got > expected else 'too small'}." if math.isfinite(got)
                   else f"you returned {got}.")
            wrong = _wrong_fractions(net, X)
            if any(abs(got - wrong[k]) < 1e-6 for k in ("zero_pairs", "zero_layers")):
                err += (" You measured how often units output 0; a unit is dead only if it outputs"
                        " 0 for every example.")
            elif kind == "leaky":
                err += " A leaky unit outputs a z < 0 for z < 0, which is not 0: leaky units do not die."
            elif expected > 0 and abs(got - wrong["count"]) < 1e-6:
                err += " Return the fraction of hidden units, not their number."
            elif abs(got - wrong["layer_mean"]) < 1e-6:
                err += (" You averaged the layers' fractions; count the dead units of all layers together"
                        " and divide by the number of all hidden units.")
        if err:
            return _fail(f"on {description}: {err}")
    return _pass("your counter finds the planted dead units and ignores the merely sleepy ones.")
