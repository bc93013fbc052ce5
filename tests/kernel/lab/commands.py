"""Commands of the lab VM: sh, ipvsadm (in the root namespace or another), sysctls, kernel modules,
and the waits every test uses (poll a condition; never a fixed sleep where a condition can say)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from tests.kernel.lab.ipvsadm_listing import Listing, parse_listing

T = TypeVar("T")

IN_LAB_ENV = "LVS_TOP_KERNEL_LAB"
MODULES = (
    "ip_vs",
    "ip_vs_rr",
    "ip_vs_wrr",
    "ip_vs_lc",
    "ip_vs_wlc",
    "ip_vs_sh",
    "ip_vs_mh",
    "ip_vs_pe_sip",
)


def in_lab() -> bool:
    return os.environ.get(IN_LAB_ENV) == "1"


def sh(*argv: str, check: bool = True, timeout: float = 60, input: str | None = None,
       netns: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command (inside `netns` with `ip netns exec`); on failure raise with its stderr."""
    if netns is not None:
        argv = ("ip", "netns", "exec", netns, *argv)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def ipvsadm(*args: str, check: bool = True, netns: str | None = None) -> subprocess.CompletedProcess[str]:
    return sh("ipvsadm", *args, check=check, netns=netns)


def ipvsadm_lines(rules: Sequence[str], netns: str | None = None) -> None:
    """Lines of ipvsadm command syntax, all in one `ipvsadm -R` (one exec: the VM is slow). ipvsadm
    -R goes on past a line the kernel refuses and exits 0 if the last one passed: what it says on
    stderr counts as a failure too."""
    proc = sh("ipvsadm", "-R", input="\n".join(rules) + "\n", check=False, timeout=600, netns=netns)
    if proc.returncode != 0 or proc.stderr.strip():
        raise RuntimeError(f"ipvsadm -R failed: {proc.stderr.strip()}\n" + "\n".join(rules))


restore = ipvsadm_lines  # `ipvsadm -R` of a saved table


def clear() -> None:
    """`ipvsadm -C`; no exec when /proc/net/ip_vs already lists no service (its 3 header lines)."""
    if len(Path("/proc/net/ip_vs").read_text().splitlines()) > 3:
        ipvsadm("-C")


def listing(*options: str) -> Listing:
    """`ipvsadm -Ln --exact OPTIONS`, parsed."""
    return parse_listing(ipvsadm("-Ln", "--exact", *options).stdout)


def save() -> list[str]:
    """`ipvsadm -Sn`, one rule per line, in ipvsadm's order."""
    return [line for line in ipvsadm("-Sn").stdout.splitlines() if line.strip()]


def sysctl(name: str) -> str:
    """A sysctl of the root namespace ("net.ipv4.ip_forward"), read from /proc/sys: no exec."""
    return Path("/proc/sys", *name.split(".")).read_text().strip()


def set_sysctl(*settings: str, netns: str | None = None) -> None:
    """NAME=VALUE sysctls: written to /proc/sys in the root namespace (no exec), else with
    `ip netns exec NETNS sysctl -qw`."""
    if netns is not None:
        sh("sysctl", "-qw", *settings, netns=netns)
        return
    for setting in settings:
        name, _, value = setting.partition("=")
        Path("/proc/sys", *name.split(".")).write_text(value + "\n")


def connection_entries() -> int:
    """Entries of the kernel's connection table, templates included: /proc/net/ip_vs_conn, no exec."""
    with open("/proc/net/ip_vs_conn") as table:
        return sum(1 for _ in table) - 1  # its header line


def flush_connections(timeout: float = 30) -> None:
    """Empty the table and the connection table: `ipvsadm -C` leaves entries until they expire
    (TIME_WAIT lasts 2 minutes). With expire_nodest_conn=1, deleting a real server makes the kernel
    flush every entry whose server is gone; a throwaway service triggers that once.

    The kernel's trash is not emptied: a real server deleted less than about two minutes ago and
    added again to the same service comes back with its old counters (folded in at an estimator
    tick after it is added). Tests count connections per service (a service is never reused), or
    per real server only as a lower bound.
    """
    if connection_entries() == 0 and len(Path("/proc/net/ip_vs").read_text().splitlines()) <= 3:
        return  # nothing to flush: no entry, and no service whose real servers could come back
    name = "net.ipv4.vs.expire_nodest_conn"
    old = sysctl(name)
    set_sysctl(f"{name}=1")
    try:
        clear()
        ipvsadm_lines(["-A -t 10.10.0.1:1 -s rr", "-a -t 10.10.0.1:1 -r 10.20.1.2:1 -m"])
        clear()
        wait_until("an empty connection table", lambda: connection_entries() == 0, timeout=timeout,
                   step=0.05)
    finally:
        set_sysctl(f"{name}={old}")


