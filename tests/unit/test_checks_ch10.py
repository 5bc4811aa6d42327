"""Chapter 10's exercise check: a right batch-norm backward passes, the common mistakes fail with a hint."""

import gradbook as gb
import pytest
import torch


def right(z, gamma, g, eps):
    mean, var = z.mean(0), z.var(0, unbiased=False)
    sigma = torch.sqrt(var + eps)
    z_hat = (z - mean) / sigma
    return gamma / sigma * (g - g.mean(0) - z_hat * (g * z_hat).mean(0)), (g * z_hat).sum(0), g.sum(0)


def fixed_statistics(z, gamma, g, eps):
    sigma = torch.sqrt(z.var(0, unbiased=False) + eps)
    return gamma * g / sigma, (g * (z - z.mean(0)) / sigma).sum(0), g.sum(0)


def mean_path_only(z, gamma, g, eps):
    sigma = torch.sqrt(z.var(0, unbiased=False) + eps)
    return gamma / sigma * (g - g.mean(0)), (g * (z - z.mean(0)) / sigma).sum(0), g.sum(0)


def unbiased(z, gamma, g, eps):
    sigma = torch.sqrt(z.var(0, unbiased=True) + eps)
    z_hat = (z - z.mean(0)) / sigma
    return gamma / sigma * (g - g.mean(0) - z_hat * (g * z_hat).mean(0)), (g * z_hat).sum(0), g.sum(0)


def wrong_dgamma(z, gamma, g, eps):
    dz, _, dbeta = right(z, gamma, g, eps)
    return dz, g.sum(0), dbeta


def with_autograd(z, gamma, g, eps):
    z, gamma = z.requires_grad_(), gamma.requires_grad_()
    beta = torch.zeros_like(gamma, requires_grad=True)
    y = gamma * (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + eps) + beta
    return torch.autograd.grad(y, (z, gamma, beta), g)


def with_backward(z, gamma, g, eps):
    z, gamma = z.requires_grad_(), gamma.requires_grad_()
    beta = torch.zeros_like(gamma, requires_grad=True)
    y = gamma * (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + eps) + beta
    y.backward(g)
    return z.grad.detach(), gamma.grad.detach(), beta.grad.detach()


def with_vjp(z, gamma, g, eps):
    def forward(z, gamma, beta):
        return torch.nn.functional.batch_norm(z, None, None, gamma, beta, training=True, eps=eps)

    return torch.func.vjp(forward, z, gamma, torch.zeros_like(gamma))[1](g)


def with_aten(z, gamma, g, eps):
    _, mean, invstd = torch.native_batch_norm(z, gamma, None, None, None, True, 0.0, eps)
    return torch.ops.aten.native_batch_norm_backward(g, z, gamma, None, None, mean, invstd, True, eps,
                                                     [True, True, True])


def aten_backward_only(z, gamma, g, eps):
    mean, var = z.mean(0), z.var(0, unbiased=False)
    return torch.ops.aten.native_batch_norm_backward(g, z, gamma, None, None, mean, 1 / torch.sqrt(var + eps),
                                                     True, eps, [True, True, True])


def test_right_answer_passes(capsys):
    assert gb.checks.check_batchnorm_backward(right)
    out = capsys.readouterr().out
    assert out.startswith("Correct:") and out.count("\n") == 1
    for seed in (0, 1, 12345):  # the graders' fresh inputs
        assert gb.checks.check_batchnorm_backward(right, seed=seed)
    assert capsys.readouterr().out.count("Correct:") == 3


def test_seeded_cases_are_fresh_repeatable_and_include_a_batch_of_two():
    seen = []

    def record(z, gamma, g, eps):
        seen.append((z.clone(), eps))
        return right(z, gamma, g, eps)

    for seed in (3, 3, 4):
        assert gb.checks.check_batchnorm_backward(record, seed=seed)
    first, again, other = seen[:4], seen[4:8], seen[8:]
    assert all(torch.equal(a[0], b[0]) and a[1] == b[1] for a, b in zip(first, again, strict=True))
    assert any(a[0].shape != b[0].shape or not torch.equal(a[0], b[0]) for a, b in zip(first, other, strict=True))
    assert first[1][0].shape[0] == 2 and first[2][1] > 1e-4  # a batch of two, and a large eps


@pytest.mark.parametrize("helper", [with_autograd, with_backward, with_vjp, with_aten, aten_backward_only])
def test_autograd_and_batch_norm_are_refused(helper, capsys, monkeypatch):
    with monkeypatch.context() as allowed:  # each of them is a right answer when nothing is forbidden
        allowed.setattr(gb.checks.ch10, "FORBIDDEN", ())
        assert gb.checks.check_batchnorm_backward(helper)
    for seed in (None, 5):
        assert not gb.checks.check_batchnorm_backward(helper, seed=seed)
        assert "which this exercise asks you to do without" in capsys.readouterr().out.splitlines()[-1]
    z = torch.randn(4, 3, requires_grad=True)  # everything restored afterwards
    torch.nn.functional.batch_norm(z, None, None, training=True).pow(2).sum().backward()
    assert z.grad is not None and gb.checks.check_batchnorm_backward(right)


def test_an_answer_that_requires_grad_is_rejected(capsys):
    def still_attached(z, gamma, g, eps):
        return tuple(t.requires_grad_() for t in right(z, gamma, g, eps))

    assert not gb.checks.check_batchnorm_backward(still_attached)
    assert "requires grad" in capsys.readouterr().out


def test_messages_do_not_print_the_reference(capsys):
    seen = []

    def half(z, gamma, g, eps):
        seen.append(right(z, gamma, g, eps))
        dz, dgamma, dbeta = seen[-1]
        return dz * 0.5, dgamma, dbeta

    for seed in (None, 5):
        assert not gb.checks.check_batchnorm_backward(half, seed=seed)
        out = capsys.readouterr().out
        values = [v for t in seen[-1] for v in t.flatten().tolist()]
        assert all(f"{v:.6g}" not in out and f"{v:.4g}" not in out for v in values), out
        assert "where your value is" in out


@pytest.mark.parametrize("seed", [None, 2, 99])
@pytest.mark.parametrize("fn, hint", [
    (fixed_statistics, "held fixed"),
    (mean_path_only, "path through the mean but not"),
    (unbiased, "biased batch variance"),
    (wrong_dgamma, "dC/dgamma sums g times"),
    (lambda z, gamma, g, eps: (z, gamma), "three things"),
    (lambda z, gamma, g, eps: 1 / 0, "ZeroDivisionError"),
])
def test_wrong_answers_fail_with_a_hint(fn, hint, seed, capsys):
    assert not gb.checks.check_batchnorm_backward(fn, seed=seed)
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and hint in out


def test_not_a_function_is_a_type_error():
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_batchnorm_backward(42)
    with pytest.raises(TypeError, match="seed must be a whole number"):
        gb.checks.check_batchnorm_backward(right, seed="7")


def test_checking_an_answer_does_not_import_sympy():
    """The check's reference gradients come from autograd without grad_outputs, whose shape
    check imports SymPy (0.35 s) the first time; chapter 10's own comparison with
    nn.BatchNorm1d does the same. A fresh interpreter checks a right answer."""
    import inspect
    import subprocess
    import sys

    code = (
        "import sys, torch, gradbook as gb\n"
        + inspect.getsource(right)
        + "assert gb.checks.check_batchnorm_backward(right)\n"
        "print('sympy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
