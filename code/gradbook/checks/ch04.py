"""Checks for chapter 4's coding exercises (exploding gradients)."""

from __future__ import annotations

import math

import torch

from ._common import _call, _fail, _pass, _require_callable

__all__ = ["check_first_nonfinite"]


def _reference(losses: torch.Tensor, grad_norms: torch.Tensor):
    """The first step with a non-finite loss or gradient norm, and the bad layers (from 1)."""
    for step in range(losses.shape[0]):
        layers = [j + 1 for j in range(grad_norms.shape[1]) if not math.isfinite(float(grad_norms[step, j]))]
        if layers or not math.isfinite(float(losses[step])):
            return step, layers
    return None


def _cases():
    """(description, losses, grad_norms) triples, each a small history of a training run."""
    inf, nan = math.inf, math.nan
    cases = []

    def history(steps, layers, scale=1.0):
        losses = torch.linspace(2.3, 0.5, steps, dtype=torch.float64) * scale
        norms = torch.arange(1, steps * layers + 1, dtype=torch.float64).reshape(steps, layers) * scale
        return losses, norms

    losses, norms = history(6, 3, scale=1e300)  # huge but finite everywhere
    cases.append(("a run whose values are huge (1e300) but all finite", losses, norms))
    losses, norms = history(7, 4)
    losses[4:] = nan
    cases.append(("a run whose loss becomes nan at step 4 while every gradient stays finite", losses, norms))
    losses, norms = history(8, 5)
    norms[2, 1] = inf
    norms[3:, :] = nan
    losses[3:] = nan
    cases.append(("a run whose layer-2 gradient norm is inf at step 2, a step before the loss", losses, norms))
    losses, norms = history(5, 3)
    norms[0, 0] = -inf
    norms[0, 2] = nan
    cases.append(("a run with -inf in layer 1 and nan in layer 3 at the very first step", losses, norms))
    losses, norms = history(9, 6)
    norms[6:, 4] = nan
    losses[6] = inf
    cases.append(("a run whose loss is inf and layer-5 gradient nan at step 6", losses, norms))
    losses, norms = history(1, 2)
    cases.append(("a run of a single finite step", losses, norms))
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


def check_first_nonfinite(fn) -> bool:
    """Chapter 4: ``fn(losses, grad_norms)`` must find where a training run first went non-finite.

    ``losses`` is a float64 tensor of shape ``(steps,)`` and ``grad_norms`` one of shape
    ``(steps, layers)``. The answer is ``None`` if every value is finite, and otherwise the
    pair ``(step, layers)``: the first step (counting from 0) at which the loss or any
    gradient norm is ``inf``, ``-inf`` or ``nan``, and the list of layers (numbered from 1)
    whose gradient norm is not finite at that step (empty if only the loss is).
    """
    _require_callable(fn, "fn(losses, grad_norms)")
    for description, losses, norms in _cases():
        expected = _reference(losses, norms)
        got, err = _call(fn, losses.clone(), norms.clone())
        if err is None:
            got, err = _as_answer(got)
        if err is None and got != expected:
            if expected is None:
                err = f"you returned {got}, but every value is finite (return None)"
            elif got is None:
                err = f"you returned None, but step {expected[0]} is not finite"
            elif got[0] != expected[0]:
                hint = " (steps count from 0)" if got[0] == expected[0] + 1 else ""
                if got[0] > expected[0] and expected[1] and math.isfinite(float(losses[expected[0]])):
                    hint = " (a gradient can go non-finite while the loss is still finite: test both)"
                err = f"you found step {got[0]}, the first non-finite step is {expected[0]}{hint}"
            else:
                hint = " (number layers from 1, input side first)" if [v + 1 for v in got[1]] == expected[1] else ""
                if not expected[1]:
                    hint = " (only the loss is non-finite there: layers should be empty)"
                err = f"at step {expected[0]} you named layers {got[1]}, the non-finite ones are {expected[1]}{hint}"
        if err:
            return _fail(f"{description}: {err}.")
    return _pass("you find the first non-finite step and its layers in all six test runs.")
