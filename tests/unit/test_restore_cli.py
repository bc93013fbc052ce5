"""`lvs-top restore FILE` on the demo director: refuse bad files whole, converge, dry-run, confirm."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from lvs_tui.cli import main
from lvs_tui.cli.restore import build_parser, run_restore
from lvs_tui.ipvs.backend import Backend, DestConfig, DestEdit, ServiceConfig
from lvs_tui.ipvs.readonly import ReadOnlyBackend
from lvs_tui.model.records import DestKey, Forward, ServiceKey
from lvs_tui.ops.commands import Unsaveable, save_lines, service_args
from lvs_tui.ops.journal import Journal, outcomes
from lvs_tui.ops.runner import JournalUnwritable
from lvs_tui.sim import SimulatedDirector

MAIL = ServiceKey.inet("tcp", "192.0.2.25", 25)  # in the demo table
WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)


def demo() -> SimulatedDirector:
    return SimulatedDirector(seed=1)  # what --demo opens


def saved(tmp_path: Path, director: SimulatedDirector, drop: ServiceKey | None = None) -> Path:
    """The director's table as a rules file, without the lines of service `drop` if given."""
    lines = save_lines(director.snapshot())
    if drop is not None:
        names = " " + " ".join(service_args(drop)) + " "  # " -t 192.0.2.25:25 " in its -A and -a lines
        lines = [line for line in lines if names not in f"{line} "]
    path = tmp_path / "table.rules"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def restore(director: SimulatedDirector | ReadOnlyBackend, *argv: str) -> int:
    """run_restore on one shared director (cli.main would open a fresh one for each call)."""
    args = build_parser().parse_args([*argv, "--demo"])

    def open_backend(_: argparse.Namespace) -> Backend:
        return director

    return run_restore(args, open_backend)


def test_a_malformed_line_is_refused_by_number_and_nothing_is_applied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    director = demo()
    before = save_lines(director.snapshot())
    rules = tmp_path / "bad.rules"
    rules.write_text("-A -t 192.0.2.99:80 -s rr\n"
                     "# fine so far\n"
                     "-a -t 192.0.2.99:80 -r 198.51.100.1 -w many\n")
    journal = tmp_path / "journal.jsonl"
    assert restore(director, str(rules), "--yes", "--journal", str(journal)) == 1
    err = capsys.readouterr().err
    assert "line 3" in err and "nothing was applied" in err
    assert save_lines(director.snapshot()) == before  # the valid first line was not applied either
    assert not journal.exists()
    assert main(["restore", str(rules), "--demo", "--yes", "--journal", str(journal)]) == 1


def test_restore_puts_back_a_saved_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    director = demo()
    before = save_lines(director.snapshot())
    rules = saved(tmp_path, director)
    director.delete_service(MAIL)
    director.edit_dest(WEB, DestKey("198.51.100.12", 8080), DestEdit(weight=9))
    journal = Journal(tmp_path / "journal.jsonl")
    assert restore(director, str(rules), "--yes", "--journal", str(journal.path)) == 0
    assert save_lines(director.snapshot()) == before
    out = capsys.readouterr().out
    assert "+ ipvsadm -A -t 192.0.2.25:25" in out and "~ ipvsadm -e -t 192.0.2.10:80" in out
    entries = list(outcomes(journal.entries()))
    assert len(entries) == 4  # MAIL, its two servers, WEB's edited server
    assert {entry["action"] for entry in entries} == {"restore"}
    assert {entry["result"] for entry in entries} == {"ok"}
    assert restore(director, str(rules), "--yes", "--journal", str(journal.path)) == 0
    assert "nothing to do" in capsys.readouterr().out and len(list(outcomes(journal.entries()))) == 4


