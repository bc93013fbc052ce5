"""The kernel backend: IPVS over generic netlink (family "IPVS", version 1), without pyroute2.

Public API (the `Backend` protocol of lvs_tui.ipvs.backend)::

    backend = KernelBackend(netns=None)      # opens the socket and probes GET_INFO; raises IpvsError
    snap = backend.snapshot()                # GET_INFO + GET_SERVICE dump + one GET_DEST dump per service
    backend.timeouts(); backend.daemons()    # GET_CONFIG, GET_DAEMON
    backend.add_service(ServiceConfig(...)); backend.edit_service(key, ServiceEdit(...))
    backend.delete_service(key)
    backend.add_dest(key, DestConfig(...)); backend.edit_dest(key, dest_key, DestEdit(...))
    backend.delete_dest(key, dest_key)
    backend.zero(key | None); backend.set_timeouts(Timeouts(tcp, tcp_fin, udp))   # 0 = unchanged
    backend.close()

Behaviour worth knowing:
- Services come in the kernel's hash order, real servers in the kernel's list order (ipvsadm sorts;
  sort in the caller if needed). A service deleted between the two dumps is left out of the snapshot.
- Stats come from STATS64 (32-bit STATS on kernels before 4.1). Rates are the kernel's estimates.
- Edits are read-modify-write: the current object is read from the kernel, the non-None fields of the
  edit are laid over it, and the whole object is sent (SET_DEST and SET_SERVICE need every field).
  `ServiceEdit(pe="")` removes the persistence engine (None keeps it).
- Every failure is an `IpvsError` subclass whose text is one sentence naming the object; no OSError
  escapes. Not thread-safe: one poller thread owns an instance.
- `KernelBackend(transport=...)` injects a fake socket (see tests/unit/test_kernel_codec.py).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import NoReturn

from lvs_tui.ipvs import codec, poll, rtnl, validate
from lvs_tui.ipvs import constants as c
from lvs_tui.ipvs.backend import DestConfig, DestEdit, ServiceConfig, ServiceEdit, tunnel_for
from lvs_tui.ipvs.errors import (
    InvalidArgument,
    IpvsError,
    IpvsUnavailable,
    NamespaceNotFound,
    ObjectBusy,
    ObjectExists,
    ObjectNotFound,
    PermissionDenied,
    SchedulerMissing,
)
from lvs_tui.ipvs.netlink import GenlSocket, NetlinkError, RouteSocket, Transport
from lvs_tui.ipvs.procfs import ProcFormatError, ProcReader
from lvs_tui.ipvs.schedulers import available_engines, available_schedulers
from lvs_tui.ipvs.tiers import ListedDest, Tiers, read_ages
from lvs_tui.model import flags as service_flags
from lvs_tui.model.dashboard import RATE_ALL_DESTS_UP_TO
from lvs_tui.model.records import (
    Dest,
    DestKey,
    Family,
    Info,
    Service,
    ServiceKey,
    Snapshot,
    SyncDaemon,
    Timeouts,
)

# Up to this many real servers a poll reads them all whole even when asked for tiers: the dashboard
# rates every real server of such a table (model.dashboard), which needs every counter fresh.
TIERED_FROM = RATE_ALL_DESTS_UP_TO
UNAVAILABLE = "IPVS is not available in this kernel: load it with `modprobe ip_vs` (or try --demo)."


class KernelBackend:
    """The running kernel's IPVS table, in this network namespace or in `netns`."""

    def __init__(self, netns: str | None = None, *, transport: Transport | None = None,
                 tiered_from: int = TIERED_FROM) -> None:
        self._netns = netns
        self._tiered_from = tiered_from
        self._last_dests: int | None = None  # real servers in the last poll (None: no poll yet)
        self._decoder = poll.PollDecoder()
        self._tiers = Tiers()  # what the services read in part keep from their last whole read
        self._proc = ProcReader(netns)
        self._t = transport if transport is not None else _open(netns)
        if transport is None:
            try:
                self.info()  # fail now (no root, ...) rather than on the first poll
            except BaseException:
                self._t.close()
                raise

    @property
    def description(self) -> str:
        return f"kernel (netns {self._netns})" if self._netns else "kernel"

    # --- reads ---------------------------------------------------------------------------------

    def info(self) -> Info:
        body = self._one(c.CMD_GET_INFO, what="read the IPVS version")
        a = codec.parse_attrs(body, 0, len(body))
        return Info(codec.version_string(codec.get_u32(body, a, c.INFO_ATTR_VERSION)),
                    codec.get_u32(body, a, c.INFO_ATTR_CONN_TAB_SIZE))

    def snapshot(self, whole: Collection[ServiceKey] | None = None) -> Snapshot:
        """GET_SERVICE dump, then each service's real servers: all by GET_DEST (`whole` None, or a
        table of at most TIERED_FROM real servers), or tiered (see lvs_tui.ipvs.tiers): by GET_DEST
        for the services in `whole` and the rotation's share, from /proc/net/ip_vs for the others."""
        wall, mono = time.time(), time.monotonic()
        info = self.info()
        decoder = self._decoder
        decoder.start()
        found = []
        for body in self._call(c.CMD_GET_SERVICE, dump=True, what="list the virtual services"):
            service = decoder.service(body)
            if service is not None:
                found.append((body, *service))
        listed: Mapping[ServiceKey, Sequence[ListedDest]] = {}
        chosen: Collection[ServiceKey] | None = None
        # /proc is read only while the table may be large enough for tiers: a small table skips it.
        if whole is not None and (self._last_dests is None or self._last_dests > self._tiered_from):
            listed = self._listed()
        if whole is not None and sum(map(len, listed.values())) > self._tiered_from:
            keys = [svc.key for _, svc, _ in found]
            self._tiers.keep_only(keys)
            # A service /proc does not list (added since the dump) is read whole.
            chosen = self._tiers.chosen(keys, {*whole, *(key for key in keys if key not in listed)}, mono)
        services = []
        for body, svc, request in found:
            if chosen is not None and svc.key not in chosen:
                services.append(self._tiers.in_part(svc, listed[svc.key]))
                continue
            try:
                dest_bodies = self._call(c.CMD_GET_DEST, request, dump=True, what="list real servers",
                                         service=svc.key)
            except ObjectNotFound:
                continue  # deleted between the two dumps
            full = decoder.with_dests(body, svc, dest_bodies)
            services.append(full if chosen is None else self._tiers.whole(full, mono))
        ages = {} if chosen is None else read_ages(self._tiers, services, chosen)
        self._last_dests = sum(len(service.dests) for service in services)
        return Snapshot(time=wall, monotonic=mono, info=info, services=tuple(services), dests_read_at=ages)

    def snapshot_of(self, keys: Collection[ServiceKey]) -> Snapshot:
        """GET_SERVICE and a GET_DEST dump for each of `keys`: two requests a service."""
        wall, mono = time.time(), time.monotonic()
        info = self.info()
        services = []
        for key in dict.fromkeys(keys):
            try:
                services.append(poll.with_dests(self._get_service(key), self._dump_dests(key)))
            except ObjectNotFound:
                continue  # not (or no longer) in the table
        return Snapshot(time=wall, monotonic=mono, info=info, services=tuple(services))

    def _listed(self) -> Mapping[ServiceKey, Sequence[ListedDest]]:
        """Every service's real servers as /proc/net/ip_vs of this namespace lists them; none (so
        every service is read whole, by netlink) if the file is not in the format we know."""
        try:
            return self._proc.read()
        except ProcFormatError:
            return {}

    def timeouts(self) -> Timeouts:
        body = self._one(c.CMD_GET_CONFIG, what="read the IPVS timeouts")
        a = codec.parse_attrs(body, 0, len(body))
        return Timeouts(codec.get_u32(body, a, c.CMD_ATTR_TIMEOUT_TCP),
                        codec.get_u32(body, a, c.CMD_ATTR_TIMEOUT_TCP_FIN),
                        codec.get_u32(body, a, c.CMD_ATTR_TIMEOUT_UDP))

    def schedulers(self) -> tuple[str, ...]:
        return available_schedulers()  # modules are per kernel, not per namespace

    def persistence_engines(self) -> tuple[str, ...]:
        return available_engines()

    def addresses(self) -> frozenset[str]:
        try:
            with RouteSocket(self._netns) as sock:
                return frozenset(address.split("/")[0] for _, address in rtnl.addresses(sock))
        except OSError as error:  # NetlinkError too
            raise IpvsError(f"cannot read this director's addresses ({error.strerror or error}).") from None

    def daemons(self) -> tuple[SyncDaemon, ...]:
        out = []
        for body in self._call(c.CMD_GET_DAEMON, dump=True, what="read the sync daemons"):
            span = codec.parse_attrs(body, 0, len(body)).get(c.CMD_ATTR_DAEMON)
            if span:
                out.append(codec.decode_daemon(body, *span))
        return tuple(out)

    def _dump_dests(self, key: ServiceKey) -> tuple[Dest, ...]:
        bodies = self._call(c.CMD_GET_DEST, _service_nest(key), dump=True, what=f"list service {key}",
                            service=key)
        return poll.decode_dest_replies(bodies, key.family)

    def _get_service(self, key: ServiceKey) -> Service:
        bodies = self._call(c.CMD_GET_SERVICE, _service_nest(key), what=f"read service {key}", service=key)
        svc = poll.decode_service_reply(bodies[0]) if bodies else None
        if svc is None:
            raise ObjectNotFound(f"service {key} does not exist.")
        return svc

    def _get_dest(self, key: ServiceKey, dest: DestKey) -> Dest:
        for d in self._dump_dests(key):
            if d.key == dest or (d.port == dest.port and _same_ip(d.address, dest.address)):
                return d
        raise ObjectNotFound(f"real server {dest} does not exist in service {key}.")

    # --- writes --------------------------------------------------------------------------------

    def add_service(self, config: ServiceConfig) -> None:
        key = config.key
        validate.service_key(key)
        sched = validate.scheduler(key, config.scheduler)
        raw = validate.flags(key, config.flags, sched)
        timeout = validate.persistence(key, raw, config.persistence_timeout)
        svc = Service(key, sched, raw_flags=raw, persistence_timeout=timeout,
                      netmask=validate.netmask(key, config.netmask), pe=validate.pe_name(key, config.pe))
        self._call(c.CMD_NEW_SERVICE, codec.encode_service(svc), what=f"add service {key}", service=key,
                   scheduler=sched, pe=svc.pe)

    def edit_service(self, key: ServiceKey, edit: ServiceEdit) -> None:
        validate.service_key(key)
        now = self._get_service(key)
        after = ServiceConfig.of(now).edited(edit)
        sched = validate.scheduler(key, after.scheduler)
        raw = (now.raw_flags & ~service_flags.WRITABLE_MASK) | validate.flags(key, after.flags, sched)
        pe = validate.pe_name(key, after.pe)
        timeout = validate.persistence(key, raw, after.persistence_timeout)
        svc = replace(now, scheduler=sched, raw_flags=raw, persistence_timeout=timeout,
                      netmask=validate.netmask(key, after.netmask), pe=pe)
        self._call(c.CMD_SET_SERVICE, codec.encode_service(svc), what=f"change service {key}", service=key,
                   scheduler=sched if sched != now.scheduler else None, pe=pe if pe != now.pe else None)

    def delete_service(self, key: ServiceKey) -> None:
        validate.service_key(key)
        self._call(c.CMD_DEL_SERVICE, _service_nest(key), what=f"delete service {key}", service=key)

    def add_dest(self, service: ServiceKey, config: DestConfig) -> None:
        validate.service_key(service)
        dest = Dest(config.address, config.port, _family(service, config.key), config.forward,
                    tunnel_for(config.forward, config.tunnel), config.weight, config.upper_threshold,
                    config.lower_threshold)
        validate.dest(service, dest)
        self._call(c.CMD_NEW_DEST, _service_nest(service) + codec.encode_dest(dest),
                   what=f"add real server {dest.key} to service {service}", service=service, dest=dest.key)

    def edit_dest(self, service: ServiceKey, dest: DestKey, edit: DestEdit) -> None:
        validate.service_key(service)
        now = self._get_dest(service, dest)
        after = DestConfig.of(now).edited(edit)
        new = replace(now, forward=after.forward, tunnel=after.tunnel, weight=after.weight,
                      upper_threshold=after.upper_threshold, lower_threshold=after.lower_threshold)
        validate.dest(service, new)
        self._call(c.CMD_SET_DEST, _service_nest(service) + codec.encode_dest(new),
                   what=f"change real server {dest} of service {service}", service=service, dest=dest)

    def delete_dest(self, service: ServiceKey, dest: DestKey) -> None:
        validate.service_key(service)
        d = Dest(dest.address, dest.port, _family(service, dest))
        attrs = codec.nest(c.CMD_ATTR_DEST, *codec.dest_key_attrs(d))
        self._call(c.CMD_DEL_DEST, _service_nest(service) + attrs,
                   what=f"delete real server {dest} of service {service}", service=service, dest=dest)

    def zero(self, service: ServiceKey | None = None) -> None:
        if service is None:
            self._call(c.CMD_ZERO, what="zero the counters")
            return
        validate.service_key(service)
        self._call(c.CMD_ZERO, _service_nest(service), what=f"zero service {service}", service=service)

    def set_timeouts(self, timeouts: Timeouts) -> None:
        parts = [
            codec.u32(atype, validate.timeout(label, value))
            for atype, label, value in (
                (c.CMD_ATTR_TIMEOUT_TCP, "tcp", timeouts.tcp),
                (c.CMD_ATTR_TIMEOUT_TCP_FIN, "tcp_fin", timeouts.tcp_fin),
                (c.CMD_ATTR_TIMEOUT_UDP, "udp", timeouts.udp),
            )
            if value  # an absent attribute is what the kernel leaves unchanged
        ]
        if parts:
            self._call(c.CMD_SET_CONFIG, b"".join(parts), what="set the timeouts")

    def start_daemon(self, daemon: SyncDaemon) -> None:
        validate.daemon(daemon)
        state = c.DAEMON_STATE_MASTER if daemon.state == "master" else c.DAEMON_STATE_BACKUP
        attrs = codec.nest(c.CMD_ATTR_DAEMON, codec.u32(c.DAEMON_ATTR_STATE, state),
                           codec.string(c.DAEMON_ATTR_MCAST_IFN, daemon.mcast_ifn),
                           codec.u32(c.DAEMON_ATTR_SYNC_ID, daemon.syncid))
        try:
            self._t.request(c.CMD_NEW_DAEMON, attrs)
        except NetlinkError as exc:
            _raise_daemon(exc.errno, f"start the sync {daemon.state} on {daemon.mcast_ifn}", daemon.state)
        except OSError as exc:
            raise IpvsError(f"could not start the sync {daemon.state}: {exc.strerror or exc}.") from None

    def stop_daemon(self, state: str) -> None:
        validate.daemon(SyncDaemon(state, "lo", 0))  # the state alone is checked
        code = c.DAEMON_STATE_MASTER if state == "master" else c.DAEMON_STATE_BACKUP
        attrs = codec.nest(c.CMD_ATTR_DAEMON, codec.u32(c.DAEMON_ATTR_STATE, code))
        try:
            self._t.request(c.CMD_DEL_DAEMON, attrs)
        except NetlinkError as exc:
            _raise_daemon(exc.errno, f"stop the sync {state}", state)
        except OSError as exc:
            raise IpvsError(f"could not stop the sync {state}: {exc.strerror or exc}.") from None

    def close(self) -> None:
        self._t.close()

    # --- plumbing ------------------------------------------------------------------------------

    def _one(self, cmd: int, *, what: str) -> bytes:
        replies = self._call(cmd, what=what)
        if not replies:
            raise IpvsError(f"could not {what}: the kernel sent no answer.")
        return replies[0]

    def _call(self, cmd: int, attrs: bytes = b"", *, dump: bool = False, what: str,
              service: ServiceKey | None = None, dest: DestKey | None = None,
              scheduler: str | None = None, pe: str | None = None) -> list[bytes]:
        try:
            return self._t.request(cmd, attrs, dump=dump)
        except NetlinkError as exc:
            _raise_mapped(exc.errno, what, cmd, service, dest, scheduler, pe)
        except OSError as exc:
            raise IpvsError(f"could not {what}: {exc.strerror or exc}.") from None


