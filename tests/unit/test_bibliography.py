"""The bibliography lists the works the book cites, and every work in references.bib is cited."""

import re
from pathlib import Path

BOOK = Path(__file__).resolve().parents[2] / "book"


def _keys() -> set[str]:
    return set(re.findall(r"^@\w+\{([^,\s]+),", (BOOK / "references.bib").read_text(), re.M))


def _cited() -> set[str]:
    cited = set()
    for page in BOOK.glob("*.md"):
        text = page.read_text()
        for group in re.findall(r"\{cite(?::[a-z]+)?\}`([^`]+)`", text):
            cited.update(k.strip() for k in group.split(","))
        # claims tables: gb.Claim("key", ...) renders as {cite}`key` when the chapter runs
        cited.update(re.findall(r"gb\.Claim\(\s*\"([A-Za-z0-9_]+)\"", text))
    return cited


def test_every_entry_is_cited_and_every_citation_has_an_entry():
    keys, cited = _keys(), _cited()
    assert keys - cited == set(), "entries nothing cites"
    assert cited - keys == set(), "citations without an entry"


def test_the_bibliography_lists_cited_works_only():
    text = (BOOK / "bibliography.md").read_text()
    assert "{bibliography}" in text and ":all:" not in text
