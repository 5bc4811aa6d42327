"""gb.clipping against torch.nn.utils and torch.autograd (chapter 8)."""

import math

import gradbook as gb
import pytest
import torch

F64 = torch.float64


def _grads(seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(4, 3, generator=gen, dtype=F64) * 5, torch.randn(3, generator=gen, dtype=F64),
            torch.randn(2, 2, 2, generator=gen, dtype=F64) * 0.1]


def _torch_clipped(grads, fn, threshold):
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    returned = fn(params, threshold)
    return [p.grad for p in params], returned


def test_total_norm_is_the_norm_of_the_concatenation():
    grads = _grads()
    flat = torch.cat([g.flatten() for g in grads])
    assert math.isclose(gb.total_norm(grads).item(), flat.norm().item(), rel_tol=1e-14)
    assert gb.total_norm(torch.tensor([3.0, 4.0])).item() == 5.0  # a single tensor works too


def test_total_norm_takes_each_norm_in_float64_to_the_last_bit():
    """The fused per-tensor norms give exactly the numbers of converting every tensor to
    float64 first (what total_norm computed before, and what its records hold): over
    float32 and float64 tensors of every scale, with infinite and NaN entries."""
    gen = torch.Generator().manual_seed(3)
    for trial in range(60):
        n = int(torch.randint(1, 30, (1,), generator=gen))
        grads = [torch.randn(*torch.randint(1, 40, (2,), generator=gen).tolist(), generator=gen)
                 * 10.0 ** int(torch.randint(-30, 30, (1,), generator=gen)) for _ in range(n)]
        if trial % 3 == 0:
            grads = [g.double() * 1e250 if k % 2 else g for k, g in enumerate(grads)]  # mixed dtypes
        if trial % 7 == 0:
            grads.append(torch.tensor([math.inf, 1.0]))
        if trial % 11 == 0:
            grads.append(torch.tensor([math.nan]))
        expected = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.double()) for g in grads]))
        got = gb.total_norm(grads)
        assert got.dtype == F64 and not got.requires_grad
        assert torch.equal(got, expected) or (got.isnan() and expected.isnan())


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 1e6])
def test_clip_by_norm_matches_torch(max_norm):
    grads = _grads(1)
    originals = [g.clone() for g in grads]
    ours = gb.clip_by_norm(grads, max_norm)
    theirs, returned = _torch_clipped(grads, torch.nn.utils.clip_grad_norm_, max_norm)
    assert math.isclose(returned.item(), gb.total_norm(grads).item(), rel_tol=1e-12)
    for a, b in zip(ours, theirs, strict=True):
        assert torch.allclose(a, b, rtol=1e-6, atol=0)  # torch divides by norm + 1e-6
    assert all(torch.equal(a, b) for a, b in zip(grads, originals, strict=True))  # inputs untouched
    expected = min(max_norm, gb.total_norm(grads).item())
    assert math.isclose(gb.total_norm(ours).item(), expected, rel_tol=1e-12)
    assert math.isclose(gb.cosine(grads, ours), 1.0, rel_tol=1e-12)  # the direction is kept


def test_clip_by_norm_special_cases():
    zero = [torch.zeros(3, dtype=F64), torch.zeros(2, 2, dtype=F64)]
    out = gb.clip_by_norm(zero, 1.0)
    assert all(torch.equal(o, z) for o, z in zip(out, zero, strict=True))  # no division by zero
    short = [torch.tensor([0.3, 0.4], dtype=F64)]
    assert torch.equal(gb.clip_by_norm(short, 0.5)[0], short[0])  # norm == threshold: unchanged
    out[0][0] = 1.0
    assert zero[0][0] == 0  # the result is a copy
    with pytest.raises(ValueError, match="cannot repair nan or inf"):
        gb.clip_by_norm([torch.tensor([1.0, math.nan])], 1.0)


def test_clip_by_value_matches_torch_and_changes_direction():
    grads = _grads(2)
    ours = gb.clip_by_value(grads, 0.5)
    theirs, _ = _torch_clipped(grads, torch.nn.utils.clip_grad_value_, 0.5)
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))
    assert gb.cosine(grads, ours) < 0.99
    g = torch.tensor([3.0, 1.0], dtype=F64)
    assert torch.equal(gb.clip_by_value(g, 1.0)[0], torch.tensor([1.0, 1.0], dtype=F64))
    assert math.isclose(gb.cosine(g, torch.tensor([1.0, 1.0], dtype=F64)), 4 / math.sqrt(20))


