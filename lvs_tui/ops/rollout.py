"""A rolling maintenance, host by host: its batches, the command run on each host, the capacity a
drain would leave each service, and the progress kept on disk for `--resume`.

Nothing here writes to the table: the drains and the ramps are the maintenance plans of
ops.targets, applied by ops.runner like every other plan.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lvs_tui.model.records import Dest, Service
from lvs_tui.ops.atomic import write_atomically
from lvs_tui.ops.changes import dest_target

STAGES = ("drain", "command", "check", "back")  # what a batch goes through, in order
HOST_PLACEHOLDER = "{host}"


# --- batches and the command ----------------------------------------------------------------------

def batches(items: Sequence[str], max_out: int) -> list[list[str]]:
    """`items` in order, `max_out` at a time (the last batch may be smaller)."""
    if max_out < 1:
        raise ValueError("max_out must be at least 1")
    return [list(items[start:start + max_out]) for start in range(0, len(items), max_out)]


def split_command(command: str) -> list[str]:
    """The words of `command` as a shell would split them (quotes, backslashes), never run by one.
    ValueError with one clause for an unclosed quote or nothing to run."""
    try:
        words = shlex.split(command)
    except ValueError as error:
        raise ValueError(f"the command cannot be split into words ({error})") from None
    if not words:
        raise ValueError("the command is empty")
    return words


def command_argv(command: str, host: str) -> list[str]:
    """The argument list to run for `host`: `{host}` replaced in every word by its address. The
    address is put in after splitting, so that nothing in it is ever read as quoting or a separator."""
    return [word.replace(HOST_PLACEHOLDER, host) for word in split_command(command)]


def command_env(host: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The command's environment: lvs-top's own, and LVS_TOP_HOST."""
    return {**(os.environ if base is None else base), "LVS_TOP_HOST": host}


# --- capacity -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Capacity:
    """What a drain would leave one service: the weight still taking connections, of its total."""

    service: str
    after: int  # sum of the weights > 0 of the servers outside the batch
    total: int  # sum of every server's nominal weight

    @property
    def percent(self) -> float:
        return 100.0 if self.total == 0 else 100.0 * self.after / self.total

    def below(self, floor: float) -> bool:
        return self.total > 0 and self.after * 100 < floor * self.total

    def text(self) -> str:
        return f"{self.service}: {self.percent:.0f}% ({self.after} of {self.total})"


def nominal_weight(service: Service, dest: Dest, drained: Mapping[str, int]) -> int:
    """A server's weight when it is in: its weight, or for one at 0 the weight before its drain
    as the journal recorded it (`drained`, by change target), or 0 when nobody knows."""
    if dest.weight > 0:
        return dest.weight
    return drained.get(dest_target(service.key, dest.key), 0)


def capacities(services: Sequence[Service], batch: Sequence[tuple[Service, Dest]],
               drained: Mapping[str, int]) -> list[Capacity]:
    """For every service the batch touches, in table order, the capacity its drain would leave.
    A server already at weight 0 counts as out, whoever took it out."""
    out = {(service.key, dest.key) for service, dest in batch}
    touched = {service.key for service, _ in batch}
    return [Capacity(service.key.id,
                     sum(dest.weight for dest in service.dests
                         if dest.weight > 0 and (service.key, dest.key) not in out),
                     sum(nominal_weight(service, dest, drained) for dest in service.dests))
            for service in services if service.key in touched]


def below_floor(found: Sequence[Capacity], floor: float) -> list[Capacity]:
    return [capacity for capacity in found if capacity.below(floor)]


# --- progress on disk -----------------------------------------------------------------------------

@dataclass(slots=True)
class Progress:
    """What `--resume` needs: the rollout (targets, command), the hosts done, and the batch under
    way with its stage, the weights to bring its servers back to, and the hosts whose command ran."""

    targets: list[str]
    command: str
    done: list[str] = field(default_factory=list)
    batch: list[str] = field(default_factory=list)
    stage: str | None = None
    weights: dict[str, int] = field(default_factory=dict)
    commanded: list[str] = field(default_factory=list)
    failed: bool = False

    def same_rollout(self, targets: Sequence[str], command: str) -> bool:
        return list(targets) == self.targets and command == self.command

    def left(self) -> list[str]:
        """The targets neither done nor in the batch under way, in order."""
        taken = set(self.done) | set(self.batch)
        return [target for target in self.targets if target not in taken]

    def json(self) -> dict[str, object]:
        return {"version": 1, "targets": self.targets, "command": self.command, "done": self.done,
                "batch": self.batch, "stage": self.stage, "weights": self.weights,
                "commanded": self.commanded, "failed": self.failed}


class StateError(ValueError):
    """The state file cannot be read as a rollout's progress; one sentence."""


def _strings(value: object, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise StateError(f"its {name} is not a list of strings")
    return list(value)


def parse_progress(text: str) -> Progress:
    try:
        data = json.loads(text)
    except ValueError:
        raise StateError("it is not JSON") from None
    if not isinstance(data, dict) or data.get("version") != 1:
        raise StateError("it is not a rollout's progress (version 1)")
    command, stage, weights = data.get("command"), data.get("stage"), data.get("weights", {})
    if not isinstance(command, str):
        raise StateError("its command is not a string")
    if stage is not None and stage not in STAGES:
        raise StateError(f"its stage is not one of {', '.join(STAGES)}")
    if not isinstance(weights, dict) or not all(isinstance(key, str) and type(value) is int and value >= 0
                                                for key, value in weights.items()):
        raise StateError("its weights are not whole numbers by real server")
    return Progress(_strings(data.get("targets"), "targets"), command, _strings(data.get("done", []), "done"),
                    _strings(data.get("batch", []), "batch"), stage, dict(weights),
                    _strings(data.get("commanded", []), "commanded"), data.get("failed") is True)


def load_progress(path: Path) -> Progress | None:
    """The progress recorded in `path`, None when there is none. StateError when unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise StateError(f"it cannot be read ({getattr(error, 'strerror', None) or error})") from None
    return parse_progress(text)


def save_progress(path: Path, progress: Progress) -> None:
    """Written whole or not at all (ops.atomic), private to its owner."""
    write_atomically(path, json.dumps(progress.json(), sort_keys=True) + "\n", 0o600)


def clear_progress(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
