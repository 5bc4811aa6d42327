"""gb.humanize and gb.number: a printed number rewritten for people, anything else untouched."""

import gradbook as gb
import pytest

NB, MINUS = "\u00a0", "\u2212"


@pytest.mark.parametrize(("text", "expected"), [
    ("5.3e-13", f"5.3{NB}×{NB}10⁻¹³"),
    ("2.56e+14", f"2.56{NB}×{NB}10¹⁴"),
    ("1e+06", "10⁶"),
    ("1e-05", "10⁻⁵"),
    ("1.0e-05", f"1.0{NB}×{NB}10⁻⁵"),  # the digits the format spec asked for are kept
    ("-3e-07", f"{MINUS}3{NB}×{NB}10⁻⁷"),
    ("4e+00", "4"),
    ("12345", "12,345"),
    ("1000", "1,000"),
    ("999", "999"),
    ("123456.75", "123,456.75"),
    ("-0.25", f"{MINUS}0.25"),
    ("0.000123", "0.000123"),
    (" 7 ", "7"),
])
def test_a_printed_number_is_written_for_people(text, expected):
    assert gb.humanize(text) == expected


@pytest.mark.parametrize("text", ["12.5%", "nan", "inf", "ch09", "1997 (no forget gate)", "1,234",
                                  "", "3-4", "e-13", "5.3e", "not within the budget"])
def test_anything_but_one_number_is_left_alone(text):
    assert gb.humanize(text) == text


def test_number_formats_then_humanizes():
    assert gb.number(5.3e-13, ".2g") == f"5.3{NB}×{NB}10⁻¹³"
    assert gb.number(123456, "d") == "123,456"
    assert gb.number(0.5, ".1%") == "50.0%"
    assert gb.number(0.123456) == "0.123"
    import numpy as np
    import torch

    assert gb.number(torch.tensor(2.5e-9), ".2g") == gb.number(np.float64(2.5e-9), ".2g") == f"2.5{NB}×{NB}10⁻⁹"
    with pytest.raises(TypeError, match="real number"):
        gb.number(torch.ones(2))


def test_bad_input_is_explained():
    with pytest.raises(TypeError, match="formatted number"):
        gb.humanize(5.3)
    with pytest.raises(TypeError, match="real number"):
        gb.number("5.3")
    with pytest.raises(ValueError, match="finite"):
        gb.number(float("nan"))
    with pytest.raises(ValueError, match="format spec"):
        gb.number(1.5, "d")


def test_claims_tables_write_the_measured_number_for_people():
    from gradbook.ledger import format_measured

    assert format_measured("{:.2g} s", 5.3e-13) == f"5.3{NB}×{NB}10⁻¹³ s"
    assert format_measured("{:.1%}", 0.123) == "12.3%"
    assert format_measured("about {:.0f} steps", 12000) == "about 12,000 steps"
    claim = gb.Claim("A", "x", "1", 2.5e-9, "{:.2g}", test=gb.below(1))
    assert claim.measured_text() == f"2.5{NB}×{NB}10⁻⁹"
