"""Chapter 12's exercise check: the right update-to-weight ratios pass, the usual mistakes fail with a hint."""

import gradbook as gb
import pytest
import torch


def right(before, after):
    return torch.stack([(a - b).norm() / b.norm() for b, a in zip(before, after, strict=True)])


@pytest.mark.parametrize("fn, hint", [
    (lambda b, a: torch.stack([(y.norm() - x.norm()).abs() / x.norm() for x, y in zip(b, a, strict=True)]),
     "difference of the norms"),
    (lambda b, a: torch.stack([(y - x).norm() / y.norm() for x, y in zip(b, a, strict=True)]), "before the step"),
    (lambda b, a: torch.stack([(y - x).pow(2).sum() / x.pow(2).sum() for x, y in zip(b, a, strict=True)]),
     "square root"),
    (lambda b, a: torch.stack([(y - x).abs().max() / x.abs().max() for x, y in zip(b, a, strict=True)]),
     "differs"),
    (lambda b, a: torch.tensor([0.0]), "shape"),
    (lambda b, a: undefined_name, "NameError"),  # noqa: F821
])
def test_wrong_answers_fail_with_a_hint(fn, hint, capsys):
    assert not gb.checks.check_update_ratios(fn)
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and hint in out


def test_right_answer_passes(capsys):
    assert gb.checks.check_update_ratios(right)
    assert capsys.readouterr().out.startswith("Correct:")


def test_not_a_function_is_a_type_error():
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_update_ratios([1.0])
