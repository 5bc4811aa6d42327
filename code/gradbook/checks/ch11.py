"""Checks for chapter 11's coding exercise (the Jacobian of a residual block)."""

from __future__ import annotations

import torch

from ._common import _as_float64, _call, _compare, _fail, _pass, _require_callable

__all__ = ["check_residual_jacobian"]


def _block(h, W, b):
    return h + W @ torch.tanh(h) + b


def check_residual_jacobian(fn) -> bool:
    """Chapter 11: ``fn(h, W, b)`` must return the Jacobian dy/dh, an (n, n) tensor, of the
    residual block ``y = h + W tanh(h) + b`` at the point ``h`` (a 1-D float64 tensor).

    The reference is ``torch.autograd.functional.jacobian`` on three blocks: n = 5 with
    small weights, n = 8 with large ones, and n = 3 at a point where tanh saturates.
    Row i, column j of the answer is dy_i/dh_j.
    """
    _require_callable(fn, "fn(h, W, b)")
    gen = torch.Generator().manual_seed(11)
    D = torch.float64
    def draw(*shape):
        return torch.randn(*shape, generator=gen, dtype=D)

    cases = [
        ("n = 5, small weights", draw(5), 0.1 * draw(5, 5)),
        ("n = 8, large weights", draw(8), 2.0 * draw(8, 8)),
        ("n = 3, saturated units", torch.tensor([4.0, -3.0, 0.2], dtype=D), draw(3, 3)),
    ]
    for name, h, W in cases:
        b = draw(len(h))
        expected = torch.autograd.functional.jacobian(lambda v, W=W, b=b: _block(v, W, b), h)
        got, err = _call(fn, h.clone(), W.clone(), b.clone())
        if err:
            return _fail(f"on {name}, {err}")
        err = _compare(got, expected, f"the Jacobian on {name}", rtol=1e-8, atol=1e-10)
        if err and "differs" in err:
            J = _as_float64(got, "J")[0]
            d = 1 - torch.tanh(h) ** 2
            if torch.allclose(J, W * d, atol=1e-9):
                err += ". Hint: the shortcut contributes too: dy/dh = I + (the branch's Jacobian)."
            elif torch.allclose(J, torch.eye(len(h), dtype=D) + d[:, None] * W, atol=1e-9):
                err += (". Hint: f'(h) scales the columns, not the rows: dy_i/dh_j = W_ij f'(h_j), "
                        "so the branch's Jacobian is W diag(f'(h)).")
            elif torch.allclose(J, torch.eye(len(h), dtype=D) + W * torch.tanh(h), atol=1e-9):
                err += ". Hint: you used tanh(h) where its derivative 1 - tanh(h)^2 belongs."
        if err:
            return _fail(err)
    return _pass("your Jacobian matches autograd on three blocks, including saturated units.")
