"""Parts of the status line that sum up a checker or the doctor (formatting only)."""

from __future__ import annotations

from rich.text import Text

from lvs_tui.doctor.watch import DoctorWatch
from lvs_tui.health.state import Health
from lvs_tui.health.status import HealthView


def health_summary(view: HealthView) -> Text:
    """` · health ✔5 ✖1 (lvs-top health (pid 812))`, and loudly what min_healthy holds."""
    if not view.running:
        return Text(f" · health: {view.source or 'the checker'} is not running", style="bold red")
    counts = view.counts()
    text = Text(" · health ")
    text.append(f"✔{counts[Health.HEALTHY]}", style="green")
    if counts[Health.UNHEALTHY]:
        text.append(f" ✖{counts[Health.UNHEALTHY]}", style="bold red")
    if counts[Health.CHECKING]:
        text.append(f" …{counts[Health.CHECKING]}", style="dim")
    if counts[Health.DISABLED]:
        text.append(f" ‖{counts[Health.DISABLED]}", style="yellow")
    text.append(f" ({view.source})", style="dim")
    if view.held:
        text.append(f" ⚠ min_healthy keeps {len(view.held)} failing server"
                    f"{'s' if len(view.held) > 1 else ''} in rotation", style="bold reverse red")
    return text


def doctor_summary(doctor: DoctorWatch) -> Text:
    """` · doctor ✖1 ⚠2 (enter on a service: why)`; nothing while all is well."""
    text = Text()
    errors, warnings = doctor.counts()
    if errors or warnings:
        text.append(f" · doctor ✖{errors} ⚠{warnings} (enter on a service: why)",
                    style="bold red" if errors else "yellow")
    if doctor.error:
        text.append(f" · {doctor.error}", style="yellow")
    return text
