"""Run independent training jobs side by side, one per core, with the same results as one by one.

Small recurrent networks train slowly on a CPU not because of arithmetic but because of
the fixed cost of each of the thousands of tiny operations an unrolled sequence needs.
One core is then as fast as two for a single job (the book's thread policy,
:func:`gradbook.set_seed`, runs torch on one thread), and the second core is idle.
:func:`run_parallel` gives it work: it
calls independent jobs in threads. PyTorch releases Python's global interpreter lock
inside its operations and its backward pass, so two threads train two networks at
nearly twice the speed of one.

The results are exactly those of running the jobs in order, provided each job draws its
random numbers from its own ``torch.Generator`` or seed (as :func:`gradbook.adding_problem`,
:func:`gradbook.recurrent_net` and :func:`gradbook.mlp` can), never from the global
generator, whose order of use would depend on how the threads interleave. Building a
network touches no global state either. Introduced in chapter 9.

Threads share one interpreter, so the Python between two PyTorch operations still runs
one thread at a time: jobs made of many small operations (a batch-normalised stack,
an unrolled sequence) get about 1.5x from two cores, not 2x. ``backend="process"``
runs each job in a forked copy of the calling process instead, which has its own
interpreter: the result comes back by pickling, and only the result does, so a job
must *return* what it makes (a network trained in place in a child is not trained
in the parent). What a job prints is printed by the caller, job by job, in order.
A few jobs (at most twice as many as cores) get a process each, so that jobs of unequal
length share the cores out evenly instead of leaving one idle at the end.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import pickle
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ._validate import integer, one_of

__all__ = ["BACKENDS", "run_parallel"]

BACKENDS = ("thread", "process")

#: The jobs of the running :func:`run_parallel` call with ``backend="process"``: the
#: forked workers inherit them, so a job need not be picklable (a lambda is fine).
_JOBS: list[Callable[[], Any]] = []


def _run_in_child(i: int) -> tuple[Any, str, str]:
    """Call job ``i`` in a worker; return its result (checked to pickle) and its output."""
    import torch

    # One thread per worker, as the book's thread policy has it (gb.set_seed): a thread
    # pool the parent started is not carried into a forked child, and using one hangs.
    torch.set_num_threads(1)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        value = _JOBS[i]()
    try:
        pickle.dumps(value)
    except Exception as exc:  # noqa: BLE001 - any failure to pickle is the same problem
        raise TypeError(f"job {i} returned a value that cannot be sent back from its process "
                        f"({type(exc).__name__}: {exc}); return tensors, numbers and modules "
                        "(detach tensors that need gradients), or use backend='thread'") from None
    return value, out.getvalue(), err.getvalue()


def _default_workers(jobs: int, backend: str, cores: int) -> int:
    """How many workers :func:`run_parallel` uses unless told.

    One per core, except for a few processes: three jobs of unequal length on two cores
    leave one core idle while the last job runs, whereas three processes share the two
    cores out evenly until the shorter ones end (chapter 10's three trainings: 2.4 s ->
    2.1 s). A job's result does not depend on how many run at once. With more than
    twice as many jobs as cores, one per core taken in order (longest first, as the
    chapters list them) already balances, and more processes would only cost memory.
    Threads share one interpreter, so they stay one per core.
    """
    if backend == "process" and jobs <= 2 * cores:
        return max(jobs, 1)
    return cores


def run_parallel(jobs: Sequence[Callable[[], Any]], workers: int | None = None,
                 backend: str = "thread") -> list[Any]:
    """Call every zero-argument function in ``jobs``, ``workers`` at a time; return their results in order.

    ``workers`` defaults to the number of cores (at most the number of jobs), and with
    ``backend="process"`` to one process per job when there are at most twice as many
    jobs as cores (:func:`_default_workers`); 1 runs the jobs one after the other in the
    calling thread. ``backend`` is ``"thread"`` (jobs share the caller's objects) or
    ``"process"`` (each job runs in a forked process and only its return value comes
    back; not on platforms without ``fork``). An exception in a job is raised here.
    """
    jobs = list(jobs)
    for i, job in enumerate(jobs):
        if not callable(job):
            raise TypeError(f"jobs[{i}] must be a function of no arguments, got {type(job).__name__}; "
                            "wrap a call in a lambda: lambda: fit(net, T)")
    one_of("backend", backend, BACKENDS)
    if workers is None:
        workers = _default_workers(len(jobs), backend, os.cpu_count() or 1)
    workers = min(integer("workers", workers, minimum=1), max(len(jobs), 1))
    if backend == "process" and "fork" not in multiprocessing.get_all_start_methods():
        raise ValueError("backend='process' needs the fork start method, which this platform lacks; "
                         "use backend='thread'")
    # A worker process cannot start processes of its own: nested calls run in order there.
    if workers == 1 or (backend == "process" and multiprocessing.current_process().daemon):
        return [job() for job in jobs]
    if backend == "thread":
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda job: job(), jobs))
    global _JOBS
    _JOBS = jobs
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            outcomes = pool.map(_run_in_child, range(len(jobs)), chunksize=1)
    finally:
        _JOBS = []
    results = []
    for value, out, err in outcomes:
        sys.stdout.write(out)
        sys.stderr.write(err)
        results.append(value)
    return results
