"""The kernel lab's helpers, run inside the lab VM (scripts/kernel-suite):

- commands: sh, ipvsadm, sysctl, waits;
- topology: the NAT lab (client, director, real servers rs1..rs3) in network namespaces;
- modes: the DR + TUN lab of the doctor and real-server tests, in namespaces of its own;
- traffic: requests, UDP, a background load and a connection flood from a client namespace;
- lvs_top: lvs-top as a process (`run`, `start`) or in this process (`here`);
- dashboard: the dashboard app, built in one place;
- health: the health checker as the tests run it, and what they read back;
- ipvsadm_listing, compare, tables, drain_polls: the oracle of ipvsadm's listings and comparisons;
- programs/: servers and clients run as processes, by path.

Nothing is imported here: a module takes only what it uses.
"""
