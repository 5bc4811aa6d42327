"""Seeding: one call makes a chapter's randomness repeatable.

:func:`set_seed` seeds Python's ``random``, NumPy's global generator and torch, and turns
on torch's deterministic algorithms, so re-running a chapter prints the same numbers.
Its default seed comes from the environment variable ``GRADBOOK_SEED`` (0 if unset), so
the whole book can be re-run under another seed without editing a chapter
(``make robust`` does exactly that). Introduced in chapter 1 and used by every chapter.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from ._validate import integer

ENV_VAR = "GRADBOOK_SEED"


def default_seed() -> int:
    """The seed named by ``GRADBOOK_SEED``, or 0 when the variable is unset or empty."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if raw == "":
        return 0
    try:
        seed = int(raw)
    except ValueError:
        raise ValueError(
            f"{ENV_VAR}={raw!r} is not a whole number; set it to an integer from 0 to 2**32 - 1"
        ) from None
    return integer(ENV_VAR, seed, minimum=0, maximum=2**32 - 1)


def set_seed(seed: int | None = None) -> int:
    """Seed Python, NumPy and torch and make torch deterministic.

    Parameters
    ----------
    seed:
        A whole number from 0 to 2**32 - 1. ``None`` (the default) takes the value of the
        environment variable ``GRADBOOK_SEED``, or 0 if it is unset.

    Returns
    -------
    int
        The seed that was used, so a chapter can print or glue it.
    """
    seed = default_seed() if seed is None else integer("seed", seed, minimum=0, maximum=2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeding the legacy global generator is the point
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    return seed
