"""Several directors in one dashboard: what is shown of each (reachable, poll age, sync role), the
rows of the shown table that differ on another director, and the session that polls each director
on its own thread and shows one at a time."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest

from lvs_tui.ipvs.backend import Backend, DestEdit
from lvs_tui.ipvs.errors import IpvsError
from lvs_tui.live.directors import DirectorsSession
from lvs_tui.live.frame import DashboardFrame
from lvs_tui.live.session import Applied, LiveSession
from lvs_tui.model.pairview import DirectorReading, directors_view
from lvs_tui.model.records import Dest, DestKey, Family, Info, Service, ServiceKey, Snapshot, SyncDaemon
from lvs_tui.ops import changes
from lvs_tui.ops.journal import Journal
from lvs_tui.ops.runner import Report
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.ops.sysctl import Sysctls
from lvs_tui.sim import SimulatedDirector

pytestmark = pytest.mark.unit

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
MAIL = ServiceKey.inet("tcp", "192.0.2.25", 25)
ONE, TWO = DestKey("10.0.0.1", 80), DestKey("10.0.0.2", 80)
MASTER, BACKUP = SyncDaemon("master", "eth1", 5), SyncDaemon("backup", "eth1", 5)


def table(*services: Service) -> Snapshot:
    return Snapshot(time=0.0, monotonic=0.0, info=Info("1.2.1", 4096), services=services)


def service(key: ServiceKey, *dests: Dest, scheduler: str = "wrr") -> Service:
    return Service(key, scheduler, dests=dests)


def server(key: DestKey, weight: int = 1) -> Dest:
    return Dest(key.address, key.port, Family.IPV4, weight=weight)


def reading(name: str, snapshot: Snapshot | None, daemons: tuple[SyncDaemon, ...] | None = (),
            error: str | None = None) -> DirectorReading:
    return DirectorReading(name, snapshot, None if snapshot is None else 10.0, error, daemons)


def test_the_rows_that_differ_on_the_other_director_are_marked_with_what_differs() -> None:
    here = table(service(WEB, server(ONE, 3), server(TWO)), service(MAIL, server(ONE)))
    there = table(service(WEB, server(ONE, 1), server(TWO)), service(MAIL, server(ONE), scheduler="rr"))
    view = directors_view([reading("lb1", here), reading("lb2", there)], 0)
    assert view.marked == {WEB, (WEB, ONE), MAIL}  # WEB holds a server that differs; TWO does not
    ((name, difference),) = view.differences_of(WEB, ONE)
    assert name == "lb2" and difference.sentence("lb1", "lb2") == \
        "tcp:192.0.2.10:80 -> 10.0.0.1:80: weight 3 on lb1, 1 on lb2"
    assert [d.what for _, d in view.differences_of(MAIL, None)] == ["scheduler"]
    assert view.differences_of(WEB, TWO) == ()
    lb1, lb2 = view.directors
    assert lb1.drift is None and lb2.drift is not None and len(lb2.drift) == 2


def test_shown_from_the_other_side_the_same_rows_are_marked() -> None:
    here = table(service(WEB, server(ONE, 3)))
    there = table(service(WEB, server(ONE, 1)))
    view = directors_view([reading("lb1", here), reading("lb2", there)], 1)
    assert view.shown_name == "lb2" and view.marked == {WEB, (WEB, ONE)}
    ((name, difference),) = view.differences_of(WEB, ONE)
    assert name == "lb1" and (difference.left, difference.right) == (1, 3)  # the shown table's first


def test_what_exists_only_elsewhere_is_named_apart_and_what_exists_only_here_is_marked() -> None:
    here = table(service(WEB, server(ONE)))
    there = table(service(WEB, server(ONE), server(TWO)), service(MAIL, server(ONE)))
    view = directors_view([reading("lb1", here), reading("lb2", there)], 0)
    assert view.only_elsewhere() == [("lb2", MAIL)]
    assert view.marked == {WEB}  # its server TWO is missing here: no row of its own to mark
    assert [d.sentence("lb1", "lb2") for _, d in view.differences_of(WEB, None)] == \
        ["tcp:192.0.2.10:80 -> 10.0.0.2:80: only on lb2"]
    back = directors_view([reading("lb1", here), reading("lb2", there)], 1)
    assert back.marked == {WEB, (WEB, TWO), MAIL} and back.only_elsewhere() == []


def test_a_director_not_read_yet_or_unreachable_has_no_drift_and_marks_nothing() -> None:
    here = table(service(WEB, server(ONE)))
    view = directors_view([reading("lb1", here), reading("lb2", None, None, "ssh: connection refused")], 0)
    lb2 = view.directors[1]
    assert lb2.drift is None and lb2.error == "ssh: connection refused" and lb2.polled_at is None
    assert view.marked == frozenset()


def test_the_same_tables_have_no_marks_and_sync_problems_are_said_from_both_sides() -> None:
    same = table(service(WEB, server(ONE)))
    paired = directors_view([reading("lb1", same, (MASTER,)), reading("lb2", same, (BACKUP,))], 0)
    assert paired.marked == frozenset() and paired.directors[1].drift == () and paired.sync == ()
    alone = directors_view([reading("lb1", same, (MASTER,)), reading("lb2", same, ())], 0)
    assert alone.sync == ("lb2 runs no sync backup for lb1's master: the connections lb1 holds are lost "
                          "if lb2 takes over",)
    unknown = directors_view([reading("lb1", same, (MASTER,)), reading("lb2", same, None)], 0)
    assert unknown.sync == ()  # not read yet: nothing said


# --- the session: a LiveSession per director, one shown -------------------------------------------


class Unreachable(SimulatedDirector):
    """A director whose agent does not answer: every read fails after a while."""

    def snapshot(self, whole: object = None) -> Snapshot:
        time.sleep(0.05)
        raise IpvsError("director lb3: ssh: connect to host lb3 port 22: Connection timed out")


def session_of(director: Backend, tmp_path: Path, name: str) -> LiveSession:
    setup = OpsSetup(None, Journal(tmp_path / f"{name}.jsonl"), lambda: Sysctls({}), None, lambda: ())
    return LiveSession(lambda: director, setup)


def next_frame(frames: queue.Queue[DashboardFrame],
               until: Callable[[DashboardFrame], bool]) -> DashboardFrame:
    deadline = time.monotonic() + 10
    while True:
        frame = frames.get(timeout=max(0.1, deadline - time.monotonic()))
        if until(frame):
            return frame


def shown_on(frame: DashboardFrame) -> str | None:
    return None if frame.directors is None else frame.directors.shown_name


def read_all(frame: DashboardFrame) -> bool:
    view = frame.directors
    return view is not None and all(state.polled_at is not None or state.error is not None
                                    for state in view.directors)


def first_server(snapshot: Snapshot | None) -> tuple[Service, Dest]:
    assert snapshot is not None
    web = snapshot.service(WEB)  # the demo's first service
    assert web is not None
    return web, web.dests[0]


def test_each_director_polls_on_its_own_and_one_is_shown_with_the_others_beside(tmp_path: Path) -> None:
    lb1, lb2, lb3 = SimulatedDirector(seed=1), SimulatedDirector(seed=2), Unreachable(seed=3)
    pair = DirectorsSession([(name, session_of(director, tmp_path, name))
                             for name, director in (("lb1", lb1), ("lb2", lb2), ("lb3", lb3))])
    frames: queue.Queue[DashboardFrame] = queue.Queue()
    reports: queue.Queue[Applied] = queue.Queue()
    pair.start(frames.put, reports.put)
    try:
        frame = next_frame(frames, read_all)
        assert frame.directors is not None and shown_on(frame) == "lb1"
        assert [state.error is None for state in frame.directors.directors] == [True, True, False]
        assert frame.directors.directors[1].drift == ()  # the demo's table on both
        web, dest = first_server(frame.snapshot)
        lb2.edit_dest(web.key, dest.key, DestEdit(weight=dest.weight + 7))  # by hand, on lb2
        pair.request_poll()
        drifted = next_frame(frames, lambda f: f.directors is not None
                             and (web.key, dest.key) in f.directors.marked)
        assert first_server(drifted.snapshot)[1].weight == dest.weight  # still lb1's table
        assert pair.switch_director() == "lb2"
        shown = next_frame(frames, lambda f: shown_on(f) == "lb2")
        assert first_server(shown.snapshot)[1].weight == dest.weight + 7  # lb2's own table
        assert shown.number > drifted.number  # one sequence: never taken for an older frame
        # A change goes to the director shown, and to it only.
        pair.apply(changes.plan_weight(*first_server(shown.snapshot), 1, Sysctls({})))
        applied = reports.get(timeout=10)
        assert isinstance(applied.outcome, Report) and not applied.outcome.failed
        assert first_server(lb2.snapshot())[1].weight == 1
        assert first_server(lb1.snapshot())[1].weight == dest.weight
    finally:
        pair.stop()


def test_a_session_of_one_director_is_refused() -> None:
    with pytest.raises(ValueError, match="at least two"):
        DirectorsSession([("lb1", LiveSession(SimulatedDirector, OpsSetup(read_only="test")))])


def test_a_dashboard_of_one_director_has_no_other_to_show(tmp_path: Path) -> None:
    assert session_of(SimulatedDirector(seed=1), tmp_path, "lb1").switch_director() is None


class Publishing:
    """A director's session as the pair sees it: it publishes the frames it is given."""

    read_only = None

    def __init__(self) -> None:
        self.publish: Callable[[DashboardFrame], None] = lambda frame: None

    def start(self, publish: Callable[[DashboardFrame], None], report: object) -> None:
        self.publish = publish

    def stop(self) -> None:
        return None


