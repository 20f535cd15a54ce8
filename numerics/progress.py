"""Progress on stderr, drawn by tqdm: a bar on a terminal, nothing when stderr is a file or a
pipe (the report prints plain per-check lines there instead). Never writes to stdout, which
may carry JSON.

Also the one-time notice of a slow first step (:func:`slow_start_notice`), used while numba
compiles the fast kernels, so a long silence always has a reason on screen.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm

MIN_INTERVAL = 0.25  # seconds between redraws (tqdm's mininterval)

# One lock for every bar and line, a thread lock: each process draws its own (a Dask worker's
# jobs draw none, and write nothing through tqdm that another process shares). tqdm's default
# lock would also create a multiprocessing semaphore in each process; a worker stopped mid-job
# (SIGTERM, Ctrl-C) could not release it, and the resource tracker printed "leaked semaphore
# objects" after rnnkl's last line (tests/distributed/test_worker_shutdown.py).
tqdm.set_lock(threading.RLock())


def is_terminal(stream: TextIO) -> bool:
    """True when ``stream`` is an interactive terminal (a bar can be redrawn in place)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


def progress_bar(
    total: int, label: str = "", *, enabled: bool | None = None, stream: TextIO | None = None,
    unit: str = "step", bar_format: str | None = None,
) -> tqdm:
    """A tqdm bar over ``total`` units on ``stream`` (default stderr). ``enabled=None``: draw
    only when the stream is a terminal. Advance it with :func:`advance_to`; close it (or use it
    as a context manager) when done. A disabled bar costs one comparison per update."""
    stream = stream if stream is not None else sys.stderr
    if enabled is None:
        enabled = is_terminal(stream)
    return tqdm(total=max(int(total), 0), desc=label, file=stream, disable=not enabled,
                mininterval=MIN_INTERVAL, dynamic_ncols=True, unit=unit, leave=False,
                bar_format=bar_format)


def advance_to(bar: tqdm, done: float) -> None:
    """Move ``bar`` to ``done`` units completed (absolute; never backwards)."""
    if bar.disable:
        return
    delta = done - bar.n
    if delta > 0:
        bar.update(delta)


def write_line(text: str, stream: TextIO | None = None) -> None:
    """One line on ``stream`` (default stderr) that does not garble an active tqdm bar."""
    tqdm.write(text, file=stream if stream is not None else sys.stderr)


@contextmanager
def slow_start_notice(message: str, *, after: float = 2.0,
                      stream: TextIO | None = None) -> Iterator[None]:
    """Run the body; if it is still running after ``after`` seconds, print ``message`` (one
    line, e.g. "compiling the fast kernels (first run only)"), and when it ends print how long
    it took. Fast bodies (a cache load) print nothing."""
    start = time.monotonic()
    shown = threading.Event()

    def announce() -> None:
        shown.set()
        write_line(f"{message} ...", stream)

    timer = threading.Timer(after, announce)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()  # an announcement already under way finishes before the closing line
        if shown.is_set():
            write_line(f"{message}: done in {time.monotonic() - start:.0f} s", stream)
