"""Argument checks shared by the package's public functions, and the seed-to-generator step.

Every public function of :mod:`gradbook` checks what it is given and fails with a
message that says what was wrong and what is allowed. The helpers here are the only
place those rules are written, so every function applies the same ones:

* :func:`one_of`, :func:`integer`, :func:`real`, :func:`flag` - choices, whole numbers,
  real numbers, booleans;
* :func:`seed` and :func:`generator` - one seed range for the whole package
  (:data:`MAX_SEED`) and the one place where a seed becomes a ``torch.Generator``;
* :func:`float_dtype` and :func:`float_tensor` - the one floating-point rule: the book
  computes in ``torch.float32`` or ``torch.float64`` (:func:`_float_dtypes`);
* :func:`module` - an ``nn.Module``.

torch is imported by the helpers that need it, not with the module: the checks of plain
numbers and choices, and what uses only them (:func:`gradbook.humanize`, which the
book's Sphinx extension calls on every glued number, and the claims ledger), run
without loading torch, a second of every build and of the ledger page.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for the annotations; the helpers that need torch import it when they run
    import torch

#: The largest seed any function of the package accepts. It is NumPy's limit for its
#: legacy global generator, which :func:`gradbook.set_seed` seeds too, so a seed that
#: works in one place works everywhere.
MAX_SEED = 2**32 - 1

def _float_dtypes() -> tuple:
    """The floating-point dtypes the package computes in, float32 and float64. Half
    precision is left out on purpose: on a CPU many of the operations the book uses do not
    support it, and its range (largest value 65504) would turn every exploding-gradient
    demonstration into an overflow demonstration."""
    import torch

    return (torch.float32, torch.float64)


def one_of(name: str, value, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``; raise ``ValueError`` otherwise."""
    allowed = list(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} {value!r} is not one of: {', '.join(allowed)}")
    return value


def integer(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int if it is a whole number in [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, got {value!r} of type {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value}")
    return value


def real(
    name: str,
    value,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    """Return ``value`` as a finite float, checking the requested bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} of type {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    if nonnegative and value < 0:
        raise ValueError(f"{name} must be zero or positive, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value}")
    return value


def flag(name: str, value) -> bool:
    """Return ``value`` if it is ``True`` or ``False`` (not merely truthy)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def seed(name: str, value) -> int:
    """Return ``value`` if it is a whole number from 0 to :data:`MAX_SEED`."""
    return integer(name, value, minimum=0, maximum=MAX_SEED)


def generator(value, name: str = "seed", *, stream: int = 0) -> torch.Generator | None:
    """The one seed-to-generator step of the package.

    ``None`` gives ``None`` (draw from torch's global generator, which
    :func:`gradbook.set_seed` seeded); a seed gives a new CPU ``torch.Generator`` seeded
    with it; a ``torch.Generator`` is returned as it is, so callers can pass either.
    A seeded generator leaves the global one untouched, which is what makes a draw
    repeatable when several threads draw at once (:func:`gradbook.run_parallel`).

    ``stream`` gives one seed several independent streams: the generator is seeded with
    ``seed ^ stream``. A stream is a multiple of 2**32 (so ``seed ^ stream`` lies above
    every plain seed and never repeats one); 0 is the seed's own stream.
    """
    import torch

    if value is None or isinstance(value, torch.Generator):
        if stream and value is not None:
            raise ValueError("a stream needs a seed, not a torch.Generator")
        return value
    if stream % 2**32:
        raise ValueError(f"stream must be a multiple of 2**32, got {stream}")
    return torch.Generator().manual_seed(seed(name, value) ^ stream)


def float_dtype(name: str, value) -> torch.dtype:
    """Return ``value`` if it is one of :func:`_float_dtypes`."""
    if value not in _float_dtypes():
        raise ValueError(f"{name} must be torch.float32 or torch.float64, got {value!r}")
    return value


def float_tensor(name: str, value, *, ndim: int | tuple[int, ...] | None = None, shape: str = "") -> torch.Tensor:
    """Return ``value`` if it is a float32 or float64 tensor (of ``ndim`` dimensions, if given).

    ``shape`` describes the expected shape in words for the message, e.g. ``"(batch, features)"``.
    """
    import torch

    dims = (ndim,) if isinstance(ndim, int) else ndim
    if (not isinstance(value, torch.Tensor) or value.dtype not in _float_dtypes()
            or (dims is not None and value.ndim not in dims)):
        what = f"a float32 or float64 tensor{f' of shape {shape}' if shape else ''}"
        got = (f"a {value.dtype} tensor of shape {tuple(value.shape)}" if isinstance(value, torch.Tensor)
               else f"{type(value).__name__}")
        raise ValueError(f"{name} must be {what}, got {got}")
    return value


def module(name: str, value) -> torch.nn.Module:
    """Return ``value`` if it is a ``torch.nn.Module``."""
    import torch

    if not isinstance(value, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(value).__name__}")
    return value
