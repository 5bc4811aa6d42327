"""Reference answers that only the instructor's autograder holds.

The exercise checks in ``gradbook.checks`` compare a student's function with the
package's own functions where the package has one (and refuse an answer that calls
them). Where it has none, the reference *is* the answer, so it does not ship with the
installed package: the checks carry the expected answers of their documented inputs as
data, and their random inputs (``seed=``, the hidden tests) need this module, which
``make assignments`` puts into each chapter's autograder zip (Otter's autograder-only
files) and the repository's tests put on ``sys.path``.
"""

from __future__ import annotations

import math

import torch


def first_nonfinite(losses: torch.Tensor, grad_norms: torch.Tensor):
    """Chapter 4: the first step with a non-finite loss or gradient norm, and its bad layers (from 1)."""
    for step in range(losses.shape[0]):
        layers = [j + 1 for j in range(grad_norms.shape[1]) if not math.isfinite(float(grad_norms[step, j]))]
        if layers or not math.isfinite(float(losses[step])):
            return step, layers
    return None


def _gauss_nodes() -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes and weights for E[g(z)], z ~ N(0, 1): composite Gauss-Legendre rules on panels of
    [-12, 12] with 0 as a panel edge, so a kink at 0 (ReLU and relatives) costs no accuracy."""
    import numpy as np

    x, w = np.polynomial.legendre.leggauss(16)
    edges = np.linspace(-12.0, 12.0, 97)  # 96 panels of width 1/4; the tails beyond 12 weigh < 1e-32
    half = np.diff(edges)[:, None] / 2
    nodes = (edges[:-1, None] + half * (x[None, :] + 1)).ravel()
    weights = (half * w[None, :]).ravel() * np.exp(-0.5 * nodes**2) / math.sqrt(2 * math.pi)
    return torch.tensor(nodes), torch.tensor(weights)


def normal_moments(f) -> dict[str, float]:
    """Chapter 5: E[f(z)], E[f(z)^2] and E[f'(z)^2] for z ~ N(0, 1); f' by autograd, elementwise."""
    z, weight = _gauss_nodes()
    z = z.requires_grad_(True)
    out = f(z)
    (slope,) = torch.autograd.grad(out.sum(), z)
    out = out.detach()
    return {"mean": float((weight * out).sum()), "second": float((weight * out**2).sum()),
            "slope_second": float((weight * slope**2).sum())}


def update_ratios(before, after) -> torch.Tensor:
    """Chapter 12: ||W_after - W_before|| / ||W_before|| per layer (Frobenius norms)."""
    return torch.stack([(a - b).norm() / b.norm() for b, a in zip(before, after, strict=True)])
