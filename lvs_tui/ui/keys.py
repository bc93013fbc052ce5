"""Every key of the dashboard, declared once: the footer, `?` help, the command palette and the
README's key table all read this module. `python -m lvs_tui.ui.keys` prints the README's table.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

from lvs_tui.model.promise import help_rows
from lvs_tui.ui.grid import Grid
from lvs_tui.ui.screens import Section

BINDINGS: list[BindingType] = [
    Binding("q", "quit", "Quit", tooltip="Quit lvs-top", id="quit"),
    Binding("question_mark", "help", "Help", key_display="?", tooltip="Show every key", id="help"),
    Binding("slash", "filter", "Filter", key_display="/",
            tooltip="Filter services: text or regex, as shown", id="filter"),
    Binding("escape", "clear_filter", "Clear filter", show=False, tooltip="Clear the filter",
            id="clear_filter"),
    Binding("s", "sort_next", "Sort", tooltip="Sort the focused pane by the next column", id="sort_next"),
    Binding("S", "sort_previous", "Sort back", show=False,
            tooltip="Sort the focused pane by the previous one", id="sort_previous"),
    Binding("r", "sort_reverse", "Reverse", show=False, tooltip="Reverse the sort (numbers start busiest)",
            id="sort_reverse"),
    Binding("p", "pause", "Pause", tooltip="Pause or resume: freeze the screen", id="pause"),
    Binding("plus,equals_sign", "interval(1)", "Slower", key_display="+", show=False,
            tooltip="Poll less often (0.5, 1, 2, 5, 10 s)", id="slower"),
    Binding("minus", "interval(-1)", "Faster", key_display="-", show=False, tooltip="Poll more often",
            id="faster"),
    Binding("t", "toggle_counters", "Counters/rates", show=False,
            tooltip="Show counters instead of rates, or back", id="toggle_counters"),
    Binding("x", "toggle_exact", "Exact numbers", show=False,
            tooltip="Exact numbers instead of K/M/G, or back", id="toggle_exact"),
    Binding("m", "next_metric", "Trend metric", show=False,
            tooltip="Trend: the next rate (conn/s, pkt/s, bit/s)", id="next_metric"),
    Binding("tab", "switch_pane", "Switch pane", show=False,
            tooltip="Switch between services and real servers", id="switch_pane"),
    Binding("n", "next_director", "Next director", show=False,
            tooltip="Show the next of several --director", id="next_director"),
    Binding("enter", "detail", "Detail", tooltip="Detail of the selected row",
            id="detail"),
    # Changes: each shows its ipvsadm command in a confirmation before it runs.
    Binding("d", "drain", "Drain", tooltip="Drain: weight 0, followed until empty",
            id="drain"),
    Binding("D", "drain_host", "Drain host", show=False,
            tooltip="Drain the whole host, in every service", id="drain_host"),
    Binding("b", "bring_back", "Bring back", show=False,
            tooltip="Bring a drained server back at its weight", id="bring_back"),
    Binding("c", "connections", "Who's on it", tooltip="Who is still on the selected real server",
            id="connections"),
    Binding("right_square_bracket", "weight(1)", "Weight +1", key_display="]", show=False,
            tooltip="Weight +1 (again in its confirmation: more)", id="weight_up"),
    Binding("left_square_bracket", "weight(-1)", "Weight -1", key_display="[", show=False,
            tooltip="Weight -1 (again in its confirmation: more)", id="weight_down"),
    Binding("right_curly_bracket", "weight(10)", "Weight +10", key_display="}", show=False,
            tooltip="Weight +10 (again in its confirmation: more)", id="weight_up_10"),
    Binding("left_curly_bracket", "weight(-10)", "Weight -10", key_display="{", show=False,
            tooltip="Weight -10 (again in its confirmation: more)", id="weight_down_10"),
    Binding("a", "add_service", "Add", show=False, tooltip="Add a virtual service", id="add_service"),
    Binding("A", "add_dest", "Add server", show=False,
            tooltip="Add a real server to the selected service", id="add_dest"),
    Binding("e", "edit", "Edit", tooltip="Edit the selected service or real server", id="edit"),
    Binding("delete", "remove", "Remove", show=False,
            tooltip="Remove the selected server or service", id="remove"),
    Binding("z", "zero", "Zero", show=False, tooltip="Zero the counters of the selected service",
            id="zero"),
    Binding("Z", "zero_all", "Zero all", show=False, tooltip="Zero the counters of every service",
            id="zero_all"),
    Binding("Y", "sync_daemon", "Sync daemon", show=False,
            tooltip="Start or stop the IPVS sync daemon", id="sync_daemon"),
    Binding("u", "undo", "Undo", tooltip="Undo the last change made in this session", id="undo"),
]
WRITE_ACTIONS = frozenset({"drain", "drain_host", "bring_back", "weight", "add_service", "add_dest",
                           "edit", "remove", "zero", "zero_all", "sync_daemon", "undo"})


def bindings() -> list[Binding]:
    """The Binding objects of BINDINGS (it declares nothing else; the type allows tuples too)."""
    return [binding for binding in BINDINGS if isinstance(binding, Binding)]


def is_change(binding: Binding) -> bool:
    return binding.action.split("(")[0] in WRITE_ACTIONS


def change_keys() -> frozenset[str]:
    """The keys of the change bindings (`d`, `delete`, `right_square_bracket`, ...)."""
    return frozenset(key for binding in bindings() if is_change(binding) for key in binding.key.split(","))


def key_table() -> list[tuple[str, str]]:
    """(key, what it does) for every binding of the app and of the tables."""
    rows = [(b.key_display or b.key, b.tooltip or b.description) for b in bindings()]
    rows += [(b.key.replace(",", " / "), b.tooltip or b.description)
             for b in Grid.BINDINGS if isinstance(b, Binding)]
    rows.append(("ctrl+p", "Palette: every action by name, and themes"))
    return rows


def help_columns(read_only: str | None) -> list[list[Section]]:
    """The help screen: watching keys on the left; changing and moving keys on the right."""
    by_key = {b.key_display or b.key: b for b in bindings()}
    watch: list[tuple[str, str]] = []
    change: list[tuple[str, str]] = []
    move: list[tuple[str, str]] = []
    for row in key_table():
        binding = by_key.get(row[0])
        (move if binding is None else change if is_change(binding) else watch).append(row)
    title = f"Change: off, read-only ({read_only})" if read_only else "Change (each one confirmed first)"
    spread = ("Spread: what each scheduler promises", help_rows())
    return [[("Watch", watch), ("", []), ("Move", move)], [(title, change), ("", []), spread]]


def key_table_markdown() -> str:
    """The README's key table (a test checks the README carries it)."""
    lines = ["| key | does |", "|---|---|"]
    lines += [f"| `{key}` | {does} |" for key, does in key_table()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(key_table_markdown(), end="")
