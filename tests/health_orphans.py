"""Command checks whose programs daemonize, run in a process of their own (the subreaper role is
for a whole process: not pytest's). Prints one JSON object: which daemons outlived their check.

    python -m tests.health_orphans DIR [--no-subreaper]
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from lvs_tui.health.checks import CommandCheck, run_check
from lvs_tui.health.process import become_subreaper

# fork, setsid, fork: the grandchild is out of the check's group and session, its parents gone.
DAEMONIZE = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        open(sys.argv[1] + ".tmp", "w").write(str(os.getpid()))
        os.rename(sys.argv[1] + ".tmp", sys.argv[1])
        time.sleep(30)
    os._exit(0)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.01)
time.sleep(float(sys.argv[2]))
if len(sys.argv) > 3:  # still there when this check ends?
    stat = open("/proc/" + open(sys.argv[1]).read() + "/stat").read()
    sys.exit(0 if stat.rpartition(")")[2].split()[0] != "Z" else 1)
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


async def main(folder: Path, subreaper: bool) -> dict[str, object]:
    quick = CommandCheck((sys.executable, "-c", DAEMONIZE, str(folder / "quick.pid"), "0"), timeout=5)
    # A check still running when another ends: its own daemon must be left alone until it ends.
    slow = CommandCheck((sys.executable, "-c", DAEMONIZE, str(folder / "slow.pid"), "0.3", "check"),
                        timeout=5)
    slow_result, quick_result = await asyncio.gather(run_check(slow, "127.0.0.1", 1),
                                                     run_check(quick, "127.0.0.1", 1))
    await asyncio.sleep(1.1 if subreaper else 0.1)  # a sweep skipped (one a second) comes within one
    pids = {name: int((folder / f"{name}.pid").read_text()) for name in ("quick", "slow")}
    return {"quick": quick_result.detail, "slow": slow_result.detail,
            "alive": {name: alive(pid) for name, pid in pids.items()}, "pids": pids}


if __name__ == "__main__":
    subreaper = "--no-subreaper" not in sys.argv and become_subreaper()
    started = time.monotonic()
    outcome = asyncio.run(main(Path(sys.argv[1]), subreaper))
    print(json.dumps({**outcome, "subreaper": subreaper, "seconds": time.monotonic() - started}))
