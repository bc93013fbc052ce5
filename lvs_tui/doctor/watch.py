"""The doctor beside the dashboard: the director examined every so often on a thread of its own,
from the dashboard's own snapshots (the previous examination's is the `before` of the NAT
symptom). Each examination publishes a new frozen `DoctorReport`: readers on any thread take the
current one and never see it change."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lvs_tui.doctor.director import DirectorFacts, diagnose
from lvs_tui.doctor.findings import Finding, Severity
from lvs_tui.model.records import ServiceKey, Snapshot

EVERY = 30.0  # seconds between examinations: the facts change rarely, the symptom needs a span
FIRST_AFTER = 5.0  # seconds after the first snapshot: the NAT symptom needs two tables apart


@dataclass(frozen=True, slots=True)
class DoctorReport:
    findings: tuple[Finding, ...] = ()  # worst first
    error: str | None = None  # why the last examination failed (the findings are the one before)

    def of(self, service: ServiceKey) -> list[Finding]:
        """This service's findings, and the director's own, worst first."""
        return [f for f in self.findings if f.service in (service.id, None) and f.severity > Severity.OK]

    def severity(self, service: ServiceKey) -> Severity:
        """The badge of its row: its own findings only (the director's are on the status line)."""
        own = [f.severity for f in self.findings if f.service == service.id and f.severity > Severity.INFO]
        return max(own, default=Severity.OK)

    def counts(self) -> tuple[int, int]:
        """Errors and warnings, over the whole director."""
        errors = sum(f.severity is Severity.ERROR for f in self.findings)
        return errors, sum(f.severity is Severity.WARNING for f in self.findings)


class DoctorWatch:
    def __init__(self, read_facts: Callable[[Iterable[str]], DirectorFacts],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._read_facts = read_facts
        self._clock = clock
        self._before: tuple[Snapshot, float] | None = None
        self._due: float | None = None
        self._thread: threading.Thread | None = None
        self.report = DoctorReport()  # replaced whole by each examination

    def offer(self, snapshot: Snapshot) -> None:
        """A new snapshot (from the poller): examine it on the doctor's thread when one is due."""
        now = self._clock()
        if self._due is None:
            self._due = now + FIRST_AFTER
        if now < self._due or (self._thread is not None and self._thread.is_alive()):
            return
        self._due = now + EVERY
        self._thread = threading.Thread(target=self.examine, args=(snapshot,), name="lvs-top-doctor",
                                        daemon=True)
        self._thread.start()

    def examine(self, snapshot: Snapshot) -> None:
        """Diagnose `snapshot` against the one examined last time."""
        now = self._clock()
        before, then = self._before or (snapshot, now)
        try:
            addresses = {dest.address for service in snapshot.services for dest in service.dests}
            facts = self._read_facts(addresses)
        except Exception as error:  # netlink or /proc unreadable: say so, keep the last findings
            self.report = DoctorReport(self.report.findings,
                                       f"the doctor cannot read this host's network: {error}")
            return
        findings = sorted(diagnose(before, snapshot, facts, round(now - then, 1)),
                          key=lambda finding: -finding.severity)
        self.report = DoctorReport(tuple(findings))
        self._before = (snapshot, now)
