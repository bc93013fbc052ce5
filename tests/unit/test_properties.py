"""Generated input for every parser of text or bytes from outside: whatever comes in, the result is
a value or the parser's documented error, never another exception (hypothesis)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lvs_tui.ipvs import constants as c
from lvs_tui.ipvs.poll import PollDecoder
from lvs_tui.model.connections import Connection
from lvs_tui.model.records import ServiceKey, parse_host_port
from lvs_tui.ops.conntable import parse_line
from lvs_tui.ops.journal import Journal, drained_weights, unfinished
from lvs_tui.ops.rules import RulesError, parse_rules

MANY = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))

# Words a rules file is made of, so that generated lines reach deep into the parser, not only its
# first "that is not -A" refusal.
RULE_WORDS = [
    "-A", "-a", "-t", "-u", "-f", "--sctp-service", "-s", "rr", "wrr", "sh", "-p", "-M", "-o", "-b",
    "sh-fallback,sh-port", "-r", "-m", "-g", "-i", "-w", "-x", "-y", "--tun-type", "gue", "--tun-port",
    "--tun-csum", "-6", "--pe", "sip", "10.0.0.1:80", "[2001:db8::1]:80", "10.0.0.2", "0", "1", "65536",
    "4294967296", "2147483648", "\u00b2", "fe80::1%eth0", "[::ffff:c000:201]:80", "#", "\x1b[2J",
]  # fmt: skip


@MANY
@given(st.text(max_size=300))
def test_any_text_is_rules_or_a_rules_error(text: str) -> None:
    try:
        rules = parse_rules(text)
    except RulesError as error:
        assert error.problems and all("\x1b" not in str(problem) for problem in error.problems)
    else:
        assert isinstance(rules, list)


@MANY
@given(st.lists(st.lists(st.sampled_from(RULE_WORDS), max_size=10), max_size=8))
def test_any_arrangement_of_rule_words_is_rules_or_a_rules_error(lines: list[list[str]]) -> None:
    try:
        parse_rules("\n".join(" ".join(words) for words in lines))
    except RulesError as error:
        assert {problem.line for problem in error.problems} <= set(range(1, len(lines) + 1))


@MANY
@given(st.text(max_size=80))
def test_any_text_is_a_service_key_or_a_value_error(text: str) -> None:
    try:
        key = ServiceKey.parse(text)
    except ValueError:
        return
    assert ServiceKey.parse(key.id) == key  # what it accepts, it writes back the same


@MANY
@given(st.text(max_size=80))
def test_any_text_is_an_address_and_port_or_a_value_error(text: str) -> None:
    try:
        address, port = parse_host_port(text)
    except ValueError:
        return
    assert 0 <= port <= 0xFFFF and "%" not in address


@MANY
@given(st.text(max_size=200))
def test_any_line_of_the_connection_table_is_an_entry_or_none(line: str) -> None:
    assert parse_line(line) is None or isinstance(parse_line(line), Connection)


@MANY
@given(st.lists(st.sampled_from(["TCP", "UDP", "IP", "0A0A0002", "9C40", "0050", "2001:0db8::2", "FFFF",
                                 "ESTABLISHED", "NONE", "899", "-1", "sip", "x" * 20, "\u0661"]),
                min_size=8, max_size=12))
def test_any_arrangement_of_connection_fields_is_an_entry_or_none(fields: list[str]) -> None:
    parsed = parse_line(" ".join(fields))
    assert parsed is None or (0 <= parsed.client_port <= 0xFFFF and parsed.expires >= 0)


def nla(kind: int, payload: bytes) -> bytes:
    return struct.pack("HH", len(payload) + 4, kind) + payload + bytes(-len(payload) % 4)


ATTRS = st.lists(st.tuples(st.integers(0, 16), st.binary(max_size=48)), max_size=14)


@st.composite
def replies(draw: st.DrawFn, outer: int) -> bytes:
    """A generic netlink reply body: the genl header, then one nest of random attributes (some of
    them nests of random attributes themselves, as the stats are)."""
    inner = b"".join(nla(kind, payload if draw(st.booleans()) else
                         b"".join(nla(k, p) for k, p in draw(ATTRS)))
                     for kind, payload in draw(ATTRS))
    return draw(st.binary(min_size=4, max_size=4)) + nla(outer, inner) + draw(st.binary(max_size=8))


@MANY
@given(replies(c.CMD_ATTR_SERVICE), st.lists(replies(c.CMD_ATTR_DEST), max_size=3), st.binary(max_size=64))
def test_any_netlink_reply_decodes_to_records_or_is_skipped(service: bytes, dests: list[bytes],
                                                             noise: bytes) -> None:
    decoder = PollDecoder()
    for body in (service, noise):
        decoder.start()
        found = decoder.service(body)
        if found is not None:
            decoded = decoder.with_dests(body, found[0], [*dests, noise])
            assert decoded.key == found[0].key


@MANY
@given(st.lists(st.one_of(st.binary(max_size=120), st.sampled_from([
    b"5", b"[1, 2]", b"null", b'{"result": "ok", "action": "edit_dest", "target": 5}',
    b'{"result": "intended", "write": ["x"]}', b'{"result": "ok", "action": "edit_dest", "target": "t",'
    b' "before": {"weight": 1e300}, "after": {"weight": 0}}', b"\xff\xfe", b'{"after": {"weight": true}}'])),
    max_size=12))
def test_any_journal_is_read_without_a_crash(tmp_path_factory: pytest.TempPathFactory,
                                             lines: list[bytes]) -> None:
    path = tmp_path_factory.mktemp("journal") / "journal.jsonl"
    path.write_bytes(b"\n".join(lines))
    journal = Journal(path)
    entries = list(journal.entries())
    assert all(isinstance(entry, dict) for entry in entries)
    weights = drained_weights(iter(entries))
    assert all(isinstance(weight, int) and 0 < weight <= 0x7FFFFFFF for weight in weights.values())
    unfinished(iter(entries))
