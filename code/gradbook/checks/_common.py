"""What every exercise check shares: calling the reader's code safely, comparing, reporting."""

from __future__ import annotations

import traceback

import torch


def _require_callable(fn, signature: str) -> None:
    if not callable(fn):
        raise TypeError(f"pass your function itself, {signature}, not {type(fn).__name__}")


def _call(fn, *args):
    """Call the reader's function; return (result, None) or (None, message)."""
    try:
        return fn(*args), None
    except Exception as exc:  # the reader's code may fail in any way: report it
        last = traceback.extract_tb(exc.__traceback__)[-1]
        return None, f"your function raised {type(exc).__name__}: {exc} (line {last.lineno})"


def _as_float64(value, what: str):
    try:
        return torch.as_tensor(value, dtype=torch.float64), None
    except Exception:
        return None, f"{what} should be a tensor or a sequence of numbers, got {type(value).__name__}"


def _fail(message: str) -> bool:
    print(f"Not yet: {message}")
    return False


def _pass(message: str) -> bool:
    print(f"Correct: {message}")
    return True


def _compare(got, expected, what: str, rtol=1e-6, atol=1e-9) -> str | None:
    got, err = _as_float64(got, what)
    if err:
        return err
    if got.shape != expected.shape:
        return f"{what} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}"
    if not torch.isfinite(got).all():
        return f"{what} contains NaN or inf"
    if not torch.allclose(got, expected, rtol=rtol, atol=atol):
        i = int((got - expected).abs().flatten().argmax())
        return (f"{what} differs from the reference: at flat index {i} you have "
                f"{got.flatten()[i].item():.6g}, the reference has {expected.flatten()[i].item():.6g}")
    return None


