"""Checks for chapter 12's coding exercise (the update-to-weight ratio of one step)."""

from __future__ import annotations

import torch

from .._validate import generator
from ._common import _as_float64, _call, _compare, _fail, _instructor_reference, _pass, _require_callable

__all__ = ["check_update_ratios"]

D = torch.float64

#: What the reader's function may not call. The package has no function that computes these
#: ratios from the weights before and after a step (``gb.diagnose`` estimates them from the
#: gradient and a learning rate), so nothing is ruled out; the tuple is here for uniformity.
FORBIDDEN: tuple[str, ...] = ("gradbook_references.update_ratios",)


#: The ratios for the three documented steps of :func:`_cases`, as data: the reference
#: (the answer to the exercise) is not in the installed package; it is
#: instructor/gradbook_references.py, which the random steps (``seed=``) need, and a unit
#: test checks these against it.
EXPECTED = [
    [0.008161473783010867, 0.005487527832733476, 0.005255340341833453],
    [0.010000000000000007, 0.010000000000000009, 0.010000000000000016],
    [0.29887626494719843],
]


def _cases():
    """(name, before, after): the three documented steps."""
    gen = torch.Generator().manual_seed(12)

    def draw(*shape):
        return torch.randn(*shape, generator=gen, dtype=D)

    shapes = [(32, 64), (32, 32), (10, 32)]
    weights = [draw(*s) / s[1] ** 0.5 for s in shapes]
    angle = torch.tensor(0.3, dtype=D)
    rotation = torch.tensor([[torch.cos(angle), -torch.sin(angle)], [torch.sin(angle), torch.cos(angle)]])
    square = draw(2, 2)
    return [
        ("a small SGD step", weights, [W - 1e-3 * draw(*W.shape) for W in weights]),
        ("a weight-decay step", weights, [0.99 * W for W in weights]),
        ("a rotation", [square], [rotation @ square]),
    ]


def _random_cases(seed: int):
    """Fresh steps of the same kinds drawn from ``seed``: what a grader runs, on inputs no one has seen."""
    gen = generator(seed)

    def draw(*shape):
        return torch.randn(*shape, generator=gen, dtype=D)

    def randint(low, high):
        return int(torch.randint(low, high + 1, (), generator=gen))

    def uniform(low, high):
        return float(torch.empty((), dtype=D).uniform_(low, high, generator=gen))

    widths = [randint(2, 40) for _ in range(randint(3, 5))]  # a random MLP of 2 to 4 layers: one matrix per pair
    weights = [draw(n_out, n_in) / n_in**0.5 for n_in, n_out in zip(widths[:-1], widths[1:], strict=True)]
    lr = 10 ** uniform(-4, -2)
    decay = uniform(0.9, 0.999)
    n = randint(2, 6)
    Q, R = torch.linalg.qr(draw(n, n))
    rotation = Q * torch.sign(torch.diagonal(R))  # a random orthogonal matrix: the norm does not change
    square = draw(n, n)
    return [
        (f"a random SGD step of {len(weights)} layers", weights,
         [W - lr * draw(*W.shape) for W in weights]),
        (f"a random weight-decay step of {len(weights)} layers", weights,
         [decay * W for W in weights]),
        (f"a random rotation of a {n} x {n} layer", [square], [rotation @ square]),
    ]


def _hint(got: torch.Tensor, before, after, expected: torch.Tensor) -> str:
    """Name the usual mistakes: a difference of norms, the wrong denominator, no square root."""
    diff_of_norms = torch.stack([(a.norm() - b.norm()).abs() / b.norm() for b, a in zip(before, after, strict=True)])
    by_after = torch.stack([(a - b).norm() / a.norm() for b, a in zip(before, after, strict=True)])
    if torch.allclose(got, diff_of_norms, atol=1e-12):
        return (". Hint: take the norm of the difference, ||W_after - W_before||, not the "
                "difference of the norms: a step can change a matrix without changing its norm.")
    if torch.allclose(got, by_after, atol=1e-12):
        return ". Hint: divide by the norm of the weights before the step."
    if torch.allclose(got, expected**2, atol=1e-12):
        return ". Hint: a norm is the square root of the sum of squares."
    return ""


def check_update_ratios(fn, *, seed: int | None = None) -> bool:
    """Chapter 12: ``fn(before, after)`` takes two lists of weight tensors, the weights of
    each layer before and after one training step, and must return a 1-D tensor with one
    update-to-weight ratio per layer, ||W_after - W_before|| / ||W_before|| (Frobenius
    norms).

    Checked on three steps: small SGD updates of a three-layer network, a step that
    shrinks every weight (weight decay only) and a step that rotates a layer without
    changing its norm, where a ratio of the norms would report 0. With ``seed`` (an int)
    it runs on three fresh random steps of the same kinds drawn from that seed (random
    layer counts and sizes, learning rate, decay and rotation) instead.
    """
    _require_callable(fn, "fn(before, after)")
    cases = _cases() if seed is None else _random_cases(seed)
    reference = None if seed is None else _instructor_reference("update_ratios")
    for k, (name, before, after) in enumerate(cases):
        expected = torch.tensor(EXPECTED[k], dtype=D) if seed is None else reference(before, after)
        got, err = _call(fn, [W.clone() for W in before], [W.clone() for W in after], forbid=FORBIDDEN)
        if err:
            return _fail(f"on {name}, {err}")
        err = _compare(got, expected, f"the ratios on {name}", rtol=1e-8, atol=1e-12)
        if err and "differs" in err:
            err += _hint(_as_float64(got, "ratios")[0], before, after, expected)
        if err:
            return _fail(err)
    return _pass(f"your ratios are right on {len(cases)} steps, including one that keeps the norm.")
