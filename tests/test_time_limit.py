"""derivations.errors.call_with_time_limit, the wall-clock guard of the exact (SymPy) steps.

In a test run its alarm once landed inside a garbage-collector callback (hypothesis registers
one), where Python ignores exceptions: "Exception ignored in: gc_callback ...
_TimeLimitExceeded". With a one-shot timer the guarded step then ran on without any limit. The
alarm now repeats until it is disarmed."""

from __future__ import annotations

import time

import pytest

from derivations.errors import InputError, _TimeLimitExceeded, call_with_time_limit


def _busy(deadline: float) -> None:
    while time.monotonic() < deadline:
        pass


def test_an_alarm_that_is_swallowed_is_followed_by_another():
    """The first alarm is swallowed, as in a finalizer; the step must still stop soon after."""
    swallowed = []

    def step() -> str:
        deadline = time.monotonic() + 5.0
        try:
            _busy(deadline)
        except _TimeLimitExceeded:
            swallowed.append(time.monotonic())  # goes nowhere, like an ignored exception
        _busy(deadline)
        return "ran to the end"

    start = time.monotonic()
    with pytest.raises(InputError, match="too slow"):
        call_with_time_limit(0.05, "too slow", step)
    assert len(swallowed) == 1
    assert time.monotonic() - start < 2.5  # not the 5 s of the unguarded step


def test_a_step_within_its_limit_returns_and_leaves_no_alarm_behind():
    import signal

    before = signal.getsignal(signal.SIGALRM)
    assert call_with_time_limit(5.0, "too slow", lambda: 42) == 42
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is before
    time.sleep(0.15)  # a leftover repeating timer would fire here (default action: exit)


@pytest.mark.parametrize("seconds", [1e-9, 1e-6, 1e-4, 1e-3])
def test_tiny_limits_stop_the_step_with_the_message_only(seconds):
    with pytest.raises(InputError, match="^too slow$"):
        call_with_time_limit(seconds, "too slow", lambda: _busy(time.monotonic() + 1.0))
