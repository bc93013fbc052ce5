"""Pilot tests of the add and edit forms on the simulated director: what the kernel would refuse is
refused as it is typed, and an error from the kernel keeps the form and what was typed."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button, Checkbox, Input, Static

from lvs_tui.ipvs.backend import ServiceConfig
from lvs_tui.model.records import Forward, ServiceKey
from lvs_tui.sim import SimulatedDirector
from lvs_tui.ui.app import LvsTopApp
from lvs_tui.ui.confirm import ConfirmScreen
from lvs_tui.ui.forms import DestForm, FormScreen, ServiceForm
from tests.app.pilot import until
from tests.app.test_app_ops import app_on, first_dest, ready, service

NEW = ServiceKey.inet("tcp", "192.0.2.99", 80)


def said(form: FormScreen) -> str:
    return str(form.query_one("#form-result", Static).render())


def applicable(form: FormScreen) -> bool:
    return not form.query_one("#apply", Button).disabled


async def open_service_form(app: LvsTopApp, pilot: object, address: str, port: str) -> ServiceForm:
    await pilot.press("a")  # type: ignore[attr-defined]
    form = app.screen
    assert isinstance(form, ServiceForm)
    form.query_one("#address", Input).value = address
    form.query_one("#port", Input).value = port
    await pilot.pause(0.1)  # type: ignore[attr-defined]
    return form


async def test_port_zero_without_persistence_is_refused_as_typed(tmp_path: Path) -> None:
    app = app_on(SimulatedDirector(seed=3), tmp_path / "j.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.frame.snapshot is not None)
        form = await open_service_form(app, pilot, "192.0.2.99", "0")
        assert not applicable(form)
        assert "port 0 is allowed only for a persistent service" in said(form)
        form.query_one("#persistent", Checkbox).value = True
        await pilot.pause(0.1)
        assert applicable(form) and "-p 300" in said(form)


async def test_a_service_or_real_server_already_there_is_refused_as_typed(tmp_path: Path) -> None:
    app = app_on(SimulatedDirector(seed=3), tmp_path / "j.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        form = await open_service_form(app, pilot, "192.0.2.10", "80")
        assert not applicable(form)
        assert "service tcp:192.0.2.10:80 already exists: select it and press e to edit it." in said(form)
        await pilot.press("escape")
        dest = first_dest(app)
        await pilot.press("A")
        dest_form = app.screen
        assert isinstance(dest_form, DestForm)
        dest_form.query_one("#address", Input).value = dest.address
        dest_form.query_one("#port", Input).value = str(dest.port)
        await pilot.pause(0.1)
        assert not applicable(dest_form)
        assert f"real server {dest.key} is already in service tcp:192.0.2.10:80" in said(dest_form)


async def test_a_dr_server_on_another_port_than_the_vips_is_refused(tmp_path: Path) -> None:
    app = app_on(SimulatedDirector(seed=3), tmp_path / "j.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("A")
        form = app.screen
        assert isinstance(form, DestForm)
        form.query_one("#address", Input).value = "10.99.0.1"
        form.query_one("#port", Input).value = "8080"
        form.query_one("#forward").value = Forward.ROUTE  # type: ignore[attr-defined]
        await pilot.pause(0.1)
        assert not applicable(form)
        assert ("DR cannot change ports (packets arrive for port 80); use port 80, or NAT forwarding to "
                "reach port 8080.") in said(form)
        form.query_one("#port", Input).value = "80"
        await pilot.pause(0.1)
        assert applicable(form)


async def test_an_error_from_the_kernel_keeps_the_form_and_what_was_typed(tmp_path: Path) -> None:
    director = SimulatedDirector(seed=3)
    app = app_on(director, tmp_path / "j.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.frame.snapshot is not None)
        form = await open_service_form(app, pilot, "192.0.2.99", "80")
        assert applicable(form)
        director.add_service(ServiceConfig(NEW, "rr"))  # someone else, in another terminal
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "already exists" in said(form))
        assert app.screen is form
        assert form.query_one("#address", Input).value == "192.0.2.99"
        assert applicable(form)  # corrected, it can be applied again
        form.query_one("#port", Input).value = "81"
        await pilot.pause(0.1)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is app.dashboard)
        await until(pilot, lambda: app.frame.snapshot is not None
                    and app.frame.snapshot.service(ServiceKey.inet("tcp", "192.0.2.99", 81)) is not None)
        assert service(app, NEW).scheduler == "rr"


async def test_a_cancelled_confirmation_goes_back_to_the_form(tmp_path: Path) -> None:
    app = app_on(SimulatedDirector(seed=3), tmp_path / "j.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.frame.snapshot is not None and app.frame.facts.schedulers != ())
        await pilot.press("e")
        form = app.screen
        assert isinstance(form, ServiceForm)
        form.query_one("#scheduler").value = "sh"  # type: ignore[attr-defined]
        await pilot.pause(0.1)
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ConfirmScreen)  # a scheduler change is confirmed
        await pilot.press("n")
        assert app.screen is form  # type: ignore[comparison-overlap]
        assert form.query_one("#scheduler").value == "sh"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")  # asked again, as it was
        assert isinstance(app.screen, ConfirmScreen)
