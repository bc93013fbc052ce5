"""Fixtures of the real-kernel suite. It runs only inside the lab VM (scripts/kernel-suite).

On any other machine every test here is skipped with the reason; the runner, not this file,
makes sure CI never passes on skips.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.kernel.lab import commands, lvs_top
from tests.kernel.lab.modes import ModesLab
from tests.kernel.lab.topology import NatLab

if TYPE_CHECKING:
    from lvs_tui.ipvs.kernel import KernelBackend

NAT_LAB_NEEDED = pytest.StashKey[bool]()
NOT_IN_LAB = (
    "kernel tests run only inside the lab VM: use scripts/kernel-suite "
    f"(it boots a kernel with IPVS and sets {commands.IN_LAB_ENV}=1)"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if commands.in_lab():
        config.stash[NAT_LAB_NEEDED] = any("topology" in getattr(item, "fixturenames", ()) for item in items)
        return
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.skip(reason=NOT_IN_LAB))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """What the lvs-top processes cost: the suite's largest single expense in the emulated VM."""
    if lvs_top.STARTS:
        total = sum(seconds for _, seconds in lvs_top.STARTS)
        cache = "precompiled" if lvs_top.precompiled() else "cached in the VM"
        terminalreporter.write_sep(
            "-", f"lvs-top processes: {len(lvs_top.STARTS)}, {total:.1f} s in all (bytecode {cache})")
        for args, seconds in lvs_top.STARTS:
            terminalreporter.write_line(f"{seconds:6.1f} s  lvs-top {args}")


@pytest.fixture(scope="session")
def ipvs_modules() -> None:
    """Load ip_vs and the modules the suite uses; a kernel without them fails the suite."""
    try:
        commands.load_modules()
    except RuntimeError as error:
        pytest.fail(f"this kernel cannot run the IPVS lab: {error}", pytrace=False)


@pytest.fixture(autouse=True)
def clean_table(ipvs_modules: None) -> Iterator[None]:
    """Every test starts (and leaves) with an empty IPVS table: `ipvsadm -C`."""
    commands.clear()
    yield
    commands.clear()


@pytest.fixture(scope="session", autouse=True)
def nat_lab(request: pytest.FixtureRequest, ipvs_modules: None) -> Iterator[NatLab | None]:
    """The NAT topology, started with the session when a test needs it: its servers come up while
    the first tests (which need none) run."""
    if not request.config.stash.get(NAT_LAB_NEEDED, False):
        yield None
        return
    topo = NatLab()
    try:
        topo.start()
        yield topo
    finally:
        topo.close()


@pytest.fixture(scope="session")
def topology(nat_lab: NatLab | None) -> NatLab:
    """The NAT topology: client ns, director (root ns), real servers rs1..rs3 with HTTP + UDP echo."""
    assert nat_lab is not None, "the NAT lab was not started: no collected test asked for it"
    nat_lab.wait()
    return nat_lab


@pytest.fixture(scope="session")
def modes(ipvs_modules: None) -> Iterator[ModesLab]:
    """The DR + TUN topology in namespaces of its own (lab.modes), built once for the modules that
    use it (each test leaves it as it found it)."""
    topo = ModesLab()
    try:
        topo.build()
        yield topo
    finally:
        topo.close()


@pytest.fixture
def servers_back(topology: NatLab) -> Iterator[None]:
    """For tests that stop or script real servers: the scripted servers answer 200 from the start,
    and every server a test stopped runs again after it."""
    topology.reset_scripted()
    yield
    topology.start_http(*topology.stopped_http())
    topology.reset_scripted()


@pytest.fixture
def backend(ipvs_modules: None) -> Iterator[KernelBackend]:
    try:
        from lvs_tui.ipvs.kernel import KernelBackend
    except ImportError as error:
        pytest.fail(f"lvs_tui.ipvs.kernel.KernelBackend is not importable: {error}", pytrace=False)
    kernel = KernelBackend()
    try:
        yield kernel
    finally:
        kernel.close()
