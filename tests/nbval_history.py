"""A pytest plugin for nbval: execute cells the way Jupyter does, with store_history=True.

nbval 0.10+ executes every cell with ``store_history=False``. IPython decides whether a
trailing ``;`` silences a cell's last value by looking at the input history, so without
history the ``;`` is ignored and nbval sees outputs (``<matplotlib.legend.Legend ...>``)
that neither the build nor a reader's notebook produces. Upstream: nbval issue #194 and
IPython issue #14162. Loaded by ``make nbval`` with ``-p nbval_history``.

The patch replaces ``nbval.kernel.RunningKernel.execute_cell_input`` of nbval 0.11.0; with
another nbval it refuses to load, so that a changed nbval is checked before it is trusted.
"""

import importlib.metadata

from nbval.kernel import RunningKernel

PATCHED_NBVAL = "0.11.0"

if importlib.metadata.version("nbval") != PATCHED_NBVAL:
    raise ImportError(
        f"tests/nbval_history.py patches nbval {PATCHED_NBVAL}, but nbval {importlib.metadata.version('nbval')} "
        "is installed: check whether nbval issue #194 is fixed (drop this plugin if so), otherwise re-check "
        "RunningKernel.execute_cell_input and update PATCHED_NBVAL."
    )


def _execute_cell_input(self, cell_input, allow_stdin=None):
    return self.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False)


RunningKernel.execute_cell_input = _execute_cell_input
