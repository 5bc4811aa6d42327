import json

import gradbook as gb
import nbformat
import pytest
from nbclient import NotebookClient


def test_claims_markdown_table():
    claims = [gb.Claim("nielsen2015", "1 hidden layer accuracy", "96.48%", 95.123, "{:.1f}%", test=gb.above(90),
                       setting="digits"),
              gb.Claim("nielsen2015", "layer ratio", "~100x", 3.0, test=gb.between(30, 300), expected=False)]
    table = gb.claims_markdown(claims)
    lines = table.splitlines()
    assert len(lines) == 4
    assert "{cite}`nielsen2015`" in lines[2] and "95.1% (digits)" in lines[2] and "| yes |" in lines[2]
    assert "| > 90 |" in lines[2] and "| between 30 and 300 |" in lines[3]
    assert "**no**" in lines[3]
    piped = gb.claims_markdown([gb.Claim("a", "gain |w| >= 1", "x|y", 1.0, test=gb.true(True, "a|b"))]).splitlines()[2]
    assert piped.count(" | ") == 5 and "gain \\|w\\| >= 1" in piped and "a\\|b" in piped


@pytest.mark.parametrize(
    ("criterion", "inside", "outside", "wording"),
    [
        (gb.above(100), 100.5, 100.0, "> 100"),
        (gb.at_least(1), 1.0, 0.99, "≥ 1"),
        (gb.below(1e-10), 0.0, 1e-10, "< 10⁻¹⁰"),  # thresholds are written for people too
        (gb.below(5e-5), 0.0, 1e-4, "< 5\u00a0×\u00a010⁻⁵"),
        (gb.at_most(0.5), 0.5, 0.51, "≤ 0.5"),
        (gb.between(0.2, 5), 4.99, 5.0, "between 0.2 and 5"),
        (gb.near(1, tol=0.05), 1.049, 1.05, "within 0.05 of 1"),
        (gb.near(64, rel=0.05), 67.1, 67.3, "within 5% of 64"),
        (gb.equal(0), 0.0, 1.0, "= 0"),
        (gb.near(32768, rel=0.5), 20000, 60000, "within 50% of 32,768"),
        (gb.within_factor(95, 3), 31.7, 31.6, "within a factor 3 of 95"),
        (gb.between(31.6667, 285), 100, 300, "between 31.6667 and 285"),
    ],
)
def test_criteria_decide_and_say_how(criterion, inside, outside, wording):
    assert criterion(inside) and not criterion(outside)
    assert criterion.wording == wording


def test_a_claim_says_what_kind_of_yes_it_is():
    row = gb.claims_markdown([gb.Claim("a", "b", "1", 1.0, test=gb.equal(1), kind="construction")]).splitlines()[2]
    assert row.endswith("| yes (construction) |")
    assert gb.Claim("a", "b", "1", 1.0, test=gb.equal(1), kind="other data").record()["kind"] == "other data"


def test_a_reported_claim_is_marked_and_never_checked():
    """expected=None: an outcome that varies with the seed is shown, not asserted."""
    for measured in (0.5, 2.0):
        claim = gb.Claim("a", "b", "1", measured, test=gb.above(1), expected=None)
        row = gb.claims_markdown([claim]).splitlines()[2]
        assert row.endswith("(not asserted) |") and claim.record()["asserted"] is False
    assert gb.Claim("a", "b", "1", 1.0, test=gb.equal(1)).record()["asserted"] is True


def test_a_claim_holds_by_its_test_and_says_which():
    claim = gb.Claim("he2015delving", "level", "level", 1.3, test=gb.between(0.2, 5))
    assert claim.holds and claim.record()["test"] == "between 0.2 and 5" and claim.record()["holds"] is True
    assert not gb.Claim("he2015delving", "level", "level", 7.0, test=gb.between(0.2, 5)).holds
    assert gb.true(False, "every run fails")(123.0) is False


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(source="nielsen 2015"), "bibliography key"),
        (dict(claim=""), "claim must be a non-empty string"),
        (dict(measured=float("nan")), "measured must be finite"),
        (dict(fmt="{:.2q}"), "fmt must be a format string"),
        (dict(test=True), "test must be a gb.Criterion"),
        (dict(expected="yes"), "expected must be True or False"),
        (dict(kind="obvious"), "kind 'obvious' is not one of: reproduction, construction, other data"),
    ],
)
def test_claim_rejects_bad_fields(kwargs, message):
    base = dict(source="nielsen2015", claim="c", source_value="1", measured=1.0, test=gb.above(0))
    with pytest.raises((ValueError, TypeError), match=message):
        gb.Claim(**{**base, **kwargs})


def test_criteria_reject_bad_thresholds():
    with pytest.raises(ValueError, match="low must be below high"):
        gb.between(5, 0.2)
    with pytest.raises(ValueError, match="tol .* or rel"):
        gb.near(1)
    with pytest.raises(ValueError, match="wording must say what was tested"):
        gb.true(True, "")
    with pytest.raises(TypeError, match="outcome must be True or False"):
        gb.true(1, "x")


