import random

import gradbook as gb
import numpy as np
import pytest
import torch


def test_set_seed_repeats_all_three_generators():
    def draw():
        return random.random(), np.random.rand(), torch.rand(()).item()  # noqa: NPY002

    gb.set_seed(123)
    first = draw()
    gb.set_seed(123)
    assert draw() == first
    gb.set_seed(124)
    assert draw() != first


def test_default_seed_comes_from_environment(monkeypatch):
    monkeypatch.delenv("GRADBOOK_SEED", raising=False)
    assert gb.set_seed() == 0
    monkeypatch.setenv("GRADBOOK_SEED", "3")
    assert gb.set_seed() == 3
    assert torch.are_deterministic_algorithms_enabled()


@pytest.mark.parametrize("raw", ["abc", "1.5", "-1"])
def test_bad_environment_seed_is_explained(monkeypatch, raw):
    monkeypatch.setenv("GRADBOOK_SEED", raw)
    with pytest.raises(ValueError, match="GRADBOOK_SEED"):
        gb.set_seed()


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "0", True])
def test_bad_seed_is_rejected(seed):
    with pytest.raises((TypeError, ValueError), match="seed"):
        gb.set_seed(seed)


def test_set_seed_is_deterministic_without_loading_the_compiler():
    """set_seed turns on the deterministic flag that torch.use_deterministic_algorithms
    sets, without importing torch._inductor (0.7 s of every chapter's start)."""
    import subprocess
    import sys

    code = (
        "import sys, torch, gradbook as gb\n"
        "torch.use_deterministic_algorithms(False)\n"
        "gb.set_seed(0)\n"
        "assert torch.are_deterministic_algorithms_enabled()\n"
        "assert not torch.is_deterministic_algorithms_warn_only_enabled()\n"
        "assert not torch.utils.deterministic.fill_uninitialized_memory\n"
        "assert 'torch._inductor.config' not in sys.modules or "
        "sys.modules['torch._inductor.config'].deterministic\n"
        "print('torch._inductor' in sys.modules)\n"
    )
    fresh = subprocess.run([sys.executable, "-c", code.replace(
        "torch.use_deterministic_algorithms(False)\n", "")], capture_output=True, text=True,
        check=True)
    assert fresh.stdout.strip() == "False"
    # With the compiler already loaded (torch.use_deterministic_algorithms loads it), its
    # flag is set too, as torch's own function would.
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert loaded.stdout.strip() == "True"