def test_read_only_shows_the_difference_and_applies_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    director = demo()
    before = save_lines(director.snapshot())
    rules = saved(tmp_path, director, drop=MAIL)
    journal = tmp_path / "journal.jsonl"
    assert restore(ReadOnlyBackend(director), str(rules), "--yes", "--journal", str(journal)) == 0
    assert save_lines(director.snapshot()) == before
    assert not journal.exists()
    assert main(["restore", str(rules), "--demo", "--read-only", "--yes", "--journal", str(journal)]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("- ipvsadm -D -t 192.0.2.25:25") == 2  # once per run
    assert "nothing was applied" in captured.err
    assert not journal.exists()


def test_without_yes_and_without_a_terminal_restore_exits_2(tmp_path: Path) -> None:
    rules = saved(tmp_path, demo(), drop=MAIL)
    journal = tmp_path / "journal.jsonl"
    # A new session has no controlling terminal: /dev/tty cannot be opened to ask.
    result = subprocess.run(
        [sys.executable, "-m", "lvs_tui", "restore", str(rules), "--demo", "--journal", str(journal)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False,
        start_new_session=True,
    )
    assert result.returncode == 2, result.stderr
    assert "--yes" in result.stderr and "Traceback" not in result.stderr
    assert not journal.exists()


def test_main_applies_the_difference_and_journals_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = saved(tmp_path, demo(), drop=MAIL)
    journal = Journal(tmp_path / "journal.jsonl")
    assert main(["restore", str(rules), "--demo", "--yes", "--journal", str(journal.path)]) == 0
    assert [(entry["target"], entry["result"]) for entry in outcomes(journal.entries())] == [(MAIL.id, "ok")]
    out = capsys.readouterr().out
    assert "ipvsadm -D -t 192.0.2.25:25: ok" in out


def test_an_unwritable_journal_stops_restore_before_any_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    director = demo()
    before = save_lines(director.snapshot())
    rules = saved(tmp_path, director, drop=MAIL)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    journal = blocker / "journal.jsonl"
    with pytest.raises(JournalUnwritable):
        restore(director, str(rules), "--yes", "--journal", str(journal))
    assert save_lines(director.snapshot()) == before
    assert main(["restore", str(rules), "--demo", "--yes", "--journal", str(journal)]) == 1
    assert str(journal) in capsys.readouterr().err


def test_rules_can_come_from_standard_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    director = demo()
    rules = saved(tmp_path, director, drop=MAIL)
    monkeypatch.setattr(sys, "stdin", io.StringIO(rules.read_text()))
    assert restore(director, "-", "--yes", "--journal", str(tmp_path / "journal.jsonl")) == 0
    assert director.snapshot().service(MAIL) is None


def test_every_bad_line_is_named_and_none_reaches_the_terminal_raw(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    director = demo()
    before = save_lines(director.snapshot())
    rules = tmp_path / "hostile.rules"
    rules.write_text("-A -t 192.0.2.99:80 -s rr\x1b[2J\n"  # an escape sequence: clear the screen
                     "-A -t [fe80::1%eth0]:80 -s rr\n"  # a scope: IPVS has no field for it
                     "-a -t 192.0.2.99:80 -r 198.51.100.1 -w \u00b2\n"  # a superscript two
                     "-A -f 99999999999999999999999999999999 -s rr\n")
    assert main(["restore", str(rules), "--demo", "--yes", "--journal", str(tmp_path / "j")]) == 1
    err = capsys.readouterr().err
    assert [f"line {n}:" in err for n in (1, 2, 3, 4)] == [True] * 4
    assert "\x1b" not in err and "Traceback" not in err and "\\x1b[2J" in err
    assert save_lines(director.snapshot()) == before and not (tmp_path / "j").exists()


def test_a_scheduler_the_director_lacks_changes_nothing_not_even_the_deletes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The file of one line that once deleted every service before failing ("7 of 8 done")."""
    director = demo()
    before = save_lines(director.snapshot())
    rules = tmp_path / "one.rules"
    rules.write_text("-A -t 192.0.2.99:80 -s foo\n")
    journal = tmp_path / "journal.jsonl"
    assert restore(director, str(rules), "--yes", "--journal", str(journal)) == 1
    assert save_lines(director.snapshot()) == before
    assert "'foo' is not available on this director" in capsys.readouterr().err
    assert not journal.exists()


def test_save_then_restore_of_a_mapped_ipv6_table_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    director = SimulatedDirector(seed=1, services=0)
    key = ServiceKey.inet("tcp", "::ffff:192.0.2.1", 80)
    director.add_service(ServiceConfig(key, "rr"))
    director.add_dest(key, DestConfig("::ffff:198.51.100.1", 80))
    rules = saved(tmp_path, director)
    rules.write_text(rules.read_text().replace("::ffff:192.0.2.1", "::ffff:c000:201"))  # another spelling
    assert restore(director, str(rules), "--yes", "--journal", str(tmp_path / "j")) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_save_refuses_a_table_it_could_not_give_back(capsys: pytest.CaptureFixture[str]) -> None:
    snapshot = demo().snapshot()
    web = snapshot.service(WEB)
    assert web is not None
    odd = replace(web.dests[0], forward=Forward.BYPASS)
    big = replace(web.dests[1], upper_threshold=3_000_000_000)
    table = replace(snapshot, services=(replace(web, dests=(odd, big)),))
    with pytest.raises(Unsaveable) as caught:
        save_lines(table)
    problems = caught.value.problems
    assert len(problems) == 2 and "bypass" in problems[0] and "3000000000" in problems[1]
