"""Chapter 6's exercise checks: right answers pass, typical mistakes are named, the helpers are refused."""

import math

import gradbook as gb
import pytest
import torch
from torch import nn

ALPHA, LAMBDA = 1.6732632423543772848, 1.0507009873554804934


def selu_prime(z):
    return torch.where(z > 0, LAMBDA, LAMBDA * ALPHA * torch.exp(z.clamp(max=0)))


def selu_prime_by_autograd(z):
    z = z.clone().requires_grad_(True)
    nn.functional.selu(z).sum().backward()
    return z.grad


def dead_fraction(net, X):
    dead, a = [], X
    with torch.no_grad():
        for module in net:
            a = module(a)
            if not isinstance(module, nn.Linear):
                dead.append((a == 0).all(dim=0))
    return torch.cat(dead).float().mean().item()  # float32 is close enough


def test_checks_accept_right_answers(capsys):
    assert gb.checks.check_selu_prime(selu_prime)
    assert gb.checks.check_dead_unit_fraction(dead_fraction)
    assert gb.checks.check_dead_unit_fraction(lambda net, X: torch.tensor(dead_fraction(net, X)))  # a 0-d tensor
    for seed in (0, 1, 12345):  # the graders' fresh inputs
        assert gb.checks.check_selu_prime(selu_prime, seed=seed)
        assert gb.checks.check_dead_unit_fraction(dead_fraction, seed=seed)
    assert capsys.readouterr().out.count("Correct:") == 9


def test_seeded_cases_are_fresh_and_leave_the_global_generator_alone():
    from gradbook.checks import ch06

    for seed in range(5):
        for _, z in ch06._selu_points(seed):
            assert (z > 0).sum() == (z < 0).sum() > 0 and float(z.abs().min()) >= 1e-3
    cases = ch06._dead_cases(4)
    assert [c[0] for c in cases] == ["relu", "relu", "leaky", "relu"]
    assert [c[1] for c in cases] == [c[1] for c in ch06._dead_cases(4)] != [c[1] for c in ch06._dead_cases(5)]
    assert any(ch06._expected_fraction(net, X) > 0 for seed in range(3) for _, _, net, X in ch06._dead_cases(seed))
    torch.manual_seed(0)
    before = torch.rand(3)
    torch.manual_seed(0)
    assert gb.checks.check_dead_unit_fraction(dead_fraction, seed=2)
    assert torch.equal(torch.rand(3), before)
    with pytest.raises(TypeError, match="seed must be a whole number"):
        gb.checks.check_selu_prime(selu_prime, seed=0.5)


@pytest.mark.parametrize("seed", [None, 6])
@pytest.mark.parametrize("helper, name", [
    (gb.selu_prime, "gradbook.selu_prime"),
    (lambda z: gb.derivative("selu")(z), "gradbook.selu_prime"),
    (lambda z: gb.SELU_LAMBDA * gb.elu_prime(z, gb.SELU_ALPHA), "gradbook.elu_prime"),
    (selu_prime_by_autograd, "torch.Tensor.backward"),
])
def test_the_selu_helpers_are_refused(helper, name, seed, capsys):
    alias = helper  # a reference taken before the check runs is caught too
    assert not gb.checks.check_selu_prime(lambda z: alias(z), seed=seed)
    assert f"called {name}, which this exercise asks you to do without" in capsys.readouterr().out
    assert float(gb.selu_prime(torch.tensor(1.0))) == pytest.approx(LAMBDA)  # restored afterwards


@pytest.mark.parametrize("seed", [None, 6])
@pytest.mark.parametrize("helper, name", [
    (gb.dead_unit_fraction, "gradbook.dead_unit_fraction"),
    (lambda net, X: float(torch.cat(gb.dead_units(net, X)).float().mean()), "gradbook.dead_units"),
])
def test_the_dead_unit_helpers_are_refused(helper, name, seed, capsys):
    assert not gb.checks.check_dead_unit_fraction(helper, seed=seed)
    assert f"called {name}, which this exercise asks you to do without" in capsys.readouterr().out
    net, X = nn.Sequential(nn.Linear(2, 3), nn.ReLU()), torch.randn(4, 2)
    assert gb.dead_unit_fraction(net, X) == pytest.approx(dead_fraction(net, X))  # restored afterwards


