"""gb.fit, the one training loop: the same steps as a loop written out, records, clipping, errors."""


import gradbook as gb
import pytest
import torch
import torch.nn.functional as F
from torch import nn


def _data(n=200, seed=0):
    X = gb.gaussian_inputs(n, 64, seed=seed)
    y = torch.randint(0, 10, (n,), generator=torch.Generator().manual_seed(seed + 1))
    return X, y


def _by_hand(net, X, y, steps, lr, batch_size, seed, momentum=0.0, optimizer="sgd"):
    """The loop the chapters used to write out, with torch's own optimiser: what fit (whose
    update is written out) must reproduce to the last bit."""
    gen = torch.Generator().manual_seed(seed)
    opt = (torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum) if optimizer == "sgd"
           else torch.optim.Adam(net.parameters(), lr=lr))
    losses = []
    for _ in range(steps):
        idx = torch.randint(0, X.shape[0], (batch_size,), generator=gen)
        loss = F.cross_entropy(net(X[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return torch.tensor(losses, dtype=torch.float64)


@pytest.mark.parametrize(("optimizer", "momentum", "lr", "dtype"), [
    ("sgd", 0.0, 0.05, torch.float32), ("sgd", 0.9, 0.05, torch.float32),
    ("adam", 0.0, 1e-3, torch.float32), ("adam", 0.0, 3e-2, torch.float64),
])
def test_fit_takes_exactly_the_steps_of_a_loop_written_out(optimizer, momentum, lr, dtype):
    X, y = _data()
    X = X.to(dtype)
    a, b = (gb.mlp(3, 16, "tanh", "xavier", seed=4).to(dtype) for _ in range(2))
    record = gb.fit(a, (X, y), 25, lr=lr, batch_size=32, seed=7, momentum=momentum,
                    optimizer=optimizer)
    expected = _by_hand(b, X, y, 25, lr, 32, 7, momentum, optimizer)
    assert torch.equal(record.loss, expected)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_fit_records_gradient_norms_and_accuracy():
    X, y = _data()
    net = gb.mlp(2, 8, "relu", "he", seed=0)
    record = gb.fit(net, (X, y), 6, lr=0.1, batch_size=20, seed=1, layer_grad_norms=True, val=(X, y), eval_every=2)
    assert record.layer_grad_norms.shape == (6, 3)
    # the total norm is the norm of the per-layer norms together with the biases' norms
    assert bool((record.grad_norm >= record.layer_grad_norms.pow(2).sum(1).sqrt() - 1e-12).all())
    assert record.val_steps.tolist() == [2, 4, 6] and record.val_acc.shape == (3,)
    assert record.final_val_acc == pytest.approx(gb.accuracy(net, X, y))
    assert record.mean_loss(3) == pytest.approx(float(record.loss[-3:].mean()))
    assert gb.fit(net, (X, y), 3, lr=0.1, val=(X, y)).val_steps.tolist() == [3]  # full batch, end only


def test_fit_takes_a_batch_function_and_clips_after_recording():
    net = gb.recurrent_net("tanh", 2, 5, recurrent_scale=3.0, seed=8)
    data = gb.adding_problem(16, 8, seed=2)
    record = gb.fit(net, lambda: data, 4, lr=1e-3, loss_fn=F.mse_loss, clip_norm=1e-3, optimizer="adam")
    assert bool((record.grad_norm > 1e-3).all())  # recorded before clipping


def test_fit_feeds_a_gradient_monitor_and_restores_the_mode():
    X, y = _data()
    net = gb.mlp(2, 8, "relu", "he", seed=0).eval()
    monitor = gb.GradientMonitor(net)
    record = gb.fit(net, (X, y), 5, lr=0.1, batch_size=10, seed=0, monitor=monitor)
    assert monitor.steps == 5 and torch.allclose(monitor.losses, record.loss)
    assert not net.training


def test_the_same_seed_gives_the_same_batches_and_the_global_generator_is_untouched():
    X, y = _data()
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a = gb.fit(gb.mlp(1, 8, seed=0), (X, y), 5, lr=0.1, batch_size=10, seed=3).loss
    b = gb.fit(gb.mlp(1, 8, seed=0), (X, y), 5, lr=0.1, batch_size=10, seed=3).loss
    assert torch.equal(a, b) and torch.equal(before, torch.random.get_rng_state())


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(steps=0), ValueError, "steps must be at least 1"),
        (dict(lr=0.0), ValueError, "lr must be positive"),
        (dict(optimizer="rmsprop"), ValueError, "optimizer 'rmsprop' is not one of: sgd, adam"),
        (dict(optimizer="adam", momentum=0.9), ValueError, "momentum applies to optimizer 'sgd' only"),
        (dict(clip_norm=1.0, clip_value=1.0), ValueError, "not both"),
        (dict(batch_size=0), ValueError, "batch_size must be at least 1"),
        (dict(eval_every=2), ValueError, "eval_every needs validation data"),
        (dict(layer_grad_norms=1), TypeError, "layer_grad_norms must be True or False"),
        (dict(monitor=object()), TypeError, "monitor must have a record(loss) method"),
        (dict(seed=-1, batch_size=4), ValueError, "seed must be at least 0"),
    ],
)
def test_bad_arguments_get_a_clear_error(kwargs, error, message):
    X, y = _data(20)
    args = dict(steps=2, lr=0.1) | kwargs
    steps = args.pop("steps")
    with pytest.raises(error, match=__import__("re").escape(message)):
        gb.fit(gb.mlp(1, 4, seed=0), (X, y), steps, **args)


def test_bad_data_gets_a_clear_error():
    with pytest.raises(TypeError, match="a pair"):
        gb.fit(nn.Linear(2, 1), [torch.zeros(3, 2)], 1, lr=0.1)
    with pytest.raises(ValueError, match="batch function draws its own"):
        gb.fit(nn.Linear(2, 1), lambda: None, 1, lr=0.1, batch_size=3)
    with pytest.raises(TypeError, match="net must be a torch.nn.Module"):
        gb.fit("net", lambda: None, 1, lr=0.1)


def test_building_and_training_loads_neither_the_compiler_nor_sympy():
    """What every chapter does first (seed, build an MLP and an RNN, train with SGD and
    Adam) must not import TorchDynamo (0.7 s, through torch.optim's first step) or SymPy
    (0.2 s, through meta tensors moved with to_empty): that is start-up every chapter pays."""
    import subprocess
    import sys

    code = (
        "import sys, torch, gradbook as gb\n"
        "gb.set_seed(0)\n"
        "X, y = torch.randn(40, 8), torch.randint(0, 3, (40,))\n"
        "for opt in ('sgd', 'adam'):\n"
        "    gb.fit(gb.mlp(2, 8, 'tanh', 'xavier', in_features=8, out_features=3, seed=0), (X, y), 3, lr=0.1,"
        " optimizer=opt)\n"
        "gb.recurrent_net('lstm', 8, 4, 3, seed=0)\n"
        "print(sorted(m for m in ('torch._dynamo', 'sympy') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
