"""Chapter 6's additions: rectifier derivatives, SELU, maxout, LeCun init, dead units, checks."""

import math

import gradbook as gb
import pytest
import torch
from gradbook import activations as A
from gradbook import models as M
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

finite = st.floats(-30, 30, allow_nan=False)


def _autograd_prime(f, z: float) -> float:
    t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    (d,) = torch.autograd.grad(f(t), t)
    return d.item()


@given(z=finite, slope=st.floats(0.0, 0.5))
def test_rectifier_derivatives_match_autograd(z, slope):
    F = nn.functional
    assert A.relu_prime(z).item() == _autograd_prime(torch.relu, z)
    assert A.leaky_relu_prime(z, slope).item() == pytest.approx(_autograd_prime(lambda t: F.leaky_relu(t, slope), z))
    prelu = lambda t: F.prelu(t.reshape(1), torch.tensor([slope], dtype=torch.float64)).sum()  # noqa: E731
    assert A.leaky_relu_prime(z, slope).item() == pytest.approx(_autograd_prime(prelu, z))


@given(z=finite, alpha=st.floats(0.1, 3.0))
def test_elu_and_selu_derivatives_match_autograd(z, alpha):
    F = nn.functional
    assert A.elu_prime(z, alpha).item() == pytest.approx(_autograd_prime(lambda t: F.elu(t, alpha), z), rel=1e-12)
    assert A.selu_prime(z).item() == pytest.approx(_autograd_prime(F.selu, z), rel=1e-12)


def test_derivatives_at_zero_follow_autograd_and_keep_dtype():
    # At z = 0 every rectifier's derivative jumps; we return the left-hand value, as autograd does.
    z = torch.zeros(3, dtype=torch.float32)
    assert A.relu_prime(z).tolist() == [0.0] * 3 and A.relu_prime(z).dtype == torch.float32
    assert A.leaky_relu_prime(0.0).item() == pytest.approx(0.01)
    assert A.elu_prime(0.0, 2.0).item() == 2.0
    assert A.selu_prime(0.0).item() == pytest.approx(A.SELU_LAMBDA * A.SELU_ALPHA)
    assert A.elu_prime(-1000.0).item() == 0.0  # no overflow or NaN far out


def test_selu_constants_are_pytorchs_and_make_mean_0_variance_1_a_fixed_point():
    z = torch.tensor([-1.0, 2.0], dtype=torch.float64)
    assert torch.allclose(A.SELU_LAMBDA * nn.functional.elu(z, A.SELU_ALPHA), nn.functional.selu(z))
    # E[selu(Z)] = 0 and E[selu(Z)^2] = 1 for Z ~ N(0, 1), integrating each side of the kink.
    from scipy.integrate import quad

    def moment(k):
        f = lambda x: (A.SELU_LAMBDA * (x if x > 0 else A.SELU_ALPHA * math.expm1(x))) ** k * math.exp(-x * x / 2)  # noqa: E731
        return (quad(f, -math.inf, 0)[0] + quad(f, 0, math.inf)[0]) / math.sqrt(2 * math.pi)

    assert abs(moment(1)) < 1e-9 and abs(moment(2) - 1) < 1e-9


def test_derivatives_reject_bad_input():
    with pytest.raises(ValueError, match="float32 or float64"):
        A.relu_prime(torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="alpha must be positive"):
        A.elu_prime(1.0, alpha=0.0)
    with pytest.raises(TypeError, match="negative_slope must be a real number"):
        A.leaky_relu_prime(1.0, negative_slope="0.1")


def test_maxout_module_takes_the_largest_piece_and_routes_the_gradient_to_it():
    z = torch.tensor([[1.0, 3.0, -2.0, -5.0, 0.5, 0.25]], requires_grad=True)
    out = A.Maxout(2)(z)
    assert out.tolist() == [[3.0, -2.0, 0.5]]
    (g,) = torch.autograd.grad(out.sum(), z)
    assert g.tolist() == [[0.0, 1.0, 1.0, 0.0, 1.0, 0.0]]
    assert A.Maxout(3)(torch.zeros(4, 5, 9)).shape == (4, 5, 3)
    with pytest.raises(ValueError, match="divisible by 2, got 5"):
        A.Maxout(2)(torch.zeros(1, 5))
    with pytest.raises(ValueError, match="pieces must be at least 1"):
        A.Maxout(0)


