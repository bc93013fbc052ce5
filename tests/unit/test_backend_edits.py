"""The one rule for laying an edit over a service or a real server, which the kernel backend, the
simulated director and the plans (with their ipvsadm commands) all follow."""

from __future__ import annotations

import pytest

from lvs_tui.ipvs.backend import DestConfig, DestEdit, ServiceConfig, ServiceEdit
from lvs_tui.ipvs.errors import InvalidArgument
from lvs_tui.model.records import Forward, ServiceKey, Tunnel, TunnelType
from lvs_tui.ops import changes
from lvs_tui.sim import SimulatedDirector

WEB = ServiceKey.inet("tcp", "192.0.2.10", 80)
GUE = Tunnel(TunnelType.GUE, 6080, ("remcsum",))


def test_a_scheduler_change_keeps_the_bits_under_their_new_names() -> None:
    sh = ServiceConfig(WEB, "sh", ("sh-fallback", "sh-port"))
    assert sh.edited(ServiceEdit(scheduler="mh")).flags == ("mh-fallback", "mh-port")
    assert sh.edited(ServiceEdit(scheduler="rr")).flags == ("flag-1", "flag-2")
    assert sh.edited(ServiceEdit(scheduler="rr", flags=())).flags == ()
    assert sh.edited(ServiceEdit(pe="")).pe is None and sh.edited(ServiceEdit(pe="sip")).pe == "sip"


def test_tunnel_settings_exist_only_with_tunnel_forwarding() -> None:
    tunnelled = DestConfig("198.51.100.1", 80, Forward.TUNNEL, GUE, 3)
    assert tunnelled.edited(DestEdit(weight=0)).tunnel == GUE
    assert tunnelled.edited(DestEdit(forward=Forward.MASQ)).tunnel is None  # leaving drops them
    entering = DestConfig("198.51.100.1", 80).edited(DestEdit(forward=Forward.TUNNEL))
    assert entering.tunnel == Tunnel()  # the kernel's default: ipip
    contradictory = DestConfig("198.51.100.1", 80).edited(DestEdit(forward=Forward.ROUTE, tunnel=GUE))
    assert contradictory.tunnel == GUE  # kept, for validation to refuse


def test_the_simulation_refuses_tunnel_settings_without_tunnel_forwarding_as_the_kernel_does() -> None:
    director = SimulatedDirector(seed=3)
    service = director.snapshot().service(WEB)
    assert service is not None
    dest = service.dests[0]
    with pytest.raises(InvalidArgument, match="tunnel"):
        director.edit_dest(WEB, dest.key, DestEdit(forward=Forward.ROUTE, tunnel=GUE))
    with pytest.raises(InvalidArgument, match="tunnel"):  # and so does a plan, before anything runs
        changes.edit_dest(WEB, dest, DestEdit(forward=Forward.ROUTE, tunnel=GUE))


def test_the_simulation_renames_the_bits_on_a_scheduler_change_as_the_kernel_does() -> None:
    director = SimulatedDirector(seed=3)
    director.edit_service(WEB, ServiceEdit(scheduler="sh", flags=("sh-fallback",)))
    director.edit_service(WEB, ServiceEdit(scheduler="mh"))
    service = director.snapshot().service(WEB)
    assert service is not None and service.flags == ("mh-fallback",)
