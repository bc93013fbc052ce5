"""Minimal netlink sockets: send one request, collect the replies, raise on a kernel error.

No pyroute2 here: a plain `socket(AF_NETLINK, SOCK_RAW, protocol)`, requests built with struct,
replies read with `recv_into` into one reusable buffer. `GenlSocket` speaks generic netlink (IPVS);
`RouteSocket` rtnetlink (links, addresses, routes, for the doctor). Not thread-safe: one thread
owns each.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import socket
import struct
import threading
from collections.abc import Callable
from typing import Protocol, Self, TypeVar

from lvs_tui.ipvs import codec
from lvs_tui.ipvs import constants as c

_NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
_GENLHDR = struct.Struct("=BBH")  # cmd, version, reserved
NETLINK_ROUTE = 0
_ERRNO = struct.Struct("=i")
_RECV_SIZE = 1 << 18  # dump chunks are at most ~32 KiB; doit replies are small
_CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"  # where `ip netns add` puts them (/var/run is a link to /run)

T = TypeVar("T")


class NetlinkError(Exception):
    """The kernel answered a request with an error; `errno` is positive (EEXIST, ...)."""

    def __init__(self, err: int) -> None:
        super().__init__(err, os.strerror(err))
        self.errno = err


class Transport(Protocol):
    """What the backend needs from a netlink socket (tests inject a fake)."""

    def request(self, cmd: int, attrs: bytes = b"", *, dump: bool = False) -> list[bytes]:
        """Send an IPVS command; return the attribute area of each reply message (after the genl header).

        Raises NetlinkError with the kernel's errno.
        """
        ...

    def close(self) -> None: ...


class NetlinkSocket:
    """One netlink socket of `protocol`: a request out, its replies (each after `skip` bytes of
    headers) back, the kernel's error raised as NetlinkError."""

    def __init__(self, protocol: int, skip: int, netns: str | None = None) -> None:
        """Raises OSError for socket or namespace trouble."""
        self._seq = 0
        self._skip = skip
        self._buf = bytearray(_RECV_SIZE)
        self._sock = in_netns(netns, lambda: _open_socket(protocol)) if netns else _open_socket(protocol)

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def exchange(self, msg_type: int, payload: bytes, *, dump: bool) -> list[bytes]:
        """Send one message (`payload`: everything after the netlink header); the replies' bodies."""
        self._seq = seq = (self._seq + 1) & 0xFFFFFFFF
        flags = c.NLM_F_REQUEST | (c.NLM_F_DUMP if dump else c.NLM_F_ACK)
        self._sock.send(_NLMSGHDR.pack(_NLMSGHDR.size + len(payload), msg_type, flags, seq, 0) + payload)
        return self._collect(seq)

    def _collect(self, seq: int) -> list[bytes]:
        """Read until NLMSG_DONE (dump) or the ack (doit); messages of other sequences are stale, skipped."""
        out: list[bytes] = []
        buf, sock, unpack, skip = self._buf, self._sock, _NLMSGHDR.unpack_from, _NLMSGHDR.size + self._skip
        view = memoryview(buf)
        while True:
            n = sock.recv_into(buf)
            data = bytes(view[:n])  # one copy per datagram; each body is then one slice of it
            off = 0
            while off + _NLMSGHDR.size <= n:
                length, msg_type, _flags, msg_seq, _pid = unpack(data, off)
                if length < _NLMSGHDR.size:
                    raise NetlinkError(errno.EBADMSG)
                if msg_seq == seq:
                    if msg_type == c.NLMSG_ERROR or msg_type == c.NLMSG_DONE:
                        err = _ERRNO.unpack_from(data, off + 16)[0] if length >= 20 else 0
                        if err:
                            raise NetlinkError(-err)
                        return out  # the ack of a doit, or the end of a dump
                    out.append(data[off + skip:off + length])
                off += (length + 3) & ~3


class GenlSocket(NetlinkSocket):
    """A generic netlink socket bound to one family (resolved by name at open)."""

    def __init__(self, family: str, version: int, netns: str | None = None) -> None:
        """Raises NetlinkError(ENOENT) if the family is not registered, OSError for socket/netns trouble."""
        super().__init__(c.NETLINK_GENERIC, _GENLHDR.size, netns)
        self._version = version
        try:
            self._family_id = self._resolve(family)
        except BaseException:
            self.close()
            raise

    def _resolve(self, name: str) -> int:
        replies = self._send(c.GENL_ID_CTRL, c.CTRL_CMD_GETFAMILY, 1,
                             codec.string(c.CTRL_ATTR_FAMILY_NAME, name), dump=False)
        for body in replies:
            attrs = codec.parse_attrs(body, 0, len(body))
            if c.CTRL_ATTR_FAMILY_ID in attrs:
                return codec.get_u16(body, attrs, c.CTRL_ATTR_FAMILY_ID)
        raise NetlinkError(errno.ENOENT)

    def request(self, cmd: int, attrs: bytes = b"", *, dump: bool = False) -> list[bytes]:
        return self._send(self._family_id, cmd, self._version, attrs, dump=dump)

    def _send(self, msg_type: int, cmd: int, version: int, attrs: bytes, *, dump: bool) -> list[bytes]:
        return self.exchange(msg_type, _GENLHDR.pack(cmd, version, 0) + attrs, dump=dump)


class RouteSocket(NetlinkSocket):
    """An rtnetlink socket: each reply is the family's fixed header (ifinfomsg, ifaddrmsg, rtmsg)
    followed by its attributes."""

    def __init__(self, netns: str | None = None) -> None:
        super().__init__(NETLINK_ROUTE, 0, netns)


def _open_socket(protocol: int) -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, protocol)
    try:
        sock.bind((0, 0))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        with contextlib.suppress(OSError):  # older kernels: errors echo our whole request
            sock.setsockopt(c.SOL_NETLINK, c.NETLINK_CAP_ACK, 1)
    except BaseException:
        sock.close()
        raise
    return sock


def netns_path(name: str) -> str:
    """The bind mount `ip netns add NAME` creates; FileNotFoundError for a name that cannot be one."""
    if not name or "/" in name or name in (".", ".."):
        raise FileNotFoundError(errno.ENOENT, "not a namespace name", name)
    return os.path.join(NETNS_DIR, name)


def in_netns(name: str, fn: Callable[[], T]) -> T:
    """Run `fn` in a helper thread that has joined network namespace `name`.

    Sockets keep the namespace they were created in, so the caller's threads never change namespace;
    the helper thread (and its namespace) ends when `fn` returns.
    """
    path = netns_path(name)
    result: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            enter_netns(path)
            result.append(fn())
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"lvs-top-netns-{name}", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


def enter_netns(path: str) -> None:
    """Move the calling thread into the network namespace at `path` (threads it starts follow)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(fd, _CLONE_NEWNET)
    finally:
        os.close(fd)


def _setns(fd: int, nstype: int) -> None:
    setns = getattr(os, "setns", None)  # Python 3.12+
    if setns is not None:
        setns(fd, nstype)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, nstype) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
