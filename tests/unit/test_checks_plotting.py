import math

import gradbook as gb
import matplotlib
import pytest
import torch

matplotlib.use("Agg")


# Right answers written out: the checks refuse the package's own helpers (tests/unit/test_checks_ch01.py, ch02).
def right_chain(w, b, x, activation):
    z, a = [], x
    for w_j, b_j in zip(w, b, strict=True):
        z.append(w_j * a + b_j)
        a = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "identity": lambda t: t}[activation](z[-1])
    fprime = gb.derivative(activation)(torch.stack(z))
    return torch.stack([fprime[j] * (w[j + 1:] * fprime[j + 1:]).prod() for j in range(len(w))])


def right_two_layer(x, y, w1, w2):
    h = x @ w1
    g = 2 * (h.clamp(min=0) @ w2 - y)
    return x.T @ ((g @ w2.T) * (h > 0)), h.clamp(min=0).T @ g


def right_width(w):
    w = abs(w)
    return 0.0 if w < 4 else (2 / w) * math.log(w * (1 + math.sqrt(1 - 4 / w)) / 2 - 1)


def test_checks_accept_right_answers(capsys):
    assert gb.checks.check_chain_bias_grads(right_chain)
    assert gb.checks.check_two_layer_grads(right_two_layer)
    assert gb.checks.check_sigmoid_second(lambda z: gb.sigmoid_prime(z) * (1 - 2 * torch.sigmoid(z)))
    assert gb.checks.check_gain_interval_width(right_width)
    assert capsys.readouterr().out.count("Correct:") == 4


@pytest.mark.parametrize(
    "check, wrong, message",
    [
        (gb.checks.check_chain_bias_grads, lambda w, b, x, a: torch.ones_like(w), "differs"),
        # forgetting the factor w_k: right for one neuron, wrong for a chain
        (gb.checks.check_chain_bias_grads,
         lambda w, b, x, a: right_chain(torch.ones_like(w), b, x, a), "differs"),
        (gb.checks.check_two_layer_grads, lambda x, y, w1, w2: (x.T @ x, w2), "grad_w2"),
        (gb.checks.check_two_layer_grads,
         lambda x, y, w1, w2: (torch.zeros_like(w1), right_two_layer(x, y, w1, w2)[1]),
         "grad_w2 is right"),
        (gb.checks.check_two_layer_grads, lambda x, y, w1, w2: 3, "pair"),
        (gb.checks.check_sigmoid_second, lambda z: gb.sigmoid_prime(z), "Hint"),
        (gb.checks.check_sigmoid_second, lambda z: 1 / 0, "ZeroDivisionError"),
        (gb.checks.check_gain_interval_width, lambda w: 0.3, "the set is empty"),
        (gb.checks.check_gain_interval_width,
         lambda w: right_width(w) if w > 0 else 0.0, "sign of w"),
        (gb.checks.check_gain_interval_width, lambda w: "wide", "return a number"),
    ],
)
def test_checks_explain_wrong_answers(capsys, check, wrong, message):
    assert check(wrong) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and message in out


def test_checks_reject_non_functions():
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_sigmoid_second(0.5)


def test_plotting_style_and_helpers():
    fig, axes = gb.figure(ncols=2)
    assert len(axes) == 2
    line = gb.plot_layer_norms(axes[0], [1.0, 0.1, 0.01], label="x")
    assert axes[0].get_yscale() == "log" and list(line.get_xdata()) == [1, 2, 3]
    gb.log_axis(axes[1], "both")
    assert axes[1].get_xscale() == "log"
    assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"][0] == gb.PALETTE[0]
    with pytest.raises(ValueError, match="positive"):
        gb.plot_layer_norms(axes[0], [1.0, 0.0])
    with pytest.raises(ValueError, match="which 'z' is not one of: x, y, both"):
        gb.log_axis(axes[0], "z")
    with pytest.raises(ValueError, match="ncols must be at most 4"):
        gb.figure(ncols=5)


@pytest.mark.parametrize(("label", "plain"), [
    (r"$\mathdefault{10^{-3}}$", "10⁻³"),
    (r"$\mathdefault{2\times10^{4}}$", "2\u00a0×\u00a010⁴"),  # as gb.humanize("2e4")
    (r"$\mathdefault{-10^{2}}$", "−10²"),
    (r"$\mathdefault{10^{0}}$", "10⁰"),  # not "1", among 10⁻¹ and 10¹
    (r"$\mathdefault{0.5}$", "0.5"),
    ("", ""),  # an unlabelled minor tick
    (r"$\mathdefault{10^{-3.50}}$", r"$\mathdefault{10^{-3.50}}$"),  # another form: unchanged
])
def test_plain_tick_label(label, plain):
    assert gb.plotting.plain_tick_label(label) == plain


def test_log_axis_labels_matplotlibs_ticks_in_plain_text():
    """Same ticks and same labelled ticks as matplotlib's own log axis, no mathtext left."""
    def labels(ax, name, minor):
        return [(t.get_position(), t.get_text()) for t in
                getattr(ax, f"get_{name}ticklabels")(minor=minor)]

    figs = []
    for ours in (True, False):
        fig, ax = gb.figure()
        ax.plot([1e-5, 1e3], [0.02, 0.5])
        if ours:
            gb.log_axis(ax, "both")
        else:
            ax.set_xscale("log")
            ax.set_yscale("log")
        fig.canvas.draw()
        figs.append(ax)
    for name in ("x", "y"):
        for minor in (False, True):
            new, old = labels(figs[0], name, minor), labels(figs[1], name, minor)
            assert [p for p, _ in new] == [p for p, _ in old]
            assert [bool(t) for _, t in new] == [bool(t) for _, t in old]
            assert not any("$" in t for _, t in new)
            assert any(t for _, t in new) or minor
    assert isinstance(figs[0].yaxis.get_major_formatter(), gb.PowerOfTenFormatter)
