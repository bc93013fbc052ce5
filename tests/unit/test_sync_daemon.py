"""Starting and stopping the IPVS sync daemon: checked as ipvsadm would, planned with its undo,
sent to the kernel as ipvsadm sends it, refused by a read-only session."""

from __future__ import annotations

import errno
import struct

import pytest

from lvs_tui.ipvs import codec
from lvs_tui.ipvs import constants as c
from lvs_tui.ipvs.errors import InvalidArgument, ObjectExists, ObjectNotFound
from lvs_tui.ipvs.kernel import KernelBackend
from lvs_tui.ipvs.readonly import ReadOnly, ReadOnlyBackend
from lvs_tui.ipvs.validate import daemon as check
from lvs_tui.model.records import SyncDaemon
from lvs_tui.ops import changes
from lvs_tui.sim import SimulatedDirector
from tests.unit.test_kernel_codec import FakeTransport

pytestmark = pytest.mark.unit

MASTER = SyncDaemon("master", "eth1", 5)


@pytest.mark.parametrize(("daemon", "said"), [
    (SyncDaemon("primary", "eth1", 5), "a sync daemon is a master or a backup, not 'primary'."),
    (SyncDaemon("master", "", 5), "sync master: '' is not an interface name"),
    (SyncDaemon("master", "eth 1", 5), "sync master: 'eth 1' is not an interface name"),
    (SyncDaemon("master", "a" * 16, 5), "is not an interface name (1 to 15 characters"),
    (SyncDaemon("backup", "eth1\x1b[2J", 5), "is not an interface name"),
    (SyncDaemon("backup", "eth1", 256), "sync backup: the sync id must be between 0 and 255."),
])
def test_a_daemon_ipvsadm_would_refuse_is_one_sentence(daemon: SyncDaemon, said: str) -> None:
    with pytest.raises(InvalidArgument, match=said.replace("(", r"\(").replace("[", r"\[")):
        check(daemon)


def test_starting_plans_the_ipvsadm_command_and_its_undo() -> None:
    plan = changes.plan_start_daemon(MASTER, (SyncDaemon("backup", "eth2", 9),))
    (change,) = plan.changes
    assert plan.title == "Start the sync master on eth1, sync id 5" and not plan.destructive
    assert change.command.display == "ipvsadm --start-daemon master --mcast-interface eth1 --syncid 5"
    assert [undo.command.display for undo in change.undo] == ["ipvsadm --stop-daemon master"]
    undo = changes.plan_undo(plan, plan.changes)
    assert undo is not None and undo.title == "Undo: stop the sync master (started in this session)"
    with pytest.raises(InvalidArgument, match=r"a sync master is already running \(on eth3, sync id 1\)"):
        changes.plan_start_daemon(MASTER, (SyncDaemon("master", "eth3", 1),))


def test_stopping_warns_what_a_failover_loses_and_its_undo_starts_the_same_daemon() -> None:
    plan = changes.plan_stop_daemon(MASTER)
    (change,) = plan.changes
    assert plan.destructive and change.command.display == "ipvsadm --stop-daemon master"
    assert "a failover while it is stopped drops them" in plan.warnings[0]
    assert [undo.command.display for undo in change.undo] == [
        "ipvsadm --start-daemon master --mcast-interface eth1 --syncid 5"]
    backup = changes.plan_stop_daemon(SyncDaemon("backup", "eth2", 0))
    assert "takes in the master's connections" in backup.warnings[0]


def test_the_simulated_director_starts_and_stops_daemons_as_the_kernel_does() -> None:
    sim = SimulatedDirector(seed=1)
    assert sim.daemons() == (SyncDaemon("master", "eth1", 1),)
    with pytest.raises(ObjectExists, match="a sync master is already running here; stop it first"):
        sim.start_daemon(MASTER)
    sim.start_daemon(SyncDaemon("backup", "eth2", 0))
    sim.stop_daemon("master")
    assert sim.daemons() == (SyncDaemon("backup", "eth2", 0),)
    with pytest.raises(ObjectNotFound, match="no sync master is running here"):
        sim.stop_daemon("master")


def test_the_kernel_backend_sends_what_ipvsadm_sends_and_names_each_refusal() -> None:
    transport = FakeTransport()
    backend = KernelBackend(transport=transport)
    backend.start_daemon(MASTER)
    backend.stop_daemon("backup")
    (start, _, _), (stop, stop_attrs, _) = transport.sent
    new_attrs = transport.sent[0][1]
    assert (start, stop) == (c.CMD_NEW_DAEMON, c.CMD_DEL_DAEMON)
    nest = codec.parse_attrs(new_attrs, 0, len(new_attrs))[c.CMD_ATTR_DAEMON]
    inner = codec.parse_attrs(new_attrs, *nest)
    assert codec.get_u32(new_attrs, inner, c.DAEMON_ATTR_STATE) == c.DAEMON_STATE_MASTER
    assert codec.get_string(new_attrs, inner, c.DAEMON_ATTR_MCAST_IFN) == "eth1"
    assert codec.get_u32(new_attrs, inner, c.DAEMON_ATTR_SYNC_ID) == 5
    assert stop_attrs.endswith(struct.pack("=HHI", 8, c.DAEMON_ATTR_STATE, c.DAEMON_STATE_BACKUP))
    for err, kind, said in ((errno.EEXIST, ObjectExists, "a sync master is already running here"),
                            (errno.ENODEV, InvalidArgument, "this network namespace has no such interface"),
                            (errno.ESRCH, ObjectNotFound, "no sync master is running here")):
        refusing = KernelBackend(transport=FakeTransport(fail={c.CMD_NEW_DAEMON: err, c.CMD_DEL_DAEMON: err}))
        with pytest.raises(kind, match=said):
            (refusing.stop_daemon("master") if err == errno.ESRCH else refusing.start_daemon(MASTER))


def test_a_read_only_session_refuses_both_before_the_kernel() -> None:
    sim = SimulatedDirector(seed=1)
    guarded = ReadOnlyBackend(sim)
    with pytest.raises(ReadOnly, match="starting the sync backup was not sent"):
        guarded.start_daemon(SyncDaemon("backup", "eth2", 0))
    with pytest.raises(ReadOnly, match="stopping the sync master was not sent"):
        guarded.stop_daemon("master")
    assert sim.daemons() == (SyncDaemon("master", "eth1", 1),)
