"""scripts/execute_chapters.py: the chapters run side by side into the build's execution
cache, under the key MyST-NB looks them up by, and only what changed runs again."""

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import execute_chapters  # noqa: E402
from bookfiles import chapters  # noqa: E402


def test_the_cache_key_is_the_one_the_build_looks_chapters_up_by():
    """The script reads a chapter with MyST-NB's jupyter-cache reader; the build reads it
    with the book's Markdown settings. Both must give the same cache key, or the build
    would run every chapter again after the script had run it."""
    from jupyter_cache.cache.main import JupyterCacheBase
    from myst_nb.core.config import NbParserConfig
    from myst_nb.core.read import create_nb_reader
    from myst_parser.config.main import MdParserConfig

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    md_config = MdParserConfig(enable_extensions=set(config["parse"]["myst_enable_extensions"]))
    cache = JupyterCacheBase.__new__(JupyterCacheBase)  # create_hashed_notebook needs no database
    for path in chapters():
        text = path.read_text()
        reader = create_nb_reader(str(path), md_config, NbParserConfig(), text)
        assert reader.read_fmt == execute_chapters.READ_DATA
        ours = cache.create_hashed_notebook(execute_chapters.read(path))[1]
        build = cache.create_hashed_notebook(reader.read(text))[1]
        assert ours == build, path.name


def _book(root: Path, sources: dict[str, str]) -> None:
    """A book with the given chapters (name -> code of its one cell) and a package folder."""
    (root / "pkg").mkdir()
    (root / "pkg" / "mod.py").write_text("X = 1\n")
    (root / "_config.yml").write_text(yaml.safe_dump({
        "execute": {"timeout": 60},
        "sphinx": {"config": {"gradbook_environment": ["pkg"]}},
    }))
    (root / "_toc.yml").write_text(yaml.safe_dump({
        "format": "jb-book", "root": "book/index",
        "chapters": [{"file": f"book/{name}"} for name in sources]}))
    (root / "book").mkdir()
    for name, code in sources.items():
        _chapter(root, name, code)


def _chapter(root: Path, name: str, code: str) -> None:
    (root / "book" / f"{name}.md").write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
        "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n\n"
        f"# {name}\n\n```{{code-cell}} ipython3\n{code}\n```\n")


def _ran(capsys) -> list[str]:
    out = capsys.readouterr().out
    return sorted(line.split(":")[0].strip() for line in out.splitlines()
                  if line.startswith("  ch"))


def test_runs_what_has_no_execution_and_nothing_else(tmp_path, capsys):
    _book(tmp_path, {"ch01_a": "print(1)", "ch02_b": "print(2)"})
    assert execute_chapters.execute(tmp_path, jobs=2) == 0
    assert _ran(capsys) == ["ch01_a", "ch02_b"]
    assert execute_chapters.execute(tmp_path, jobs=2) == 0  # everything is cached
    assert _ran(capsys) == []
    _chapter(tmp_path, "ch02_b", "print(3)")  # an edited chapter runs again, alone
    assert execute_chapters.execute(tmp_path, jobs=2) == 0
    assert _ran(capsys) == ["ch02_b"]
    (tmp_path / "pkg" / "mod.py").write_text("X = 2\n")  # the package changed: all run again
    assert execute_chapters.execute(tmp_path, jobs=2) == 0
    assert _ran(capsys) == ["ch01_a", "ch02_b"]
    # What the cache holds is the execution's output, found by the chapter's own notebook.
    from jupyter_cache import get_cache

    cache = get_cache(str(tmp_path / "_build" / ".jupyter_cache"))
    record = cache.match_cache_notebook(execute_chapters.read(tmp_path / "book" / "ch02_b.md"))
    outputs = cache.get_cache_bundle(record.pk).nb.cells[0].outputs
    assert outputs[0]["text"] == "3\n"


def test_a_failing_chapter_fails_the_run_and_is_not_cached(tmp_path, capsys):
    _book(tmp_path, {"ch01_a": "raise ValueError('on purpose')"})
    assert execute_chapters.execute(tmp_path, jobs=1) == 1
    assert "on purpose" in capsys.readouterr().out
    assert execute_chapters.execute(tmp_path, jobs=1) == 1  # and it runs again next time
