import gradbook as gb
import pytest
import torch
from torch import nn


def _net_and_batch():
    net = gb.mlp(3, 12, "tanh", "xavier", in_features=5, out_features=4, seed=0, dtype=torch.float64)
    X = gb.gaussian_inputs(16, 5, seed=1, dtype=torch.float64)
    y = torch.arange(16) % 4
    return net, X, y


def test_grad_norms_match_autograd():
    net, X, y = _net_and_batch()
    norms = gb.grad_norms(net, X, y)
    params = [m.weight for m in gb.linear_layers(net)]
    grads = torch.autograd.grad(nn.functional.cross_entropy(net(X), y), params)
    assert torch.allclose(norms, torch.stack([g.norm() for g in grads]))


def test_grad_norms_match_hand_derived_backprop():
    """Per-layer bias gradients of a tanh MLP with the summed squared error, by hand."""
    net, X, _ = _net_and_batch()
    Y = gb.gaussian_inputs(16, 4, seed=2, dtype=torch.float64)
    layers = gb.linear_layers(net)
    # Forward, keeping pre-activations.
    a, zs = X, []
    for i, layer in enumerate(layers):
        z = a @ layer.weight.T + layer.bias
        zs.append(z)
        a = torch.tanh(z) if i < len(layers) - 1 else z
    delta = 2 * (a - Y)  # dC/dz of the linear output layer
    hand = [delta.sum(0).norm()]
    for i in range(len(layers) - 2, -1, -1):
        delta = (delta @ layers[i + 1].weight) * (1 - torch.tanh(zs[i]) ** 2)
        hand.append(delta.sum(0).norm())
    hand = torch.stack(hand[::-1])

    def sse(out, target):
        return ((out - target) ** 2).sum()

    assert torch.allclose(gb.grad_norms(net, X, Y, sse, param="bias"), hand)


def test_nielsen_delta_is_average_over_examples():
    net, X, y = _net_and_batch()
    batch = gb.nielsen_delta_norms(net, X, y, nn.functional.cross_entropy)
    # The same average computed one example at a time.
    per_example = []
    for i in range(X.shape[0]):
        net.zero_grad()
        nn.functional.cross_entropy(net(X[i : i + 1]), y[i : i + 1]).backward()
        per_example.append([m.bias.grad.clone() for m in gb.linear_layers(net)])
    mean = [torch.stack([p[l] for p in per_example]).mean(0).norm() for l in range(len(per_example[0]))]
    assert torch.allclose(batch, torch.stack(mean))


def test_activation_stats_counts_dead_relus():
    net = gb.mlp(2, 10, "relu", "he", in_features=3, seed=0)
    with torch.no_grad():
        net[2].bias.fill_(-1e6)  # every unit of the second hidden layer is off
    stats = gb.activation_stats(net, gb.gaussian_inputs(32, 3, seed=0))
    assert stats.frac_zero[1] == 1.0
    assert 0.0 < stats.frac_zero[0] < 1.0
    assert stats.std.shape == (2,)


def test_probe_errors_are_explained():
    net, X, y = _net_and_batch()
    with pytest.raises(ValueError, match="param 'grad' is not one of: weight, bias"):
        gb.grad_norms(net, X, y, param="grad")
    with pytest.raises(ValueError, match="one row"):
        gb.grad_norms(net, X, y[:3])
    with pytest.raises(ValueError, match="scalar"):
        gb.grad_norms(net, X, y, lambda out, t: out)
    with pytest.raises(ValueError, match="no activation module"):
        gb.activation_stats(nn.Sequential(nn.Linear(5, 2)), X)


def test_delta_norms_per_example_and_of_the_batch_mean_match_autograd_example_by_example():
    net = gb.mlp(3, 7, "tanh", "xavier", in_features=5, out_features=4, bias_std=0.1, seed=3, dtype=torch.float64)
    X = gb.gaussian_inputs(9, 5, seed=1, dtype=torch.float64)
    y = torch.arange(9) % 4
    norms = gb.delta_norms(net, X, y)
    per_example = []
    for i in range(9):  # the bias gradient of one example's loss is its error delta^l_x
        net.zero_grad()
        nn.functional.cross_entropy(net(X[i:i + 1]), y[i:i + 1]).backward()
        per_example.append(torch.stack([layer.bias.grad.norm() for layer in gb.linear_layers(net)]))
    assert torch.allclose(norms.per_example, torch.stack(per_example).mean(0), rtol=1e-12)
    mean_loss = gb.nielsen_delta_norms(net, X, y, nn.functional.cross_entropy)
    assert torch.allclose(norms.batch, mean_loss, rtol=1e-12)
    assert bool((norms.batch <= norms.per_example + 1e-15).all())
    with pytest.raises(ValueError, match="one loss per example"):
        gb.delta_norms(net, X, y, nn.functional.cross_entropy)
