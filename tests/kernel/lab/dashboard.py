"""The dashboard app as the kernel tests drive it headless: built here, in one place, from an
lvs-top command line, as `lvs_tui.cli` builds it (its backend factory and, for changes, its
journal and sysctls), so that a change to how the app is made touches this file only."""

from __future__ import annotations

from lvs_tui.cli import build_parser, open_backend, ops_setup
from lvs_tui.ui.app import LvsTopApp


def app(*args: str, interval: float = 3600.0, changes: bool = True) -> LvsTopApp:
    """The dashboard of `lvs-top ARGS` (`--journal PATH`, `--read-only`, `--netns NAME`...), polling
    every `interval` s (an hour: the tests ask for polls). Without `changes` it gets no setup for
    changes: nothing may be written, no journal either."""
    parsed = build_parser().parse_args(list(args))
    return LvsTopApp(lambda: open_backend(parsed), "kernel", interval=interval,
                     setup=ops_setup(parsed) if changes else None)
