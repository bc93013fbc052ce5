"""Files shipped with lvs-top: the Textual stylesheets of top-level `styles/`.

In a wheel they are installed as `lvs_tui/styles/`; in a source checkout (or an editable
install) they are read from the repository's `styles/` folder.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def styles_dir() -> Path:
    packaged = _PACKAGE / "styles"
    return packaged if packaged.is_dir() else _PACKAGE.parent / "styles"


def stylesheet(name: str = "lvs_top.tcss") -> Path:
    path = styles_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"stylesheet {name} is missing from {styles_dir()}; reinstall lvs-top")
    return path
