import math

import gradbook as gb
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

finite = st.floats(-30, 30, allow_nan=False)


@given(z=finite)
def test_sigmoid_derivatives_match_autograd(z):
    t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    (d1,) = torch.autograd.grad(torch.sigmoid(t), t, create_graph=True)
    (d2,) = torch.autograd.grad(d1, t)
    assert torch.isclose(gb.sigmoid_prime(t.detach()), d1.detach(), atol=1e-15)
    assert torch.isclose(gb.sigmoid_second(t.detach()), d2, atol=1e-15)
    assert gb.sigmoid_prime(z) <= 0.25


@given(z=finite)
def test_tanh_prime_matches_autograd_and_is_bounded(z):
    t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    (d1,) = torch.autograd.grad(torch.tanh(t), t)
    assert torch.isclose(gb.tanh_prime(z), d1, atol=1e-15)
    assert 0 <= gb.tanh_prime(z) <= 1


@given(w=st.floats(4.0001, 200.0))
def test_gain_interval_width_matches_a_grid(w):
    width = gb.gain_interval_width(w)
    a = torch.linspace(-3, 3, 600001, dtype=torch.float64)
    inside = (w * gb.sigmoid_prime(w * a + 0.7)).abs() >= 1
    measured = inside.sum().item() * (a[1] - a[0]).item()
    assert measured == pytest.approx(width, abs=2e-5)
    assert gb.gain_interval_width(-w) == width


def test_gain_interval_width_small_weights_and_maximum():
    assert gb.gain_interval_width(3.99) == 0.0
    ws = torch.linspace(4, 20, 16001)
    widths = torch.tensor([gb.gain_interval_width(float(w)) for w in ws])
    assert widths.max().item() == pytest.approx(0.45, abs=0.005)
    assert ws[widths.argmax()].item() == pytest.approx(6.9, abs=0.1)
    with pytest.raises(ValueError, match="finite"):
        gb.gain_interval_width(math.inf)


@given(L=st.integers(1, 8), seed=st.integers(0, 10_000),
       activation=st.sampled_from(["sigmoid", "tanh", "relu", "identity"]))
def test_chain_bias_grads_match_autograd(L, seed, activation):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(L, generator=g, dtype=torch.float64)
    b = torch.randn(L, generator=g, dtype=torch.float64).requires_grad_(True)
    x = torch.randn((), generator=g, dtype=torch.float64)
    _, a = gb.chain_forward(w, b, x, activation)
    (expected,) = torch.autograd.grad(a[-1], b)
    assert torch.allclose(gb.chain_bias_grads(w, b.detach(), x, activation), expected, atol=1e-14)


def test_chain_rejects_bad_input():
    with pytest.raises(ValueError, match="same, non-zero length"):
        gb.chain_bias_grads([1.0, 2.0], [0.0], 0.5)
    with pytest.raises(ValueError, match="activation 'softplus' is not one of"):
        gb.chain_bias_grads([1.0], [0.0], 0.5, "softplus")


def test_two_layer_grads_match_autograd():
    x, y, w1, w2 = gb.two_layer_relu_problem(seed=0)
    loss, g1, g2 = gb.two_layer_relu_grads(x, y, w1, w2)
    r1, r2 = w1.clone().requires_grad_(True), w2.clone().requires_grad_(True)
    ref = gb.two_layer_relu_loss(x, y, r1, r2)
    e1, e2 = torch.autograd.grad(ref, (r1, r2))
    assert torch.isclose(loss, ref)
    assert torch.allclose(g1, e1, rtol=1e-10) and torch.allclose(g2, e2, rtol=1e-10)


def test_two_layer_problem_shapes_and_errors():
    x, y, w1, w2 = gb.two_layer_relu_problem()
    assert (x.shape, y.shape, w1.shape, w2.shape) == ((64, 1000), (64, 10), (1000, 100), (100, 10))
    with pytest.raises(ValueError, match="hidden must be at least 1"):
        gb.two_layer_relu_problem(hidden=0)
    with pytest.raises(ValueError, match=r"shapes must be x \(n, d_in\).*w1 \(100, 100\)"):
        gb.two_layer_relu_grads(x, y, w1[:100], w2)
    with pytest.raises(ValueError, match="y must be a float32 or float64 tensor of shape"):
        gb.two_layer_relu_loss(x, y[0], w1, w2)


def test_activation_module_errors():
    with pytest.raises(ValueError, match="activation 'swish' is not one of"):
        gb.activation_module("swish")
    with pytest.raises(ValueError, match="float32 or float64"):
        gb.sigmoid_prime(torch.tensor([1, 2]))
