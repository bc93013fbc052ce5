"""The dashboard's change keys: from the selection to the operator. In a read-only session each one
says why it does nothing, on the status line, before anything else."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lvs_tui.model.records import Dest, Service

if TYPE_CHECKING:
    from lvs_tui.ui.operator import Operator


class ChangeKeys:
    """Mixed into the dashboard screen, which provides the selection and the operator."""

    operator: Operator

    def selected_service(self) -> Service | None:
        raise NotImplementedError

    def selected_dest(self) -> tuple[Service, Dest] | None:
        raise NotImplementedError

    def dests_focused(self) -> bool:
        raise NotImplementedError

    def _dest_to_change(self) -> tuple[Service, Dest] | None:
        return None if self.operator.refused() else self.selected_dest()

    def _service_to_change(self) -> Service | None:
        return None if self.operator.refused() else self.selected_service()

    def action_drain(self) -> None:
        if (selected := self._dest_to_change()) is not None:
            self.operator.drain(*selected)

    def action_drain_host(self) -> None:
        if (selected := self._dest_to_change()) is not None:
            self.operator.drain_host(selected[1].address)

    def action_bring_back(self) -> None:
        if (selected := self._dest_to_change()) is not None:
            self.operator.bring_back(*selected)

    def action_weight(self, step: int) -> None:
        if (selected := self._dest_to_change()) is not None:
            self.operator.step_weight(*selected, step)

    def action_add_service(self) -> None:
        self.operator.add_service()

    def action_add_dest(self) -> None:
        if (service := self._service_to_change()) is not None:
            self.operator.add_dest(service)

    def action_edit(self) -> None:
        if self.dests_focused():
            if (selected := self._dest_to_change()) is not None:
                self.operator.edit_dest(*selected)
        elif (service := self._service_to_change()) is not None:
            self.operator.edit_service(service)

    def action_remove(self) -> None:
        if self.dests_focused():
            if (selected := self._dest_to_change()) is not None:
                self.operator.remove_dest(*selected)
        elif (service := self._service_to_change()) is not None:
            self.operator.remove_service(service)

    def action_zero(self) -> None:
        if (service := self._service_to_change()) is not None:
            self.operator.zero(service.key)

    def action_zero_all(self) -> None:
        self.operator.zero(None)

    def action_sync_daemon(self) -> None:
        self.operator.sync_daemon()

    def action_undo(self) -> None:
        self.operator.undo()
