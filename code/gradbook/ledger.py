"""The claims ledger: what a source says, what we measure, the test we hold it to, and whether it holds.

Every chapter that quotes a figure from a paper or a book shows it in a "source says /
we measure" table made by :func:`show_claims`. Each :class:`Claim` carries a
:class:`Criterion` (:func:`above`, :func:`below`, :func:`between`, :func:`near`, ...): one
value that both decides whether the claim holds and words that decision in the table,
so the threshold is written once and a reader sees what was tested. ``show_claims``
then asserts that every claim came out as the chapter says it does (``expected``), so a
change that flips a claim fails the build instead of silently changing the table.

The table is displayed as Markdown, and the same claims travel, machine-readable, in the
output's metadata (under the key ``"gradbook"``), so the claims-ledger appendix can
gather every chapter's claims from the executed notebooks with :func:`collect` instead
of copying numbers by hand. Introduced for chapter 2; used by every chapter that sets
our numbers beside a source's.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path

from ._validate import flag, one_of, real
from .formatting import humanize, humanize_exponents

METADATA_KEY = "gradbook"
#: What a claim's "yes" can mean; see :class:`Claim`.
CLAIM_KINDS = ("reproduction", "construction", "other data")
_CHAPTER = re.compile(r"ch\d\d")
_KEY = re.compile(r"[A-Za-z][\w-]*")


def _num(x: float) -> str:
    """A threshold as a reader would write it: 100, 0.05, 10⁻¹⁰, 5 × 10⁻⁵, 32,768."""
    x = float(x)
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        return humanize(f"{x:.0e}")
    if x == int(x) and abs(x) >= 1000:
        return f"{int(x):,}"
    return humanize(f"{x:.6g}")


@dataclass(frozen=True)
class Criterion:
    """A criterion a measurement is held to: it decides (``test(value)``) and it says how (``wording``).

    Build one with :func:`above`, :func:`at_least`, :func:`below`, :func:`at_most`,
    :func:`between`, :func:`near`, :func:`within_factor`, :func:`equal` or :func:`true`; each names its
    threshold once.
    """

    wording: str
    check: Callable[[float], bool] = field(repr=False, compare=False)

    def __call__(self, value: float) -> bool:
        return bool(self.check(real("the measured value", value)))


def above(x: float) -> Criterion:
    """Holds when the measurement is greater than ``x``."""
    x = real("x", x)
    return Criterion(f"> {_num(x)}", lambda v: v > x)


def at_least(x: float) -> Criterion:
    """Holds when the measurement is ``x`` or more."""
    x = real("x", x)
    return Criterion(f"≥ {_num(x)}", lambda v: v >= x)


def below(x: float) -> Criterion:
    """Holds when the measurement is less than ``x``."""
    x = real("x", x)
    return Criterion(f"< {_num(x)}", lambda v: v < x)


def at_most(x: float) -> Criterion:
    """Holds when the measurement is ``x`` or less."""
    x = real("x", x)
    return Criterion(f"≤ {_num(x)}", lambda v: v <= x)


def between(low: float, high: float) -> Criterion:
    """Holds when ``low < measurement < high``."""
    low, high = real("low", low), real("high", high)
    if not low < high:
        raise ValueError(f"low must be below high, got {low} and {high}")
    return Criterion(f"between {_num(low)} and {_num(high)}", lambda v: low < v < high)


def near(target: float, *, tol: float | None = None, rel: float | None = None) -> Criterion:
    """Holds when the measurement is within ``tol`` of ``target`` (or within ``rel`` times it)."""
    target = real("target", target)
    if (tol is None) == (rel is None):
        raise ValueError("give tol (an absolute tolerance) or rel (a relative one), not both or neither")
    if tol is not None:
        tol = real("tol", tol, nonnegative=True)
        return Criterion(f"within {_num(tol)} of {_num(target)}", lambda v: abs(v - target) < tol)
    rel = real("rel", rel, positive=True)
    return Criterion(f"within {rel:.0%} of {_num(target)}", lambda v: abs(v - target) < rel * abs(target))


def within_factor(target: float, factor: float) -> Criterion:
    """Holds when the measurement lies between ``target / factor`` and ``target * factor``
    (both positive): the test for an order of magnitude that a different data set may shift."""
    target = real("target", target, positive=True)
    factor = real("factor", factor, minimum=1.0)
    if factor == 1.0:
        raise ValueError("factor must be above 1 (use gb.equal for an exact value)")
    return Criterion(f"within a factor {_num(factor)} of {_num(target)}",
                     lambda v: target / factor < v < target * factor)


def equal(x: float) -> Criterion:
    """Holds when the measurement is exactly ``x`` (a count, or a value true by construction)."""
    x = real("x", x)
    return Criterion(f"= {_num(x)}", lambda v: v == x)


def true(outcome: bool, wording: str) -> Criterion:
    """A test decided elsewhere, for a claim that no single number captures: ``outcome``,
    computed by the chapter, with ``wording`` saying what it is (shown in the table)."""
    flag("outcome", outcome)
    if not isinstance(wording, str) or not wording.strip():
        raise ValueError("wording must say what was tested, e.g. 'every clipped run below the baseline'")
    return Criterion(wording, lambda _v: outcome)


def format_measured(fmt: str, value: float) -> str:
    """``fmt.format(value)`` with the number written for people (:func:`gradbook.humanize`):
    ``format_measured("{:.2g} s", 5.3e-13)`` -> ``"5.3 × 10⁻¹³ s"``."""
    import string

    out = []
    for literal, field_name, spec, conversion in string.Formatter().parse(fmt):
        out.append(literal)
        if field_name is not None:
            shown = {"r": repr, "s": str, "a": ascii}[conversion](value) if conversion else value
            text = format(shown, spec or "")
            out.append(humanize(text))
    return "".join(out)


@dataclass(frozen=True)
class Claim:
    """One row of the ledger.

    source: the bibliography key of the source (``"nielsen2015"``).
    claim: what the source says, in a few words.
    source_value: the source's figure, as the source gives it (``"96.48%"``, ``"~100x"``).
    measured: our number, computed by the chapter.
    fmt: how to print ``measured`` (a format spec with optional text: ``"{:.2f}%"``).
    test: (keyword) the :class:`Criterion` that decides whether the source's claim holds in
        our measurement.
    setting: what differs in our set-up (``"digits, 5 seeds"``), optional.
    expected: whether the chapter's text says the claim holds (True, the default) or not;
        :func:`show_claims` fails if the measurement disagrees. None: the outcome varies
        with the seed, so the chapter reports it (its prose is written from the outcome)
        without asserting it; the table marks the row "not asserted".
    kind: what a "yes" means (:data:`CLAIM_KINDS`): ``"reproduction"`` (the default: an
        experiment that could have come out otherwise), ``"construction"`` (true by
        mathematics or by how the code is built, a numerical check rather than a
        reproduction) or ``"other data"`` (the source's figure is from another data set,
        so only the direction compares). The ledger counts only reproductions as such.

    ``holds`` is computed from ``test`` and ``measured``, never given.
    """

    source: str
    claim: str
    source_value: str
    measured: float
    fmt: str = "{:.3g}"
    _: KW_ONLY
    test: Criterion
    setting: str = ""
    expected: bool | None = True
    kind: str = "reproduction"

    def __post_init__(self):
        if not isinstance(self.source, str) or not _KEY.fullmatch(self.source):
            raise ValueError(f"source must be a bibliography key such as 'nielsen2015', got {self.source!r}")
        for name in ("claim", "source_value"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ValueError(f"{name} must be a non-empty string")
        object.__setattr__(self, "measured", real("measured", self.measured))
        if not isinstance(self.test, Criterion):
            raise TypeError("test must be a gb.Criterion such as gb.above(100) or gb.near(1, rel=0.05), "
                            f"got {self.test!r}")
        if self.expected is not None:
            flag("expected", self.expected)
        one_of("kind", self.kind, CLAIM_KINDS)
        try:
            self.fmt.format(1.0)
        except (ValueError, IndexError, KeyError, AttributeError):
            raise ValueError(
                f"fmt must be a format string with one field such as {{:.2f}}, got {self.fmt!r}"
            ) from None

    @property
    def holds(self) -> bool:
        """Whether the measurement passes the claim's test."""
        return self.test(self.measured)

    def measured_text(self) -> str:
        return format_measured(self.fmt, self.measured)

    def record(self) -> dict:
        """The claim as plain data (what :func:`collect` reads back), the test as its wording."""
        return {"source": self.source, "claim": self.claim, "source_value": self.source_value,
                "measured": self.measured, "fmt": self.fmt, "test": self.test.wording, "holds": self.holds,
                "setting": self.setting, "kind": self.kind, "asserted": self.expected is not None}


