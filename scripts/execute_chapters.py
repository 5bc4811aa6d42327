"""Execute the book's chapters side by side, one per core, into the build's execution cache.

    python scripts/execute_chapters.py                         # the book at the repository's root
    python scripts/execute_chapters.py --root _build/student/src
    python scripts/execute_chapters.py --path-output /tmp/out  # as `jupyter-book build --path-output`

Jupyter Book executes a book's notebooks one after another while Sphinx reads them, so a
cold build keeps one core busy. `make book` runs this script first: every chapter whose
code has no execution in the cache (``_build/.jupyter_cache``) runs in a fresh kernel,
``--jobs`` at a time, longest first (by the last benchmark's times), and is stored
there exactly as MyST-NB would store it (read by MyST-NB's own reader, the same cache key,
the same project record); Sphinx then finds every chapter in the cache and executes
nothing but the pages that run on every build. Editing one chapter re-executes that one.

The cache is first emptied if the package or the pinned environment changed since it was
filled (the fingerprint of ``gradbook_environment`` in ``_config.yml``, the same check the
book's Sphinx extension makes), so a chapter is never served an execution of old code.
A chapter that fails is reported with its traceback and the script exits with 1, as the
strict build would.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "_ext"))
from bookfiles import chapters  # noqa: E402
from gradbook_sphinx import clear_stale_cache, environment_fingerprint  # noqa: E402

#: How MyST-NB records a MyST Markdown notebook's reader in the cache's project.
READ_DATA = {"type": "plugin", "name": "myst_nb_md"}


def read(path: Path):
    """The notebook of ``path`` as MyST-NB reads it when it builds the page (same cache key)."""
    from myst_nb.core.read import myst_nb_reader_plugin

    return myst_nb_reader_plugin(str(path))


def _execute(path: str, timeout: int) -> tuple[str, object, float, str | None]:
    """Run one chapter in a fresh kernel in its own folder: (path, notebook, seconds, error)."""
    from jupyter_cache.executors.utils import single_nb_execution

    nb = read(Path(path))
    result = single_nb_execution(nb, cwd=str(Path(path).parent), timeout=timeout,
                                 allow_errors=False, meta_override=True)
    return path, result.nb, result.time, result.exc_string


def _last_seconds() -> dict[str, float]:
    """Each chapter's cold execution time in the last benchmark, by name ({} if none)."""
    import json

    results = ROOT / "benchmarks" / "results.json"
    if not results.exists():
        return {}
    return {r["chapter"]: float(r["seconds"]) for r in json.loads(results.read_text())["chapters"]}


def _settings(root: Path) -> tuple[list[str], int]:
    """``gradbook_environment`` and the execution timeout from ``root``'s _config.yml."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    environment = config["sphinx"]["config"]["gradbook_environment"]
    return environment, int(config.get("execute", {}).get("timeout", 30))


def execute(root: Path = ROOT, path_output: Path | None = None, jobs: int | None = None) -> int:
    """Fill the execution cache of the book at ``root``; 0 if every chapter ran or was cached."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    root = root.resolve()
    cache_path = (path_output or root).resolve() / "_build" / ".jupyter_cache"
    environment, timeout = _settings(root)
    if clear_stale_cache(cache_path, environment_fingerprint(root, environment)):
        print("execute_chapters: the package or the environment changed; every chapter runs again")
    cache = get_cache(str(cache_path))
    todo = []
    for path in chapters(root):
        try:
            cache.match_cache_notebook(read(path))
        except KeyError:  # no execution of this chapter's current code
            todo.append(path)
    # Longest first, so that the last chapter to finish is a short one: by the time each
    # took in the last benchmark (benchmarks/results.json, committed).
    last = _last_seconds()
    todo.sort(key=lambda path: -last.get(path.stem, 0.0))
    if not todo:
        print(f"execute_chapters: all {len(chapters(root))} chapters are in the cache")
        return 0
    jobs = jobs or os.cpu_count() or 1
    print(f"execute_chapters: {len(todo)} chapter(s) to run, {jobs} at a time", flush=True)
    failed = 0
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_execute, str(path), timeout) for path in todo]
        for future in as_completed(futures):
            path, nb, seconds, error = future.result()
            name = Path(path).stem
            if error is not None:
                failed += 1
                print(f"  {name}: FAILED after {seconds:.1f} s\n{error}", flush=True)
                continue
            record = cache.add_nb_to_project(path, read_data=READ_DATA)
            cache.cache_notebook_bundle(
                CacheBundleIn(nb, record.uri, data={"execution_seconds": seconds}),
                check_validity=False, overwrite=True)
            print(f"  {name}: {seconds:.1f} s", flush=True)
    print(f"execute_chapters: {len(todo) - failed} ran, {failed} failed, "
          f"{time.perf_counter() - start:.1f} s in all")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=ROOT, help="the book's folder (default: the repository)")
    parser.add_argument("--path-output", type=Path, default=None,
                        help="as jupyter-book build --path-output: the cache is in PATH/_build")
    parser.add_argument("--jobs", type=int, default=None, help="chapters at once (default: one per core)")
    args = parser.parse_args()
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be 1 or more")
    return execute(args.root, args.path_output, args.jobs)


if __name__ == "__main__":
    sys.exit(main())
