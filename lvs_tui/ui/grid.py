"""A virtual table: renders only the rows on screen (Textual's Line API), keeps the cursor on the
same row by key when rows come and go, and never rebuilds what is not visible.

On a narrow terminal it drops columns in each column's `drop` order until the rest fit, and its
first column (what a row is) stays put when the others scroll sideways.

Textual's DataTable is fine for a few thousand rows; a 10,000-service director needs this. The
grid knows nothing of IPVS: it is given column specs, row keys and a function that renders a row.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cell = Text | str
RenderRow = Callable[[Hashable], Sequence[Cell]]


@dataclass(frozen=True, slots=True)
class Column:
    id: str  # what sorting by this column is called; "" = not sortable
    label: str
    width: int
    right: bool = True  # numbers align right
    drop: int = 0  # the order in which it leaves a grid too narrow for all: 1 first; 0 never
    keep_end: bool = False  # a long value loses its middle, not its end (an address keeps its port)


class Grid(ScrollView, can_focus=True):
    """Rows by key; a header line that stays put; a cursor that follows its key."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False, tooltip="Previous row"),
        Binding("down,j", "cursor(1)", "Down", show=False, tooltip="Next row"),
        Binding("pageup", "page(-1)", "Page up", show=False, tooltip="A page up"),
        Binding("pagedown", "page(1)", "Page down", show=False, tooltip="A page down"),
        Binding("home,g", "edge(0)", "First row", show=False, tooltip="First row"),
        Binding("end,G", "edge(-1)", "Last row", show=False, tooltip="Last row"),
    ]
    COMPONENT_CLASSES = {"grid--header", "grid--cursor", "grid--sorted"}
    DEFAULT_CSS = """
    Grid { overflow-x: auto; overflow-y: auto; }
    Grid > .grid--header { text-style: bold; background: $panel; }
    Grid > .grid--sorted { text-style: bold underline; }
    Grid > .grid--cursor { background: $block-cursor-blurred-background; }
    Grid:focus > .grid--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
    """

    class _Event(Message):
        def __init__(self, grid: Grid) -> None:
            super().__init__()
            self.grid = grid

        @property
        def control(self) -> Grid:
            return self.grid

    class Highlighted(_Event):
        """The cursor moved to another row (`key` is None when the grid is empty)."""

        def __init__(self, grid: Grid, key: Hashable | None) -> None:
            super().__init__(grid)
            self.key = key

    class Selected(_Event):
        """A double click on a row (Enter is the app's own binding)."""

        def __init__(self, grid: Grid, key: Hashable) -> None:
            super().__init__(grid)
            self.key = key

    class HeaderClicked(_Event):
        def __init__(self, grid: Grid, column: str) -> None:
            super().__init__(grid)
            self.column = column

    def __init__(self, columns: Sequence[Column], render_row: RenderRow, **kwargs: str) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._all_columns = list(columns)
        self._columns = list(columns)  # those that fit, in their order
        self._shown: list[int] = list(range(len(columns)))  # their places in a rendered row
        self._render_row = render_row
        self._keys: list[Hashable] = []
        self._index: dict[Hashable, int] = {}
        self._cursor = 0
        self._sorted: tuple[str, bool] = ("", False)
        self._width = 0
        self._resize_columns()

    # --- data ----------------------------------------------------------------------------------

    def set_columns(self, columns: Sequence[Column]) -> None:
        self._all_columns = list(columns)
        self._fit()
        self.refresh()

    def set_rows(self, keys: list[Hashable]) -> None:
        """Show these rows (in this order); the cursor stays on its key if that row is still there."""
        current = self.cursor_key
        self._keys = keys
        self._index = {key: i for i, key in enumerate(keys)}
        if current is not None and current in self._index:
            self._cursor = self._index[current]
        else:
            self._cursor = min(self._cursor, max(0, len(keys) - 1))
        overflowed = self._overflows()
        self.virtual_size = Size(self._width, len(keys) + 1)
        if overflowed != self._overflows():  # a vertical scrollbar came or went: less or more room
            self._fit()
        self.refresh()
        if self.cursor_key != current:
            self.post_message(self.Highlighted(self, self.cursor_key))

    def set_sorted(self, column: str, reverse: bool) -> None:
        self._sorted = (column, reverse)
        self.refresh()

    @property
    def columns(self) -> list[Column]:
        """The columns on screen (those that fit)."""
        return list(self._columns)

    @property
    def cursor_row(self) -> int:
        """The cursor's row, from 0."""
        return self._cursor

    @property
    def long(self) -> bool:
        """More rows than the grid shows at once."""
        return len(self._keys) > self._body_height()

    @property
    def cursor_key(self) -> Hashable | None:
        return self._keys[self._cursor] if self._keys else None

    @property
    def row_count(self) -> int:
        return len(self._keys)

    def move_to(self, key: Hashable) -> None:
        if key in self._index:
            self._set_cursor(self._index[key])

    # --- keys and mouse ------------------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        self._set_cursor(self._cursor + step)

    def action_page(self, direction: int) -> None:
        self._set_cursor(self._cursor + direction * max(1, self._body_height() - 1))

    def action_edge(self, end: int) -> None:
        self._set_cursor(0 if end == 0 else len(self._keys) - 1)

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            first = self._fixed_width()
            column = self._column_at(event.x if event.x < first else event.x + int(self.scroll_x))
            if column:
                self.post_message(self.HeaderClicked(self, column))
            return
        row = int(self.scroll_y) + event.y - 1
        if 0 <= row < len(self._keys):
            self._set_cursor(row)
            if event.chain == 2:
                self.post_message(self.Selected(self, self._keys[row]))

    def _column_at(self, x: int) -> str:
        left = 0
        for column in self._columns:
            if left <= x < left + column.width:
                return column.id
            left += column.width + 1
        return ""

    def _set_cursor(self, index: int) -> None:
        if not self._keys:
            return
        index = max(0, min(index, len(self._keys) - 1))
        moved = index != self._cursor
        self._cursor = index
        body = self._body_height()
        top = int(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False)
        elif index >= top + body:
            self.scroll_to(y=index - body + 1, animate=False)
        self.refresh()
        if moved:
            self.post_message(self.Highlighted(self, self.cursor_key))

    # --- fitting the width ----------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self._fit()

    def _body_height(self) -> int:
        """Rows of the table on screen (the header line and a horizontal scrollbar take the rest)."""
        return max(1, self.scrollable_content_region.height - 1)

    def _overflows(self) -> bool:
        return len(self._keys) + 1 > self.size.height

    def _room(self) -> int:
        """The width the columns may take: the grid's, less a vertical scrollbar when rows overflow."""
        width = self.size.width
        if self._overflows() and self.styles.overflow_y != "hidden":
            width -= self.styles.scrollbar_size_vertical
        return width

    def _fit(self) -> None:
        """Show the columns that fit the grid's width now (on a resize, new columns, a scrollbar)."""
        columns, room = self._all_columns, self._room()
        self._shown = fitting(columns, room) if room > 0 else list(range(len(columns)))
        self._columns = [columns[i] for i in self._shown]
        self._resize_columns()
        if room > 0 and self._width <= room and self.scroll_x:  # everything fits: nothing to scroll
            self.scroll_to(x=0, animate=False, immediate=True)

    # --- rendering -----------------------------------------------------------------------------

    def _resize_columns(self) -> None:
        self._width = _width(self._columns)
        self.virtual_size = Size(self._width, len(self._keys) + 1)

    def _fixed_width(self) -> int:
        """The first column and its gap: they stay put when the grid scrolls sideways."""
        return self._columns[0].width + 1 if len(self._columns) > 1 else 0

    def _line(self, cells: Sequence[Cell], columns: Sequence[Column]) -> Text:
        line = Text(no_wrap=True, overflow="crop")
        for position, (column, cell) in enumerate(zip(columns, cells, strict=False)):
            if position:
                line.append(" ")
            text = fit(cell if isinstance(cell, Text) else Text(cell), column.width, column.keep_end)
            pad = column.width - text.cell_len
            if column.right:
                line.append(" " * pad)
                line.append_text(text)
            else:
                line.append_text(text)
                line.append(" " * pad)
        return line

    def _header(self) -> list[Cell]:
        sorted_id, reverse = self._sorted
        cells: list[Cell] = []
        for column in self._columns:
            if column.id and column.id == sorted_id:
                cells.append(Text(column.label + ("▼" if reverse else "▲"), style="bold"))
            else:
                cells.append(column.label)
        return cells

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        if y == 0:
            cells = self._header()
            style = self.get_component_rich_style("grid--header")
        else:
            row = scroll_y + y - 1
            if row >= len(self._keys):
                return Strip.blank(width, self.rich_style)
            rendered = self._render_row(self._keys[row])
            cells = [rendered[i] for i in self._shown if i < len(rendered)]
            style = self.get_component_rich_style("grid--cursor") if row == self._cursor else Style()
        fixed = self._fixed_width() if scroll_x else 0
        if fixed:  # the first column stays put; the others scroll under the rest of the width
            head = self._strip(self._line(cells[:1], self._columns[:1]).append(" "), 0, fixed)
            rest = self._strip(self._line(cells[1:], self._columns[1:]), scroll_x, width - fixed)
            strip = Strip.join([head, rest])
        else:
            strip = self._strip(self._line(cells, self._columns), scroll_x, width)
        return strip.apply_style(style) if style else strip

    def _strip(self, text: Text, start: int, width: int) -> Strip:
        segments = list(text.render(self.app.console))
        return Strip(segments, text.cell_len).crop_extend(start, start + max(0, width), self.rich_style)


