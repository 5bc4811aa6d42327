"""gb.RecurrentNet and the gradient through time against PyTorch's fused cells, autograd and
hand-derived Jacobians; the sequence tasks."""

import math

import gradbook as gb
import pytest
import torch
import torch.nn.functional as F
from torch import nn

F64 = torch.float64


def _x(batch=3, T=7, features=2, seed=0):
    return torch.randn(batch, T, features, generator=torch.Generator().manual_seed(seed), dtype=F64)


@pytest.mark.parametrize("kind", ["tanh", "relu", "irnn", "lstm", "gru"])
def test_hand_written_steps_match_the_fused_module(kind):
    net = gb.recurrent_net(kind, 2, 5, output_size=3, seed=1, dtype=F64)
    with torch.no_grad():  # move off the identity so the IRNN is a real test too
        net.rnn.weight_hh_l0.add_(0.1 * torch.randn(net.rnn.weight_hh_l0.shape, dtype=F64))
    x = _x()
    by_hand = net.readout(net.hidden(net.unroll(x)[-1]))
    assert torch.allclose(net(x), by_hand, rtol=1e-12, atol=1e-12)
    assert net(x).shape == (3, 3)


def test_every_hidden_state_matches_the_fused_module():
    net = gb.recurrent_net("lstm", 2, 4, seed=2, dtype=F64)
    x = _x()
    out, (h_T, c_T) = net.rnn(x)
    states = net.unroll(x)
    assert len(states) == x.shape[1] + 1
    for t in range(1, x.shape[1] + 1):
        assert torch.allclose(states[t][0], out[:, t - 1], atol=1e-12)
    assert torch.allclose(states[-1][1], c_T[0], atol=1e-12)


def test_the_1997_lstm_has_no_forget_gate():
    net = gb.recurrent_net("lstm1997", 1, 3, seed=3, dtype=F64)
    x = _x(batch=2, T=1, features=1)
    h0 = torch.randn(2, 3, dtype=F64)
    c0 = torch.randn(2, 3, dtype=F64)
    _, c1 = net.step(x[:, 0], (h0, c0))
    W_ih, W_hh, b = net.rnn.weight_ih_l0, net.rnn.weight_hh_l0, net.rnn.bias_ih_l0 + net.rnn.bias_hh_l0
    i, _, g, _ = (x[:, 0] @ W_ih.T + h0 @ W_hh.T + b).chunk(4, dim=-1)
    assert torch.allclose(c1, c0 + torch.sigmoid(i) * torch.tanh(g), atol=1e-14)
    # the cell path's Jacobian dc_t/dc_{t-1} is exactly the identity: the constant error carousel
    J = gb.step_jacobians(net, torch.randn(5, 1, dtype=F64))
    assert J.shape == (5, 6, 6)
    assert torch.allclose(J[:, 3:, 3:], torch.eye(3, dtype=F64).expand(5, 3, 3), rtol=0, atol=1e-15)


def test_the_modern_lstm_cell_path_is_the_forget_gate():
    net = gb.recurrent_net("lstm", 1, 3, seed=3, dtype=F64)
    x = torch.randn(4, 1, dtype=F64)
    J = gb.step_jacobians(net, x)
    states = net.unroll(x.unsqueeze(0))
    W_ih, W_hh, b = net.rnn.weight_ih_l0, net.rnn.weight_hh_l0, net.rnn.bias_ih_l0 + net.rnn.bias_hh_l0
    for t in range(4):
        h_prev = states[t][0][0]
        f = torch.sigmoid((x[t] @ W_ih.T + h_prev @ W_hh.T + b).chunk(4)[1])
        assert torch.allclose(J[t, 3:, 3:], torch.diag(f), atol=1e-14)


def test_gru_follows_cho_et_al():
    net = gb.recurrent_net("gru", 2, 3, seed=4, dtype=F64)
    cell = nn.GRUCell(2, 3).to(F64)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(net.rnn, f"{name}_l0"))
    x, h = torch.randn(4, 2, dtype=F64), torch.randn(4, 3, dtype=F64)
    assert torch.allclose(net.step(x, h), cell(x, h), atol=1e-14)


def test_irnn_starts_from_the_identity_and_zero_biases():
    net = gb.recurrent_net("irnn", 2, 6, seed=0)
    assert torch.equal(net.rnn.weight_hh_l0, torch.eye(6))
    assert not net.rnn.bias_ih_l0.any() and not net.rnn.bias_hh_l0.any()


