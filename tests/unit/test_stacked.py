"""gb.StackedMLP: each member is exactly the nn.Sequential (with nn.BatchNorm1d / nn.LayerNorm)
built from its weights, in training and evaluation mode, outputs, gradients and running
statistics; fit_stacked steps each member as plain SGD with its own learning rate."""

import gradbook as gb
import pytest
import torch
import torch.nn.functional as F
from torch import nn

D = torch.float64


def member_as_sequential(net: gb.StackedMLP, i: int) -> nn.Sequential:
    """Member i of a stacked net as an ordinary PyTorch network with the same parameters."""
    modules = []
    for k in range(net.depth + 1):
        W, b = net.weights[k][i], net.biases[k][i, 0]
        lin = nn.Linear(W.shape[0], W.shape[1], dtype=D)
        with torch.no_grad():
            lin.weight.copy_(W.T)
            lin.bias.copy_(b)
        modules.append(lin)
        if k < net.depth:
            if net.norm == "batch":
                bn = nn.BatchNorm1d(net.width, eps=net.eps, momentum=net.momentum, dtype=D)
                with torch.no_grad():
                    bn.weight.copy_(net.gammas[k][i, 0])
                    bn.bias.copy_(net.betas[k][i, 0])
                    bn.running_mean.copy_(getattr(net, f"running_mean{k}")[i, 0])
                    bn.running_var.copy_(getattr(net, f"running_var{k}")[i, 0])
                modules.append(bn)
            elif net.norm == "layer":
                ln = nn.LayerNorm(net.width, eps=net.eps, dtype=D)
                with torch.no_grad():
                    ln.weight.copy_(net.gammas[k][i, 0])
                    ln.bias.copy_(net.betas[k][i, 0])
                modules.append(ln)
            modules.append(gb.activation_module(net.activation))
    return nn.Sequential(*modules)


def randomise_affine(net):
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for p in [*net.gammas, *net.betas, *net.biases]:
            p.add_(0.3 * torch.randn(p.shape, generator=gen, dtype=p.dtype))


@pytest.mark.parametrize("norm", gb.NORMS)
def test_members_equal_pytorch_modules_in_training_mode(norm):
    net = gb.StackedMLP(3, 2, 7, "tanh", norm=norm, in_features=5, out_features=4, seed=1, dtype=D)
    randomise_affine(net)
    refs = [member_as_sequential(net, i) for i in range(3)]
    x = torch.randn(3, 11, 5, dtype=D, generator=torch.Generator().manual_seed(2))
    y = torch.randint(4, (3, 11), generator=torch.Generator().manual_seed(3))
    out = net(x)
    nn.functional.cross_entropy(out.transpose(1, 2), y, reduction="none").mean(1).sum().backward()
    for i, ref in enumerate(refs):
        ref_out = ref(x[i])
        torch.testing.assert_close(out[i], ref_out, rtol=1e-12, atol=1e-12)
        nn.functional.cross_entropy(ref_out, y[i]).backward()
        linears = [m for m in ref if isinstance(m, nn.Linear)]
        for k, lin in enumerate(linears):
            torch.testing.assert_close(net.weights[k].grad[i], lin.weight.grad.T, rtol=1e-10, atol=1e-12)
            torch.testing.assert_close(net.biases[k].grad[i, 0], lin.bias.grad, rtol=1e-10, atol=1e-12)
        norms = [m for m in ref if isinstance(m, nn.BatchNorm1d | nn.LayerNorm)]
        for k, m in enumerate(norms):
            torch.testing.assert_close(net.gammas[k].grad[i, 0], m.weight.grad, rtol=1e-10, atol=1e-12)
            torch.testing.assert_close(net.betas[k].grad[i, 0], m.bias.grad, rtol=1e-10, atol=1e-12)
            if norm == "batch":  # the running statistics after one training batch
                torch.testing.assert_close(getattr(net, f"running_mean{k}")[i, 0], m.running_mean)
                torch.testing.assert_close(getattr(net, f"running_var{k}")[i, 0], m.running_var)


@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_evaluation_mode_uses_running_statistics(norm):
    net = gb.StackedMLP(2, 3, 6, "sigmoid", norm=norm, momentum=0.3, in_features=4, out_features=3, seed=4, dtype=D)
    gen = torch.Generator().manual_seed(6)
    for _ in range(5):  # move the running statistics away from (0, 1)
        net(torch.randn(2, 9, 4, dtype=D, generator=gen) * 2 + 1)
    refs = [member_as_sequential(net, i).eval() for i in range(2)]
    net.eval()
    x = torch.randn(2, 1, 4, dtype=D, generator=gen)  # a batch of one is fine in evaluation mode
    out = net(x)
    for i, ref in enumerate(refs):
        torch.testing.assert_close(out[i], ref(x[i]), rtol=1e-12, atol=1e-12)


