"""Gradient clipping, and the one-unit recurrent network whose error surface has a cliff.

Introduced in chapter 8 (gradient clipping).

* :func:`total_norm` - the Euclidean norm of several gradient tensors taken together,
  as if they were one long vector (the norm ``torch.nn.utils.clip_grad_norm_`` returns).
* :func:`clip_by_norm` - Pascanu, Mikolov & Bengio (2013), Algorithm 1: if the total norm
  ||g|| is larger than ``max_norm``, every tensor is multiplied by ``max_norm / ||g||``.
  The direction of the whole gradient is kept; only its length changes.
* :func:`clip_by_value` - every entry is clamped to [-c, c]. Entries are changed
  independently, so the direction of the gradient changes too.
* :func:`cosine` - the cosine of the angle between two gradients (lists of tensors).
* :func:`cliff_loss_and_grad` - Pascanu et al.'s one-unit network x_t = w sigma(x_{t-1}) + b,
  run for ``steps`` steps from x_0, with the loss (sigma(x_T) - target)^2 and its gradient
  with respect to (w, b), for whole grids of (w, b) at once. The gradient is computed in
  forward mode by a hand-written recurrence, so a 400 x 400 map costs one pass.
* :func:`cliff_descent` - gradient descent on that loss from many starting points at once,
  with or without clipping by norm; returns every point visited.

The sequence task of the chapter's exploding RNN is :func:`gradbook.tasks.latch_task`.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import torch

from ._validate import integer, real

__all__ = [
    "clip_by_norm",
    "clip_by_value",
    "cliff_descent",
    "cliff_loss_and_grad",
    "cosine",
    "total_norm",
]

Grads = torch.Tensor | Iterable[torch.Tensor]


def _as_list(grads: Grads, name: str = "grads") -> list[torch.Tensor]:
    """A tensor or an iterable of tensors, as a non-empty list of floating-point tensors."""
    items = [grads] if isinstance(grads, torch.Tensor) else list(grads) if isinstance(grads, Iterable) else None
    if not items:
        raise ValueError(f"{name} must be a tensor or a non-empty list of tensors, got {grads!r}")
    for i, g in enumerate(items):
        if not isinstance(g, torch.Tensor) or not g.dtype.is_floating_point:
            raise TypeError(f"{name}[{i}] must be a floating-point tensor, got {type(g).__name__}"
                            + (f" of dtype {g.dtype}" if isinstance(g, torch.Tensor) else ""))
    return items


def total_norm(grads: Grads) -> torch.Tensor:
    """||g||: the Euclidean norm of all entries of ``grads`` together, as a float64 scalar tensor."""
    items = _as_list(grads)
    # the norm of the per-tensor norms is the norm of the concatenation, without concatenating
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.detach().double()) for g in items]))


def clip_by_norm(grads: Grads, max_norm: float) -> list[torch.Tensor]:
    """New tensors g * min(1, max_norm / ||g||), with ||g|| the norm of all of ``grads`` together.

    Pascanu et al. (2013), Algorithm 1. The inputs are not modified. A gradient that is
    already no longer than ``max_norm`` (a zero gradient included) is returned unchanged,
    as copies. A gradient with ``nan`` or ``inf`` entries raises ``ValueError``: no
    rescaling can say which way a non-finite gradient points.
    """
    items = _as_list(grads)
    max_norm = real("max_norm", max_norm, positive=True)
    norm = total_norm(items)
    if not torch.isfinite(norm):
        raise ValueError(f"the gradient's norm is {norm.item()}: clipping cannot repair nan or inf entries")
    scale = min(1.0, max_norm / norm.item()) if norm > 0 else 1.0
    return [g.detach() * scale for g in items]


def clip_by_value(grads: Grads, clip_value: float) -> list[torch.Tensor]:
    """New tensors with every entry clamped to [-clip_value, clip_value]; the inputs are not modified."""
    items = _as_list(grads)
    clip_value = real("clip_value", clip_value, positive=True)
    return [g.detach().clamp(-clip_value, clip_value) for g in items]


def cosine(a: Grads, b: Grads) -> float:
    """The cosine of the angle between two gradients, each a tensor or a list of tensors of matching shapes."""
    a_items, b_items = _as_list(a, "a"), _as_list(b, "b")
    if [t.shape for t in a_items] != [t.shape for t in b_items]:
        raise ValueError("a and b must hold tensors of the same shapes, in the same order")
    norms = total_norm(a_items) * total_norm(b_items)
    if norms == 0:
        raise ValueError("the cosine is undefined when one of the gradients is zero")
    dot = sum((x.detach().double() * y.detach().double()).sum() for x, y in zip(a_items, b_items, strict=True))
    return float(dot / norms)


def _as_tensor(name: str, value, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return torch.tensor(float(value), dtype=dtype)
    if not isinstance(value, torch.Tensor) or not value.dtype.is_floating_point:
        raise TypeError(f"{name} must be a number or a floating-point tensor, got {type(value).__name__}")
    return value.to(dtype)


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
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
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


def cliff_descent(
    w0,
    b0,
    *,
    lr: float,
    steps: int,
    clip_norm: float | None = None,
    unroll: int = 50,
    x0: float = 0.5,
    target: float = 0.7,
) -> dict[str, torch.Tensor]:
    """Gradient descent on :func:`cliff_loss_and_grad` from every start (w0[i], b0[i]) at once.

    ``w0`` and ``b0`` are numbers or tensors of one shape S. With ``clip_norm`` each
    start's gradient (dL/dw, dL/db) is rescaled to that length whenever it is longer
    (the rule of :func:`clip_by_norm`, applied to each start separately). ``unroll`` is
    the number of steps of the recurrence (T = 50 in Pascanu et al.).

    Returns float64 tensors: ``"w"`` and ``"b"`` of shape (steps + 1, *S), every point
    visited; ``"loss"`` of shape (steps + 1, *S); ``"grad_norm"`` (before clipping) and
    ``"step"`` (the length of each update) of shape (steps, *S).
    """
    lr = real("lr", lr, positive=True)
    steps = integer("steps", steps, minimum=1)
    if clip_norm is not None:
        clip_norm = real("clip_norm", clip_norm, positive=True)
    w, b = torch.broadcast_tensors(_as_tensor("w0", w0, torch.float64), _as_tensor("b0", b0, torch.float64))
    w, b = w.clone(), b.clone()
    ws, bs, losses, norms, lengths = [w.clone()], [b.clone()], [], [], []
    for _ in range(steps):
        loss, gw, gb = cliff_loss_and_grad(w, b, steps=unroll, x0=x0, target=target)
        norm = torch.hypot(gw, gb)
        scale = torch.ones_like(norm)
        if clip_norm is not None:
            scale = torch.where(norm > clip_norm, clip_norm / norm, scale)
        w = w - lr * scale * gw
        b = b - lr * scale * gb
        losses.append(loss)
        norms.append(norm)
        lengths.append(lr * scale * norm)
        ws.append(w)
        bs.append(b)
    losses.append(cliff_loss_and_grad(w, b, steps=unroll, x0=x0, target=target)[0])
    return {"w": torch.stack(ws), "b": torch.stack(bs), "loss": torch.stack(losses),
            "grad_norm": torch.stack(norms), "step": torch.stack(lengths)}
