"""One strict answer per kind of value, wherever it is typed or read: the command line, the forms,
rules files and service keys all refuse what the others refuse, and agree on what they accept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lvs_tui.cli import main
from lvs_tui.ipvs.errors import InvalidArgument
from lvs_tui.model import inputs
from lvs_tui.model.printable import printable
from lvs_tui.model.records import ServiceKey, parse_host_port
from lvs_tui.ops.rules import RulesError, parse_rules
from lvs_tui.ui.forms import address, whole

HOSTILE_NUMBERS = ["\u00b2", "\u0661\u0662", "12\u0663", "nan", "inf", "-1", "0x10", "1e3", "9" * 5000, "",
                   " "]
SRC = Path(__file__).resolve().parents[2] / "lvs_tui"


@pytest.mark.parametrize("text", HOSTILE_NUMBERS, ids=repr)
def test_a_number_that_is_not_plain_ascii_digits_is_refused_everywhere(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(inputs.InputError):
        inputs.whole(text, "the weight")
    with pytest.raises(InvalidArgument):
        whole("weight", text or "x")  # an empty field is "enter the weight", also a refusal
    with pytest.raises(RulesError):
        parse_rules(f"-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 198.51.100.1:80 -w {text or 'x'}")
    with pytest.raises(ValueError):
        ServiceKey.parse(f"fwm:{text}")
    assert main(["--batch", "--demo", "-n", text or "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and len(err) < 400  # no 5,000 digits echoed


@pytest.mark.parametrize("spelling", ["::ffff:c000:201", "::FFFF:192.0.2.1", "0:0:0:0:0:ffff:c000:0201"])
def test_every_spelling_of_an_address_gives_the_kernels_form(spelling: str) -> None:
    kernel = "::ffff:192.0.2.1"  # inet_ntop's, as the netlink decoder gives it
    assert inputs.address(spelling) == kernel
    assert address("address", f"[{spelling}]") == kernel
    assert parse_host_port(f"[{spelling}]:80") == (kernel, 80)
    (rule,) = parse_rules(f"-A -t [{spelling}]:80 -s rr")
    assert rule.config.key == ServiceKey.inet("tcp", kernel, 80)


@pytest.mark.parametrize("text", ["fe80::1%eth0", "fe80::1%\udcff", "192.0.2.1%lo", "2001:db8::1%1"])
def test_a_scoped_address_is_refused_everywhere(text: str) -> None:
    with pytest.raises(inputs.InputError):
        inputs.address(text)
    with pytest.raises(InvalidArgument):
        address("address", text)
    with pytest.raises(RulesError):
        parse_rules(f"-A -t [{text}]:80 -s rr")
    with pytest.raises(ValueError):
        parse_host_port(f"[{text}]:80")


def test_seconds_are_finite_and_bounded() -> None:
    assert inputs.seconds("0.5", "the interval") == 0.5
    for text in ("nan", "inf", "-0.1", "1e3", "86401", "\u0661"):
        with pytest.raises(inputs.InputError):
            inputs.seconds(text, "the interval")
    for value in (float("nan"), float("inf"), True, "1", 10**400):
        with pytest.raises(inputs.InputError):
            inputs.finite(value, "the interval", 0.0, 60.0)


def test_an_empty_namespace_is_not_the_hosts(capsys: pytest.CaptureFixture[str]) -> None:
    """`--netns=` once meant this host's table, and `restore --netns= --yes` wrote to it."""
    assert main(["restore", "x.rules", "--netns=", "--yes"]) == 2
    assert "is not a network namespace name" in capsys.readouterr().err


def test_control_characters_are_written_out_not_sent_to_the_terminal() -> None:
    assert printable("a\x1b[2Jb\x07\x9b\x00\tc") == "a\\x1b[2Jb\\x07\\x9b\\x00 c"
    assert printable("plain: [fd00::1]:80 ü") == "plain: [fd00::1]:80 ü"


def test_no_reader_parses_digits_its_own_way() -> None:
    """Python's isdigit() and `\\d` take `²` and `١٢`; model.inputs is the one place numbers are
    read from text, with ASCII digits only."""
    offenders = []
    for path in SRC.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if ".isdigit()" in line or re.search(r"\\d", line) or ".isdecimal()" in line:
                offenders.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert offenders == []