def test_forget_bias_sets_the_forget_gate_bias():
    net = gb.recurrent_net("lstm", 2, 4, forget_bias=3.0, seed=0, dtype=F64)
    total = net.rnn.bias_ih_l0 + net.rnn.bias_hh_l0
    assert torch.allclose(total[4:8], torch.full((4,), 3.0, dtype=F64))


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.5])
def test_scaled_orthogonal_has_equal_singular_values(scale):
    W = gb.scaled_orthogonal(8, scale, seed=3, dtype=F64)
    assert torch.allclose(torch.linalg.svdvals(W), torch.full((8,), scale, dtype=F64), atol=1e-12)
    assert torch.equal(W, gb.scaled_orthogonal(8, scale, seed=3, dtype=F64))
    net = gb.recurrent_net("tanh", 2, 8, recurrent_scale=scale, seed=1, dtype=F64)
    assert torch.allclose(torch.linalg.svdvals(net.rnn.weight_hh_l0), torch.full((8,), scale, dtype=F64))


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "identity"])
def test_net_jacobian_matches_autograd(activation):
    f = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "identity": lambda z: z}[activation]
    gen = torch.Generator().manual_seed(5)
    W, U = torch.randn(4, 4, generator=gen, dtype=F64), torch.randn(4, 2, generator=gen, dtype=F64)
    x, net_prev = torch.randn(2, generator=gen, dtype=F64), torch.randn(4, generator=gen, dtype=F64)
    reference = torch.func.jacrev(lambda z: U @ x + W @ f(z))(net_prev)
    assert torch.allclose(gb.net_jacobian(W, net_prev, activation), reference, atol=1e-14)
    batched = gb.net_jacobian(W, torch.stack([net_prev, net_prev]), activation)
    assert batched.shape == (2, 4, 4) and torch.allclose(batched[1], reference, atol=1e-14)


@pytest.mark.parametrize("kind", ["tanh", "sigmoid", "lstm", "lstm1997", "gru"])
def test_one_pass_norms_match_one_autograd_jacobian_per_k(kind):
    net = gb.recurrent_net(kind, 2, 3, seed=6, dtype=F64)
    x = _x(batch=1, T=6)[0]
    fast = gb.state_gradient_norms(net, x)
    assert fast.shape == (7,) and math.isclose(float(fast[-1]), 1.0)
    n = net.hidden_size

    def final_state(k, s_k):
        s = (s_k[:n].unsqueeze(0), s_k[n:].unsqueeze(0)) if net.has_cell_state else s_k.unsqueeze(0)
        for t in range(k, x.shape[0]):
            s = net.step(x[t].unsqueeze(0), s)
        return (torch.cat(s, -1) if net.has_cell_state else s)[0]

    states = net.unroll(x.unsqueeze(0))
    for k in range(x.shape[0]):
        s_k = states[k]
        s_k = (torch.cat(s_k, -1) if net.has_cell_state else s_k)[0].detach()
        J = torch.autograd.functional.jacobian(lambda s, k=k: final_state(k, s), s_k)
        assert math.isclose(float(torch.linalg.matrix_norm(J, ord=2)), float(fast[k]), rel_tol=1e-10)


def test_hidden_gradient_norms_match_autograd_per_state():
    net = gb.recurrent_net("gru", 2, 4, seed=7, dtype=F64)
    x, y = gb.adding_problem(3, 5, seed=1, dtype=F64)
    norms = gb.hidden_gradient_norms(net, x, y, reduce="none")
    assert norms.shape == (3, 6)
    states = net.unroll(x, torch.zeros(3, 4, dtype=F64, requires_grad=True))
    for s in states:
        s.retain_grad()
    nn.functional.mse_loss(net.readout(states[-1]), y).backward()
    expected = torch.stack([s.grad.norm(dim=1) for s in states], dim=1)
    assert torch.allclose(norms, expected, atol=1e-14)
    assert torch.allclose(gb.hidden_gradient_norms(net, x, y), expected.mean(0))


def test_train_records_the_norm_before_clipping_and_clips():
    net = gb.recurrent_net("tanh", 2, 5, recurrent_scale=3.0, seed=8)
    data = gb.adding_problem(16, 8, seed=2)
    h = gb.fit(net, lambda: data, 4, lr=1e-3, loss_fn=F.mse_loss, clip_norm=1e-3)
    assert h.loss.shape == h.grad_norm.shape == (4,)
    assert bool((h.grad_norm > 1e-3).all())  # the recorded norm is the unclipped one

    # one SGD step with clipping moves the weights by exactly lr * clip_norm in total
    net = gb.recurrent_net("tanh", 2, 5, seed=8, dtype=F64)
    x, y = gb.adding_problem(16, 8, seed=2, dtype=F64)
    before = torch.cat([p.detach().flatten().clone() for p in net.parameters()])
    gb.fit(net, lambda: (x, y), 1, lr=0.5, loss_fn=F.mse_loss, clip_norm=1e-4)
    after = torch.cat([p.detach().flatten() for p in net.parameters()])
    assert math.isclose(float((after - before).norm()), 0.5 * 1e-4, rel_tol=1e-5)


