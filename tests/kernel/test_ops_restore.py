"""`lvs-top save` and `lvs-top restore` against the real kernel: save, `ipvsadm -C`, restore (run
as an operator runs them, `python -m lvs_tui ...`) gives back the very table `ipvsadm -Sn` printed,
thresholds too; a restore converges a changed table; `--read-only` and a malformed file change
nothing at all. The later runs call the same `main()` in this process: starting lvs-top takes
seconds in the emulated VM, and `python -m lvs_tui` is `raise SystemExit(main())`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.kernel.lab import lvs_top
from tests.kernel.lab.commands import clear, ipvsadm, ipvsadm_lines, listing
from tests.kernel.lab.journal import settled
from tests.kernel.lab.tables import MIXED_RULES


def run(*args: str) -> tuple[int, str, str]:
    """`lvs-top ARGS` in this process (lab.lvs_top.here): exit code, stdout, stderr."""
    done = lvs_top.here(*args)
    return done.code, done.out, done.err


def table_state() -> tuple[str, dict[str, Any]]:
    """`ipvsadm -Sn`, byte for byte, and the thresholds it leaves out."""
    listed = listing("--thresholds").services
    thresholds = {sid: {did: (d.int("Uthreshold"), d.int("Lthreshold")) for did, d in s.dests.items()}
                  for sid, s in listed.items()}
    return ipvsadm("-Sn").stdout, thresholds


def journal_results(path: Path) -> list[tuple[str, str]]:
    return [(entry["action"], entry["result"]) for entry in settled(path)]


def test_save_clear_restore_gives_back_the_same_table(tmp_path: Path) -> None:
    ipvsadm_lines(MIXED_RULES)
    original = table_state()
    save = lvs_top.run("save")
    assert save.code == 0, save.err
    rules = tmp_path / "table.rules"
    rules.write_text(save.out)
    assert len(rules.read_text().splitlines()) == len(MIXED_RULES)
    clear()
    assert ipvsadm("-Sn").stdout == ""

    journal = tmp_path / "journal.jsonl"
    done = lvs_top.run("restore", str(rules), "--yes", "--journal", str(journal))
    assert done.code == 0, done.out + done.err
    assert table_state() == original
    assert journal_results(journal) == [("restore", "ok")] * len(MIXED_RULES)

    code, out, err = run("restore", str(rules), "--yes", "--journal", str(journal))
    assert code == 0, err
    assert "nothing to do" in out
    assert len(journal_results(journal)) == len(MIXED_RULES)


def test_read_only_and_malformed_restores_change_nothing_then_a_restore_converges(tmp_path: Path) -> None:
    ipvsadm_lines(MIXED_RULES)
    original = table_state()
    code, out, err = run("save")
    assert code == 0, err
    rules = tmp_path / "table.rules"
    rules.write_text(out)
    ipvsadm_lines([
        "-e -t 10.10.0.1:80 -r 10.20.1.2:80 -m -w 9",  # edited
        "-D -u 10.10.0.1:514",  # removed
        "-A -t 10.10.0.1:25 -s rr",  # added
        "-a -t 10.10.0.1:25 -r 10.20.3.2:25 -m",
    ])
    changed = ipvsadm("-Sn").stdout
    journal = tmp_path / "journal.jsonl"

    code, out, err = run("restore", str(rules), "--read-only", "--yes", "--journal", str(journal))
    assert code == 0, err
    assert "read-only" in err and "nothing was applied" in err
    diff = [line for line in out.splitlines() if line[:2] in ("+ ", "- ", "~ ")]
    assert sorted(diff) == sorted([
        "- ipvsadm -D -t 10.10.0.1:25",
        "+ ipvsadm -A -u 10.10.0.1:514 -s lc -o",
        "+ ipvsadm -a -u 10.10.0.1:514 -r 10.20.3.2:514 -m -w 2",
        "~ ipvsadm -e -t 10.10.0.1:80 -r 10.20.1.2:80 -m -w 1",
    ])
    assert ipvsadm("-Sn").stdout == changed
    assert not journal.exists()

    text = rules.read_text().splitlines()
    for name, bad, line in (
        ("bad weight", [*text, "-a -t 10.10.0.1:80 -r 10.20.9.2:80 -m -w lots"], len(text) + 1),
        ("server of no service", ["-a -t 10.10.0.1:81 -r 10.20.1.2:80 -m", *text], 1),
        ("unknown option", [*text[:3], "-A -t 10.10.0.1:81 -s rr --frobnicate", *text[3:]], 4),
    ):
        malformed = tmp_path / "malformed.rules"
        malformed.write_text("\n".join(bad) + "\n")
        args = ("restore", str(malformed), "--yes", "--journal", str(journal))
        if name == "bad weight":  # once as a process: its exit status
            process = lvs_top.run(*args)
            code, out, err = process.code, process.out, process.err
        else:
            code, out, err = run(*args)
        assert code == 1, (name, out, err)
        assert f"line {line}:" in err and "nothing was applied" in err, (name, err)
        assert out == "", name
        assert ipvsadm("-Sn").stdout == changed, name
        assert not journal.exists(), name

    code, out, err = run("restore", str(rules), "--yes", "--journal", str(journal))
    assert code == 0, out + err
    assert table_state() == original
    assert journal_results(journal) == [("restore", "ok")] * 4
