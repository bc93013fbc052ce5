"""What the Pilot tests of the dashboard share."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.app import App
from textual.pilot import Pilot

SLOW = 3600.0  # no timer-driven polls: each test asks for the polls it needs


async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the app run until `condition` holds; fail the test after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await pilot.pause(0.05)


def screen_lines(app: App[None]) -> list[str]:
    """What the terminal shows now, one string per line (spaces kept, styles dropped)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]
