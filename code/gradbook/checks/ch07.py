"""Checks for chapter 7's coding exercises (the RNN Jacobian and backpropagation through time)."""

from __future__ import annotations

import torch

from ._common import _as_float64, _call, _compare, _fail, _pass, _require_callable

__all__ = ["check_tanh_step_jacobian", "check_product_norms"]

F64 = torch.float64


# -- the step Jacobian of a tanh RNN ----------------------------------------------------------


def _step_cases():
    """(description, W, U, b, x_t, h_prev) for h_t = tanh(U x_t + W h_prev + b)."""
    gen = torch.Generator().manual_seed(7)
    cases = []
    for n, m, scale, what in [(5, 3, 1.0, "5 units, moderate inputs"),
                              (8, 2, 6.0, "8 units, large inputs (several units saturated)"),
                              (1, 1, 1.0, "a single unit"),
                              (4, 2, 0.0, "4 units at h_t = 0 (the Jacobian is W itself)")]:
        W = torch.randn(n, n, generator=gen, dtype=F64)
        U = torch.randn(n, m, generator=gen, dtype=F64) * scale
        b = torch.randn(n, generator=gen, dtype=F64) * scale
        x = torch.randn(m, generator=gen, dtype=F64)
        h_prev = torch.zeros(n, dtype=F64) if scale == 0 else torch.tanh(torch.randn(n, generator=gen, dtype=F64))
        cases.append((what, W, U, b, x, h_prev))
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


def check_tanh_step_jacobian(fn) -> bool:
    """Chapter 7: ``fn(W, h_t)`` must return d h_t / d h_{t-1} for a tanh RNN.

    The network is h_t = tanh(U x_t + W h_{t-1} + b); ``W`` is the (n, n) float64 recurrent
    matrix and ``h_t`` the (n,) state after the step. The answer is the (n, n) Jacobian,
    entry (i, j) = d h_t[i] / d h_{t-1}[j]; the reference is ``torch.autograd`` applied to
    the step itself.
    """
    _require_callable(fn, "fn(W, h_t)")
    for what, W, U, b, x, h_prev in _step_cases():
        def step(h, U=U, W=W, b=b, x=x):
            return torch.tanh(U @ x + W @ h + b)

        expected = torch.autograd.functional.jacobian(step, h_prev)
        h_t = step(h_prev)
        got, err = _call(fn, W.clone(), h_t.clone())
        if err is None:
            err = _compare(got, expected, "the Jacobian", rtol=1e-8, atol=1e-12)
            if err and "differs" in err:
                err += "." + _step_hint(_as_float64(got, "the Jacobian")[0], W, h_t)
        if err:
            return _fail(f"{what}: {err.rstrip('.')}.")
    return _pass("your step Jacobian matches autograd on four tanh RNN steps, saturated ones included.")


# -- the norms of every Jacobian product, in one pass -------------------------------------------


def _reference_norms(J: torch.Tensor, order: str = "right", ord=2) -> torch.Tensor:
    """||J_T ... J_{k+1}|| for k = 0..T, each product formed from scratch (no shared pass).

    ``order="wrong"`` multiplies in the opposite order, J_{k+1} ... J_T, to recognise that mistake.
    """
    T, d, _ = J.shape
    norms = []
    for k in range(T + 1):
        product = torch.eye(d, dtype=F64)
        for t in range(k, T):  # J[t] is the Jacobian of step t + 1
            product = J[t] @ product if order == "right" else product @ J[t]
        norms.append(torch.linalg.matrix_norm(product, ord=ord))
    return torch.stack(norms)


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


def _product_hint(got: torch.Tensor, J: torch.Tensor, expected: torch.Tensor) -> str:
    T = J.shape[0]
    if got.shape == (T,):
        return (" Hint: return T + 1 norms, k = 0, ..., T; entry T is the norm of the empty product,"
                " the identity, which is 1.")
    if got.shape != expected.shape:
        return ""
    candidates = [
        (_reference_norms(J, order="wrong"), "multiply the later step on the left: d s_T / d s_k = "
                                             "J_T J_{T-1} ... J_{k+1}"),
        (_reference_norms(J, ord="fro"), "use the spectral norm (largest singular value, "
                                         "torch.linalg.matrix_norm(P, 2)), not the Frobenius norm"),
        (expected.flip(0), "entry k belongs to d s_T / d s_k: entry 0 has the most factors, entry T none"),
    ]
    for candidate, hint in candidates:
        if torch.allclose(got, candidate, rtol=1e-6, atol=1e-12) and not torch.allclose(got, expected):
            return f" Hint: {hint}."
    return ""


def check_product_norms(fn) -> bool:
    """Chapter 7: ``fn(jacobians)`` must return ||d s_T / d s_k|| for k = 0, ..., T.

    ``jacobians`` is a float64 tensor of shape (T, d, d) whose entry t - 1 is the Jacobian
    J_t = d s_t / d s_{t-1} of step t. The answer has length T + 1; entry k is the spectral
    norm (largest singular value) of J_T J_{T-1} ... J_{k+1}, and entry T, an empty
    product, is 1. The reference forms every product from scratch.
    """
    _require_callable(fn, "fn(jacobians)")
    for what, J in _product_cases():
        expected = _reference_norms(J)
        got, err = _call(fn, J.clone())
        if err is None:
            err = _compare(got, expected, "the list of norms", rtol=1e-8, atol=1e-12)
            if err:
                as_tensor, conversion_err = _as_float64(got, "the list of norms")
                if conversion_err is None:
                    err += "." + _product_hint(as_tensor.reshape(-1) if as_tensor.ndim else as_tensor, J, expected)
        if err:
            return _fail(f"{what}: {err.rstrip('.')}.")
    return _pass("your norms match products formed from scratch on five sequences of Jacobians, edge cases included.")
