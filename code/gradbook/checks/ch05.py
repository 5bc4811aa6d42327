"""Checks for chapter 5's coding exercises (initialisation).

The reader writes the weight standard deviation that keeps a signal's second moment
unchanged through one layer, forward (``n_in Var[W] E[f(z)^2] = 1``) or backward
(``n_out Var[W] E[f'(z)^2] = 1``), for pre-activations z ~ N(0, 1). The references are
computed here by Gauss-Legendre quadrature, independently of whatever method the reader uses
(the package has no function for these expectations, so the check keeps its own).
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from .._validate import generator
from ._common import _call, _fail, _instructor_reference, _pass, _require_callable

__all__ = ["check_forward_std", "check_backward_std"]

#: What the reader's function may not call: a table of gains per activation (the exercise asks for
#: the expectations), and the instructor's quadrature.
FORBIDDEN = ("torch.nn.init.calculate_gain", "gradbook_references.normal_moments")

# (name shown to the reader, the activation as a function of a float64 tensor, a layer width)
_CASES = [
    ("relu", torch.relu, 64),
    ("tanh", torch.tanh, 100),
    ("sigmoid", torch.sigmoid, 30),
    ("identity", lambda z: z, 256),
    ("selu", F.selu, 50),
    ("leaky_relu with slope 0.2", lambda z: F.leaky_relu(z, 0.2), 80),
]
_RTOL = 1e-2  # loose enough for a Monte Carlo estimate with 10^5 or more samples


def _random_cases(seed: int):
    """Six fresh (name, activation, width) cases drawn from ``seed``: six of eight families (the
    rectifiers, with a kink at 0; scaled tanh and sigmoid; SELU; softplus; a scaled identity), with
    random slopes and scales where the family has one and random widths from 1 to 512."""
    gen = generator(seed)

    def uniform(lo, hi):
        return round(float(torch.empty((), dtype=torch.float64).uniform_(lo, hi, generator=gen)), 3)

    def family(k):
        if k == 0:
            return "relu", torch.relu
        if k == 1:
            a = uniform(0.01, 0.5)
            return f"leaky_relu with slope {a}", lambda z: F.leaky_relu(z, a)
        if k == 2:
            a = uniform(0.5, 2.0)
            return f"elu with alpha {a}", lambda z: F.elu(z, a)
        if k == 3:
            c = uniform(0.5, 2.0)
            return f"tanh({c} z)", lambda z: torch.tanh(c * z)
        if k == 4:
            c = uniform(0.5, 3.0)
            return f"sigmoid({c} z)", lambda z: torch.sigmoid(c * z)
        if k == 5:
            return "selu", F.selu
        if k == 6:
            return "softplus", F.softplus
        c = uniform(0.5, 2.0)
        return f"{c} z (a scaled identity)", lambda z: c * z

    kinds = torch.randperm(8, generator=gen)[:6].tolist()
    return [(*family(k), int(torch.randint(1, 513, (), generator=gen))) for k in kinds]


#: E[f(z)], E[f(z)^2] and E[f'(z)^2], z ~ N(0, 1), for the documented cases of :data:`_CASES`, in
#: order, as data: the quadrature that computes them (an answer to the exercise) is not in the
#: installed package; it is instructor/gradbook_references.py, which the random cases (``seed=``)
#: need, and a unit test checks these numbers against it.
EXPECTED_MOMENTS = [
    {"mean": 0.39894228040143265, "second": 0.5, "slope_second": 0.49999999999999994},
    {"mean": -4.262208603511758e-18, "second": 0.39429449039784115, "slope_second": 0.46440290244826826},
    {"mean": 0.5, "second": 0.29337903585809294, "slope_second": 0.04483624135019437},
    {"mean": -2.038675475279389e-18, "second": 1.0, "slope_second": 1.0},
    {"mean": 1.3986208025063007e-17, "second": 0.9999999999999999, "slope_second": 1.0715749924557993},
    {"mean": 0.31915382432114614, "second": 0.52, "slope_second": 0.52},
]


def _as_number(value) -> tuple[float | None, str | None]:
    try:
        number = float(value)
    except (TypeError, ValueError, RuntimeError):
        return None, f"return one number (a float), got {type(value).__name__}"
    if not math.isfinite(number):
        return None, f"your function returned {number}"
    return number, None


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _RTOL * abs(b)


def _check(fn, direction: str, seed: int | None) -> bool:
    fan = "fan_in" if direction == "forward" else "fan_out"
    _require_callable(fn, f"fn(f, {fan})")
    cases = _CASES if seed is None else _random_cases(seed)
    moments = None if seed is None else _instructor_reference("normal_moments")
    for k, (name, f, n) in enumerate(cases):
        m = EXPECTED_MOMENTS[k] if seed is None else moments(f)
        expected = 1.0 / math.sqrt(n * (m["second"] if direction == "forward" else m["slope_second"]))
        got, err = _call(fn, f, n, forbid=FORBIDDEN)
        if err is None:
            got, err = _as_number(got)
        if err is None and not _close(got, expected):
            err = f"for {name} with {fan} = {n} your std is {'too large' if got > expected else 'too small'}"
            variance = m["second"] - m["mean"] ** 2
            if _close(got, expected**2):
                err += ". Return the standard deviation, not the variance"
            elif _close(got, expected * math.sqrt(n)):
                err += f". Remember to divide the variance by {fan}"
            elif direction == "forward" and variance > 0 and _close(got, 1.0 / math.sqrt(n * variance)):
                err += (". You used the variance of f(z); the rule needs its second moment E[f(z)^2], "
                        "because the weights have mean zero but the activations need not")
            elif direction == "backward" and _close(got, 1.0 / math.sqrt(n * m["second"])):
                err += ". That is the forward rule: going backward, the factor is the derivative f'(z), not f(z)"
        if err:
            return _fail(err)
    if seed is None:
        return _pass(f"your {direction} std matches the reference for relu, tanh, sigmoid, identity, selu and "
                     "leaky ReLU.")
    return _pass(f"your {direction} std matches the reference for {len(cases)} random activations and widths.")


def check_forward_std(fn, *, seed: int | None = None) -> bool:
    """Chapter 5: ``fn(f, fan_in)`` must return the weight std sigma with
    ``fan_in * sigma**2 * E[f(z)**2] = 1`` for z ~ N(0, 1), where ``f`` is an elementwise
    activation that takes a float64 tensor.

    The answer must be within 1% of a quadrature; ``fn`` may not look the gain up
    (:data:`FORBIDDEN`). Without ``seed`` it runs for relu, tanh, sigmoid, identity, selu
    and a leaky ReLU at documented widths; with ``seed`` (an int) for six fresh random
    activations (with random slopes and scales) and widths drawn from that seed, which is
    what a grader runs."""
    return _check(fn, "forward", seed)


def check_backward_std(fn, *, seed: int | None = None) -> bool:
    """Chapter 5: ``fn(f, fan_out)`` must return the weight std sigma with
    ``fan_out * sigma**2 * E[f'(z)**2] = 1`` for z ~ N(0, 1), where ``f`` is an elementwise
    activation that takes a float64 tensor.

    The cases, ``seed`` and :data:`FORBIDDEN` are as for :func:`check_forward_std`."""
    return _check(fn, "backward", seed)
