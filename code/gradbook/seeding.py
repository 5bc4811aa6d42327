"""Seeding and threads: the one call that makes a chapter repeatable and fixes how it runs.

:func:`set_seed` seeds Python's ``random``, NumPy's global generator and torch, turns on
torch's deterministic algorithms and sets the number of CPU threads torch uses, so
re-running a chapter prints the same numbers. Its default seed comes from the
environment variable ``GRADBOOK_SEED`` (0 if unset), so the whole book can be re-run
under another seed without editing a chapter (``make robust`` does exactly that).

It is also the book's one thread policy (:data:`THREADS`). The book's tensors are small:
a 64 x 64 product takes microseconds, and waking a second OpenMP thread for it costs
more than it saves (much more when the other core is busy, as it is while the build
runs two chapters at once). Independent jobs use the second core instead, side by side
(:func:`gradbook.run_parallel`), and the build runs chapters in parallel.
Introduced in chapter 1 and called once in every chapter's import cell.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from ._validate import MAX_SEED, integer
from ._validate import seed as _seed

ENV_VAR = "GRADBOOK_SEED"

#: The number of CPU threads torch uses in every chapter (see the module docstring).
THREADS = 1


def default_seed() -> int:
    """The seed named by ``GRADBOOK_SEED``, or 0 when the variable is unset or empty."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if raw == "":
        return 0
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(
            f"{ENV_VAR}={raw!r} is not a whole number; set it to an integer from 0 to 2**32 - 1"
        ) from None
    return _seed(ENV_VAR, value)


def _deterministic() -> None:
    """Turn on torch's deterministic algorithms for eager execution, without the NaN fill.

    ``torch.use_deterministic_algorithms(True)`` sets this same flag, but first imports
    ``torch._inductor.config`` (and with it TorchDynamo and SymPy) to set the compiler's
    deterministic mode too: 0.7 s of every chapter's start on this machine, a third of the
    cost of importing torch itself. The book never calls ``torch.compile``, so only the
    eager flag matters. If the compiler is already loaded, its flag is set as well, as
    torch's own function would.
    """
    import sys

    inductor = sys.modules.get("torch._inductor.config")
    if inductor is not None:
        inductor.deterministic = True
    torch._C._set_deterministic_algorithms(True, warn_only=False)
    # With deterministic algorithms on, torch also fills every new uninitialised tensor
    # with NaN, so that a faulty operation that reads memory before writing it gives the
    # same (NaN) result on every run. Correct operations never do, and the fill costs: 18 %
    # of an LSTM's training step here (the fused layer's workspace), 8 % of a batch-normalised
    # stack's. The book's outputs are the same without it (every chapter compared).
    torch.utils.deterministic.fill_uninitialized_memory = False


def set_seed(seed: int | None = None, *, threads: int = THREADS) -> int:
    """Seed Python, NumPy and torch, make torch deterministic and set its thread count.

    Parameters
    ----------
    seed:
        A whole number from 0 to 2**32 - 1. ``None`` (the default) takes the value of the
        environment variable ``GRADBOOK_SEED``, or 0 if it is unset.
    threads:
        How many CPU threads torch may use within one operation (default :data:`THREADS`).

    Returns
    -------
    int
        The seed that was used, so a chapter can print or glue it.
    """
    seed = default_seed() if seed is None else _seed("seed", seed)
    threads = integer("threads", threads, minimum=1)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeding the legacy global generator is the point
    torch.manual_seed(seed)
    _deterministic()
    torch.set_num_threads(threads)
    return seed


__all__ = ["ENV_VAR", "MAX_SEED", "THREADS", "default_seed", "set_seed"]
