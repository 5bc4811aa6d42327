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
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ._validate import integer

__all__ = ["run_parallel"]


def run_parallel(jobs: Sequence[Callable[[], Any]], workers: int | None = None) -> list[Any]:
    """Call every zero-argument function in ``jobs``, ``workers`` at a time; return their results in order.

    ``workers`` defaults to the number of cores (at most the number of jobs); 1 runs the
    jobs one after the other in the calling thread. An exception in a job is raised here.
    """
    jobs = list(jobs)
    for i, job in enumerate(jobs):
        if not callable(job):
            raise TypeError(f"jobs[{i}] must be a function of no arguments, got {type(job).__name__}; "
                            "wrap a call in a lambda: lambda: fit(net, T)")
    if workers is None:
        workers = os.cpu_count() or 1
    workers = min(integer("workers", workers, minimum=1), max(len(jobs), 1))
    if workers == 1:
        return [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda job: job(), jobs))
