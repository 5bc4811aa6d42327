"""Checks for chapter 4's coding exercises (exploding gradients)."""

from __future__ import annotations

import math

import torch

from .._validate import generator
from ._common import _call, _fail, _instructor_reference, _pass, _require_callable

__all__ = ["check_first_nonfinite"]

#: What the reader's function may not call: the monitor's own alarm, and the check's reference.
FORBIDDEN = ("gradbook.GradientMonitor.record", "gradbook_references.first_nonfinite")


#: The answers for the six documented runs of :func:`_cases`, in order, as data: the
#: reference itself (the answer to the exercise) is not in the installed package; it is
#: instructor/gradbook_references.py, which the random runs (``seed=``) need, and a unit
#: test checks these against it.
EXPECTED = [None, (4, []), (2, [2]), (0, [1, 3]), (6, [5]), None]


def _history(steps, layers, scale=1.0):
    """A finite run: the loss falls from 2.3 to 0.5, the gradient norms grow."""
    losses = torch.linspace(2.3, 0.5, steps, dtype=torch.float64) * scale
    norms = torch.arange(1, steps * layers + 1, dtype=torch.float64).reshape(steps, layers) * scale
    return losses, norms


def _cases():
    """(description, losses, grad_norms) triples, each a small history of a training run; the
    descriptions say what kind of run it is, not where it goes bad (that is the answer)."""
    inf, nan = math.inf, math.nan
    cases = []
    losses, norms = _history(6, 3, scale=1e300)  # huge but finite everywhere
    cases.append(("a run whose values are huge (about 1e300)", losses, norms))
    losses, norms = _history(7, 4)
    losses[4:] = nan
    cases.append(("a run whose loss goes nan while every gradient stays finite", losses, norms))
    losses, norms = _history(8, 5)
    norms[2, 1] = inf
    norms[3:, :] = nan
    losses[3:] = nan
    cases.append(("a run whose gradient goes non-finite a step before the loss does", losses, norms))
    losses, norms = _history(5, 3)
    norms[0, 0] = -inf
    norms[0, 2] = nan
    cases.append(("a run with -inf and nan in two layers at once", losses, norms))
    losses, norms = _history(9, 6)
    norms[6:, 4] = nan
    losses[6] = inf
    cases.append(("a run whose loss and one gradient go non-finite at the same step", losses, norms))
    losses, norms = _history(1, 2)
    cases.append(("a run of a single step", losses, norms))
    return cases


def _random_cases(seed: int):
    """Six fresh runs drawn from ``seed``, one of each kind the documented cases have: huge but
    finite; the loss alone goes bad; gradients go bad some steps before the loss; several layers
    at once; loss and gradients together; a single step (finite or not). Sizes, steps, layers and
    which of inf, -inf and nan appear are random; the descriptions do not give the answer away."""
    gen = generator(seed)
    bad_values = (math.inf, -math.inf, math.nan)

    def rint(lo, hi):  # a whole number from lo to hi
        return int(torch.randint(lo, hi + 1, (), generator=gen))

    def bad():
        return bad_values[rint(0, 2)]

    cases = []
    steps, layers = rint(2, 12), rint(1, 6)
    cases.append(("random run 1 (huge values)", *_history(steps, layers, scale=10.0 ** rint(100, 307))))
    for kind in range(1, 5):
        steps, layers = rint(3, 12), rint(2 if kind == 3 else 1, 6)
        losses, norms = _history(steps, layers, scale=10.0 ** rint(-3, 3))
        first = rint(0, steps - 1)
        if kind == 1:  # the loss alone
            losses[first:] = bad()
        elif kind == 2:  # a gradient first, the loss (and every layer) some steps later
            first = min(first, steps - 2)
            norms[first, rint(0, layers - 1)] = bad()
            later = rint(first + 1, steps - 1)
            losses[later:], norms[later:] = bad(), bad()
        elif kind == 3:  # several layers at once, the loss still finite
            chosen = torch.randperm(layers, generator=gen)[:rint(2, layers)]
            for j in chosen.tolist():
                norms[first, j] = bad()
        else:  # the loss and one gradient at the same step
            losses[first] = bad()
            norms[first:, rint(0, layers - 1)] = bad()
        cases.append((f"random run {kind + 1} ({steps} steps, {layers} layers)", losses, norms))
    losses, norms = _history(1, rint(1, 6))
    if rint(0, 1):
        norms[0, rint(0, norms.shape[1] - 1)] = bad()
    cases.append((f"random run 6 (a single step, {norms.shape[1]} layers)", losses, norms))
    return cases


