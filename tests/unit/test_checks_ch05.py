"""Chapter 5's exercise checks: right answers pass on fixed and fresh activations, mistakes are named."""

import math

import gradbook as gb
import gradbook_references  # instructor/: on sys.path through tests/conftest.py
import pytest
import torch

XI = torch.randn(400_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)  # Monte Carlo, ~0.2%


def forward_std(f, fan_in):
    return 1 / math.sqrt(fan_in * float((f(XI) ** 2).mean()))


def backward_std(f, fan_out):
    z = XI.clone().requires_grad_(True)
    (slope,) = torch.autograd.grad(f(z).sum(), z)  # autograd is allowed here
    return 1 / math.sqrt(fan_out * float((slope**2).mean()))


def variance_rule(f, fan_in):
    """The common mistake: Var[f(z)] in place of the second moment E[f(z)^2]."""
    return 1 / math.sqrt(fan_in * float(f(XI).var()))


def test_checks_accept_right_answers(capsys):
    assert gb.checks.check_forward_std(forward_std)
    assert gb.checks.check_backward_std(backward_std)
    for seed in (0, 1, 12345):  # the graders' fresh activations and widths
        assert gb.checks.check_forward_std(forward_std, seed=seed)
        assert gb.checks.check_backward_std(backward_std, seed=seed)
    assert capsys.readouterr().out.count("Correct:") == 8


def test_seeded_cases_are_fresh_and_repeatable():
    from gradbook.checks import ch05

    names = [[name for name, _, _ in ch05._random_cases(seed)] for seed in range(6)]
    assert len({tuple(n) for n in names}) == 6 and all(len(set(n)) == 6 for n in names)
    a, b = ch05._random_cases(2), ch05._random_cases(2)
    z = torch.linspace(-3, 3, 7, dtype=torch.float64)
    assert [(n, w) for n, _, w in a] == [(n, w) for n, _, w in b]
    assert all(torch.equal(f(z), g(z)) for (_, f, _), (_, g, _) in zip(a, b, strict=True))
    assert all(1 <= w <= 512 for seed in range(6) for *_, w in ch05._random_cases(seed))
    with pytest.raises(ValueError, match="seed must be at least 0"):
        gb.checks.check_forward_std(forward_std, seed=-3)


@pytest.mark.parametrize("check", [gb.checks.check_forward_std, gb.checks.check_backward_std])
def test_looking_the_gain_up_is_refused(check, capsys):

    gain = torch.nn.init.calculate_gain  # a reference taken before the check runs is caught too
    assert not check(lambda f, n: gain("relu") / math.sqrt(n))
    assert "called torch.nn.init.calculate_gain, which this exercise asks you to do without" in capsys.readouterr().out
    assert not check(lambda f, n: 1 / math.sqrt(n * gradbook_references.normal_moments(f)["second"]), seed=1)
    assert "called gradbook_references.normal_moments, which" in capsys.readouterr().out
    assert torch.nn.init.calculate_gain("relu") == math.sqrt(2)  # restored afterwards


def test_messages_do_not_print_the_reference(capsys):
    from gradbook.checks import ch05

    for name, f, n in ch05._CASES[:3]:
        expected = 1 / math.sqrt(n * gradbook_references.normal_moments(f)["second"])
        assert not gb.checks.check_forward_std(lambda g, m, f=f: forward_std(g, m) * (1.2 if g is f else 1.0))
        out = capsys.readouterr().out
        assert f"for {name} with fan_in = {n} your std is too large" in out
        assert not any(f"{expected:{fmt}}" in out for fmt in (".6g", ".4g", ".3g", ".2g")), out


@pytest.mark.parametrize("seed", [None, 0, 3])
@pytest.mark.parametrize(
    "check, wrong, message",
    [
        (gb.checks.check_forward_std, lambda f, n: forward_std(f, n) ** 2, "not the variance"),
        (gb.checks.check_forward_std, lambda f, n: forward_std(f, n) * math.sqrt(n), "divide the variance"),
        (gb.checks.check_backward_std, lambda f, n: backward_std(f, n) * math.sqrt(n), "divide the variance"),
        (gb.checks.check_forward_std, lambda f, n: forward_std(f, n) * 1.05, "too large"),
        (gb.checks.check_forward_std, lambda f, n: "small", "return one number"),
        (gb.checks.check_forward_std, lambda f, n: math.inf, "returned inf"),
        (gb.checks.check_backward_std, lambda f, n: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_checks_name_the_mistake(capsys, check, wrong, message, seed):
    assert check(wrong, seed=seed) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and message in out and out.count("\n") == 1


def test_the_rules_mixed_up_are_named(capsys):
    assert not gb.checks.check_forward_std(variance_rule)
    assert "second moment" in capsys.readouterr().out
    assert not gb.checks.check_backward_std(forward_std)
    assert "That is the forward rule" in capsys.readouterr().out
    for seed in range(3):  # on fresh activations too
        assert not gb.checks.check_backward_std(forward_std, seed=seed)
        out = capsys.readouterr().out
        assert "That is the forward rule" in out, out


def test_checks_reject_non_functions():
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_forward_std(0.1)
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_backward_std("relu")


def test_the_documented_moments_are_the_references_and_the_package_has_no_quadrature():
    from gradbook.checks import ch05

    for (_, f, _), stored in zip(ch05._CASES, ch05.EXPECTED_MOMENTS, strict=True):
        computed = gradbook_references.normal_moments(f)
        assert all(abs(stored[k] - computed[k]) <= 1e-12 for k in stored)
    assert not hasattr(ch05, "_moments")
