"""Values people type and files carry, parsed one strict way for every place that reads them: the
command line, the dashboard's forms, rules files and the health checker's config give the same
answer to the same text (pure: no I/O).

Strict means: ASCII digits only (`²` and `١٢` are not numbers here, though Python's int() takes
the second), a bounded length before any conversion, finite numbers, and addresses in the one
form the kernel reports them in. Each parser raises InputError, a ValueError whose message is
one clause naming the value ("the weight must be a whole number from 0 to 2147483647, not
'x'"); the caller puts the object in front of it.
"""

from __future__ import annotations

import ipaddress
import math
import re
import socket

MAX_INPUT = 256  # characters of any one value: longer is not a value of ours
INT_MAX = 0x7FFFFFFF  # weights and thresholds: the kernel keeps an int, ipvsadm 1.31 refuses more
U32_MAX = 0xFFFFFFFF
PORT_MAX = 0xFFFF

_DIGITS = re.compile(r"[0-9]{1,20}")
_DECIMAL = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")


class InputError(ValueError):
    """A value that is not one lvs-top accepts; the message says which and what would be."""


def _short(text: str) -> str:
    """`text` as it goes into a message: quoted, control characters escaped, long ones cut."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def whole(text: str, what: str, low: int = 0, high: int = INT_MAX) -> int:
    """A whole number from `low` to `high`, written in ASCII digits."""
    value = text.strip()
    if not _DIGITS.fullmatch(value) or not low <= int(value) <= high:
        raise InputError(f"{what} must be a whole number from {low} to {high}, not {_short(text)}")
    return int(value)


def seconds(text: str, what: str, low: float = 0.0, high: float = 86_400.0) -> float:
    """A finite number of seconds from `low` to `high` (`1`, `0.5`; no `nan`, `inf` or `1e3`)."""
    value = text.strip()
    if not _DECIMAL.fullmatch(value) or not low <= float(value) <= high:
        raise InputError(f"{what} must be a number of seconds from {low:g} to {high:g}, not {_short(text)}")
    return float(value)


def finite(value: object, what: str, low: float, high: float) -> float:
    """A number already parsed (from TOML, say) checked as `seconds` checks text."""
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or (isinstance(value, float) and not math.isfinite(value)) or not low <= value <= high:
        raise InputError(f"{what} must be a number from {low:g} to {high:g}, not {value!r}")
    return float(value)


def bounded_int(value: object, what: str, low: int, high: int) -> int:
    """A whole number already parsed (from TOML, JSON) checked as `whole` checks text."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{what} must be a whole number from {low} to {high}, not {value!r}")
    return value


def address(text: str, what: str = "the address") -> str:
    """An IPv4 or IPv6 address as the kernel reports it (inet_ntop's form: `::ffff:192.0.2.1`, not
    `::ffff:c000:201`), so that keys written by people compare equal to keys read from the kernel.
    Scope ids (`fe80::1%eth0`) are refused: IPVS has no field for them."""
    value = text.strip()
    if len(value) > 64 or "%" in value:
        raise InputError(f"{what} must be an IPv4 or IPv6 address without a scope, not {_short(text)}")
    try:
        parsed = ipaddress.ip_address(value)
    except ValueError:
        raise InputError(f"{what} must be an IPv4 or IPv6 address, not {_short(text)}") from None
    if parsed.version == 4:
        return str(parsed)
    return socket.inet_ntop(socket.AF_INET6, parsed.packed)


def text(value: str, what: str, limit: int = MAX_INPUT) -> str:
    """Free text (a path, a host name, a command word): no control characters, at most `limit`."""
    if len(value) > limit:
        raise InputError(f"{what} must be at most {limit} characters long")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise InputError(f"{what} must not contain control characters (a NUL, a line break, an escape): "
                         f"{_short(value)}")
    return value


def host_port(text: str, what: str = "the address", low_port: int = 0) -> tuple[str, int]:
    """`192.0.2.1:80` or `[2001:db8::1]:80` as (the address in the kernel's form, the port): an IPv6
    address goes in brackets, no scope id, the port in ASCII digits from `low_port` to 65535."""
    value = text.strip()
    host, separator, port = value.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    if len(value) > 80 or not separator or (":" in host) != bracketed or host.count("[") > bracketed:
        raise InputError(f"{what} must be address:port (an IPv6 address in brackets, [2001:db8::1]:80), "
                         f"not {_short(text)}")
    if not _DIGITS.fullmatch(port) or not low_port <= int(port) <= PORT_MAX:
        raise InputError(f"{what} must end in a port from {low_port} to {PORT_MAX}, not {_short(text)}")
    return address(host[1:-1] if bracketed else host, what), int(port)


_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


def hostname(text: str, what: str = "the host name") -> str:
    """A DNS name in ASCII (`www.example.org`; an internationalised one in its `xn--` form), or an
    IPv4 address: what an HTTP Host header and a TLS server name both carry. No port, no scope."""
    value = text.strip()
    if len(value) > 253 or not all(_LABEL.fullmatch(label) for label in value.split(".")):
        raise InputError(f"{what} must be a host name such as www.example.org (ASCII letters, digits, "
                         f"- and _ between dots; an internationalised name in its xn-- form), "
                         f"not {_short(text)}")
    return value