def _as_answer(got):
    """Turn the reader's answer into None or (int step, sorted list of int layers); or an error."""
    if got is None:
        return None, None
    if isinstance(got, torch.Tensor | int | float):
        return None, "return a pair (step, layers), not a single number"
    try:
        step, layers = got
    except (TypeError, ValueError):
        return None, f"return None or a pair (step, layers), got {type(got).__name__}"
    try:
        step = int(step)
        layers = sorted(int(v) for v in (layers.tolist() if isinstance(layers, torch.Tensor) else layers))
    except (TypeError, ValueError):
        return None, "step must be a whole number and layers a list of whole numbers"
    return (step, layers), None


def _explain(got, expected, losses: torch.Tensor, norms: torch.Tensor) -> str:
    """Where the answer goes wrong and the usual mistake, never the reference's step or layers."""
    steps, n_layers = norms.shape
    if got is None:
        return "you returned None, but the run does go non-finite (look for inf, -inf and nan alike)"
    step, layers = got
    if not 0 <= step < steps:
        return f"you found step {step}, but the run has steps 0 to {steps - 1} (steps count from 0)"
    if expected is None or step < expected[0]:
        hint = ""
        if float(losses[step].abs()) > 1e38 or float(norms[step].abs().max()) > 1e38:
            hint = " (a huge value such as 1e300 is still finite: test with torch.isfinite, not a threshold)"
        return f"you found step {step}, but its loss and all its gradient norms are finite{hint}"
    first = expected[0]
    nan_there = bool(losses[first].isnan() or norms[first].isnan().any())
    if step > first:
        hint = " (steps count from 0)"
        if expected[1] and math.isfinite(float(losses[first])):
            hint = " (a gradient can go non-finite while the loss is still finite: test both)"
        elif nan_there:
            hint = " (nan is as non-finite as inf: test with torch.isfinite; and steps count from 0)"
        return f"you found step {step}, which is too late: an earlier step is already non-finite{hint}"
    # the right step, the wrong layers
    hint = " (number layers from 1, input side first)" if 0 in layers or [v + 1 for v in layers] == expected[1] else ""
    outside = [v for v in layers if not 1 <= v <= n_layers]
    finite = [v for v in layers if 1 <= v <= n_layers and math.isfinite(float(norms[step, v - 1]))]
    if outside:
        return (f"at step {step}, the right step, you named layer {outside[0]}, but the layers are "
                f"numbered 1 to {n_layers}{hint}")
    if finite:
        what = " (if only the loss is non-finite, layers is an empty list)" if not expected[1] else hint
        return f"at step {step}, the right step, you named layer {finite[0]}, whose gradient norm is finite there{what}"
    if not hint and any(bool(norms[step, v - 1].isnan()) for v in expected[1] if v not in layers):
        hint = " (nan is as non-finite as inf: test with torch.isfinite)"
    return f"at step {step}, the right step, you left out a layer whose gradient norm is not finite there{hint}"


def check_first_nonfinite(fn, *, seed: int | None = None) -> bool:
    """Chapter 4: ``fn(losses, grad_norms)`` must find where a training run first went non-finite.

    ``losses`` is a float64 tensor of shape ``(steps,)`` and ``grad_norms`` one of shape
    ``(steps, layers)``. The answer is ``None`` if every value is finite, and otherwise the
    pair ``(step, layers)``: the first step (counting from 0) at which the loss or any
    gradient norm is ``inf``, ``-inf`` or ``nan``, and the list of layers (numbered from 1)
    whose gradient norm is not finite at that step (empty if only the loss is). ``fn`` may
    not use the package's monitor (:data:`FORBIDDEN`). Without ``seed`` it runs on six
    documented runs; with ``seed`` (an int) on six fresh random runs of the same kinds
    drawn from that seed, which is what a grader runs.
    """
    _require_callable(fn, "fn(losses, grad_norms)")
    cases = _cases() if seed is None else _random_cases(seed)
    reference = None if seed is None else _instructor_reference("first_nonfinite")
    for k, (description, losses, norms) in enumerate(cases):
        expected = EXPECTED[k] if seed is None else reference(losses, norms)
        got, err = _call(fn, losses.clone(), norms.clone(), forbid=FORBIDDEN)
        if err is None:
            got, err = _as_answer(got)
        if err is None and got != expected:
            err = _explain(got, expected, losses, norms)
        if err:
            return _fail(f"{description}: {err}.")
    what = "six test runs" if seed is None else f"{len(cases)} random runs"
    return _pass(f"you find the first non-finite step and its layers in all {what}.")
