"""Sequence tasks with long-range dependencies, generated on the fly (no downloads).

* :func:`adding_problem` - Hochreiter & Schmidhuber's adding problem (1997, experiment 4)
  in the two-channel form of Le, Jaitly & Hinton (2015): at every one of T steps the input
  is a pair (value, marker); the values are drawn from U[0, 1]; exactly two markers are 1,
  one in the first half of the sequence and one in the second; the target is the sum of
  the two marked values. The first marked value must be remembered for at least T/2 steps.
* :func:`latch_task` - a bit (+1 or -1) at the first step, then noise; the target is the
  bit, so a network must hold it for T - 1 steps (Bengio et al. 1994's information
  latching). Chapter 8 trains an exploding RNN on it.
* :data:`ADDING_BASELINE_MSE` - 1/6, the mean squared error of always answering the mean
  1 = E[X1 + X2]: Var(X1 + X2) = 2 Var(U[0, 1]) = 2/12. A model that beats it has used
  the markers.

The adding problem is introduced in chapter 9, the latch task in chapter 8.
"""

from __future__ import annotations

import torch

from ._validate import float_dtype, generator, integer, real

__all__ = ["ADDING_BASELINE_MSE", "adding_problem", "latch_task"]

#: The MSE of predicting the constant 1 on the adding problem: Var(X1 + X2) = 1/6.
ADDING_BASELINE_MSE = 1.0 / 6.0


def _source(gen: torch.Generator | None, seed) -> torch.Generator | None:
    """The generator to draw from: ``gen``, a new one seeded with ``seed``, or None (global)."""
    if gen is not None and seed is not None:
        raise ValueError("give generator or seed, not both")
    if gen is not None and not isinstance(gen, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(gen).__name__}")
    return gen if gen is not None else generator(seed)


def adding_problem(
    n: int,
    T: int,
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` sequences of the adding problem with ``T`` steps: ``(x, y)``.

    ``x`` has shape (n, T, 2): channel 0 holds the values, channel 1 the markers. ``y`` has
    shape (n, 1). The first marker sits uniformly in steps 0 .. T//2 - 1, the second in
    steps T//2 .. T - 1. Randomness comes from ``generator`` if given, else from a new
    generator seeded with ``seed`` if given, else from torch's global generator; give at
    most one of the two.
    """
    n = integer("n", n, minimum=1)
    T = integer("T", T, minimum=2)
    generator = _source(generator, seed)
    float_dtype("dtype", dtype)
    half = T // 2
    values = torch.rand(n, T, generator=generator, dtype=torch.float64)
    first = torch.randint(0, half, (n,), generator=generator)
    second = torch.randint(half, T, (n,), generator=generator)
    markers = torch.zeros(n, T, dtype=torch.float64)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = (values[rows, first] + values[rows, second]).unsqueeze(1)
    return torch.stack([values, markers], dim=2).to(dtype), y.to(dtype)


def latch_task(
    n: int,
    T: int,
    *,
    noise: float = 0.5,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` sequences of ``T`` steps whose target is their first input: ``(x, y)``.

    ``x`` has shape (n, T, 1): step 0 holds a bit, +1 or -1 with equal probability, and
    steps 1 .. T-1 hold Gaussian noise of standard deviation ``noise``. ``y`` has shape
    (n, 1) and equals the bit. Predicting 0 gives a mean squared error of 1, the chance
    level; doing better requires carrying the bit across T - 1 noisy steps. Randomness
    comes from ``generator``, or from a new generator seeded with ``seed``, or from
    torch's global generator; give at most one of the two.
    """
    n = integer("n", n, minimum=1)
    T = integer("T", T, minimum=1)
    noise = real("noise", noise, nonnegative=True)
    generator = _source(generator, seed)
    float_dtype("dtype", dtype)
    bits = torch.randint(0, 2, (n, 1), generator=generator).to(torch.float64) * 2 - 1  # (n, 1)
    x = noise * torch.randn(n, T, 1, generator=generator, dtype=torch.float64)
    x[:, 0, 0] = bits[:, 0]
    return x.to(dtype), bits.to(dtype)
