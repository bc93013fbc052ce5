"""Service flags: the kernel's bits and their names, which depend on the scheduler.

For sh and mh the scheduler bits mean fallback and port (as ipvsadm names them: `sh-fallback`,
`sh-port`, `mh-fallback`, `mh-port`); for any other scheduler they are `flag-1..3`.
"""

from __future__ import annotations

from collections.abc import Iterable

PERSISTENT = 0x1
HASHED = 0x2  # set by the kernel on every listed service; internal, never shown or written
ONEPACKET = 0x4
SCHED1 = 0x8
SCHED2 = 0x10
SCHED3 = 0x20

# Every bit a user may set through SET_SERVICE's flags/mask pair.
WRITABLE_MASK = PERSISTENT | ONEPACKET | SCHED1 | SCHED2 | SCHED3

_COMMON: tuple[tuple[int, str], ...] = ((PERSISTENT, "persistent"), (ONEPACKET, "ops"))


def scheduler_flag_names(scheduler: str) -> tuple[tuple[int, str], ...]:
    """The scheduler-specific bits and the names they carry for this scheduler."""
    if scheduler in ("sh", "mh"):
        return ((SCHED1, f"{scheduler}-fallback"), (SCHED2, f"{scheduler}-port"))
    return ((SCHED1, "flag-1"), (SCHED2, "flag-2"), (SCHED3, "flag-3"))


def decode(raw: int, scheduler: str) -> tuple[str, ...]:
    """Names of the bits set in `raw`, in kernel bit order."""
    table = _COMMON + scheduler_flag_names(scheduler)
    names = [name for bit, name in sorted(table) if raw & bit]
    # A scheduler bit with no name for this scheduler (e.g. SCHED3 on sh) is still shown.
    named = sum(bit for bit, _ in table)
    names += [f"flag-{i}" for i, bit in enumerate((SCHED1, SCHED2, SCHED3), 1) if raw & bit & ~named]
    return tuple(names)


def encode(names: Iterable[str], scheduler: str) -> int:
    """The bits for `names`; raises ValueError naming the flag that this scheduler does not know.
    The inverse of `decode`: a scheduler bit this scheduler has no name for is `flag-N`."""
    named = _COMMON + scheduler_flag_names(scheduler)
    table = {name: bit for bit, name in named}
    named_bits = sum(bit for bit, _ in named)
    table.update((f"flag-{i}", bit) for i, bit in enumerate((SCHED1, SCHED2, SCHED3), 1) if bit & ~named_bits)
    raw = 0
    for name in names:
        if name not in table:
            known = ", ".join(sorted(table))
            raise ValueError(f"flag {name!r} does not apply to scheduler {scheduler!r} (known: {known})")
        raw |= table[name]
    return raw
