"""gb.run_parallel: the same results as a loop, in order, with clear errors."""

import gradbook as gb
import pytest
import torch


def _fit(kind, seed):
    net = gb.recurrent_net(kind, 2, 8, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    return gb.fit(net, lambda: gb.adding_problem(16, 12, generator=gen), 15, lr=0.01, optimizer="adam",
                  loss_fn=torch.nn.functional.mse_loss, clip_norm=1.0).loss


def test_threads_give_exactly_the_results_of_a_loop_in_order():
    jobs = [lambda kind=kind, seed=seed: _fit(kind, seed) for kind in ("tanh", "lstm", "gru") for seed in (0, 1)]
    serial = [job() for job in jobs]
    threaded = gb.run_parallel(jobs, workers=2)
    assert len(threaded) == len(serial)
    for a, b in zip(serial, threaded, strict=True):
        assert torch.equal(a, b)
    assert gb.run_parallel(jobs[:2], workers=1)[1].equal(serial[1])


def test_seeded_builds_in_threads_are_repeatable():
    nets = gb.run_parallel([lambda s=s: gb.recurrent_net("lstm", 2, 16, seed=s % 3) for s in range(12)],
                           workers=4)
    for i, net in enumerate(nets):
        reference = gb.recurrent_net("lstm", 2, 16, seed=i % 3)
        for p, q in zip(net.parameters(), reference.parameters(), strict=True):
            assert torch.equal(p, q)


def test_an_error_in_a_job_is_raised_and_no_jobs_is_fine():
    def broken():
        raise RuntimeError("job failed")

    with pytest.raises(RuntimeError, match="job failed"):
        gb.run_parallel([lambda: 1, broken])
    assert gb.run_parallel([]) == []


@pytest.mark.parametrize(("jobs", "workers", "error"), [([1, 2], None, TypeError), ([lambda: 1], 0, ValueError),
                                                        ([lambda: 1], 1.5, TypeError)])
def test_bad_input_gets_a_clear_error(jobs, workers, error):
    with pytest.raises(error):
        gb.run_parallel(jobs, workers=workers)
