"""How much faster is training many seeds as one batched model, and are hand-written gradients worth it?

    python benchmarks/multiseed_speedup.py     # prints the timings, writes multiseed_speedup.png

:func:`measure` trains the same small problem (chapter 3's set-up: Nielsen's SGD on the
digits, a [64, 30, 30, 10] sigmoid network, five seeds, a few epochs of mini-batch 10)
four ways:

* ``batched``: ``gb.multiseed_train``, all seeds in one model, hand-written gradients;
* ``batched autograd``: the same batched ``(seeds, out, in)`` tensors, gradients by autograd;
* ``loop``: ``gb.multiseed_train`` called once per seed, a Python loop over the seeds;
* ``autograd loop``: a plain PyTorch loop per seed, autograd's ``backward`` at every step.

It also times one full-batch problem (chapter 3's 500 epochs of full-batch descent on
1000 images, four hidden layers, three seeds) with the hand-written step and with
batched autograd, because there each step is large and autograd's fixed cost matters
less. Everything runs on one thread (the book's policy, ``gb.THREADS``), and each timing
is the best of a few repetitions (the least disturbed by whatever else the machine is
doing). :func:`figure` draws the result as a bar chart. The factors decide where
``gradbook.multiseed`` keeps hand-written gradients; its docstring quotes them.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import gradbook as gb
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
SIZES = [64, 30, 30, 10]
DEEP = [64, 30, 30, 30, 30, 10]
LR, LMBDA = 0.1, 5.0


def _best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _autograd_one_seed(seed: int, X: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int) -> None:
    """Nielsen's SGD for one seed, written the ordinary way: autograd at every step."""
    n = X.shape[0]
    params = [(W[0].clone(), b[0].clone()) for W, b in gb.multiseed_init(SIZES, [seed])]
    Y = gb.one_hot(y)
    orders = gb.multiseed_orders(n, epochs, [seed])[:, 0]
    for order in orders:
        for k in range(0, n - batch_size + 1, batch_size):
            idx = order[k:k + batch_size]
            leaves = [(W.requires_grad_(True), b.requires_grad_(True)) for W, b in params]
            a = X[idx]
            for W, b in leaves:
                a = torch.sigmoid(a @ W.T + b)
            cost = torch.nn.functional.binary_cross_entropy(a, Y[idx], reduction="sum")
            grads = torch.autograd.grad(cost, [p for pair in leaves for p in pair])
            with torch.no_grad():
                params = [((1 - LR * LMBDA / n) * W - LR / batch_size * grads[2 * l],
                           b - LR / batch_size * grads[2 * l + 1]) for l, (W, b) in enumerate(leaves)]


def autograd_batched(sizes, seeds, X: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int,
                     lmbda: float = LMBDA):
    """Nielsen's SGD for all seeds at once on batched (seeds, out, in) tensors, gradients by autograd.

    The same initialisation, mini-batch orders and update as ``gb.multiseed_train``; the
    cross-entropy is taken on the output layer's logits, whose gradient is exactly a - y.
    Returns the trained ``(W, b)`` pairs.
    """
    n = X.shape[0]
    params = [(W.clone().requires_grad_(True), b.clone().requires_grad_(True))
              for W, b in gb.multiseed_init(sizes, seeds, dtype=X.dtype)]
    leaves = [p for pair in params for p in pair]
    Y = gb.one_hot(y).to(X.dtype)
    S = len(seeds)
    full = batch_size == n
    orders = None if full else gb.multiseed_orders(n, epochs, seeds)
    for e in range(epochs):
        if full:
            Xe, Ye = X.expand(S, -1, -1), Y.expand(S, -1, -1)
        else:
            Xe, Ye = X[orders[e]], Y[orders[e]]  # (seeds, n, in), each seed in its own order
        for k in range(0, n - batch_size + 1, batch_size):
            a = Xe[:, k:k + batch_size]
            for l, (W, b) in enumerate(params):
                z = torch.baddbmm(b.unsqueeze(1), a, W.mT)
                a = z.sigmoid() if l < len(params) - 1 else z
            cost = F.binary_cross_entropy_with_logits(a, Ye[:, k:k + batch_size], reduction="sum")
            grads = torch.autograd.grad(cost, leaves)
            with torch.no_grad():
                for l, (W, b) in enumerate(params):
                    W.mul_(1 - LR * lmbda / n).sub_(grads[2 * l], alpha=LR / batch_size)
                    b.sub_(grads[2 * l + 1], alpha=LR / batch_size)
    return [(W.detach(), b.detach()) for W, b in params]


