"""The agent's protocol: JSON lines over the agent's standard input and output, one request and
its answer at a time (docs/directors.md is its reference).

The agent speaks first, a hello: `{"protocol": "lvs-top-agent", "version": 1, "director": NAME,
"read_only": true, "lvs_top": VERSION}`. Then each request `{"id": N, "op": OP}` gets one answer
`{"id": N, "ok": true, ...}` or `{"id": N, "ok": false, "error": SENTENCE}`. Operations of version 1:
`snapshot` (the table, as `--batch --json` prints it: `"snapshot": {...}`) and `daemons` (the IPVS
sync daemons: `"daemons": [{"state": "master", "mcast_ifn": "eth1", "syncid": 5}]`). The agent
ends when its input ends.

Version 2 adds what maintenance needs (lvs_tui.directors.writes): `drained` (the weight each drained
real server had before its drain, by target, from that director's journal and drain records),
`sysctls` (its net.ipv4.vs sysctls, for the warnings of a plan made for it) and three real server
writes, `edit_dest`, `add_dest` and `delete_dest`. The agent builds each change
from its own table, journals it on its director before making it, and refuses every one when it
runs with --read-only.

Version 3 adds `addresses`: the addresses on the director's interfaces (`"addresses": ["192.0.2.10",
...]`), which say which director holds each VIP.
"""

from __future__ import annotations

import json
from typing import Any

PROTOCOL = "lvs-top-agent"
VERSION = 3
READS = ("snapshot", "daemons", "drained", "sysctls", "addresses")
WRITES = ("edit_dest", "add_dest", "delete_dest")
OPERATIONS = READS + WRITES
MAX_REQUEST = 64 * 1024  # bytes: requests are small; a longer line is not a request
MAX_ANSWER = 512 * 1024 * 1024  # bytes: a table of 100,000 real servers is about 60 MB

JsonObject = dict[str, Any]


class ProtocolError(Exception):
    """The other side did not speak this protocol; the message says how."""


def line(message: JsonObject) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def hello(director: str, read_only: bool, version: str) -> JsonObject:
    return {"protocol": PROTOCOL, "version": VERSION, "director": director, "read_only": read_only,
            "lvs_top": version}


def parsed(raw: bytes) -> JsonObject:
    """One line as a JSON object; ProtocolError if it is not one."""
    try:
        message = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(f"not a JSON line: {raw[:60]!r}") from None
    if not isinstance(message, dict):
        raise ProtocolError(f"not a JSON object: {raw[:60]!r}")
    return message


def check_hello(message: JsonObject) -> None:
    if message.get("protocol") != PROTOCOL:
        raise ProtocolError(f"it does not speak {PROTOCOL} (its first line: {json.dumps(message)[:60]})")
    if message.get("version") != VERSION:
        raise ProtocolError(f"it speaks version {message.get('version')!r} of the protocol, this lvs-top "
                            f"version {VERSION}: run the same lvs-top on both")
