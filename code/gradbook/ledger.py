"""The claims ledger: what a source says, what we measure, and whether the direction holds.

Every chapter that quotes a figure from a paper or a book shows it in a "source says /
we measure" table made by :func:`show_claims`. The table is displayed as Markdown, and
the same claims travel, machine-readable, in the output's metadata (under the key
``"gradbook"``), so the claims-ledger appendix can gather every chapter's claims from
the executed notebooks with :func:`collect` instead of copying numbers by hand.
Introduced for chapter 3; used by every chapter that sets our numbers beside a source's.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from ._validate import real

METADATA_KEY = "gradbook"
_CHAPTER = re.compile(r"ch\d\d")
_KEY = re.compile(r"[A-Za-z][\w-]*")


@dataclass(frozen=True)
class Claim:
    """One row of the ledger.

    source: the bibliography key of the source (``"nielsen2015"``).
    claim: what the source says, in a few words.
    source_value: the source's figure, as the source gives it (``"96.48%"``, ``"~100x"``).
    measured: our number, computed by the chapter.
    fmt: how to print ``measured`` (a format spec with optional text: ``"{:.2f}%"``).
    holds: whether the direction of the source's claim holds in our measurement.
    setting: what differs in our set-up (``"digits, 5 seeds"``), optional.
    """

    source: str
    claim: str
    source_value: str
    measured: float
    fmt: str = "{:.3g}"
    holds: bool = True
    setting: str = ""

    def __post_init__(self):
        if not isinstance(self.source, str) or not _KEY.fullmatch(self.source):
            raise ValueError(f"source must be a bibliography key such as 'nielsen2015', got {self.source!r}")
        for name in ("claim", "source_value"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ValueError(f"{name} must be a non-empty string")
        object.__setattr__(self, "measured", real("measured", self.measured))
        if not isinstance(self.holds, bool):
            raise TypeError(f"holds must be True or False, got {self.holds!r}")
        try:
            self.fmt.format(1.0)
        except (ValueError, IndexError, KeyError, AttributeError):
            raise ValueError(
                f"fmt must be a format string with one field such as {{:.2f}}, got {self.fmt!r}"
            ) from None

    def measured_text(self) -> str:
        return self.fmt.format(self.measured)


def claims_markdown(claims: list[Claim]) -> str:
    """The Markdown (MyST) table of ``claims``: source, claim, source's figure, ours, holds."""
    if not claims or not all(isinstance(c, Claim) for c in claims):
        raise ValueError("claims must be a non-empty list of gb.Claim")
    rows = ["| source | claim | source says | we measure | direction holds |",
            "| --- | --- | ---: | ---: | :---: |"]
    def cell(text: str) -> str:  # a "|" would end the table cell
        return text.replace("|", "\\|")

    for c in claims:
        ours = c.measured_text() + (f" ({c.setting})" if c.setting else "")
        rows.append(f"| {{cite}}`{c.source}` | {cell(c.claim)} | {cell(c.source_value)} | {cell(ours)} | "
                    f"{'yes' if c.holds else '**no**'} |")
    return "\n".join(rows)


def show_claims(chapter: str, claims: list[Claim]):
    """Display the chapter's "source says / we measure" table and record its claims.

    ``chapter`` is the chapter's short name (``"ch03"``). Returns nothing; the table is
    displayed as the cell's output (use the tag ``remove-input`` on the cell).
    """
    if not isinstance(chapter, str) or not _CHAPTER.fullmatch(chapter):
        raise ValueError(f"chapter must look like 'ch03', got {chapter!r}")
    from IPython.display import Markdown, display

    table = claims_markdown(claims)
    record = {"chapter": chapter, "claims": [asdict(c) for c in claims]}
    display(Markdown(table), metadata={METADATA_KEY: record})


def collect(notebooks) -> list[dict]:
    """All claims recorded by :func:`show_claims` in executed notebooks (paths to .ipynb).

    Returns one dict per claim, with the chapter added, in the order of the notebooks.
    """
    found = []
    for path in notebooks:
        path = Path(path)
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
