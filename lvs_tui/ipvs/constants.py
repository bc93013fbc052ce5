"""Numbers of the kernel's netlink and IPVS ABI (include/uapi/linux/{netlink,genetlink,ip_vs}.h)."""

from __future__ import annotations

# --- netlink / generic netlink ---------------------------------------------------------------
NETLINK_GENERIC = 16
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLA_F_NESTED = 0x8000
NLA_TYPE_MASK = 0x3FFF  # strips NLA_F_NESTED / NLA_F_NET_BYTEORDER
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10  # errors carry only the header of our request, not all of it

GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2

IPVS_GENL_NAME = "IPVS"
IPVS_GENL_VERSION = 1

# --- IPVS commands ---------------------------------------------------------------------------
CMD_NEW_SERVICE = 1
CMD_SET_SERVICE = 2
CMD_DEL_SERVICE = 3
CMD_GET_SERVICE = 4
CMD_NEW_DEST = 5
CMD_SET_DEST = 6
CMD_DEL_DEST = 7
CMD_GET_DEST = 8
CMD_NEW_DAEMON = 9
CMD_DEL_DAEMON = 10
CMD_GET_DAEMON = 11
CMD_SET_CONFIG = 12
CMD_GET_CONFIG = 13
CMD_SET_INFO = 14
CMD_GET_INFO = 15
CMD_ZERO = 16
CMD_FLUSH = 17

# Top-level attributes of a command.
CMD_ATTR_SERVICE = 1  # nested SVC_ATTR_*
CMD_ATTR_DEST = 2  # nested DEST_ATTR_*
CMD_ATTR_DAEMON = 3  # nested DAEMON_ATTR_*
CMD_ATTR_TIMEOUT_TCP = 4
CMD_ATTR_TIMEOUT_TCP_FIN = 5
CMD_ATTR_TIMEOUT_UDP = 6

# Service attributes.
SVC_ATTR_AF = 1  # u16
SVC_ATTR_PROTOCOL = 2  # u16 (IPPROTO_*)
SVC_ATTR_ADDR = 3  # 16 bytes, IPv4 in the first 4
SVC_ATTR_PORT = 4  # be16
SVC_ATTR_FWMARK = 5  # u32
SVC_ATTR_SCHED_NAME = 6  # string
SVC_ATTR_FLAGS = 7  # struct ip_vs_flags {u32 flags; u32 mask}
SVC_ATTR_TIMEOUT = 8  # u32 seconds
SVC_ATTR_NETMASK = 9  # u32: IPv4 mask in network order, IPv6 prefix length
SVC_ATTR_STATS = 10  # nested STATS_ATTR_* (32-bit counters)
SVC_ATTR_PE_NAME = 11  # string
SVC_ATTR_STATS64 = 12  # nested STATS_ATTR_* (all u64)

# Real server (destination) attributes.
DEST_ATTR_ADDR = 1
DEST_ATTR_PORT = 2  # be16
DEST_ATTR_FWD_METHOD = 3  # u32, conn_flags & 7
DEST_ATTR_WEIGHT = 4  # u32 (signed in the kernel)
DEST_ATTR_U_THRESH = 5
DEST_ATTR_L_THRESH = 6
DEST_ATTR_ACTIVE_CONNS = 7
DEST_ATTR_INACT_CONNS = 8
DEST_ATTR_PERSIST_CONNS = 9
DEST_ATTR_STATS = 10
DEST_ATTR_ADDR_FAMILY = 11  # u16
DEST_ATTR_STATS64 = 12
DEST_ATTR_TUN_TYPE = 13  # u8
DEST_ATTR_TUN_PORT = 14  # be16
DEST_ATTR_TUN_FLAGS = 15  # u16

# Sync daemon attributes.
DAEMON_ATTR_STATE = 1  # u32: IP_VS_STATE_MASTER 1, IP_VS_STATE_BACKUP 2
DAEMON_ATTR_MCAST_IFN = 2  # string
DAEMON_ATTR_SYNC_ID = 3  # u32
DAEMON_STATE_MASTER = 1
DAEMON_STATE_BACKUP = 2

# GET_INFO reply attributes.
INFO_ATTR_VERSION = 1  # u32, 0x010201 = "1.2.1"
INFO_ATTR_CONN_TAB_SIZE = 2  # u32

# Forwarding methods (conn_flags & IP_VS_CONN_F_FWD_MASK).
FWD_MASK = 0x7
FWD_MASQ = 0
FWD_LOCALNODE = 1
FWD_TUNNEL = 2
FWD_DROUTE = 3
FWD_BYPASS = 4

# Tunnel types and encapsulation flags (IP_VS_CONN_F_TUNNEL_TYPE_*, IP_VS_TUNNEL_ENCAP_FLAG_*).
TUNNEL_TYPE_IPIP = 0
TUNNEL_TYPE_GUE = 1
TUNNEL_TYPE_GRE = 2
TUNNEL_FLAG_NOCSUM = 0  # the absence of the other two
TUNNEL_FLAG_CSUM = 0x1
TUNNEL_FLAG_REMCSUM = 0x2

IP_VS_SCHEDNAME_MAXLEN = 16  # includes the NUL
IP_VS_PENAME_MAXLEN = 16
IP_VS_IFNAME_MAXLEN = 16
