"""Pascanu's cliff: the one-unit recurrent network whose error surface has a wall.

Pascanu, Mikolov & Bengio (2013) run x_t = w sigma(x_{t-1}) + b for T steps from x_0 and
take the loss (sigma(x_T) - target)^2. Introduced in chapter 8 (gradient clipping).

* :func:`cliff_loss_and_grad` - that loss and its gradient with respect to (w, b), for
  whole grids of (w, b) at once. The gradient is computed in forward mode by a
  hand-written recurrence, so a 400 x 400 map costs one pass.
* :func:`cliff_descent` - gradient descent on that loss from many starting points at once,
  with or without clipping by norm (several thresholds at once, a row of starts each);
  returns every point visited as a :class:`CliffPath`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import torch

from ._validate import float_dtype, integer, real

__all__ = ["CliffPath", "cliff_descent", "cliff_loss_and_grad"]


def _as_tensor(name: str, value, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return torch.tensor(float(value), dtype=dtype)
    if not isinstance(value, torch.Tensor) or not value.dtype.is_floating_point:
        raise TypeError(f"{name} must be a number or a floating-point tensor, got {type(value).__name__}")
    return value.to(dtype)


def _broadcast(**tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The tensors broadcast to one shape, or a ValueError that names them and their shapes."""
    try:
        return torch.broadcast_tensors(*tensors.values())
    except RuntimeError:
        shapes = ", ".join(f"{name} {tuple(t.shape)}" for name, t in tensors.items())
        raise ValueError(f"the shapes of {shapes} do not broadcast to one shape") from None


def cliff_loss_and_grad(
    w, b, *, steps: int = 50, x0: float = 0.5, target: float = 0.7, dtype: torch.dtype = torch.float64
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The loss (sigma(x_T) - target)^2 of x_t = w sigma(x_{t-1}) + b and its gradient.

    ``w`` and ``b`` are numbers or tensors of any broadcastable shapes (a whole grid at
    once); ``steps`` is T. Returns ``(loss, dloss_dw, dloss_db)``, each of the broadcast
    shape. The derivatives of x_t are carried forward with the states:

        dx_t/dw = sigma(x_{t-1}) + w sigma'(x_{t-1}) dx_{t-1}/dw,
        dx_t/db = 1 + w sigma'(x_{t-1}) dx_{t-1}/db,

    so the cost is one pass over the steps, however many (w, b) pairs there are. The
    product of the factors w sigma'(x_{t-1}) is what explodes near the cliff.
    """
    steps = integer("steps", steps, minimum=1)
    x0 = real("x0", x0)
    target = real("target", target)
    float_dtype("dtype", dtype)
    w, b = torch.broadcast_tensors(_as_tensor("w", w, dtype), _as_tensor("b", b, dtype))
    x = torch.full_like(w, x0)
    dx_dw, dx_db = torch.zeros_like(w), torch.zeros_like(w)
    for _ in range(steps):
        s = torch.sigmoid(x)
        gain = w * s * (1 - s)  # d x_t / d x_{t-1}
        dx_dw = s + gain * dx_dw
        dx_db = 1 + gain * dx_db
        x = w * s + b
    s = torch.sigmoid(x)
    error = s - target
    dloss_dx = 2 * error * s * (1 - s)
    return error**2, dloss_dx * dx_dw, dloss_dx * dx_db


@dataclass(frozen=True)
class CliffPath:
    """What :func:`cliff_descent` returns, for starts of shape S, as float64 tensors.

    w, b: every point visited, (steps + 1, *S), the start first.
    loss: the loss at every point, (steps + 1, *S).
    grad_norm: the length of the gradient (dL/dw, dL/db) before clipping, (steps, *S).
    step: the length of each update, (steps, *S).
    """

    w: torch.Tensor
    b: torch.Tensor
    loss: torch.Tensor
    grad_norm: torch.Tensor
    step: torch.Tensor


def cliff_descent(
    w0,
    b0,
    *,
    lr: float,
    steps: int,
    clip_norm: float | torch.Tensor | None = None,
    unroll: int = 50,
    x0: float = 0.5,
    target: float = 0.7,
) -> CliffPath:
    """Gradient descent on :func:`cliff_loss_and_grad` from every start (w0[i], b0[i]) at once.

    ``w0`` and ``b0`` are numbers or tensors of broadcastable shapes. With ``clip_norm``
    each start's gradient (dL/dw, dL/db) is rescaled to that length whenever it is longer
    (the rule of :func:`clip_by_norm`, applied to each start separately). ``clip_norm`` is
    one threshold, or a tensor of thresholds broadcast with the starts, so that several
    thresholds run in one call: with starts of shape (n,) and thresholds of shape (k, 1)
    the result holds k rows of the n starts, row i clipped at threshold i (``math.inf``
    leaves a row unclipped). The shape S of the result is the broadcast shape of all three.
    ``unroll`` is the number of steps of the recurrence (T = 50 in Pascanu et al.).

    Returns a :class:`CliffPath` of float64 tensors.
    """
    lr = real("lr", lr, positive=True)
    steps = integer("steps", steps, minimum=1)
    w, b = _as_tensor("w0", w0, torch.float64), _as_tensor("b0", b0, torch.float64)
    if isinstance(clip_norm, torch.Tensor):
        clip_norm = _as_tensor("clip_norm", clip_norm, torch.float64)
        if torch.isnan(clip_norm).any() or (clip_norm <= 0).any():
            raise ValueError("clip_norm must be positive (math.inf for no clipping), "
                             f"got {clip_norm.min().item()!r} among its values")
        w, b, clip_norm = _broadcast(w0=w, b0=b, clip_norm=clip_norm)
    else:
        if clip_norm is not None:
            clip_norm = real("clip_norm", clip_norm, positive=True)
        w, b = _broadcast(w0=w, b0=b)
    w, b = w.clone(), b.clone()
    ws, bs, losses, norms, lengths = [w.clone()], [b.clone()], [], [], []
    for _ in range(steps):
        loss, gw, gb = cliff_loss_and_grad(w, b, steps=unroll, x0=x0, target=target)
        norm = torch.hypot(gw, gb)
        scale = torch.ones_like(norm)
        if clip_norm is not None:
            # c times 1 / norm is what c / norm computes for a number c: a threshold
            # rounds the same way whether it comes alone or in a tensor
            scale = torch.where(norm > clip_norm, norm.reciprocal() * clip_norm, scale)
        w = w - lr * scale * gw
        b = b - lr * scale * gb
        losses.append(loss)
        norms.append(norm)
        lengths.append(lr * scale * norm)
        ws.append(w)
        bs.append(b)
    losses.append(cliff_loss_and_grad(w, b, steps=unroll, x0=x0, target=target)[0])
    return CliffPath(w=torch.stack(ws), b=torch.stack(bs), loss=torch.stack(losses),
                     grad_norm=torch.stack(norms), step=torch.stack(lengths))
