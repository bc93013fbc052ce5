"""(e) Kernel errors become lvs-top's errors, with a message naming the object concerned."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import pytest

from tests.kernel.lab import lvs_top
from tests.kernel.lab.commands import ipvsadm, ipvsadm_lines, save

if TYPE_CHECKING:
    from lvs_tui.ipvs.kernel import KernelBackend


def _web() -> tuple[object, object]:
    from lvs_tui.ipvs.backend import DestConfig, ServiceConfig
    from lvs_tui.model.records import ServiceKey

    key = ServiceKey.inet("tcp", "10.10.0.1", 80)
    return ServiceConfig(key, "rr"), DestConfig("10.20.1.2", 80)


def test_adding_an_existing_service_raises_object_exists(backend: KernelBackend) -> None:
    from lvs_tui.ipvs.backend import ServiceConfig
    from lvs_tui.ipvs.errors import ObjectExists
    from lvs_tui.model.records import ServiceKey

    ipvsadm_lines(["-A -t 10.10.0.1:80 -s rr"])
    with pytest.raises(ObjectExists, match=r"10\.10\.0\.1"):
        backend.add_service(ServiceConfig(ServiceKey.inet("tcp", "10.10.0.1", 80), "wlc"))
    assert save() == ["-A -t 10.10.0.1:80 -s rr"]  # untouched


def test_adding_an_existing_dest_raises_object_exists(backend: KernelBackend) -> None:
    from lvs_tui.ipvs.backend import DestConfig
    from lvs_tui.ipvs.errors import ObjectExists
    from lvs_tui.model.records import ServiceKey

    ipvsadm_lines(["-A -t 10.10.0.1:80 -s rr", "-a -t 10.10.0.1:80 -r 10.20.1.2:80 -m -w 3"])
    with pytest.raises(ObjectExists, match=r"10\.20\.1\.2"):
        backend.add_dest(ServiceKey.inet("tcp", "10.10.0.1", 80), DestConfig("10.20.1.2", 80, weight=5))
    assert save()[1] == "-a -t 10.10.0.1:80 -r 10.20.1.2:80 -m -w 3"


def test_missing_scheduler_module_raises_scheduler_missing(backend: KernelBackend) -> None:
    from lvs_tui.ipvs.backend import ServiceConfig
    from lvs_tui.ipvs.errors import SchedulerMissing
    from lvs_tui.model.records import ServiceKey

    # ipvsadm fails the same way: the kernel finds no module ip_vs_nosuch.
    assert ipvsadm("-A", "-t", "10.10.0.1:80", "-s", "nosuch", check=False).returncode != 0
    with pytest.raises(SchedulerMissing, match="nosuch"):
        backend.add_service(ServiceConfig(ServiceKey.inet("tcp", "10.10.0.1", 80), "nosuch"))
    assert save() == []


def test_missing_objects_raise_object_not_found(backend: KernelBackend) -> None:
    from lvs_tui.ipvs.backend import DestEdit, ServiceEdit
    from lvs_tui.ipvs.errors import ObjectNotFound
    from lvs_tui.model.records import DestKey, ServiceKey

    ipvsadm_lines(["-A -t 10.10.0.1:80 -s rr"])
    gone = ServiceKey.inet("udp", "10.10.0.9", 53)
    here = ServiceKey.inet("tcp", "10.10.0.1", 80)
    with pytest.raises(ObjectNotFound, match=r"10\.10\.0\.9"):
        backend.delete_service(gone)
    with pytest.raises(ObjectNotFound, match=r"10\.10\.0\.9"):
        backend.edit_service(gone, ServiceEdit(scheduler="wrr"))
    with pytest.raises(ObjectNotFound, match=r"10\.20\.9\.9"):
        backend.delete_dest(here, DestKey("10.20.9.9", 80))
    with pytest.raises(ObjectNotFound, match=r"10\.20\.9\.9"):
        backend.edit_dest(here, DestKey("10.20.9.9", 80), DestEdit(weight=2))
    with pytest.raises(ObjectNotFound):
        backend.zero(gone)


def test_invalid_values_raise_invalid_argument(backend: KernelBackend) -> None:
    from lvs_tui.ipvs.backend import DestConfig
    from lvs_tui.ipvs.errors import InvalidArgument
    from lvs_tui.model.records import ServiceKey

    ipvsadm_lines(["-A -t 10.10.0.1:80 -s rr"])
    with pytest.raises(InvalidArgument):
        backend.add_dest(ServiceKey.inet("tcp", "10.10.0.1", 80), DestConfig("10.20.1.2", 80, weight=-1))
    assert save() == ["-A -t 10.10.0.1:80 -s rr"]


def test_unknown_netns_raises_namespace_not_found() -> None:
    from lvs_tui.ipvs.errors import NamespaceNotFound
    from lvs_tui.ipvs.kernel import KernelBackend

    with pytest.raises(NamespaceNotFound, match="nosuch"):
        KernelBackend(netns="nosuch").snapshot()


def test_without_cap_net_admin_raises_permission_denied() -> None:
    """Every IPVS netlink call needs CAP_NET_ADMIN, reads included."""
    code = textwrap.dedent(
        """
        from lvs_tui.ipvs.kernel import KernelBackend
        try:
            KernelBackend().snapshot()
        except Exception as error:
            print(type(error).__name__, error)
        else:
            print("no error")
        """
    )
    # Still root (so a checkout in a private directory stays readable), minus CAP_NET_ADMIN alone.
    proc = lvs_top.python(code, wrapper=["setpriv", "--inh-caps=-net_admin", "--bounding-set=-net_admin"])
    assert proc.stdout.startswith("PermissionDenied "), proc.stdout + proc.stderr