@given(seed=st.integers(0, 10_000), pieces=st.integers(1, 4), width=st.integers(1, 5))
def test_maxout_prime_matches_autograd(seed, pieces, width):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(3, width * pieces, generator=g, dtype=torch.float64, requires_grad=True)
    v = torch.randn(3, width, generator=g, dtype=torch.float64)
    (vjp,) = torch.autograd.grad((A.Maxout(pieces)(z) * v).sum(), z)
    # The vector-Jacobian product is v spread over each unit's winning piece.
    expected = A.maxout_prime(z.detach(), pieces) * v.repeat_interleave(pieces, dim=1)
    assert torch.equal(vjp, expected)


def test_maxout_prime_errors():
    with pytest.raises(ValueError, match="divisible by pieces=2"):
        A.maxout_prime(torch.zeros(3), 2)


def test_maxout_mlp_structure_and_init():
    net = M.maxout_mlp(2, 30, pieces=2)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "Maxout", "Linear", "Maxout", "Linear"]
    assert [tuple(m.weight.shape) for m in gb.linear_layers(net)] == [(60, 64), (60, 30), (10, 30)]
    assert net(torch.zeros(7, 64)).shape == (7, 10)
    big = M.maxout_mlp(1, 300, pieces=3, in_features=400, seed=0)
    assert big[0].weight.var().item() == pytest.approx(1 / 400, rel=0.03)  # LeCun: 1/fan_in
    assert torch.count_nonzero(big[0].bias) == 0
    assert M.maxout_mlp(0, 5)[0].weight.shape == (10, 64)
    assert M.maxout_mlp(2, 8, dtype=torch.float64)(torch.zeros(2, 64, dtype=torch.float64)).dtype == torch.float64


def test_maxout_mlp_keeps_the_signal_scale_with_two_pieces():
    # E[max(Z1, Z2)^2] = q for independent N(0, q): LeCun's variance keeps the mean square.
    net = M.maxout_mlp(10, 256, 2, seed=0, in_features=256, out_features=256, dtype=torch.float64)
    X = gb.gaussian_inputs(2000, 256, seed=1, dtype=torch.float64)
    with torch.no_grad():
        out = net[:-1](X)
    assert (out**2).mean().item() == pytest.approx(1.0, rel=0.25)


