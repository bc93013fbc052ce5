"""The confirmation modal: names every change (as its ipvsadm command) before anything runs.

Destructive plans (drain, remove, scheduler change, zero, undo) start with "Cancel" focused and
take only an explicit `y` or a click on "Apply"; harmless ones (add, weight up, bring back) apply
on Enter. A drain also offers to remove the server once drained, or at a deadline. Quitting while
such a removal waits asks first: it lives only in this session.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Static

from lvs_tui.live.session import Counterpart
from lvs_tui.model.printable import printable
from lvs_tui.ops.changes import Plan
from lvs_tui.ops.drain import DrainOptions

Restep = Callable[[int], Plan]  # a weight plan, rebuilt for the steps taken in the confirmation
Others = Callable[[Plan], tuple[Counterpart, ...]]  # the same change on the other directors
LISTED = 200  # items shown in full; a bigger plan lists the first ones and counts the rest


def pair_text(shown: str, plan: Plan, owners: list[str], others: tuple[Counterpart, ...]) -> Text:
    """What the modal lists for a change offered to every director: each one's plan under its name
    (names come from the command line, reasons from a remote link: printable)."""
    text = Text(f"on {printable(shown)} (shown):\n", style="bold underline")
    text.append_text(plan_text(plan, owners))
    for other in others:
        text.append(f"on {printable(other.director)}:\n", style="bold underline")
        if other.plan is None:
            text.append(f"  not changed: {printable(other.reason or '')}\n", style="yellow")
        else:
            text.append_text(plan_text(other.plan, [], undo_note=False))
    return text


def plan_text(plan: Plan, owners: list[str], undo_note: bool = True) -> Text:
    """What the modal lists: every command, what is skipped, and every warning (and, with
    `undo_note`, what the plan reverses or that it cannot be undone)."""
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
    elif undo_note and plan.undoes:
        text.append(f"This reverses: {plan.undoes}. Once done, it is off the undo list.\n", style="dim")
    elif undo_note and not any(change.undoable for change in plan.changes):
        text.append("This cannot be undone.\n", style="bold red")
    return text


class MinutesInput(Input):
    """A field of minutes: it takes digits and a point only, so the dialog's `y` and `n` answer from it."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character is not None and character in "0123456789."


