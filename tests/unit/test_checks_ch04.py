"""Chapter 4's exercise check: right answers pass, typical mistakes are named, the monitor is refused."""

import sys

import gradbook as gb
import gradbook_references  # instructor/: on sys.path through tests/conftest.py
import pytest
import torch


def first_nonfinite(losses, grad_norms):
    for step in range(losses.shape[0]):
        bad = [j + 1 for j in range(grad_norms.shape[1]) if not torch.isfinite(grad_norms[step, j])]
        if bad or not torch.isfinite(losses[step]):
            return step, bad
    return None


def vectorised(losses, grad_norms):
    bad = ~torch.isfinite(losses) | ~torch.isfinite(grad_norms).all(dim=1)
    if not bad.any():
        return None
    step = int(bad.nonzero()[0])
    return step, torch.nonzero(~torch.isfinite(grad_norms[step])).flatten() + 1  # a tensor of layers is fine


def by_monitor(losses, grad_norms):
    """The package's own alarm, fed the recorded run one step at a time."""
    net = torch.nn.Sequential(*[torch.nn.Linear(1, 1, dtype=torch.float64) for _ in range(grad_norms.shape[1])])
    monitor = gb.GradientMonitor(net)
    for step in range(losses.shape[0]):
        for layer, norm in zip(net, grad_norms[step], strict=True):
            layer.weight.grad = norm.reshape(1, 1).clone()
        monitor.record(float(losses[step]))
    event = monitor.first_nonfinite
    return None if event is None else (event.step, list(event.grad_layers))


def test_check_accepts_right_answers(capsys):
    assert gb.checks.check_first_nonfinite(first_nonfinite)
    assert gb.checks.check_first_nonfinite(vectorised)
    for seed in (0, 1, 12345):  # the graders' fresh inputs
        assert gb.checks.check_first_nonfinite(first_nonfinite, seed=seed)
        assert gb.checks.check_first_nonfinite(vectorised, seed=seed)
    assert capsys.readouterr().out.count("Correct:") == 8


def test_seeded_cases_cover_every_kind():
    from gradbook.checks import ch04

    answers = [[gradbook_references.first_nonfinite(losses, norms) for _, losses, norms in ch04._random_cases(seed)]
               for seed in range(20)]
    assert all(a[0] is None for a in answers)  # huge but finite
    assert all(a[1] is not None and a[1][1] == [] for a in answers)  # the loss alone
    assert all(a[2] is not None and len(a[2][1]) == 1 for a in answers)  # a gradient before the loss
    assert all(a[3] is not None and len(a[3][1]) >= 2 for a in answers)  # several layers at once
    assert {a[5] is None for a in answers} == {True, False}  # a single step, finite or not
    assert len({str(a) for a in answers}) == 20
    first = ch04._random_cases(7)
    assert all(torch.equal(a[2].nan_to_num(), b[2].nan_to_num()) for a, b in zip(first, ch04._random_cases(7),
                                                                                strict=True))
    with pytest.raises(TypeError, match="seed must be a whole number"):
        gb.checks.check_first_nonfinite(first_nonfinite, seed=True)


@pytest.mark.parametrize("seed", [None, 3])
def test_the_monitor_and_the_reference_are_refused(seed, capsys):
    from gradbook.checks import ch04

    _, losses, norms = ch04._cases()[2]
    assert by_monitor(losses, norms) == first_nonfinite(losses, norms)  # it would pass
    assert not gb.checks.check_first_nonfinite(by_monitor, seed=seed)
    assert "called gradbook.GradientMonitor.record, which" in capsys.readouterr().out
    reference = gradbook_references.first_nonfinite  # taken before the check runs: caught too
    assert not gb.checks.check_first_nonfinite(lambda losses, norms: reference(losses, norms), seed=seed)
    assert "called gradbook_references.first_nonfinite, which" in capsys.readouterr().out
    assert by_monitor(losses, norms) == (2, [2])  # restored afterwards