def test_argument_checks():
    with pytest.raises(ValueError, match="max_norm must be positive"):
        gb.clip_by_norm(_grads(), 0.0)
    with pytest.raises(ValueError, match="clip_value must be positive"):
        gb.clip_by_value(_grads(), -1.0)
    with pytest.raises(ValueError, match="non-empty list of tensors"):
        gb.clip_by_norm([], 1.0)
    with pytest.raises(TypeError, match=r"grads\[1\] must be a floating-point tensor"):
        gb.total_norm([torch.ones(2), [1.0, 2.0]])
    with pytest.raises(TypeError, match="floating-point"):
        gb.total_norm(torch.ones(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="same shapes"):
        gb.cosine([torch.ones(2)], [torch.ones(3)])
    with pytest.raises(ValueError, match="undefined"):
        gb.cosine(torch.zeros(2), torch.ones(2))


def _cliff_autograd(w, b, steps=50, x0=0.5, target=0.7):
    w = torch.tensor(w, dtype=F64, requires_grad=True)
    b = torch.tensor(b, dtype=F64, requires_grad=True)
    x = torch.tensor(x0, dtype=F64)
    for _ in range(steps):
        x = w * torch.sigmoid(x) + b
    loss = (torch.sigmoid(x) - target) ** 2
    gw, gb_ = torch.autograd.grad(loss, (w, b))
    return loss.item(), gw.item(), gb_.item()


@pytest.mark.parametrize("w, b", [(1.0, 0.5), (3.0, -1.0), (5.0, -2.6), (5.0, -2.6123), (8.0, -4.0), (-2.0, 3.0)])
def test_cliff_gradient_matches_autograd(w, b):
    loss, gw, gb_ = gb.cliff_loss_and_grad(w, b)
    ref = _cliff_autograd(w, b)
    for ours, theirs in zip((loss.item(), gw.item(), gb_.item()), ref, strict=True):
        assert math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-15)


def test_cliff_grid_broadcasts_and_other_settings():
    w = torch.linspace(0, 8, 5, dtype=F64)
    b = torch.linspace(-4, 2, 3, dtype=F64).unsqueeze(1)
    loss, gw, gb_ = gb.cliff_loss_and_grad(w, b, steps=7, x0=-0.3, target=0.2)
    assert loss.shape == gw.shape == gb_.shape == (3, 5)
    ref = _cliff_autograd(w[3].item(), b[1, 0].item(), steps=7, x0=-0.3, target=0.2)
    assert math.isclose(gw[1, 3].item(), ref[1], rel_tol=1e-10)
    with pytest.raises(ValueError, match="steps must be at least 1"):
        gb.cliff_loss_and_grad(1.0, 1.0, steps=0)
    with pytest.raises(TypeError, match="w must be a number or a floating-point tensor"):
        gb.cliff_loss_and_grad("1", 1.0)


def test_the_cliff_lies_where_x0_is_the_repelling_fixed_point():
    w = 5.0
    b = torch.linspace(-3.1, -2.1, 100_001, dtype=F64)
    _, gw, gb_ = gb.cliff_loss_and_grad(w, b)
    peak = torch.hypot(gw, gb_).argmax()
    assert abs(b[peak].item() - (0.5 - w * torch.sigmoid(torch.tensor(0.5, dtype=F64)).item())) < 1e-4


def test_cliff_descent_matches_a_loop_with_clip_by_norm():
    lr, c, steps = 0.3, 1.0, 40
    run = gb.cliff_descent(torch.tensor([6.0, 3.0]), torch.tensor([-4.0, -3.0]), lr=lr, steps=steps,
                                    clip_norm=c)
    assert run.w.shape == (steps + 1, 2) and run.step.shape == (steps, 2)
    theta = torch.tensor([6.0, -4.0], dtype=F64)
    for t in range(steps):
        _, gw, gb_ = gb.cliff_loss_and_grad(theta[0], theta[1])
        (g,) = gb.clip_by_norm(torch.stack([gw, gb_]), c)
        assert math.isclose(run.step[t, 0].item(), lr * g.norm().item(), rel_tol=1e-12)
        theta = theta - lr * g
    assert torch.allclose(torch.stack([run.w[-1, 0], run.b[-1, 0]]), theta, rtol=1e-12)
    assert run.step.max() <= lr * c * (1 + 1e-12)
    plain = gb.cliff_descent(6.0, -4.0, lr=lr, steps=1)
    _, gw, gb_ = gb.cliff_loss_and_grad(6.0, -4.0)
    assert math.isclose(plain.w[1].item(), 6.0 - lr * gw.item(), rel_tol=1e-14)
    with pytest.raises(ValueError, match="clip_norm must be positive"):
        gb.cliff_descent(6.0, -4.0, lr=lr, steps=1, clip_norm=0)



