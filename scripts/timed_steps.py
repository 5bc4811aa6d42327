"""Run make targets one after another, stop at the first that fails, and report how long
each took, slowest first, and the whole.

    python3 scripts/timed_steps.py venv lint unit build-check ...

`make test` runs its steps through this script, so every test run (and CI's, through
.ci/run) ends with its duration and its slowest steps; the table is also written to
_build/test-times.md. Standard library only: it runs before the virtual environment exists
(the first step, venv, creates it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(steps: list[str]) -> int:
    if not steps:
        print("usage: timed_steps.py TARGET [TARGET ...]", file=sys.stderr)
        return 2
    make = os.environ.get("MAKE", "make")
    times: list[tuple[str, float]] = []
    status = 0
    start = time.perf_counter()
    for step in steps:
        print(f"=== make {step}", flush=True)
        t = time.perf_counter()
        status = subprocess.run([make, "--no-print-directory", step], cwd=ROOT, check=False).returncode
        times.append((step, time.perf_counter() - t))
        if status != 0:
            print(f"=== make {step} failed (exit {status}); the steps after it did not run", flush=True)
            break
    total = time.perf_counter() - start
    lines = [f"{'passed' if status == 0 else 'FAILED'}: {len(times)} of {len(steps)} steps in "
             f"{total:.0f} s ({total / 60:.1f} min), slowest first:", "",
             "| step | seconds | share |", "| --- | ---: | ---: |"]
    lines += [f"| make {step} | {seconds:.0f} | {seconds / total:.0%} |"
              for step, seconds in sorted(times, key=lambda item: -item[1])]
    report = "\n".join(lines)
    print("\n" + report, flush=True)
    out = ROOT / "_build" / "test-times.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
