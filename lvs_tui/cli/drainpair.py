"""`lvs-top drain --director A --director B TARGET...`: the drain of `drain`, on every director
named (lvs_tui.cli.pair: one plan per table, one confirmation, undone on all when one refuses), and
with --wait followed on the sum of their counts (lvs_tui.directors.summed)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from lvs_tui.cli import drainwatch, pair
from lvs_tui.cli.common import Exit, ops_setup, say
from lvs_tui.cli.drain import unfinished
from lvs_tui.cli.maintenance import OpenBackend, prune_records, record_drains, show
from lvs_tui.directors.summed import SummedDirectors
from lvs_tui.ipvs.errors import IpvsError

if TYPE_CHECKING:
    from lvs_tui.model.export import JsonObject
    from lvs_tui.model.records import Dest, DestKey, Service, ServiceKey
    from lvs_tui.ops.changes import DrainStart
    from lvs_tui.ops.drain import DrainStatus
    from lvs_tui.ops.setup import OpsSetup
    from lvs_tui.ops.sysctl import Sysctls


def run_drain_pair(args: argparse.Namespace, open_backend: OpenBackend,
                   clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                   open_other: pair.OpenRemote = pair.open_remote) -> int:
    from lvs_tui.directors.summed import summed
    from lvs_tui.ops.targets import drain_starts, plan_drain, plan_remove

    setup = ops_setup(args)
    as_json = bool(args.json or (args.wait and not sys.stdout.isatty()))
    out = sys.stderr if as_json else sys.stdout
    lines = drainwatch.JsonLines()
    directors = pair.open_directors(args, open_backend, open_other)
    try:
        stop = pair.read_tables(directors, args, "drain")
        if stop is not None:
            return stop
        sysctls = {director.name: pair.sysctls_of(director, setup, "drain") for director in directors}
        for director in directors:
            assert director.table is not None
            director.plan = plan_drain(director.table.services, args.targets, sysctls[director.name])
        pair.show_all(directors, out)
        if args.remove:
            print("once drained:", file=out)
            for director in directors:
                assert director.table is not None
                print(f"director {director.name}:", file=out)
                show(plan_remove(director.table.pairs, sysctls[director.name]), out)
        changes = any(director.plan.changes for director in directors)
        if not changes:
            print("Every real server named is already at weight 0 on every director: no weight to change.",
                  file=out)
        if changes or args.remove:
            what = "drain" + (" and remove once drained" if args.remove else "")
            stop = pair.confirm_all(directors, args, "drain",
                                    f"{what.capitalize()} on {len(directors)} directors? [y/N] ")
            if stop is not None:
                return stop
        for director in directors:
            director.weights = pair.remembered(director, setup, "drain")
        refused = pair.apply_all(directors, setup.journal, out, "drain")
        if refused is not None:
            if as_json:
                lines.line({"result": "failed", "error": refused, **_changed(directors)})
            return Exit.ERROR
        starts: dict[tuple[ServiceKey, DestKey], DrainStart] = {}
        for director in directors:
            assert director.table is not None
            found = drain_starts(director.table.pairs, director.plan, director.weights)
            if director.local and setup.read_only is None:
                record_drains(setup, found, "drain", "drain", remove=args.remove, inactive=args.inactive)
            for start in found:  # the weight to bring back: any director's that knows one
                kept = starts.get((start.service, start.dest))
                if kept is None or kept.previous_weight == 0:
                    starts[start.service, start.dest] = start
        if not args.wait:
            if as_json:
                lines.line({"result": "weights-set", **_changed(directors)})
            return Exit.OK
        tables = [director.table.snapshot for director in directors if director.table is not None]
        whole = summed(tables)
        followed: list[tuple[Service, Dest]] = [
            (service, dest) for key in starts if (service := whole.service(key[0])) is not None
            and (dest := service.dest(key[1])) is not None]
        options = drainwatch.WaitOptions(args.interval, args.timeout, args.inactive, None, clock, sleep)
        keys = [(service.key, dest.key) for service, dest in followed]
        reads = SummedDirectors([(director.name, director.backend) for director in directors])
        reporter: drainwatch.Reporter = ByDirector(lines, reads) if as_json else drainwatch.Bars(keys)
        try:
            outcome = drainwatch.follow(reads, followed, [starts[key] for key in keys], options, reporter)
        finally:
            reporter.close()
        if not outcome.drained:
            return unfinished(outcome, options, lines if as_json else None)
        removed = _remove(directors, keys, sysctls, setup, out) if args.remove else []
        if isinstance(removed, str):
            if as_json:
                lines.line({"result": "remove-failed", "error": removed})
            return Exit.ERROR
        if args.remove and any(director.local for director in directors):
            prune_records(setup, next(d.backend for d in directors if d.local), "drain")
    finally:
        pair.close_all(directors)
    print(f"Drained on {', '.join(director.name for director in directors)}: "
          f"{', '.join(target.text for target in args.targets)}"
          + (f"; removed {len(removed)} real server{'s' * (len(removed) != 1)}." if args.remove else "."),
          file=out)
    if as_json:
        lines.line({"result": "drained", "removed": removed})
    return Exit.OK


class ByDirector:
    """The progress lines of `drain --json`, each with every director's own counts beside their sum
    (`"directors": {"lb1": {"active": 1, ...}, ...}`): where the connections still are."""

    def __init__(self, lines: drainwatch.JsonLines, reads: SummedDirectors) -> None:
        self._lines = lines
        self._reads = reads

    def poll(self, statuses: Sequence[tuple[drainwatch.Pair, DrainStatus]], elapsed: float) -> None:
        for key, status in statuses:
            where = self._reads.counts(*key)
            self._lines.line({**drainwatch.status_json(key, status, elapsed), "directors": where})

    def close(self) -> None:
        self._lines.close()


def _changed(directors: list[pair.Director]) -> JsonObject:
    """The changes in effect, as one director's drain says them (`changed`), and by director."""
    by_director = {director.name: [change.command.display for change in director.report.done]
                   for director in directors if director.report is not None and not director.undone}
    return {"changed": [command for done in by_director.values() for command in done],
            "by_director": by_director}


def _remove(directors: list[pair.Director], keys: list[tuple[ServiceKey, DestKey]],
            sysctls: dict[str, Sysctls], setup: OpsSetup, out: TextIO) -> list[str] | str:
    """Remove the drained servers from every director (undone on all if one refuses); the servers
    removed, or the sentence said when a director refused or could not be read."""
    from lvs_tui.ops.targets import plan_remove

    removed: set[str] = set()
    for director in directors:
        try:
            snapshot = director.backend.snapshot()
        except IpvsError as error:
            said = f"{pair.named(director.name, error)} Nothing was removed."
            say(said, "drain")
            return said
        left = [(service, dest) for service_key, dest_key in keys
                if (service := snapshot.service(service_key)) is not None
                and (dest := service.dest(dest_key)) is not None]
        director.plan = plan_remove(left, sysctls[director.name]) if left else pair.NOTHING
        director.report, director.undone = None, False
        removed.update(f"{service.key}>{dest.key}" for service, dest in left)
    refused = pair.apply_all(directors, setup.journal, out, "drain")
    return sorted(removed) if refused is None else refused