def test_a_comparison_that_costs_is_put_off_and_made_once_due(tmp_path: Path) -> None:
    ticks = iter(range(10**6))
    lb1, lb2 = Publishing(), Publishing()
    # Every reading of this clock is 0.1 s later: each comparison "takes" 0.1 s, so the next one is
    # due 0.4 s after it; the timer that makes a put-off one waits that long (in real seconds).
    pair = DirectorsSession([("lb1", cast(LiveSession, lb1)), ("lb2", cast(LiveSession, lb2))],
                            clock=lambda: next(ticks) / 10)
    frames: queue.Queue[DashboardFrame] = queue.Queue()
    pair.start(frames.put, lambda applied: None)
    try:
        same = table(service(WEB, server(ONE, 3)))
        lb1.publish(DashboardFrame(snapshot=same, polled_at=1.0))
        lb2.publish(DashboardFrame(snapshot=same, polled_at=1.0))
        assert frames.get_nowait().directors is not None
        compared = frames.get_nowait().directors
        assert compared is not None and compared.directors[1].drift == ()
        lb2.publish(DashboardFrame(snapshot=table(service(WEB, server(ONE, 1))), polled_at=2.0))
        put_off = frames.get_nowait().directors
        assert put_off is not None and put_off.marked == frozenset()  # not compared yet: not due
        later = next_frame(frames, lambda frame: frame.directors is not None and bool(frame.directors.marked))
        assert later.directors is not None and later.directors.marked == {WEB, (WEB, ONE)}
        assert frames.empty()  # made once, by the timer
    finally:
        pair.stop()


