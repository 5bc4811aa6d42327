import math

import gradbook as gb
import pytest
import torch
from gradbook import randmat


def test_growth_per_factor_is_n_var():
    assert randmat.growth_per_factor(64, 1.0) == 64
    assert math.isclose(randmat.growth_per_factor(64, 1 / 8), 1.0)
    assert math.isclose(randmat.growth_per_factor(100, math.sqrt(2 / 100)), 2.0)


def test_log_growth_matches_a_chi_squared_simulation():
    gen = torch.Generator().manual_seed(0)
    for n, std in [(4, 1.0), (64, 0.5), (256, 1 / 16)]:
        # ||W x||^2 / ||x||^2 for a unit x is a sum of n squared N(0, std^2) entries
        samples = (std * torch.randn(20_000, n, generator=gen, dtype=torch.float64)).pow(2).sum(1)
        assert math.isclose(samples.log().mean().item(), randmat.log_growth_per_factor(n, std), abs_tol=0.03)
        assert randmat.log_growth_per_factor(n, std) < math.log(randmat.growth_per_factor(n, std))
    # For large n the gap to log(n std^2) is about 1/n.
    gap = math.log(randmat.growth_per_factor(1000, 1.0)) - randmat.log_growth_per_factor(1000, 1.0)
    assert math.isclose(gap, 1 / 1000, rel_tol=0.01)


def test_product_norms_are_the_norms_of_the_product():
    norms = randmat.product_norms(8, 5, 0.7, trials=3, seed=4)
    assert norms.shape == (3, 6) and norms.dtype == torch.float64
    assert torch.equal(norms[:, 0], torch.ones(3))
    # The same draws, made here in the same order, multiplied out as explicit matrices.
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(3, 8, 1, generator=gen, dtype=torch.float64)
    x = x / x.norm(dim=1, keepdim=True)
    product = torch.eye(8, dtype=torch.float64).expand(3, 8, 8)
    for depth in range(1, 6):
        product = torch.bmm(0.7 * torch.randn(3, 8, 8, generator=gen, dtype=torch.float64), product)
        assert torch.allclose(norms[:, depth], torch.bmm(product, x).norm(dim=(1, 2)), rtol=1e-12)


def test_product_norms_grow_by_n_var_per_factor():
    for std in (1.0, 1 / 8):
        norms = randmat.product_norms(64, 40, std, trials=32, seed=0)
        per_factor = (norms[:, 1:] / norms[:, :-1]).pow(2)
        assert math.isclose(per_factor.mean().item(), randmat.growth_per_factor(64, std), rel_tol=0.03)


def test_product_norms_float32_overflow_and_seeding():
    wide = randmat.product_norms(64, 60, 1.0, trials=4, seed=1, dtype=torch.float32)
    assert torch.isfinite(wide[:, :30]).all() and not torch.isfinite(wide[:, -1]).any()
    # Once an entry overflows to inf, the next product mixes +inf and -inf: nan.
    assert torch.isnan(wide[:, -1]).all() and torch.isinf(wide).any()
    assert torch.isfinite(randmat.product_norms(64, 60, 1.0, trials=4, seed=1)).all()
    state = torch.random.get_rng_state()
    a = randmat.product_norms(5, 3, trials=2, seed=7)
    assert torch.equal(torch.random.get_rng_state(), state)  # a seed leaves the global generator alone
    assert torch.equal(a, randmat.product_norms(5, 3, trials=2, seed=7))


def test_spectral_norms_near_two_sqrt_n_and_linear_in_std():
    s = randmat.spectral_norms(200, trials=4, seed=0)
    assert s.shape == (4,)
    assert ((s / (2 * math.sqrt(200))) > 0.9).all() and ((s / (2 * math.sqrt(200))) < 1.05).all()
    assert torch.allclose(randmat.spectral_norms(30, 3.0, trials=2, seed=5),
                          3.0 * randmat.spectral_norms(30, 1.0, trials=2, seed=5), rtol=1e-12)


def test_randmat_through_gb_attribute():
    assert gb.growth_per_factor is randmat.growth_per_factor


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: randmat.growth_per_factor(0, 1.0), ValueError, "n must be at least 1"),
        (lambda: randmat.growth_per_factor(4, -1.0), ValueError, "std must be positive"),
        (lambda: randmat.log_growth_per_factor(4.5, 1.0), TypeError, "n must be a whole number"),
        (lambda: randmat.product_norms(4, -1), ValueError, "depth must be at least 0"),
        (lambda: randmat.product_norms(4, 2, trials=0), ValueError, "trials must be at least 1"),
        (lambda: randmat.product_norms(4, 2, dtype=torch.int64), ValueError, "torch.float32 or torch.float64"),
        (lambda: randmat.product_norms(4, 2, seed=-3), ValueError, "seed must be at least 0"),
        (lambda: randmat.spectral_norms(4, float("nan")), ValueError, "std must be finite"),
    ],
)
def test_argument_errors_are_explained(call, error, message):
    with pytest.raises(error, match=message):
        call()
