"""Around IPVS: what the director and the real servers need for NAT, DR and TUN, and what is wrong."""