def _row_cells(r: dict) -> str:
    """The cells a claim's record (:meth:`Claim.record`) fills in a table: source, claim,
    source's figure, ours, our test, and whether and how it holds."""
    def cell(text) -> str:  # a "|" would end the table cell
        return str(text).replace("|", "\\|")

    ours = format_measured(r["fmt"], r["measured"]) + (f" ({r['setting']})" if r["setting"] else "")
    verdict = "yes" if r["holds"] else "**no**"
    if r["kind"] != "reproduction":
        verdict += f" ({r['kind']})"
    if not r["asserted"]:
        verdict += " (not asserted)"
    return (f"{{cite}}`{r['source']}` | {cell(r['claim'])} | {cell(r['source_value'])} | {cell(ours)} | "
            f"{cell(humanize_exponents(r['test']))} | {verdict}")


def claims_markdown(claims: list[Claim]) -> str:
    """The Markdown (MyST) table of ``claims``: source, claim, source's figure, ours, our test, holds."""
    if not claims or not all(isinstance(c, Claim) for c in claims):
        raise ValueError("claims must be a non-empty list of gb.Claim")
    rows = ["| source | claim | source says | we measure | holds if | holds |",
            "| --- | --- | ---: | ---: | --- | :---: |"]
    rows += [f"| {_row_cells(c.record())} |" for c in claims]
    return "\n".join(rows)


