"""A pytest plugin for nbval: execute cells the way Jupyter does, with store_history=True.

nbval 0.10+ executes every cell with ``store_history=False``. IPython decides whether a
trailing ``;`` silences a cell's last value by looking at the input history, so without
history the ``;`` is ignored and nbval sees outputs (``<matplotlib.legend.Legend ...>``)
that neither the build nor a reader's notebook produces (nbval issue #194, IPython issue
#14162). Loaded by ``make nbval`` with ``-p nbval_history``.
"""

from nbval.kernel import RunningKernel


def _execute_cell_input(self, cell_input, allow_stdin=None):
    return self.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False)


RunningKernel.execute_cell_input = _execute_cell_input
