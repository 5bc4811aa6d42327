"""Checks for chapter 8's coding exercises (gradient clipping)."""

from __future__ import annotations

import math

import torch

from .._validate import generator
from ..clipping import clip_by_norm
from ._common import _call, _compare, _fail, _pass, _require_callable

__all__ = ["check_clip_by_norm"]


#: What the reader's function may not call (the exercise says so); the check enforces it.
FORBIDDEN = ("gradbook.clip_by_norm", "torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grads_with_norm_")


def _expected(grads: list[torch.Tensor], max_norm: float) -> list[torch.Tensor]:
    """The package's own clipping (chapter 8), in float64; called by the check, never by the reader."""
    return clip_by_norm([g.double() for g in grads], max_norm)


def _random_cases(seed: int):
    """Fresh gradients drawn from ``seed``: what a grader runs, on inputs no one has seen."""
    gen = generator(seed)
    cases = []
    for k in range(6):
        n = int(torch.randint(1, 5, (), generator=gen))
        grads = []
        for _ in range(n):
            shape = tuple(int(v) for v in torch.randint(1, 6, (int(torch.randint(1, 4, (), generator=gen)),),
                                                        generator=gen))
            scale = 10.0 ** float(torch.empty(()).uniform_(-3, 3, generator=gen))
            grads.append(scale * torch.randn(shape, generator=gen, dtype=torch.float64))
        norm = math.sqrt(sum(float((g**2).sum()) for g in grads))
        # thresholds below and above the norm, alternately
        max_norm = norm * (0.1 if k % 2 == 0 else 3.0) if norm > 0 else 1.0
        cases.append((f"random gradient {k + 1} of {len(grads)} tensor(s)", grads, max_norm))
    return cases


def _cases():
    """(description, grads, max_norm) triples."""
    gen = torch.Generator().manual_seed(8)

    def randn(*shape, scale=1.0, dtype=torch.float64):
        return (scale * torch.randn(*shape, generator=gen, dtype=torch.float64)).to(dtype)

    return [
        ("two tensors whose norm (13) is above the threshold 1",
         [torch.tensor([3.0, 4.0], dtype=torch.float64), torch.tensor([[12.0]], dtype=torch.float64)], 1.0),
        ("a gradient already shorter than the threshold (it must come back unchanged)",
         [randn(4, 3, scale=0.1), randn(3, scale=0.1)], 5.0),
        ("a zero gradient (no division by zero: it must come back as zeros)",
         [torch.zeros(5, 2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)], 1.0),
        ("a tensor of norm 3 beside a tensor of norm 0.5, threshold 1 (the norm is of both together)",
         [torch.tensor([3.0, 0.0], dtype=torch.float64), torch.tensor([0.0, 0.3, 0.4], dtype=torch.float64)], 1.0),
        ("four tensors of different shapes, one with entries near 1e6, threshold 0.25",
         [randn(8, 8), randn(8), randn(3, 2, 2, scale=1e6), randn(1)], 0.25),
        ("a gradient whose norm equals the threshold exactly (it must come back unchanged)",
         [torch.tensor([0.6, 0.8], dtype=torch.float64)], 1.0),
        ("a single float32 tensor of norm about 40, threshold 2",
         [randn(16, 10, scale=1.0, dtype=torch.float32)], 2.0),
    ]


def _hint(got: list[torch.Tensor], grads: list[torch.Tensor], max_norm: float) -> str:
    """Name the usual mistakes: clipping each tensor on its own, or clipping by value."""
    if [tuple(a.shape) for a in got] != [tuple(g.shape) for g in grads]:
        return ""
    per_tensor = [g.double() * min(1.0, max_norm / float(g.double().norm())) if float(g.norm()) > 0 else g.double()
                  for g in grads]
    if all(torch.allclose(a, b, rtol=1e-5, atol=1e-9) for a, b in zip(got, per_tensor, strict=True)):
        return " (you clipped each tensor on its own; the norm must be taken over all the tensors together)"
    norm = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))
    if 0 < norm <= max_norm and all(torch.allclose(a, g.double() * max_norm / norm, rtol=1e-5, atol=1e-12)
                                    for a, g in zip(got, grads, strict=True)):
        return " (you stretched a gradient that was already short enough; rescale only when the norm exceeds max_norm)"
    by_value = [g.double().clamp(-max_norm, max_norm) for g in grads]
    if all(torch.allclose(a, b, rtol=1e-5, atol=1e-9) for a, b in zip(got, by_value, strict=True)):
        return " (you clamped each entry, which is clipping by value; rescale the whole gradient instead)"
    return ""


def check_clip_by_norm(fn, *, seed: int | None = None) -> bool:
    """Chapter 8: ``fn(grads, max_norm)`` must clip a list of gradient tensors by their total norm.

    ``grads`` is a list of floating-point tensors and ``max_norm`` a positive number. The
    answer is a list of *new* tensors of the same shapes (the inputs must not change):
    all of ``grads`` multiplied by ``max_norm / ||g||`` when the norm ``||g||`` of all their
    entries together exceeds ``max_norm``, and unchanged copies otherwise. It may not call
    :data:`FORBIDDEN`. With ``seed`` (an int) it runs on six fresh random gradients drawn
    from that seed instead of the seven documented ones.
    """
    _require_callable(fn, "fn(grads, max_norm)")
    cases = _cases() if seed is None else _random_cases(seed)
    for description, grads, max_norm in cases:
        expected = _expected(grads, max_norm)
        inputs = [g.clone() for g in grads]
        got, err = _call(fn, inputs, max_norm, forbid=FORBIDDEN)
        if err is None and not all(torch.equal(a, b) for a, b in zip(inputs, grads, strict=True)):
            err = "your function changed the tensors it was given; return new tensors instead"
        if err is None:
            if isinstance(got, torch.Tensor) or not isinstance(got, list | tuple):
                err = f"return a list of tensors, one per input tensor, not {type(got).__name__}"
            elif len(got) != len(grads):
                err = f"you returned {len(got)} tensors for {len(grads)} inputs"
        if err is None:
            rtol = 1e-5 if any(g.dtype == torch.float32 for g in grads) else 1e-6
            for i, (g, e) in enumerate(zip(got, expected, strict=True)):
                err = _compare(g, e, f"tensor {i}", rtol=rtol, atol=1e-12)
                if err:
                    try:
                        err += _hint([torch.as_tensor(t, dtype=torch.float64) for t in got], grads, max_norm)
                    except Exception:  # an answer too malformed for a hint: the message above says enough
                        pass
                    break
        if err and "NaN" in err and not any(bool(g.any()) for g in grads):
            err += " (the norm of a zero gradient is 0: do not divide by it)"
        if err:
            return _fail(f"{description}: {err}.")
    return _pass(f"your clipping matches the reference on all {len(cases)} gradients, and leaves its inputs alone.")
