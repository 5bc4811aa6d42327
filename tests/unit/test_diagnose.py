"""gb.diagnose: the numbers it reports are the ones computed by hand, and each rule of thumb
fires on the network built to trip it and stays quiet on a healthy one."""

import math

import gradbook as gb
import matplotlib
import pytest
import torch
from torch import nn

matplotlib.use("Agg")
X, y = gb.load_digits("train")
xb, yb = X[:128], y[:128]


def test_numbers_match_the_probes_and_a_hand_computation():
    net = gb.mlp(3, 32, "tanh", "xavier", seed=0)
    d = gb.diagnose(net, xb, yb, lr=0.1)
    expected = gb.grad_norms(net, xb, yb)
    assert [r.grad_norm for r in d.layers] == pytest.approx(expected.tolist(), rel=1e-6)
    assert [r.name for r in d.layers] == ["0.weight", "2.weight", "4.weight", "6.weight"]
    for r, lin in zip(d.layers, gb.linear_layers(net), strict=True):
        w = lin.weight.detach().double().norm().item()
        assert r.weight_norm == pytest.approx(w)
        assert r.update_to_weight == pytest.approx(0.1 * r.grad_norm / w)
        assert r.grad_to_weight == pytest.approx(r.grad_norm / w)
    outs = gb.activation_outputs(net, xb)
    for a, out in zip(d.activations, outs, strict=True):
        assert a.activation == "tanh"
        assert a.saturated == pytest.approx((out.abs() > 0.97).double().mean().item())
        assert a.mean == pytest.approx(out.double().mean().item()) and a.dead == 0.0
    assert d.loss == pytest.approx(nn.functional.cross_entropy(net(xb), yb).item(), rel=1e-6)


def test_a_healthy_network_has_no_findings():
    d = gb.diagnose(gb.mlp(3, 64, "relu", "he", seed=0), xb, yb, lr=0.01)
    assert d.findings() == () and "findings: none" in d.report()


def test_a_deep_sigmoid_network_is_flagged_vanishing():
    net = gb.mlp(12, 64, "sigmoid", "xavier", seed=0)
    assert any(f.startswith("vanishing") for f in gb.diagnose(net, xb, yb).findings())


def test_saturated_tanh_and_sigmoid_units_are_flagged():
    for activation in ("tanh", "sigmoid"):
        net = gb.mlp(2, 32, activation, "normal", std=2.0, seed=0)  # huge weights saturate the units
        d = gb.diagnose(net, xb, yb)
        assert any(f.startswith("saturated") for f in d.findings()), activation
        assert all(a.saturated > 0.5 for a in d.activations)


def test_dead_relu_units_are_flagged():
    net = gb.mlp(3, 32, "relu", "he", seed=0)
    with torch.no_grad():
        gb.linear_layers(net)[1].bias.fill_(-100.0)  # layer 2 is off for every input
    d = gb.diagnose(net, xb, yb)
    assert d.activations[1].dead == 1.0 and d.activations[0].dead < 0.5
    assert any(f.startswith("dead: 100% of layer 2") for f in d.findings())


def test_exploding_and_nonfinite_values_are_located():
    # chapter 11: batch norm makes a deep plain ReLU stack's early gradients grow with depth
    blocks = [nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU()]
    for _ in range(49):
        blocks += [nn.Linear(32, 32), nn.BatchNorm1d(32), nn.ReLU()]
    deep_bn = gb.initialise(nn.Sequential(*blocks, nn.Linear(32, 10)), "he", seed=0)
    assert any(f.startswith("exploding") for f in gb.diagnose(deep_bn, xb, yb).findings())
    net = gb.mlp(6, 32, "relu", "he", seed=0)
    with torch.no_grad():
        gb.linear_layers(net)[2].weight[0, 0] = float("nan")
    d = gb.diagnose(net, xb, yb)
    assert "layer 3 weight" in d.nonfinite and "loss" in d.nonfinite
    assert d.findings()[0].startswith("non-finite values in: loss")


def test_update_ratio_rules_of_thumb():
    net = gb.mlp(2, 32, "relu", "he", seed=0)
    slow = gb.diagnose(net, xb, yb, lr=1e-7).findings()
    fast = gb.diagnose(net, xb, yb, lr=100.0).findings()
    assert any(f.startswith("slow: layer 1") for f in slow)
    assert any(f.startswith("fast: layer 1") for f in fast)


