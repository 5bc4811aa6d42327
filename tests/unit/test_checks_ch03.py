"""Chapter 3's exercise checks: right answers pass, typical mistakes are named, the helpers are refused."""

import gradbook as gb
import pytest
import torch


def forward(params, X):
    acts, a = [], X
    for W, b in params:
        a = torch.sigmoid(a @ W.T + b)
        acts.append(a)
    return acts


def deltas(params, X, y, quadratic=False):
    """Every example's delta^l, input side first, by hand."""
    acts = forward(params, X)
    delta = acts[-1] - gb.one_hot(y, acts[-1].shape[1]).double()
    if quadratic:
        delta = delta * acts[-1] * (1 - acts[-1])
    out = [delta]
    for (W, _), a in zip(reversed(params[1:]), reversed(acts[:-1]), strict=True):
        delta = (delta @ W) * a * (1 - a)
        out.append(delta)
    return out[::-1]


def norms(params, X, y):
    return torch.stack([d.mean(0).norm() for d in deltas(params, X, y)])


def norms_by_autograd(params, X, y):
    bs = [b.clone().requires_grad_(True) for _, b in params]
    a = X
    for (W, _), b in zip(params, bs, strict=True):
        a = torch.sigmoid(a @ W.T + b)
    cost = torch.nn.functional.binary_cross_entropy(a, gb.one_hot(y, a.shape[1]).double(), reduction="sum") / len(X)
    return torch.stack([g.norm() for g in torch.autograd.grad(cost, bs)])


def by_multiseed(params, X, y):
    return gb.multiseed_delta_norms([(W[None], b[None]) for W, b in params], X, y)[0]


def by_nielsen(params, X, y):
    net = torch.nn.Sequential()
    for W, b in params:
        layer = torch.nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(W)
            layer.bias.copy_(b)
        net.extend([layer, torch.nn.Sigmoid()])
    loss = lambda out, t: torch.nn.functional.binary_cross_entropy(  # noqa: E731
        out, gb.one_hot(t, out.shape[1]).double(), reduction="sum") / len(t)
    return gb.nielsen_delta_norms(net, X, y, loss)


def step(params, X, y, lr, lmbda, n, decay_bias=False, m_for_n=False, mean=False, summed=False):
    """Nielsen's step, with the gradient by hand (or, as the exercise allows, any other way)."""
    m = len(X)
    acts = [X] + forward(params, X)
    d = 1 - lr * lmbda / (m if m_for_n else n)
    scale = lr if summed else lr / m / (m if mean else 1)
    return [(d * W - scale * delta.T @ a, (d if decay_bias else 1) * b - scale * delta.sum(0))
            for (W, b), delta, a in zip(params, deltas(params, X, y), acts[:-1], strict=True)]


def step_by_autograd(params, X, y, lr, lmbda, n):
    leaves = [(W.clone().requires_grad_(True), b.clone().requires_grad_(True)) for W, b in params]
    a = X
    for W, b in leaves:
        a = torch.sigmoid(a @ W.T + b)
    cost = torch.nn.functional.binary_cross_entropy(a, gb.one_hot(y, a.shape[1]).double(), reduction="sum")
    grads = torch.autograd.grad(cost, [p for pair in leaves for p in pair])
    return [((1 - lr * lmbda / n) * W - lr / len(X) * grads[2 * l], b - lr / len(X) * grads[2 * l + 1])
            for l, (W, b) in enumerate(params)]


def step_by_multiseed_train(params, X, y, lr, lmbda, n):
    """The package's own step, made to take one full-batch step with the decay of n examples."""
    sizes = [params[0][0].shape[1]] + [W.shape[0] for W, _ in params]
    run = gb.multiseed_train(sizes, [0], X, y, epochs=1, batch_size=len(X), lr=lr, lmbda=lmbda * len(X) / n,
                             params=[(W[None], b[None]) for W, b in params])
    return [(W[0], b[0]) for W, b in run.params]


def test_checks_accept_right_answers(capsys):
    assert gb.checks.check_delta_norms(norms)
    assert gb.checks.check_l2_sgd_step(step)
    assert gb.checks.check_l2_sgd_step(step_by_autograd)  # the step's gradient may come from autograd
    for seed in (0, 1, 12345):  # the graders' fresh inputs
        assert gb.checks.check_delta_norms(norms, seed=seed)
        assert gb.checks.check_l2_sgd_step(step, seed=seed)
        assert gb.checks.check_l2_sgd_step(step_by_autograd, seed=seed)
    assert capsys.readouterr().out.count("Correct:") == 12


