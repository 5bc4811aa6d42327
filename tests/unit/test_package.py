import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_prints_nothing():
    out = subprocess.run([sys.executable, "-c", "import gradbook"], capture_output=True, text=True,
                         check=True)
    assert out.stdout == "" and out.stderr == ""


def test_code_is_not_a_package():
    assert not (ROOT / "code" / "__init__.py").exists()
    import code  # the standard library's module, not our folder

    assert hasattr(code, "InteractiveConsole")


def test_every_module_has_a_docstring():
    import importlib
    import pkgutil

    import gradbook

    for info in pkgutil.iter_modules(gradbook.__path__):
        module = importlib.import_module(f"gradbook.{info.name}")
        assert module.__doc__ and len(module.__doc__.strip()) > 40, info.name


def test_binder_torch_matches_requirements():
    """Binder's CPU-only torch and the reader requirements' pin must name the same release."""
    import re

    req = (ROOT / "requirements-reader.txt").read_text()
    pin = re.search(r"^torch==(\S+)", req, re.M).group(1)
    env = (ROOT / "binder" / "environment.yml").read_text()
    assert re.search(rf"^\s*-\s*pytorch-cpu\s*==\s*{re.escape(pin)}\s*$", env, re.M), env


def test_requirements_pin_every_direct_dependency_exactly():
    for name in ("requirements.txt", "requirements-reader.txt"):
        lines = [l.strip() for l in (ROOT / name).read_text().splitlines()]
        reqs = [l for l in lines if l and not l.startswith("#")]
        if name == "requirements.txt":
            assert "-e ." in reqs and "-r requirements-reader.txt" in reqs
        for r in reqs:
            if r not in ("-e .", "-r requirements-reader.txt"):
                assert "==" in r, (name, r)


def test_every_public_name_is_flat_and_has_one_home():
    """gb.MODULES is the map of the package: it must match each module's __all__ and its files."""
    import importlib
    import pkgutil

    import gradbook as gb

    files = {info.name for info in pkgutil.iter_modules(gb.__path__)} - {"_validate", "checks"}
    assert files == set(gb.MODULES), "every module is in gb.MODULES and every entry is a module"
    names = [name for names in gb.MODULES.values() for name in names]
    assert len(names) == len(set(names)), "a name lives in one module only"
    for module, listed in gb.MODULES.items():
        assert set(importlib.import_module(f"gradbook.{module}").__all__) == set(listed), module
    for name in names:
        assert getattr(gb, name) is getattr(importlib.import_module(f"gradbook.{gb._HOME[name]}"), name)
    assert sorted(gb.__all__) == sorted([*names, "checks"])


def test_contributing_maps_every_module():
    import gradbook as gb

    text = (ROOT / "CONTRIBUTING.md").read_text()
    for module in gb.MODULES:
        assert f"`{module}`" in text, f"CONTRIBUTING.md's module map lacks {module}"


def test_import_loads_no_submodule():
    code = ("import sys, gradbook\n"
            "print(sorted(m for m in sys.modules if m.startswith('gradbook.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_lock_pins_every_requirement_at_its_own_version():
    """requirements.lock (make lock) must hold every direct pin of requirements.txt unchanged;
    a requirement edited without re-locking fails here, not in a confusing install."""
    import re

    def pins(path):
        found = {}
        for line in (ROOT / path).read_text().splitlines():
            m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
            if m:
                found[m.group(1).lower().replace("_", "-")] = m.group(2)
        return found

    direct = pins("requirements.txt") | pins("requirements-reader.txt")
    locked = pins("requirements.lock")
    assert len(locked) > len(direct), "the lock holds the indirect dependencies too"
    for name, version in direct.items():
        assert locked.get(name) == version, f"{name}=={version} in requirements.txt, {locked.get(name)} in the lock"
    assert not any("+" in v for v in locked.values()), "no local version labels (+cpu): the pins must hold anywhere"
    assert "file://" not in (ROOT / "requirements.lock").read_text()


def test_no_public_name_is_also_a_module_name():
    """gb.<name> must be one thing: importing a submodule of the same name would replace the
    function with the module (gb.diagnose was shadowed by gradbook.diagnose that way)."""
    import gradbook as gb

    assert not set(gb.MODULES) & set(gb._HOME)


def test_numbers_for_people_and_the_ledger_do_not_load_torch():
    """The book's Sphinx extension writes every glued number with gb.humanize, and the
    claims-ledger page gathers the claims with gb.collect: neither needs torch, whose
    import is a second of every build. The argument checks import it when they need it."""
    code = ("import sys, gradbook as gb\n"
            "assert gb.humanize('5.3e-13').endswith('10⁻¹³')\n"
            "records = gb.collect([])\n"
            "gb.ledger_markdown(records, {})\n"
            "gb.format_measured('.2f', 0.5)\n"
            "print('torch' in sys.modules)\n"
            "from gradbook import _validate\n"
            "import torch\n"
            "assert _validate._float_dtypes() == (torch.float32, torch.float64)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
