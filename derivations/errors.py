"""Errors for bad user input. The CLI turns any :class:`InputError` into a one-line message
on stderr and exit code 2 (never a traceback)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class InputError(ValueError):
    """Bad input from a user: config file, command-line value or expression text."""


MAX_MESSAGE_DIGITS = 24  # longest exact number printed in a message


def short_number(value: object, digits: int = 6) -> str:
    """A number for a one-line message: exact ("3/10", "12") when that is at most
    MAX_MESSAGE_DIGITS characters, else a decimal with ``digits`` significant digits
    ("1.00000e-400"). Never converts a huge integer to a decimal string (Python refuses
    beyond 4300 digits) and never overflows to inf: the exponent is found by logarithms.
    """
    from fractions import Fraction

    if isinstance(value, bool) or not isinstance(value, (int, Fraction)):
        try:
            return f"{float(value):.{digits}g}"  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            text = str(value)
            short = len(text) <= 2 * MAX_MESSAGE_DIGITS
            return text if short else text[:MAX_MESSAGE_DIGITS] + "..."
    fraction = Fraction(value)
    if fraction == 0:
        return "0"
    numerator, denominator = abs(fraction.numerator), fraction.denominator
    if numerator.bit_length() + denominator.bit_length() < 4 * MAX_MESSAGE_DIGITS:
        text = str(fraction)
        if len(text) <= MAX_MESSAGE_DIGITS:
            return text
    # decimal exponent e with 10^e <= |value| < 10^(e+1), from the bit lengths, then corrected
    import math

    estimate = math.floor((numerator.bit_length() - denominator.bit_length()) * math.log10(2))
    for exponent in (estimate - 1, estimate, estimate + 1):
        scaled = _scaled(fraction, exponent, digits)
        if 10 ** (digits - 1) <= abs(scaled) < 10**digits:
            mantissa = f"{abs(scaled)}"
            sign = "-" if fraction < 0 else ""
            return f"{sign}{mantissa[0]}.{mantissa[1:]}e{exponent:+d}"
    return f"{'-' if fraction < 0 else ''}~1e{estimate:+d}"


def _scaled(fraction: object, exponent: int, digits: int) -> int:
    """round(|fraction| * 10^(digits - 1 - exponent)), computed exactly with integers."""
    from fractions import Fraction

    shift = digits - 1 - exponent
    value = abs(Fraction(fraction))  # type: ignore[arg-type]
    value = value * 10**shift if shift >= 0 else value / 10 ** (-shift)
    return round(value)


def reads_as_zero(text: str) -> bool:
    """Whether the decimal literal ``text`` is nonzero but its double is 0.0 ("1e-400"): one
    rule for every number a user types (TOML floats, expressions' literals, --times,
    --time-limit), which refuse it rather than compute with another number."""
    try:
        value = float(text)
    except ValueError:
        return False
    mantissa = text.strip().lower().partition("e")[0]
    return value == 0.0 and any(c in "123456789" for c in mantissa)


# after the first alarm of call_with_time_limit, the next ones (s): one that lands where Python
# ignores exceptions is followed by another this much later
ALARM_REPEAT = 0.05


class _TimeLimitExceeded(BaseException):
    """Raised by the alarm of :func:`call_with_time_limit` (a BaseException, so that no library
    code that catches ValueError or Exception can swallow it)."""


def call_with_time_limit(seconds: float, message: str, function: Callable[[], T]) -> T:
    """``function()`` under a wall-clock limit: after ``seconds`` it is interrupted and
    InputError(message) is raised (exit 2 at the command line); ``seconds`` <= 0: no limit.
    Uses SIGALRM, so it acts only in the main thread of a POSIX process (elsewhere the body
    runs unguarded). A step stuck inside one C call (a huge integer power) is interrupted only
    when that call returns: the size guards of derivations.inputs.expression refuse those
    before they start.

    A call, not a context manager, so that the alarm is caught wherever it lands: this frame's
    ``try`` covers the whole window from arming to disarming (a generator context manager
    missed an alarm that fired before its ``try``, at --time-limit 1e-9, and leaked a
    traceback; one that fires in contextlib's ``__exit__`` would escape it too). The alarm
    repeats every :data:`ALARM_REPEAT` seconds until disarmed: Python ignores an exception
    raised where nothing can receive it (a finalizer, a garbage-collector callback; seen in
    the tests, where hypothesis registers one), and a one-shot alarm that landed there let the
    step run on without limit. Disarming comes first in the inner ``finally``, and an alarm
    that lands before it is caught by the outer ``except``.
    """
    import signal
    import threading

    if (seconds <= 0 or not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()):
        return function()
    armed = True

    def alarm(signum: int, frame: object) -> None:
        if armed:
            raise _TimeLimitExceeded

    previous = signal.signal(signal.SIGALRM, alarm)
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds, ALARM_REPEAT)
            return function()
        finally:
            armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _TimeLimitExceeded:
        raise InputError(message) from None
    finally:
        signal.signal(signal.SIGALRM, previous)
