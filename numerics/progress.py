"""A minimal progress bar on stderr, rate-limited, shown only when stderr is a terminal
(or when forced). Used by long simulations; never writes to stdout (which may carry JSON)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def format_eta(elapsed: float, fraction: float) -> str:
    """Remaining time elapsed (1 - f) / f as "  12.3s"; "    --" while the rate is unknown
    (nothing done yet, or no time elapsed), never "nan"/"inf"."""
    if not (fraction > 0.0 and elapsed > 0.0) or fraction != fraction:
        return "    --"
    eta = elapsed * (1.0 - fraction) / fraction
    return f"{eta:6.1f}s"


class ProgressBar:
    """``bar = ProgressBar(total, label)``; ``bar.update(done)``; ``bar.close()``.

    ``enabled=None`` means: draw only if ``stream`` is a tty. Redraws at most every
    ``min_interval`` seconds, so the cost per ``update`` call is one clock read.
    """

    def __init__(
        self,
        total: int,
        label: str = "",
        *,
        enabled: bool | None = None,
        stream: TextIO | None = None,
        min_interval: float = 0.25,
        width: int = 30,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.total = max(int(total), 0)
        self.label = label
        self.min_interval = min_interval
        self.width = width
        self._start = time.monotonic()
        self._last_draw = -float("inf")
        self._drawn = False

    def update(self, done: int) -> None:
        """Report ``done`` units of ``total`` completed (redraws if enough time passed)."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last_draw < self.min_interval and done < self.total:
            return
        self._last_draw = now
        self._draw(done, now)

    def _draw(self, done: int, now: float) -> None:
        fraction = 1.0 if self.total == 0 else min(max(done / self.total, 0.0), 1.0)
        filled = int(round(self.width * fraction))
        elapsed = now - self._start
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(
            f"\r{self.label} [{bar}] {100 * fraction:5.1f}% "
            f"{done}/{self.total} elapsed {elapsed:6.1f}s eta {format_eta(elapsed, fraction)}"
        )
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """Finish the line (only if something was drawn)."""
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
