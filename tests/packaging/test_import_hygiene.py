"""The core never imports Textual: it must run headless, in batch mode and in the kernel lab."""

import subprocess
import sys

CORE = ["lvs_tui.model", "lvs_tui.ipvs", "lvs_tui.sim", "lvs_tui.cli", "lvs_tui.cli.batch"]


def test_core_modules_do_not_import_textual() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import lvs_tui\n"
        "for info in pkgutil.walk_packages(lvs_tui.__path__, 'lvs_tui.'):\n"
        "    if not info.name.startswith(('lvs_tui.ui', 'lvs_tui.__main__')):\n"
        "        importlib.import_module(info.name)\n"
        "loaded = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "assert not loaded, loaded\n"
        "print(len([m for m in sys.modules if m.startswith('lvs_tui')]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    # Guard against the walk silently importing nothing.
    assert int(result.stdout) >= len(CORE) + 5
