"""Chapter 11's exercise check: the right residual-block Jacobian passes, the usual mistakes fail with a hint."""

import gradbook as gb
import pytest
import torch


def right(h, W, b):
    return torch.eye(len(h), dtype=h.dtype) + W * (1 - torch.tanh(h) ** 2)


@pytest.mark.parametrize("seed", [None, 2, 99])
@pytest.mark.parametrize("fn, hint", [
    (lambda h, W, b: W * (1 - torch.tanh(h) ** 2), "shortcut contributes"),
    (lambda h, W, b: torch.eye(len(h), dtype=h.dtype) + (1 - torch.tanh(h) ** 2)[:, None] * W,
     "scales the columns"),
    (lambda h, W, b: torch.eye(len(h), dtype=h.dtype) + W * torch.tanh(h), "derivative 1 - tanh"),
    (lambda h, W, b: torch.eye(len(h)), "differs"),
    (lambda h, W, b: torch.zeros(2, 2), "shape"),
    (lambda h, W, b: undefined_name, "NameError"),  # noqa: F821
])
def test_wrong_answers_fail_with_a_hint(fn, hint, seed, capsys):
    assert not gb.checks.check_residual_jacobian(fn, seed=seed)
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and hint in out


def test_right_answer_passes(capsys):
    assert gb.checks.check_residual_jacobian(right)
    assert capsys.readouterr().out.startswith("Correct:")
    for seed in (0, 1, 12345):  # the graders' fresh inputs
        assert gb.checks.check_residual_jacobian(right, seed=seed)
    assert capsys.readouterr().out.count("Correct:") == 3


def test_seeded_cases_are_fresh_and_repeatable():
    seen = []

    def record(h, W, b):
        seen.append(torch.cat([h, W.flatten(), b]))
        return right(h, W, b)

    for seed in (3, 3, 4):
        assert gb.checks.check_residual_jacobian(record, seed=seed)
    first, again, other = seen[:4], seen[4:8], seen[8:]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert any(a.shape != b.shape or not torch.equal(a, b) for a, b in zip(first, other, strict=True))


def with_net_jacobian(h, W, b):
    return torch.eye(len(h), dtype=h.dtype) + gb.net_jacobian(W, h)


def _branch(h, W):
    """The branch W tanh(h) as an MLP: an identity layer, tanh, then W."""
    first, second = torch.nn.Linear(len(h), len(h), dtype=h.dtype), torch.nn.Linear(len(h), len(h), dtype=h.dtype)
    with torch.no_grad():
        first.weight.copy_(torch.eye(len(h)))
        second.weight.copy_(W)
        first.bias.zero_()
        second.bias.zero_()
    return torch.nn.Sequential(first, torch.nn.Tanh(), second)


def with_input_output_jacobian(h, W, b):
    return torch.eye(len(h), dtype=h.dtype) + gb.input_output_jacobian(_branch(h, W), h)


def with_layer_jacobians(h, W, b):
    first, second = gb.layer_jacobians(_branch(h, W), h)
    return torch.eye(len(h), dtype=h.dtype) + second @ first


def with_autograd(h, W, b):
    return torch.autograd.functional.jacobian(lambda v: v + W @ torch.tanh(v) + b, h)


def with_jacrev(h, W, b):
    return torch.func.jacrev(lambda v: v + W @ torch.tanh(v) + b)(h)


@pytest.mark.parametrize("helper", [with_net_jacobian, with_input_output_jacobian, with_layer_jacobians,
                                    with_autograd, with_jacrev])
def test_the_helpers_the_exercise_rules_out_are_refused(helper, capsys, monkeypatch):
    with monkeypatch.context() as allowed:  # each of them is a right answer when nothing is forbidden
        allowed.setattr(gb.checks.ch11, "FORBIDDEN", ())
        assert gb.checks.check_residual_jacobian(helper)
    for seed in (None, 5):
        assert not gb.checks.check_residual_jacobian(helper, seed=seed)
        assert "which this exercise asks you to do without" in capsys.readouterr().out.splitlines()[-1]
    assert gb.net_jacobian(torch.eye(2), torch.zeros(2)).shape == (2, 2)  # restored afterwards


def test_messages_do_not_print_the_reference(capsys):
    seen = []

    def half(h, W, b):
        seen.append(right(h, W, b))
        return 0.5 * seen[-1]

    for seed in (None, 5):
        assert not gb.checks.check_residual_jacobian(half, seed=seed)
        out = capsys.readouterr().out
        values = [v for v in seen[-1].flatten().tolist() if v not in (0.0, 1.0)]
        assert values and all(f"{v:.6g}" not in out and f"{v:.4g}" not in out for v in values), out
        assert "where your value is" in out


def test_not_a_function_is_a_type_error():
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_residual_jacobian("J")
    with pytest.raises(ValueError, match="seed must be at least 0"):
        gb.checks.check_residual_jacobian(right, seed=-3)
