"""Chapter 11's exercise check: the right residual-block Jacobian passes, the usual mistakes fail with a hint."""

import gradbook as gb
import pytest
import torch


def right(h, W, b):
    return torch.eye(len(h), dtype=h.dtype) + W * (1 - torch.tanh(h) ** 2)


@pytest.mark.parametrize("fn, hint", [
    (lambda h, W, b: W * (1 - torch.tanh(h) ** 2), "shortcut contributes"),
    (lambda h, W, b: torch.eye(len(h), dtype=h.dtype) + (1 - torch.tanh(h) ** 2)[:, None] * W,
     "scales the columns"),
    (lambda h, W, b: torch.eye(len(h), dtype=h.dtype) + W * torch.tanh(h), "derivative 1 - tanh"),
    (lambda h, W, b: torch.eye(len(h)), "differs"),
    (lambda h, W, b: torch.zeros(2, 2), "shape"),
    (lambda h, W, b: undefined_name, "NameError"),  # noqa: F821
])
def test_wrong_answers_fail_with_a_hint(fn, hint, capsys):
    assert not gb.checks.check_residual_jacobian(fn)
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and hint in out


def test_right_answer_passes(capsys):
    assert gb.checks.check_residual_jacobian(right)
    assert capsys.readouterr().out.startswith("Correct:")


def test_not_a_function_is_a_type_error():
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_residual_jacobian("J")
