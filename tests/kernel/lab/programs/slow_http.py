"""A threaded HTTP server: `slow_http.py NAME ADDRESS PORT` answers "NAME" to every request, after
N seconds for `/slow?s=N` (a long request that a drain must let finish). A thread per connection,
so that a long request does not hold up the others; plain sockets, as it starts much faster than
http.server in the emulated VM."""

from __future__ import annotations

import socket
import sys
import threading
import time


def serve(conn: socket.socket, name: str) -> None:
    with conn:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        path, _, query = request.split(b" ", 2)[1].decode().partition("?")
        if path == "/slow":
            params = dict(p.partition("=")[::2] for p in query.split("&"))
            time.sleep(float(params.get("s") or 1))
        body = (name + "\n").encode()
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n%s" % (len(body), body))


def main(name: str, address: str, port: int) -> None:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address, port))
    server.listen(128)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn, name), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