def test_train_by_value_clips_every_entry():
    net = gb.recurrent_net("tanh", 2, 5, seed=8, dtype=F64)
    x, y = gb.adding_problem(16, 8, seed=2, dtype=F64)
    before = [p.detach().clone() for p in net.parameters()]
    gb.fit(net, lambda: (x, y), 1, lr=1.0, loss_fn=F.mse_loss, clip_value=1e-6)
    for b, p in zip(before, net.parameters(), strict=True):
        assert float((p.detach() - b).abs().max()) <= 1e-6 + 1e-15


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: gb.recurrent_net("elman", 2, 3), ValueError, "is not one of"),
        (lambda: gb.recurrent_net("lstm", 2, 3, recurrent_scale=2.0), ValueError, "plain RNNs"),
        (lambda: gb.recurrent_net("gru", 2, 3, forget_bias=1.0), ValueError, "'lstm' only"),
        (lambda: gb.recurrent_net("tanh", 0, 3), ValueError, "at least 1"),
        (lambda: gb.recurrent_net("tanh", 2, 3)(torch.zeros(4, 2)), ValueError, "(batch, time, input_size)"),
        (lambda: gb.recurrent_net("tanh", 2, 3)(torch.zeros(4, 5, 3)), ValueError, "expects 2"),
        (lambda: gb.recurrent_net("tanh", 2, 3)(torch.zeros(4, 5, 2, dtype=F64)), ValueError, "dtype"),
        (lambda: gb.state_gradient_norms(nn.RNN(2, 3), torch.zeros(5, 2)), TypeError, "RecurrentNet"),
        (lambda: gb.state_gradient_norms(gb.recurrent_net("tanh", 2, 3), torch.zeros(1, 5, 2)), ValueError,
         "one sequence"),
        (lambda: gb.jacobian_product_norms(torch.zeros(3, 2, 4)), ValueError, "(T, d, d)"),
        (lambda: gb.net_jacobian(torch.zeros(3, 2), torch.zeros(3)), ValueError, "square"),
        (lambda: gb.net_jacobian(torch.zeros(3, 3), torch.zeros(3), "softplus"), ValueError, "is not one of"),
        (lambda: gb.scaled_orthogonal(4, -1.0), ValueError, "positive"),
        (lambda: gb.fit(nn.Linear(2, 1), lambda: None, 0, lr=0.1), ValueError, "at least 1"),
        (lambda: gb.fit(nn.Linear(2, 1), lambda: None, 1, lr=0.1, clip_norm=1, clip_value=1), ValueError,
         "not both"),
        (lambda: gb.fit(nn.Linear(2, 1), "batches", 1, lr=0.1), TypeError, "a pair (X, y)"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=__import__("re").escape(message)):
        call()


def test_adding_problem_has_two_markers_one_in_each_half():
    x, y = gb.adding_problem(200, 11, seed=3, dtype=F64)
    assert x.shape == (200, 11, 2) and y.shape == (200, 1)
    markers = x[..., 1]
    assert torch.equal(markers.sum(1), torch.full((200,), 2.0, dtype=F64))
    assert torch.equal(markers[:, :5].sum(1), torch.ones(200, dtype=F64))
    assert torch.allclose((x[..., 0] * markers).sum(1, keepdim=True), y)
    assert bool(((x[..., 0] >= 0) & (x[..., 0] < 1)).all())


def test_adding_problem_baseline_is_one_sixth_and_seeds_repeat():
    x, y = gb.adding_problem(200_000, 4, seed=0, dtype=F64)
    assert math.isclose(float(((y - 1) ** 2).mean()), gb.ADDING_BASELINE_MSE, rel_tol=0.01)
    assert torch.equal(gb.adding_problem(5, 6, seed=9)[0], gb.adding_problem(5, 6, seed=9)[0])
    gen = torch.Generator().manual_seed(9)
    assert torch.equal(gb.adding_problem(5, 6, generator=gen)[0], gb.adding_problem(5, 6, seed=9)[0])


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"n": 0, "T": 5}, ValueError), ({"n": 3, "T": 1}, ValueError), ({"n": 3, "T": 5, "seed": 1, "generator":
      torch.Generator()}, ValueError), ({"n": 3, "T": 5, "generator": 3}, TypeError),
     ({"n": 3, "T": 5, "dtype": torch.int64}, ValueError), ({"n": 2.5, "T": 5}, TypeError)],
)
def test_adding_problem_rejects_bad_input(kwargs, error):
    with pytest.raises(error):
        gb.adding_problem(**kwargs)
