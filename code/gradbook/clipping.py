"""Gradient clipping: by norm, which keeps the gradient's direction, and by value, which does not.

Introduced in chapter 8 (gradient clipping). The norm of a whole gradient is
:func:`gradbook.total_norm`; Pascanu's one-unit cliff is in :mod:`gradbook.cliff`.

* :func:`clip_by_norm` - Pascanu, Mikolov & Bengio (2013), Algorithm 1: if the total norm
  ||g|| is larger than ``max_norm``, every tensor is multiplied by ``max_norm / ||g||``.
  The direction of the whole gradient is kept; only its length changes.
* :func:`clip_by_value` - every entry is clamped to [-c, c]. Entries are changed
  independently, so the direction of the gradient changes too.
* :func:`cosine` - the cosine of the angle between two gradients (lists of tensors).

The sequence task of the chapter's exploding RNN is :func:`gradbook.latch_task`, and the
training loop that clips is :func:`gradbook.fit`.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from ._validate import real
from .probes import as_tensor_list as _as_list
from .probes import total_norm

Grads = torch.Tensor | Iterable[torch.Tensor]


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


__all__ = ["clip_by_norm", "clip_by_value", "cosine"]
