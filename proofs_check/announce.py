"""What ``rnnkl report`` says on stderr while it works (stdout stays clean).

Three modes:
* ``"bar"`` (stderr is a terminal): a tqdm bar over the whole report, labelled with the running
  check, and above it one line per finished check (its verdict and time);
* ``"lines"`` (stderr is a file, a pipe, a notebook cell): plain lines only, one when a check
  module starts and one per check when it ends, so a log shows progress as it happens;
* ``"off"`` (``--no-progress``): nothing until the report's closing line.

Line formats (stable, tests read them)::

    rnnkl report: start tiers (1/8) at 21:05:03
    rnnkl report: check tiers_generated: PASS in 3.2 s (ended 21:05:06); 1 of 1 rivals rejected
    rnnkl report: check main_theorem: INCONCLUSIVE in 0.2 s (ended 21:06:40); 4 of 5 rivals
        rejected (not rejected: rate 1/4 slower (exponent -0.15))   [one line]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

from numerics.progress import advance_to, is_terminal, progress_bar, write_line
from proofs_check.render import rival_tally, verdict_word
from proofs_check.result import CheckResult

TICKS = 1000  # resolution of the report's bar
BAR_FORMAT = "{desc}{percentage:3.0f}%|{bar}| elapsed {elapsed}, about {remaining} left"
PREFIX = "rnnkl report:"


def choose_mode(enabled: bool, stream: TextIO) -> str:
    """"off" when disabled, else "bar" on a terminal and "lines" elsewhere."""
    if not enabled:
        return "off"
    return "bar" if is_terminal(stream) else "lines"


def _clock() -> str:
    return time.strftime("%H:%M:%S")


@dataclass
class Announcer:
    """Progress of one report: :meth:`start` a module, :meth:`tick` inside it, :meth:`finish`
    with its results; :meth:`close` at the end. ``costs`` are the modules' relative costs;
    ``prefix`` starts every line (a sweep's names the point)."""

    names: Sequence[str]
    costs: Sequence[float]
    mode: str = "lines"
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    prefix: str = PREFIX

    def __post_init__(self) -> None:
        self._total = float(sum(self.costs)) or 1.0
        self._done = 0.0
        self._current = 0.0
        self._bar = progress_bar(TICKS, self.prefix, enabled=True, stream=self.stream,
                                 bar_format=BAR_FORMAT) if self.mode == "bar" else None

    def _line(self, text: str) -> None:
        if self.mode != "off":
            write_line(f"{self.prefix} {text}", self.stream)

    def start(self, index: int) -> None:
        """Module ``names[index]`` starts."""
        self._current = float(self.costs[index])
        name = self.names[index]
        if self._bar is not None:
            self._bar.set_description(f"{self.prefix} {name}")  # drawn now: once per module
            advance_to(self._bar, TICKS * self._done / self._total)
        elif self.mode == "lines":
            self._line(f"start {name} ({index + 1}/{len(self.names)}) at {_clock()}")

    def tick(self, fraction: float) -> None:
        """The running module has done ``fraction`` (0..1) of its work."""
        if self._bar is not None:
            fraction = min(max(float(fraction), 0.0), 1.0)
            advance_to(self._bar, TICKS * (self._done + self._current * fraction) / self._total)

    def finish(self, results: Sequence[CheckResult]) -> None:
        """The running module ended with ``results`` (one line each)."""
        self._done += self._current
        self._current = 0.0
        for result in results:
            self._line(f"check {result.name}: {verdict_word(result)} in {result.seconds:.1f} s "
                       f"(ended {_clock()}); {rival_tally(result)}")
        if self._bar is not None:
            advance_to(self._bar, TICKS * self._done / self._total)

    def section(self, name: str, status: str, seconds: float | None = None) -> None:
        """A report section that is not a check (the cross-checks): one line."""
        timing = "" if seconds is None else f" in {seconds:.1f} s"
        self._line(f"{name}: {status}{timing}")

    def close(self) -> None:
        if self._bar is not None:
            advance_to(self._bar, TICKS)
            self._bar.close()