def fitting(columns: Sequence[Column], room: int) -> list[int]:
    """The places of the columns shown in `room` cells: columns leave in their `drop` order (ties:
    the rightmost first) until the rest fit; those never dropped stay, and sideways scrolling
    shows what they overflow."""
    shown = set(range(len(columns)))
    for index in sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: (columns[i].drop, -i)):
        if _width(columns[i] for i in shown) <= room:
            break
        shown.discard(index)
    return sorted(shown)


def _width(columns: Iterable[Column]) -> int:
    widths = [column.width for column in columns]
    return sum(widths) + max(0, len(widths) - 1)


def fit(text: Text, width: int, keep_end: bool = False) -> Text:
    """`text` cut to `width` cells with an ellipsis: at its end, or with `keep_end` in its middle,
    keeping the end whole where it can (`[2001:db8:…:5678]:8080` keeps its port)."""
    if text.cell_len <= width:
        return text
    if not keep_end or width < 3:
        cut = text.copy()
        cut.truncate(width, overflow="ellipsis")
        return cut
    plain = text.plain
    colon = plain.rfind(":")  # the port, with the bracket that closes an IPv6 address
    port = len(plain) - colon + (plain[colon - 1:colon] == "]") if colon > 0 else 0
    tail = port if port < width - 1 else 0
    tail = max(tail, (width - 1) // 2)  # at least half of what shows is the end
    head = width - 1 - tail
    return Text.assemble(text[:head], "…", text[len(plain) - tail:])