# --- which director holds each VIP -----------------------------------------------------------------

MARKED = ServiceKey.mark(5)


def held_by(lb1: frozenset[str] | None, lb2: frozenset[str] | None) -> list[DirectorReading]:
    both = table(service(WEB, server(ONE)), service(MAIL, server(ONE)), service(MARKED, server(ONE)))
    return [DirectorReading(name, both, 1.0, None, (), held) for name, held in (("lb1", lb1), ("lb2", lb2))]


def test_each_director_says_how_many_vips_it_holds_and_the_detail_who_holds_one() -> None:
    view = directors_view(held_by(frozenset({"192.0.2.10", "192.0.2.25", "127.0.0.1"}), frozenset()), 0)
    assert [state.holds for state in view.directors] == [2, 0]  # a fwmark service has no VIP
    assert view.vips == {"192.0.2.10": ("lb1",), "192.0.2.25": ("lb1",)} and view.vip_problems == ()
    assert view.holders(WEB) == ("lb1",) and view.holders(MARKED) is None


def test_a_vip_on_both_directors_is_split_brain_and_one_on_neither_is_said_while_others_are_held() -> None:
    split = directors_view(held_by(frozenset({"192.0.2.10", "192.0.2.25"}), frozenset({"192.0.2.10"})), 0)
    assert split.vip_problems == (
        "VIP 192.0.2.10 is on lb1 and lb2 at once (split brain, unless they share it by design)",)
    lost = directors_view(held_by(frozenset({"192.0.2.10"}), frozenset()), 1)
    assert lost.vip_problems == ("VIP 192.0.2.25 is on no director",)
    assert lost.holders(MAIL) == ()
    routed = directors_view(held_by(frozenset(), frozenset()), 0)  # VIPs routed to the pair otherwise
    assert routed.vip_problems == () and [state.holds for state in routed.directors] == [0, 0]
    unknown = directors_view(held_by(frozenset({"192.0.2.10"}), None), 0)  # lb2's not read yet
    assert unknown.vip_problems == () and unknown.vips == {} and unknown.directors[1].holds is None


def test_the_directors_line_puts_a_split_brain_before_the_rest() -> None:
    from lvs_tui.ui.chrome import directors_line

    view = directors_view(held_by(frozenset({"192.0.2.10", "192.0.2.25"}), frozenset({"192.0.2.10"})), 0)
    line = directors_line(view, now=3.5).plain
    assert line.startswith("▶lb1 ✔ 2.5s no sync VIP 2/2 │  lb2 ✔ 2.5s no sync VIP 1/2 same")
    assert "· ⚠ VIP 192.0.2.10 is on lb1 and lb2 at once (split brain" in line and line.endswith("│ n: next")


def test_the_role_read_keeps_what_could_not_be_read_this_time(tmp_path: Path) -> None:
    from lvs_tui.live.builder import FrameBuilder

    builder = FrameBuilder(OpsSetup(read_only="test"))
    first = builder.role_read((MASTER,), frozenset({"192.0.2.10"}))
    assert (first.facts.daemons, first.facts.addresses) == ((MASTER,), frozenset({"192.0.2.10"}))
    kept = builder.role_read(None, frozenset())  # the daemons not read this time; the VIP moved away
    assert (kept.facts.daemons, kept.facts.addresses) == ((MASTER,), frozenset())
    assert builder.role_read((MASTER,), frozenset()) is kept  # nothing new: the same frame
