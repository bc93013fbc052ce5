"""A minimal generic-netlink socket: send one request, collect the replies, raise on a kernel error.

No pyroute2 here: a plain `socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC)`, requests built with struct,
replies read with `recv_into` into one reusable buffer. Not thread-safe: one poller thread owns it.
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
from typing import Protocol, TypeVar

from lvs_tui.ipvs import codec
from lvs_tui.ipvs import constants as c

_NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
_GENLHDR = struct.Struct("=BBH")  # cmd, version, reserved
_HDRS = _NLMSGHDR.size + _GENLHDR.size
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


class GenlSocket:
    """A generic netlink socket bound to one family (resolved by name at open)."""

    def __init__(self, family: str, version: int, netns: str | None = None) -> None:
        """Raises NetlinkError(ENOENT) if the family is not registered, OSError for socket/netns trouble."""
        self._version = version
        self._seq = 0
        self._buf = bytearray(_RECV_SIZE)
        self._sock = in_netns(netns, _open_socket) if netns else _open_socket()
        try:
            self._family_id = self._resolve(family)
        except BaseException:
            self._sock.close()
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

    def close(self) -> None:
        self._sock.close()

    def _send(self, msg_type: int, cmd: int, version: int, attrs: bytes, *, dump: bool) -> list[bytes]:
        self._seq = seq = (self._seq + 1) & 0xFFFFFFFF
        flags = c.NLM_F_REQUEST | (c.NLM_F_DUMP if dump else c.NLM_F_ACK)
        header = _NLMSGHDR.pack(_HDRS + len(attrs), msg_type, flags, seq, 0) + _GENLHDR.pack(cmd, version, 0)
        self._sock.send(header + attrs)
        return self._collect(seq)

    def _collect(self, seq: int) -> list[bytes]:
        """Read until NLMSG_DONE (dump) or the ack (doit); messages of other sequences are stale, skipped."""
        out: list[bytes] = []
        buf, sock, unpack = self._buf, self._sock, _NLMSGHDR.unpack_from
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
                    out.append(data[off + _HDRS:off + length])
                off += (length + 3) & ~3


def _open_socket() -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, c.NETLINK_GENERIC)
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
