"""The confirmation modal: names every change (as its ipvsadm command) before anything runs.

Destructive plans (drain, remove, scheduler change, zero, undo) start with "Cancel" focused and
take only an explicit `y` or a click on "Apply"; harmless ones (add, weight up, bring back) apply
on Enter. A drain also offers to remove the server once drained, or at a deadline.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Static

from lvs_tui.ops.changes import Plan
from lvs_tui.ops.drain import DrainOptions

LISTED = 200  # items shown in full; a bigger plan lists the first ones and counts the rest


def plan_text(plan: Plan, owners: list[str]) -> Text:
    """What the modal lists: every command, what is skipped, and every warning."""
    text = Text()
    for change in plan.changes[:LISTED]:
        text.append("  " + change.command.display + "\n", style="bold")
    if len(plan.changes) > LISTED:
        text.append(f"  … and {len(plan.changes) - LISTED} more\n")
    for item in plan.skipped:
        text.append(f"  skipped: {item}\n", style="dim")
    for warning in (*plan.warnings, *owners):
        text.append(f"⚠ {warning}\n", style="yellow")
    if not plan.changes:
        text.append("Nothing to change.\n", style="dim")
    elif not any(change.undoable for change in plan.changes):
        text.append("This cannot be undone.\n", style="bold red")
    return text


class ConfirmScreen(ModalScreen[DrainOptions | None]):
    BINDINGS = [
        Binding("y", "apply", "Apply", tooltip="Apply the listed changes"),
        Binding("n,escape", "cancel", "Cancel", tooltip="Change nothing"),
    ]

    def __init__(self, plan: Plan, owners: list[str]) -> None:
        super().__init__()
        self.plan = plan
        self.owners = owners

    def compose(self) -> ComposeResult:
        plan = self.plan
        with Vertical(id="confirm", classes="destructive" if plan.destructive else ""):
            yield Static(Text(plan.title + "?", style="bold"), id="confirm-title")
            with VerticalScroll(id="confirm-body"):
                yield Static(plan_text(plan, self.owners))
            if plan.drains:
                which = "the server" if len(plan.drains) == 1 else "each server"
                yield Checkbox("TCP: count as drained only once inactive (TIME_WAIT) entries are gone too",
                               id="wait-inactive")
                yield Checkbox(f"Remove {which} once drained", id="remove-when-drained")
                yield Input(placeholder="…or remove after this many minutes anyway (optional)",
                            id="deadline", type="number")
            hint = "y applies, n or Esc cancels" if plan.destructive else "Enter or y applies, Esc cancels"
            yield Static(Text(hint, style="dim"))
            with Horizontal(id="confirm-buttons"):
                yield Button("Apply (y)", id="apply", variant="error" if plan.destructive else "primary",
                             disabled=not plan.changes)
                yield Button("Cancel (n)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel" if self.plan.destructive else "#apply", Button).focus()

    @on(Button.Pressed, "#apply")
    def action_apply(self) -> None:
        if not self.plan.changes:
            return
        remove = self._checked("#remove-when-drained")
        deadline = None
        if self.query("#deadline"):
            raw = self.query_one("#deadline", Input).value.strip()
            try:
                deadline = float(raw) if raw else None
            except ValueError:
                deadline = None
            if deadline is not None and deadline <= 0:
                deadline = None
        self.dismiss(DrainOptions(remove, deadline, self._checked("#wait-inactive")))

    def _checked(self, selector: str) -> bool:
        return any(box.value for box in self.query(selector).results(Checkbox))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
