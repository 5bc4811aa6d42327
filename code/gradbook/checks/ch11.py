"""Checks for chapter 11's coding exercise (the Jacobian of a residual block)."""

from __future__ import annotations

import torch

from .._validate import generator
from ._common import _as_float64, _call, _compare, _fail, _pass, _require_callable

__all__ = ["check_residual_jacobian"]

D = torch.float64

#: What the reader's Jacobian may not call (the exercise says so); the check enforces it:
#: autograd, and the package's Jacobians (``I + gb.net_jacobian(W, h)`` is the answer).
FORBIDDEN = ("autograd", "gradbook.net_jacobian", "gradbook.layer_jacobians", "gradbook.input_output_jacobian")


def _block(h, W, b):
    return h + W @ torch.tanh(h) + b


def _cases():
    """(name, h, W, b): the three documented blocks."""
    gen = torch.Generator().manual_seed(11)

    def draw(*shape):
        return torch.randn(*shape, generator=gen, dtype=D)

    cases = [
        ("n = 5, small weights", draw(5), 0.1 * draw(5, 5)),
        ("n = 8, large weights", draw(8), 2.0 * draw(8, 8)),
        ("n = 3, saturated units", torch.tensor([4.0, -3.0, 0.2], dtype=D), draw(3, 3)),
    ]
    return [(name, h, W, draw(len(h))) for name, h, W in cases]


def _random_cases(seed: int):
    """Fresh blocks of the same kinds drawn from ``seed``: what a grader runs, on inputs no one has seen."""
    gen = generator(seed)

    def draw(*shape):
        return torch.randn(*shape, generator=gen, dtype=D)

    def randint(low, high):
        return int(torch.randint(low, high + 1, (), generator=gen))

    def uniform(low, high, *shape):
        return torch.empty(shape, dtype=D).uniform_(low, high, generator=gen)

    cases = []
    n = randint(2, 8)
    cases.append((f"a random block, n = {n}, small weights", draw(n), float(uniform(0.05, 0.3)) * draw(n, n)))
    n = randint(2, 8)
    cases.append((f"a random block, n = {n}, large weights", draw(n), float(uniform(1.5, 3.0)) * draw(n, n)))
    n = randint(2, 5)
    h = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0).to(D) * uniform(2.5, 5.0, n)
    h[randint(0, n - 1)] = float(uniform(-0.5, 0.5))  # one unit away from saturation
    cases.append((f"a random block, n = {n}, saturated units", h, draw(n, n)))
    cases.append(("a random block, n = 1", draw(1), draw(1, 1)))
    return [(name, h, W, draw(len(h))) for name, h, W in cases]


def _hint(J: torch.Tensor, h: torch.Tensor, W: torch.Tensor) -> str:
    """Name the usual mistakes: no shortcut, f' on the rows, tanh for its derivative."""
    d = 1 - torch.tanh(h) ** 2
    eye = torch.eye(len(h), dtype=D)
    if torch.allclose(J, W * d, atol=1e-9):
        return ". Hint: the shortcut contributes too: dy/dh = I + (the branch's Jacobian)."
    if torch.allclose(J, eye + d[:, None] * W, atol=1e-9):
        return (". Hint: f'(h) scales the columns, not the rows: dy_i/dh_j = W_ij f'(h_j), "
                "so the branch's Jacobian is W diag(f'(h)).")
    if torch.allclose(J, eye + W * torch.tanh(h), atol=1e-9):
        return ". Hint: you used tanh(h) where its derivative 1 - tanh(h)^2 belongs."
    return ""


def check_residual_jacobian(fn, *, seed: int | None = None) -> bool:
    """Chapter 11: ``fn(h, W, b)`` must return the Jacobian dy/dh, an (n, n) tensor, of the
    residual block ``y = h + W tanh(h) + b`` at the point ``h`` (a 1-D float64 tensor).

    The reference is ``torch.autograd.functional.jacobian`` on three blocks: n = 5 with
    small weights, n = 8 with large ones, and n = 3 at a point where tanh saturates.
    Row i, column j of the answer is dy_i/dh_j. ``fn`` may not call :data:`FORBIDDEN`
    (autograd and the package's Jacobians). With ``seed`` (an int) it runs on four fresh
    random blocks drawn from that seed (small and large weights, saturated units, n = 1)
    instead.
    """
    _require_callable(fn, "fn(h, W, b)")
    cases = _cases() if seed is None else _random_cases(seed)
    for name, h, W, b in cases:
        expected = torch.autograd.functional.jacobian(lambda v, W=W, b=b: _block(v, W, b), h)
        got, err = _call(fn, h.clone(), W.clone(), b.clone(), forbid=FORBIDDEN)
        if err:
            return _fail(f"on {name}, {err}")
        err = _compare(got, expected, f"the Jacobian on {name}", rtol=1e-8, atol=1e-10)
        if err and "differs" in err:
            err += _hint(_as_float64(got, "J")[0], h, W)
        if err:
            return _fail(err)
    return _pass(f"your Jacobian matches autograd on {len(cases)} blocks, including saturated units.")