def test_messages_do_not_give_the_answer(capsys):
    from gradbook.checks import ch04

    for _, losses, norms in ch04._cases():
        answer = gradbook_references.first_nonfinite(losses, norms)
        if answer is None:
            continue
        step, layers = answer
        for wrong in [None, (step + 2, layers), (step, [v + 3 for v in layers] or [1])]:
            def answer(l, n, wrong=wrong, norms=norms):  # wrong on this run only, where the check stops
                same = n.shape == norms.shape and torch.equal(n.nan_to_num(), norms.nan_to_num())
                return wrong if same else first_nonfinite(l, n)

            assert not gb.checks.check_first_nonfinite(answer)
            out = capsys.readouterr().out
            assert f"step {step}," not in out.replace(f"at step {step}, the right step", "")
            assert str(layers) not in out and str(tuple(layers)) not in out, out


def zero_based_layers(losses, grad_norms):
    answer = first_nonfinite(losses, grad_norms)
    return None if answer is None else (answer[0], [v - 1 for v in answer[1]])


def one_based_steps(losses, grad_norms):
    answer = first_nonfinite(losses, grad_norms)
    return None if answer is None else (answer[0] + 1, answer[1])


def threshold(losses, grad_norms):  # a large value is not an infinite one
    for step in range(losses.shape[0]):
        bad = [j + 1 for j in range(grad_norms.shape[1]) if not abs(float(grad_norms[step, j])) < 1e38]
        if bad or not abs(float(losses[step])) < 1e38:
            return step, bad
    return None


def inf_only(losses, grad_norms):  # misses nan
    for step in range(losses.shape[0]):
        bad = [j + 1 for j in range(grad_norms.shape[1]) if torch.isinf(grad_norms[step, j])]
        if bad or torch.isinf(losses[step]):
            return step, bad
    return None


def loss_only(losses, grad_norms):
    bad = ~torch.isfinite(losses)
    return None if not bad.any() else (int(bad.nonzero()[0]), [])


def extra_layer(losses, grad_norms):
    answer = first_nonfinite(losses, grad_norms)
    return None if answer is None else (answer[0], sorted(set(answer[1]) | {1}))


def missing_layer(losses, grad_norms):
    answer = first_nonfinite(losses, grad_norms)
    return None if answer is None else (answer[0], answer[1][1:])


@pytest.mark.parametrize(
    "wrong, message",
    [
        (zero_based_layers, "number layers from 1"),
        (one_based_steps, "too late: an earlier step is already non-finite"),
        (threshold, "a huge value such as 1e300 is still finite"),
        (inf_only, "you returned None, but the run does go non-finite"),
        (loss_only, "test both"),
        (extra_layer, "if only the loss is non-finite, layers is an empty list"),
        (missing_layer, "you left out a layer whose gradient norm is not finite there"),
        (lambda losses, grad_norms: (100, []), "the run has steps 0 to"),
        (lambda losses, grad_norms: 3, "pair (step, layers)"),
        (lambda losses, grad_norms: (0, "one"), "layers a list of whole numbers"),
        (lambda losses, grad_norms: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_check_names_the_mistake(capsys, wrong, message):
    assert gb.checks.check_first_nonfinite(wrong) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and message in out and out.count("\n") == 1


def test_check_names_the_mistake_on_seeded_runs(capsys):
    for wrong, message in [(loss_only, "test both"), (one_based_steps, "too late"),
                           (inf_only, "nan is as non-finite as inf")]:
        assert any(not gb.checks.check_first_nonfinite(wrong, seed=s) for s in range(5))
        assert message in capsys.readouterr().out


def test_check_rejects_non_functions():
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_first_nonfinite(None)


def test_the_documented_answers_are_the_references_and_the_package_has_no_reference():
    from gradbook.checks import ch04

    assert ch04.EXPECTED == [gradbook_references.first_nonfinite(l, n) for _, l, n in ch04._cases()]
    assert not hasattr(ch04, "_reference")


def test_random_inputs_without_the_instructors_references_say_so(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_references(name, *args, **kwargs):
        if name == "gradbook_references":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_references)
    monkeypatch.delitem(sys.modules, "gradbook_references", raising=False)
    with pytest.raises(ValueError, match="make assignments"):
        gb.checks.check_first_nonfinite(first_nonfinite, seed=1)
