"""Checks for chapter 2's coding exercises (the sigmoid bound)."""

from __future__ import annotations

import math

import torch

from .._validate import generator
from ..activations import gain_interval_width, sigmoid_second
from ._common import _as_float64, _call, _compare, _fail, _pass, _require_callable

__all__ = ["check_sigmoid_second", "check_gain_interval_width"]


#: What the reader's function may not call (the exercises say so); the checks enforce it.
FORBIDDEN_SECOND = ("gradbook.sigmoid_second", "autograd")
FORBIDDEN_WIDTH = ("gradbook.gain_interval_width",)


# --- sigma'' -------------------------------------------------------------------------------

def _second_cases():
    return [("33 points from -8 to 8", torch.linspace(-8, 8, 33, dtype=torch.float64))]


def _random_second_cases(seed: int):
    """Three fresh sets of points drawn from ``seed``: sorted grids of 5 to 60 points reaching
    out to between 4 and 12 on both sides, then points scattered at random, 0 among them."""
    gen = generator(seed)
    cases = []
    for k in range(3):
        n = int(torch.randint(5, 61, (), generator=gen))
        reach = float(torch.empty((), dtype=torch.float64).uniform_(4, 12, generator=gen))
        if k < 2:
            z = torch.linspace(-reach, reach, n, dtype=torch.float64)
        else:
            z = torch.cat([torch.zeros(1, dtype=torch.float64),
                           torch.empty(n, dtype=torch.float64).uniform_(-reach, reach, generator=gen)])
        where = f"from {-reach:.3g} to {reach:.3g}"
        description = f"{z.numel()} points {where}" if k < 2 else f"{z.numel()} random points {where}, 0 among them"
        cases.append((description, z))
    return cases


def _second_hint(got, z: torch.Tensor) -> str:
    got, _ = _as_float64(got, "")
    if got is not None and got.shape == z.shape:
        s = torch.sigmoid(z)
        if torch.allclose(got, -s * (1 - s) * (1 - 2 * s), rtol=1e-6, atol=1e-12):
            return ". Hint: the sign is wrong: sigma' grows for z < 0, so sigma'' is positive there."
        if torch.allclose(got, s * (1 - s), rtol=1e-6, atol=1e-12):
            return ". Hint: that is sigma' itself; differentiate it once more."
    return ". Hint: differentiate sigma(1 - sigma) with the product rule, using sigma' = sigma(1 - sigma)."


def check_sigmoid_second(fn, *, seed: int | None = None) -> bool:
    """Chapter 2: ``fn(z)`` must return sigma''(z) elementwise for a float64 tensor ``z``.

    The answer is compared with :func:`gradbook.sigmoid_second`, which ``fn`` may not call
    (nor autograd: :data:`FORBIDDEN_SECOND`). Without ``seed`` it runs on 33 points from -8
    to 8; with ``seed`` (an int) on three fresh random sets of points drawn from that seed,
    which is what a grader runs.
    """
    _require_callable(fn, "fn(z)")
    cases = _second_cases() if seed is None else _random_second_cases(seed)
    for description, z in cases:
        got, err = _call(fn, z.clone(), forbid=FORBIDDEN_SECOND)
        if err is None:
            err = _compare(got, sigmoid_second(z), "sigma''(z)")
            if err and "differs" in err:
                err += _second_hint(got, z)
        if err:
            return _fail(f"on {description}: {err}")
    what = "33 points from -8 to 8" if seed is None else f"{len(cases)} random sets of points"
    return _pass(f"your sigma'' matches the reference on {what}.")


# --- the width of the window where one neuron amplifies ------------------------------------

_WIDTH_CASES = [1.0, 3.9, 4.5, -6.9, 10.0, 25.0]


def _random_widths(seed: int) -> list[float]:
    """Six fresh weights drawn from ``seed``, each of random sign: one with |w| < 4 (an empty
    set), one just above 4, four between 5 and 40."""
    gen = generator(seed)
    u = torch.rand(6, generator=gen, dtype=torch.float64)
    sign = torch.where(torch.rand(6, generator=gen) < 0.5, -1.0, 1.0).to(torch.float64)
    magnitude = torch.cat([4 * u[:1], 4 + u[1:2], 5 + 35 * u[2:]])
    return [round(float(v), 4) for v in sign * magnitude]


def check_gain_interval_width(fn, *, seed: int | None = None) -> bool:
    """Chapter 2: ``fn(w)`` must return the width of the set of inputs ``a`` with
    ``|w sigma'(w a + b)| >= 1`` (0 when the set is empty), for a float ``w``.

    The answer is compared with :func:`gradbook.gain_interval_width`, which ``fn`` may not
    call (:data:`FORBIDDEN_WIDTH`). Without ``seed`` it runs for w in {1, 3.9, 4.5, -6.9,
    10, 25}; with ``seed`` (an int) for six fresh random weights drawn from that seed (one
    with |w| < 4, one just above 4, four up to |w| = 40, of either sign), which is what a
    grader runs.
    """
    _require_callable(fn, "fn(w)")
    weights = _WIDTH_CASES if seed is None else _random_widths(seed)
    for w in weights:
        got, err = _call(fn, w, forbid=FORBIDDEN_WIDTH)
        if err is None:
            try:
                got = float(got)
            except (TypeError, ValueError):
                err = f"return a number, got {type(got).__name__}"
        if err is None:
            expected = gain_interval_width(w)
            if not math.isfinite(got):
                err = f"for w = {w} you returned {got}"
            elif abs(got - expected) > 1e-3 + 1e-3 * expected:
                direction = "too large" if got > expected else "too small"
                if expected == 0:
                    hint = " (the set is empty when |w| < 4)"
                elif abs(got - expected * abs(w)) <= 1e-3 * expected * abs(w):
                    hint = " (that is the width in z = w a + b; the window in a is narrower by the factor 1/|w|)"
                elif w < 0:
                    hint = " (is your answer symmetric in the sign of w?)"
                else:
                    hint = ""
                err = f"for w = {w} your width is {direction}{hint}"
        if err:
            return _fail(err)
    what = "w in {1, 3.9, 4.5, -6.9, 10, 25}" if seed is None else f"{len(weights)} random weights w"
    return _pass(f"your widths match for {what}.")
