"""The launch notebooks read like the pages: no raw MyST, the build's numbers, collapsed
solutions (and none in the student edition).

The first tests open the committed notebooks in notebooks/ as a reader's Jupyter would
(nbformat) and need nothing else; those that compare with the build's values (the
execution cache, the built HTML) skip when the book has not been built. The last ones
test the rendering functions of scripts/render_markdown.py and scripts/make_notebooks.py
on small strings.
"""

from __future__ import annotations

import functools
import html
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import bookfiles  # noqa: E402  (scripts/: the one reader of _toc.yml)
import make_notebooks  # noqa: E402
import render_markdown as rm  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
HTML = ROOT / "_build" / "html" / "book"
RAW_ROLE = re.compile(r"\{[A-Za-z][\w:.+-]*\}`")
DIRECTIVE_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,}|:{3,})[ \t]*\{", re.M)
FIGURE_REF = re.compile(r"\[Figure (\d+)\.(\d+)\]\((https?://[^)\s]+)/book/(ch\d\d_\w+)\.html#(fig-[\w-]+)\)")
# [Nielsen, 2015], [He *et al.*, 2015], Glorot and Bengio [2010]: linked author-year text
CITATION = re.compile(r"\[\[[A-Z][^\[\]]*, \d{4}\]\(https?://[^)]+/book/bibliography\.html\)"
                      r"|[A-Z][\w-]*(?: and [A-Z][\w-]*| \*et al\.\*)? \[\[\d{4}\]\(https?://[^)]+\)\]")


def _chapters():
    return bookfiles.chapters()


def _read(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    return nb


def _markdown(nb) -> str:
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


@functools.cache
def _solution_lines() -> frozenset[str]:
    """Lines of the solutions that occur nowhere else in the chapters: a leak's fingerprint
    (the detector of tests/test_student.py)."""
    inside, outside = [], []
    for path in _chapters():
        text = path.read_text()
        inside += [line for block in make_notebooks.SOLUTION.findall(text) for line in block.splitlines()]
        outside += make_notebooks.SOLUTION.sub("", text).splitlines()
    others = " ".join(" ".join(line.split()) for line in outside)
    found = {" ".join(line.split()) for line in inside}
    return frozenset(line for line in found if len(line) >= 30 and line not in others
                     and not line.startswith(("```", ":class:", "assert gb.checks", "{glue")))


@functools.cache
def _executed() -> dict:
    return bookfiles.executed(_chapters()) if HTML.is_dir() else {}


def _built() -> dict:
    """The build's executed chapters, or a skip if the book has not been built since they changed."""
    if not HTML.is_dir():
        pytest.skip("build the book first (make book)")
    executed = _executed()
    if len(executed) != len(_chapters()):
        pytest.skip("some chapters were not executed since they changed: make book")
    return executed


@pytest.fixture(scope="module", params=[p.stem for p in bookfiles.chapters()])
def chapter(request):
    path = ROOT / "book" / f"{request.param}.md"
    notebook = NOTEBOOKS / f"{request.param}.ipynb"
    assert notebook.exists(), f"no launch notebook {notebook.name}: run `make notebooks`"
    return path, _read(notebook)


def test_no_raw_myst_in_the_markdown(chapter):
    path, nb = chapter
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        assert not RAW_ROLE.search(cell.source), f"{path.stem}: raw role in {cell.source[:300]!r}"
        assert not DIRECTIVE_FENCE.search(cell.source), f"{path.stem}: directive fence in {cell.source[:300]!r}"
        assert "{glue" not in cell.source and "glue:text" not in cell.source, path.stem
        assert not re.search(r"^\([\w-]+\)=\s*$", cell.source, re.M), f"{path.stem}: a raw (label)= target"


def test_the_colab_cell_and_the_code_cells_stay(chapter):
    import jupytext

    path, nb = chapter
    assert nb.cells[1].metadata.get("tags") == ["colab-setup"]
    source = jupytext.read(path)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    # A solution becomes one collapsed Markdown cell that shows its code but runs none of
    # it, so its removed cells (glue bookkeeping) are left out of the notebook.
    solutions = [m.group() for m in make_notebooks.SOLUTION.finditer(path.read_text())]
    for cell in source.cells:
        if cell.cell_type == "code" and "solution" not in cell.metadata.get("tags", []):
            if "remove-cell" in cell.metadata.get("tags", []) and any(cell.source in s for s in solutions):
                assert cell.source not in _markdown(nb), f"{path.stem}: a removed cell is shown"
                continue
            # every code cell of the chapter is there, unchanged, unless it is part of a solution
            assert cell.source in code or cell.source in _markdown(nb), f"{path.stem}: a code cell went missing"
    assert all(c.get("outputs", []) == [] for c in nb.cells if c.cell_type == "code")


def test_figure_references_and_citations_are_rendered(chapter):
    path, nb = chapter
    text, markdown = path.read_text(), _markdown(nb)
    if "{numref}`fig-" in text:
        assert FIGURE_REF.search(markdown), f"{path.stem}: no 'Figure N.M' reference"
    if "{cite" in text:
        assert CITATION.search(markdown), f"{path.stem}: no author-year citation"


def test_at_least_one_figure_reference_and_citation_in_the_book():
    markdown = "\n".join(_markdown(_read(NOTEBOOKS / f"{p.stem}.ipynb")) for p in _chapters())
    assert FIGURE_REF.search(markdown) and CITATION.search(markdown)


def test_exercises_are_headed_with_answer_and_check_cells(chapter):
    path, nb = chapter
    text = path.read_text()
    n = len(re.findall(r"^`{3,}\{exercise\}", text, re.M))
    headings = [c for c in nb.cells if c.cell_type == "markdown" and re.match(r"### Exercise \d+\.\d+", c.source)]
    assert len(headings) == n
    checks = [c for c in nb.cells if "exercise-check" in c.metadata.get("tags", [])]
    calls = re.findall(r"^gb\.checks\.check_\w+\(", text, re.M)  # in the templates
    assert sum(len(re.findall(r"^gb\.checks\.check_\w+\(", c.source, re.M)) for c in checks) == len(calls)
    assert all(c.cell_type == "code" and c.source.startswith("gb.checks.check_") for c in checks)
    answers = [c for c in nb.cells if "exercise-answer" in c.metadata.get("tags", [])]
    assert len(answers) >= n


def test_solutions_are_collapsed_in_the_full_edition(chapter):
    path, nb = chapter
    n = path.read_text().count("```{solution-start}")
    solutions = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    assert len(solutions) == n
    for cell in solutions:
        assert cell.cell_type == "markdown"
        assert cell.source.startswith("<details>\n<summary>Solution</summary>\n\n")
        assert cell.source.endswith("\n\n</details>")
    # no solution is anywhere else: not as code a "Run all" would execute
    outside = "\n".join(c.source for c in nb.cells if "solution" not in c.metadata.get("tags", []))
    leaked = [line for line in _solution_lines() if line in " ".join(outside.split())]
    assert not leaked, f"{path.stem}: solution lines outside the collapsed cells: {leaked[:3]}"


def test_every_glued_value_is_the_builds(chapter):
    """Every {glue:text} of the chapter appears, formatted as the page shows it."""
    path, nb = chapter
    executed = _built()
    glue = rm.glue_data(executed[path])
    markdown = _markdown(nb)
    page = (HTML / f"{path.stem}.html").read_text()
    shown = {html.unescape(s) for s in re.findall(r'<span class="pasted-text">(.*?)</span>', page, re.S)}
    sample = re.findall(r"\{glue:text\}`([^`]+)`", path.read_text())
    assert sample
    for content in sample:
        key, fmt = content.rsplit(":", 1) if ":" in content else (content, "s")
        value = rm.format_glue_text(glue[key], fmt)
        assert value in markdown, f"{path.stem}: {content} = {value!r} is not in the notebook"
        assert value in shown, f"{path.stem}: {content} = {value!r} is not what the page shows"


def test_figure_numbers_are_the_ones_the_page_gives(chapter):
    path, nb = chapter
    _built()
    for match in FIGURE_REF.finditer(_markdown(nb)):
        chapter_no, figure_no, site, page, label = match.groups()
        html_text = (HTML / f"{page}.html").read_text()
        caption = re.search(rf'id="{re.escape(label)}".*?<span class="caption-number">([^<]*)</span>', html_text, re.S)
        assert caption and caption.group(1).strip() == f"Fig. {chapter_no}.{figure_no}", match.group(0)
        assert site == make_notebooks.site_url()


NUMREF = re.compile(r'<a class="reference internal" href="([^"#]*)#([^"]+)"><span class="std std-numref">'
                    r'Fig\. ([0-9.]+)</span></a>')


def test_every_figure_reference_of_the_html_names_the_figure_it_links_to():
    """Every {numref} on every page says the number of the figure it links to, as that
    figure's own caption gives it (the extension's point 12 resolves them from doctrees
    read once per build)."""
    _built()
    seen = 0
    for page in sorted(HTML.glob("*.html")):
        for href, label, number in NUMREF.findall(page.read_text()):
            target = (page.parent / href) if href else page
            caption = re.search(rf'id="{re.escape(label)}".*?<span class="caption-number">([^<]*)</span>',
                                target.read_text(), re.S)
            assert caption and caption.group(1).strip() == f"Fig. {number}", (page.name, label, number)
            seen += 1
    assert seen >= len(_chapters())  # every chapter refers to its figures


def test_the_twins_are_up_to_date():
    _built()
    stale = [p.stem for p in _chapters()
             if make_notebooks.render(make_notebooks.twin(p)) != (NOTEBOOKS / f"{p.stem}.ipynb").read_text()]
    assert not stale, f"stale launch notebooks {stale}: run `make notebooks`"


def test_the_student_notebooks_have_no_solution(tmp_path):
    _built()
    make_notebooks.student_edition(tmp_path)
    lines = _solution_lines()
    assert len(lines) > 100
    for path in _chapters():
        nb = _read(tmp_path / "notebooks" / f"{path.stem}.ipynb")
        text = " ".join("\n".join(c.source for c in nb.cells).split())
        assert "<summary>Solution" not in text and not any("solution" in c.metadata.get("tags", []) for c in nb.cells)
        leaked = [line for line in lines if line in text]
        assert not leaked, f"{path.stem}: {leaked[:3]}"
        markdown = _markdown(nb)
        assert not RAW_ROLE.search(markdown) and not DIRECTIVE_FENCE.search(markdown)
        # the references are text: a link would lead students to the public site's solutions
        assert make_notebooks.site_url() not in markdown
        assert path.read_text().count("{solution-start}") == markdown.count(make_notebooks.LEFT_OUT)


def test_the_script_stops_without_a_build(tmp_path, monkeypatch):
    """No build: a clear message to build the book, never a notebook with raw roles."""
    with pytest.raises(rm.RenderError, match="make book"):
        rm.load_build(tmp_path, [], "https://example.org")


# --------------------------------------------------------------------------- units

SITE = "https://example.org/book-site"


def _ctx(**kw) -> rm.Context:
    targets = {
        "fig-ch03-speed": rm.Target("book/ch03_x", "fig-ch03-speed", "Fig. 3.2"),
        "eq-ch03-delta": rm.Target("book/ch03_x", "equation-eq-ch03-delta", "(3.1)"),
        "ex-ch03-a": rm.Target("book/ch03_x", "ex-ch03-a", "Exercise 3.4"),
        "sec-ch03-run": rm.Target("book/ch03_x", "sec-ch03-run", "", "A longer run at $T = 100$"),
    }
    glue = {"x": {"text/plain": "0.123456"}, "n": {"text/plain": "12"}, "s": {"text/plain": "'dead'"},
            "md": {"text/plain": "x", "text/markdown": "**helps** {cite}`nielsen2015`"},
            "table": {"text/plain": "t", "text/markdown": "| a | b |\n| --- | --- |\n| 1 | 2 |\n"}}
    bib = {"nielsen2015": ("Nielsen", "2015"), "glorot2010": ("Glorot and Bengio", "2010"),
           "he2015": ("He *et al.*", "2015")}
    values = dict(site=SITE, page="book/ch03_x", glue=glue, targets=targets,
                  titles={"book/ch02_y": "The sigmoid bound", "book/notation": "Notation"}, bib=bib)
    values.update(kw)
    return rm.Context(**values)


@pytest.mark.parametrize(("source", "expected"), [
    ("{glue:text}`x:.2f`", "0.12"),
    ("{glue:text}`x:.1%`", "12.3%"),
    ("{glue:text}`x:.3g`", "0.123"),
    ("{glue:text}`n`", "12"),
    ("{glue:text}`n:d`", "12"),
    ("{glue:text}`s`", "dead"),
    ("{glue:md}`md`", f"**helps** [[Nielsen, 2015]({SITE}/book/bibliography.html)]"),
    ("{glue}`n`", "12"),
    ("{cite}`nielsen2015`", f"[[Nielsen, 2015]({SITE}/book/bibliography.html)]"),
    ("{cite:p}`glorot2010`", f"[[Glorot and Bengio, 2010]({SITE}/book/bibliography.html)]"),
    ("{cite:t}`he2015`", f"He *et al.* [[2015]({SITE}/book/bibliography.html)]"),
    ("{cite}`nielsen2015,glorot2010`",
     f"[[Glorot and Bengio, 2010]({SITE}/book/bibliography.html), [Nielsen, 2015]({SITE}/book/bibliography.html)]"),
    ("{numref}`fig-ch03-speed`", f"[Figure 3.2]({SITE}/book/ch03_x.html#fig-ch03-speed)"),
    ("{numref}`Panel %s <fig-ch03-speed>`", f"[Panel 3.2]({SITE}/book/ch03_x.html#fig-ch03-speed)"),
    ("{eq}`eq-ch03-delta`", f"[(3.1)]({SITE}/book/ch03_x.html#equation-eq-ch03-delta)"),
    ("{ref}`ex-ch03-a`", f"[Exercise 3.4]({SITE}/book/ch03_x.html#ex-ch03-a)"),
    ("{ref}`the run <sec-ch03-run>`", f"[the run]({SITE}/book/ch03_x.html#sec-ch03-run)"),
    ("{ref}`sec-ch03-run`", f"[A longer run at $T = 100$]({SITE}/book/ch03_x.html#sec-ch03-run)"),
    ("{doc}`ch02_y`", f"[The sigmoid bound]({SITE}/book/ch02_y.html)"),
    ("{doc}`chapter 2 <ch02_y>`", f"[chapter 2]({SITE}/book/ch02_y.html)"),
    ("{doc}`notation </book/notation>`", f"[notation]({SITE}/book/notation.html)"),
    ("{term}`learning rate <learning rate>`", "learning rate"),
    ("{term}`Jacobian`", "Jacobian"),
    ("{math}`x^2`", "$x^2$"),
    ("{sup}`2`", "<sup>2</sup>"),
    ("{unknown}`shown text <target>`", "shown text"),
    ("a `{glue:text}` code span", "a `{glue:text}` code span"),
    ("``{cite}`x` ``", "``{cite}`x` ``"),
])
def test_inline_roles(source, expected):
    assert rm.render_inline(source, _ctx()) == expected


def test_without_a_site_the_references_are_text():
    ctx = _ctx(site="")
    assert rm.render_inline("{numref}`fig-ch03-speed` and {cite:t}`glorot2010`", ctx) == \
        "Figure 3.2 and Glorot and Bengio [2010]"
    assert rm.render_inline("{cite}`nielsen2015`", ctx) == "[Nielsen, 2015]"


def test_a_missing_value_or_label_says_to_build_the_book():
    with pytest.raises(rm.RenderError, match="make book"):
        rm.render_inline("{glue:text}`nope:.2f`", _ctx())
    with pytest.raises(rm.RenderError, match="make book"):
        rm.render_inline("{numref}`fig-nope`", _ctx())
    with pytest.raises(rm.RenderError, match="references.bib"):
        rm.render_inline("{cite}`nobody1999`", _ctx())


def test_math_is_kept_and_labelled_equations_are_numbered():
    text = "See\n\n$$\na = {b}`c`\n$$\n\nand\n\n$$\n\\delta = 1\n$$ (eq-ch03-delta)\n\nwith $x$ {eq}`eq-ch03-delta`."
    out = rm.render_markdown(text, _ctx())
    assert "$$\na = {b}`c`\n$$" in out  # math is left alone, even what looks like a role
    assert "$$\n\\delta = 1\n\\tag{3.1}\n$$" in out
    assert out.endswith(f"with $x$ [(3.1)]({SITE}/book/ch03_x.html#equation-eq-ch03-delta).")
    block = rm.render_markdown("```{math}\n:label: eq-ch03-delta\nx = 1\n```", _ctx())
    assert block == "$$\nx = 1\n\\tag{3.1}\n$$"
    assert rm.render_markdown("```{math}\nx = 1\n```", _ctx()) == "$$\nx = 1\n$$"


def test_admonitions_become_blockquotes_with_a_bold_title():
    assert rm.render_markdown("```{note}\nRead {numref}`fig-ch03-speed`.\n```", _ctx(site="")) == \
        "> **Note**\n>\n> Read Figure 3.2."
    assert rm.render_markdown(":::{admonition} Why *this*\n:class: tip\nBecause.\n:::", _ctx()) == \
        "> **Why *this***\n>\n> Because."
    warning = rm.render_markdown("```{warning}\nCareful.\n\nTwo.\n```", _ctx())
    assert warning == "> **Warning**\n>\n> Careful.\n>\n> Two."


def test_other_directives_become_their_content_and_targets_disappear():
    text = ("(sec-ch03-run)=\n## Title\n\n% a comment\n```{only} html\nkept {glue:text}`n`\n```\n\n"
            "```{glue:md} table\n```\n\n```python\nx = {cite}`raw`  # code is code\n```")
    out = rm.render_markdown(text, _ctx())
    assert out.startswith("## Title\n\nkept 12\n\n| a | b |\n| --- | --- |\n| 1 | 2 |")
    assert "(sec-ch03-run)=" not in out and "comment" not in out
    assert out.endswith("```python\nx = {cite}`raw`  # code is code\n```")
    assert "<details>" in rm.render_markdown("```{dropdown} More\nHidden.\n```", _ctx())


def test_blocks_finds_nested_fences():
    text = "intro\n\n````{exercise}\n:label: ex-ch03-a\n\nDo it.\n\n```python\ndef f():\n    ...\n```\n````\n\nafter"
    parts = rm.blocks(text)
    assert [type(p).__name__ for p in parts] == ["str", "Directive", "str"]
    exercise = parts[1]
    assert exercise.name == "exercise" and exercise.options == {"label": "ex-ch03-a"}
    inner = rm.blocks(exercise.body)
    assert isinstance(inner[-1], rm.Fence) and inner[-1].info == "python"


def test_exercise_cells_split_the_template_and_the_check():
    exercise = rm.blocks("````{exercise}\n:label: ex-ch03-a\n\nWrite `f`, see {numref}`fig-ch03-speed`.\n\n"
                         "```python\ndef f(x):\n    ...\n\ngb.checks.check_f(f)\n```\n\nThen run it.\n````")[0]
    cells = make_notebooks.exercise_cells(exercise, _ctx())
    assert [c.cell_type for c in cells] == ["markdown", "code", "code", "markdown"]
    assert cells[0].source.startswith("### Exercise 3.4\n\nWrite `f`, see [Figure 3.2](")
    assert cells[1].source == "def f(x):\n    ..." and cells[1].metadata["tags"] == ["exercise-answer"]
    assert cells[2].source == "gb.checks.check_f(f)" and cells[2].metadata["tags"] == ["exercise-check"]
    assert cells[3].source == "Then run it."
    written = make_notebooks.exercise_cells(rm.blocks("```{exercise}\n:label: ex-ch03-a\n\nShow it.\n```")[0], _ctx())
    assert [c.source for c in written] == ["### Exercise 3.4\n\nShow it.", "*Your answer:*"]


def test_split_checks_keeps_a_call_over_several_lines():
    code, checks = make_notebooks.split_checks("def g():\n    pass\n\ngb.checks.check_g(\n    g,\n)\n")
    assert code == "def g():\n    pass" and checks == "gb.checks.check_g(\n    g,\n)"


def _cells(source: str):
    import jupytext

    header = ("---\njupytext:\n  text_representation:\n    format_name: myst\nkernelspec:\n"
              "  display_name: Python 3\n  language: python\n  name: python3\n---\n")
    return jupytext.reads(header + source, fmt="md:myst").cells


CHAPTER = """# Title

Text {glue:text}`x:.2f`.

```{code-cell} ipython3
y = 1
```

````{exercise}
:label: ex-ch03-a

Do it.

```python
def f(): ...

gb.checks.check_f(f)
```
````

```{solution-start} ex-ch03-a
:class: dropdown
```

Because {glue:text}`n`.

```{code-cell} ipython3
def f():
    return 1
print("done")
```

```{solution-end}
```
"""


def test_render_cells_collapses_the_solution_with_its_output():
    cells = _cells(CHAPTER)
    executed = [nbformat.v4.new_code_cell("y = 1"), nbformat.v4.new_code_cell('def f():\n    return 1\nprint("done")')]
    executed[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="done\n"),
                           nbformat.v4.new_output("display_data", data={"application/x": "1"},
                                                  metadata={"scrapbook": {"name": "k"}})]
    out = make_notebooks.render_cells(cells, _ctx(), executed)
    kinds = [(c.cell_type, c.metadata.get("tags", [None])[0]) for c in out]
    assert kinds == [("markdown", None), ("code", None), ("markdown", None), ("code", "exercise-answer"),
                     ("code", "exercise-check"), ("markdown", "solution")]
    assert out[0].source == "# Title\n\nText 0.12."
    solution = out[-1].source
    assert solution.startswith("<details>\n<summary>Solution</summary>\n\nBecause 12.\n\n```python\ndef f():")
    assert "*Output:*\n\n```text\ndone\n```\n\n</details>" in solution
    student = make_notebooks.render_cells(_cells(make_notebooks.without_solutions(CHAPTER)), _ctx(), None)
    assert not any("<details>" in c.source for c in student)
    assert make_notebooks.LEFT_OUT in student[-1].source


def test_a_solution_output_markdown_cannot_hold_stops_the_script():
    cells = _cells(CHAPTER)
    executed = [nbformat.v4.new_code_cell("y = 1"), nbformat.v4.new_code_cell('def f():\n    return 1\nprint("done")')]
    image = {"image/png": "iVBOR", "text/plain": "<Figure>"}
    executed[1].outputs = [nbformat.v4.new_output("display_data", data=image)]
    with pytest.raises(rm.RenderError, match="image/png"):
        make_notebooks.render_cells(cells, _ctx(), executed)
    executed[1].source = "changed"
    with pytest.raises(rm.RenderError, match="make book"):
        make_notebooks.render_cells(cells, _ctx(), executed)


def test_html_numbers_and_the_bibliography_are_read(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "ch03_x.html").write_text(
        '<section id="s"><span id="sec-a"></span><h2>T<a class="headerlink" href="#s">#</a></h2>'
        '<figure class="align-default" id="fig-ch03-a"><img src="a.png" alt="x" />'
        '<figcaption><p><span class="caption-number">Fig. 3.2 </span><span class="caption-text">C</span></p>'
        '</figcaption></figure>'
        '<div class="math notranslate nohighlight" id="equation-eq-ch03-b">'
        '<span class="eqno">(3.1)<a class="headerlink" href="#equation-eq-ch03-b">#</a></span>\\[x\\]</div>'
        '<div class="exercise admonition" id="ex-ch03-c"><p class="admonition-title">'
        '<span class="caption-number">Exercise 3.4 </span></p></div></section>')
    targets = rm.html_targets(tmp_path)
    assert targets["fig-ch03-a"] == rm.Target("book/ch03_x", "fig-ch03-a", "Fig. 3.2")
    assert targets["eq-ch03-b"] == rm.Target("book/ch03_x", "equation-eq-ch03-b", "(3.1)")
    assert targets["ex-ch03-c"].number == "Exercise 3.4" and targets["sec-a"].number == ""
    bib = tmp_path / "refs.bib"
    bib.write_text('@article{a1, author = {Hochreiter, Sepp and Schmidhuber, J{\\"u}rgen}, year = {1997}}\n'
                   "@book{b2, author = {Nielsen, Michael A.}, title = {N}, year = {2015}}\n"
                   "@article{c3, author = {van Merri{\\\"e}nboer, Bart and Cho, K. and Bengio, Y.}, year = {2014}}\n")
    assert rm.bibliography(bib) == {"a1": ("Hochreiter and Schmidhuber", "1997"), "b2": ("Nielsen", "2015"),
                                    "c3": ("van Merriënboer *et al.*", "2014")}


def test_glue_data_strips_the_mime_prefix():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("glue('a', 1.5, display=False)")
    cell.outputs = [nbformat.v4.new_output(
        "display_data", data={"application/papermill.record/text/plain": "1.5"},
        metadata={"scrapbook": {"name": "a", "mime_prefix": "application/papermill.record/"}})]
    nb.cells = [nbformat.v4.new_markdown_cell("x"), cell]
    assert rm.glue_data(nb) == {"a": {"text/plain": "1.5"}}


def test_a_value_that_starts_a_line_starts_no_list():
    ctx = _ctx(glue={"one": {"text/plain": "1"}, "m": {"text/plain": "'- a'"}})
    assert rm.render_inline("{glue:text}`one:d`. Then", ctx) == "1\\. Then"
    assert rm.render_inline("so\n  {glue:text}`one:d`) or", ctx) == "so\n  1\\) or"
    assert rm.render_inline("{glue:text}`m`", ctx) == "\\- a"
    assert rm.render_inline("x {glue:text}`one:d`. Then", ctx) == "x 1. Then"
    assert rm.render_inline("{glue:text}`one:d`.5 times", ctx) == "1.5 times"


def test_numbers_of_an_older_build_are_refused():
    text = ("````{exercise}\n:label: ex-ch03-a\nA\n````\n\n```{exercise}\n:label: ex-ch03-b\nB\n```\n\n"
            "$$\nx\n$$ (eq-ch03-delta)\n")
    targets = {"ex-ch03-a": rm.Target("p", "ex-ch03-a", "Exercise 3.1"),
               "ex-ch03-b": rm.Target("p", "ex-ch03-b", "Exercise 3.2"),
               "eq-ch03-delta": rm.Target("p", "equation-eq-ch03-delta", "(3.1)")}
    assert rm.stale_numbers(text, targets) == []
    swapped = text.replace("ex-ch03-a", "ex-ch03-x").replace("ex-ch03-b", "ex-ch03-a").replace("ex-ch03-x", "ex-ch03-b")
    assert len(rm.stale_numbers(swapped, targets)) == 2
    assert "absent" in rm.stale_numbers(text + "\n$$\ny\n$$ (eq-new)\n", targets)[0]
