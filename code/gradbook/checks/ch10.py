"""Checks for chapter 10's coding exercise (batch normalisation's backward pass by hand)."""

from __future__ import annotations

import torch
from torch import nn

from .._validate import generator
from ._common import _as_float64, _call, _compare, _fail, _pass, _require_callable

__all__ = ["check_batchnorm_backward"]

#: What the reader's backward pass may not call (the exercise says so); the check enforces it:
#: autograd, and PyTorch's batch normalisation (which the package's ``StackedMLP`` uses too),
#: forward or backward.
FORBIDDEN = ("autograd", "torch.nn.functional.batch_norm", "torch.batch_norm", "torch.native_batch_norm",
             "torch.ops.aten.native_batch_norm_backward")


def _cases() -> list[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor, float]]:
    """(name, z, gamma, g, eps): units with very different means and scales, and a batch of two."""
    gen = torch.Generator().manual_seed(10)
    D = torch.float64
    cases = []
    z = torch.randn(12, 5, generator=gen, dtype=D) * torch.tensor([0.1, 1, 3, 10, 0.5], dtype=D) + torch.tensor(
        [5.0, -2.0, 0.0, 30.0, 1.0], dtype=D)
    cases.append(("a batch of 12 with 5 units", z, torch.randn(5, generator=gen, dtype=D),
                  torch.randn(12, 5, generator=gen, dtype=D), 1e-5))
    cases.append(("a batch of 2 with 3 units", torch.randn(2, 3, generator=gen, dtype=D) * 2,
                  torch.tensor([1.5, -0.5, 2.0], dtype=D), torch.randn(2, 3, generator=gen, dtype=D), 1e-5))
    cases.append(("a batch of 8 with a large eps", torch.randn(8, 4, generator=gen, dtype=D) * 0.05,
                  torch.ones(4, dtype=D), torch.randn(8, 4, generator=gen, dtype=D), 0.01))
    return cases


def _random_cases(seed: int) -> list[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor, float]]:
    """Fresh batches of the same kinds drawn from ``seed``: what a grader runs, on inputs no one has seen."""
    gen = generator(seed)
    D = torch.float64

    def randint(low, high):
        return int(torch.randint(low, high + 1, (), generator=gen))

    def uniform(low, high, *shape):
        return torch.empty(shape, dtype=D).uniform_(low, high, generator=gen)

    cases = []
    m, n = randint(6, 16), randint(2, 6)  # units with very different means and scales
    z = torch.randn(m, n, generator=gen, dtype=D) * 10 ** uniform(-1.3, 1.0, n) + uniform(-30, 30, n)
    cases.append((f"a random batch of {m} with {n} units", z, torch.randn(n, generator=gen, dtype=D),
                  torch.randn(m, n, generator=gen, dtype=D), 1e-5))
    n = randint(1, 4)
    cases.append((f"a random batch of 2 with {n} unit{'s' * (n > 1)}",
                  torch.randn(2, n, generator=gen, dtype=D) * float(uniform(0.5, 3.0)),
                  torch.randn(n, generator=gen, dtype=D), torch.randn(2, n, generator=gen, dtype=D), 1e-5))
    m, n = randint(4, 12), randint(1, 5)
    cases.append((f"a random batch of {m} with a large eps", torch.randn(m, n, generator=gen, dtype=D) * 0.05,
                  uniform(0.5, 2.0, n), torch.randn(m, n, generator=gen, dtype=D), float(10 ** uniform(-3, -1.5))))
    m, n = randint(3, 10), randint(1, 6)
    cases.append((f"a random batch of {m} with {n} unit{'s' * (n > 1)}",
                  torch.randn(m, n, generator=gen, dtype=D) * float(uniform(0.2, 5.0)),
                  torch.randn(n, generator=gen, dtype=D), torch.randn(m, n, generator=gen, dtype=D), 1e-5))
    return cases


def _reference(z, gamma, g, eps):
    z = z.clone().requires_grad_(True)
    gamma = gamma.clone().requires_grad_(True)
    beta = torch.zeros_like(gamma, requires_grad=True)
    y = nn.functional.batch_norm(z, None, None, weight=gamma, bias=beta, training=True, eps=eps)
    # sum(g * y) has the gradient g with respect to y: the backward pass of grad_outputs=g,
    # to the bit, without the shape check that imports SymPy on first use (0.35 s)
    return torch.autograd.grad((g * y).sum(), (z, gamma, beta))


def _hint(z, gamma, g, eps, got_dz) -> str:
    """Name a common mistake if the answer matches one."""
    sigma = torch.sqrt(z.var(0, unbiased=False) + eps)
    if torch.allclose(got_dz, gamma * g / sigma, rtol=1e-6):
        return (". Hint: that is the gradient with the batch mean and variance held fixed; they depend on "
                "z too, which subtracts the mean of the error and its projection on z_hat.")
    if torch.allclose(got_dz, gamma / sigma * (g - g.mean(0)), rtol=1e-6):
        return ". Hint: you kept the path through the mean but not the one through the variance."
    sigma_u = torch.sqrt(z.var(0, unbiased=True) + eps)
    z_hat_u = (z - z.mean(0)) / sigma_u
    if torch.allclose(got_dz, gamma / sigma_u * (g - g.mean(0) - z_hat_u * (g * z_hat_u).mean(0)), rtol=1e-6):
        return ". Hint: training mode normalises with the biased batch variance (divide by m, not m - 1)."
    return ""


def check_batchnorm_backward(fn, *, seed: int | None = None) -> bool:
    """Chapter 10: ``fn(z, gamma, g, eps)`` must return ``(dz, dgamma, dbeta)`` for training-mode
    batch normalisation ``y = gamma (z - mean) / sqrt(var + eps) + beta`` over the batch
    (rows of ``z``), where ``g`` is dC/dy.

    The reference is ``torch.autograd`` through ``torch.nn.functional.batch_norm``, on three
    float64 batches: units with very different means and scales, a batch of two, and a
    large ``eps``. ``fn`` may not call :data:`FORBIDDEN` (autograd and PyTorch's batch
    normalisation): the inputs it passes do not require gradients, calling autograd or
    batch norm is refused, and an answer that requires grad is rejected. With ``seed`` (an
    int) it runs on four fresh random batches of the same kinds drawn from that seed
    instead.
    """
    _require_callable(fn, "fn(z, gamma, g, eps)")
    cases = _cases() if seed is None else _random_cases(seed)
    for name, z, gamma, g, eps in cases:
        expected = _reference(z, gamma, g, eps)
        got, err = _call(fn, z.clone(), gamma.clone(), g.clone(), eps, forbid=FORBIDDEN)
        if err:
            return _fail(f"on {name}, {err}")
        if not (isinstance(got, tuple | list) and len(got) == 3):
            return _fail(f"on {name}, return three things (dz, dgamma, dbeta), got {type(got).__name__}")
        if any(isinstance(t, torch.Tensor) and t.requires_grad for t in got):
            return _fail("your answer was computed with autograd (it requires grad); write the formulas out")
        for what, value, ref in zip(("dz", "dgamma", "dbeta"), got, expected, strict=True):
            err = _compare(value, ref, f"{what} on {name}", rtol=1e-7, atol=1e-10)
            if err:
                if what == "dz" and "differs" in err:
                    err += _hint(z, gamma, g, eps, _as_float64(value, "dz")[0])
                if what == "dgamma" and "differs" in err:
                    err += ". Hint: dC/dgamma sums g times the normalised z_hat over the batch."
                return _fail(err)
    return _pass(f"your backward pass matches autograd on {len(cases)} batches, including a batch of two.")
