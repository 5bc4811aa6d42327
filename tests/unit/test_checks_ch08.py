"""Chapter 8's exercise check: right answers pass, typical mistakes are named."""

import math

import gradbook as gb
import pytest
import torch


def by_hand(grads, max_norm):
    norm = math.sqrt(sum((g.double() ** 2).sum().item() for g in grads))
    return [g * (max_norm / norm if norm > max_norm else 1.0) for g in grads]


def with_torch(grads, max_norm):
    params = [torch.nn.Parameter(g.clone()) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    torch.nn.utils.clip_grad_norm_(params, max_norm)
    return [p.grad for p in params]


def test_check_accepts_right_answers(capsys):
    assert gb.checks.check_clip_by_norm(by_hand)
    assert gb.checks.check_clip_by_norm(lambda g, c: tuple(by_hand(g, c)))  # a tuple is fine too
    for seed in (0, 1, 12345):  # the graders' fresh inputs
        assert gb.checks.check_clip_by_norm(by_hand, seed=seed)
    assert capsys.readouterr().out.count("Correct:") == 5


@pytest.mark.parametrize("helper", [gb.clip_by_norm, with_torch])
def test_the_helpers_the_exercise_rules_out_are_refused(helper, capsys):
    alias = helper  # a reference taken before the check runs is caught too
    assert not gb.checks.check_clip_by_norm(lambda g, c: alias(g, c))
    assert "which this exercise asks you to do without" in capsys.readouterr().out
    assert gb.clip_by_norm([torch.ones(2)], 1.0)[0].norm() <= 1.0 + 1e-6  # restored afterwards


def test_messages_do_not_print_the_reference(capsys):
    grads = [torch.tensor([3.0, 4.0], dtype=torch.float64), torch.tensor([[12.0]], dtype=torch.float64)]
    expected = [v.item() for g in gb.clip_by_norm(grads, 1.0) for v in g.flatten()]
    assert not gb.checks.check_clip_by_norm(lambda g, c: [x * 0.5 for x in g])
    out = capsys.readouterr().out
    assert all(f"{v:.6g}" not in out and f"{v:.4g}" not in out for v in expected), out


def in_place(grads, max_norm):
    norm = math.sqrt(sum((g**2).sum().item() for g in grads))
    for g in grads:
        g.mul_(min(1.0, max_norm / norm) if norm > 0 else 1.0)
    return grads


def always_rescale(grads, max_norm):
    norm = math.sqrt(sum((g**2).sum().item() for g in grads))
    return [g * max_norm / norm for g in grads]


def per_tensor(grads, max_norm):
    return [g * min(1.0, max_norm / g.norm().item()) if g.norm() > 0 else g.clone() for g in grads]


def divides_by_zero(grads, max_norm):
    norm = torch.sqrt(sum((g**2).sum() for g in grads))
    return [g / norm * torch.clamp(norm, max=max_norm) for g in grads]  # 0 / 0 for a zero gradient


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda g, c: [x.clamp(-c, c) for x in g], "clipping by value"),
        (per_tensor, "each tensor on its own"),
        (in_place, "changed the tensors it was given"),
        (always_rescale, "already short enough"),
        (divides_by_zero, "do not divide by it"),
        (lambda g, c: torch.cat([x.flatten() for x in g]), "return a list of tensors"),
        (lambda g, c: by_hand(g, c)[:1], "tensors for"),
        (lambda g, c: [x.flatten() for x in by_hand(g, c)], "has shape"),
        (lambda g, c: 1 / 0, "ZeroDivisionError"),
        (lambda g, c: [x * 0.5 for x in g], "differs from the reference"),
    ],
)
def test_check_names_the_mistake(capsys, wrong, message):
    assert gb.checks.check_clip_by_norm(wrong) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and message in out and out.count("\n") == 1


def test_check_rejects_non_functions():
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_clip_by_norm([1.0])
