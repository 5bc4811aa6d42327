"""Checks for chapter 12's coding exercise (the update-to-weight ratio of one step)."""

from __future__ import annotations

import torch

from ._common import _as_float64, _call, _compare, _fail, _pass, _require_callable

__all__ = ["check_update_ratios"]


def _ratios(before, after):
    return torch.stack([(a - b).norm() / b.norm() for b, a in zip(before, after, strict=True)])


def check_update_ratios(fn) -> bool:
    """Chapter 12: ``fn(before, after)`` takes two lists of weight tensors, the weights of
    each layer before and after one training step, and must return a 1-D tensor with one
    update-to-weight ratio per layer, ||W_after - W_before|| / ||W_before|| (Frobenius
    norms).

    Checked on three steps: small SGD updates of a three-layer network, a step that
    shrinks every weight (weight decay only) and a step that rotates a layer without
    changing its norm, where a ratio of the norms would report 0.
    """
    _require_callable(fn, "fn(before, after)")
    gen = torch.Generator().manual_seed(12)
    D = torch.float64

    def draw(*shape):
        return torch.randn(*shape, generator=gen, dtype=D)

    shapes = [(32, 64), (32, 32), (10, 32)]
    weights = [draw(*s) / s[1] ** 0.5 for s in shapes]
    angle = torch.tensor(0.3, dtype=D)
    rotation = torch.tensor([[torch.cos(angle), -torch.sin(angle)], [torch.sin(angle), torch.cos(angle)]])
    square = draw(2, 2)
    cases = [
        ("a small SGD step", weights, [W - 1e-3 * draw(*W.shape) for W in weights]),
        ("a weight-decay step", weights, [0.99 * W for W in weights]),
        ("a rotation", [square], [rotation @ square]),
    ]
    for name, before, after in cases:
        expected = _ratios(before, after)
        got, err = _call(fn, [W.clone() for W in before], [W.clone() for W in after])
        if err:
            return _fail(f"on {name}, {err}")
        err = _compare(got, expected, f"the ratios on {name}", rtol=1e-8, atol=1e-12)
        if err and "differs" in err:
            g = _as_float64(got, "ratios")[0]
            diff_of_norms = torch.stack([(a.norm() - b.norm()).abs() / b.norm()
                                         for b, a in zip(before, after, strict=True)])
            by_after = torch.stack([(a - b).norm() / a.norm() for b, a in zip(before, after, strict=True)])
            squared = expected ** 2
            if torch.allclose(g, diff_of_norms, atol=1e-12):
                err += (". Hint: take the norm of the difference, ||W_after - W_before||, not the "
                        "difference of the norms: a step can change a matrix without changing its norm.")
            elif torch.allclose(g, by_after, atol=1e-12):
                err += ". Hint: divide by the norm of the weights before the step."
            elif torch.allclose(g, squared, atol=1e-12):
                err += ". Hint: a norm is the square root of the sum of squares."
        if err:
            return _fail(err)
    return _pass("your ratios are right on three steps, including one that keeps the norm.")
