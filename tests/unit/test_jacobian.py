"""gb.jacobian against hand-computed Jacobians and autograd; chapter 5's exercise checks."""

import math

import gradbook as gb
import pytest
import torch
from torch import nn

F64 = torch.float64


def _inputs(n=6, dim=5, seed=1):
    return gb.gaussian_inputs(n, dim, seed=seed, dtype=F64)


def test_linear_net_jacobian_is_the_product_of_the_weights():
    net = gb.mlp(3, 7, "identity", "xavier", in_features=5, out_features=4, seed=0, dtype=F64)
    W = [layer.weight for layer in gb.linear_layers(net)]
    product = W[3] @ W[2] @ W[1] @ W[0]
    J = gb.input_output_jacobian(net, _inputs())
    assert J.shape == (6, 4, 5)
    for J_b in J:  # the same matrix at every input
        assert torch.allclose(J_b, product, rtol=1e-12, atol=1e-14)


def test_tanh_net_jacobian_is_the_product_of_w_diag_fprime_factors():
    net = gb.mlp(2, 6, "tanh", "xavier", in_features=5, out_features=3, bias_std=0.5, seed=2, dtype=F64)
    W1, W2, W3 = (layer.weight for layer in gb.linear_layers(net))
    b1, b2, _ = (layer.bias for layer in gb.linear_layers(net))
    x = _inputs(1)[0]
    with torch.no_grad():
        z1 = W1 @ x + b1
        z2 = W2 @ torch.tanh(z1) + b2
        by_hand = W3 @ torch.diag(1 - torch.tanh(z2) ** 2) @ W2 @ torch.diag(1 - torch.tanh(z1) ** 2) @ W1
    J = gb.input_output_jacobian(net, x)
    assert J.shape == (3, 5)
    assert torch.allclose(J, by_hand, rtol=1e-12, atol=1e-14)
    factors = gb.layer_jacobians(net, x)
    assert [tuple(f.shape) for f in factors] == [(6, 5), (6, 6), (3, 6)]
    assert torch.allclose(factors[0], torch.diag(1 - torch.tanh(z1) ** 2) @ W1, rtol=1e-12)
    assert torch.allclose(factors[2], W3)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "elu", "leaky_relu", "gelu"])
def test_mlp_jacobian_matches_autograd(activation):
    net = gb.mlp(3, 8, activation, "he", in_features=5, out_features=4, bias_std=0.1, seed=3,
                 output_activation="sigmoid", dtype=F64)
    X = _inputs(4)
    J = gb.input_output_jacobian(net, X)
    for x, J_b in zip(X, J, strict=True):
        reference = torch.autograd.functional.jacobian(net, x)
        assert torch.allclose(J_b, reference, rtol=1e-10, atol=1e-13)


def test_other_modules_fall_back_on_jacrev():
    class Residual(nn.Module):  # y = x + tanh(W x): not an nn.Sequential chain
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 4, dtype=F64)

        def forward(self, x):
            return x + torch.tanh(self.linear(x))

    torch.manual_seed(0)
    net = Residual()
    X = gb.gaussian_inputs(3, 4, seed=4, dtype=F64)
    J = gb.input_output_jacobian(net, X)
    with torch.no_grad():
        for x, J_b in zip(X, J, strict=True):
            z = net.linear(x)
            by_hand = torch.eye(4, dtype=F64) + torch.diag(1 - torch.tanh(z) ** 2) @ net.linear.weight
            assert torch.allclose(J_b, by_hand, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="nn.Sequential"):
        gb.layer_jacobians(net, X)


def test_singular_values():
    net = gb.mlp(4, 6, "identity", "orthogonal", gain=1.0, in_features=6, out_features=6, seed=5, dtype=F64)
    s = gb.jacobian_singular_values(net, _inputs(3, 6))
    assert s.shape == (3, 6)
    assert torch.allclose(s, torch.ones_like(s), atol=1e-12)  # orthogonal layers: an exact isometry
    net = gb.mlp(2, 6, "tanh", "xavier", in_features=5, out_features=3, seed=6, dtype=F64)
    x = _inputs(1)[0]
    s = gb.jacobian_singular_values(net, x)
    J = torch.autograd.functional.jacobian(net, x)
    assert s.shape == (3,)
    assert bool((s[:-1] >= s[1:]).all())
    assert torch.allclose(s, torch.linalg.svdvals(J), rtol=1e-10)


def test_relu_layer_with_orthogonal_weights_has_singular_values_sqrt2_and_0():
    net = gb.mlp(0, 8, "relu", "orthogonal", gain=math.sqrt(2), in_features=8, out_features=8,
                 output_activation="relu", seed=7, dtype=F64)
    x = _inputs(1, 8)[0]
    active = int((net[0](x) > 0).sum())
    s = gb.jacobian_singular_values(net, x)
    assert torch.allclose(s[:active], torch.full((active,), math.sqrt(2), dtype=F64))
    assert torch.allclose(s[active:], torch.zeros(8 - active, dtype=F64), atol=1e-12)


