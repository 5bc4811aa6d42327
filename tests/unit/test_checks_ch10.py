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
    y = torch.nn.functional.batch_norm(z, None, None, gamma, beta, training=True, eps=eps)
    return torch.autograd.grad(y, (z, gamma, beta), g, create_graph=True)


def test_right_answer_passes(capsys):
    assert gb.checks.check_batchnorm_backward(right)
    out = capsys.readouterr().out
    assert out.startswith("Correct:") and out.count("\n") == 1


@pytest.mark.parametrize("fn, hint", [
    (fixed_statistics, "held fixed"),
    (mean_path_only, "path through the mean but not"),
    (unbiased, "biased batch variance"),
    (wrong_dgamma, "dC/dgamma sums g times"),
    (with_autograd, "computed with autograd"),
    (lambda z, gamma, g, eps: (z, gamma), "three things"),
    (lambda z, gamma, g, eps: 1 / 0, "ZeroDivisionError"),
])
def test_wrong_answers_fail_with_a_hint(fn, hint, capsys):
    assert not gb.checks.check_batchnorm_backward(fn)
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and hint in out


def test_not_a_function_is_a_type_error():
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_batchnorm_backward(42)
