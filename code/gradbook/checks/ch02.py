"""Checks for chapter 2's coding exercises (the sigmoid bound)."""

from __future__ import annotations

import math

import torch

from ..activations import gain_interval_width, sigmoid_second
from ._common import _call, _compare, _fail, _pass, _require_callable

__all__ = ["check_sigmoid_second", "check_gain_interval_width"]


def check_sigmoid_second(fn) -> bool:
    """Chapter 2: ``fn(z)`` must return sigma''(z) elementwise for a float64 tensor ``z``."""
    _require_callable(fn, "fn(z)")
    z = torch.linspace(-8, 8, 33, dtype=torch.float64)
    got, err = _call(fn, z.clone())
    if err is None:
        err = _compare(got, sigmoid_second(z), "sigma''(z)")
        if err and "differs" in err:
            err += ". Hint: differentiate sigma(1 - sigma) with the product rule, using sigma' = sigma(1 - sigma)."
    if err:
        return _fail(err)
    return _pass("your sigma'' matches the reference on 33 points from -8 to 8.")


def check_gain_interval_width(fn) -> bool:
    """Chapter 2: ``fn(w)`` must return the width of the set of inputs ``a`` with
    ``|w sigma'(w a + b)| >= 1`` (0 when the set is empty), for a float ``w``."""
    _require_callable(fn, "fn(w)")
    for w in [1.0, 3.9, 4.5, -6.9, 10.0, 25.0]:
        got, err = _call(fn, w)
        if err is None:
            try:
                got = float(got)
            except (TypeError, ValueError):
                err = f"return a number, got {type(got).__name__}"
        if err is None:
            expected = gain_interval_width(w)
            if not math.isfinite(got) or abs(got - expected) > 1e-3 + 1e-3 * expected:
                hint = " (the set is empty when |w| < 4)" if expected == 0 else (
                    " (is your answer symmetric in the sign of w?)" if w < 0 else "")
                err = f"for w = {w} you have {got:.6g}, the width is {expected:.6g}{hint}"
        if err:
            return _fail(err)
    return _pass("your widths match for w in {1, 3.9, 4.5, -6.9, 10, 25}.")
