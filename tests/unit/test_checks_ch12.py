"""Chapter 12's exercise check: the right update-to-weight ratios pass, the usual mistakes fail with a hint."""

import gradbook as gb
import gradbook_references  # instructor/: on sys.path through tests/conftest.py
import pytest
import torch


def right(before, after):
    return torch.stack([(a - b).norm() / b.norm() for b, a in zip(before, after, strict=True)])


@pytest.mark.parametrize("seed", [None, 2, 99])
@pytest.mark.parametrize("fn, hint", [
    (lambda b, a: torch.stack([(y.norm() - x.norm()).abs() / x.norm() for x, y in zip(b, a, strict=True)]),
     "difference of the norms"),
    (lambda b, a: torch.stack([(y - x).norm() / y.norm() for x, y in zip(b, a, strict=True)]), "before the step"),
    (lambda b, a: torch.stack([(y - x).pow(2).sum() / x.pow(2).sum() for x, y in zip(b, a, strict=True)]),
     "square root"),
    (lambda b, a: torch.stack([(y - x).abs().max() / x.abs().max() for x, y in zip(b, a, strict=True)]),
     "differs"),
    (lambda b, a: torch.zeros(len(b) + 1), "shape"),
    (lambda b, a: undefined_name, "NameError"),  # noqa: F821
])
def test_wrong_answers_fail_with_a_hint(fn, hint, seed, capsys):
    assert not gb.checks.check_update_ratios(fn, seed=seed)
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and hint in out


def test_right_answer_passes(capsys):
    assert gb.checks.check_update_ratios(right)
    assert gb.checks.check_update_ratios(lambda b, a: right(b, a).tolist())  # a list of floats is fine too
    assert capsys.readouterr().out.count("Correct:") == 2
    for seed in (0, 1, 12345):  # the graders' fresh inputs
        assert gb.checks.check_update_ratios(right, seed=seed)
    assert capsys.readouterr().out.count("Correct:") == 3


def test_seeded_cases_are_fresh_repeatable_and_include_a_rotation():
    seen = []

    def record(before, after):
        seen.append(([b.clone() for b in before], [a.clone() for a in after]))
        return right(before, after)

    for seed in (3, 3, 4):
        assert gb.checks.check_update_ratios(record, seed=seed)
    first, again, other = seen[:3], seen[3:6], seen[6:]
    assert all(all(torch.equal(x, y) for x, y in zip(p[0] + p[1], q[0] + q[1], strict=True))
               for p, q in zip(first, again, strict=True))
    assert any(len(p[0]) != len(q[0]) or any(x.shape != y.shape or not torch.equal(x, y)
                                             for x, y in zip(p[0], q[0], strict=False))
               for p, q in zip(first, other, strict=True))
    (W,), (V,) = first[2]
    assert torch.allclose(W.norm(), V.norm()) and not torch.allclose(W, V)  # a rotation keeps the norm


def test_messages_do_not_print_the_reference(capsys):
    seen = []

    def half(before, after):
        seen.append(right(before, after))
        return 0.5 * seen[-1]

    for seed in (None, 5):
        assert not gb.checks.check_update_ratios(half, seed=seed)
        out = capsys.readouterr().out
        values = seen[-1].tolist()
        assert all(f"{v:.6g}" not in out and f"{v:.4g}" not in out and f"{v:.1e}" not in out for v in values), out
        assert "where your value is" in out


def test_not_a_function_is_a_type_error():
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_update_ratios([1.0])
    with pytest.raises(TypeError, match="seed must be a whole number"):
        gb.checks.check_update_ratios(right, seed=2.0)


def test_the_documented_ratios_are_the_references_and_the_reference_is_refused(capsys):
    import torch
    from gradbook.checks import ch12

    for k, (_, before, after) in enumerate(ch12._cases()):
        assert torch.equal(torch.tensor(ch12.EXPECTED[k], dtype=torch.float64),
                           gradbook_references.update_ratios(before, after))
    assert not hasattr(ch12, "_ratios")
    reference = gradbook_references.update_ratios
    assert not gb.checks.check_update_ratios(lambda b, a: reference(b, a))
    assert "called gradbook_references.update_ratios, which" in capsys.readouterr().out
