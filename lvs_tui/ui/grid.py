"""A virtual table: renders only the rows on screen (Textual's Line API), keeps the cursor on the
same row by key when rows come and go, and never rebuilds what is not visible.

Textual's DataTable is fine for a few thousand rows; a 10,000-service director needs this. The
grid knows nothing of IPVS: it is given column specs, row keys and a function that renders a row.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
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
        self._columns = list(columns)
        self._render_row = render_row
        self._keys: list[Hashable] = []
        self._index: dict[Hashable, int] = {}
        self._cursor = 0
        self._sorted: tuple[str, bool] = ("", False)
        self._width = 0
        self._resize_columns()

    # --- data ----------------------------------------------------------------------------------

    def set_columns(self, columns: Sequence[Column]) -> None:
        self._columns = list(columns)
        self._resize_columns()
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
        self.virtual_size = Size(self._width, len(keys) + 1)
        self.refresh()
        if self.cursor_key != current:
            self.post_message(self.Highlighted(self, self.cursor_key))

    def set_sorted(self, column: str, reverse: bool) -> None:
        self._sorted = (column, reverse)
        self.refresh()

    @property
    def columns(self) -> list[Column]:
        return list(self._columns)

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
        self._set_cursor(self._cursor + direction * max(1, self.size.height - 2))

    def action_edge(self, end: int) -> None:
        self._set_cursor(0 if end == 0 else len(self._keys) - 1)

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            column = self._column_at(event.x + int(self.scroll_x))
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
        body = max(1, self.size.height - 1)
        top = int(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False)
        elif index >= top + body:
            self.scroll_to(y=index - body + 1, animate=False)
        self.refresh()
        if moved:
            self.post_message(self.Highlighted(self, self.cursor_key))

    # --- rendering -----------------------------------------------------------------------------

    def _resize_columns(self) -> None:
        self._width = sum(column.width for column in self._columns) + max(0, len(self._columns) - 1)
        self.virtual_size = Size(self._width, len(self._keys) + 1)

    def _line(self, cells: Sequence[Cell]) -> Text:
        line = Text(no_wrap=True, overflow="crop")
        for position, (column, cell) in enumerate(zip(self._columns, cells, strict=False)):
            if position:
                line.append(" ")
            text = cell if isinstance(cell, Text) else Text(cell)
            text = text.copy()
            text.truncate(column.width, overflow="ellipsis")
            pad = column.width - text.cell_len
            if column.right:
                line.append(" " * pad)
                line.append_text(text)
            else:
                line.append_text(text)
                line.append(" " * pad)
        return line

    def _header(self) -> Text:
        sorted_id, reverse = self._sorted
        cells: list[Cell] = []
        for column in self._columns:
            if column.id and column.id == sorted_id:
                cells.append(Text(column.label + ("▼" if reverse else "▲"), style="bold"))
            else:
                cells.append(column.label)
        return self._line(cells)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        if y == 0:
            text = self._header()
            style = self.get_component_rich_style("grid--header")
        else:
            row = scroll_y + y - 1
            if row >= len(self._keys):
                return Strip.blank(width, self.rich_style)
            text = self._line(self._render_row(self._keys[row]))
            style = self.get_component_rich_style("grid--cursor") if row == self._cursor else Style()
        segments = list(text.render(self.app.console))
        strip = Strip(segments, text.cell_len).crop_extend(scroll_x, scroll_x + width, self.rich_style)
        return strip.apply_style(style) if style else strip
