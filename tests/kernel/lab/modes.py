"""The DR + TUN lab of the tests of `lvs-top doctor` and `lvs-top realserver`: one bridged segment,
every piece of it in network namespaces of the lab VM:

    lvc  10.30.0.2   client                                  ─┐
    lvr1 10.30.0.11  DR real server, VIP 10.30.0.100 on lo    ─┤
    lvr2 10.30.0.12  DR real server, VIP 10.30.0.100 on lo    ─┼─ br0 of lvd: the director, 10.30.0.1,
    lvr3 10.30.0.13  TUN real server, VIP 10.30.0.200 on tunl0 ─┘  VIPs 10.30.0.100 (DR), 10.30.0.200 (TUN)

The director lvd is a namespace of its own with its own IPVS table (`ipvsadm` through `ip netns exec
lvd`; `lvs-top doctor --netns lvd`), so the root namespace, its NAT lab and its table stay as they
are: each veth pair goes from lvd to one host namespace, nothing is created in the root namespace.
The real servers hold their VIP on lo (DR) or tunl0 (TUN) with arp_ignore=1 and arp_announce=2, and
answer HTTP on port 80 with their name. These addresses exist only inside the VM.

Plus what those tests look at: `arping` from a namespace, a device's MAC address, a neighbour entry.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
from dataclasses import dataclass, field
from typing import Any

from lvs_tui.ipvs.netlink import in_netns
from tests.kernel.lab.commands import ipvsadm, ipvsadm_lines, set_sysctl, sh, wait_until
from tests.kernel.lab.programs import command as program
from tests.kernel.lab.topology import serves, spawn

DIRECTOR, CLIENT = "lvd", "lvc"
DIRECTOR_IP, CLIENT_IP = "10.30.0.1", "10.30.0.2"
DR_VIP, TUN_VIP = "10.30.0.100", "10.30.0.200"
BRIDGE_MAC = "02:00:00:30:00:01"  # set, so that ports joining later never change the director's MAC
DR_SERVERS = {"lvr1": "10.30.0.11", "lvr2": "10.30.0.12"}
TUN_SERVERS = {"lvr3": "10.30.0.13"}
REQUEST_TIMEOUT = 1.0  # a request that gets no answer in 1 s on this segment gets none at all
DR_ARP = ("net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2",
          "net.ipv4.conf.eth0.arp_ignore=1", "net.ipv4.conf.eth0.arp_announce=2")
RULES = [
    f"-A -t {DR_VIP}:80 -s rr",
    *(f"-a -t {DR_VIP}:80 -r {address}:80 -g" for address in DR_SERVERS.values()),
    f"-A -t {TUN_VIP}:80 -s rr",
    *(f"-a -t {TUN_VIP}:80 -r {address}:80 -i" for address in TUN_SERVERS.values()),
]


def ip(netns: str, *commands: str, check: bool = True) -> None:
    """Several `ip` commands in namespace `netns`, one exec (`ip -n NETNS -batch -`); the first that
    fails stops the rest and raises, or with check=False (to undo) each is tried and failures ignored."""
    proc = subprocess.run(["ip", "-n", netns, *(() if check else ("-force",)), "-batch", "-"],
                          input="\n".join(commands) + "\n", capture_output=True, text=True, timeout=60)
    if check and proc.returncode != 0:
        raise RuntimeError(f"ip -n {netns} -batch failed: {proc.stderr.strip()}\n" + "\n".join(commands))


def director(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`ipvsadm ARGS` in the director's namespace."""
    return ipvsadm(*args, check=check, netns=DIRECTOR)


def arping(netns: str, address: str, interface: str = "eth0", count: int = 1) -> set[str]:
    """The MAC addresses that answer ARP requests for `address`, sent from `netns`: `arping -b`
    (broadcast only: arping would otherwise switch to unicast to the first host that answered)."""
    proc = sh("arping", "-b", "-c", str(count), "-I", interface, address, check=False, timeout=30,
              netns=netns)
    macs = {mac.lower() for mac in re.findall(r"reply from \S+ \[([0-9A-Fa-f:]{17})\]", proc.stdout)}
    print(f"arping {address} from {netns}: {sorted(macs) or 'no answer'} "
          f"({len(re.findall('reply from', proc.stdout))} replies to {count} requests)")
    return macs


