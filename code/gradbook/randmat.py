"""Random matrices: how a product of random layers stretches a vector, and how far one matrix can.

Backpropagation multiplies the error by one matrix per layer (chapter 1), so the typical
size of a product of random matrices is the typical size of a gradient at initialisation.
For an ``n x n`` matrix ``W`` with independent N(0, std^2) entries and any fixed vector
``x``, ``||W x||^2 / ||x||^2`` is distributed as ``std^2`` times a chi-squared variable
with ``n`` degrees of freedom, whatever the direction of ``x``. Hence

* :func:`growth_per_factor` - the mean of that ratio, ``n std^2``: the mean squared norm
  of a product of ``L`` factors applied to a vector grows like ``(n std^2)^L``;
* :func:`log_growth_per_factor` - the mean of its logarithm, ``log(2 std^2) + digamma(n/2)``,
  slightly below ``log(n std^2)``: the *typical* norm of the product grows a little more
  slowly than the mean square suggests;
* :func:`product_norms` - the measured norms ``||W_l ... W_1 x|| / ||x||`` for ``l = 0..depth``;
* :func:`spectral_norms` - the largest singular value of ``n x n`` Gaussian matrices, which
  approaches ``2 sqrt(n) std`` as ``n`` grows.

Introduced in chapter 4 (exploding gradients); Part II uses the same products.
"""

from __future__ import annotations

import math

import torch

from ._validate import float_dtype, generator, integer, real

__all__ = ["growth_per_factor", "log_growth_per_factor", "product_norms", "spectral_norms"]


def growth_per_factor(n: int, std: float) -> float:
    """``n * std**2``: the factor by which one N(0, std^2) ``n x n`` matrix multiplies
    the mean squared norm of a vector (Glorot and Bengio's per-layer ``n Var[W]``)."""
    n = integer("n", n, minimum=1)
    std = real("std", std, positive=True)
    return n * std**2


def log_growth_per_factor(n: int, std: float) -> float:
    """The mean of ``log(||W x||^2 / ||x||^2)`` for one N(0, std^2) ``n x n`` matrix ``W``.

    The ratio is ``std^2`` times a chi-squared variable with ``n`` degrees of freedom, whose
    logarithm has mean ``log 2 + digamma(n / 2)``. By Jensen's inequality this is below
    ``log(n std^2)``, by about ``1/n`` for large ``n``.
    """
    n = integer("n", n, minimum=1)
    std = real("std", std, positive=True)
    digamma = torch.special.digamma(torch.tensor(n / 2, dtype=torch.float64)).item()
    return math.log(2 * std**2) + digamma


def product_norms(
    n: int,
    depth: int,
    std: float = 1.0,
    *,
    trials: int = 16,
    seed: int | torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Norms of a random unit vector after each factor of a product of random matrices.

    For each of ``trials`` independent trials, draws a unit vector ``x`` and ``depth``
    matrices ``W_1, ..., W_depth`` of shape ``(n, n)`` with i.i.d. N(0, std^2) entries,
    and returns the tensor of shape ``(trials, depth + 1)`` whose column ``l`` holds
    ``||W_l ... W_1 x||`` (column 0 is ``||x|| = 1``).

    The product is computed in ``dtype``, so a float32 product overflows to ``inf`` where a
    float64 one does not; the norms themselves are taken in float64, so a large but finite
    vector never reports an infinite norm. The result is float64.
    """
    n = integer("n", n, minimum=1)
    depth = integer("depth", depth, minimum=0)
    std = real("std", std, positive=True)
    trials = integer("trials", trials, minimum=1)
    dtype = float_dtype("dtype", dtype)
    gen = generator(seed)
    x = torch.randn(trials, n, 1, generator=gen, dtype=torch.float64)
    x = (x / x.norm(dim=1, keepdim=True)).to(dtype)  # (trials, n, 1), unit vectors
    norms = [torch.ones(trials, dtype=torch.float64)]
    for _ in range(depth):
        W = (std * torch.randn(trials, n, n, generator=gen, dtype=torch.float64)).to(dtype)
        x = torch.bmm(W, x)
        norms.append(x.to(torch.float64).norm(dim=(1, 2)))
    return torch.stack(norms, dim=1)


def spectral_norms(
    n: int,
    std: float = 1.0,
    *,
    trials: int = 8,
    seed: int | torch.Generator | None = None,
) -> torch.Tensor:
    """Largest singular values of ``trials`` independent ``n x n`` matrices with N(0, std^2) entries.

    Returns a float64 tensor of shape ``(trials,)``. For large ``n`` the values concentrate
    near ``2 sqrt(n) std``, slightly below it at moderate ``n``.
    """
    n = integer("n", n, minimum=1)
    std = real("std", std, positive=True)
    trials = integer("trials", trials, minimum=1)
    W = std * torch.randn(trials, n, n, generator=generator(seed), dtype=torch.float64)
    return torch.linalg.matrix_norm(W, ord=2)
