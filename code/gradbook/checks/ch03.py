"""Checks for chapter 3's coding exercises (Nielsen's ||delta^l|| and his L2-regularised SGD step).

Both exercises use one sigmoid network given as a list of ``(W, b)`` pairs, ``W`` of shape
(out, in) and ``b`` of shape (out,), with sigmoid outputs and the cross-entropy cost
summed over the outputs. The references below are computed by ``torch.autograd`` and
share no code with :mod:`gradbook.multiseed`.
"""

from __future__ import annotations

import torch

from ._common import _call, _compare, _fail, _pass, _require_callable

__all__ = ["check_delta_norms", "check_l2_sgd_step"]

# (layer sizes, examples) of the test networks: one hidden layer, then three.
_CASES = [([5, 4, 3], 7), ([8, 6, 6, 6, 4], 20)]


def _problem(sizes, n, seed):
    """A random float64 network with Nielsen's initialisation, inputs in [0, 1] and labels."""
    gen = torch.Generator().manual_seed(seed)
    params = [(torch.randn(o, i, generator=gen, dtype=torch.float64) / i**0.5,
               torch.randn(o, generator=gen, dtype=torch.float64))
              for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
    X = torch.rand(n, sizes[0], generator=gen, dtype=torch.float64)
    y = torch.randint(0, sizes[-1], (n,), generator=gen)
    return params, X, y


def _copy(params):
    return [(W.clone(), b.clone()) for W, b in params]


def _per_example_costs(params, X, y, quadratic=False):
    a = X
    for W, b in params:
        a = torch.sigmoid(a @ W.T + b)
    Y = torch.nn.functional.one_hot(y, a.shape[1]).to(a.dtype)
    if quadratic:
        return 0.5 * ((a - Y) ** 2).sum(1)
    return -(Y * torch.log(a) + (1 - Y) * torch.log(1 - a)).sum(1)


def _bias_grads(params, X, y, reduce="mean", quadratic=False):
    """dC/db^l of every layer by autograd; reduce="mean" or "sum" over examples."""
    leaves = [(W.clone(), b.clone().requires_grad_(True)) for W, b in params]
    costs = _per_example_costs(leaves, X, y, quadratic)
    cost = costs.mean() if reduce == "mean" else costs.sum()
    return torch.autograd.grad(cost, [b for _, b in leaves])


def _mean_of_norms(params, X, y):
    """The tempting wrong statistic: the norm of every example's delta, then averaged."""
    per_example = [torch.stack([g.norm() for g in _bias_grads(params, X[i:i + 1], y[i:i + 1])])
                   for i in range(X.shape[0])]
    return torch.stack(per_example).mean(0)


def check_delta_norms(fn) -> bool:
    """Chapter 3: ``fn(params, X, y)`` must return Nielsen's ||delta^l|| for every layer.

    ``params`` is a list of float64 ``(W, b)`` pairs (W of shape (out, in)), ``X`` a float64
    tensor (examples, inputs) and ``y`` int64 labels. delta^l = dC/db^l of the cost
    averaged over the examples; return a 1-D tensor with one norm per layer, input side
    first, the output layer included.
    """
    _require_callable(fn, "fn(params, X, y)")
    for trial, (sizes, n) in enumerate(_CASES):
        params, X, y = _problem(sizes, n, seed=30 + trial)
        expected = torch.stack([g.norm() for g in _bias_grads(params, X, y)])
        got, err = _call(fn, _copy(params), X.clone(), y.clone())
        if err is None:
            err = _compare(got, expected, "the norms", rtol=1e-6, atol=1e-12)
        if err:
            hint = ""
            g = torch.as_tensor(got, dtype=torch.float64) if err and "differs" in err else None
            if g is not None:
                summed = torch.stack([v.norm() for v in _bias_grads(params, X, y, "sum")])
                quad = torch.stack([v.norm() for v in _bias_grads(params, X, y, quadratic=True)])
                if torch.allclose(g, summed, rtol=1e-6):
                    hint = " Hint: you summed the gradient over the examples; Nielsen averages it."
                elif torch.allclose(g, expected.flip(0), rtol=1e-6):
                    hint = " Hint: list the layers input side first."
                elif torch.allclose(g, _mean_of_norms(params, X, y), rtol=1e-6):
                    hint = (" Hint: average the vectors delta^l over the examples first, then take one norm"
                            " (you took the norm of each example's delta, then averaged).")
                elif torch.allclose(g, quad, rtol=1e-6):
                    hint = (" Hint: with sigmoid outputs and the cross-entropy cost the output error is"
                            " a - y, without a factor sigma'(z).")
            elif err and "shape" in err and len(sizes) > 2:
                hint = f" (a {sizes} network has {len(sizes) - 1} layers, the output layer included)"
            return _fail(f"network {sizes} on {n} examples (test {trial + 1}): {err}.{hint}")
    return _pass("your ||delta^l|| match autograd for a network with one hidden layer and one with three.")


def _reference_step(params, X, y, lr, lmbda, n):
    m = X.shape[0]
    leaves = [(W.clone().requires_grad_(True), b.clone().requires_grad_(True)) for W, b in params]
    grads = torch.autograd.grad(_per_example_costs(leaves, X, y).sum(), [p for pair in leaves for p in pair])
    new = []
    for l, (W, b) in enumerate(params):
        gW, gb = grads[2 * l], grads[2 * l + 1]
        new.append(((1 - lr * lmbda / n) * W - (lr / m) * gW, b - (lr / m) * gb))
    return new


def check_l2_sgd_step(fn) -> bool:
    """Chapter 3: ``fn(params, X, y, lr, lmbda, n)`` must return the parameters after one
    step of Nielsen's L2-regularised SGD on the mini-batch ``X, y``.

    ``params`` is a list of float64 ``(W, b)`` pairs, ``n`` the size of the whole training
    set. Return a new list of ``(W, b)`` pairs:
    ``W <- (1 - lr * lmbda / n) W - (lr / m) sum_x dC_x/dW`` and ``b <- b - (lr / m) sum_x dC_x/db``.
    """
    _require_callable(fn, "fn(params, X, y, lr, lmbda, n)")
    for trial, ((sizes, m), (lr, lmbda, n)) in enumerate(zip(_CASES, [(0.5, 5.0, 100), (0.1, 2.0, 1500)],
                                                             strict=True)):
        params, X, y = _problem(sizes, m, seed=40 + trial)
        expected = _reference_step(params, X, y, lr, lmbda, n)
        got, err = _call(fn, _copy(params), X.clone(), y.clone(), lr, lmbda, n)
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
                    if not hint and "differs" in err and got is not None:
                        hint = _weight_hint(got[l][0], params[l][0], expected[l][0], lr, lmbda, n, m)
                    break
        if err:
            return _fail(f"network {sizes}, mini-batch of {m}, lr={lr}, lmbda={lmbda}, n={n}: {err}.{hint}")
    return _pass("your step matches the reference on two networks, with the decay, the gradient and the biases right.")


def _weight_hint(got, W, expected, lr, lmbda, n, m) -> str:
    got = torch.as_tensor(got, dtype=torch.float64)
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
