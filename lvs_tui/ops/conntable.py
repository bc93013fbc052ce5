"""The kernel's connection table, `/proc/net/ip_vs_conn`, read as a stream.

The table is not on netlink and can hold millions of entries, so nothing here reads it whole:
lines are parsed one at a time and the filters and the grouping take one pass with memory that
grows with the number of distinct clients, never with the number of connections.

One line per entry, as `ip_vs_conn_seq_show` (net/netfilter/ipvs/ip_vs_conn.c) prints it:

    Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
    TCP 0A0A0002 9C40 0A0A0001 0050 0A140102 0050 ESTABLISHED     899
    UDP 2001:0db8:0000:0000:0000:0000:0000:0002 ... (IPv6 addresses in full text, ports in hex)
    UDP 0A0A0002 0000 0A0A0001 13C4 0A140102 13C4 NONE            119 sip 1234@host

IPv4 addresses are 8 hex digits, ports 4; the destination has its own family (an IPv4 service may
tunnel to an IPv6 real server). The state is the protocol's state name, or NONE/ASSURED for a
persistence template. Expires is whole seconds. "PEName PEData" appear only with a persistence
engine (sip: the Call-ID).
"""

from __future__ import annotations

import errno
import ipaddress
import os
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import IO

from lvs_tui.ipvs.errors import IpvsError, IpvsUnavailable, NamespaceNotFound, PermissionDenied
from lvs_tui.ipvs.netlink import in_netns, netns_path
from lvs_tui.model.connections import Connection, for_dest

PROC_CONN = "/proc/net/ip_vs_conn"
# /proc/net follows the namespace of the *process* (it is /proc/self/net); a helper thread that
# joined another namespace must open its own view.
_THREAD_PROC_CONN = "/proc/thread-self/net/ip_vs_conn"

# A template's state comes from the kernel's template state table, not the protocol's.
TEMPLATE_STATES = frozenset({"NONE", "ASSURED"})


class ConnTableUnavailable(IpvsUnavailable):
    """`/proc/net/ip_vs_conn` is missing: the ip_vs module is not loaded."""


@lru_cache(maxsize=8192)
def _address(text: str) -> str:
    """Canonical text of a table address; cached because a table repeats a few VIPs and servers."""
    if ":" in text:
        return str(ipaddress.IPv6Address(text))
    if len(text) != 8:
        raise ValueError(f"not an IPv4 address in hex: {text!r}")
    n = int(text, 16)
    return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


_PROTOCOLS = {"TCP": "tcp", "UDP": "udp", "SCTP": "sctp", "IP": "ip"}


def parse_line(line: str) -> Connection | None:
    """One table line as a Connection; None for the header, a blank or a malformed line.

    Written for speed (a table can hold millions of lines): positional fields, no helper calls
    beyond the address cache.
    """
    parts = line.split(None, 10)
    if len(parts) < 9:
        return None
    proto, caddr, cport, vaddr, vport, daddr, dport, state, expires = parts[:9]
    # %04X of a 16-bit port is always 4 digits: anything else is a torn or foreign line.
    if len(cport) != 4 or len(vport) != 4 or len(dport) != 4:
        return None
    try:
        client_port = int(cport, 16)
        conn = Connection(
            _PROTOCOLS.get(proto) or proto.lower(),
            _address(caddr),
            client_port,
            _address(vaddr),
            int(vport, 16),
            _address(daddr),
            int(dport, 16),
            state,
            int(expires),
            # Real connections always have a client port; templates are keyed by client address
            # alone (port 0), and fwmark templates carry protocol IP.
            proto == "IP" or (client_port == 0 and state in TEMPLATE_STATES),
            parts[9] if len(parts) > 9 else None,
            parts[10].rstrip("\n") if len(parts) > 10 else None,
        )
    except ValueError:  # not hex, not a number, not an address (the header is one of these)
        return None
    return conn


def iter_connections(lines: Iterable[str]) -> Iterator[Connection]:
    """Parse lines lazily; the header and malformed lines are skipped, never fatal."""
    for line in lines:
        conn = parse_line(line)
        if conn is not None:
            yield conn


def read_connections(path: str = PROC_CONN, netns: str | None = None) -> Iterator[Connection]:
    """Stream the connection table of the host, or of network namespace `netns`.

    The file is opened now (so a missing IPVS fails here, not at the first entry) and read line
    by line as the iterator advances; it is closed when the iterator is exhausted or dropped.
    """
    stream = _open(path, netns)
    return _stream(stream)


def _stream(stream: IO[str]) -> Iterator[Connection]:
    with stream:
        yield from iter_connections(stream)


def _open(path: str, netns: str | None) -> IO[str]:
    # PE data (a SIP Call-ID) is raw bytes from the wire: never let it break decoding.
    def opener(name: str) -> IO[str]:
        return open(name, encoding="utf-8", errors="replace")  # closed by _stream

    if netns is not None and not _netns_exists(netns):
        raise NamespaceNotFound(f"network namespace {netns!r} does not exist: see `ip netns list`.")
    try:
        if netns is None:
            return opener(path)
        # The seq file keeps the namespace it was opened in, so only the open runs in the helper.
        name = _THREAD_PROC_CONN if path == PROC_CONN else path
        return in_netns(netns, lambda: opener(name))
    except FileNotFoundError:
        where = f" in network namespace {netns!r}" if netns else ""
        raise ConnTableUnavailable(
            f"IPVS is not loaded{where} ({path} is missing): load it with `modprobe ip_vs`."
        ) from None
    except PermissionError as exc:
        if netns is not None and exc.errno == errno.EPERM:
            raise PermissionDenied(
                f"entering network namespace {netns!r} needs root (CAP_SYS_ADMIN): run lvs-top as root."
            ) from None
        raise IpvsError(f"could not read {path}: {exc.strerror or exc}.") from None


def _netns_exists(name: str) -> bool:
    try:
        return os.path.exists(netns_path(name))
    except FileNotFoundError:  # not even a valid name
        return False


# --- "who is still on it?" --------------------------------------------------------------------


def proc_address(address: str) -> str:
    """An address as the table prints it: 8 upper-case hex digits, or the full IPv6 form."""
    ip = ipaddress.ip_address(address.strip("[]"))
    return ip.exploded if ip.version == 6 else f"{int(ip):08X}"


def read_dest_connections(address: str, port: int | None = None, path: str = PROC_CONN,
                          netns: str | None = None) -> Iterator[Connection]:
    """The entries of one real server (every port of it when `port` is None), streamed.

    A substring test rejects the other servers' lines before they are parsed, which makes a
    table of millions of entries several times cheaper to search; `for_dest` then checks the
    destination columns exactly (the same text could stand in the client or virtual columns).
    """
    needle = proc_address(address) + (f" {port:04X} " if port is not None else " ")
    stream = _open(path, netns)
    return for_dest(_stream_matching(stream, needle), address, port)


def _stream_matching(stream: IO[str], needle: str) -> Iterator[Connection]:
    with stream:
        yield from iter_connections(line for line in stream if needle in line)
