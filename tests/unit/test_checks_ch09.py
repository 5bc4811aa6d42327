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


def test_the_package_cells_pass(capsys):
    """gb.recurrent's hand-written step is the same computation, in the same layout."""
    def package_step(kind):
        def step(x, h, *rest):
            net = gb.recurrent_net(kind, x.shape[1], h.shape[1], dtype=torch.float64)
            weights = rest[-4:]
            with torch.no_grad():
                for name, w in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), weights, strict=True):
                    getattr(net.rnn, name).copy_(w)
                return net.step(x, (h, rest[0]) if kind == "lstm" else h)
        return step

    assert gb.checks.check_lstm_step(package_step("lstm"))
    assert gb.checks.check_gru_step(package_step("gru"))


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
def test_wrong_answers_fail_with_a_reason(capsys, check, wrong, message):
    assert check(wrong) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and message in out and out.count("\n") == 1


def test_checks_leave_the_global_generator_alone():
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    gb.checks.check_lstm_step(lstm_step)
    gb.checks.check_gru_step(gru_step)
    assert torch.equal(torch.rand(3), expected)


def test_checks_reject_non_functions():
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_lstm_step(None)
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_gru_step("gru")