def test_maxout_mlp_is_repeatable_and_leaves_the_global_generator_alone():
    torch.manual_seed(0)
    before = torch.rand(())
    torch.manual_seed(0)
    a = M.maxout_mlp(2, 8, seed=5)
    assert torch.rand(()) == before
    b = M.maxout_mlp(2, 8, seed=5)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(depth=2, width=3, pieces=0), "pieces must be at least 1"),
        (dict(depth=2, width=3, init="kaiming"), "init 'kaiming' is not one of"),
        (dict(depth=2, width=3, init="normal"), "needs std"),
        (dict(depth=2, width=3, std=0.1), "only used with init"),
        (dict(depth=2, width=3, gain=-1.0), "gain must be positive"),
        (dict(depth=2, width=3, dtype=torch.int64), "torch.float32 or torch.float64"),
    ],
)
def test_maxout_mlp_rejects_bad_arguments(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        M.maxout_mlp(**kwargs)


def test_lecun_init_and_its_default_gain():
    assert "lecun" in gb.INITS and gb.INITS[:5] == ("pytorch-default", "normal", "xavier", "he", "orthogonal")
    layer = nn.Linear(400, 300)
    gb.initialise(nn.Sequential(layer), "lecun", seed=0)
    assert layer.weight.var().item() == pytest.approx(1 / 400, rel=0.03)
    gb.initialise(nn.Sequential(layer), "lecun", gain=2.0, seed=0)
    assert layer.weight.var().item() == pytest.approx(4 / 400, rel=0.03)
    for act in ("selu", "relu", "tanh"):  # the gain is 1 whatever the activation, as for "he"
        net = gb.mlp(1, 300, act, "lecun", in_features=400, seed=0)
        assert net[0].weight.var().item() == pytest.approx(1 / 400, rel=0.03)


def test_selu_with_lecun_init_keeps_mean_0_and_variance_1():
    net = gb.mlp(20, 256, "selu", "lecun", in_features=256, seed=0, dtype=torch.float64)
    X = gb.gaussian_inputs(2000, 256, seed=1, dtype=torch.float64)
    with torch.no_grad():
        out = net[:-1](X)
    assert abs(out.mean().item()) < 0.1 and out.var().item() == pytest.approx(1.0, abs=0.15)


# The sum of |parameters| of gb.mlp(3, 16, act, init, seed=3) for the five inits that existed
# before chapter 6, recorded before "lecun" and "prelu" were added: they must not change.
_BEFORE_CH06 = {
    "pytorch-default": {"*": 152.3161334991455},
    "normal": {"*": 138.3810775661841},
    "he": {"*": 367.60859471251024},
    "xavier": {"relu": 387.9663387265173, "leaky_relu": 387.9469465399452, "tanh": 457.22271283797454,
               "gelu": 387.9663387265173, "*": 274.3336314281041},
    "orthogonal": {"relu": 338.1485715629369, "leaky_relu": 338.13166836154596, "tanh": 398.51191117593044,
                   "gelu": 338.1485715629369, "*": 239.10715197109312},
}


@pytest.mark.parametrize("init", list(_BEFORE_CH06))
def test_existing_inits_are_unchanged(init):
    for act in ("elu", "gelu", "identity", "leaky_relu", "relu", "selu", "sigmoid", "tanh"):
        std = 0.1 if init == "normal" else None
        net = gb.mlp(3, 16, act, init, std=std, seed=3, bias_std=0.5 if init == "he" else 0.0)
        total = sum(float(p.detach().double().abs().sum()) for p in net.parameters())
        expected = _BEFORE_CH06[init].get(act, _BEFORE_CH06[init]["*"])
        assert total == pytest.approx(expected, rel=1e-12), (init, act)


def test_prelu_is_registered_and_learns_its_slope():
    assert gb.ACTIVATIONS["prelu"] is nn.PReLU
    net = gb.mlp(2, 8, "prelu", "he", seed=0)
    slopes = [m.weight for m in net.modules() if isinstance(m, nn.PReLU)]
    assert len(slopes) == 2 and all(s.item() == 0.25 for s in slopes)
    nn.functional.cross_entropy(net(gb.gaussian_inputs(16, 64, seed=0)), torch.arange(16) % 10).backward()
    assert slopes[0].grad is not None and slopes[0].grad.abs().item() > 0
    net64 = gb.mlp(2, 8, "prelu", "xavier", seed=0, dtype=torch.float64)
    assert net64(torch.zeros(3, 64, dtype=torch.float64)).dtype == torch.float64
    assert gb.activation_stats(net, gb.gaussian_inputs(16, 64, seed=0)).mean.shape == (2,)


def test_dead_units_finds_planted_dead_units_only():
    net = gb.mlp(2, 10, "relu", "he", in_features=3, seed=0)
    with torch.no_grad():
        net[0].bias[:4] = -1e6  # four dead units in layer 1
        net[2].bias[:] = -1e6  # all of layer 2
    X = gb.gaussian_inputs(64, 3, seed=0)
    masks = gb.dead_units(net, X)
    assert [m.shape for m in masks] == [(10,), (10,)]
    assert masks[0][:4].all() and masks[1].all()
    assert gb.dead_unit_fraction(net, X, per_layer=True).tolist()[1] == 1.0
    layer1 = masks[0].float().mean().item()
    assert gb.dead_unit_fraction(net, X) == pytest.approx((layer1 * 10 + 10) / 20)


def test_a_unit_that_fires_once_is_not_dead_and_leaky_units_never_die():
    net = nn.Sequential(nn.Linear(1, 1), nn.ReLU(), nn.Linear(1, 1))
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[0].bias.fill_(-0.5)
    assert gb.dead_unit_fraction(net, torch.tensor([[0.0], [0.1], [0.6]])) == 0.0  # on for x = 0.6
    assert gb.dead_unit_fraction(net, torch.tensor([[0.0], [0.1], [0.4]])) == 1.0
    leaky = gb.mlp(3, 10, "leaky_relu", "he", seed=0)
    with torch.no_grad():
        for layer in gb.linear_layers(leaky)[:-1]:
            layer.bias.fill_(-10.0)
    assert gb.dead_unit_fraction(leaky, gb.gaussian_inputs(32, 64, seed=0)) == 0.0


def test_dead_units_sees_maxout_and_rejects_bad_input():
    net = M.maxout_mlp(2, 6, seed=0)
    assert gb.dead_unit_fraction(net, gb.gaussian_inputs(20, 64, seed=0), per_layer=True).shape == (2,)
    with pytest.raises(ValueError, match="no activation module"):
        gb.dead_unit_fraction(nn.Sequential(nn.Linear(3, 2)), torch.zeros(4, 3))
    with pytest.raises(ValueError, match="shape \\(examples, features\\)"):
        gb.dead_unit_fraction(net, torch.zeros(64))
    with pytest.raises(TypeError, match="torch.nn.Module"):
        gb.dead_units("net", torch.zeros(4, 64))


def _dead_fraction(net, X):  # written out: the check refuses gb.dead_unit_fraction (tests/unit/test_checks_ch06.py)
    a, dead = X, []
    for m in net:
        a = m(a)
        if not isinstance(m, nn.Linear):
            dead.append((a == 0).all(dim=0))
    return float(torch.cat(dead).double().mean())


def test_checks_accept_right_answers(capsys):
    lam, alpha = A.SELU_LAMBDA, A.SELU_ALPHA
    assert gb.checks.check_selu_prime(lambda z: torch.where(z > 0, lam, lam * alpha * z.exp()))
    assert gb.checks.check_dead_unit_fraction(_dead_fraction)
    assert capsys.readouterr().out.count("Correct:") == 2


def _zero_output_rate(net, X):  # the frequency of zero outputs: a different, wrong quantity
    return float(gb.activation_stats(net, X).frac_zero.mean())


def _negative_preactivation(net, X):  # counts z <= 0, which is wrong for leaky units
    a, masks = X, []
    for m in net:
        a = m(a)
        if isinstance(m, nn.Linear):
            z = a
        else:
            masks.append((z <= 0).all(dim=0))
    return float(torch.cat(masks).float().mean())


@pytest.mark.parametrize(
    "check, wrong, message",
    [
        (gb.checks.check_selu_prime, lambda z: torch.where(z > 0, 1.0, A.SELU_ALPHA * z.exp()), "not 1"),
        (gb.checks.check_selu_prime, lambda z: torch.where(z > 0, A.SELU_LAMBDA, A.SELU_LAMBDA * z.exp()),
         "missing the factor alpha"),
        (gb.checks.check_selu_prime, lambda z: torch.where(z > 0, A.SELU_LAMBDA, A.SELU_ALPHA * z.exp()),
         "missing the factor lambda"),
        (gb.checks.check_selu_prime, lambda z: torch.where(z > 0, A.SELU_LAMBDA, torch.nn.functional.selu(z)),
         "differentiate"),
        (gb.checks.check_selu_prime, torch.nn.functional.selu, "constant lambda"),
        (gb.checks.check_selu_prime, lambda z: z[:3], "shape"),
        (gb.checks.check_selu_prime, lambda z: math.sqrt(-1), "ValueError"),
        (gb.checks.check_dead_unit_fraction, _zero_output_rate, "for every example"),
        (gb.checks.check_dead_unit_fraction, _negative_preactivation, "leaky units do not die"),
        (gb.checks.check_dead_unit_fraction, lambda net, X: "none", "return one number"),
    ],
)
def test_checks_explain_wrong_answers(capsys, check, wrong, message):
    assert check(wrong) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and message in out


def test_checks_reject_non_functions():
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_selu_prime(3)
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_dead_unit_fraction(None)
