"""Checks: verify a reader's answer to a coding exercise and explain what is wrong.

Each ``check_*`` function calls the reader's function on several inputs, compares the
result with a reference computed independently (usually by ``torch.autograd``), prints
one line saying whether the answer is right and, if not, on which input it differs and
how, and returns ``True`` or ``False``. They never raise because the *answer* is wrong;
they raise ``TypeError`` only when what they are given is not a function.

The checks of chapter NN live in ``checks/chNN.py``, each module listing its checks in
``__all__``; all of them are available here as ``gb.checks.check_...``.
"""

import importlib
import pkgutil

__all__: list[str] = []

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name.startswith("ch"):
        _module = importlib.import_module(f"{__name__}.{_info.name}")
        for _name in _module.__all__:
            globals()[_name] = getattr(_module, _name)
            __all__.append(_name)
