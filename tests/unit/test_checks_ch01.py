"""Chapter 1's exercise checks: right answers pass, typical mistakes are named, the helpers are refused."""

import gradbook as gb
import pytest
import torch

F = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "identity": lambda t: t}
F_PRIME = {"sigmoid": lambda t: torch.sigmoid(t) * (1 - torch.sigmoid(t)), "tanh": lambda t: 1 - torch.tanh(t) ** 2,
           "identity": torch.ones_like}


def chain(w, b, x, activation):
    a, zs = x, []
    for w_j, b_j in zip(w, b, strict=True):
        zs.append(w_j * a + b_j)
        a = F[activation](zs[-1])
    fprime = F_PRIME[activation](torch.stack(zs))
    gains = w * fprime
    return torch.stack([fprime[j] * gains[j + 1:].prod() for j in range(len(w))])


def chain_by_autograd(w, b, x, activation):
    b = b.clone().requires_grad_(True)
    _, a = gb.chain_forward(w, b, x, activation)
    return torch.autograd.grad(a[-1], b)[0]


def two_layer(x, y, w1, w2):
    h = x @ w1
    r = torch.relu(h)
    g = 2 * (r @ w2 - y)
    return x.T @ ((g @ w2.T) * (h > 0)), r.T @ g


def two_layer_by_autograd(x, y, w1, w2):
    w1, w2 = w1.clone().requires_grad_(True), w2.clone().requires_grad_(True)
    ((torch.relu(x @ w1) @ w2 - y) ** 2).sum().backward()
    return w1.grad, w2.grad


def test_checks_accept_right_answers(capsys):
    assert gb.checks.check_chain_bias_grads(chain)
    assert gb.checks.check_two_layer_grads(two_layer)
    assert gb.checks.check_two_layer_grads(lambda *a: list(two_layer(*a)))  # a list is fine too
    for seed in (0, 1, 12345):  # the graders' fresh inputs
        assert gb.checks.check_chain_bias_grads(chain, seed=seed)
        assert gb.checks.check_two_layer_grads(two_layer, seed=seed)
    assert capsys.readouterr().out.count("Correct:") == 9


def test_seeded_cases_are_fresh_and_repeatable():
    from gradbook.checks import ch01

    a, b, c = (ch01._random_chain_cases(s) for s in (3, 3, 4))
    assert all(torch.equal(p[2], q[2]) for p, q in zip(a, b, strict=True))
    assert not all(p[0] == q[0] and torch.equal(p[2], q[2]) for p, q in zip(a, c, strict=True))
    assert {act for _, act, *_ in a} == {"sigmoid", "tanh", "identity"} and a[0][0] == 1
    with pytest.raises(ValueError, match="seed must be at least 0"):
        gb.checks.check_chain_bias_grads(chain, seed=-1)
    with pytest.raises(TypeError, match="seed must be a whole number"):
        gb.checks.check_two_layer_grads(two_layer, seed=1.5)


@pytest.mark.parametrize("seed", [None, 7])
@pytest.mark.parametrize("helper, name", [(gb.chain_bias_grads, "gradbook.chain_bias_grads"),
                                          (chain_by_autograd, "torch.autograd.grad")])
def test_the_chain_helpers_are_refused(helper, name, seed, capsys):
    alias = helper  # a reference taken before the check runs is caught too
    assert not gb.checks.check_chain_bias_grads(lambda *a: alias(*a), seed=seed)
    out = capsys.readouterr().out
    assert f"called {name}, which this exercise asks you to do without" in out
    assert gb.chain_bias_grads(torch.ones(2), torch.zeros(2), 1.0, "identity").tolist() == [1.0, 1.0]  # restored


@pytest.mark.parametrize("helper, name", [(lambda *a: gb.two_layer_relu_grads(*a)[1:], "gradbook.two_layer_relu_grads"),
                                          (two_layer_by_autograd, "torch.Tensor.backward")])
def test_the_two_layer_helpers_are_refused(helper, name, capsys):
    assert not gb.checks.check_two_layer_grads(helper)
    assert f"called {name}, which this exercise asks you to do without" in capsys.readouterr().out
    assert len(gb.two_layer_relu_grads(*gb.two_layer_relu_problem(2, 3, 4, 1))) == 3  # restored


def _printed_numbers(values):
    return [f"{v:.6g}" for v in values] + [f"{v:.4g}" for v in values] + [f"{v:.3g}" for v in values]


def test_messages_do_not_print_the_reference(capsys):
    from gradbook.checks import ch01

    _, act, w, b, x = ch01._chain_cases()[0]  # the first documented chain, where the check stops
    expected = gb.chain_bias_grads(w, b, x, act).tolist()
    assert not gb.checks.check_chain_bias_grads(lambda w, b, x, a: chain(w, b, x, a) + 0.25)
    out = capsys.readouterr().out
    assert "differs" in out and not any(s in out for s in _printed_numbers(expected)), out
    x, y, w1, w2 = gb.two_layer_relu_problem(5, 4, 3, 2, seed=3)
    _, g1, g2 = gb.two_layer_relu_grads(x, y, w1, w2)
    assert not gb.checks.check_two_layer_grads(lambda *a: (two_layer(*a)[0], two_layer(*a)[1] * 0.9))
    out = capsys.readouterr().out
    assert "grad_w2 differs" in out and not any(s in out for s in _printed_numbers(g2.flatten().tolist())), out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda w, b, x, a: torch.ones_like(w), "differs"),
        (lambda w, b, x, a: chain(w, b, x, a) / w * w.prod(), "one more factor w_k f'(z_k)"),  # the wrong w_k
        (lambda w, b, x, a: chain(w, b, x, a) * w, "no factor w_j of neuron j itself"),
        (lambda w, b, x, a: chain(w, b, x, a).flip(0), "the first neuron (nearest x) first"),
        (lambda w, b, x, a: chain(w, b, x, a)[:1], "has shape"),
        (lambda w, b, x, a: "grads", "should be a tensor"),
        (lambda w, b, x, a: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_chain_check_names_the_mistake(capsys, wrong, message):
    assert gb.checks.check_chain_bias_grads(wrong) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and message in out and out.count("\n") == 1


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda x, y, w1, w2: (x.T @ x, w2), "grad_w2"),
        (lambda x, y, w1, w2: (torch.zeros_like(w1), two_layer(x, y, w1, w2)[1]), "grad_w2 is right"),
        (lambda *a: tuple(g / 2 for g in two_layer(*a)), "left out the factor 2"),
        (lambda *a: tuple(g.T for g in two_layer(*a)), "has shape"),
        (lambda x, y, w1, w2: 3, "pair"),
        (lambda x, y, w1, w2: two_layer(x, y, w1, w2)[0], "pair"),
    ],
)
def test_two_layer_check_names_the_mistake(capsys, wrong, message):
    assert gb.checks.check_two_layer_grads(wrong) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and message in out and out.count("\n") == 1


def test_checks_reject_non_functions():
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_chain_bias_grads([1.0])
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_two_layer_grads(None)
