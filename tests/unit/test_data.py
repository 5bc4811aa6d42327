import gradbook as gb
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st


def test_digits_split_is_fixed_disjoint_and_scaled():
    X_train, y_train = gb.load_digits("train")
    X_val, y_val = gb.load_digits("val")
    assert X_train.shape == (1500, 64) and X_val.shape == (297, 64)
    assert X_train.min() >= 0 and X_train.max() <= 1
    assert set(y_train.tolist()) == set(range(10)) == set(y_val.tolist())
    X_all, _ = gb.load_digits("all")
    assert X_all.shape == (1797, 64)
    # No validation image is also a training image (rows compared exactly).
    train_rows = {tuple(r) for r in X_train.tolist()}
    assert sum(tuple(r) in train_rows for r in X_val.tolist()) <= 5  # the data set has a few duplicates


def test_stored_split_is_scikit_learns():
    """The stored order equals what scikit-learn's stratified split returns, element for element."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=gb.N_VAL, random_state=20150101, stratify=y
    )
    for split, X_ref, y_ref in (("train", X_train, y_train), ("val", X_val, y_val)):
        X_gb, y_gb = gb.load_digits(split)
        assert np.array_equal(X_gb.numpy(), X_ref) and np.array_equal(y_gb.numpy(), y_ref)


def test_loading_the_digits_does_not_import_scikit_learn():
    import subprocess
    import sys

    code = ("import sys, gradbook as gb; gb.load_digits('all'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_split_does_not_follow_the_seed():
    gb.set_seed(1)
    a, _ = gb.load_digits("val")
    gb.set_seed(2)
    b, _ = gb.load_digits("val")
    assert torch.equal(a, b)


def test_bad_split_and_dtype_are_explained():
    with pytest.raises(ValueError, match="split 'test' is not one of: train, val, all"):
        gb.load_digits("test")
    with pytest.raises(ValueError, match="torch.float32 or torch.float64"):
        gb.load_digits("train", dtype=torch.int64)


@given(n=st.integers(1, 50), dim=st.integers(1, 20), seed=st.integers(0, 2**31))
def test_gaussian_inputs_shape_and_reproducibility(n, dim, seed):
    a = gb.gaussian_inputs(n, dim, seed=seed)
    assert a.shape == (n, dim)
    assert torch.equal(a, gb.gaussian_inputs(n, dim, seed=seed))


def test_gaussian_inputs_std():
    X = gb.gaussian_inputs(20000, 5, std=3.0, seed=0)
    assert abs(X.std().item() - 3.0) < 0.05


@pytest.mark.parametrize("kwargs", [dict(n=0, dim=3), dict(n=3, dim=0), dict(n=3, dim=3, std=-1.0),
                                    dict(n=3, dim=3, dtype=torch.int32)])
def test_gaussian_inputs_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        gb.gaussian_inputs(**kwargs)


def test_one_hot():
    y = torch.tensor([0, 2, 9])
    assert gb.one_hot(y).sum(1).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="0..9"):
        gb.one_hot(torch.tensor([10]))
