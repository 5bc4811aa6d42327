"""Checks for chapter 7's coding exercises (the RNN Jacobian and backpropagation through time)."""

from __future__ import annotations

import torch

from .._validate import generator
from ..through_time import jacobian_product_norms
from ._common import _as_float64, _call, _compare, _fail, _pass, _require_callable

__all__ = ["check_tanh_step_jacobian", "check_product_norms"]

F64 = torch.float64

#: What the reader's step Jacobian may not call (the exercise says so); the check enforces it:
#: autograd, and the package's Jacobians, any of which gives diag(1 - h_t^2) W in a line or two.
FORBIDDEN_STEP = ("autograd", "gradbook.net_jacobian", "gradbook.step_jacobians", "gradbook.layer_jacobians",
                  "gradbook.input_output_jacobian")

#: What the reader's product norms may not call: the package's own one-pass function.
FORBIDDEN_PRODUCTS = ("gradbook.jacobian_product_norms",)


def _randint(gen: torch.Generator, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``, both included."""
    return int(torch.randint(low, high + 1, (), generator=gen))


def _uniform(gen: torch.Generator, low: float, high: float) -> float:
    return float(torch.empty((), dtype=F64).uniform_(low, high, generator=gen))


# -- the step Jacobian of a tanh RNN ----------------------------------------------------------


def _step_case(gen: torch.Generator, n: int, m: int, scale: float, what: str):
    """(description, W, U, b, x_t, h_prev); ``scale`` 0 puts the step at h_t = 0."""
    W = torch.randn(n, n, generator=gen, dtype=F64)
    U = torch.randn(n, m, generator=gen, dtype=F64) * scale
    b = torch.randn(n, generator=gen, dtype=F64) * scale
    x = torch.randn(m, generator=gen, dtype=F64)
    h_prev = torch.zeros(n, dtype=F64) if scale == 0 else torch.tanh(torch.randn(n, generator=gen, dtype=F64))
    return what, W, U, b, x, h_prev


def _step_cases():
    """The four documented steps of h_t = tanh(U x_t + W h_prev + b)."""
    gen = torch.Generator().manual_seed(7)
    return [_step_case(gen, n, m, scale, what)
            for n, m, scale, what in [(5, 3, 1.0, "5 units, moderate inputs"),
                                      (8, 2, 6.0, "8 units, large inputs (several units saturated)"),
                                      (1, 1, 1.0, "a single unit"),
                                      (4, 2, 0.0, "4 units at h_t = 0 (the Jacobian is W itself)")]]


def _random_step_cases(seed: int):
    """Fresh steps of the same kinds drawn from ``seed``: what a grader runs, on inputs no one has seen."""
    gen = generator(seed)
    cases = []
    for k, kind in enumerate(["moderate inputs", "large inputs (units saturated)", "h_t = 0", "one unit",
                              "moderate inputs"]):
        n = 1 if kind == "one unit" else _randint(gen, 2, 9)
        m = _randint(gen, 1, 4)
        scale = {"moderate inputs": _uniform(gen, 0.3, 1.5), "large inputs (units saturated)": _uniform(gen, 4, 8),
                 "h_t = 0": 0.0, "one unit": _uniform(gen, 0.5, 2)}[kind]
        cases.append(_step_case(gen, n, m, scale, f"random step {k + 1} ({n} unit{'s' * (n > 1)}, {kind})"))
    return cases


def _step_hint(got: torch.Tensor, W: torch.Tensor, h: torch.Tensor) -> str:
    """Name the usual mistakes: columns instead of rows, tanh applied twice, a transposed W."""
    d = 1 - h**2
    wrong = [
        (W * d.unsqueeze(0), "you scaled the columns of W; the derivative of unit i scales row i: "
                             "diag(1 - h_t^2) W"),
        ((1 - torch.tanh(h) ** 2).unsqueeze(1) * W, "h_t is already tanh(net_t), so tanh'(net_t) = "
                                                    "1 - h_t^2; do not apply tanh again"),
        (d.unsqueeze(1) * W.T, "entry (i, j) is d h_t[i] / d h_{t-1}[j], which involves W[i, j], "
                               "not W[j, i]"),
        (W, "you left out the derivative of tanh"),
    ]
    for candidate, hint in wrong:
        if got.shape == candidate.shape and torch.allclose(got, candidate, rtol=1e-6, atol=1e-9):
            return f" Hint: {hint}."
    return ""


def check_tanh_step_jacobian(fn, *, seed: int | None = None) -> bool:
    """Chapter 7: ``fn(W, h_t)`` must return d h_t / d h_{t-1} for a tanh RNN.

    The network is h_t = tanh(U x_t + W h_{t-1} + b); ``W`` is the (n, n) float64 recurrent
    matrix and ``h_t`` the (n,) state after the step. The answer is the (n, n) Jacobian,
    entry (i, j) = d h_t[i] / d h_{t-1}[j]; the reference is ``torch.autograd`` applied to
    the step itself. ``fn`` may not call :data:`FORBIDDEN_STEP` (autograd and the package's
    Jacobians). With ``seed`` (an int) it runs on five fresh random steps drawn from that
    seed (moderate and saturating inputs, h_t = 0, a single unit) instead of the four
    documented ones.
    """
    _require_callable(fn, "fn(W, h_t)")
    cases = _step_cases() if seed is None else _random_step_cases(seed)
    for what, W, U, b, x, h_prev in cases:
        def step(h, U=U, W=W, b=b, x=x):
            return torch.tanh(U @ x + W @ h + b)

        expected = torch.autograd.functional.jacobian(step, h_prev)
        h_t = step(h_prev)
        got, err = _call(fn, W.clone(), h_t.clone(), forbid=FORBIDDEN_STEP)
        if err is None:
            err = _compare(got, expected, "the Jacobian", rtol=1e-8, atol=1e-12)
            if err and "differs" in err:
                err += "." + _step_hint(_as_float64(got, "the Jacobian")[0], W, h_t)
        if err:
            return _fail(f"{what}: {err.rstrip('.')}.")
    return _pass(f"your step Jacobian matches autograd on {len(cases)} tanh RNN steps, saturated ones included.")


# -- the norms of every Jacobian product, in one pass -------------------------------------------


def _product_cases():
    """(description, jacobians) pairs, jacobians of shape (T, d, d)."""
    gen = torch.Generator().manual_seed(11)
    cases = [("12 random 4 x 4 Jacobians", torch.randn(12, 4, 4, generator=gen, dtype=F64) * 0.6),
             ("a single step (T = 1)", torch.randn(1, 3, 3, generator=gen, dtype=F64)),
             ("one-unit states (1 x 1 Jacobians)", torch.randn(7, 1, 1, generator=gen, dtype=F64) * 1.5)]
    J = torch.randn(6, 3, 3, generator=gen, dtype=F64)
    J[2] = 0.0  # step 3 blocks everything: every product reaching back past it is zero
    cases.append(("6 steps whose third Jacobian is zero", J))
    # A non-normal pair: the order of the factors changes the norm of the product.
    A = torch.tensor([[0.5, 3.0], [0.0, 0.5]], dtype=F64)
    B = torch.tensor([[0.9, 0.0], [0.4, 0.2]], dtype=F64)
    cases.append(("6 non-normal 2 x 2 Jacobians", torch.stack([A, B, B, A, A, B])))
    return cases


def _random_product_cases(seed: int):
    """Fresh sequences of the same kinds drawn from ``seed``."""
    gen = generator(seed)
    T, d = _randint(gen, 2, 15), _randint(gen, 2, 5)
    cases = [(f"{T} random {d} x {d} Jacobians",
              torch.randn(T, d, d, generator=gen, dtype=F64) * _uniform(gen, 0.2, 1.2))]
    d = _randint(gen, 1, 5)
    cases.append((f"a single step (T = 1) of a {d} x {d} Jacobian", torch.randn(1, d, d, generator=gen, dtype=F64)))
    T = _randint(gen, 2, 10)
    cases.append((f"{T} one-unit steps (1 x 1 Jacobians)",
                  torch.randn(T, 1, 1, generator=gen, dtype=F64) * _uniform(gen, 0.5, 2)))
    T, d = _randint(gen, 3, 10), _randint(gen, 2, 4)
    J = torch.randn(T, d, d, generator=gen, dtype=F64)
    zero = _randint(gen, 1, T - 2)
    J[zero] = 0.0  # every product reaching back past this step is zero
    cases.append((f"{T} steps whose Jacobian number {zero + 1} is zero", J))
    # Non-normal factors (an upper and a lower triangle with a large off-diagonal part): the
    # order of the factors changes the norm of the product.
    T, d = _randint(gen, 4, 10), _randint(gen, 2, 4)
    A = torch.diag(torch.empty(d, dtype=F64).uniform_(0.2, 0.9, generator=gen))
    B = A.clone()
    A += torch.triu(torch.randn(d, d, generator=gen, dtype=F64), 1) * 3
    B += torch.tril(torch.randn(d, d, generator=gen, dtype=F64), -1) * 3
    which = torch.randint(0, 2, (T,), generator=gen)
    which[:2] = torch.tensor([0, 1])  # both factors appear
    which = which[torch.randperm(T, generator=gen)]
    cases.append((f"{T} non-normal {d} x {d} Jacobians", torch.stack([A if int(w) == 0 else B for w in which])))
    return cases


def _product_hint(got: torch.Tensor, J: torch.Tensor, expected: torch.Tensor) -> str:
    T = J.shape[0]
    if got.shape == (T,):
        return (" Hint: return T + 1 norms, k = 0, ..., T; entry T is the norm of the empty product,"
                " the identity.")
    if got.shape != expected.shape:
        return ""
    candidates = [
        # ||J_{k+1} ... J_T|| = ||J_T^T ... J_{k+1}^T||: the wrong order is the right one on the transposes
        (jacobian_product_norms(J.mT), "multiply the later step on the left: d s_T / d s_k = "
                                       "J_T J_{T-1} ... J_{k+1}"),
        (jacobian_product_norms(J, ord="fro"), "use the spectral norm (largest singular value, "
                                               "torch.linalg.matrix_norm(P, 2)), not the Frobenius norm"),
        (expected.flip(0), "entry k belongs to d s_T / d s_k: entry 0 has the most factors, entry T none"),
    ]
    for candidate, hint in candidates:
        if torch.allclose(got, candidate, rtol=1e-6, atol=1e-12) and not torch.allclose(got, expected):
            return f" Hint: {hint}."
    return ""


def check_product_norms(fn, *, seed: int | None = None) -> bool:
    """Chapter 7: ``fn(jacobians)`` must return ||d s_T / d s_k|| for k = 0, ..., T.

    ``jacobians`` is a float64 tensor of shape (T, d, d) whose entry t - 1 is the Jacobian
    J_t = d s_t / d s_{t-1} of step t. The answer has length T + 1; entry k is the spectral
    norm (largest singular value) of J_T J_{T-1} ... J_{k+1}, and entry T, an empty
    product, is 1. The reference is the package's :func:`gradbook.jacobian_product_norms`,
    which ``fn`` may not call (:data:`FORBIDDEN_PRODUCTS`). With ``seed`` (an int) it runs
    on five fresh random sequences drawn from that seed (random Jacobians, a single step,
    one-unit states, a zero Jacobian, non-normal factors) instead of the five documented ones.
    """
    _require_callable(fn, "fn(jacobians)")
    cases = _product_cases() if seed is None else _random_product_cases(seed)
    for what, J in cases:
        expected = jacobian_product_norms(J)
        got, err = _call(fn, J.clone(), forbid=FORBIDDEN_PRODUCTS)
        if err is None:
            err = _compare(got, expected, "the list of norms", rtol=1e-8, atol=1e-12)
            if err:
                as_tensor, conversion_err = _as_float64(got, "the list of norms")
                if conversion_err is None:
                    err += "." + _product_hint(as_tensor.reshape(-1) if as_tensor.ndim else as_tensor, J, expected)
        if err:
            return _fail(f"{what}: {err.rstrip('.')}.")
    return _pass(f"your norms match the reference on {len(cases)} sequences of Jacobians, edge cases included.")
