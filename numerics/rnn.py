"""The finite RNN of theory.md §2 (facade): the simulator (numerics.simulate, with the SGD loops
numerics.trainer and numerics.fast_trainer) and the frozen network of §3 (numerics.frozen).
Import from here."""

from __future__ import annotations

from numerics.frozen import (
    FrozenMemory,
    frozen_memory,
    frozen_outputs,
    memory_step,
    network_output,
    resolve_activation,
)
from numerics.simulate import SimulationError, SimulationResult, simulate, time_to_step
from numerics.trainer import Parameters

__all__ = [
    "FrozenMemory",
    "Parameters",
    "SimulationError",
    "SimulationResult",
    "frozen_memory",
    "frozen_outputs",
    "memory_step",
    "network_output",
    "resolve_activation",
    "simulate",
    "time_to_step",
]
