"""The batches of `lvs-top rollout`, one after the other: the capacity floor, the drain (the drain
plan, journaled, followed by the drain tracker), the command, the check, and the way back (the
undrain's ramp), the progress saved after each step so that `--resume` takes it from there."""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from lvs_tui.cli import drainwatch
from lvs_tui.cli.common import Exit, say
from lvs_tui.cli.maintenance import apply, known_weights, prune_records, ramp, read_table, record_drains
from lvs_tui.cli.rollout_steps import CheckRunner, CheckSpec, CommandRunner
from lvs_tui.model.printable import printable
from lvs_tui.ops.changes import dest_target
from lvs_tui.ops.rollout import Progress, below_floor, capacities, command_argv, command_env, save_progress

if TYPE_CHECKING:
    from lvs_tui.ipvs.backend import Backend
    from lvs_tui.model.records import Dest, Service
    from lvs_tui.ops.drain import ConnectionReader
    from lvs_tui.ops.journal import Journal
    from lvs_tui.ops.setup import OpsSetup
    from lvs_tui.ops.sysctl import Sysctls
    from lvs_tui.ops.targets import Target


class Failed(Exception):
    """A batch stopped at a stage; the message says why, in a clause."""


@dataclass(slots=True)
class Rollout:
    args: argparse.Namespace
    backend: Backend
    setup: OpsSetup  # the journal, and the drain records every lvs-top on the director shares
    sysctls: Sysctls
    connections: ConnectionReader | None
    spec: CheckSpec
    progress: Progress
    state: Path
    run_command: CommandRunner
    check: CheckRunner
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    targets: dict[str, Target] = field(default_factory=dict)  # by their text

    # --- what is said ---------------------------------------------------------------------------

    def event(self, hosts: Sequence[str], stage: str, message: str, **extra: object) -> None:
        """One step: a line on standard output, or a JSON line there with --json (the text on stderr)."""
        if self.args.json:
            record = {"host": ", ".join(hosts), "stage": stage, "message": message, **extra}
            print(json.dumps(record, sort_keys=True), flush=True)
        else:
            print(printable(message), flush=True)

    @property
    def out(self) -> TextIO:
        return sys.stderr if self.args.json else sys.stdout

    @property
    def journal(self) -> Journal:
        return self.setup.journal

    def save(self, **changes: object) -> None:
        for name, value in changes.items():
            setattr(self.progress, name, value)
        save_progress(self.state, self.progress)

    # --- the batches ----------------------------------------------------------------------------

    def run(self, batches: Sequence[Sequence[str]]) -> int:
        """Every batch in order; the first (when resuming) from the stage recorded."""
        for hosts in batches:
            try:
                self.batch(list(hosts))
            except Failed as failure:
                return self.stop(list(hosts), str(failure))
            except OSError as error:  # the progress file: going on would leave nothing to resume from
                say(f"the progress cannot be written to {self.state} ({error.strerror or error}): stopped at "
                    f"{', '.join(hosts)}, {self.progress.stage or 'before its drain'}.", "rollout")
                return Exit.ERROR
        return Exit.OK

    def batch(self, hosts: list[str]) -> None:
        progress = self.progress
        resuming = progress.batch == hosts and progress.stage is not None
        stage = progress.stage if resuming else "drain"
        if not resuming:
            self.floor(hosts)
            self.save(batch=hosts, stage="drain", weights={}, commanded=[], failed=False)
        if stage == "drain":
            self.drain(hosts)
            stage = "command"
            self.save(stage=stage, failed=False)
        if stage == "command":
            self.command(hosts)
            stage = "check"
            self.save(stage=stage, failed=False)
        if stage == "check":
            self.check_servers(hosts)
            stage = "back"
            self.save(stage=stage, failed=False)
        self.back(hosts)
        self.save(done=[*progress.done, *hosts], batch=[], stage=None, weights={}, commanded=[], failed=False)

    def stop(self, hosts: list[str], why: str) -> int:
        where = ", ".join(hosts)
        stage = self.progress.stage if self.progress.batch == hosts else "floor"
        with contextlib.suppress(OSError):  # the stage is on disk already; the failure is said below
            self.save(failed=True)
        if self.args.json:
            self.event(hosts, "failed", why, failed_stage=stage)
        started = self.progress.batch == hosts
        state = (f"{'stays' if len(hosts) == 1 else 'stay'} drained" if started
                 else f"{'was' if len(hosts) == 1 else 'were'} not drained")
        say(f"{why}: {where} {state} and the hosts after it are untouched; once it is fixed, run the same "
            f"command again with --resume (progress in {self.state}).", "rollout")
        return Exit.ERROR

    def pairs(self, hosts: Sequence[str]) -> list[tuple[Service, Dest]]:
        return read_table(self.backend, [self.targets[host] for host in hosts], self.args.services).pairs

    # --- the stages -----------------------------------------------------------------------------

    def floor(self, hosts: list[str]) -> None:
        """Wait until draining `hosts` leaves every service they touch --min-capacity."""
        floor = self.args.min_capacity
        if not floor:
            return
        began, said = self.clock(), False
        drained = known_weights(self.setup, "rollout")
        while True:
            table = read_table(self.backend, [self.targets[host] for host in hosts], self.args.services)
            low = below_floor(capacities(table.services, table.pairs, drained), floor)
            if not low:
                return
            shortfall = "; ".join(capacity.text() for capacity in low)
            if self.clock() - began >= self.args.timeout:
                raise Failed(f"draining {', '.join(hosts)} would leave {shortfall}, below the floor of "
                             f"{floor}%, still after {self.args.timeout:g} s")
            if not said:
                self.event(hosts, "floor", f"waiting: draining {', '.join(hosts)} now would leave "
                           f"{shortfall}, below the floor of {floor}%")
                said = True
            self.sleep(self.args.interval)

    def drain(self, hosts: list[str]) -> None:
        from lvs_tui.ops.targets import drain_starts, plan_drain

        targets = [self.targets[host] for host in hosts]
        table = read_table(self.backend, targets, self.args.services)
        # The weights to come back to are kept before the drain starts, and never overwritten by a
        # redone drain (its servers are at 0 by then).
        weights = {dest_target(service.key, dest.key): dest.weight for service, dest in table.pairs
                   if dest.weight > 0}
        self.save(weights={**weights, **self.progress.weights})
        count = len(table.pairs)
        self.event(hosts, "drain", f"draining {', '.join(hosts)} ({count} real server{'s' * (count != 1)})",
                   servers=count)
        plan = plan_drain(table.services, targets, self.sysctls)
        known = {**known_weights(self.setup, "rollout"), **self.progress.weights}
        if plan.changes:
            report = apply(plan, self.backend, self.journal, self.out)
            if report.failed:
                raise Failed(f"the drain of {', '.join(hosts)} failed ({report.summary()})")
        starts = drain_starts(table.pairs, plan, known)
        record_drains(self.setup, starts, "rollout", "rollout", inactive=self.args.inactive)
        options = drainwatch.WaitOptions(self.args.interval, self.args.timeout, self.args.inactive,
                                         self.connections, self.clock, self.sleep)
        keys = [(service.key, dest.key) for service, dest in table.pairs]
        reporter: drainwatch.Reporter = (drainwatch.JsonLines() if self.args.json
                                         else drainwatch.Bars(keys) if sys.stdout.isatty() else _Quiet())
        began = self.clock()
        try:
            outcome = drainwatch.follow(self.backend, table.pairs, starts, options, reporter)
        finally:
            reporter.close()
        if outcome.lost:
            raise Failed(f"{', '.join(outcome.lost)} {'was' if len(outcome.lost) == 1 else 'were'} given a "
                         "weight again while draining")
        if not outcome.drained:
            still = ", ".join(f"{service}>{dest}" for (service, dest), _ in outcome.waiting)
            raise Failed(f"{', '.join(hosts)} not drained after {self.args.timeout:g} s "
                         f"(still in use: {still})")
        took = self.clock() - began
        self.event(hosts, "drained", f"drained in {took:.0f} s", seconds=round(took, 1))

    def command(self, hosts: list[str]) -> None:
        for host in hosts:
            if host in self.progress.commanded:
                continue
            address = self.targets[host].address
            argv = command_argv(self.progress.command, address)
            self.event([host], "command", f"running: {shlex.join(argv)}", argv=argv)
            result = self.run_command(argv, command_env(address), self.args.timeout, bool(self.args.json))
            if not result.ok:
                raise Failed(f"the command failed on {host} ({result.detail})")
            self.save(commanded=[*self.progress.commanded, host])

    def check_servers(self, hosts: list[str]) -> None:
        probes = self.spec.probes(self.pairs(hosts))
        began, said = self.clock(), False
        while True:
            failures = self.check(probes)
            if not failures:
                self.event(hosts, "check", "check passed", checks=len(probes))
                return
            probe, detail = failures[0]
            more = len(failures) - 1
            why = f"{probe.server}: {detail}" + (f" (and {more} more)" if more else "")
            if self.clock() - began >= self.args.timeout:
                raise Failed(f"the check ({self.spec.describe()}) still fails after {self.args.timeout:g} s, "
                             f"{why}")
            if not said:
                self.event(hosts, "waiting", f"waiting for the check ({self.spec.describe()}): {why}")
                said = True
            self.sleep(self.args.interval)

    def back(self, hosts: list[str]) -> None:
        finals = dict(self.progress.weights)
        stopped = ramp(finals, lambda: self.pairs(hosts), self.args.slow_start, self.backend, self.journal,
                       self.out, self.sleep)
        prune_records(self.setup, self.backend, "rollout")  # back in rotation: their drains are over
        if stopped is not None:
            raise Failed(f"bringing {', '.join(hosts)} back stopped at step {stopped[0]} of {stopped[1]}")
        values = sorted(set(finals.values()))
        said = f"back at weight{'s' * (len(values) > 1)} {', '.join(map(str, values)) or '0'}"
        if self.args.slow_start:
            said += f" (slow start {self.args.slow_start:g} s)"
        self.event(hosts, "back", said, weights=finals)


class _Quiet:
    """No progress per poll: standard output is neither a terminal nor asked for JSON."""

    def poll(self, statuses: Sequence[tuple[drainwatch.Pair, object]], elapsed: float) -> None:
        """Nothing to show."""

    def close(self) -> None:
        """Nothing to end."""


def overview(batches: Sequence[Sequence[str]], rollout: Rollout) -> None:
    """Each batch and what its drain would leave each service it touches, as the table is now."""
    drained = known_weights(rollout.setup, "rollout")
    floor = rollout.args.min_capacity
    for number, hosts in enumerate(batches, 1):
        table = read_table(rollout.backend, [rollout.targets[host] for host in hosts], rollout.args.services)
        left = capacities(table.services, table.pairs, drained)
        said = [capacity.text() + (f" (below the floor of {floor}%: it would wait)"
                                   if floor and capacity.below(floor) else "") for capacity in left]
        percents = {capacity.service: round(capacity.percent, 1) for capacity in left}
        rollout.event(hosts, "plan", f"batch {number}: {', '.join(hosts)}: would leave {'; '.join(said)}",
                      batch=number, capacity=percents)
