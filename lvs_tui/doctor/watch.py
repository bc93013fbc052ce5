"""The doctor beside the dashboard: examined every so often on a worker thread, from the
dashboard's own snapshots (the previous examination's is the `before` of the NAT symptom)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from lvs_tui.doctor.director import DirectorFacts, diagnose
from lvs_tui.doctor.findings import Finding, Severity
from lvs_tui.model.records import ServiceKey, Snapshot

EVERY = 30.0  # seconds between examinations: the facts change rarely, the symptom needs a span


class DoctorWatch:
    def __init__(self, read_facts: Callable[[Iterable[str]], DirectorFacts],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._read_facts = read_facts
        self._clock = clock
        self._before: tuple[Snapshot, float] | None = None
        self.findings: tuple[Finding, ...] = ()  # replaced whole: read from any thread
        self.error: str | None = None  # why the last examination failed

    def examine(self, snapshot: Snapshot) -> None:
        """Diagnose `snapshot` against the one examined last time (on a worker thread)."""
        now = self._clock()
        before, then = self._before or (snapshot, now)
        try:
            addresses = {dest.address for service in snapshot.services for dest in service.dests}
            facts = self._read_facts(addresses)
        except Exception as error:  # netlink or /proc unreadable: say so, keep the last findings
            self.error = f"the doctor cannot read this host's network: {error}"
            return
        self.error = None
        self.findings = tuple(sorted(diagnose(before, snapshot, facts, round(now - then, 1)),
                                     key=lambda finding: -finding.severity))
        self._before = (snapshot, now)

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
