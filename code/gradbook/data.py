"""Data: the digits set with one fixed split, and synthetic Gaussian inputs.

Nothing is downloaded. The real data set is scikit-learn's bundled 8x8 handwritten
digits (1797 images, 64 pixels scaled to [0, 1]); :func:`load_digits` splits it once and
for all into 1500 training and 297 validation images, stratified by class, with a split
that does not depend on any seed. Introduced in chapter 1 for the chapters that train on
real data.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ._validate import float_dtype, generator, integer, one_of, real

__all__ = ["N_CLASSES", "N_PIXELS", "N_TRAIN", "N_VAL", "gaussian_inputs", "load_digits", "one_hot"]

N_TRAIN = 1500
N_VAL = 297
N_CLASSES = 10
N_PIXELS = 64
# The split is part of the book, not of an experiment: it never follows GRADBOOK_SEED.
_SPLIT_SEED = 20150101


#: The fixed split, stored: row i of the digits set comes from row ORDER[i] of
#: scikit-learn's file, the 1500 training images first. It is what
#: ``train_test_split(..., test_size=297, random_state=20150101, stratify=y)`` returns
#: (tests/unit/test_data.py checks that it still is); storing it spares every chapter
#: the import of scikit-learn's model-selection code, which costs more than the data.
_ORDER_FILE = Path(__file__).with_name("_data") / "digits_order.npy"


def _digits_file() -> Path:
    """scikit-learn's bundled ``digits.csv.gz``, found without importing scikit-learn."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("the digits come with scikit-learn, which is not installed: "
                                  "pip install -r requirements.txt")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(f"scikit-learn's bundled digits file is missing: {path}")
    return path


@lru_cache(maxsize=1)
def _digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    table = np.loadtxt(_digits_file(), delimiter=",")  # 1797 rows: 64 pixels, then the label
    order = np.load(_ORDER_FILE).astype(np.int64)
    X = (table[order, :-1] / 16.0).astype(np.float32)  # pixel intensities are 0..16
    y = table[order, -1].astype(np.int64)
    return X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:]


def load_digits(split: str = "train", dtype: torch.dtype = torch.float32):
    """The 8x8 digits as tensors ``(X, y)``.

    Parameters
    ----------
    split:
        ``"train"`` (1500 images), ``"val"`` (297 images) or ``"all"`` (both, training
        images first).
    dtype:
        ``torch.float32`` (the default) or ``torch.float64`` for ``X``.

    Returns
    -------
    X: tensor of shape (n, 64) with values in [0, 1]; y: int64 tensor of shape (n,).
    """
    one_of("split", split, ["train", "val", "all"])
    float_dtype("dtype", dtype)
    X_train, y_train, X_val, y_val = _digits_split()
    if split == "train":
        X, y = X_train, y_train
    elif split == "val":
        X, y = X_val, y_val
    else:
        X, y = np.concatenate([X_train, X_val]), np.concatenate([y_train, y_val])
    return torch.tensor(X, dtype=dtype), torch.tensor(y)


def one_hot(y: torch.Tensor, n_classes: int = N_CLASSES) -> torch.Tensor:
    """Float one-hot codes of integer labels ``y`` (shape (n,)) -> shape (n, n_classes)."""
    n_classes = integer("n_classes", n_classes, minimum=1)
    if not isinstance(y, torch.Tensor) or y.dtype not in (torch.int64, torch.int32) or y.ndim != 1:
        raise ValueError("y must be a 1-D integer tensor of class labels")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise ValueError(f"labels must lie in 0..{n_classes - 1}")
    return torch.nn.functional.one_hot(y.long(), n_classes).float()


def gaussian_inputs(
    n: int,
    dim: int,
    std: float = 1.0,
    seed: int | torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """``n`` synthetic inputs of dimension ``dim`` with i.i.d. N(0, std^2) entries.

    With ``seed`` (a seed or a ``torch.Generator``) the draw uses its own generator and
    leaves the global one alone; with ``seed=None`` it draws from torch's global generator
    (seeded by ``set_seed``).
    """
    n = integer("n", n, minimum=1)
    dim = integer("dim", dim, minimum=1)
    std = real("std", std, nonnegative=True)
    float_dtype("dtype", dtype)
    return std * torch.randn(n, dim, generator=generator(seed), dtype=dtype)
