"""`lvs-top restore FILE` asks on a real terminal (a pseudo-terminal, as over ssh), and does what
the answer says. A prompt that once passed every test never worked in a terminal: here is one."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect

from lvs_tui.ops.commands import save_lines
from lvs_tui.ops.journal import Journal, outcomes
from lvs_tui.sim import SimulatedDirector

MAIL_LINES = " -t 192.0.2.25:25 "  # the demo's mail service: the file leaves it out


def rules_without_mail(tmp_path: Path) -> Path:
    table = save_lines(SimulatedDirector(seed=1).snapshot())
    lines = [line for line in table if MAIL_LINES not in f"{line} "]
    path = tmp_path / "table.rules"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def restore_in_a_terminal(tmp_path: Path, answer: str) -> tuple[str, int]:
    journal = tmp_path / "journal.jsonl"
    rules = rules_without_mail(tmp_path)
    argv = ["-m", "lvs_tui", "restore", str(rules), "--demo", "--journal", str(journal)]
    child = pexpect.spawn(sys.executable, argv,
                          env={**os.environ, "HOME": str(tmp_path)}, encoding="utf-8", timeout=60,
                          dimensions=(24, 80))
    child.expect_exact("Apply this change? [y/N] ")
    child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus is not None
    return child.before or "", child.exitstatus


def test_answering_no_on_a_terminal_changes_nothing(tmp_path: Path) -> None:
    said, status = restore_in_a_terminal(tmp_path, "n")
    assert status == 0 and "Nothing was applied." in said
    assert not (tmp_path / "journal.jsonl").exists()


def test_answering_yes_on_a_terminal_applies_and_journals(tmp_path: Path) -> None:
    said, status = restore_in_a_terminal(tmp_path, "y")
    assert status == 0 and "ipvsadm -D -t 192.0.2.25:25: ok" in said
    applied = list(outcomes(Journal(tmp_path / "journal.jsonl").entries()))
    assert [(entry["action"], entry["result"]) for entry in applied] == [("restore", "ok")]
