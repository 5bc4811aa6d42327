"""Checks for chapter 3's coding exercises (Nielsen's ||delta^l|| and his L2-regularised SGD step).

Both exercises use one sigmoid network given as a list of ``(W, b)`` pairs, ``W`` of shape
(out, in) and ``b`` of shape (out,), with sigmoid outputs and the cross-entropy cost
summed over the outputs. The references are the package's own hand-written
backpropagation (:func:`gradbook.multiseed_delta_norms` and
:func:`gradbook.multiseed_backprop` on a single seed), which its unit tests check
against ``torch.autograd``.
"""

from __future__ import annotations

import torch

from .._validate import generator
from ..multiseed import _deltas, multiseed_backprop, multiseed_delta_norms
from ._common import _as_float64, _call, _compare, _fail, _pass, _require_callable

__all__ = ["check_delta_norms", "check_l2_sgd_step"]

#: What the reader's ||delta^l|| may not call (the exercise says so); the check enforces it.
FORBIDDEN_DELTAS = (
    "autograd", "gradbook.multiseed_backprop", "gradbook.multiseed_delta_norms", "gradbook.multiseed._deltas",
    "gradbook.nielsen_delta_norms", "gradbook.delta_norms",
)
#: What the reader's SGD step may not call: the package's own step (the gradient may come from anywhere).
FORBIDDEN_STEP = ("gradbook.multiseed_train", "gradbook.multiseed._SGD.step", "gradbook.checks.ch03._expected_step")

# (layer sizes, examples) of the documented test networks: one hidden layer, then three.
_CASES = [([5, 4, 3], 7), ([8, 6, 6, 6, 4], 20)]


