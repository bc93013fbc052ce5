"""Errors a backend raises. Each message is one sentence naming the object and what to do."""

from __future__ import annotations


class IpvsError(Exception):
    """Base class: `str(error)` is fit to show an operator as it is."""


class IpvsUnavailable(IpvsError):
    """The kernel has no IPVS (module not loaded or not built)."""


class PermissionDenied(IpvsError):
    """The process lacks CAP_NET_ADMIN (every IPVS netlink call needs it, reads included)."""


class NamespaceNotFound(IpvsError):
    """`--netns NAME` names no network namespace."""


class SchedulerMissing(IpvsError):
    """The scheduler's module (ip_vs_NAME) is not available."""


class ObjectExists(IpvsError):
    """EEXIST: the service or real server is already there."""


class ObjectNotFound(IpvsError):
    """ENOENT/ESRCH: the service or real server is not there (any more)."""


class ObjectBusy(IpvsError):
    """EBUSY: the kernel refused because the object is in use."""


class InvalidArgument(IpvsError):
    """EINVAL or a value lvs-top rejects before sending it."""
