"""Chapter 7's exercise checks accept right answers and explain the usual wrong ones."""

import gradbook as gb
import pytest
import torch


def right_step_jacobian(W, h):
    return (1 - h**2).unsqueeze(1) * W  # diag(1 - h_t^2) W: row i scaled by tanh'(net_t[i])


def right_product_norms(J):
    T, d, _ = J.shape
    product, norms = torch.eye(d, dtype=J.dtype), [1.0]
    for t in range(T - 1, -1, -1):  # one pass from the end: one more factor on the right each step
        product = product @ J[t]
        norms.append(torch.linalg.matrix_norm(product, ord=2).item())
    return torch.tensor(norms[::-1], dtype=J.dtype)


def test_checks_accept_right_answers(capsys):
    assert gb.checks.check_tanh_step_jacobian(right_step_jacobian)
    assert gb.checks.check_product_norms(right_product_norms)
    assert gb.checks.check_product_norms(lambda J: right_product_norms(J).tolist())  # a list of floats is fine
    for seed in (0, 1, 12345):  # the graders' fresh inputs
        assert gb.checks.check_tanh_step_jacobian(right_step_jacobian, seed=seed)
        assert gb.checks.check_product_norms(right_product_norms, seed=seed)
    out = capsys.readouterr().out
    assert out.count("Correct:") == 9 and "Not yet" not in out


def test_seeded_cases_are_fresh_and_repeatable():
    seen = []

    def record(J):
        seen.append(J.clone())
        return right_product_norms(J)

    for seed in (3, 3, 4):
        gb.checks.check_product_norms(record, seed=seed)
    first, again, other = seen[:5], seen[5:10], seen[10:]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert any(a.shape != b.shape or not torch.equal(a, b) for a, b in zip(first, other, strict=True))


def with_net_jacobian(W, h):
    return gb.net_jacobian(W.T, torch.atanh(h)).T  # W^T diag(1 - h^2), transposed


def with_autograd(W, h):
    net = torch.atanh(h) - W @ torch.zeros_like(h)  # the pre-activation, with h_{t-1} = 0 and the rest folded in
    return torch.autograd.functional.jacobian(lambda v: torch.tanh(W @ v + net), torch.zeros_like(h))


def with_backward(W, h):
    v = torch.zeros_like(h, requires_grad=True)
    rows = []
    for i in range(len(h)):
        v.grad = None
        torch.tanh(W @ v + torch.atanh(h))[i].backward()
        rows.append(v.grad.clone())
    return torch.stack(rows)


def with_layer_jacobians(W, h):
    layer = torch.nn.Linear(len(h), len(h), dtype=h.dtype)
    with torch.no_grad():
        layer.weight.copy_(W)
        layer.bias.copy_(torch.atanh(h))
    return gb.layer_jacobians(torch.nn.Sequential(layer, torch.nn.Tanh()), torch.zeros_like(h))[0]


@pytest.mark.parametrize("helper", [with_net_jacobian, with_autograd, with_backward, with_layer_jacobians,
                                    lambda W, h: torch.func.jacrev(lambda v: torch.tanh(W @ v + torch.atanh(h)))(
                                        torch.zeros_like(h))])
def test_the_step_helpers_the_exercise_rules_out_are_refused(helper, capsys, monkeypatch):
    with monkeypatch.context() as allowed:  # each of them is a right answer when nothing is forbidden
        allowed.setattr(gb.checks.ch07, "FORBIDDEN_STEP", ())
        assert gb.checks.check_tanh_step_jacobian(helper)
    assert not gb.checks.check_tanh_step_jacobian(helper)
    assert "which this exercise asks you to do without" in capsys.readouterr().out
    assert gb.net_jacobian(torch.eye(2), torch.zeros(2)).shape == (2, 2)  # restored afterwards


