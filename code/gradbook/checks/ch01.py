"""Checks for chapter 1's coding exercises (backpropagation by hand)."""

from __future__ import annotations

import torch

from ..backprop import chain_forward, two_layer_relu_loss, two_layer_relu_problem
from ._common import _call, _compare, _fail, _pass, _require_callable

__all__ = ["check_chain_bias_grads", "check_two_layer_grads"]


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