def _run(source: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import gradbook as gb\n" + source)]
    NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=True).execute()
    return nb


def test_show_claims_records_claims_that_collect_finds(tmp_path):
    nb = _run("gb.show_claims('ch03', [gb.Claim('nielsen2015', 'ratio', '0.25', 0.2, test=gb.near(0.25, tol=0.1))])")
    out = nb.cells[0].outputs[0]
    assert "text/markdown" in out["data"]
    path = tmp_path / "ch03.ipynb"
    path.write_text(json.dumps(nb))
    (claim,) = gb.collect([path])
    assert claim["chapter"] == "ch03" and claim["measured"] == 0.2 and claim["holds"] is True
    assert claim["test"] == "within 0.1 of 0.25"


def test_show_claims_fails_when_a_claim_comes_out_otherwise_than_the_text_says():
    nb = _run("gb.show_claims('ch03', [gb.Claim('nielsen2015', 'ratio', '0.25', 0.2, test=gb.above(1)),\n"
              "    gb.Claim('nielsen2015', 'gap', '~100x', 55.0, test=gb.above(10), expected=False)])")
    errors = [o for o in nb.cells[0].outputs if o["output_type"] == "error"]
    assert errors and errors[0]["ename"] == "AssertionError"
    reported = _run("gb.show_claims('ch03', [gb.Claim('nielsen2015', 'gap', '~100x', 5.0, test=gb.above(10), "
                    "expected=None)])")
    assert not [o for o in reported.cells[0].outputs if o["output_type"] == "error"]
    message = errors[0]["evalue"]
    assert "2 claim(s) of ch03" in message and "'ratio'" in message and "'gap'" in message


def test_show_claims_and_collect_reject_bad_input(tmp_path):
    with pytest.raises(ValueError, match="chapter must look like"):
        gb.show_claims("three", [gb.Claim("a", "b", "c", 1.0, test=gb.above(0))])
    with pytest.raises(ValueError, match="non-empty list"):
        gb.claims_markdown([])
    with pytest.raises(ValueError, match="not an executed notebook"):
        gb.collect([tmp_path / "missing.ipynb"])


def _records():
    claims = [gb.Claim("nielsen2015", "accuracy", "96.48%", 95.1, "{:.1f}%", test=gb.above(90), setting="digits"),
              gb.Claim("he2016deep", "deeper is worse", "higher", 0.3, test=gb.above(0.5), kind="other data",
                       expected=False),
              gb.Claim("ioffe2015", "matches PyTorch", "equal", 1e-16, test=gb.below(1e-12), kind="construction"),
              gb.Claim("pascanu2013", "a | b", "(direction)", 2.0, test=gb.above(1), expected=None)]
    return [{"chapter": ch, **c.record()} for ch, c in zip(("ch02", "ch11", "ch10", "ch08"), claims, strict=True)]


def test_ledger_counts_what_kind_of_yes():
    counts = gb.ledger_counts(_records())
    assert counts == {"claims": 4, "chapters": 4, "hold": 3, "fail": 1, "qualitative": 3, "reproductions": 2,
                      "reproductions_hold": 2, "construction": 1, "other_data": 1, "not_asserted": 1}
    with pytest.raises(ValueError, match="gb.collect"):
        gb.ledger_counts([{"claim": "x"}])
    with pytest.raises(ValueError, match="list of dicts"):
        gb.ledger_counts("ch02")


def test_ledger_table_has_one_row_per_claim_linked_to_its_chapter():
    docs = {"ch02": "ch02_sigmoid_bound", "ch08": "ch08_x", "ch10": "ch10_y", "ch11": "ch11_z"}
    lines = gb.ledger_markdown(_records(), docs).splitlines()
    assert len(lines) == 2 + 4
    assert lines[2].startswith("| {doc}`2 <ch02_sigmoid_bound>` | {cite}`nielsen2015` | accuracy |")
    assert "95.1% (digits)" in lines[2] and lines[2].endswith("| yes |")
    assert lines[3].endswith("| **no** (other data) |") and lines[4].endswith("| yes (construction) |")
    assert "a \\| b" in lines[5] and lines[5].endswith("| yes (not asserted) |")
    assert all(line.count(" | ") == 6 for line in lines[2:])
    with pytest.raises(ValueError, match="no document given for chapter"):
        gb.ledger_markdown(_records(), {"ch02": "ch02_sigmoid_bound"})


def test_collect_reads_notebooks_given_as_dicts():
    nb = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "display_data", "data": {}, "metadata": {"gradbook": {"chapter": "ch02", "claims": [
            _records()[0] | {"chapter": "ignored"}]}}}]}]}
    nb["cells"][0]["outputs"][0]["metadata"]["gradbook"]["claims"][0].pop("chapter")
    found = gb.collect([nb])
    assert len(found) == 1 and found[0]["chapter"] == "ch02" and found[0]["claim"] == "accuracy"
    with pytest.raises(ValueError, match="needs its 'cells'"):
        gb.collect([{"metadata": {}}])