def show_claims(chapter: str, claims: list[Claim]):
    """Display the chapter's "source says / we measure" table, record its claims, and check them.

    ``chapter`` is the chapter's short name (``"ch03"``). The table is displayed as the
    cell's output (tag the cell ``hide-input``, so a reader can open the tests). Raises
    ``AssertionError`` naming every claim whose outcome differs from its ``expected``:
    the chapter's text says it holds and it does not, or the other way round.
    """
    if not isinstance(chapter, str) or not _CHAPTER.fullmatch(chapter):
        raise ValueError(f"chapter must look like 'ch03', got {chapter!r}")
    from IPython.display import Markdown, display

    table = claims_markdown(claims)
    record = {"chapter": chapter, "claims": [c.record() for c in claims]}
    display(Markdown(table), metadata={METADATA_KEY: record})
    wrong = [f"{c.claim!r}: measured {c.measured_text()}, test {c.test.wording!r}, "
             f"{'holds' if c.holds else 'does not hold'} but the text says it "
             f"{'does' if c.expected else 'does not'}"
             for c in claims if c.expected is not None and c.holds != c.expected]
    if wrong:
        raise AssertionError(f"{len(wrong)} claim(s) of {chapter} came out otherwise than the text says:\n"
                             + "\n".join(wrong))


def collect(notebooks) -> list[dict]:
    """All claims recorded by :func:`show_claims` in executed notebooks.

    Each notebook is a path to an ``.ipynb`` file or a notebook already read (a dict, such
    as an ``nbformat`` notebook from the execution cache). Returns one dict per claim,
    with the chapter added, in the order of the notebooks.
    """
    found = []
    for item in notebooks:
        if isinstance(item, dict):
            if "cells" not in item:
                raise ValueError("a notebook given as a dict needs its 'cells'")
            nb = item
        else:
            path = Path(item)
            if path.suffix != ".ipynb" or not path.exists():
                raise ValueError(f"not an executed notebook: {path}")
            nb = json.loads(path.read_text())
        for cell in nb.get("cells", []):
            for out in cell.get("outputs", []):
                record = out.get("metadata", {}).get(METADATA_KEY)
                if record:
                    found += [{"chapter": record["chapter"], **c} for c in record["claims"]]
    for c in found:
        if not math.isfinite(c["measured"]):
            raise ValueError(f"claim {c['claim']!r} has a non-finite measurement")
    return found


_DIGIT = re.compile(r"\d")


def ledger_counts(records: list[dict]) -> dict:
    """Counts for the ledger's opening: claims, how many hold, and what kind of "yes" they are.

    ``records`` are :func:`collect`'s dicts. "qualitative" counts the claims whose source
    gives a direction or a property rather than a number (no digit in ``source_value``);
    "reproductions" the claims of kind ``"reproduction"`` (an experiment that could have
    come out otherwise), the only ones that count as reproducing a source.
    """
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError("records must be the list of dicts that gb.collect returns")
    missing = [k for r in records for k in ("chapter", "holds", "kind", "source_value", "asserted") if k not in r]
    if missing:
        raise ValueError(f"records lack the field(s) {sorted(set(missing))}: pass what gb.collect returns")
    repro = [r for r in records if r["kind"] == "reproduction"]
    return {
        "claims": len(records),
        "chapters": len({r["chapter"] for r in records}),
        "hold": sum(r["holds"] for r in records),
        "fail": sum(not r["holds"] for r in records),
        "qualitative": sum(not _DIGIT.search(r["source_value"]) for r in records),
        "reproductions": len(repro),
        "reproductions_hold": sum(r["holds"] for r in repro),
        "construction": sum(r["kind"] == "construction" for r in records),
        "other_data": sum(r["kind"] == "other data" for r in records),
        "not_asserted": sum(not r["asserted"] for r in records),
    }


def ledger_markdown(records: list[dict], docs: dict[str, str]) -> str:
    """The whole book's claims as one MyST table, chapter by chapter, from :func:`collect`'s records.

    ``docs`` maps a chapter's short name (``"ch03"``) to the document it links to
    (``"ch03_layers_learn_at_different_speeds"``); every chapter of ``records`` needs one.
    The columns are those of :func:`claims_markdown` with the chapter first; the last
    says whether the claim holds and what kind of "yes" it is.
    """
    ledger_counts(records)  # validates the records
    unknown = sorted({r["chapter"] for r in records} - set(docs))
    if unknown:
        raise ValueError(f"no document given for chapter(s) {unknown}: docs maps 'ch03' to its page name")

    rows = ["| chapter | source | claim | source says | we measure | holds if | holds |",
            "| --- | --- | --- | ---: | ---: | --- | :---: |"]
    for r in records:
        chapter = f"{{doc}}`{int(r['chapter'][2:])} <{docs[r['chapter']]}>`"
        rows.append(f"| {chapter} | {_row_cells(r)} |")
    return "\n".join(rows)


__all__ = [
    "CLAIM_KINDS", "Claim", "Criterion", "above", "at_least", "at_most", "below", "between", "claims_markdown",
    "collect", "equal", "format_measured", "ledger_counts", "ledger_markdown",
    "near", "show_claims", "true", "within_factor",
]
