import math

import gradbook as gb
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn


def test_mlp_structure():
    net = gb.mlp(2, 30, "sigmoid", "normal", std="1/sqrt(fan_in)")
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "Sigmoid", "Linear", "Sigmoid", "Linear"]
    assert net[0].in_features == 64 and net[-1].out_features == 10
    assert gb.mlp(0, 5, in_features=3, out_features=2)[0].weight.shape == (2, 3)


@settings(max_examples=25)
@given(depth=st.integers(0, 4), width=st.integers(1, 40),
       activation=st.sampled_from(sorted(gb.ACTIVATIONS)), init=st.sampled_from(gb.INITS))
def test_mlp_forward_shape_for_every_option(depth, width, activation, init):
    std = 0.1 if init == "normal" else None
    net = gb.mlp(depth, width, activation, init, std=std, seed=0)
    assert net(torch.zeros(7, 64)).shape == (7, 10)


@pytest.mark.parametrize(
    "init, expected_var",
    [
        ("pytorch-default", lambda fi, fo: 1 / (3 * fi)),
        ("xavier", lambda fi, fo: 2 / (fi + fo)),
        ("he", lambda fi, fo: 2 / fi),
        ("normal", lambda fi, fo: 0.05**2),
    ],
)
def test_init_variances(init, expected_var):
    layer = nn.Linear(400, 300)
    gain = {"xavier": 1.0, "he": 1.0}
    kwargs = {"std": 0.05} if init == "normal" else ({"gain": gain[init]} if init in gain else {})
    gb.initialise(nn.Sequential(layer), init, seed=0, **kwargs)
    assert layer.weight.var().item() == pytest.approx(expected_var(400, 300), rel=0.03)


def test_orthogonal_init_is_orthogonal_and_scaled():
    net = gb.mlp(1, 50, "tanh", "orthogonal", in_features=50, out_features=50, gain=2.0, seed=0)
    W = net[0].weight.double()
    assert torch.allclose(W @ W.T, 4 * torch.eye(50, dtype=torch.float64), atol=1e-5)
    rect = gb.mlp(0, 1, "identity", "orthogonal", in_features=30, out_features=10, seed=0)[0].weight
    assert torch.allclose(rect @ rect.T, torch.eye(10), atol=1e-5)


def test_bias_std_and_zero_bias():
    net = gb.mlp(1, 500, "sigmoid", "normal", std=1.0, bias_std=1.0, seed=0)
    assert net[0].bias.std().item() == pytest.approx(1.0, rel=0.15)
    assert torch.count_nonzero(gb.mlp(1, 5, init="he")[0].bias) == 0


def test_seed_makes_init_repeatable_without_touching_global_generator():
    torch.manual_seed(0)
    before = torch.rand(())
    torch.manual_seed(0)
    a = gb.mlp(2, 8, seed=5)
    after = torch.rand(())
    assert before == after
    b = gb.mlp(2, 8, seed=5)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_default_gain_follows_activation():
    # Xavier with tanh uses the gain 5/3.
    net = gb.mlp(1, 400, "tanh", "xavier", in_features=400, out_features=400, seed=0)
    assert net[0].weight.std().item() == pytest.approx(5 / 3 * math.sqrt(2 / 800), rel=0.03)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(depth=2, width=3, activation="sigmod"), "activation 'sigmod' is not one of: relu"),
        (dict(depth=2, width=3, init="kaiming"), "init 'kaiming' is not one of"),
        (dict(depth=-1, width=3), "depth must be at least 0"),
        (dict(depth=1, width=0), "width must be at least 1"),
        (dict(depth=1, width=3, init="normal"), 'needs std'),
        (dict(depth=1, width=3, init="he", std=0.1), "only used with init"),
        (dict(depth=1, width=3, init="xavier", gain=-1.0), "gain must be positive"),
        (dict(depth=1.5, width=3), "depth must be a whole number"),
    ],
)
def test_mlp_rejects_bad_arguments_with_a_helpful_message(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        gb.mlp(**kwargs)


def test_linear_layers_errors():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        gb.linear_layers("net")
    with pytest.raises(ValueError, match="no nn.Linear"):
        gb.linear_layers(nn.Sequential(nn.ReLU()))