def counters_settled(service: str, still: float = 4.5, timeout: float = 30) -> None:
    """Until the counters of `service` ("tcp:10.10.0.1:80") and its real servers have held still
    for `still` s (two estimator periods): a real server back from the kernel's trash gets its old
    counts folded in at a tick some time after it is added (see flush_connections)."""
    from lvs_tui.ipvs.kernel import KernelBackend
    from lvs_tui.model.records import ServiceKey

    backend = KernelBackend()
    try:
        def read() -> object:
            return [(s.stats[:5], [d.stats[:5] for d in s.dests])
                    for s in backend.snapshot_of([ServiceKey.parse(service)]).services]

        last, since, deadline = read(), time.monotonic(), time.monotonic() + timeout
        while time.monotonic() - since < still:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the counters of {service} kept moving for {timeout} s")
            time.sleep(0.25)
            now = read()
            if now != last:
                last, since = now, time.monotonic()
    finally:
        backend.close()


def proc_weights(service: str) -> dict[str, int] | None:
    """The real servers of TCP/UDP service `service` ("tcp:10.10.0.1:80") and their weights, from
    the kernel's own /proc/net/ip_vs: no exec, so cheap enough to poll every 50 ms. None when the
    service is not in the table."""
    services: dict[str, dict[str, int]] = {}
    current: dict[str, int] | None = None
    for line in Path("/proc/net/ip_vs").read_text().splitlines()[3:]:
        words = line.split()
        if not words:
            continue
        if words[0] in ("TCP", "UDP", "SCTP") and not words[1].startswith("["):
            address, port = words[1].split(":")
            current = services.setdefault(f"{words[0].lower()}:{_hex_ip(address)}:{int(port, 16)}", {})
        elif words[0] == "->" and current is not None and not words[1].startswith("["):
            address, port = words[1].split(":")
            current[f"{_hex_ip(address)}:{int(port, 16)}"] = int(words[3])
        elif words[0] != "->":
            current = None  # a fwmark or IPv6 service: not needed here
    return services.get(service)


def _hex_ip(text: str) -> str:
    return socket.inet_ntoa(bytes.fromhex(text))


def load_modules() -> None:
    """modprobe every module of the suite, in one exec."""
    sh("modprobe", "-a", *MODULES)
    if not Path("/proc/net/ip_vs").exists():
        raise RuntimeError("modprobe ip_vs succeeded but /proc/net/ip_vs is missing")


MODPROBE = Path("/proc/sys/kernel/modprobe")


@contextlib.contextmanager
def ipvs_unloaded() -> Iterator[None]:
    """Every ip_vs module removed (the table emptied first), and the kernel kept from loading it
    again, until the block ends: then modprobe works again and the modules are back."""
    original = MODPROBE.read_text().strip()
    clear()
    loaded = [line.split()[0] for line in Path("/proc/modules").read_text().splitlines()]
    for module in [name for name in loaded if name.startswith("ip_vs_")] + ["ip_vs"]:
        sh("rmmod", module)
    MODPROBE.write_text("/bin/false\n")
    try:
        yield
    finally:
        MODPROBE.write_text(original + "\n")
        load_modules()


def wait_until(what: str, ready: Callable[[], bool], timeout: float = 60, step: float = 0.1) -> None:
    """Poll `ready()` every `step` s until it is true; TimeoutError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


def tcp_accepts(address: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def estimator_tick(timeout: float = 3.0) -> bool:
    """Until the kernel's estimator has run once since the traffic just sent: it folds the per-CPU
    counters in (and recomputes its rates) every 2 s, and until it has, a listing lags behind the
    packets. Seen in /proc/net/ip_vs_stats, which every tick that has something new changes; when
    nothing changes for `timeout` s (longer than the tick), the counters had already landed.
    Whether a tick was seen."""
    time.sleep(0.05)  # the last packets of the traffic (a FIN's ACK) pass the director
    stats = Path("/proc/net/ip_vs_stats")
    before = stats.read_text()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if stats.read_text() != before:
            return True
    return False


def landed(read: Callable[[], T]) -> T:
    """`read()` once the counters of the traffic just sent have landed: after the estimator's next
    tick (`estimator_tick`), not after a fixed wait."""
    estimator_tick()
    return read()


@contextlib.contextmanager
def estimator_stopped() -> Iterator[None]:
    """The kernel's estimator stopped (net.ipv4.vs.run_estimation=0) for the block: counters and
    rates hold still, so that two tools read the same figures. Right after traffic the rates decay
    at every 2-second tick for some 20 s, and in the emulated VM one round of reads takes about a
    tick: with the estimator running, a comparison could wait that long for two equal reads."""
    knob = Path("/proc/sys/net/ipv4/vs/run_estimation")
    before = knob.read_text()
    knob.write_text("0\n")
    try:
        yield
    finally:
        knob.write_text(before)
