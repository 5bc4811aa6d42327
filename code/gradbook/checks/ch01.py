"""Checks for chapter 1's coding exercises (backpropagation by hand)."""

from __future__ import annotations

import torch

from .._validate import generator
from ..backprop import chain_bias_grads, two_layer_relu_grads, two_layer_relu_problem
from ._common import _as_float64, _call, _compare, _fail, _pass, _require_callable

__all__ = ["check_chain_bias_grads", "check_two_layer_grads"]


#: What the reader's function may not call (the exercises say so); the checks enforce it.
FORBIDDEN_CHAIN = ("gradbook.chain_bias_grads", "autograd")
FORBIDDEN_TWO_LAYER = ("gradbook.two_layer_relu_grads", "autograd")

_CHAIN_ACTIVATIONS = ("sigmoid", "tanh", "identity")  # the ones the exercise names


# --- the scalar chain --------------------------------------------------------------------

def _chain_case(gen: torch.Generator, L: int):
    w = torch.randn(L, generator=gen, dtype=torch.float64) * 2
    b = torch.randn(L, generator=gen, dtype=torch.float64)
    x = torch.randn((), generator=gen, dtype=torch.float64)
    return w, b, x


def _chain_cases():
    """(length, activation, w, b, x) of the four documented chains."""
    gen = generator(1)
    return [(L, act, *_chain_case(gen, L)) for L, act in [(1, "sigmoid"), (3, "sigmoid"), (5, "tanh"), (4, "identity")]]


def _random_chain_cases(seed: int):
    """Six fresh chains drawn from ``seed``: 1 to 8 neurons, each of the three activations twice."""
    gen = generator(seed)
    cases = []
    for k in range(6):
        L = 1 if k == 0 else int(torch.randint(2, 9, (), generator=gen))  # one single neuron, then chains
        act = _CHAIN_ACTIVATIONS[k % 3]
        cases.append((L, act, *_chain_case(gen, L)))
    return cases


def _chain_hint(got, expected: torch.Tensor, w: torch.Tensor) -> str:
    """Name the usual mistakes of the product formula; never a value."""
    got, _ = _as_float64(got, "")
    if got is None or got.shape != expected.shape:
        return ""
    if torch.allclose(got, expected * w, rtol=1e-6, atol=1e-12):
        return (" Hint: dC/db_j = dC/dz_j carries no factor w_j of neuron j itself; its weight multiplies"
                " the gradient only on the way to the neuron before it.")
    if torch.allclose(got, expected.flip(0), rtol=1e-6, atol=1e-12):
        return " Hint: return the gradients in the order of the neurons, the first neuron (nearest x) first."
    if w.numel() > 1:
        return " Hint: each earlier neuron picks up one more factor w_k f'(z_k) of a later neuron k."
    return ""


def check_chain_bias_grads(fn, *, seed: int | None = None) -> bool:
    """Chapter 1: ``fn(w, b, x, activation)`` must return dC/db_j for C = a_L.

    ``w`` and ``b`` are 1-D float64 tensors (one entry per neuron), ``x`` a float64
    scalar tensor, ``activation`` one of ``"sigmoid"``, ``"tanh"``, ``"identity"``. The
    answer is compared with :func:`gradbook.chain_bias_grads`, which ``fn`` may not call
    (nor autograd: :data:`FORBIDDEN_CHAIN`). Without ``seed`` it runs four documented
    chains of 1 to 5 neurons; with ``seed`` (an int) six fresh random chains of 1 to 8
    neurons drawn from that seed, which is what a grader runs.
    """
    _require_callable(fn, "fn(w, b, x, activation)")
    cases = _chain_cases() if seed is None else _random_chain_cases(seed)
    for trial, (L, act, w, b, x) in enumerate(cases):
        expected = chain_bias_grads(w, b, x, act)
        got, err = _call(fn, w.clone(), b.clone(), x.clone(), act, forbid=FORBIDDEN_CHAIN)
        if err is None:
            err = _compare(got, expected, "the gradient vector")
            if err and "differs" in err:
                err += "." + _chain_hint(got, expected, w)
            elif err:
                err += "."
        if err:
            return _fail(f"chain of {L} {act} neuron(s) (test {trial + 1}): {err}")
    what = "chains of 1 to 5" if seed is None else f"{len(cases)} random chains of 1 to 8"
    return _pass(f"your dC/db_j match the reference on {what} sigmoid, tanh and identity neurons.")


# --- the two-layer ReLU network ------------------------------------------------------------

def _two_layer_cases():
    """(shape, x, y, w1, w2) of the two documented problems."""
    return [(shape, *two_layer_relu_problem(*shape, seed=s)) for s, shape in [(3, (5, 4, 3, 2)), (4, (8, 6, 5, 3))]]


def _random_two_layer_cases(seed: int):
    """Four fresh problems drawn from ``seed``: batches of 1 to 12, every width from 1 to 8."""
    gen = generator(seed)
    cases = []
    for k in range(4):
        shape = (1 if k == 0 else int(torch.randint(2, 13, (), generator=gen)),
                 *(int(v) for v in torch.randint(1, 9, (3,), generator=gen)))
        cases.append((shape, *two_layer_relu_problem(*shape, seed=gen)))
    return cases


def _is_close(got, target: torch.Tensor) -> bool:
    got, _ = _as_float64(got, "")
    return got is not None and got.shape == target.shape and torch.allclose(got, target, rtol=1e-6, atol=1e-12)


def check_two_layer_grads(fn, *, seed: int | None = None) -> bool:
    """Chapter 1: ``fn(x, y, w1, w2)`` must return ``(grad_w1, grad_w2)`` of the summed
    squared error of ``relu(x @ w1) @ w2`` against ``y``, computed without autograd.

    The answer is compared with :func:`gradbook.two_layer_relu_grads`, which ``fn`` may not
    call (nor autograd: :data:`FORBIDDEN_TWO_LAYER`). Without ``seed`` it runs two
    documented problems; with ``seed`` (an int) four fresh random ones (batches of 1 to 12,
    widths of 1 to 8) drawn from that seed, which is what a grader runs.
    """
    _require_callable(fn, "fn(x, y, w1, w2)")
    cases = _two_layer_cases() if seed is None else _random_two_layer_cases(seed)
    for shape, x, y, w1, w2 in cases:
        _, exp1, exp2 = two_layer_relu_grads(x, y, w1, w2)
        out, err = _call(fn, x.clone(), y.clone(), w1.clone(), w2.clone(), forbid=FORBIDDEN_TWO_LAYER)
        if err is None and (not isinstance(out, tuple | list) or len(out) != 2):
            err = "return a pair (grad_w1, grad_w2)"
        if err is None:
            err = _compare(out[1], exp2, "grad_w2")
            if err and "differs" in err:
                if all(_is_close(g, e / 2) for g, e in zip(out, (exp1, exp2), strict=True)):
                    err += " (the derivative of (y_pred - y)^2 is 2 (y_pred - y): you left out the factor 2)"
        if err is None:
            err = _compare(out[0], exp1, "grad_w1")
            if err and "differs" in err:
                err += " (grad_w2 is right: look at the ReLU's derivative, 1 where x @ w1 > 0 and 0 elsewhere)"
        if err:
            return _fail(f"on a batch of {shape[0]} with sizes {shape[1:]}: {err}")
    return _pass(f"your hand-derived gradients match the reference on all {len(cases)} problems.")