def test_batch_of_one_in_training_mode_is_refused_with_a_hint():
    net = gb.StackedMLP(1, 1, 4, norm="batch", seed=0)
    with pytest.raises(ValueError, match="at least 2 examples.*net.eval"):
        net(torch.zeros(1, 64))


def test_shared_init_and_independent_members():
    same = gb.StackedMLP(3, 2, 5, shared_init=True, seed=0)
    assert torch.equal(same.weights[0][0], same.weights[0][2])
    different = gb.StackedMLP(3, 2, 5, seed=0)
    assert not torch.equal(different.weights[0][0], different.weights[0][1])
    assert torch.equal(gb.StackedMLP(3, 2, 5, seed=0).weights[1], different.weights[1])  # seeded: repeatable


def test_xavier_scale():
    net = gb.StackedMLP(4, 1, 400, init="xavier", in_features=400, seed=0, dtype=D)
    assert net.weights[0].var().item() == pytest.approx(2 / 800, rel=0.02)


def test_fit_stacked_is_sgd_per_member_with_its_own_rate():
    X, y = gb.load_digits("train", dtype=D)
    net = gb.StackedMLP(2, 2, 8, "sigmoid", norm="batch", shared_init=True, seed=0, dtype=D)
    refs = [member_as_sequential(net, i) for i in range(2)]
    rates = [0.5, 0.05]
    rec = gb.fit_stacked(net, (X, y), 6, lr=rates, batch_size=10, seed=3)
    gen = torch.Generator().manual_seed(3)  # the same batches, drawn as fit_stacked draws them
    for ref, lr in zip(refs, rates, strict=True):
        gen.manual_seed(3)
        opt = torch.optim.SGD(ref.parameters(), lr=lr)
        for step in range(6):
            idx = torch.randint(X.shape[0], (10,), generator=gen)
            opt.zero_grad()
            loss = nn.functional.cross_entropy(ref(X[idx]), y[idx])
            loss.backward()
            opt.step()
            assert rec.loss[step, rates.index(lr)].item() == pytest.approx(loss.item(), rel=1e-10)
    for i, ref in enumerate(refs):
        linears = [m for m in ref if isinstance(m, nn.Linear)]
        torch.testing.assert_close(net.weights[0][i], linears[0].weight.T, rtol=1e-10, atol=1e-12)


def test_a_diverging_member_leaves_the_others_alone():
    X, y = gb.load_digits("train")
    net = gb.StackedMLP(2, 2, 16, "relu", init="he", shared_init=True, seed=0)
    alone = gb.StackedMLP(1, 2, 16, "relu", init="he", seed=0)
    rec = gb.fit_stacked(net, (X, y), 30, lr=[1e4, 0.1], batch_size=20, seed=1)
    rec_alone = gb.fit_stacked(alone, (X, y), 30, lr=0.1, batch_size=20, seed=1)
    assert rec.loss[:, 0].nan_to_num(posinf=1e300).max() > 1e6  # member 0 blew up
    torch.testing.assert_close(rec.loss[:, 1], rec_alone.loss[:, 0], rtol=1e-5, atol=1e-6)


def test_records_validation_probes_and_grad_norms():
    X, y = gb.load_digits("train")
    Xv, yv = gb.load_digits("val")
    net = gb.StackedMLP(3, 2, 16, norm="layer", seed=0)
    rec = gb.fit_stacked(net, (X, y), 20, lr=0.1, batch_size=30, seed=0, shared_batches=False,
                         val=(Xv, yv), eval_every=10, probe=lambda step, n: step, probe_every=10)
    assert rec.val_acc.shape == (2, 3) and rec.val_steps.tolist() == [10, 20]
    assert rec.probes == [0, 10, 20] and rec.probe_steps == [0, 10, 20]
    assert rec.final_loss(5).shape == (3,)
    assert gb.stacked_accuracy(net, Xv, yv).shape == (3,)
    with pytest.raises(ValueError, match="backward pass first"):
        gb.stacked_layer_grad_norms(net)  # fit_stacked leaves no gradients behind
    nn.functional.cross_entropy(net(Xv).transpose(1, 2), yv.expand(3, -1)).backward()
    assert gb.stacked_layer_grad_norms(net).shape == (3, 3)


