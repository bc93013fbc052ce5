"""The test layers, each a folder and a marker of the same name: `pytest -m unit` runs the pure
tests (seconds), `-m app` the dashboard driven headless (Pilot, SVG snapshots), `-m packaging` the
built wheel and the import rules, `-m kernel` the real-kernel suite (only inside the lab VM, see
scripts/kernel-suite)."""

from __future__ import annotations

from pathlib import Path

import pytest

LAYERS = ("unit", "app", "packaging", "kernel")
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        layer = Path(str(item.path)).resolve().relative_to(HERE).parts[0]
        if layer in LAYERS:
            item.add_marker(getattr(pytest.mark, layer))
