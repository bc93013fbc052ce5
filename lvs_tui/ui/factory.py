"""The one way to build the dashboard app: for the command line, the tests, the screenshots and the
benchmarks alike. Everything that differs between them is a field of `AppSettings`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lvs_tui.doctor.watch import DoctorWatch
from lvs_tui.ipvs.backend import Backend
from lvs_tui.live.directors import DirectorsSession
from lvs_tui.live.hostload import HostSampler
from lvs_tui.live.session import DashboardSession, HealthSource, LiveSession
from lvs_tui.ops.setup import OpsSetup
from lvs_tui.ui.app import LvsTopApp
from lvs_tui.ui.preferences import Preferences, PreferenceStore


def _no_writes() -> OpsSetup:
    # Without a setup (tests, benchmarks) nothing may be written, the home journal included.
    return OpsSetup(read_only="no journal configured")


@dataclass(frozen=True)
class OtherDirector:
    """A director shown beside the first one (`--director`, repeated): its own session's parts."""

    name: str
    open_backend: Callable[[], Backend]
    setup: OpsSetup = field(default_factory=_no_writes)
    health: HealthSource | None = None
    doctor: DoctorWatch | None = None
    host: HostSampler | None = None


@dataclass(frozen=True)
class AppSettings:
    open_backend: Callable[[], Backend]  # called on the poller thread, again after a failure
    description: str  # what is shown: `kernel`, `kernel (netns blue)`, `demo`
    interval: float = 1.0  # seconds between polls
    setup: OpsSetup = field(default_factory=_no_writes)
    health: HealthSource | None = None  # a checker run by the dashboard, or a state file's view
    doctor: DoctorWatch | None = None
    host: HostSampler | None = None  # the director's own load in the strip
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    auto_poll: bool = True  # off: polls happen only when asked for (screenshots, tests)
    preferences: Preferences = field(default_factory=Preferences)  # sort, units, theme, hidden columns
    store: PreferenceStore | None = None  # where changed preferences are saved; None: nowhere
    # Several directors: the first one's name (it is the one above), and the others, in order.
    name: str = ""
    others: tuple[OtherDirector, ...] = ()


def make_app(settings: AppSettings) -> LvsTopApp:
    first = LiveSession(settings.open_backend, settings.setup, health=settings.health,
                        doctor=settings.doctor, host=settings.host, clock=settings.clock)
    session: DashboardSession = first
    if settings.others:
        session = DirectorsSession([(settings.name, first), *(
            (other.name, LiveSession(other.open_backend, other.setup, health=other.health,
                                     doctor=other.doctor, host=other.host, clock=settings.clock))
            for other in settings.others)])
    return LvsTopApp(session, settings.description, interval=settings.interval, clock=settings.clock,
                     wall=settings.wall, auto_poll=settings.auto_poll, preferences=settings.preferences,
                     store=settings.store)