def test_forward_backward_std_match_hand_backprop():
    net = gb.mlp(3, 10, "tanh", "xavier", in_features=5, out_features=4, bias_std=0.2, seed=8, dtype=F64)
    X = _inputs(16)
    Y = gb.gaussian_inputs(16, 4, seed=9, dtype=F64)
    layers = gb.linear_layers(net)
    with torch.no_grad():
        a, zs = X, []
        for i, layer in enumerate(layers):
            zs.append(a @ layer.weight.T + layer.bias)
            a = torch.tanh(zs[-1]) if i < len(layers) - 1 else zs[-1]
        deltas = [2 * (a - Y)]  # the summed squared error's dC/dz at the linear output
        for i in range(len(layers) - 2, -1, -1):
            deltas.insert(0, (deltas[0] @ layers[i + 1].weight) * (1 - torch.tanh(zs[i]) ** 2))

    def sse(out, target):
        return ((out - target) ** 2).sum()

    stats = gb.forward_backward_std(net, X, Y, sse)
    assert torch.allclose(stats.forward, torch.stack([z.std() for z in zs]), rtol=1e-12)
    assert torch.allclose(stats.backward, torch.stack([d.std() for d in deltas]), rtol=1e-12)
    assert all(p.grad is None for p in net.parameters())  # the network's .grad fields are untouched
    assert gb.forward_backward_std(net, X).backward is None


def test_variance_rules_hold_in_a_wide_relu_layer():
    """One layer of 2000 units: Var[z] = n Var[W] E[a^2], and He's rule keeps it at 1."""
    net = gb.mlp(1, 2000, "relu", "he", in_features=2000, out_features=2000, seed=10, dtype=F64)
    X = gb.gaussian_inputs(200, 2000, seed=11, dtype=F64)
    std = gb.forward_backward_std(net, X).forward
    assert abs(std[0].item() - math.sqrt(2)) < 0.03  # n Var[W] E[x^2] = 2 * 1 for Gaussian inputs
    assert abs(std[1].item() / std[0].item() - 1) < 0.03  # n Var[W] E[relu(z)^2] = 2 * Var[z] / 2


def test_argument_errors_are_helpful():
    net = gb.mlp(2, 6, "tanh", "xavier", in_features=5, seed=0, dtype=F64)
    X = _inputs()
    with pytest.raises(ValueError, match="dtype"):
        gb.input_output_jacobian(net, X.float())
    with pytest.raises(ValueError, match="expects 5"):
        gb.layer_jacobians(net, _inputs(dim=4))
    with pytest.raises(ValueError, match=r"\(features,\) or \(batch, features\)"):
        gb.jacobian_singular_values(net, X.unsqueeze(0))
    with pytest.raises(ValueError, match="must not be empty"):
        gb.input_output_jacobian(net, X[:0])
    with pytest.raises(TypeError, match="torch.nn.Module"):
        gb.input_output_jacobian(lambda x: x, X)
    with pytest.raises(ValueError, match="elementwise activations"):
        gb.layer_jacobians(nn.Sequential(nn.Linear(5, 5, dtype=F64), nn.Dropout()), X)
    with pytest.raises(ValueError, match="one row"):
        gb.forward_backward_std(net, X, torch.zeros(3, dtype=torch.long))
    with pytest.raises(TypeError, match="loss_fn"):
        gb.forward_backward_std(net, X, torch.zeros(6, dtype=torch.long), loss_fn="mse")
    with pytest.raises(ValueError, match="scalar"):
        gb.forward_backward_std(net, X, torch.zeros(6, dtype=torch.long),
                                         loss_fn=lambda out, y: out.sum(0))


# Chapter 5's exercise checks.

def _expectation(f, derivative=False, n=400_001):
    z = torch.linspace(-12, 12, n, dtype=F64, requires_grad=True)
    out = f(z)
    values = torch.autograd.grad(out.sum(), z)[0] if derivative else out.detach()
    density = torch.exp(-z.detach() ** 2 / 2) / math.sqrt(2 * math.pi)
    return float(torch.trapezoid(values**2 * density, z.detach()))


def right_forward(f, n):
    return 1 / math.sqrt(n * _expectation(f))


def right_backward(f, n):
    return 1 / math.sqrt(n * _expectation(f, derivative=True))


def test_ch05_checks_accept_right_answers(capsys):
    assert gb.checks.check_forward_std(right_forward)
    assert gb.checks.check_backward_std(right_backward)
    assert capsys.readouterr().out.count("Correct:") == 2


def _variance_rule(f, n):
    """The common mistake: Var[f(z)] in place of the second moment E[f(z)^2]."""
    z = torch.linspace(-12, 12, 400_001, dtype=F64)
    density = torch.exp(-(z**2) / 2) / math.sqrt(2 * math.pi)
    mean = float(torch.trapezoid(f(z) * density, z))
    return 1 / math.sqrt(n * (_expectation(f) - mean**2))


@pytest.mark.parametrize(
    "check, wrong, message",
    [
        (gb.checks.check_forward_std, lambda f, n: right_forward(f, n) ** 2, "not the variance"),
        (gb.checks.check_forward_std, lambda f, n: right_forward(f, n) * math.sqrt(n), "divide the variance"),
        (gb.checks.check_forward_std, _variance_rule, "second moment"),
        (gb.checks.check_backward_std, right_forward, "forward rule"),
        (gb.checks.check_forward_std, lambda f, n: "small", "return one number"),
        (gb.checks.check_forward_std, lambda f, n: math.inf, "returned inf"),
        (gb.checks.check_backward_std, lambda f, n: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_ch05_checks_explain_wrong_answers(capsys, check, wrong, message):
    assert check(wrong) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and message in out


def test_ch05_checks_reject_non_functions():
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_forward_std(0.1)
