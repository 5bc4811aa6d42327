"""What every exercise check shares: calling the reader's code safely, comparing, reporting."""

from __future__ import annotations

import traceback
import types
from contextlib import contextmanager

import torch


def _require_callable(fn, signature: str) -> None:
    if not callable(fn):
        raise TypeError(f"pass your function itself, {signature}, not {type(fn).__name__}")


#: What ``forbid=("autograd",)`` stands for: every public way to have PyTorch differentiate.
AUTOGRAD = (
    "torch.autograd.grad", "torch.autograd.backward", "torch.Tensor.backward",
    "torch.autograd.functional.jacobian", "torch.autograd.functional.hessian",
    "torch.autograd.functional.vjp", "torch.autograd.functional.jvp",
    "torch.autograd.functional.vhp", "torch.autograd.functional.hvp",
    "torch.func.grad", "torch.func.grad_and_value", "torch.func.vjp", "torch.func.jvp",
    "torch.func.jacrev", "torch.func.jacfwd", "torch.func.hessian",
)

_MARK = "gradbook check: "


def _resolve(dotted: str):
    """(owner, attribute name, object) of a dotted name such as ``torch.Tensor.backward`` or
    ``gradbook.clip_by_norm``."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:-1]:
            owner = getattr(owner, attr)
        return owner, parts[-1], getattr(owner, parts[-1])
    raise ValueError(f"cannot find {dotted!r}")


def _stub_code(name: str, why: str):
    source = f"def _stub(*args, **kwargs):\n    raise PermissionError({_MARK + name + why!r})\n"
    namespace: dict = {}
    exec(source, namespace)  # a code object that uses nothing but a literal message
    return namespace["_stub"].__code__


@contextmanager
def forbidden(names: tuple[str, ...], why: str = ""):
    """While the block runs, calling any of ``names`` raises ``PermissionError`` with a message
    that names it (``"autograd"`` stands for :data:`AUTOGRAD`).

    A Python function has its code swapped, so that a reference the reader took earlier
    (``f = gb.clip_by_norm``) is caught too; anything else is replaced on its owner."""
    expanded = [n for name in names for n in (AUTOGRAD if name == "autograd" else (name,))]
    undo = []
    try:
        for name in expanded:
            try:
                owner, attr, obj = _resolve(name)
            except (ValueError, AttributeError):  # not importable here, so not callable either
                continue
            func = getattr(obj, "__func__", obj)
            code = getattr(func, "__code__", None)
            if code is not None and not code.co_freevars:
                func.__code__ = _stub_code(name, why)
                undo.append(lambda func=func, code=code: setattr(func, "__code__", code))
            else:
                stub = types.FunctionType(_stub_code(name, why), {})
                setattr(owner, attr, stub)
                undo.append(lambda owner=owner, attr=attr, obj=obj: setattr(owner, attr, obj))
        yield
    finally:
        for restore in reversed(undo):
            restore()


def _instructor_reference(name: str):
    """The instructor-only reference ``name`` (instructor/gradbook_references.py), which a
    check needs for its random inputs; the installed package does not ship it."""
    try:
        import gradbook_references
    except ImportError:
        raise ValueError("random inputs (seed=...) need the instructor's reference answers "
                         "(gradbook_references), which the installed package does not ship: they come "
                         "with the autograder that `make assignments` writes") from None
    return getattr(gradbook_references, name)


def _call(fn, *args, forbid: tuple[str, ...] = (), why: str = ""):
    """Call the reader's function (with ``forbid`` unavailable to it, see :func:`forbidden`);
    return (result, None) or (None, message)."""
    try:
        with forbidden(forbid, why):
            return fn(*args), None
    except PermissionError as exc:
        if str(exc).startswith(_MARK):
            name = str(exc)[len(_MARK):]
            return None, f"your function called {name}, which this exercise asks you to do without"
        return None, f"your function raised PermissionError: {exc}"
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
        # Where and in which direction, never the reference's value (the check must not
        # hand out the answer).
        wrong = ~torch.isclose(got, expected, rtol=rtol, atol=atol)
        i = int((got - expected).abs().flatten().argmax())
        direction = "too large" if got.flatten()[i] > expected.flatten()[i] else "too small"
        sign = " and of the wrong sign" if got.flatten()[i] * expected.flatten()[i] < 0 else ""
        return (f"{what} differs from the reference in {int(wrong.sum())} of {wrong.numel()} entries; "
                f"the largest difference is at flat index {i}, where your value is {direction}{sign}")
    return None


