import json

import gradbook as gb
import nbformat
import pytest
from nbclient import NotebookClient


def test_claims_markdown_table():
    claims = [gb.Claim("nielsen2015", "1 hidden layer accuracy", "96.48%", 95.123, "{:.1f}%",
                       holds=True, setting="digits"),
              gb.Claim("nielsen2015", "layer ratio", "~100x", 3.0, holds=False)]
    table = gb.claims_markdown(claims)
    lines = table.splitlines()
    assert len(lines) == 4
    assert "{cite}`nielsen2015`" in lines[2] and "95.1% (digits)" in lines[2] and "| yes |" in lines[2]
    assert "**no**" in lines[3]
    piped = gb.claims_markdown([gb.Claim("a", "gain |w| >= 1", "x|y", 1.0)]).splitlines()[2]
    assert piped.count(" | ") == 4 and "gain \\|w\\| >= 1" in piped


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(source="nielsen 2015"), "bibliography key"),
        (dict(claim=""), "claim must be a non-empty string"),
        (dict(measured=float("nan")), "measured must be finite"),
        (dict(fmt="{:.2q}"), "fmt must be a format string"),
        (dict(holds="yes"), "holds must be True or False"),
    ],
)
def test_claim_rejects_bad_fields(kwargs, message):
    base = dict(source="nielsen2015", claim="c", source_value="1", measured=1.0)
    with pytest.raises((ValueError, TypeError), match=message):
        gb.Claim(**{**base, **kwargs})


def test_show_claims_records_claims_that_collect_finds(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import gradbook as gb\n"
        "gb.show_claims('ch03', [gb.Claim('nielsen2015', 'ratio', '0.25', 0.2, holds=True)])"
    )]
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    out = nb.cells[0].outputs[0]
    assert "text/markdown" in out["data"]
    path = tmp_path / "ch03.ipynb"
    path.write_text(json.dumps(nb))
    (claim,) = gb.collect([path])
    assert claim["chapter"] == "ch03" and claim["measured"] == 0.2 and claim["holds"] is True


def test_show_claims_and_collect_reject_bad_input(tmp_path):
    with pytest.raises(ValueError, match="chapter must look like"):
        gb.show_claims("three", [gb.Claim("a", "b", "c", 1.0)])
    with pytest.raises(ValueError, match="non-empty list"):
        gb.claims_markdown([])
    with pytest.raises(ValueError, match="not an executed notebook"):
        gb.collect([tmp_path / "missing.ipynb"])
