"""What the ARP settings that make or break a DR real server mean, value by value, in an operator's
words (from the kernel's Documentation/networking/ip-sysctl); the IPVS sysctls are in ops.sysctl."""

from __future__ import annotations

# net.ipv4.conf.{all,IFACE}.arp_ignore: the higher of `all` and the interface's value applies.
ARP_IGNORE = {
    0: "answers ARP for any local address, configured on any interface: a DR real server holding the "
       "VIP on lo answers ARP for the VIP and steals the director's traffic",
    1: "answers ARP only for addresses configured on the interface the request came in on: the VIP on "
       "lo stays silent (what DR real servers need)",
    2: "answers ARP only for addresses of the incoming interface, and only to senders in that "
       "interface's subnet: also keeps the VIP on lo silent",
    3: "does not answer for addresses of host scope, only for global and link ones",
    8: "answers no ARP request for any local address at all: the host is unreachable by ARP",
}
# net.ipv4.conf.{all,IFACE}.arp_announce: the higher of `all` and the interface's value applies.
ARP_ANNOUNCE = {
    0: "may put any local address, the VIP included, as the source of its ARP requests: neighbours "
       "learn that the VIP is at this host",
    1: "avoids source addresses outside the target's subnet where it can",
    2: "always uses the best address of the outgoing interface as the source of its ARP requests: the "
       "VIP is never announced (what DR real servers need)",
}
def meaning(table: dict[int, str], value: int) -> str:
    return table.get(value, f"{value} is not a value the kernel documents here")


def effective(all_value: int, interface_value: int) -> int:
    """arp_ignore and arp_announce: the kernel applies the higher of `all` and the interface's."""
    return max(all_value, interface_value)
