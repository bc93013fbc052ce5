"""Programs the lab runs as processes inside its namespaces, each a file run by path
(`python PATH ARGS`, see `command`): they import nothing from the lab, so that a start costs an
interpreter and a few standard modules only (every start takes a while in the emulated VM)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def command(name: str, *args: str) -> list[str]:
    """The command line of program `name` (NAME.py beside this file) with its arguments."""
    return [sys.executable, str(HERE / f"{name}.py"), *args]
