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


def test_processes_give_exactly_the_results_of_a_loop_in_order(capsys):
    def job(kind, seed):
        print(f"job {kind} {seed}")
        return _fit(kind, seed)

    jobs = [lambda kind=kind, seed=seed: job(kind, seed) for kind in ("tanh", "gru") for seed in (0, 1)]
    serial = [_fit(kind, seed) for kind in ("tanh", "gru") for seed in (0, 1)]
    forked = gb.run_parallel(jobs, workers=2, backend="process")
    for a, b in zip(serial, forked, strict=True):
        assert torch.equal(a, b)
    # what the jobs print is printed here, in the order of the jobs
    assert capsys.readouterr().out.splitlines() == ["job tanh 0", "job tanh 1", "job gru 0", "job gru 1"]


def test_a_process_returns_its_network_but_does_not_train_the_callers():
    net = gb.recurrent_net("tanh", 2, 8, seed=0)
    before = [p.detach().clone() for p in net.parameters()]

    def train():
        gen = torch.Generator().manual_seed(0)
        gb.fit(net, lambda: gb.adding_problem(16, 12, generator=gen), 5, lr=0.1, optimizer="sgd",
               loss_fn=torch.nn.functional.mse_loss)
        return net

    trained, _ = gb.run_parallel([train, lambda: None], backend="process")
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), before, strict=True))
    assert not all(torch.equal(p, q) for p, q in zip(trained.parameters(), before, strict=True))


def test_process_errors_are_raised_and_explained():
    def broken():
        raise RuntimeError("job failed")

    with pytest.raises(RuntimeError, match="job failed"):
        gb.run_parallel([lambda: 1, broken], backend="process")
    with pytest.raises(TypeError, match="cannot be sent back from its process"):
        gb.run_parallel([lambda: 1, lambda: (lambda: 2)], backend="process")
    with pytest.raises(ValueError, match="backend 'fork' is not one of: thread, process"):
        gb.run_parallel([lambda: 1], backend="fork")


def test_nested_process_calls_run_in_order_inside_a_worker():
    inner = [lambda i=i: i * i for i in range(3)]
    outer = gb.run_parallel([lambda: gb.run_parallel(inner, backend="process"), lambda: 7], backend="process")
    assert outer == [[0, 1, 4], 7]


@pytest.mark.parametrize(("jobs", "backend", "cores", "workers"), [
    (3, "process", 2, 3),  # a few unequal processes share the cores out evenly
    (4, "process", 2, 4),
    (5, "process", 2, 2),  # many: one per core, taken in order
    (17, "process", 2, 2),
    (3, "thread", 2, 2),  # threads share one interpreter: one per core
    (1, "process", 8, 1),
])
def test_the_default_number_of_workers(jobs, backend, cores, workers):
    from gradbook.parallel import _default_workers

    assert _default_workers(jobs, backend, cores) == workers
