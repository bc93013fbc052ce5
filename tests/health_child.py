"""`lvs-top health` in a process of its own, for tests that need real signals and real processes:
the simulated director holds the config's servers, and a port listed in LVS_TOP_TEST_BROKEN makes
that server's check raise (as an https check of host "a..b" raised an idna error).

    python -m tests.health_child CONFIG STATE [--reset-state]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from lvs_tui.health import checks
from lvs_tui.health.config import load_config
from lvs_tui.health.daemon import run_health
from lvs_tui.ops.journal import Journal
from tests.health_fixtures import director


def main(argv: list[str]) -> int:
    config_path, state = argv[0], Path(argv[1])
    broken = {int(port) for port in os.environ.get("LVS_TOP_TEST_BROKEN", "").split(",") if port}
    network = checks._network

    async def faulty(check: checks.TcpCheck | checks.HttpCheck, address: str, port: int) -> tuple[bool, str]:
        if port in broken:
            raise UnicodeError("encoding with 'idna' codec failed (UnicodeError: label empty or too long)")
        return await network(check, address, port)

    checks._network = faulty
    ports = [server.dest.port for service in load_config(config_path).services for server in service.servers]
    sim = director(ports)
    return run_health(config_path, state, Journal(state.with_name("journal.jsonl")), None, lambda: sim, None,
                      reset="--reset-state" in argv, subreaper=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