class ConfirmScreen(ModalScreen[DrainOptions | None]):
    # Priority: `y` and `n` answer even from the minutes field, which takes only numbers.
    BINDINGS = [
        Binding("y", "apply", "Apply", tooltip="Apply the listed changes", priority=True),
        Binding("n", "cancel", "Cancel", tooltip="Change nothing", priority=True),
        Binding("escape", "cancel", "Cancel", tooltip="Change nothing"),
        Binding("right_square_bracket", "step(1)", "Weight +1", key_display="]", show=False),
        Binding("left_square_bracket", "step(-1)", "Weight -1", key_display="[", show=False),
        Binding("right_curly_bracket", "step(10)", "Weight +10", key_display="}", show=False),
        Binding("left_curly_bracket", "step(-10)", "Weight -10", key_display="{", show=False),
    ]

    def __init__(self, plan: Plan, owners: list[str], restep: Restep | None = None,
                 others: Others | None = None, shown: str = "") -> None:
        super().__init__()
        self.plan = plan
        self.owners = owners
        self.restep = restep  # a weight change: its keys step it further, in this one confirmation
        self._steps = 0
        self._others = others  # several directors: the change is offered for each of them
        self._shown = shown  # the director on screen, whose `plan` this is
        self.counterparts = () if others is None else others(plan)

    @property
    def everywhere(self) -> tuple[tuple[str, Plan], ...]:
        """The other directors' plans to apply with this one: none unless the box is ticked."""
        if not self._checked("#everywhere"):
            return ()
        return tuple((other.director, other.plan) for other in self.counterparts if other.plan is not None)

    def _listed(self) -> Text:
        if not self.counterparts:
            return plan_text(self.plan, self.owners)
        return pair_text(self._shown, self.plan, self.owners, self.counterparts)

    def compose(self) -> ComposeResult:
        plan = self.plan
        with Vertical(id="confirm", classes="destructive" if plan.destructive else ""):
            yield Static(Text(plan.title + "?", style="bold"), id="confirm-title")
            with VerticalScroll(id="confirm-body"):
                yield Static(self._listed(), id="confirm-plan")
            if plan.drains:
                which = "the server" if len(plan.drains) == 1 else "each server"
                yield Checkbox("TCP: count as drained only once inactive (TIME_WAIT) entries are gone too",
                               id="wait-inactive")
                yield Checkbox(f"Remove {which} once drained", id="remove-when-drained")
                yield MinutesInput(placeholder="…or remove after this many minutes anyway (optional)",
                                   id="deadline", type="number")
            if any(other.plan is not None and other.plan.changes for other in self.counterparts):
                names = ", ".join(printable(name) for name in
                                  (self._shown, *(other.director for other in self.counterparts)))
                yield Checkbox(f"On every director ({names}): undone on all if one refuses", True,
                               id="everywhere")
            hint = "y applies, n or Esc cancels" if plan.destructive else "Enter or y applies, Esc cancels"
            if self.restep is not None:
                hint += "; ] [ } { step the weight further"
            yield Static(Text(hint, style="dim"))
            with Horizontal(id="confirm-buttons"):
                yield Button("Apply (y)", id="apply", variant="error" if plan.destructive else "primary",
                             disabled=not plan.changes)
                yield Button("Cancel (n)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel" if self.plan.destructive else "#apply", Button).focus()

    @on(Button.Pressed, "#apply")
    @on(Input.Submitted, "#deadline")
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "step" or self.restep is not None

    def action_step(self, step: int) -> None:
        """Step a weight change further; a step that would make it a drain (or nothing) is refused:
        a drain has its own key and its own questions."""
        if self.restep is None:
            return
        plan = self.restep(self._steps + step)
        if not plan.changes or plan.destructive != self.plan.destructive:
            self.app.bell()
            return
        self._steps += step
        self.plan = plan
        if self._others is not None and self.counterparts:
            self.counterparts = self._others(plan)
        self.query_one("#confirm-title", Static).update(Text(plan.title + "?", style="bold"))
        self.query_one("#confirm-plan", Static).update(self._listed())

    def _checked(self, selector: str) -> bool:
        return any(box.value for box in self.query(selector).results(Checkbox))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class QuitScreen(ModalScreen[bool]):
    """Quit while removals wait for their drains? They are kept only by this session, so quitting
    leaves those servers at weight 0 in their services: the question names each one."""

    DEFAULT_CSS = "QuitScreen { align: center middle; }"
    BINDINGS = [
        Binding("y", "quit", "Quit", tooltip="Quit: the listed servers stay, at weight 0"),
        Binding("n,escape", "stay", "Stay", tooltip="Stay in lvs-top: the removals go on"),
    ]

    def __init__(self, pending: list[str]) -> None:
        super().__init__()
        self.pending = pending

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm", classes="destructive"):
            yield Static(Text("Quit? These removals will not happen:", style="bold"), id="confirm-title")
            with VerticalScroll(id="confirm-body"):
                yield Static(Text("\n".join(f"  {line}" for line in self.pending)))
            yield Static(Text("They wait for their drains in this session only; quitting leaves each server "
                              "in its service at weight 0.\ny quits, n or Esc stays", style="dim"))
            with Horizontal(id="confirm-buttons"):
                yield Button("Quit (y)", id="quit", variant="error")
                yield Button("Stay (n)", id="stay")

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    @on(Button.Pressed, "#quit")
    def action_quit(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#stay")
    def action_stay(self) -> None:
        self.dismiss(False)
