"""`lvs-top rollout --exec` in the lab: restart the HTTP server on port 80 of one real server.

    restart_http.py ADDRESS LOG WWW

Appends to LOG one JSON line: the host, LVS_TOP_HOST as the command saw it, the time
(time.monotonic(), the clock the test samples with), the host's active connections through the
director at that moment (every service, from `ipvsadm -Ln`: a restart must find none), and the pid
of the new server (for the test to stop it). Then stops the old server (SIGTERM, waited for) and
starts a new one serving WWW/rsN, detached; the rollout's check waits until it answers.
"""

import json
import os
import signal
import subprocess
import sys
import time

address, log, www = sys.argv[1:4]
name = {f"10.20.{i}.2": f"rs{i}" for i in (1, 2, 3)}[address]

listed = subprocess.run(["ipvsadm", "-Ln"], capture_output=True, text=True, check=True).stdout
active = sum(int(line.split()[4]) for line in listed.splitlines()
             if line.strip().startswith(f"-> {address}:"))
at = time.monotonic()



def command_line(pid: str) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().split(b"\0")
    except OSError:  # gone
        return []


listed_pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, check=True)
for pid in listed_pids.stdout.split():
    words = command_line(pid)
    if b"http.server" in words and b"80" in words:
        os.kill(int(pid), signal.SIGTERM)
        while b"http.server" in command_line(pid):
            time.sleep(0.05)

server = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-m", "http.server", "80", "--bind",
                           address, "--directory", os.path.join(www, name)],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          start_new_session=True)
with open(log, "a") as out:
    out.write(json.dumps({"host": address, "env": os.environ.get("LVS_TOP_HOST"), "at": at,
                          "active": active, "pid": server.pid}) + "\n")
