"""HTTP requests in the background, one connection each:
`load_client.py HOST PORT PATH GO STOP LIMIT PAUSE [TIMEOUT]` prints "ready", waits for file GO, then sends
requests until file STOP exists (at most LIMIT, PAUSE seconds apart), each printed as
"START END ANSWER" (time.monotonic(): CLOCK_MONOTONIC, one clock for every namespace of the VM),
then "end". TIMEOUT (default 30 s) bounds each wait for the server, so a slow request may be longer.
`request` is also the lab's in-process HTTP client (tests.kernel.lab.traffic)."""

from __future__ import annotations

import os
import socket
import sys
import time


def request(host: str, port: int, path: str = "/", timeout: float = 30) -> str:
    """One HTTP/1.0 request on a connection of its own: who answered ("rsN"), or FAIL:<why>."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            response = b""
            while chunk := conn.recv(65536):
                response += chunk
    except OSError as error:
        return "FAIL:" + repr(error).replace(" ", "_")
    head, _, body = response.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1:2]
    answer = body.decode(errors="replace").strip()
    return answer if status == [b"200"] and answer and " " not in answer else f"FAIL:status-{status}"


def main(host: str, port: int, path: str, go: str, stop: str, limit: int, pause: float,
         timeout: float = 30) -> None:
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.02)
    for _ in range(limit):
        if os.path.exists(stop):
            break
        start = time.monotonic()
        answer = request(host, port, path, timeout)
        print(f"{start:.6f} {time.monotonic():.6f} {answer}", flush=True)
        time.sleep(pause)
    print("end", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]),
         float(sys.argv[7]), *(float(value) for value in sys.argv[8:9]))