def test_the_package_product_norms_are_refused(capsys, monkeypatch):
    alias = gb.jacobian_product_norms  # a reference taken before the check runs is caught too
    with monkeypatch.context() as allowed:
        allowed.setattr(gb.checks.ch07, "FORBIDDEN_PRODUCTS", ())
        assert gb.checks.check_product_norms(alias)
    assert not gb.checks.check_product_norms(alias)
    assert not gb.checks.check_product_norms(lambda J: alias(J), seed=7)
    out = capsys.readouterr().out
    assert out.count("your function called gradbook.jacobian_product_norms") == 2
    assert torch.equal(gb.jacobian_product_norms(torch.eye(2).unsqueeze(0)), torch.ones(2))  # restored afterwards


def test_messages_do_not_print_the_reference(capsys):
    seen = {}

    def step_half(W, h):
        seen["step"] = right_step_jacobian(W, h)
        return 0.5 * W

    def products_doubled(J):
        seen["norms"] = right_product_norms(J)
        return 2 * right_product_norms(J)

    for seed in (None, 5):
        assert not gb.checks.check_tanh_step_jacobian(step_half, seed=seed)
        assert not gb.checks.check_product_norms(products_doubled, seed=seed)
        out = capsys.readouterr().out
        values = [v for key in ("step", "norms") for v in seen[key].flatten().tolist() if abs(v) not in (0.0, 1.0)]
        assert values and all(f"{v:.6g}" not in out and f"{v:.4g}" not in out for v in values), out
        assert "where your value is" in out


def _naive_product_norms(J, ord=2, order="right"):
    T, d, _ = J.shape
    norms = []
    for k in range(T + 1):
        P = torch.eye(d, dtype=J.dtype)
        for t in range(k, T):
            P = J[t] @ P if order == "right" else P @ J[t]
        norms.append(torch.linalg.matrix_norm(P, ord=ord))
    return torch.stack(norms)


@pytest.mark.parametrize("seed", [None, 2, 99])
@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda W, h: (1 - h**2).unsqueeze(0) * W, "scaled the columns"),
        (lambda W, h: (1 - torch.tanh(h) ** 2).unsqueeze(1) * W, "do not apply tanh again"),
        (lambda W, h: (1 - h**2).unsqueeze(1) * W.T, "not W[j, i]"),
        (lambda W, h: W.clone(), "derivative of tanh"),
        (lambda W, h: torch.zeros(len(h)), "shape"),
        (lambda W, h: 1 / 0, "ZeroDivisionError"),
        (lambda W, h: "J", "should be a tensor"),
    ],
)
def test_step_jacobian_check_explains_wrong_answers(capsys, wrong, message, seed):
    assert gb.checks.check_tanh_step_jacobian(wrong, seed=seed) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and message in out and out.count("\n") == 1


@pytest.mark.parametrize("seed", [None, 2, 99])
@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda J: right_product_norms(J)[:-1], "empty product"),  # forgot k = T
        (lambda J: _naive_product_norms(J, order="wrong"), "later step on the left"),
        (lambda J: _naive_product_norms(J, ord="fro"), "not the Frobenius norm"),
        (lambda J: right_product_norms(J).flip(0), "entry 0 has the most factors"),
        (lambda J: torch.ones(J.shape[0] + 1), "differs"),
        (lambda J: right_product_norms(J) * float("nan"), "NaN"),
        (lambda J: J[0, 0, 0] / 0 if J.shape[0] > 100 else [][0], "IndexError"),
    ],
)
def test_product_norm_check_explains_wrong_answers(capsys, wrong, message, seed):
    assert gb.checks.check_product_norms(wrong, seed=seed) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and message in out and out.count("\n") == 1


def test_checks_reject_non_functions_and_bad_seeds():
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_tanh_step_jacobian(torch.eye(3))
    with pytest.raises(TypeError, match="pass your function itself"):
        gb.checks.check_product_norms([1.0, 0.5])
    with pytest.raises(TypeError, match="seed must be a whole number"):
        gb.checks.check_product_norms(right_product_norms, seed="secret")
    with pytest.raises(ValueError, match="seed must be at least 0"):
        gb.checks.check_tanh_step_jacobian(right_step_jacobian, seed=-1)
