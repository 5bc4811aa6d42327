"""gb.StackedRNN: each member is exactly the gb.RecurrentNet it was stacked from (PyTorch's fused
nn.RNN / nn.LSTM / nn.GRU), outputs and gradients; truncation equals an explicit detach;
fit_stacked trains it as plain SGD per member, with its remedies."""

import gradbook as gb
import pytest
import torch
from torch import nn

D = torch.float64


def nets(kind, n=3, **kw):
    return [gb.recurrent_net(kind, 3, 5, 4, seed=s, dtype=D, **kw) for s in range(n)]


def batch(members=None, b=6, t=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    shape = (b, t, 3) if members is None else (members, b, t, 3)
    return torch.randn(*shape, generator=g, dtype=D), torch.randint(0, 4, (b,), generator=g)


def member_grads(net: gb.RecurrentNet, x, y):
    net.zero_grad()
    nn.functional.cross_entropy(net(x), y).backward()
    r = net.rnn
    return [r.weight_ih_l0.grad.T, r.weight_hh_l0.grad.T, r.bias_ih_l0.grad, r.bias_hh_l0.grad,
            net.readout.weight.grad.T, net.readout.bias.grad]


def stacked_grads(stack: gb.StackedRNN, i):
    return [stack.weight_ih.grad[i], stack.weight_hh.grad[i], stack.bias_ih.grad[i, 0],
            stack.bias_hh.grad[i, 0], stack.weight_out.grad[i], stack.bias_out.grad[i, 0]]


@pytest.mark.parametrize("kind,kw", [("tanh", {}), ("relu", {"recurrent_scale": 1.5}), ("irnn", {}),
                                     ("lstm", {"forget_bias": 1.0}), ("gru", {})])
def test_members_match_pytorch_layers(kind, kw):
    members = nets(kind, **kw)
    stack = gb.StackedRNN.from_nets(members)
    x, y = batch()
    out = stack(x)
    assert out.shape == (3, 6, 4)
    target = y.expand(3, -1)
    nn.functional.cross_entropy(out.transpose(1, 2), target, reduction="none").mean(1).sum().backward()
    for i, net in enumerate(members):
        torch.testing.assert_close(out[i], net(x), rtol=0, atol=1e-12)
        for got, want in zip(stacked_grads(stack, i), member_grads(net, x, y), strict=True):
            torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def test_per_member_inputs_and_member_round_trip():
    members = nets("gru")
    stack = gb.StackedRNN.from_nets(members)
    x, _ = batch(members=3)
    out = stack(x)
    for i, net in enumerate(members):
        torch.testing.assert_close(out[i], net(x[i]), rtol=0, atol=1e-12)
        back = stack.member(i)
        assert isinstance(back, gb.RecurrentNet) and back.kind == "gru"
        torch.testing.assert_close(back(x[i]), net(x[i]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["tanh", "lstm"])
def test_truncation_is_a_detach_of_the_state_entering_the_window(kind):
    members = nets(kind, n=2)
    k, T = 3, 7
    stack = gb.StackedRNN.from_nets(members, truncate=[k, None])
    x, y = batch(t=T)
    out = stack(x)
    nn.functional.cross_entropy(out.transpose(1, 2), y.expand(2, -1), reduction="none").mean(1).sum().backward()
    # member 1: full BPTT, as the fused layer
    for got, want in zip(stacked_grads(stack, 1), member_grads(members[1], x, y), strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    # member 0: the written-out cell, state detached before the last k steps
    net = members[0]
    net.zero_grad()
    state = net.initial_state(x.shape[0])
    for t in range(T):
        if t == T - k:
            state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        state = net.step(x[:, t], state)
    logits = net.readout(net.hidden(state))
    torch.testing.assert_close(out[0], logits, rtol=0, atol=1e-12)
    nn.functional.cross_entropy(logits, y).backward()
    r = net.rnn
    torch.testing.assert_close(stack.weight_hh.grad[0], r.weight_hh_l0.grad.T, rtol=0, atol=1e-12)
    torch.testing.assert_close(stack.weight_ih.grad[0], r.weight_ih_l0.grad.T, rtol=0, atol=1e-12)
    # the truncated gradient differs from the full one (the test can fail)
    full = member_grads(members[0], x, y)[1]
    assert (full - stack.weight_hh.grad[0]).abs().max() > 1e-6


def test_fit_stacked_steps_each_member_as_sgd_with_its_remedies():
    members = nets("tanh", n=2)
    stack = gb.StackedRNN.from_nets(members)
    X, y = batch(b=40, seed=1)
    gb.fit_stacked(stack, (X, y), 1, lr=[0.1, 0.5], batch_size=40, seed=3, weight_decay=[0.0, 0.2],
                   clip_norm=[1e30, 0.01])
    idx = torch.randint(40, (40,), generator=torch.Generator().manual_seed(3))
    for i, (lr, wd, clip) in enumerate([(0.1, 0.0, None), (0.5, 0.2, 0.01)]):
        net = members[i]
        net.zero_grad()
        loss = nn.functional.cross_entropy(net(X[idx]), y[idx])
        loss = loss + wd / 2 * sum(w.pow(2).sum() for w in (net.rnn.weight_ih_l0, net.rnn.weight_hh_l0,
                                                             net.readout.weight))
        loss.backward()
        grads = [p.grad for p in net.parameters()]
        if clip is not None:
            norm = torch.sqrt(sum(g.pow(2).sum() for g in grads))
            grads = [g * min(1.0, clip / norm) for g in grads]
        with torch.no_grad():
            want = net.rnn.weight_hh_l0 - lr * grads[1]
        torch.testing.assert_close(stack.weight_hh[i], want.T, rtol=0, atol=1e-12)
    acc = gb.stacked_accuracy(stack, X, y)
    assert acc.shape == (2,) and ((acc >= 0) & (acc <= 1)).all()


def test_bad_input_says_what_is_allowed():
    with pytest.raises(TypeError, match="gb.RecurrentNet"):
        gb.StackedRNN.from_nets([])
    with pytest.raises(ValueError, match="kinds"):
        gb.StackedRNN.from_nets([gb.recurrent_net("sigmoid", 3, 5, 4, seed=0)])
    with pytest.raises(ValueError, match=r"nets\[1\]"):
        gb.StackedRNN.from_nets([gb.recurrent_net("tanh", 3, 5, 4, seed=0), gb.recurrent_net("tanh", 3, 6, 4, seed=0)])
    with pytest.raises(ValueError, match="one per member"):
        gb.StackedRNN.from_nets(nets("tanh"), truncate=[1, 2])
    with pytest.raises(ValueError, match="truncate"):
        gb.StackedRNN.from_nets(nets("tanh"), truncate=0)
    stack = gb.StackedRNN.from_nets(nets("tanh"))
    with pytest.raises(ValueError, match=r"\(batch, time, 3\)"):
        stack(torch.zeros(2, 5, 4, dtype=D))
    with pytest.raises(ValueError, match="dtype"):
        stack(torch.zeros(2, 5, 3))
    with pytest.raises(TypeError, match="StackedMLP or a gb.StackedRNN"):
        gb.fit_stacked(nets("tanh")[0], batch(), 1, lr=0.1, batch_size=2)


def test_fit_stacked_on_fresh_batches_with_mse_is_each_members_sgd_loop():
    """data as a function (fresh sequences each step, one batch per member), loss="mse",
    a clipped and an unclipped member, the pre-clip norms recorded: each member follows
    the same steps as its own network trained alone by gb.fit (SGD, clip by norm)."""
    members = [gb.recurrent_net("tanh", 1, 4, seed=s, recurrent_scale=2.0, dtype=D) for s in range(2)]
    alone = [gb.recurrent_net("tanh", 1, 4, seed=s, recurrent_scale=2.0, dtype=D) for s in range(2)]
    stack = gb.StackedRNN.from_nets(members)
    gens = [torch.Generator().manual_seed(s) for s in range(2)]

    def batches():
        xs, ys = zip(*[gb.latch_task(8, 6, generator=g, dtype=D) for g in gens], strict=True)
        return torch.stack(xs), torch.stack(ys)

    fit = gb.fit_stacked(stack, batches, 5, lr=[0.1, 0.3], clip_norm=[None, 0.05], loss="mse",
                         record_grad_norm=True)
    assert fit.loss.shape == fit.grad_norm.shape == (5, 2)
    for i, (lr, clip) in enumerate([(0.1, None), (0.3, 0.05)]):
        g = torch.Generator().manual_seed(i)
        record = gb.fit(alone[i], lambda g=g: gb.latch_task(8, 6, generator=g, dtype=D), 5, lr=lr,
                        loss_fn=nn.functional.mse_loss, clip_norm=clip)
        # gb.fit clips as torch does, by max_norm / (norm + 1e-6): equal to about 1e-6
        torch.testing.assert_close(fit.loss[:, i], record.loss, rtol=1e-5, atol=0)
        torch.testing.assert_close(fit.grad_norm[:, i], record.grad_norm, rtol=1e-5, atol=0)
        want = alone[i].rnn.weight_hh_l0.detach().T
        torch.testing.assert_close(stack.weight_hh[i].detach(), want, rtol=1e-5, atol=1e-7)
    assert (fit.grad_norm[:, 1] > 0.05).all()  # the clipped member's norms are recorded before clipping
    one = fit.member(1)  # a member's record, as gb.fit's
    assert isinstance(one, gb.FitRecord) and torch.equal(one.grad_norm, fit.grad_norm[:, 1])
    assert torch.equal(one.loss, fit.loss[:, 1]) and one.val_acc is None
    with pytest.raises(ValueError, match="at most 1"):
        fit.member(2)


def test_fit_stacked_fresh_batches_bad_input_says_what_is_allowed():
    stack = gb.StackedRNN.from_nets(nets("tanh", n=2))

    def batches():
        return batch(b=4)

    with pytest.raises(ValueError, match="batch_size.*no use"):
        gb.fit_stacked(stack, batches, 1, lr=0.1, batch_size=4)
    with pytest.raises(ValueError, match="batch_size is needed"):
        gb.fit_stacked(stack, batch(), 1, lr=0.1)
    with pytest.raises(TypeError, match=r"\(X, y\) or a function"):
        gb.fit_stacked(stack, batch()[0], 1, lr=0.1, batch_size=2)
    with pytest.raises(ValueError, match="'cross_entropy', 'mse'|cross_entropy"):
        gb.fit_stacked(stack, batches, 1, lr=0.1, loss="hinge")
    with pytest.raises(ValueError, match="label_smoothing"):
        gb.fit_stacked(stack, batches, 1, lr=0.1, loss="mse", label_smoothing=0.1)
    with pytest.raises(ValueError, match="classification accuracy"):
        gb.fit_stacked(stack, batches, 1, lr=0.1, loss="mse", val=batch(b=4))
    with pytest.raises(ValueError, match="shaped like the output"):
        gb.fit_stacked(stack, batches, 1, lr=0.1, loss="mse")  # class labels are no regression targets
    with pytest.raises(ValueError, match="one per member"):
        gb.fit_stacked(stack, batches, 1, lr=0.1, clip_norm=[None])
    with pytest.raises(TypeError, match="lr must be a real number"):
        gb.fit_stacked(stack, batches, 1, lr=[0.1, None])  # None means "unclipped" for clip_norm only
    x, y = batches()
    fit = gb.fit_stacked(stack, (x, y), 1, lr=0.1, batch_size=2)
    with pytest.raises(ValueError, match="record_grad_norm=True"):
        fit.member(0)
