"""Chapter 9's exercise checks: a right LSTM or GRU step passes, wrong ones fail with a useful hint."""

import gradbook as gb
import pytest
import torch


def lstm_step(x, h, c, W_ih, W_hh, b_ih, b_hh):
    i, f, g, o = (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_new), c_new


def gru_step(x, h, W_ih, W_hh, b_ih, b_hh):
    i_r, i_z, i_n = (x @ W_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    return z * h + (1 - z) * torch.tanh(i_n + r * h_n)


def test_right_answers_pass(capsys):
    assert gb.checks.check_lstm_step(lstm_step)
    assert gb.checks.check_gru_step(gru_step)
    out = capsys.readouterr().out
    assert out.count("Correct:") == 2 and out.count("\n") == 2  # one line each
    for seed in (0, 1, 12345):  # the graders' fresh inputs
        assert gb.checks.check_lstm_step(lstm_step, seed=seed)
        assert gb.checks.check_gru_step(gru_step, seed=seed)
    assert capsys.readouterr().out.count("Correct:") == 6


def test_seeded_cases_are_fresh_repeatable_and_start_with_a_batch_of_one():
    seen = []

    def record(x, h, c, *weights):
        seen.append((x.clone(), weights[0].clone()))
        return lstm_step(x, h, c, *weights)

    for seed in (3, 3, 4):
        assert gb.checks.check_lstm_step(record, seed=seed)
    first, again, other = seen[:4], seen[4:8], seen[8:]
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(first, again, strict=True))
    assert any(a[0].shape != b[0].shape or not torch.equal(a[0], b[0]) for a, b in zip(first, other, strict=True))
    assert first[0][0].shape[0] == 1 and other[0][0].shape[0] == 1


def _package_step(kind):
    """gb.RecurrentNet's hand-written step: the same computation, in the same layout."""
    def step(x, h, *rest):
        net = gb.recurrent_net(kind, x.shape[1], h.shape[1], dtype=torch.float64)
        weights = rest[-4:]
        with torch.no_grad():
            for name, w in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), weights, strict=True):
                getattr(net.rnn, name).copy_(w)
            return net.step(x, (h, rest[0]) if kind == "lstm" else h)
    return step


def _stacked_step(kind):
    """gb.StackedRNN run for one step, its read-out set to the identity: h_new (no c_new)."""
    def step(x, h, *rest):
        W_ih, W_hh, b_ih, b_hh = rest[-4:]
        n = h.shape[1]
        net = gb.StackedRNN(kind, 1, x.shape[1], n, n, dtype=torch.float64)
        with torch.no_grad():
            net.weight_ih[0], net.weight_hh[0] = W_ih.T, W_hh.T
            net.bias_ih[0, 0], net.bias_hh[0, 0] = b_ih, b_hh
            net.weight_out[0] = torch.eye(n, dtype=torch.float64)
            net.bias_out.zero_()
            return net(x.unsqueeze(1))[0]  # starts from h = 0, not from h: wrong, but not allowed anyway
    return step


def _torch_cell(kind):
    def step(x, h, *rest):
        W_ih, W_hh, b_ih, b_hh = rest[-4:]
        if kind == "lstm":
            return torch.lstm_cell(x, (h, rest[0]), W_ih, W_hh, b_ih, b_hh)
        return torch.gru_cell(x, h, W_ih, W_hh, b_ih, b_hh)
    return step


def _torch_module(module):
    def step(x, h, *rest):
        W_ih, W_hh, b_ih, b_hh = rest[-4:]
        if module in (torch.nn.LSTMCell, torch.nn.GRUCell):
            cell = module(x.shape[1], h.shape[1], dtype=torch.float64)
            names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        else:
            cell = module(x.shape[1], h.shape[1], batch_first=True, dtype=torch.float64)
            names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
        with torch.no_grad():
            for name, w in zip(names, (W_ih, W_hh, b_ih, b_hh), strict=True):
                getattr(cell, name).copy_(w)
            state = (h, rest[0]) if len(rest) == 5 else h
            if module in (torch.nn.LSTMCell, torch.nn.GRUCell):
                return cell(x, state)
            state = tuple(s.unsqueeze(0) for s in state) if isinstance(state, tuple) else state.unsqueeze(0)
            _, last = cell(x.unsqueeze(1), state)
            return tuple(s[0] for s in last) if isinstance(last, tuple) else last[0]
    return step


@pytest.mark.parametrize("kind, helper, exact", [
    ("lstm", _package_step("lstm"), True), ("gru", _package_step("gru"), True),
    ("lstm", _torch_cell("lstm"), True), ("gru", _torch_cell("gru"), True),
    ("lstm", _torch_module(torch.nn.LSTMCell), True), ("gru", _torch_module(torch.nn.GRUCell), True),
    ("lstm", _torch_module(torch.nn.LSTM), True), ("gru", _torch_module(torch.nn.GRU), True),
    ("gru", _stacked_step("gru"), False),
])
def test_the_cells_the_exercise_rules_out_are_refused(kind, helper, exact, capsys, monkeypatch):
    check = gb.checks.check_lstm_step if kind == "lstm" else gb.checks.check_gru_step
    name = "FORBIDDEN_LSTM" if kind == "lstm" else "FORBIDDEN_GRU"
    if exact:
        with monkeypatch.context() as allowed:  # a right answer when nothing is forbidden
            allowed.setattr(gb.checks.ch09, name, ())
            assert check(helper)
    for seed in (None, 5):
        assert not check(helper, seed=seed)
        out = capsys.readouterr().out
        assert "which this exercise asks you to do without" in out.splitlines()[-1]
    assert check(lstm_step if kind == "lstm" else gru_step)  # everything restored afterwards
    net = gb.recurrent_net(kind, 2, 3, seed=0)
    assert net(torch.zeros(1, 4, 2)).shape == (1, 1) and len(net.unroll(torch.zeros(1, 4, 2))) == 5


