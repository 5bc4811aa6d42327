"""Chapter 2's exercise checks: right answers pass, typical mistakes are named, the helpers are refused."""

import math

import gradbook as gb
import pytest
import torch


def second(z):
    sech = 1 / torch.cosh(z / 2)
    return -0.25 * sech**2 * torch.tanh(z / 2)


def second_by_autograd(z):
    z = z.clone().requires_grad_(True)
    (d1,) = torch.autograd.grad(torch.sigmoid(z).sum(), z, create_graph=True)
    return torch.autograd.grad(d1.sum(), z)[0]


def width(w):
    w = abs(w)
    if w < 4:
        return 0.0
    r = math.sqrt(1 - 4 / w)
    logit = lambda s: math.log(s / (1 - s))  # noqa: E731
    return (logit((1 + r) / 2) - logit((1 - r) / 2)) / w


def test_checks_accept_right_answers(capsys):
    assert gb.checks.check_sigmoid_second(second)
    assert gb.checks.check_sigmoid_second(lambda z: gb.sigmoid_prime(z) * (1 - 2 * torch.sigmoid(z)))  # sigma' is fine
    assert gb.checks.check_gain_interval_width(width)
    assert gb.checks.check_gain_interval_width(lambda w: torch.tensor(width(w)))  # a 0-d tensor is a number
    for seed in (0, 1, 12345):  # the graders' fresh inputs
        assert gb.checks.check_sigmoid_second(second, seed=seed)
        assert gb.checks.check_gain_interval_width(width, seed=seed)
    assert capsys.readouterr().out.count("Correct:") == 10


def test_seeded_cases_cover_the_edges():
    from gradbook.checks import ch02

    for seed in range(10):
        weights = ch02._random_widths(seed)
        assert abs(weights[0]) < 4 and 4 <= abs(weights[1]) < 5 and all(5 <= abs(w) <= 40 for w in weights[2:])
        assert any(float(z.abs().min()) == 0 for _, z in ch02._random_second_cases(seed))
    assert ch02._random_widths(3) == ch02._random_widths(3) != ch02._random_widths(4)
    signs = {math.copysign(1, w) for seed in range(10) for w in ch02._random_widths(seed)}
    assert signs == {-1.0, 1.0}
    with pytest.raises(TypeError, match="seed must be a whole number"):
        gb.checks.check_sigmoid_second(second, seed="1")


@pytest.mark.parametrize("seed", [None, 5])
@pytest.mark.parametrize("helper, name", [(gb.sigmoid_second, "gradbook.sigmoid_second"),
                                          (second_by_autograd, "torch.autograd.grad")])
def test_the_sigma_second_helpers_are_refused(helper, name, seed, capsys):
    alias = helper  # a reference taken before the check runs is caught too
    assert not gb.checks.check_sigmoid_second(lambda z: alias(z), seed=seed)
    assert f"called {name}, which this exercise asks you to do without" in capsys.readouterr().out
    assert float(gb.sigmoid_second(torch.tensor(0.0))) == 0.0  # restored afterwards


def test_the_width_helper_is_refused(capsys):
    alias = gb.gain_interval_width
    assert not gb.checks.check_gain_interval_width(lambda w: alias(w))
    assert "called gradbook.gain_interval_width, which" in capsys.readouterr().out
    assert gb.gain_interval_width(1.0) == 0.0


def _printed(values):
    return {f"{v:{fmt}}" for v in values for fmt in (".6g", ".4g", ".3g")} - {"0"}


def test_messages_do_not_print_the_reference(capsys):
    for w in (1.0, 3.9, 4.5, -6.9, 10.0, 25.0):
        assert not gb.checks.check_gain_interval_width(lambda v, w=w: width(v) if v != w else width(v) * 1.1 + 0.01)
        out = capsys.readouterr().out
        assert f"for w = {w} your width is too large" in out
        assert not any(s in out for s in _printed([width(w)])), out
    z = torch.linspace(-8, 8, 33, dtype=torch.float64)
    assert not gb.checks.check_sigmoid_second(lambda z: second(z) * 1.5)
    out = capsys.readouterr().out
    assert "differs" in out and not any(s in out for s in _printed(gb.sigmoid_second(z).tolist())), out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda z: gb.sigmoid_prime(z), "that is sigma' itself"),
        (lambda z: -second(z), "the sign is wrong"),
        (lambda z: second(z) * 2, "product rule"),
        (lambda z: second(z)[1:], "has shape"),
        (lambda z: second(z) * torch.nan, "NaN or inf"),
        (lambda z: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_sigma_second_check_names_the_mistake(capsys, wrong, message):
    assert gb.checks.check_sigmoid_second(wrong) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and message in out and out.count("\n") == 1


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda w: 0.3, "the set is empty"),
        (lambda w: width(w) if w > 0 else 0.0, "sign of w"),
        (lambda w: width(w) * abs(w), "the width in z = w a + b"),
        (lambda w: width(w) / 2, "too small"),
        (lambda w: math.nan, "you returned nan"),
        (lambda w: "wide", "return a number"),
    ],
)
def test_width_check_names_the_mistake(capsys, wrong, message):
    assert gb.checks.check_gain_interval_width(wrong) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and message in out and out.count("\n") == 1


def test_checks_reject_non_functions():
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_sigmoid_second(0.5)
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_gain_interval_width("w")
