"""The dashboard's sort keys: `s`, `S` and `r` act on the focused pane, the services or the real
servers; a number column starts busiest first. A sort that changes is kept as a preference."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

from lvs_tui.live.frame import ViewSettings
from lvs_tui.model.dashboard import DEST_SORTS, KERNEL_ORDER, SERVICE_SORTS, SortKey, first_sort

if TYPE_CHECKING:
    from lvs_tui.ui.app import LvsTopApp

SERVICE_ORDER = list(SERVICE_SORTS)
DEST_ORDER = [KERNEL_ORDER.column, *DEST_SORTS]  # the kernel's own order first


class SortKeys:
    """Mixed into the dashboard screen, which provides the view, the panes and the app."""

    top_app: LvsTopApp
    view: ViewSettings
    dest_sort: SortKey

    def _set_view(self, view: ViewSettings) -> None:
        raise NotImplementedError

    def _refresh_dests(self, key: Hashable | None) -> None:
        raise NotImplementedError

    def dests_focused(self) -> bool:
        raise NotImplementedError

    def cursor_service(self) -> Hashable | None:
        raise NotImplementedError

    def refresh_order(self) -> None:
        raise NotImplementedError

    def set_service_sort(self, sort: SortKey) -> None:
        if sort.column not in SERVICE_SORTS:
            raise ValueError(f"unknown sort column {sort.column!r}")
        self._set_view(ViewSettings(sort, self.view.filter, self.view.watched))
        self.refresh_order()
        self.top_app.preferences_changed()

    def set_dest_sort(self, sort: SortKey) -> None:
        """Sort the real servers (KERNEL_ORDER: as the kernel lists them)."""
        if sort.column and sort.column not in DEST_SORTS:
            raise ValueError(f"unknown sort column {sort.column!r}")
        self.dest_sort = sort
        self._refresh_dests(self.cursor_service())
        self.top_app.preferences_changed()

    def action_sort_next(self) -> None:
        self._step_sort(1)

    def action_sort_previous(self) -> None:
        self._step_sort(-1)

    def _step_sort(self, step: int) -> None:
        dests = self.dests_focused()
        order = DEST_ORDER if dests else SERVICE_ORDER
        now = (self.dest_sort if dests else self.view.sort).column
        sort = first_sort(order[(order.index(now) + step) % len(order)])
        if dests:
            self.set_dest_sort(sort)
        else:
            self.set_service_sort(sort)

    def action_sort_reverse(self) -> None:
        if self.dests_focused():
            self.set_dest_sort(SortKey(self.dest_sort.column, not self.dest_sort.reverse))
        else:
            self.set_service_sort(SortKey(self.view.sort.column, not self.view.sort.reverse))