def measure(n_seeds: int = 5, epochs: int = 3, repeats: int = 3) -> dict:
    """Time the four mini-batch variants and the two full-batch ones; return seconds and factors."""
    X, y = gb.load_digits("train")
    seeds = list(range(n_seeds))
    threads = torch.get_num_threads()
    torch.set_num_threads(gb.THREADS)
    try:
        gb.multiseed_train(SIZES, seeds, X, y, epochs=1)  # warm-up: first calls allocate and load kernels
        autograd_batched(SIZES, seeds, X, y, 1, 10)
        batched = _best_of(lambda: gb.multiseed_train(SIZES, seeds, X, y, epochs=epochs), repeats)
        batched_ag = _best_of(lambda: autograd_batched(SIZES, seeds, X, y, epochs, 10), repeats)
        loop = _best_of(lambda: [gb.multiseed_train(SIZES, [s], X, y, epochs=epochs) for s in seeds], repeats)
        autograd = _best_of(lambda: [_autograd_one_seed(s, X, y, epochs, 10) for s in seeds], repeats)
        X1, y1 = X[:1000], y[:1000]
        full_epochs = 100
        full_hand = _best_of(lambda: gb.multiseed_train(DEEP, [0, 1, 2], X1, y1, epochs=full_epochs,
                                                        batch_size=1000, lmbda=0.0), repeats)
        full_ag = _best_of(lambda: autograd_batched(DEEP, [0, 1, 2], X1, y1, full_epochs, 1000, lmbda=0.0),
                           repeats)
    finally:
        torch.set_num_threads(threads)
    return {
        "problem": f"{SIZES} sigmoid network, {n_seeds} seeds, {epochs} epochs of mini-batch 10 on 1500 digits",
        "batched_seconds": round(batched, 4),
        "batched_autograd_seconds": round(batched_ag, 4),
        "loop_seconds": round(loop, 4),
        "autograd_loop_seconds": round(autograd, 4),
        "speedup": round(loop / batched, 2),
        "autograd_speedup": round(autograd / batched, 2),
        "hand_over_autograd_minibatch": round(batched_ag / batched, 2),
        "full_batch_problem": f"{DEEP}, 3 seeds, {full_epochs} full-batch steps on 1000 digits",
        "full_batch_hand_seconds": round(full_hand, 4),
        "full_batch_autograd_seconds": round(full_ag, 4),
        "hand_over_autograd_full_batch": round(full_ag / full_hand, 2),
    }


def figure(result: dict, path) -> Path:
    """Save a bar chart of the mini-batch timings in ``result`` (from :func:`measure`) as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = ["batched\n(hand-written)", "batched\n(autograd)", "loop over seeds\n(same trainer)",
              "loop over seeds\n(autograd)"]
    seconds = [result["batched_seconds"], result["batched_autograd_seconds"], result["loop_seconds"],
               result["autograd_loop_seconds"]]
    fig, ax = gb.figure(height=3.0)
    bars = ax.bar(labels, seconds, color=[gb.PALETTE[0], gb.PALETTE[5], gb.PALETTE[1], gb.PALETTE[4]])
    notes = [""] + [f"{s / seconds[0]:.1f}x slower" for s in seconds[1:]]
    for bar, note in zip(bars, notes, strict=True):
        if note:
            ax.annotate(note, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom",
                        fontsize=9, xytext=(0, 2), textcoords="offset points")
    ax.set_ylim(0, 1.15 * max(seconds))
    ax.set_ylabel("seconds (best of a few runs)")
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title(result["problem"], fontsize=8)
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def main() -> int:
    result = measure()
    for key, value in result.items():
        print(f"{key}: {value}")
    print(f"wrote {figure(result, HERE / 'multiseed_speedup.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
