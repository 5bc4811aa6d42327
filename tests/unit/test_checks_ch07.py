"""Chapter 7's exercise checks accept right answers and explain the usual wrong ones."""

import gradbook as gb
import pytest
import torch


def right_step_jacobian(W, h):
    return (1 - h**2).unsqueeze(1) * W  # diag(1 - h_t^2) W: row i scaled by tanh'(net_t[i])


def right_product_norms(J):
    T, d, _ = J.shape
    product, norms = torch.eye(d, dtype=J.dtype), [1.0]
    for t in range(T - 1, -1, -1):  # one pass from the end: one more factor on the right each step
        product = product @ J[t]
        norms.append(torch.linalg.matrix_norm(product, ord=2).item())
    return torch.tensor(norms[::-1], dtype=J.dtype)


def test_checks_accept_right_answers(capsys):
    assert gb.checks.check_tanh_step_jacobian(right_step_jacobian)
    assert gb.checks.check_product_norms(right_product_norms)
    # the package's own one-pass function is right too, and a list of floats is accepted
    assert gb.checks.check_product_norms(gb.jacobian_product_norms)
    assert gb.checks.check_product_norms(lambda J: right_product_norms(J).tolist())
    out = capsys.readouterr().out
    assert out.count("Correct:") == 4 and "Not yet" not in out


def _naive_product_norms(J, ord=2, order="right"):
    T, d, _ = J.shape
    norms = []
    for k in range(T + 1):
        P = torch.eye(d, dtype=J.dtype)
        for t in range(k, T):
            P = J[t] @ P if order == "right" else P @ J[t]
        norms.append(torch.linalg.matrix_norm(P, ord=ord))
    return torch.stack(norms)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda W, h: (1 - h**2).unsqueeze(0) * W, "scaled the columns"),
        (lambda W, h: (1 - torch.tanh(h) ** 2).unsqueeze(1) * W, "do not apply tanh again"),
        (lambda W, h: (1 - h**2).unsqueeze(1) * W.T, "not W[j, i]"),
        (lambda W, h: W.clone(), "derivative of tanh"),
        (lambda W, h: torch.zeros(len(h)), "shape"),
        (lambda W, h: 1 / 0, "ZeroDivisionError"),
        (lambda W, h: "J", "should be a tensor"),
    ],
)
def test_step_jacobian_check_explains_wrong_answers(capsys, wrong, message):
    assert gb.checks.check_tanh_step_jacobian(wrong) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and message in out and out.count("\n") == 1


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda J: right_product_norms(J)[:-1], "empty product"),  # forgot k = T
        (lambda J: _naive_product_norms(J, order="wrong"), "later step on the left"),
        (lambda J: _naive_product_norms(J, ord="fro"), "not the Frobenius norm"),
        (lambda J: right_product_norms(J).flip(0), "entry 0 has the most factors"),
        (lambda J: torch.ones(J.shape[0] + 1), "differs"),
        (lambda J: right_product_norms(J) * float("nan"), "NaN"),
        (lambda J: J[0, 0, 0] / 0 if J.shape[0] > 100 else [][0], "IndexError"),
    ],
)
def test_product_norm_check_explains_wrong_answers(capsys, wrong, message):
    assert gb.checks.check_product_norms(wrong) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and message in out and out.count("\n") == 1


def test_checks_reject_non_functions():
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_tanh_step_jacobian(torch.eye(3))
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_product_norms([1.0, 0.5])
