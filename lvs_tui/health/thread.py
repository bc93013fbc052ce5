"""The engine beside the dashboard: its own thread and event loop, so checks never wait on the
screen and the screen never waits on checks."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from lvs_tui.health.engine import Engine
from lvs_tui.model.printable import fault


class EngineThread:
    def __init__(self, engine: Engine, netns_path: str | None = None) -> None:
        self.engine = engine
        self._netns_path = netns_path  # checks run from the director's namespace
        self._thread = threading.Thread(target=self._run, name="lvs-top-health", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self.failure: str | None = None  # why the checker stopped on its own, if it did

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(5.0)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop checking; weights stay as they are."""
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                loop.call_soon_threadsafe(task.cancel)
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            if self._netns_path is not None:
                from lvs_tui.ipvs.netlink import enter_netns

                enter_netns(self._netns_path)
            asyncio.run(self._main())
        except Exception as error:  # said on the status line (EngineFeed), never a silent stop
            self.failure = f"the health checker stopped: {fault(error)}"
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.ensure_future(self.engine.run())
        self._ready.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.engine.write_state(None)