def test_noise_changes_every_step_and_only_in_training():
    net = gb.StackedMLP(1, 1, 4, norm="batch", noise=(1.0, 3.0), noise_seed=0, seed=0, dtype=D)
    x = torch.randn(8, 64, dtype=D)
    a, b = net(x), net(x)
    assert not torch.allclose(a, b)
    net.eval()
    assert torch.equal(net(x), net(x))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(norm="group"), ValueError, "norm 'group' is not one of: none, batch, layer"),
    (dict(activation="relu6"), ValueError, "activation 'relu6' is not one of"),
    (dict(init="orthogonal"), ValueError, "init 'orthogonal' is not one of: xavier, he, lecun, normal"),
    (dict(init="normal"), ValueError, "needs std"),
    (dict(noise=(1.0, 2.0)), ValueError, 'needs norm="batch"'),
    (dict(norm="batch", noise=(1.0, 0.5)), ValueError, "noise scale must be at least 1"),
    (dict(momentum=1.5), ValueError, "momentum must be at most 1"),
    (dict(dtype=torch.float16), ValueError, "float32"),
])
def test_bad_arguments_are_refused_clearly(kwargs, error, match):
    with pytest.raises(error, match=match):
        gb.StackedMLP(2, 1, 4, **kwargs)


def test_fit_stacked_refuses_bad_rates_and_shapes():
    X, y = gb.load_digits("train")
    net = gb.StackedMLP(2, 1, 4, seed=0)
    with pytest.raises(ValueError, match="one per member"):
        gb.fit_stacked(net, (X, y), 2, lr=[0.1, 0.2, 0.3], batch_size=5)
    with pytest.raises(ValueError, match="lr must be positive"):
        gb.fit_stacked(net, (X, y), 2, lr=[0.1, -1.0], batch_size=5)
    with pytest.raises(ValueError, match=r"shape \(batch, in\) or \(2, batch, in\)"):
        net(torch.zeros(3, 5, 64))
    with pytest.raises(TypeError, match="gb.StackedMLP"):
        gb.fit_stacked(nn.Linear(2, 2), (X, y), 2, lr=0.1, batch_size=5)


def test_a_probe_can_leave_the_running_statistics_alone():
    net = gb.StackedMLP(2, 2, 5, norm="batch", seed=0, dtype=D)
    x = torch.randn(2, 7, 64, dtype=D, generator=torch.Generator().manual_seed(0))
    before = [b.clone() for b in net.buffers()]
    probed = net(x, update_stats=False)
    assert all(torch.equal(a, b) for a, b in zip(before, net.buffers(), strict=True))
    torch.testing.assert_close(probed, net(x))  # same batch statistics; now the buffers move
    assert not all(torch.equal(a, b) for a, b in zip(before, net.buffers(), strict=True))


def test_gradient_walk_matches_autograd_member_by_member():
    X, y = gb.load_digits("train", dtype=D)
    x, t = X[:20], y[:20]
    net = gb.StackedMLP(2, 2, 6, "tanh", norm="batch", seed=0, dtype=D)
    refs = [member_as_sequential(net, i) for i in range(2)]
    before = [p.clone() for p in net.parameters()]
    walk = gb.gradient_walk(net, x, t, lr=[0.1, 0.5], factors=(1.0, 2.0))
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))  # restored
    for i, (ref, lr) in enumerate(zip(refs, (0.1, 0.5), strict=True)):
        loss = nn.functional.cross_entropy(ref(x), t)
        g0 = torch.autograd.grad(loss, list(ref.parameters()))
        assert walk.loss0[i].item() == pytest.approx(loss.item(), rel=1e-12)
        assert walk.grad_norm[i].item() == pytest.approx(torch.cat([g.flatten() for g in g0]).norm().item(), rel=1e-10)
        with torch.no_grad():
            for p, g in zip(ref.parameters(), g0, strict=True):
                p.sub_(2.0 * lr * g)
        loss2 = nn.functional.cross_entropy(ref(x), t)
        g2 = torch.autograd.grad(loss2, list(ref.parameters()))
        assert walk.loss[1, i].item() == pytest.approx(loss2.item(), rel=1e-12)
        change = torch.cat([(a - b).flatten() for a, b in zip(g2, g0, strict=True)]).norm().item()
        assert walk.grad_change[1, i].item() == pytest.approx(change, rel=1e-10)
        assert walk.distance[1, i].item() == pytest.approx(2.0 * lr * walk.grad_norm[i].item(), rel=1e-12)
    assert walk.loss_variation.shape == walk.gradient_predictiveness.shape == walk.effective_smoothness.shape == (2,)


