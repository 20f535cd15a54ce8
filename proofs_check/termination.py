"""SIGTERM (``kill``, ``timeout``, a batch system's time limit) ends a command as Ctrl-C does.

The handler raises :class:`Terminated` in the main thread, so every ``finally`` runs (a
cluster's batch jobs are cancelled, progress bars closed). Python runs a signal handler
between any two bytecodes, also inside a finalizer (a ``__del__``, a weakref callback of the
garbage collector), and an exception raised there is printed as "Exception ignored" and
dropped: the command would go on and exit 0. The handler therefore also records the signal,
and :func:`stop_if_terminated`, called between checks and after the command, raises it again.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_received = threading.Event()  # set by the handler; cleared when its block ends


class Terminated(KeyboardInterrupt):
    """SIGTERM while a command runs: raised in the main thread like Ctrl-C's
    KeyboardInterrupt, so cleanup runs as it does for Ctrl-C."""


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` inside the block and is recorded for
    :func:`stop_if_terminated` (main thread only: elsewhere Python cannot install a handler);
    the previous handler is restored after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        _received.set()
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _received.clear()


def stop_if_terminated() -> None:
    """Raise :class:`Terminated` if a SIGTERM arrived in the current :func:`sigterm_raises`
    block: the one place a signal whose exception a finalizer swallowed still ends the run."""
    if _received.is_set():
        raise Terminated