def test_a_recurrent_network_is_read_by_its_weight_matrices():
    net = gb.recurrent_net("tanh", 2, 16, seed=0)  # the adding problem has 2 inputs per step
    with torch.no_grad():
        net.rnn.weight_hh_l0.copy_(gb.scaled_orthogonal(16, 3.0, seed=0))  # every singular value 3
    x, target = gb.adding_problem(64, 30, seed=0)
    d = gb.diagnose(net, x, target, loss_fn=nn.functional.mse_loss)
    names = [r.name for r in d.layers]
    assert "rnn.weight_hh_l0" in names and "rnn.weight_ih_l0" in names
    assert all(r.grad_norm > 0 for r in d.layers)


def test_report_and_figure():
    d = gb.diagnose(gb.mlp(2, 16, "sigmoid", "xavier", seed=0), xb, yb, lr=0.5)
    text = d.report()
    assert text.splitlines()[0].startswith("loss ") and "lr 0.5" in text and "sigmoid" in text
    fig = d.figure()
    assert len(fig.axes) == 3


def test_mode_is_kept_and_bad_input_is_refused():
    net = gb.mlp(2, 16, "relu", "he", seed=0).eval()
    gb.diagnose(net, xb, yb)
    assert not net.training
    with pytest.raises(ValueError, match="at least 2 examples"):
        gb.diagnose(net, xb[:1], yb[:1])
    with pytest.raises(ValueError, match="one row of y per row of X"):
        gb.diagnose(net, xb, yb[:5])
    with pytest.raises(ValueError, match="lr must be positive"):
        gb.diagnose(net, xb, yb, lr=-1.0)
    with pytest.raises(ValueError, match="scalar"):
        gb.diagnose(net, xb, yb, loss_fn=lambda out, t: out)
    assert math.isfinite(gb.diagnose(net, xb, yb).loss)


@pytest.mark.parametrize("kind", ["tanh", "lstm"])
def test_the_gradient_through_time_is_that_of_every_state(kind):
    net = gb.recurrent_net(kind, 2, 6, seed=0, dtype=torch.float64)
    x, target = gb.adding_problem(16, 9, seed=1)
    x, target = x.double(), target.double()
    d = gb.diagnose(net, x, target, loss_fn=nn.functional.mse_loss)
    diagnosed = [p.grad.clone() for p in net.parameters()]
    # by hand: the states of a step-by-step pass, each made a leaf of the rest of the pass
    state = net.initial_state(16)
    leaves = []
    for t in range(x.shape[1]):
        state = net.step(x[:, t], state)
        parts = state if isinstance(state, tuple) else (state,)
        for p in parts:
            p.retain_grad()
        leaves.append(parts)
    nn.functional.mse_loss(net.readout(net.hidden(state)), target).backward()
    expected = [torch.cat([p.grad.flatten() for p in parts]).norm().item() for parts in leaves]
    assert d.through_time == pytest.approx(expected, rel=1e-12)
    fused = gb.recurrent_net(kind, 2, 6, seed=0, dtype=torch.float64)
    nn.functional.mse_loss(fused(x), target).backward()
    for g, b in zip(diagnosed, fused.parameters(), strict=True):  # the gradients of PyTorch's fused RNN
        torch.testing.assert_close(g, b.grad, rtol=1e-10, atol=1e-12)
    assert "through time" in d.report()


def test_vanishing_and_exploding_through_time_are_flagged():
    x, target = gb.adding_problem(64, 40, seed=0)
    for scale, word in ((0.3, "vanishing through time"), (3.0, "exploding through time")):
        net = gb.recurrent_net("tanh", 2, 32, recurrent_scale=scale, seed=0)
        d = gb.diagnose(net, x, target, loss_fn=nn.functional.mse_loss)
        assert any(f.startswith(word) for f in d.findings()), d.findings()
    mlp = gb.diagnose(gb.mlp(2, 8, "tanh", "xavier", seed=0), *gb.load_digits("train"))
    assert mlp.through_time is None and "through time" not in mlp.report()
