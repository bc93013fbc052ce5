"""A UDP echo server: `udp_echo.py ADDRESS PORT` sends every datagram back to its sender."""

from __future__ import annotations

import socket
import sys


def main(address: str, port: int) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((address, port))
    while True:
        data, peer = server.recvfrom(65535)
        server.sendto(data, peer)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