def test_seeded_cases_are_fresh_and_repeatable():
    from gradbook.checks import ch03

    a, b, c = (ch03._step_cases(s) for s in (2, 2, 3))
    assert [x[:5] for x in a] == [x[:5] for x in b] != [x[:5] for x in c]
    assert all(torch.equal(p[6], q[6]) for p, q in zip(a, b, strict=True))
    assert len(a[0][0]) == 3 and len(a[1][0]) == 5  # one hidden layer, then three
    assert all(n > m >= 2 for _, m, _, _, n, *_ in a)
    with pytest.raises(ValueError, match="seed must be at most"):
        gb.checks.check_delta_norms(norms, seed=2**40)


@pytest.mark.parametrize("seed", [None, 4])
@pytest.mark.parametrize("helper, name", [
    (norms_by_autograd, "torch.autograd.grad"),
    (by_multiseed, "gradbook.multiseed_delta_norms"),
    (by_nielsen, "gradbook.nielsen_delta_norms"),
    (lambda p, X, y: gb.multiseed_backprop([(W[None], b[None]) for W, b in p], X, y), "gradbook.multiseed_backprop"),
])
def test_the_delta_helpers_are_refused(helper, name, seed, capsys):
    assert not gb.checks.check_delta_norms(helper, seed=seed)
    assert f"called {name}, which this exercise asks you to do without" in capsys.readouterr().out


def test_the_package_step_is_refused(capsys):
    from gradbook.checks import ch03

    sizes, m, lr, lmbda, n, params, X, y = ch03._step_cases(None)[0]
    reference = ch03._expected_step(params, X, y, lr, lmbda, n)
    cheat = step_by_multiseed_train(params, X, y, lr, lmbda, n)
    assert all(torch.allclose(a, b) for pa, pb in zip(cheat, reference, strict=True)
               for a, b in zip(pa, pb, strict=True))  # it would pass
    alias = gb.multiseed_train  # a reference taken before the check runs is caught too
    assert not gb.checks.check_l2_sgd_step(step_by_multiseed_train)
    assert "called gradbook.multiseed_train, which" in capsys.readouterr().out
    assert not gb.checks.check_l2_sgd_step(lambda *a: ch03._expected_step(*a))
    assert "called gradbook.checks.ch03._expected_step, which" in capsys.readouterr().out
    assert alias is gb.multiseed_train and step_by_multiseed_train(params, X, y, lr, lmbda, n)  # restored


def test_messages_do_not_print_the_reference(capsys):
    from gradbook.checks import ch03

    params, X, y = ch03._problem([5, 4, 3], 7, seed=30)
    expected = norms(params, X, y).tolist()
    assert not gb.checks.check_delta_norms(lambda p, X, y: norms(p, X, y) * 1.5)
    out = capsys.readouterr().out
    assert "differs" in out and not any(f"{v:{f}}" in out for v in expected for f in (".6g", ".4g", ".3g")), out
    sizes, m, lr, lmbda, n, params, X, y = ch03._step_cases(None)[0]
    W = ch03._expected_step(params, X, y, lr, lmbda, n)[-1][0].flatten().tolist()
    assert not gb.checks.check_l2_sgd_step(lambda *a: [(W * 1.01, b) for W, b in step(*a)])
    out = capsys.readouterr().out
    assert "W of layer 2 differs" in out and not any(f"{v:{f}}" in out for v in W for f in (".6g", ".4g")), out


@pytest.mark.parametrize("seed", [None, 0])
@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda p, X, y: norms(p, X, y) * len(X), "Nielsen averages it"),
        (lambda p, X, y: norms(p, X, y).flip(0), "input side first"),
        (lambda p, X, y: torch.stack([d.norm(dim=1).mean() for d in deltas(p, X, y)]), "then take one norm"),
        (lambda p, X, y: torch.stack([d.mean(0).norm() for d in deltas(p, X, y, quadratic=True)]),
         "without a factor sigma'(z)"),
        (lambda p, X, y: norms(p, X, y)[:-1], "the output layer included"),
        (lambda p, X, y: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_delta_check_names_the_mistake(capsys, wrong, message, seed):
    assert gb.checks.check_delta_norms(wrong, seed=seed) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and message in out and out.count("\n") == 1


@pytest.mark.parametrize("seed", [None, 0])
@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda *a: step(*a, decay_bias=True), "biases are not decayed"),
        (lambda *a: step(*a, m_for_n=True), "whole training set"),
        (lambda *a: step(*a, mean=True), "divided by m again"),
        (lambda p, X, y, lr, lmbda, n: step(p, X, y, lr, 0.0, n), "also shrink"),
        (lambda *a: step(*a, summed=True), "scaled by lr / m"),
        (lambda *a: step(*a)[:-1], "(W, b) pairs, one per layer"),
        (lambda *a: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_step_check_names_the_mistake(capsys, wrong, message, seed):
    assert gb.checks.check_l2_sgd_step(wrong, seed=seed) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and message in out and out.count("\n") == 1


def test_checks_reject_non_functions():
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_delta_norms([1.0])
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_l2_sgd_step(3)