def test_gradient_walk_refuses_noise():
    net = gb.StackedMLP(1, 1, 4, norm="batch", noise=(1.0, 2.0), seed=0)
    with pytest.raises(ValueError, match="deterministic"):
        gb.gradient_walk(net, torch.zeros(4, 64), torch.zeros(4, dtype=torch.long), 0.1, (1.0,))


def reference_forward(net, i, x, drop=()):
    """Member i's forward pass written out with plain tensor operations (training mode, batch norm)."""
    f = gb.activation_fn(net.activation)

    def norm(v, k):
        if net.norm != "batch":
            return v
        v_hat = (v - v.mean(0)) / torch.sqrt(v.var(0, unbiased=False) + net.eps)
        return v_hat * net.gammas[k][i, 0] + net.betas[k][i, 0]

    h = x
    for k in range(net.depth):
        if k + 1 in drop:
            continue
        scale = net.alphas[i, k - 1, 0, 0] if net.alphas is not None else net.branch_scale
        W, b = net.weights[k][i], net.biases[k][i, 0]
        if net.residual == "preact" and k > 0:
            h = h + scale * (f(norm(h, k)) @ W + b)
        elif net.residual == "postact" and k > 0:
            h = h + scale * f(norm(h @ W + b, k))
        else:
            h = f(norm(h @ W + b, k))
    return h @ net.weights[-1][i] + net.biases[-1][i, 0]