def _open(netns: str | None) -> Transport:
    try:
        return GenlSocket(c.IPVS_GENL_NAME, c.IPVS_GENL_VERSION, netns)
    except NetlinkError as exc:
        if exc.errno == errno.ENOENT:
            raise IpvsUnavailable(UNAVAILABLE) from None
        raise IpvsError(f"could not reach IPVS over netlink: {os.strerror(exc.errno)}.") from None
    except FileNotFoundError:
        raise NamespaceNotFound(
            f"network namespace {netns!r} does not exist: see `ip netns list`."
        ) from None
    except PermissionError:
        raise PermissionDenied(
            f"entering network namespace {netns!r} needs root (CAP_SYS_ADMIN): run lvs-top as root."
        ) from None
    except OSError as exc:
        where = f" in network namespace {netns!r}" if netns else ""
        raise IpvsError(f"could not open a netlink socket{where}: {exc.strerror or exc}.") from None


def _raise_mapped(err: int, what: str, cmd: int, service: ServiceKey | None, dest: DestKey | None,
                  scheduler: str | None, pe: str | None) -> NoReturn:
    """One sentence per errno, about the object concerned."""
    if err in (errno.EPERM, errno.EACCES):
        raise PermissionDenied(f"could not {what}: IPVS needs CAP_NET_ADMIN, run lvs-top as root.")
    if err == errno.ENOENT and cmd in (c.CMD_NEW_SERVICE, c.CMD_SET_SERVICE) and (scheduler or pe):
        # the kernel answers ENOENT when it cannot load ip_vs_<sched> (or ip_vs_pe_<pe>)
        if scheduler and not (pe and os.path.isdir(f"/sys/module/ip_vs_{scheduler}")):
            raise SchedulerMissing(f"could not {what}: scheduler {scheduler!r} is not available, "
                                   f"load it with `modprobe ip_vs_{scheduler}`.")
        raise SchedulerMissing(f"could not {what}: persistence engine {pe!r} is not available, "
                               f"load it with `modprobe ip_vs_pe_{pe}`.")
    if err == errno.EEXIST:
        if dest is not None:
            raise ObjectExists(f"real server {dest} already exists in service {service}.")
        raise ObjectExists(f"service {service} already exists.")
    if err == errno.ENOENT and service is None and dest is None:
        # a request about no object: the family itself is gone (ip_vs unloaded since we opened)
        raise IpvsUnavailable(UNAVAILABLE)
    if err in (errno.ENOENT, errno.ESRCH):
        if dest is not None and err == errno.ENOENT:
            raise ObjectNotFound(f"real server {dest} does not exist in service {service}.")
        if service is not None:
            raise ObjectNotFound(f"service {service} does not exist.")
        raise ObjectNotFound(f"could not {what}: it does not exist.")
    if err == errno.EBUSY:
        raise ObjectBusy(f"could not {what}: the kernel says it is busy, try again in a moment.")
    if err == errno.EINVAL and cmd == c.CMD_NEW_DEST and dest is not None and ":" not in dest.address:
        # The kernel types an IPv4 real server's address by the namespace's local routing table: it
        # must be unicast or local, and a namespace without any IPv4 address has no such table.
        raise InvalidArgument(f"could not {what}: the kernel refused it (EINVAL): an IPv4 real server "
                              "must be a unicast or local address, and the director's network namespace "
                              "needs an IPv4 address of its own (`ip link set lo up` gives it 127.0.0.1).")
    if err in (errno.EINVAL, errno.ERANGE, errno.EAFNOSUPPORT):
        raise InvalidArgument(f"could not {what}: the kernel rejected the settings as invalid "
                              f"({errno.errorcode.get(err, err)}).")
    raise IpvsError(f"could not {what}: {os.strerror(err)}.")


def _raise_daemon(err: int, what: str, state: str) -> NoReturn:
    """One sentence per errno of the sync daemon commands."""
    if err == errno.EEXIST:
        raise ObjectExists(f"could not {what}: a sync {state} is already running here; stop it first.")
    if err == errno.ESRCH:
        raise ObjectNotFound(f"could not {what}: no sync {state} is running here.")
    if err == errno.ENODEV:
        raise InvalidArgument(f"could not {what}: this network namespace has no such interface.")
    _raise_mapped(err, what, c.CMD_NEW_DAEMON, None, None, None, None)


_service_nest = poll.service_request


def _family(service: ServiceKey, dest: DestKey) -> Family:
    try:
        return Family.of(dest.address)
    except ValueError:
        raise InvalidArgument(
            f"real server {dest} of service {service}: {dest.address!r} is not an IP address."
        ) from None


def _same_ip(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return False