def _problem(sizes, n, seed):
    """A random float64 network with Nielsen's initialisation, inputs in [0, 1] and labels;
    ``seed`` is an int or a ``torch.Generator`` to draw from."""
    gen = generator(seed)
    params = [(torch.randn(o, i, generator=gen, dtype=torch.float64) / i**0.5,
               torch.randn(o, generator=gen, dtype=torch.float64))
              for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
    X = torch.rand(n, sizes[0], generator=gen, dtype=torch.float64)
    y = torch.randint(0, sizes[-1], (n,), generator=gen)
    return params, X, y


def _random_sizes(gen: torch.Generator, k: int) -> tuple[list[int], int]:
    """Layer sizes and a number of examples: one hidden layer first, then three, then 1 to 3."""
    hidden = (1, 3)[k] if k < 2 else int(torch.randint(1, 4, (), generator=gen))
    sizes = [int(v) for v in torch.randint(2, 9, (hidden + 1,), generator=gen)]
    sizes.append(int(torch.randint(2, 7, (), generator=gen)))
    return sizes, int(torch.randint(2, 26, (), generator=gen))


def _copy(params):
    return [(W.clone(), b.clone()) for W, b in params]


def _one_seed(params):
    """A single network as the package's multi-seed format: every tensor gets a seed dimension of 1."""
    return [(W.unsqueeze(0), b.unsqueeze(0)) for W, b in params]


# --- ||delta^l|| -----------------------------------------------------------------------------

def _expected_norms(params, X, y) -> torch.Tensor:
    """Nielsen's ||delta^l||, input side first: the package's own, called by the check, never by the reader."""
    return multiseed_delta_norms(_one_seed(params), X, y)[0]


def _quadratic_norms(params, X, y) -> torch.Tensor:
    """The wrong statistic of the quadratic cost: the output error carries an extra sigma'(z^L)."""
    acts, a = [], X
    for W, b in params:
        a = torch.sigmoid(a @ W.T + b)
        acts.append(a)
    delta = (acts[-1] - torch.nn.functional.one_hot(y, a.shape[1]).to(a.dtype)) * a * (1 - a)
    norms = [delta.mean(0).norm()]
    for (W, _), a in zip(reversed(params[1:]), reversed(acts[:-1]), strict=True):
        delta = (delta @ W) * a * (1 - a)
        norms.append(delta.mean(0).norm())
    return torch.stack(norms[::-1])


def _delta_hint(got, expected, params, X, y) -> str:
    """Name the usual mistakes; never a value."""
    got, _ = _as_float64(got, "")
    if got is None or got.shape != expected.shape:
        return ""
    Y = torch.nn.functional.one_hot(y, params[-1][0].shape[0]).to(X.dtype)
    mean_of_norms = torch.stack([d[0].norm(dim=1).mean() for d in _deltas(_one_seed(params), X, Y)[1]])
    if torch.allclose(got, expected * X.shape[0], rtol=1e-6):
        return " Hint: you summed the gradient over the examples; Nielsen averages it."
    if torch.allclose(got, expected.flip(0), rtol=1e-6):
        return " Hint: list the layers input side first."
    if torch.allclose(got, mean_of_norms, rtol=1e-6):
        return (" Hint: average the vectors delta^l over the examples first, then take one norm"
                " (you took the norm of each example's delta, then averaged).")
    if torch.allclose(got, _quadratic_norms(params, X, y), rtol=1e-6):
        return (" Hint: with sigmoid outputs and the cross-entropy cost the output error is"
                " a - y, without a factor sigma'(z).")
    return ""


def check_delta_norms(fn, *, seed: int | None = None) -> bool:
    """Chapter 3: ``fn(params, X, y)`` must return Nielsen's ||delta^l|| for every layer.

    ``params`` is a list of float64 ``(W, b)`` pairs (W of shape (out, in)), ``X`` a float64
    tensor (examples, inputs) and ``y`` int64 labels. delta^l = dC/db^l of the cost
    averaged over the examples; return a 1-D tensor with one norm per layer, input side
    first, the output layer included. ``fn`` may not use autograd or the package's own
    helpers (:data:`FORBIDDEN_DELTAS`). Without ``seed`` it runs on a documented network with
    one hidden layer and one with three; with ``seed`` (an int) on four fresh random
    networks (1 to 3 hidden layers, widths 2 to 8, 2 to 25 examples) drawn from that seed,
    which is what a grader runs.
    """
    _require_callable(fn, "fn(params, X, y)")
    if seed is None:
        cases = [(sizes, n, *_problem(sizes, n, seed=30 + trial)) for trial, (sizes, n) in enumerate(_CASES)]
    else:
        gen = generator(seed)
        cases = [(sizes, n, *_problem(sizes, n, gen)) for sizes, n in (_random_sizes(gen, k) for k in range(4))]
    for trial, (sizes, n, params, X, y) in enumerate(cases):
        expected = _expected_norms(params, X, y)
        got, err = _call(fn, _copy(params), X.clone(), y.clone(), forbid=FORBIDDEN_DELTAS)
        if err is None:
            err = _compare(got, expected, "the norms", rtol=1e-6, atol=1e-12)
        if err:
            hint = ""
            if "differs" in err:
                hint = _delta_hint(got, expected, params, X, y)
            elif "shape" in err and len(sizes) > 2:
                hint = f" (a {sizes} network has {len(sizes) - 1} layers, the output layer included)"
            return _fail(f"network {sizes} on {n} examples (test {trial + 1}): {err}.{hint}")
    what = ("a network with one hidden layer and one with three" if seed is None
            else f"{len(cases)} random networks")
    return _pass(f"your ||delta^l|| match the reference for {what}.")


# --- one step of L2-regularised SGD ----------------------------------------------------------

def _expected_step(params, X, y, lr, lmbda, n):
    """Nielsen's step, from the package's gradient of the mean cost: (lr / m) sum_x = lr mean_x."""
    grads = multiseed_backprop(_one_seed(params), X, y)
    return [((1 - lr * lmbda / n) * W - lr * gW[0], b - lr * gb[0])
            for (W, b), (gW, gb) in zip(params, grads, strict=True)]


def _step_cases(seed: int | None):
    """(sizes, m, lr, lmbda, n, params, X, y): the two documented steps, or four drawn from ``seed``."""
    if seed is None:
        settings = zip(_CASES, [(0.5, 5.0, 100), (0.1, 2.0, 1500)], strict=True)
        return [(sizes, m, lr, lmbda, n, *_problem(sizes, m, seed=40 + trial))
                for trial, ((sizes, m), (lr, lmbda, n)) in enumerate(settings)]
    gen = generator(seed)
    cases = []
    for k in range(4):
        sizes, m = _random_sizes(gen, k)
        lr = round(float(torch.empty((), dtype=torch.float64).uniform_(0.05, 1.0, generator=gen)), 3)
        lmbda = round(float(torch.empty((), dtype=torch.float64).uniform_(0.5, 10.0, generator=gen)), 3)
        n = int(torch.randint(m + 10, 5001, (), generator=gen))  # the whole training set, larger than m
        cases.append((sizes, m, lr, lmbda, n, *_problem(sizes, m, gen)))
    return cases


def check_l2_sgd_step(fn, *, seed: int | None = None) -> bool:
    """Chapter 3: ``fn(params, X, y, lr, lmbda, n)`` must return the parameters after one
    step of Nielsen's L2-regularised SGD on the mini-batch ``X, y``.

    ``params`` is a list of float64 ``(W, b)`` pairs, ``n`` the size of the whole training
    set. Return a new list of ``(W, b)`` pairs:
    ``W <- (1 - lr * lmbda / n) W - (lr / m) sum_x dC_x/dW`` and ``b <- b - (lr / m) sum_x dC_x/db``.
    The gradient may come from anywhere (autograd too), the step may not
    (:data:`FORBIDDEN_STEP`). Without ``seed`` it runs two documented steps; with ``seed``
    (an int) four fresh random ones (networks as for :func:`check_delta_norms`, random
    ``lr``, ``lmbda`` and ``n``) drawn from that seed, which is what a grader runs.
    """
    _require_callable(fn, "fn(params, X, y, lr, lmbda, n)")
    cases = _step_cases(seed)
    for sizes, m, lr, lmbda, n, params, X, y in cases:
        expected = _expected_step(params, X, y, lr, lmbda, n)
        got, err = _call(fn, _copy(params), X.clone(), y.clone(), lr, lmbda, n, forbid=FORBIDDEN_STEP)
        if err is None and (not isinstance(got, list | tuple) or len(got) != len(params)
                            or not all(isinstance(p, list | tuple) and len(p) == 2 for p in got)):
            err = f"return a list of {len(params)} (W, b) pairs, one per layer"
        hint = ""
        if err is None:
            for l in range(len(params) - 1, -1, -1):  # the output layer first: its gradient is the simplest
                err = _compare(got[l][0], expected[l][0], f"W of layer {l + 1}", rtol=1e-9, atol=1e-12)
                if err is None:
                    err = _compare(got[l][1], expected[l][1], f"b of layer {l + 1}", rtol=1e-9, atol=1e-12)
                    if err and "differs" in err:
                        # the step on b plus a decay of b, which Nielsen does not apply
                        decayed = expected[l][1] - (lr * lmbda / n) * params[l][1]
                        if torch.allclose(torch.as_tensor(got[l][1], dtype=torch.float64), decayed, rtol=1e-9):
                            hint = " Hint: Nielsen's penalty is on the weights only; the biases are not decayed."
                if err:
                    if not hint and "differs" in err:
                        hint = _weight_hint(got[l][0], params[l][0], expected[l][0], lr, lmbda, n, m)
                    break
        if err:
            return _fail(f"network {sizes}, mini-batch of {m}, lr={lr}, lmbda={lmbda}, n={n}: {err}.{hint}")
    what = "two networks" if seed is None else f"{len(cases)} random networks"
    return _pass(f"your step matches the reference on {what}, with the decay, the gradient and the biases right.")


def _weight_hint(got, W, expected, lr, lmbda, n, m) -> str:
    got = torch.as_tensor(got, dtype=torch.float64)
    if got.shape != W.shape:
        return ""
    grad_step = expected - (1 - lr * lmbda / n) * W  # -(lr/m) sum_x dC_x/dW
    candidates = {
        " Hint: the decay factor is 1 - lr * lmbda / n with n the size of the whole training set, "
        "not of the mini-batch.": (1 - lr * lmbda / m) * W + grad_step,
        " Hint: the weights also shrink by the factor 1 - lr * lmbda / n.": W + grad_step,
        " Hint: the gradient is summed over the mini-batch and scaled by lr / m.":
            (1 - lr * lmbda / n) * W + m * grad_step,
        " Hint: the gradient is summed over the mini-batch and scaled by lr / m; you averaged it "
        "and divided by m again.": (1 - lr * lmbda / n) * W + grad_step / m,
    }
    for hint, candidate in candidates.items():
        if torch.allclose(got, candidate, rtol=1e-9):
            return hint
    return ""
