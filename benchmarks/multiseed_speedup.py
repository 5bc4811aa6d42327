"""How much faster is training many seeds as one batched model than looping over them?

    python benchmarks/multiseed_speedup.py     # prints the timings, writes multiseed_speedup.png

:func:`measure` trains the same small problem (chapter 3's set-up: Nielsen's SGD on the
digits, a [64, 30, 30, 10] sigmoid network, five seeds, a few epochs) three ways:

* ``batched``: ``gb.multiseed.train`` with all seeds in one model;
* ``loop``: the same trainer called once per seed, a Python loop over the seeds;
* ``autograd loop``: a plain PyTorch loop per seed, autograd's ``backward`` at every step,

each on one thread, and keeps the best of a few repetitions (the least disturbed by
whatever else the machine is doing). :func:`figure` draws the result as a bar chart.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import gradbook as gb
import torch

HERE = Path(__file__).resolve().parent
SIZES = [64, 30, 30, 10]


def _best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _autograd_one_seed(seed: int, X: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int) -> None:
    """Nielsen's SGD for one seed, written the ordinary way: autograd at every step."""
    lr, lmbda, n = 0.1, 5.0, X.shape[0]
    params = [(W[0].clone(), b[0].clone()) for W, b in gb.multiseed.init_params(SIZES, [seed])]
    Y = gb.one_hot(y)
    orders = gb.multiseed.batch_orders(n, epochs, [seed])[:, 0]
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
                params = [((1 - lr * lmbda / n) * W - lr / batch_size * grads[2 * l],
                           b - lr / batch_size * grads[2 * l + 1]) for l, (W, b) in enumerate(leaves)]


def measure(n_seeds: int = 5, epochs: int = 3, repeats: int = 3) -> dict:
    """Time the batched trainer, a loop over seeds, and an autograd loop; return seconds and speed-ups."""
    X, y = gb.load_digits("train")
    seeds = list(range(n_seeds))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the trainer runs on one thread; so do the loops, for a fair comparison
    try:
        gb.multiseed.train(SIZES, seeds, X, y, epochs=1)  # warm-up: first calls allocate and load kernels
        batched = _best_of(lambda: gb.multiseed.train(SIZES, seeds, X, y, epochs=epochs), repeats)
        loop = _best_of(lambda: [gb.multiseed.train(SIZES, [s], X, y, epochs=epochs) for s in seeds], repeats)
        autograd = _best_of(lambda: [_autograd_one_seed(s, X, y, epochs, 10) for s in seeds], repeats)
    finally:
        torch.set_num_threads(threads)
    return {
        "problem": f"{SIZES} sigmoid network, {n_seeds} seeds, {epochs} epochs of mini-batch 10 on 1500 digits",
        "batched_seconds": round(batched, 4),
        "loop_seconds": round(loop, 4),
        "autograd_loop_seconds": round(autograd, 4),
        "speedup": round(loop / batched, 2),
        "autograd_speedup": round(autograd / batched, 2),
    }


def figure(result: dict, path) -> Path:
    """Save a bar chart of the three timings in ``result`` (from :func:`measure`) as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = ["batched\n(gb.multiseed)", "loop over seeds\n(same trainer)", "loop over seeds\n(autograd)"]
    seconds = [result["batched_seconds"], result["loop_seconds"], result["autograd_loop_seconds"]]
    fig, ax = gb.figure(height=3.0)
    bars = ax.bar(labels, seconds, color=[gb.PALETTE[0], gb.PALETTE[1], gb.PALETTE[4]])
    notes = ["", f"{result['speedup']:.1f}x slower", f"{result['autograd_speedup']:.1f}x slower"]
    for bar, note in zip(bars, notes, strict=True):
        if note:
            ax.annotate(note, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom",
                        fontsize=9, xytext=(0, 2), textcoords="offset points")
    ax.set_ylim(0, 1.15 * max(seconds))
    ax.set_ylabel("seconds (best of a few runs)")
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
