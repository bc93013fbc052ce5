import pytest

from lvs_tui.model import flags


def test_scheduler_bits_are_named_per_scheduler() -> None:
    raw = flags.PERSISTENT | flags.SCHED1 | flags.SCHED2 | flags.HASHED
    assert flags.decode(raw, "sh") == ("persistent", "sh-fallback", "sh-port")
    assert flags.decode(raw, "mh") == ("persistent", "mh-fallback", "mh-port")
    assert flags.decode(raw, "wrr") == ("persistent", "flag-1", "flag-2")


def test_hashed_is_internal_and_never_shown() -> None:
    assert flags.decode(flags.HASHED, "rr") == ()


def test_a_third_scheduler_bit_on_sh_is_still_shown() -> None:
    assert flags.decode(flags.SCHED3 | flags.ONEPACKET, "sh") == ("ops", "flag-3")


def test_encode_round_trips_decode() -> None:
    names = ("persistent", "ops", "mh-fallback", "mh-port")
    assert flags.decode(flags.encode(names, "mh"), "mh") == names


def test_encode_rejects_a_flag_the_scheduler_does_not_understand() -> None:
    with pytest.raises(ValueError, match=r"sh-port.*'wrr'"):
        flags.encode(["sh-port"], "wrr")


@pytest.mark.parametrize("scheduler", ["rr", "wrr", "sh", "mh", "wlc"])
def test_every_writable_combination_decodes_and_encodes_back(scheduler: str) -> None:
    """A scheduler change keeps the kernel's bits: the names are decoded again, so every set of
    bits must survive decode then encode (sh's third bit, `flag-3`, included)."""
    for raw in range(flags.WRITABLE_MASK + 1):
        writable = raw & flags.WRITABLE_MASK
        assert flags.encode(flags.decode(writable, scheduler), scheduler) == writable
