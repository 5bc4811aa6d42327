"""Numbers for people: the one rule by which the book prints a computed number in prose.

A chapter glues a number and picks its precision with a format spec
(`` {glue:text}`ch04_norm:.2g` ``), which Python prints as ``5.3e-13`` or ``12345``.
:func:`humanize` rewrites such a printed number as a reader expects it: ``5.3 × 10⁻¹³``
(a real superscript, no-break spaces so it never breaks across lines), ``10⁶`` for a
power of ten, ``12,345`` with thousands separators, and a true minus sign (``−0.5``).
Text that is not one number is returned unchanged, so a glued word or phrase is never
touched.

It is applied everywhere a glued or recorded number is shown: to every ``{glue:text}``
of the HTML and PDF book (the book's Sphinx extension), to the launch notebooks'
Markdown (``scripts/render_markdown.py``) and to the claims tables of every chapter and
of the ledger (:class:`gradbook.Claim`). Introduced for chapter 1 onwards by the
reading-comfort work; :func:`number` formats and humanizes in one call.
"""

from __future__ import annotations

import re

from ._validate import real

__all__ = ["humanize", "number"]

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_MINUS = "\u2212"
_NBSP = "\u00a0"
# One number, as Python's format() prints it: sign, digits, decimals, exponent.
_NUMBER = re.compile(r"([-+]?)(\d+)(\.\d+)?(?:[eE]([-+]?)(\d+))?")


def humanize(text: str) -> str:
    """``text`` rewritten for a reader if it is one number as ``format()`` prints it.

    ``"5.3e-13"`` -> ``"5.3 × 10⁻¹³"``, ``"1e+06"`` -> ``"10⁶"``, ``"12345"`` ->
    ``"12,345"``, ``"-0.25"`` -> ``"−0.25"``; anything else (``"12.5%"``, ``"n/a"``,
    ``"nan"``) comes back as it was.
    """
    if not isinstance(text, str):
        raise TypeError(f"humanize takes the text of a formatted number, not {type(text).__name__}")
    match = _NUMBER.fullmatch(text.strip())
    if match is None:
        return text
    sign, whole, decimals, exp_sign, exponent = match.groups()
    minus = _MINUS if sign == "-" else ""
    if len(whole) > 3 and whole.isdigit():
        whole = f"{int(whole):,}"
    mantissa = whole + (decimals or "")
    if exponent is None or int(exponent) == 0:
        return minus + mantissa
    power = "10" + (f"-{int(exponent)}" if exp_sign == "-" else str(int(exponent))).translate(_SUPERSCRIPT)
    if mantissa == "1":
        return minus + power
    return f"{minus}{mantissa}{_NBSP}×{_NBSP}{power}"


_EXPONENT_TOKEN = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?[eE][-+]?\d+(?![\w.])")


def humanize_exponents(text: str) -> str:
    """Every number in e-notation inside ``text`` written for people, the rest untouched:
    ``"within 1e-12 of 1"`` -> ``"within 10⁻¹² of 1"``. For wordings that mix words and
    numbers (a claim's test); plain integers are left alone, since in running text they
    may be years or names."""
    return _EXPONENT_TOKEN.sub(lambda m: humanize(m.group()), text)


def number(value: float, spec: str = ".3g") -> str:
    """``value`` (a number, or a 0-d tensor or array) formatted by the format spec
    ``spec`` (``".3g"``, ``",d"``, ...) and :func:`humanized <humanize>`:
    ``number(5.3e-13)`` -> ``"5.3 × 10⁻¹³"``."""
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        value = value.item()  # a 0-d tensor or array: its number
    if not (isinstance(value, int) and not isinstance(value, bool)):
        value = real("value", value)  # a finite float (ints keep their type, for ",d")
    if not isinstance(spec, str):
        raise TypeError(f"spec must be a format spec such as '.3g', not {type(spec).__name__}")
    try:
        text = format(value, spec)
    except ValueError as exc:
        raise ValueError(f"spec {spec!r} is not a format spec for a number, such as '.3g' or '.2f': {exc}") from None
    return humanize(text)
