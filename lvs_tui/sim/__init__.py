"""The simulated director behind `lvs-top --demo` (no Textual, no kernel)."""

from lvs_tui.sim.director import SimulatedDirector
from lvs_tui.sim.table import parse_demo_size

__all__ = ["SimulatedDirector", "parse_demo_size"]