@pytest.mark.parametrize("residual, branch_scale, norm", [
    ("postact", 1.0, "none"), ("postact", 0.5, "batch"), ("preact", 1.0, "batch"), ("preact", "learned", "none"),
])
def test_residual_blocks_compute_what_they_say(residual, branch_scale, norm):
    net = gb.StackedMLP(2, 4, 6, "relu", init="he", norm=norm, residual=residual, branch_scale=branch_scale,
                        in_features=5, out_features=3, seed=0, dtype=D)
    if net.alphas is not None:
        assert (net.alphas == 0).all()  # ReZero: every block starts as the identity
        with torch.no_grad():
            net.alphas.add_(torch.tensor([0.3, -0.2, 0.7], dtype=D).view(1, 3, 1, 1))
    x = torch.randn(2, 9, 5, dtype=D, generator=torch.Generator().manual_seed(1))
    for drop in ((), (3,), (2, 4)):
        out = net(x, drop=drop)
        for i in range(2):
            torch.testing.assert_close(out[i], reference_forward(net, i, x[i], drop), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("residual", ["preact", "postact"])
def test_a_branch_scale_of_one_is_left_out_to_the_last_bit(residual, monkeypatch):
    """The forward pass skips multiplying a branch by exactly 1: outputs, gradients and a
    trained network are bit for bit those of multiplying, in float32 as the chapters train."""
    X, y = gb.load_digits("train")

    def train(multiply_by_one):
        if multiply_by_one:
            monkeypatch.setattr(gb.StackedMLP, "_scaled", lambda self, k, branch: self._scale(k) * branch)
        net = gb.StackedMLP(3, 6, 16, "relu", init="he", norm="batch", residual=residual, seed=0)
        grads = list(torch.autograd.grad(F.cross_entropy(net(X[:30]).transpose(1, 2), y[:30].expand(3, -1)),
                                         list(net.parameters())))
        fit = gb.fit_stacked(net, (X, y), 20, lr=[0.03, 0.1, 0.3], batch_size=20, seed=0)
        monkeypatch.undo()
        return grads, fit.loss, list(net.parameters())

    skipped, multiplied = train(False), train(True)
    for a, b in zip(skipped[0] + [skipped[1]] + skipped[2], multiplied[0] + [multiplied[1]] + multiplied[2],
                    strict=True):
        assert torch.equal(a, b)


def test_learned_branch_scales_get_gradients_and_train():
    X, y = gb.load_digits("train")
    net = gb.StackedMLP(2, 4, 16, "relu", init="he", residual="preact", branch_scale="learned", seed=0)
    gb.fit_stacked(net, (X, y), 5, lr=[0.1, 0.3], batch_size=20, seed=0)
    assert (net.alphas != 0).all()
    walk = gb.gradient_walk(net, X[:20], y[:20], [0.1, 0.3], (1.0,))  # per-member rates on a 4-d parameter
    assert walk.distance.shape == (1, 2)


@pytest.mark.parametrize("kwargs, match", [
    (dict(residual="dense"), "residual 'dense' is not one of: none, preact, postact"),
    (dict(branch_scale=0.5), "branch_scale applies to residual blocks"),
    (dict(residual="preact", branch_scale="zero"), "branch_scale 'zero' is not one of: learned"),
    (dict(residual="preact", branch_scale=-1.0), "branch_scale must be zero or positive"),
])
def test_bad_residual_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gb.StackedMLP(2, 3, 4, **kwargs)


def test_drop_refuses_the_first_layer_and_unknown_layers():
    net = gb.StackedMLP(1, 3, 4, residual="preact", seed=0)
    for drop in ((1,), (4,)):
        with pytest.raises(ValueError, match="between 2 and 3"):
            net(torch.zeros(2, 64), drop=drop)


def _sgd_reference(net, i, X, y, steps, lr, batch, seed, *, wd=0.0, l1=0.0, smoothing=0.0, clip=None):
    """Member i trained as an nn.Sequential with the penalties, clipping and smoothing written out."""
    ref = member_as_sequential(net, i)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        idx = torch.randint(X.shape[0], (batch,), generator=gen)
        data_loss = nn.functional.cross_entropy(ref(X[idx]), y[idx], label_smoothing=smoothing)
        weights = [m.weight for m in ref if isinstance(m, nn.Linear)]
        penalty = sum(wd / 2 * W.pow(2).sum() + l1 * W.abs().sum() for W in weights)
        grads = torch.autograd.grad(data_loss + penalty, list(ref.parameters()))
        if clip is not None:
            norm = torch.cat([g.flatten() for g in grads]).norm()
            grads = [g * min(1.0, clip / norm.item()) for g in grads]
        with torch.no_grad():
            for p, g in zip(ref.parameters(), grads, strict=True):
                p.sub_(lr * g)
        losses.append(data_loss.item())
    return ref, losses


@pytest.mark.parametrize("options", [
    dict(weight_decay=[0.0, 0.1], l1=0.0),
    dict(l1=[0.01, 0.0]),
    dict(label_smoothing=0.1),
    dict(label_smoothing=[0.0, 0.2]),
    dict(clip_norm=[0.05, 1e6]),
])
def test_remedies_are_applied_member_by_member(options):
    X, y = gb.load_digits("train", dtype=D)
    net = gb.StackedMLP(2, 2, 8, "tanh", shared_init=True, seed=0, dtype=D)
    rates = [0.3, 0.1]
    starts = [member_as_sequential(net, i) for i in range(2)]  # noqa: F841 (the same start)
    probe = gb.StackedMLP(2, 2, 8, "tanh", shared_init=True, seed=0, dtype=D)
    rec = gb.fit_stacked(net, (X, y), 5, lr=rates, batch_size=16, seed=4, **options)
    for i in range(2):
        pick = {k: (v[i] if isinstance(v, list) else v) for k, v in options.items()}
        ref, losses = _sgd_reference(probe, i, X, y, 5, rates[i], 16, 4, wd=pick.get("weight_decay", 0.0),
                                     l1=pick.get("l1", 0.0), smoothing=pick.get("label_smoothing", 0.0),
                                     clip=pick.get("clip_norm"))
        assert rec.loss[:, i].tolist() == pytest.approx(losses, rel=1e-10)
        first = [m for m in ref if isinstance(m, nn.Linear)][0]
        torch.testing.assert_close(net.weights[0][i], first.weight.T, rtol=1e-10, atol=1e-12)


def test_dropout_masks_in_training_only():
    net = gb.StackedMLP(3, 2, 200, "relu", init="he", dropout=0.5, dropout_seed=0, seed=0, dtype=D)
    x = torch.rand(50, 64, dtype=D, generator=torch.Generator().manual_seed(0))
    inputs = []
    a, b = net(x), net(x, inputs=inputs)
    assert not torch.allclose(a, b)  # fresh masks every pass
    dropped = net._drop(torch.ones(3, 1000, 100, dtype=D))
    assert abs((dropped == 0).double().mean().item() - 0.5) < 0.01  # 3e5 draws: std 0.001
    assert set(dropped.unique().tolist()) == {0.0, 2.0}  # the kept units are scaled by 1 / (1 - p)
    net.eval()
    assert torch.equal(net(x), net(x))
    again = gb.StackedMLP(3, 2, 200, "relu", init="he", dropout=0.5, dropout_seed=0, seed=0, dtype=D)
    assert torch.equal(again(x), a)  # repeatable from dropout_seed
    with pytest.raises(ValueError, match="dropout must be at most 0.99"):
        gb.StackedMLP(1, 1, 4, dropout=1.0)
    with pytest.raises(ValueError, match="deterministic"):
        gb.gradient_walk(again, x, torch.zeros(50, dtype=torch.long), 0.1, (1.0,))


def test_dropout_per_member():
    x = torch.rand(40, 64, dtype=D, generator=torch.Generator().manual_seed(1))
    net = gb.StackedMLP(3, 2, 300, "relu", init="he", dropout=[0.0, 0.5, 0.2], dropout_seed=0, seed=0, dtype=D)
    dropped = net._drop(torch.ones(3, 500, 200, dtype=D))
    for m, p in enumerate((0.0, 0.5, 0.2)):
        assert abs((dropped[m] == 0).double().mean().item() - p) < 0.01  # 1e5 draws: std <= 0.0016
        assert set(dropped[m].unique().tolist()) <= {0.0, 1 / (1 - p)}
    full = net(x)
    net.eval()
    assert torch.equal(full[0], net(x)[0])  # the member without dropout is its evaluation-mode self
    assert not torch.allclose(full[1], net(x)[1])
    same = gb.StackedMLP(3, 2, 300, "relu", init="he", dropout=[0.5] * 3, dropout_seed=0, seed=0, dtype=D)
    one = gb.StackedMLP(3, 2, 300, "relu", init="he", dropout=0.5, dropout_seed=0, seed=0, dtype=D)
    assert torch.equal(same(x), one(x))  # a list of equal rates is the single rate
    with pytest.raises(ValueError, match="dropout must be one number or one per member"):
        gb.StackedMLP(3, 1, 4, dropout=[0.1, 0.2])
    with pytest.raises(ValueError, match="dropout must be at most 0.99"):
        gb.StackedMLP(2, 1, 4, dropout=[0.1, 1.0])
    with pytest.raises(ValueError, match="plain members only"):
        gb.stacked_member(net, 0)


def test_remedy_arguments_are_checked():
    X, y = gb.load_digits("train")
    net = gb.StackedMLP(2, 1, 4, seed=0)
    for kwargs, match in [(dict(weight_decay=-1.0), "weight_decay must be zero or positive"),
                          (dict(l1=[0.1]), "l1 must be one number or one per member"),
                          (dict(clip_norm=0.0), "clip_norm must be positive"),
                          (dict(label_smoothing=1.5), "label_smoothing must be at most 1")]:
        with pytest.raises(ValueError, match=match):
            gb.fit_stacked(net, (X, y), 1, lr=0.1, batch_size=4, **kwargs)


@pytest.mark.parametrize("norm", gb.NORMS)
def test_stacked_member_is_the_member_as_pytorch_modules(norm):
    net = gb.StackedMLP(3, 2, 6, "sigmoid", norm=norm, in_features=5, out_features=4, seed=2, dtype=D)
    randomise_affine(net)
    x = torch.randn(3, 8, 5, dtype=D, generator=torch.Generator().manual_seed(3))
    net(x)  # move the running statistics
    for mode in ("train", "eval"):
        net.train(mode == "train")
        for i in range(3):
            member = gb.stacked_member(net, i)
            assert member.training == net.training
            torch.testing.assert_close(member(x[i]), member_as_sequential(net, i).train(net.training)(x[i]))
            torch.testing.assert_close(member(x[i]), net(x, update_stats=False)[i], rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="plain members only"):
        gb.stacked_member(gb.StackedMLP(1, 2, 4, residual="preact", seed=0), 0)


def test_layer_grad_norms_from_a_batch_equal_autograd():
    X, y = gb.load_digits("train", dtype=D)
    net = gb.StackedMLP(2, 2, 8, "tanh", norm="batch", seed=0, dtype=D)
    norms = gb.stacked_layer_grad_norms(net, X[:32], y[:32])
    for i in range(2):
        ref = member_as_sequential(net, i)
        nn.functional.cross_entropy(ref(X[:32]), y[:32]).backward()
        expected = [m.weight.grad.norm().item() for m in ref if isinstance(m, nn.Linear)]
        assert norms[i].tolist() == pytest.approx(expected, rel=1e-10)
    with pytest.raises(ValueError, match="X and y together"):
        gb.stacked_layer_grad_norms(net, X[:4])
