"""A finding: how bad, about what, why in one sentence, and the fix in one sentence."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class Severity(IntEnum):
    OK = 0  # said for checks that passed, so a report shows what was looked at
    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    subject: str  # the object concerned: "real server 10.20.1.2:80 of tcp:10.10.0.1:80", "sysctl ..."
    cause: str  # one sentence: what is so, and what it means
    fix: str = ""  # one sentence: what to do; "" when nothing is to be done
    service: str | None = None  # the id of the service it concerns; None for the director as a whole

    def json(self) -> dict[str, Any]:
        return {"severity": self.severity.label, "subject": self.subject, "cause": self.cause,
                "fix": self.fix, "service": self.service}

    def line(self) -> str:
        text = f"{self.severity.label:7} {self.subject}: {self.cause}"
        return f"{text} Fix: {self.fix}" if self.fix else text


def worst(findings: list[Finding]) -> Severity:
    return max((finding.severity for finding in findings), default=Severity.OK)
