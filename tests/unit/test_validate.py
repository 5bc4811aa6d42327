"""The package's one set of argument rules: seeds, generators and floating-point dtypes."""

import gradbook as gb
import pytest
import torch
from gradbook import _validate as V


def test_one_seed_range_everywhere():
    assert V.seed("seed", 0) == 0 and V.seed("seed", gb.MAX_SEED) == gb.MAX_SEED
    with pytest.raises(ValueError, match="seed must be at most 4294967295"):
        V.seed("seed", gb.MAX_SEED + 1)
    for call in (lambda: gb.set_seed(2**40), lambda: gb.mlp(1, 4, seed=2**40),
                 lambda: gb.recurrent_net("tanh", 1, 2, seed=2**40), lambda: gb.adding_problem(2, 4, seed=2**40),
                 lambda: gb.gaussian_inputs(2, 2, seed=2**40), lambda: gb.product_norms(2, 1, seed=2**40),
                 lambda: gb.multiseed_init([2, 2], [2**40]), lambda: gb.two_layer_relu_problem(seed=2**40)):
        with pytest.raises(ValueError, match="at most 4294967295"):
            call()


def test_a_seed_becomes_a_generator_in_one_place():
    assert V.generator(None) is None
    gen = torch.Generator().manual_seed(5)
    assert V.generator(gen) is gen
    reference = torch.rand(3, generator=torch.Generator().manual_seed(5))
    assert torch.equal(torch.rand(3, generator=V.generator(5)), reference)
    # a stream is another seed, above every plain one
    other = torch.rand(3, generator=V.generator(5, stream=2**32))
    assert torch.equal(other, torch.rand(3, generator=torch.Generator().manual_seed(5 + 2**32)))
    with pytest.raises(ValueError, match="multiple of 2\\*\\*32"):
        V.generator(5, stream=7)
    with pytest.raises(ValueError, match="a stream needs a seed"):
        V.generator(gen, stream=2**32)


def test_functions_that_draw_accept_a_generator_too():
    a = gb.gaussian_inputs(4, 3, seed=torch.Generator().manual_seed(2))
    assert torch.equal(a, gb.gaussian_inputs(4, 3, seed=2))
    net = gb.mlp(1, 4, seed=torch.Generator().manual_seed(2))
    assert torch.equal(net[0].weight, gb.mlp(1, 4, seed=2)[0].weight)


def test_one_floating_point_rule():
    assert V.float_dtype("dtype", torch.float64) is torch.float64
    for call in (lambda: gb.mlp(1, 4, dtype=torch.float16), lambda: gb.load_digits(dtype=torch.bfloat16),
                 lambda: gb.recurrent_net("tanh", 1, 2, dtype=torch.int64),
                 lambda: gb.adding_problem(2, 4, dtype=torch.float16),
                 lambda: gb.product_norms(2, 1, dtype=torch.int32),
                 lambda: gb.multiseed_init([2, 2], [0], dtype=torch.float16),
                 lambda: gb.cliff_loss_and_grad(1.0, 1.0, dtype=torch.float16)):
        with pytest.raises(ValueError, match="must be torch.float32 or torch.float64"):
            call()
    with pytest.raises(ValueError, match="z must be a float32 or float64 tensor"):
        gb.tanh_prime(torch.zeros(2, dtype=torch.float16))


def test_building_a_network_touches_no_global_state():
    torch.manual_seed(0)
    state = torch.random.get_rng_state()
    gb.mlp(3, 8, seed=1)
    gb.maxout_mlp(2, 4, seed=1)
    gb.recurrent_net("lstm", 2, 4, seed=1)
    assert torch.equal(state, torch.random.get_rng_state())


@pytest.mark.parametrize("kind", gb.KINDS)
def test_a_seeded_recurrent_net_is_what_pytorch_draws_after_manual_seed(kind):
    with torch.random.fork_rng():
        torch.manual_seed(11)
        reference = gb.RecurrentNet(kind, 2, 6, 3)
    net = gb.recurrent_net(kind, 2, 6, 3, seed=11)
    if kind == "irnn":  # identity W and zero biases on top of PyTorch's draw
        assert torch.equal(net.rnn.weight_ih_l0, reference.rnn.weight_ih_l0)
        assert torch.equal(net.readout.weight, reference.readout.weight)
        return
    for (name, p), q in zip(net.state_dict().items(), reference.state_dict().values(), strict=True):
        assert torch.equal(p, q), name


def test_the_thread_policy_is_set_by_set_seed():
    threads = torch.get_num_threads()
    try:
        gb.set_seed(0, threads=2)
        assert torch.get_num_threads() == 2
        gb.set_seed(0)
        assert torch.get_num_threads() == gb.THREADS
        with pytest.raises(ValueError, match="threads must be at least 1"):
            gb.set_seed(0, threads=0)
    finally:
        torch.set_num_threads(threads)
