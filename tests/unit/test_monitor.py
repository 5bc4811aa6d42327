import math

import gradbook as gb
import pytest
import torch
from gradbook.monitor import GradientMonitor, NonFiniteError, NonFiniteEvent
from torch import nn


def _net_and_batch(dtype=torch.float64):
    net = gb.mlp(3, 12, "tanh", "xavier", in_features=5, out_features=4, bias_std=0.1, seed=0, dtype=dtype)
    X = gb.gaussian_inputs(16, 5, seed=1, dtype=dtype)
    y = torch.arange(16) % 4
    return net, X, y


def _backward(net, X, y):
    net.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(net(X), y)
    loss.backward()
    return loss


@pytest.mark.parametrize("param", ["weight", "bias", "all"])
def test_norms_match_autograd(param):
    net, X, y = _net_and_batch()
    layers = gb.linear_layers(net)
    monitor = GradientMonitor(net, param=param)
    loss = _backward(net, X, y)
    recorded = monitor.record(loss)
    # The reference: autograd's gradients of a fresh forward pass, normed by hand.
    groups = {"weight": [[m.weight] for m in layers], "bias": [[m.bias] for m in layers],
              "all": [[m.weight, m.bias] for m in layers]}[param]
    flat = [p for g in groups for p in g]
    grads = iter(torch.autograd.grad(nn.functional.cross_entropy(net(X), y), flat))
    expected = torch.stack([torch.cat([next(grads).flatten() for _ in g]).norm() for g in groups])
    assert torch.allclose(recorded, expected, rtol=1e-12)
    assert torch.allclose(monitor.grad_norms[0], expected, rtol=1e-12)
    assert monitor.losses.tolist() == [loss.item()]
    assert math.isclose(monitor.total_grad_norms[0].item(), torch.cat([g.flatten() for g in
                        torch.autograd.grad(nn.functional.cross_entropy(net(X), y), flat)]).norm().item(),
                        rel_tol=1e-12)


def test_weight_norms_agree_with_grad_norms_probe():
    net, X, y = _net_and_batch()
    monitor = GradientMonitor(net)
    monitor.record(_backward(net, X, y))
    assert torch.allclose(monitor.grad_norms[0], gb.grad_norms(net, X, y), rtol=1e-12)
    weights = torch.stack([m.weight.detach().norm() for m in gb.linear_layers(net)])
    assert torch.allclose(monitor.weight_norms[0], weights, rtol=1e-12)


def test_update_norms_are_lr_times_grad_norms_for_plain_sgd():
    net, X, y = _net_and_batch()
    lr = 0.05
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    monitor = GradientMonitor(net, param="all")
    for _ in range(4):
        opt.zero_grad()
        monitor.record(_backward(net, X, y))
        opt.step()
    assert monitor.steps == 4 and monitor.update_norms.shape == (3, 4)
    assert torch.allclose(monitor.update_norms, lr * monitor.grad_norms[:-1], rtol=1e-10)
    assert monitor.first_nonfinite is None and monitor.first_jump() is None


def test_float32_norms_do_not_overflow():
    net = nn.Sequential(nn.Linear(3, 2))
    net[0].weight.grad = torch.full((2, 3), 1e30)  # squares overflow float32, entries do not
    net[0].bias.grad = torch.zeros(2)
    monitor = GradientMonitor(net)
    norms = monitor.record(1.0)
    assert math.isclose(norms.item(), 1e30 * math.sqrt(6), rel_tol=1e-6)
    assert monitor.first_nonfinite is None


def _run_with_injection(inject, steps=6, on_nonfinite="record"):
    """Plain SGD; ``inject(step, net)`` may corrupt gradients (after backward) or return a loss to record."""
    net, X, y = _net_and_batch()
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    monitor = GradientMonitor(net, on_nonfinite=on_nonfinite)
    for step in range(steps):
        opt.zero_grad()
        loss = _backward(net, X, y)
        loss = inject(step, net, loss)
        monitor.record(loss)
        opt.step()
    return monitor


def test_detects_exact_first_nonfinite_gradient_step_and_layer():
    def inject(step, net, loss):
        if step >= 3:
            gb.linear_layers(net)[1].weight.grad[0, 0] = math.inf
        return loss

    monitor = _run_with_injection(inject)
    event = monitor.first_nonfinite
    assert event == NonFiniteEvent(step=3, loss=monitor.losses[3].item(), loss_finite=True,
                                   grad_layers=(2,), weight_layers=())
    # The update with an inf gradient makes layer 2's weights non-finite from step 4 on,
    # but the first event is kept.
    assert not math.isfinite(monitor.weight_norms[4, 1].item())
    assert monitor.first_nonfinite.step == 3
    assert str(event) == "step 3: the gradient of layer(s) 2 is not finite"


