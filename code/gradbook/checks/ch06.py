"""Checks for chapter 6's coding exercises (activation functions and dead units)."""

from __future__ import annotations

import math

import torch
from torch import nn

from ._common import _as_float64, _call, _compare, _fail, _pass, _require_callable

__all__ = ["check_selu_prime", "check_dead_unit_fraction"]

# Klambauer et al.'s constants, written out here so the check does not lean on the package.
_ALPHA = 1.6732632423543772848170429916717
_LAMBDA = 1.0507009873554804934193349852946


def _selu_hint(z: torch.Tensor, got: torch.Tensor) -> str:
    pos, neg = z > 0, z < 0
    if torch.allclose(got[pos], torch.ones_like(got[pos])):
        return ". Hint: for z > 0 the slope is lambda (about 1.0507), not 1: SELU is lambda times an ELU."
    if not torch.allclose(got[pos], torch.full_like(got[pos], _LAMBDA)):
        return ". Hint: for z > 0, SELU(z) = lambda z, so its derivative is the constant lambda."
    e = torch.exp(z[neg])
    if torch.allclose(got[neg], _LAMBDA * e):
        return ". Hint: for z <= 0 you are missing the factor alpha (about 1.6733)."
    if torch.allclose(got[neg], _ALPHA * e):
        return ". Hint: for z <= 0 you are missing the factor lambda."
    if torch.allclose(got[neg], _LAMBDA * _ALPHA * (e - 1)):
        return ". Hint: that is SELU itself for z <= 0; differentiate alpha (e^z - 1)."
    return ". Hint: for z <= 0, SELU(z) = lambda alpha (e^z - 1), whose derivative is lambda alpha e^z."


def check_selu_prime(fn) -> bool:
    """Chapter 6: ``fn(z)`` must return SELU'(z) elementwise for a float64 tensor ``z``.

    The reference is ``torch.autograd`` applied to ``torch.nn.functional.selu`` on 49
    points from -5.97 to 6.03 (z = 0 itself, where the derivative jumps, is avoided).
    """
    _require_callable(fn, "fn(z)")
    z = torch.linspace(-6, 6, 49, dtype=torch.float64) + 0.03
    leaf = z.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(nn.functional.selu(leaf).sum(), leaf)
    got, err = _call(fn, z.clone())
    if err is None:
        err = _compare(got, expected, "SELU'(z)", rtol=1e-6, atol=1e-12)
        if err and "differs" in err:
            err += _selu_hint(z, _as_float64(got, "SELU'(z)")[0])
    if err:
        return _fail(err)
    return _pass("your SELU' matches autograd on 49 points from -5.97 to 6.03.")


def _reference_dead_fraction(net: nn.Sequential, X: torch.Tensor) -> tuple[float, list[float]]:
    """The fraction of dead hidden units, and two wrong answers: the fraction of zero
    outputs over all (unit, example) pairs, and the mean of that fraction per layer."""
    dead, zeros, a = [], [], X
    with torch.no_grad():
        for module in net:
            a = module(a)
            if not isinstance(module, nn.Linear):  # an activation layer: a is (examples, units)
                dead.append((a == 0).all(dim=0))
                zeros.append((a == 0).double().mean(dim=0))
    wrong = [float(torch.cat(zeros).mean()), float(torch.stack([z.mean() for z in zeros]).mean())]
    return float(torch.cat(dead).double().mean()), wrong


def _check_net(kind: str, seed: int) -> tuple[nn.Sequential, torch.Tensor]:
    """A small network with some dead units planted in it, and the inputs to test it on."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.rand(200, 5, generator=gen, dtype=torch.float64) * 2 - 1  # (examples, features)
    act = {"relu": nn.ReLU, "leaky": nn.LeakyReLU}[kind]
    layers = [nn.Linear(5, 12), act(), nn.Linear(12, 8), act(), nn.Linear(8, 3)]
    net = nn.Sequential(*layers).double()
    with torch.no_grad():
        for layer in net:
            if isinstance(layer, nn.Linear):
                layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen, dtype=torch.float64))
                layer.bias.zero_()
        net[0].bias[:3] = -100.0  # three units of layer 1 never switch on ...
        net[2].bias[:2] = -100.0  # ... nor two of layer 2
        net[2].bias[2] = -2.0  # and this one is off for most inputs, but not all
    return net, X


def check_dead_unit_fraction(fn) -> bool:
    """Chapter 6: ``fn(net, X)`` must return the fraction of hidden units of the
    ``nn.Sequential`` ``net`` whose output is exactly 0 for every row of ``X``, as a number."""
    _require_callable(fn, "fn(net, X)")
    for kind, seed in [("relu", 0), ("relu", 1), ("leaky", 2)]:
        net, X = _check_net(kind, seed)
        expected, zero_pairs = _reference_dead_fraction(net, X)
        got, err = _call(fn, net, X.clone())
        if err is None:
            try:
                got = float(got)
            except (TypeError, ValueError, RuntimeError):
                err = f"return one number (a float), got {type(got).__name__}"
        if err is None and (not math.isfinite(got) or abs(got - expected) > 1e-9):
            err = f"you have {got:.6g}, the fraction of dead units is {expected:.6g}."
            if any(abs(got - w) < 1e-6 for w in zero_pairs):
                err += (" You measured how often units output 0; a unit is dead only if it outputs"
                        " 0 for every example.")
            elif kind == "leaky":
                err += " A leaky unit outputs a z < 0 for z < 0, which is not 0: leaky units do not die."
        if err:
            return _fail(f"on a {kind} network with 20 hidden units (test seed {seed}): {err}")
    return _pass("your counter finds the planted dead units and ignores the merely sleepy ones.")
