"""Checks: verify a reader's answer to a coding exercise and explain what is wrong.

Each ``check_*`` function calls the reader's function on several inputs, compares the
result with a reference computed independently (usually by ``torch.autograd``), prints
one line saying whether the answer is right and, if not, on which input it differs and
how, and returns ``True`` or ``False``. They never raise because the *answer* is wrong;
they raise ``TypeError`` only when what they are given is not a function.
"""

from __future__ import annotations

import math
import traceback

import torch

from .activations import gain_interval_width, sigmoid_second
from .backprop import chain_forward, two_layer_relu_loss, two_layer_relu_problem


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


def check_chain_bias_grads(fn) -> bool:
    """Chapter 1: ``fn(w, b, x, activation)`` must return dC/db_j for C = a_L.

    ``w`` and ``b`` are 1-D float64 tensors (one entry per neuron), ``x`` a float64
    scalar tensor, ``activation`` one of ``"sigmoid"``, ``"tanh"``, ``"identity"``.
    """
    _require_callable(fn, "fn(w, b, x, activation)")
    gen = torch.Generator().manual_seed(1)
    for trial, (L, act) in enumerate([(1, "sigmoid"), (3, "sigmoid"), (5, "tanh"), (4, "identity")]):
        w = torch.randn(L, generator=gen, dtype=torch.float64) * 2
        b = torch.randn(L, generator=gen, dtype=torch.float64)
        x = torch.randn((), generator=gen, dtype=torch.float64)
        bb = b.clone().requires_grad_(True)
        _, a = chain_forward(w, bb, x, act)
        (expected,) = torch.autograd.grad(a[-1], bb)
        got, err = _call(fn, w.clone(), b.clone(), x.clone(), act)
        if err is None:
            err = _compare(got, expected, "the gradient vector")
        if err:
            hint = ""
            if L > 1 and got is not None and err.startswith("the gradient vector differs"):
                hint = " Hint: each earlier neuron picks up one more factor w_k f'(z_k) of a later neuron k."
            return _fail(f"chain of {L} {act} neuron(s) (test {trial + 1}): {err}.{hint}")
    return _pass("your dC/db_j match autograd on chains of 1 to 5 sigmoid, tanh and identity neurons.")


def check_two_layer_grads(fn) -> bool:
    """Chapter 1: ``fn(x, y, w1, w2)`` must return ``(grad_w1, grad_w2)`` of the summed
    squared error of ``relu(x @ w1) @ w2`` against ``y``, computed without autograd."""
    _require_callable(fn, "fn(x, y, w1, w2)")
    for seed, shape in [(3, (5, 4, 3, 2)), (4, (8, 6, 5, 3))]:
        x, y, w1, w2 = two_layer_relu_problem(*shape, seed=seed)
        ref1, ref2 = w1.clone().requires_grad_(True), w2.clone().requires_grad_(True)
        exp1, exp2 = torch.autograd.grad(two_layer_relu_loss(x, y, ref1, ref2), (ref1, ref2))
        with torch.no_grad():
            out, err = _call(fn, x.clone(), y.clone(), w1.clone(), w2.clone())
        if err is None and (not isinstance(out, tuple | list) or len(out) != 2):
            err = "return a pair (grad_w1, grad_w2)"
        if err is None:
            err = _compare(out[1], exp2, "grad_w2")
        if err is None:
            err = _compare(out[0], exp1, "grad_w1")
            if err and "differs" in err:
                err += " (grad_w2 is right: look at the ReLU's derivative, 1 where x @ w1 > 0 and 0 elsewhere)"
        if err:
            return _fail(f"on a batch of {shape[0]} with sizes {shape[1:]}: {err}")
    return _pass("your hand-derived gradients match autograd.")


def check_sigmoid_second(fn) -> bool:
    """Chapter 2: ``fn(z)`` must return sigma''(z) elementwise for a float64 tensor ``z``."""
    _require_callable(fn, "fn(z)")
    z = torch.linspace(-8, 8, 33, dtype=torch.float64)
    got, err = _call(fn, z.clone())
    if err is None:
        err = _compare(got, sigmoid_second(z), "sigma''(z)")
        if err and "differs" in err:
            err += ". Hint: differentiate sigma(1 - sigma) with the product rule, using sigma' = sigma(1 - sigma)."
    if err:
        return _fail(err)
    return _pass("your sigma'' matches the reference on 33 points from -8 to 8.")


def check_gain_interval_width(fn) -> bool:
    """Chapter 2: ``fn(w)`` must return the width of the set of inputs ``a`` with
    ``|w sigma'(w a + b)| >= 1`` (0 when the set is empty), for a float ``w``."""
    _require_callable(fn, "fn(w)")
    for w in [1.0, 3.9, 4.5, -6.9, 10.0, 25.0]:
        got, err = _call(fn, w)
        if err is None:
            try:
                got = float(got)
            except (TypeError, ValueError):
                err = f"return a number, got {type(got).__name__}"
        if err is None:
            expected = gain_interval_width(w)
            if not math.isfinite(got) or abs(got - expected) > 1e-3 + 1e-3 * expected:
                hint = " (the set is empty when |w| < 4)" if expected == 0 else (
                    " (is your answer symmetric in the sign of w?)" if w < 0 else "")
                err = f"for w = {w} you have {got:.6g}, the width is {expected:.6g}{hint}"
        if err:
            return _fail(err)
    return _pass("your widths match for w in {1, 3.9, 4.5, -6.9, 10, 25}.")


__all__ = [
    "check_chain_bias_grads",
    "check_two_layer_grads",
    "check_sigmoid_second",
    "check_gain_interval_width",
]