def test_detects_nonfinite_loss_and_weights():
    def inject(step, net, loss):
        if step == 2:
            return torch.tensor(math.nan)
        return loss

    event = _run_with_injection(inject).first_nonfinite
    assert event.step == 2 and not event.loss_finite and math.isnan(event.loss) and event.grad_layers == ()

    def corrupt_weights(step, net, loss):
        if step == 1:
            with torch.no_grad():
                for layer in gb.linear_layers(net)[:3]:
                    layer.weight[0, 0] = math.nan
        return loss

    event = _run_with_injection(corrupt_weights).first_nonfinite
    assert event.step == 1 and event.weight_layers == (1, 2, 3)
    assert str(event) == "step 1: the weights of layer(s) 1-3 are not finite"


def test_raise_stops_at_the_first_nonfinite_step():
    def inject(step, net, loss):
        if step == 4:
            for layer in gb.linear_layers(net):
                layer.weight.grad.fill_(math.nan)
        return loss

    with pytest.raises(NonFiniteError, match=r"step 4: the gradient of layer\(s\) 1-4 is not finite") as info:
        _run_with_injection(inject, on_nonfinite="raise")
    assert info.value.event.step == 4 and info.value.event.grad_layers == (1, 2, 3, 4)
    assert isinstance(info.value, FloatingPointError)


def test_first_jump_finds_the_step_that_leaves_its_recent_level():
    net = nn.Sequential(nn.Linear(2, 1, bias=False))
    monitor = GradientMonitor(net)
    for scale in [1.0, 1.2, 0.9, 1.1, 1.0, 30.0, 1e6]:
        net[0].weight.grad = torch.full((1, 2), scale)
        monitor.record()
    assert monitor.first_jump(factor=10) == 5
    assert monitor.first_jump(factor=100) == 6
    assert monitor.first_jump(factor=1e9) is None
    assert math.isnan(monitor.losses[0].item())  # no loss given: recorded as nan, not flagged
    assert monitor.first_nonfinite is None


def test_first_jump_flags_a_nonfinite_norm():
    net = nn.Sequential(nn.Linear(2, 1, bias=False))
    monitor = GradientMonitor(net)
    for scale in [1.0, 1.0, math.inf]:
        net[0].weight.grad = torch.full((1, 2), scale)
        monitor.record()
    assert monitor.first_jump() == 2 and monitor.first_nonfinite.step == 2


def test_span_of_layers_in_messages():
    from gradbook.monitor import _span

    assert _span((1, 2, 3, 5)) == "1-3, 5"
    assert _span((2, 3)) == "2, 3"
    assert _span((4,)) == "4"


def test_argument_errors_are_explained():
    net, X, y = _net_and_batch()
    with pytest.raises(ValueError, match="param 'grad' is not one of: weight, bias, all"):
        GradientMonitor(net, param="grad")
    with pytest.raises(ValueError, match="on_nonfinite 'warn' is not one of: record, raise"):
        GradientMonitor(net, on_nonfinite="warn")
    with pytest.raises(ValueError, match="no nn.Linear"):
        GradientMonitor(nn.Sequential(nn.Tanh()))
    with pytest.raises(TypeError, match="torch.nn.Module"):
        GradientMonitor("net")
    with pytest.raises(ValueError, match='param "bias" needs every nn.Linear to have a bias'):
        GradientMonitor(nn.Sequential(nn.Linear(2, 2, bias=False)), param="bias")
    monitor = GradientMonitor(net)
    with pytest.raises(RuntimeError, match=r"call loss.backward\(\) before monitor.record\(\)"):
        monitor.record()
    _backward(net, X, y)
    with pytest.raises(ValueError, match="loss must be a scalar"):
        monitor.record(torch.ones(3))
    with pytest.raises(TypeError, match="loss must be a scalar tensor or a number"):
        monitor.record("low")
    monitor.record()
    with pytest.raises(ValueError, match="factor must be at least 1.0"):
        monitor.first_jump(factor=0.5)
    with pytest.raises(ValueError, match="window must be at least 1"):
        monitor.first_jump(window=0)
    assert "1 steps recorded, all finite" in repr(monitor)


def test_check_first_nonfinite_accepts_a_right_answer_and_explains_wrong_ones(capsys):
    def right(losses, grad_norms):
        bad = ~torch.isfinite(losses) | ~torch.isfinite(grad_norms).all(dim=1)
        if not bad.any():
            return None
        step = int(bad.nonzero()[0])
        return step, (torch.nonzero(~torch.isfinite(grad_norms[step])).flatten() + 1).tolist()

    assert gb.checks.check_first_nonfinite(right)
    assert "Correct" in capsys.readouterr().out

    def zero_based(losses, grad_norms):
        answer = right(losses, grad_norms)
        return None if answer is None else (answer[0], [v - 1 for v in answer[1]])

    assert not gb.checks.check_first_nonfinite(zero_based)
    assert "number layers from 1" in capsys.readouterr().out

    def loss_only(losses, grad_norms):
        bad = ~torch.isfinite(losses)
        return None if not bad.any() else (int(bad.nonzero()[0]), [])

    assert not gb.checks.check_first_nonfinite(loss_only)
    assert "test both" in capsys.readouterr().out

    assert not gb.checks.check_first_nonfinite(lambda losses, grad_norms: 3)
    assert "pair (step, layers)" in capsys.readouterr().out
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_first_nonfinite(None)