def test_messages_do_not_print_the_reference(capsys):
    seen = {}

    def lstm_half(x, h, c, *weights):
        seen["lstm"] = torch.cat(lstm_step(x, h, c, *weights))
        return h * 0.5, c * 0.5

    def gru_half(x, h, *weights):
        seen["gru"] = gru_step(x, h, *weights)
        return h * 0.5

    for seed in (None, 5):
        assert not gb.checks.check_lstm_step(lstm_half, seed=seed)
        assert not gb.checks.check_gru_step(gru_half, seed=seed)
        out = capsys.readouterr().out
        values = [v for key in ("lstm", "gru") for v in seen[key].flatten().tolist()]
        assert all(f"{v:.6g}" not in out and f"{v:.4g}" not in out for v in values), out
        assert out.count("where your value is") == 2


def _lstm_wrong(order="ifgo", forget=True, squash=True, hh_bias=True, swap=False):
    def step(x, h, c, W_ih, W_hh, b_ih, b_hh):
        pre = x @ W_ih.T + b_ih + h @ W_hh.T + (b_hh if hh_bias else 0)
        gate = dict(zip(order, pre.chunk(4, dim=1), strict=True))
        c_new = (torch.sigmoid(gate["f"]) * c if forget else c) + torch.sigmoid(gate["i"]) * torch.tanh(gate["g"])
        h_new = torch.sigmoid(gate["o"]) * (torch.tanh(c_new) if squash else c_new)
        return (c_new, h_new) if swap else (h_new, c_new)
    return step


def _gru_wrong(swap_z=False, reset_first=False, order="rzn"):
    def step(x, h, W_ih, W_hh, b_ih, b_hh):
        gi = dict(zip(order, (x @ W_ih.T + b_ih).chunk(3, dim=1), strict=True))
        gh = dict(zip(order, (h @ W_hh.T + b_hh).chunk(3, dim=1), strict=True))
        r, z = torch.sigmoid(gi["r"] + gh["r"]), torch.sigmoid(gi["z"] + gh["z"])
        if reset_first:
            W_n = dict(zip(order, W_hh.chunk(3), strict=True))["n"]
            b_n = dict(zip(order, b_hh.chunk(3), strict=True))["n"]
            n = torch.tanh(gi["n"] + (r * h) @ W_n.T + b_n)
        else:
            n = torch.tanh(gi["n"] + r * gh["n"])
        return (1 - z) * h + z * n if swap_z else z * h + (1 - z) * n
    return step


@pytest.mark.parametrize(
    "check, wrong, message",
    [
        (gb.checks.check_lstm_step, _lstm_wrong(order="ifog"), "input, forget, cell (g), output"),
        (gb.checks.check_lstm_step, _lstm_wrong(forget=False), "1997 cell"),
        (gb.checks.check_lstm_step, _lstm_wrong(squash=False), "squashed"),
        (gb.checks.check_lstm_step, _lstm_wrong(hh_bias=False), "both biases"),
        (gb.checks.check_lstm_step, _lstm_wrong(swap=True), "(c_new, h_new)"),
        (gb.checks.check_lstm_step, lambda *args: args[1], "pair (h_new, c_new)"),
        (gb.checks.check_lstm_step, lambda *args: (args[1], args[2][:, :1]), "shape"),
        (gb.checks.check_lstm_step, lambda *args: 1 / 0, "ZeroDivisionError"),
        (gb.checks.check_gru_step, _gru_wrong(swap_z=True), "z * h_{t-1}"),
        (gb.checks.check_gru_step, _gru_wrong(reset_first=True), "after the matrix product"),
        (gb.checks.check_gru_step, _gru_wrong(order="zrn"), "reset, update, new"),
        (gb.checks.check_gru_step, lambda x, h, *w: (h, h), "not a tuple"),
        (gb.checks.check_gru_step, lambda x, h, *w: "h", "tensor"),
        (gb.checks.check_gru_step, lambda x, h, *w: h * float("nan"), "NaN"),
    ],
)
@pytest.mark.parametrize("seed", [None, 2, 99])
def test_wrong_answers_fail_with_a_reason(capsys, check, wrong, message, seed):
    assert check(wrong, seed=seed) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and message in out and out.count("\n") == 1


def test_checks_leave_the_global_generator_alone():
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    gb.checks.check_lstm_step(lstm_step)
    gb.checks.check_gru_step(gru_step, seed=1)
    assert torch.equal(torch.rand(3), expected)


def test_checks_reject_non_functions_and_bad_seeds():
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_lstm_step(None)
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_gru_step("gru")
    with pytest.raises(TypeError, match="seed must be a whole number"):
        gb.checks.check_gru_step(gru_step, seed=1.5)
    with pytest.raises(ValueError, match="seed must be at most"):
        gb.checks.check_lstm_step(lstm_step, seed=2**40)
