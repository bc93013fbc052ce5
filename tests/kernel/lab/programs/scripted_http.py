"""A scripted HTTP server for the health checker's tests:
`scripted_http.py NAME ADDRESS PORT SCRIPT SERVED`. Each request takes the next letter of the
pattern in file SCRIPT, cycled (S: 200 "NAME", F: 503), and is logged to file SERVED as
"MONOTONIC LETTER"; a new pattern starts from its first letter. A bare connect (a TCP check, a
readiness probe) gets nothing and counts for nothing."""

from __future__ import annotations

import socket
import sys
import time


def main(name: str, address: str, port: int, script: str, served: str) -> None:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address, port))
    server.listen(128)
    pattern, count = "", 0
    while True:
        conn, _ = server.accept()
        with conn:
            try:
                conn.settimeout(2)
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    request += chunk
                if b"\r\n\r\n" not in request:
                    continue
                with open(script) as f:
                    now = f.read().strip() or "S"
                if now != pattern:
                    pattern, count = now, 0
                letter = pattern[count % len(pattern)]
                count += 1
                status = b"200 OK" if letter == "S" else b"503 Service Unavailable"
                body = (name + "\n").encode()
                conn.sendall(b"HTTP/1.0 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                             b"Connection: close\r\n\r\n%s" % (status, len(body), body))
                with open(served, "a") as f:
                    f.write(f"{time.monotonic():.6f} {letter}\n")
            except OSError:
                pass


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
