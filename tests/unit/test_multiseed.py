"""gb.multiseed: the batched trainer against plain single-network training with autograd."""

import gradbook as gb
import pytest
import torch
from torch import nn


def _digits(n=60, dtype=torch.float64):
    X, y = gb.load_digits("train", dtype=dtype)
    return X[:n], y[:n]


def _cost_sum(params, X, y):
    """Nielsen's cost summed over the examples, by autograd-friendly torch code."""
    a = X
    for W, b in params:
        a = torch.sigmoid(a @ W.T + b)
    Y = nn.functional.one_hot(y, a.shape[1]).to(a.dtype)
    return nn.functional.binary_cross_entropy(a, Y, reduction="sum")


def _reference_train(params, X, y, orders, *, batch_size, lr, lmbda):
    """One network trained alone: autograd gradients, Nielsen's update, the given batch orders."""
    params = [(W.clone(), b.clone()) for W, b in params]
    n, m = X.shape[0], batch_size
    accs, costs = [], [float(_cost_sum(params, X, y)) / n]
    for order in orders:  # one row per epoch
        for k in range(0, (n // m) * m, m):
            idx = order[k:k + m]
            leaves = [(W.requires_grad_(True), b.requires_grad_(True)) for W, b in params]
            grads = torch.autograd.grad(_cost_sum(leaves, X[idx], y[idx]), [p for pair in leaves for p in pair])
            with torch.no_grad():
                params = [((1 - lr * lmbda / n) * W - (lr / m) * grads[2 * l], b - (lr / m) * grads[2 * l + 1])
                          for l, (W, b) in enumerate(leaves)]
        with torch.no_grad():
            a = X
            for W, b in params:
                a = torch.sigmoid(a @ W.T + b)
            accs.append(float((a.argmax(1) == y).double().mean()))
            costs.append(float(_cost_sum(params, X, y)) / n)
    return [(W.detach(), b.detach()) for W, b in params], accs, costs


def _one(params, k):
    return [(W[k], b[k]) for W, b in params]


@pytest.mark.parametrize("sizes, batch_size", [([64, 12, 10], 10), ([64, 8, 8, 8, 10], 6), ([64, 10, 10, 10], 60)])
def test_train_matches_each_seed_trained_alone_with_autograd(sizes, batch_size):
    X, y = _digits(60)
    seeds, epochs, lr, lmbda = [7, 2, 11], 2, 0.3, 5.0
    run = gb.multiseed_train(sizes, seeds, X, y, epochs=epochs, batch_size=batch_size, lr=lr, lmbda=lmbda,
                             X_val=X, y_val=y, record_cost=True)
    orders = gb.multiseed_orders(60, epochs, seeds)
    for k, s in enumerate(seeds):
        init = _one(gb.multiseed_init(sizes, [s], dtype=torch.float64), 0)  # the seed drawn on its own
        for (W, b), (W0, b0) in zip(_one(run.init, k), init, strict=True):
            assert torch.equal(W, W0) and torch.equal(b, b0)
        expected, accs, costs = _reference_train(init, X, y, orders[:, k], batch_size=batch_size, lr=lr, lmbda=lmbda)
        for (W, b), (We, be) in zip(_one(run.params, k), expected, strict=True):
            assert torch.allclose(W, We, rtol=1e-10, atol=1e-12)
            assert torch.allclose(b, be, rtol=1e-10, atol=1e-12)
        assert run.val_acc[k].tolist() == pytest.approx(accs)
        assert run.train_cost[k].tolist() == pytest.approx(costs, rel=1e-10)


def test_nothing_is_recorded_unless_asked():
    X, y = _digits(20)
    run = gb.multiseed_train([64, 5, 10], [0], X, y, epochs=1)
    assert run.val_acc is None and run.train_cost is None and run.grad_norms is None


def test_float32_training_follows_float64():
    X64, y = _digits(100)
    run64 = gb.multiseed_train([64, 20, 20, 10], [0, 1], X64, y, epochs=3)
    run32 = gb.multiseed_train([64, 20, 20, 10], [0, 1], X64.float(), y, epochs=3)
    for (W32, _), (W64, _) in zip(run32.params, run64.params, strict=True):
        assert W32.dtype == torch.float32
        assert torch.allclose(W32.double(), W64, atol=1e-4)


def test_per_seed_lambda_equals_separate_runs():
    X, y = _digits(40)
    both = gb.multiseed_train([64, 10, 10], [3, 3], X, y, epochs=2, batch_size=8, lmbda=[5.0, 0.0])
    for k, lmbda in enumerate([5.0, 0.0]):
        alone = gb.multiseed_train([64, 10, 10], [3], X, y, epochs=2, batch_size=8, lmbda=lmbda)
        for (W, b), (Wa, ba) in zip(_one(both.params, k), _one(alone.params, 0), strict=True):
            assert torch.allclose(W, Wa, rtol=1e-12, atol=1e-14) and torch.allclose(b, ba, rtol=1e-12, atol=1e-14)
    assert not torch.allclose(both.params[0][0][0], both.params[0][0][1])  # the penalty made a difference


def test_params_argument_is_copied_not_changed():
    X, y = _digits(20)
    params = gb.multiseed_init([64, 5, 10], [0, 1], dtype=torch.float64)
    before = [(W.clone(), b.clone()) for W, b in params]
    run = gb.multiseed_train([64, 5, 10], [0, 1], X, y, epochs=1, params=params)
    for (W, b), (W0, b0) in zip(params, before, strict=True):
        assert torch.equal(W, W0) and torch.equal(b, b0)
    assert not torch.equal(run.params[0][0], params[0][0])


def test_recorded_grad_norms_are_nielsens_statistic():
    X, y = _digits(50)
    sizes, seeds = [64, 9, 9, 10], [4, 5]
    full = gb.multiseed_train(sizes, seeds, X, y, epochs=3, batch_size=50, record_grad_norms=True)
    assert len(full.grad_norms) == 3 and full.grad_norms[0].shape == (2, 3)
    # At every epoch of full-batch training the step's bias gradient is the averaged one.
    params = full.init
    for e in range(3):
        expected = gb.multiseed_delta_norms(params, X, y)
        got = torch.stack([g[:, e] for g in full.grad_norms], dim=1)
        assert torch.allclose(got, expected, rtol=1e-10)
        params = gb.multiseed_train(sizes, seeds, X, y, epochs=1, batch_size=50, params=params).params
    # With mini-batches, step t records the statistic of its own mini-batch.
    mini = gb.multiseed_train(sizes, seeds, X, y, epochs=1, batch_size=10, record_grad_norms=True)
    order = gb.multiseed_orders(50, 1, seeds)[0]
    for k in range(2):
        first = gb.multiseed_delta_norms(_stack(_one(mini.init, k)), X[order[k, :10]], y[order[k, :10]])[0]
        assert torch.allclose(torch.stack([g[k, 0] for g in mini.grad_norms]), first, rtol=1e-10)


def _stack(params):
    return [(W.unsqueeze(0), b.unsqueeze(0)) for W, b in params]


def _autograd_mean_grads(params, X, y):
    leaves = [(W.clone().requires_grad_(True), b.clone().requires_grad_(True)) for W, b in params]
    return torch.autograd.grad(_cost_sum(leaves, X, y) / len(X), [p for pair in leaves for p in pair])


def test_backprop_matches_autograd():
    X, y = _digits(30)
    params = gb.multiseed_init([64, 7, 6, 5, 10], [1, 2, 3], dtype=torch.float64)
    grads = gb.multiseed_backprop(params, X, y)
    for k in range(3):
        expected = _autograd_mean_grads(_one(params, k), X, y)
        for l, (dW, db) in enumerate(grads):
            assert torch.allclose(dW[k], expected[2 * l], rtol=1e-10, atol=1e-14)
            assert torch.allclose(db[k], expected[2 * l + 1], rtol=1e-10, atol=1e-14)


def test_gradcheck_of_the_cost_used_by_the_tests():
    """The autograd reference itself, checked by finite differences."""
    X, y = _digits(5)
    params = _one(gb.multiseed_init([64, 4, 10], [0], dtype=torch.float64), 0)
    W1 = params[0][0].clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda w: _cost_sum([(w, params[0][1]), params[1]], X, y), (W1,))


def test_delta_norms_match_the_package_probe():
    X, y = _digits(40)
    params = gb.multiseed_init([64, 30, 30, 10], [8, 9], dtype=torch.float64)
    norms = gb.multiseed_delta_norms(params, X, y)
    assert norms.shape == (2, 3)
    for k in range(2):
        net = gb.mlp(2, 30, "sigmoid", "normal", std=1.0, output_activation="sigmoid", dtype=torch.float64)
        with torch.no_grad():
            for layer, (W, b) in zip(gb.linear_layers(net), _one(params, k), strict=True):
                layer.weight.copy_(W)
                layer.bias.copy_(b)

        def mean_cost(out, target):
            return nn.functional.binary_cross_entropy(out, gb.one_hot(target).double(), reduction="sum") / len(target)

        assert torch.allclose(norms[k], gb.nielsen_delta_norms(net, X, y, mean_cost), rtol=1e-10)


def test_forward_cost_and_accuracy_agree_with_plain_torch():
    X, y = _digits(25)
    params = gb.multiseed_init([64, 6, 10], [0, 1], dtype=torch.float64)
    acts = gb.multiseed_forward(params, X)
    assert [tuple(a.shape) for a in acts] == [(2, 25, 6), (2, 25, 10)]
    for k in range(2):
        W1, b1 = params[0][0][k], params[0][1][k]
        assert torch.allclose(acts[0][k], torch.sigmoid(X @ W1.T + b1))
        assert float(gb.multiseed_cost(params, X, y)[k]) == pytest.approx(float(_cost_sum(_one(params, k), X, y)) / 25)
        assert float(gb.multiseed_accuracy(params, X, y)[k]) == float((acts[1][k].argmax(1) == y).double().mean())


def test_init_params_follow_nielsen_and_each_seed_is_its_own():
    params = gb.multiseed_init([400, 300, 10], list(range(4)), dtype=torch.float64)
    W, b = params[0]
    assert W.shape == (4, 300, 400) and b.shape == (4, 300)
    assert float(W.std()) == pytest.approx(400**-0.5, rel=0.01)
    assert float(b.std()) == pytest.approx(1.0, rel=0.05)
    again = gb.multiseed_init([400, 300, 10], [2], dtype=torch.float64)
    assert torch.equal(again[1][0][0], params[1][0][2])
    assert not torch.equal(params[0][0][0], params[0][0][1])


def test_batch_orders_are_permutations_per_seed_and_epoch():
    orders = gb.multiseed_orders(20, 3, [5, 6])
    assert orders.shape == (3, 2, 20)
    for e in range(3):
        for k in range(2):
            assert sorted(orders[e, k].tolist()) == list(range(20))
    assert not torch.equal(orders[0, 0], orders[1, 0])
    assert torch.equal(gb.multiseed_orders(20, 3, [6])[:, 0], orders[:, 1])


def test_training_lowers_the_cost():
    X, y = _digits(200, torch.float32)
    run = gb.multiseed_train([64, 30, 10], [0, 1, 2], X, y, epochs=10, lr=0.5, lmbda=0.0, X_val=X, y_val=y,
                             record_cost=True)
    assert bool((run.train_cost[:, -1] < run.train_cost[:, 0] / 4).all())
    assert bool((run.val_acc[:, -1] > 0.8).all())


def test_argument_errors_are_explained():
    X, y = _digits(20)
    params = gb.multiseed_init([64, 5, 10], [0, 1], dtype=torch.float64)
    with pytest.raises(ValueError, match="at least an input and an output"):
        gb.multiseed_init([64], [0])
    with pytest.raises(TypeError, match="list of layer sizes"):
        gb.multiseed_init("64, 10", [0])
    with pytest.raises(ValueError, match="each layer size must be at least 1"):
        gb.multiseed_init([64, 0, 10], [0])
    with pytest.raises(TypeError, match="list of whole numbers"):
        gb.multiseed_init([64, 10], 3)
    with pytest.raises(ValueError, match="at least one seed"):
        gb.multiseed_init([64, 10], [])
    with pytest.raises(ValueError, match="each seed must be at least 0"):
        gb.multiseed_init([64, 10], [-1])
    with pytest.raises(ValueError, match="torch.float32 or torch.float64"):
        gb.multiseed_init([64, 10], [0], dtype=torch.int64)
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        gb.multiseed_orders(10, 0, [0])
    with pytest.raises(ValueError, match="pairs"):
        gb.multiseed_forward([], X)
    with pytest.raises(ValueError, match=r"shape \(seeds, out\)"):
        gb.multiseed_forward([(params[0][0], params[0][1][:, :3])], X)
    with pytest.raises(ValueError, match="expects 6 inputs but the layer before gives 5"):
        wrong = (torch.zeros(2, 10, 6, dtype=torch.float64), torch.zeros(2, 10, dtype=torch.float64))
        gb.multiseed_forward([params[0], wrong], X)
    with pytest.raises(ValueError, match=r"shape \(examples, 64\)"):
        gb.multiseed_forward(params, X[:, :10])
    with pytest.raises(ValueError, match="dtype torch.float32 but the weights have torch.float64"):
        gb.multiseed_cost(params, X.float(), y)
    with pytest.raises(ValueError, match="one label per row"):
        gb.multiseed_accuracy(params, X, y[:5])
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.9"):
        gb.multiseed_delta_norms(params, X, y + 10)
    with pytest.raises(ValueError, match=r"params\[0\] must be a pair \(W, b\)"):
        gb.multiseed_backprop(params[0], X, y)
    with pytest.raises(ValueError, match="lr must be positive"):
        gb.multiseed_train([64, 5, 10], [0, 1], X, y, lr=0)
    with pytest.raises(ValueError, match="lmbda must be zero or positive"):
        gb.multiseed_train([64, 5, 10], [0, 1], X, y, lmbda=-1.0)
    with pytest.raises(ValueError, match="one number per seed"):
        gb.multiseed_train([64, 5, 10], [0, 1], X, y, lmbda=[1.0])
    with pytest.raises(ValueError, match="batch_size must be at most 20"):
        gb.multiseed_train([64, 5, 10], [0, 1], X, y, batch_size=21)
    with pytest.raises(ValueError, match="give both X_val and y_val"):
        gb.multiseed_train([64, 5, 10], [0, 1], X, y, X_val=X)
    with pytest.raises(ValueError, match=r"hold 2 seeds of a \[64, 6, 10\] network"):
        gb.multiseed_train([64, 6, 10], [0, 1], X, y, params=params)
    with pytest.raises(TypeError, match="record_grad_norms must be True or False"):
        gb.multiseed_train([64, 5, 10], [0, 1], X, y, record_grad_norms=1)
    with pytest.raises(ValueError, match="torch.float32 or torch.float64"):
        gb.multiseed_train([64, 5, 10], [0, 1], y, y)


def test_checks_accept_right_answers_and_explain_wrong_ones(capsys):
    def right(params, X, y):
        acts, a = [], X
        for W, b in params:
            a = torch.sigmoid(a @ W.T + b)
            acts.append(a)
        delta = acts[-1] - gb.one_hot(y, a.shape[1]).double()
        norms = [delta.mean(0).norm()]
        for (W, _), a in zip(reversed(params[1:]), reversed(acts[:-1]), strict=True):
            delta = (delta @ W) * a * (1 - a)
            norms.append(delta.mean(0).norm())
        return torch.stack(norms[::-1])

    assert gb.checks.check_delta_norms(right)
    assert not gb.checks.check_delta_norms(lambda p, X, y: right(p, X, y) * len(X))
    assert "averages" in capsys.readouterr().out
    assert not gb.checks.check_delta_norms(lambda p, X, y: right(p, X, y).flip(0))
    assert "input side first" in capsys.readouterr().out

    def step(params, X, y, lr, lmbda, n, decay_bias=False, m_for_n=False):
        leaves = [(W.clone().requires_grad_(True), b.clone().requires_grad_(True)) for W, b in params]
        grads = torch.autograd.grad(_cost_sum(leaves, X, y), [p for pair in leaves for p in pair])
        m = len(X)
        d = 1 - lr * lmbda / (m if m_for_n else n)
        return [(d * W - lr / m * grads[2 * l], (d if decay_bias else 1) * b - lr / m * grads[2 * l + 1])
                for l, (W, b) in enumerate(params)]

    assert gb.checks.check_l2_sgd_step(step)
    assert not gb.checks.check_l2_sgd_step(lambda *a: step(*a, decay_bias=True))
    assert "biases are not decayed" in capsys.readouterr().out
    assert not gb.checks.check_l2_sgd_step(lambda *a: step(*a, m_for_n=True))
    assert "whole training set" in capsys.readouterr().out
    assert not gb.checks.check_l2_sgd_step(lambda *a: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out
    with pytest.raises(TypeError):
        gb.checks.check_l2_sgd_step(3)
