"""lvs_tui.ops.owners: the daemons that manage the IPVS table, found among fake processes."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

from lvs_tui.ops import owners
from lvs_tui.ops.owners import find_owners


def proc(pid: int, name: str | None, *cmdline: str) -> SimpleNamespace:
    """What psutil.process_iter yields: `.info` holds the attributes asked for (None when denied)."""
    return SimpleNamespace(info={"pid": pid, "name": name, "cmdline": list(cmdline) or None})


@pytest.fixture
def processes(monkeypatch: pytest.MonkeyPatch) -> list[SimpleNamespace]:
    running: list[SimpleNamespace] = []

    def process_iter(attrs: list[str]) -> list[SimpleNamespace]:
        assert {"pid", "name", "cmdline"} <= set(attrs)
        return running

    monkeypatch.setattr(psutil, "process_iter", process_iter)
    return running


def test_no_manager_running_finds_nothing(processes: list[SimpleNamespace]) -> None:
    processes += [proc(1, "systemd", "/sbin/init"), proc(200, "sshd", "sshd: /usr/sbin/sshd -D"),
                  proc(300, None)]  # a process whose details were denied
    assert find_owners() == ()


def test_a_daemon_and_its_children_are_one_owner_named_by_the_parent(
    processes: list[SimpleNamespace],
) -> None:
    processes += [proc(812, "keepalived", "/usr/sbin/keepalived", "--dont-fork"),
                  proc(811, "keepalived", "/usr/sbin/keepalived", "--dont-fork"),
                  proc(813, "keepalived", "/usr/sbin/keepalived", "--dont-fork")]
    found = find_owners()
    assert [(owner.name, owner.pid) for owner in found] == [("keepalived", 811)]
    assert "keepalived (pid 811" in found[0].warning() and "revert" in found[0].warning()


@pytest.mark.parametrize(
    "cmdline",
    [
        ("/usr/bin/perl", "-w", "/usr/sbin/ldirectord", "start"),  # its #!/usr/bin/perl -w line
        ("/usr/bin/perl", "/usr/sbin/ldirectord", "ldirectord.cf", "start"),
        ("perl", "-w", "-T", "/usr/sbin/ldirectord", "start"),
    ],
)
def test_ldirectord_runs_as_perl_with_its_script_on_the_command_line(
    processes: list[SimpleNamespace], cmdline: tuple[str, ...]
) -> None:
    processes.append(proc(4242, "perl", *cmdline))
    assert [(owner.name, owner.pid) for owner in find_owners()] == [("ldirectord", 4242)]


def test_a_command_that_merely_mentions_a_manager_is_not_one(processes: list[SimpleNamespace]) -> None:
    processes += [proc(10, "less", "less", "/usr/sbin/ldirectord"),
                  proc(11, "systemctl", "systemctl", "reload", "keepalived"),
                  proc(12, "perl", "perl", "-e", "print 1")]
    assert find_owners() == ()


def test_each_kind_is_listed_once_with_its_first_existing_configuration(
    processes: list[SimpleNamespace], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "ldirectord.cf"
    config.write_text("virtual=192.0.2.10:80\n")
    configs = (str(tmp_path / "missing.cf"), str(config))
    monkeypatch.setitem(owners.KNOWN, "ldirectord", ("ldirectord", configs))
    processes += [proc(30, "kube-proxy", "/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/c.conf"),
                  proc(20, "perl", "/usr/bin/perl", "-w", "/usr/sbin/ldirectord", "start"),
                  proc(10, "keepalived", "keepalived", "-D")]
    found = find_owners()
    assert [owner.name for owner in found] == list(owners.KNOWN)  # one each, in a stable order
    ldirectord = found[1]
    assert ldirectord.config == str(config) and str(config) in ldirectord.warning()