def test_messages_do_not_print_the_reference(capsys):
    from gradbook.checks import ch06

    z = ch06._selu_points(None)[0][1]
    assert not gb.checks.check_selu_prime(lambda z: selu_prime(z) * 1.01)
    out = capsys.readouterr().out
    values = gb.selu_prime(z).tolist()
    assert "differs" in out and not any(f"{v:{f}}" in out for v in values for f in (".6g", ".4g")), out
    _, _, net, X = ch06._dead_cases(None)[0]  # the check stops at the first network
    expected = ch06._expected_fraction(net, X)
    assert not gb.checks.check_dead_unit_fraction(lambda net, X: dead_fraction(net, X) + 0.05)
    out = capsys.readouterr().out
    assert "your fraction is too large" in out
    assert not any(f"{expected:{f}}" in out for f in (".6g", ".4g", ".3g", ".2g")), out


def zero_output_rate(net, X):  # the frequency of zero outputs: a different, wrong quantity
    return float(gb.activation_stats(net, X).frac_zero.mean())


def negative_preactivation(net, X):  # counts z <= 0, which is wrong for leaky units
    a, masks, z = X, [], None
    for m in net:
        a = m(a)
        if isinstance(m, nn.Linear):
            z = a
        else:
            masks.append((z <= 0).all(dim=0))
    return float(torch.cat(masks).float().mean())


def count(net, X):
    return dead_fraction(net, X) * sum(m.out_features for m in net[:-1] if isinstance(m, nn.Linear))


def layer_mean(net, X):
    a, fractions = X, []
    with torch.no_grad():
        for m in net:
            a = m(a)
            if not isinstance(m, nn.Linear):
                fractions.append((a == 0).all(dim=0).double().mean())
    return float(torch.stack(fractions).mean())


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda z: torch.where(z > 0, 1.0, ALPHA * z.exp()), "not 1"),
        (lambda z: torch.where(z > 0, LAMBDA, LAMBDA * z.exp()), "missing the factor alpha"),
        (lambda z: torch.where(z > 0, LAMBDA, ALPHA * z.exp()), "missing the factor lambda"),
        (lambda z: torch.where(z > 0, LAMBDA, nn.functional.selu(z)), "differentiate"),
        (nn.functional.selu, "constant lambda"),
        (lambda z: selu_prime(z)[:3], "shape"),
        (lambda z: math.sqrt(-1), "ValueError"),
    ],
)
@pytest.mark.parametrize("seed", [None, 2])
def test_selu_check_names_the_mistake(capsys, wrong, message, seed):
    assert gb.checks.check_selu_prime(wrong, seed=seed) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and message in out and out.count("\n") == 1


@pytest.mark.parametrize(
    "wrong, message, seed",
    [
        (zero_output_rate, "for every example", None),
        (zero_output_rate, "for every example", 1),
        (negative_preactivation, "leaky units do not die", None),
        (negative_preactivation, "leaky units do not die", 1),
        (count, "not their number", None),
        (count, "not their number", 1),
        (layer_mean, "You averaged the layers' fractions", 1),
        (lambda net, X: math.nan, "you returned nan", None),
        (lambda net, X: "none", "return one number", None),
    ],
)
def test_dead_unit_check_names_the_mistake(capsys, wrong, message, seed):
    assert gb.checks.check_dead_unit_fraction(wrong, seed=seed) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and message in out and out.count("\n") == 1


def test_checks_reject_non_functions():
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_selu_prime(3)
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_dead_unit_fraction(None)