def test_cliff_descent_runs_several_thresholds_in_one_call():
    """A tensor of thresholds broadcast with the starts: each row is the run at its own
    threshold (to rounding: elementwise functions may round differently by where an element
    sits), a threshold given as a tensor rounds exactly as the same number, and inf is no
    clipping."""
    w0, b0 = torch.linspace(3, 9, 7, dtype=F64), torch.linspace(-6, -1, 7, dtype=F64)
    thresholds = torch.tensor([0.1, 1.0, 10.0, math.inf], dtype=F64)
    rows = gb.cliff_descent(w0, b0, lr=0.3, steps=60, clip_norm=thresholds[:, None])
    assert rows.w.shape == (61, 4, 7) and rows.step.shape == (60, 4, 7)
    fields = ("w", "b", "loss", "grad_norm", "step")
    for i, c in enumerate(thresholds.tolist()):
        alone = gb.cliff_descent(w0, b0, lr=0.3, steps=60, clip_norm=None if c == math.inf else c)
        for f in fields:
            torch.testing.assert_close(getattr(rows, f)[:, i], getattr(alone, f), rtol=1e-12, atol=0)
        as_tensor = gb.cliff_descent(w0, b0, lr=0.3, steps=60, clip_norm=torch.tensor(c, dtype=F64))
        assert all(torch.equal(getattr(as_tensor, f), getattr(alone, f)) for f in fields), c
    assert rows.step[:, 0].max() <= 0.3 * 0.1 * (1 + 1e-12)
    with pytest.raises(ValueError, match="clip_norm must be positive"):
        gb.cliff_descent(w0, b0, lr=0.3, steps=1, clip_norm=torch.tensor([1.0, 0.0], dtype=F64)[:, None])
    with pytest.raises(ValueError, match="clip_norm must be positive"):
        gb.cliff_descent(w0, b0, lr=0.3, steps=1, clip_norm=torch.tensor([math.nan], dtype=F64))
    with pytest.raises(ValueError, match=r"w0 \(7,\), b0 \(7,\), clip_norm \(3,\) do not broadcast"):
        gb.cliff_descent(w0, b0, lr=0.3, steps=1, clip_norm=torch.ones(3, dtype=F64))
    with pytest.raises(ValueError, match=r"w0 \(7,\), b0 \(3,\) do not broadcast"):
        gb.cliff_descent(w0, b0[:3], lr=0.3, steps=1)
    with pytest.raises(TypeError, match="clip_norm must be a number or a floating-point tensor"):
        gb.cliff_descent(w0, b0, lr=0.3, steps=1, clip_norm=torch.tensor([1, 2]))

def test_latch_task():
    x, y = gb.latch_task(2000, 15, noise=0.5, seed=3)
    assert x.shape == (2000, 15, 1) and y.shape == (2000, 1) and x.dtype == torch.float32
    assert torch.equal(x[:, 0], y) and set(y.unique().tolist()) == {-1.0, 1.0}
    assert abs(x[:, 1:].std().item() - 0.5) < 0.02 and abs(y.mean().item()) < 0.1
    x2, _ = gb.latch_task(2000, 15, noise=0.5, seed=3)
    assert torch.equal(x, x2)
    gen = torch.Generator().manual_seed(3)
    x3, _ = gb.latch_task(2000, 15, noise=0.5, generator=gen, dtype=F64)
    assert x3.dtype == F64 and torch.equal(x3.float(), x)  # same stream as seed=3
    with pytest.raises(ValueError, match="not both"):
        gb.latch_task(2, 3, seed=1, generator=gen)
    with pytest.raises(ValueError, match="noise must be zero or positive"):
        gb.latch_task(2, 3, noise=-1.0)