def mac(netns: str, device: str) -> str:
    info = json.loads(sh("ip", "-n", netns, "-j", "link", "show", "dev", device).stdout)
    return str(info[0]["address"]).lower()


def neighbour(netns: str, address: str) -> str | None:
    """The MAC address `netns` has for `address` in its neighbour table, if any."""
    entries: list[dict[str, Any]] = json.loads(sh("ip", "-n", netns, "-j", "neigh", "show", address).stdout)
    return next((str(e["lladdr"]).lower() for e in entries if "lladdr" in e), None)


@dataclass
class ModesLab:
    """The DR + TUN topology; `host` and `web` add real-server namespaces later, `remove` takes one
    away again, `close` removes everything."""

    namespaces: list[str] = field(default_factory=list)
    web_procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)  # namespace -> its address on the bridge

    def build(self) -> None:
        sh("modprobe", "ipip")  # before the namespaces: each then gets its tunl0
        sh("ip", "netns", "add", DIRECTOR)
        self.namespaces.append(DIRECTOR)
        ip(DIRECTOR, "link set lo up", f"link add br0 address {BRIDGE_MAC} type bridge", "link set br0 up",
           f"addr add {DIRECTOR_IP}/24 dev br0", f"addr add {DR_VIP}/32 dev br0",
           f"addr add {TUN_VIP}/32 dev br0")
        set_sysctl("net.ipv4.ip_forward=1", netns=DIRECTOR)  # as on a director
        self.host(CLIENT, CLIENT_IP)
        for name, address in DR_SERVERS.items():
            self.host(name, address)
            ip(name, f"addr add {DR_VIP}/32 dev lo")
            set_sysctl(*DR_ARP, netns=name)
            self.web(name)
        for name, address in TUN_SERVERS.items():
            self.host(name, address)
            ip(name, "link set tunl0 up", f"addr add {TUN_VIP}/32 dev tunl0")
            set_sysctl("net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.tunl0.rp_filter=0",
                       "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2", netns=name)
            self.web(name)
        ipvsadm_lines(RULES, netns=DIRECTOR)
        self.wait_web(*DR_SERVERS, *TUN_SERVERS)

    def host(self, name: str, address: str) -> None:
        """A namespace `name` with eth0 at address/24 on the director's bridge."""
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        self.addresses[name] = address
        ip(DIRECTOR, f"link add p-{name} type veth peer name eth0 netns {name}",
           f"link set p-{name} master br0", f"link set p-{name} up")
        ip(name, "link set lo up", f"addr add {address}/24 dev eth0", "link set eth0 up")

    def web(self, name: str) -> None:
        """An HTTP server on port 80 of every address of namespace `name`, answering `name`."""
        self.web_procs[name] = spawn(name, program("slow_http", name, "0.0.0.0", "80"))

    def wait_web(self, *names: str, timeout: float = 120) -> None:
        """Until the HTTP server of each of these namespaces accepts connections from the client."""
        def wait() -> None:
            for name in names:
                address = self.addresses[name]
                wait_until(f"the HTTP server of {name} at {address}:80",
                           functools.partial(serves, self.web_procs[name], address, 80), timeout=timeout,
                           step=0.05)

        in_netns(CLIENT, wait)

    def remove(self, name: str) -> None:
        proc = self.web_procs.pop(name, None)
        if proc is not None:
            proc.kill()
            proc.wait(timeout=10)
        sh("ip", "netns", "del", name, check=False)  # its veth pair goes with it
        if name in self.namespaces:
            self.namespaces.remove(name)
        self.addresses.pop(name, None)

    def close(self) -> None:
        for proc in self.web_procs.values():
            proc.kill()
        for proc in self.web_procs.values():
            proc.wait(timeout=10)
        for name in reversed(self.namespaces):
            sh("ip", "netns", "del", name, check=False)
        self.namespaces.clear()
