"""derivations.inputs.fields: exact numbers from the user's text (``exact_from_string``),
whitelisted and bounded (no huge integers, no inf/nan, no underscores), at the edges of what it
accepts; the readers' refusals (a boolean, a double overflow) and their one-line messages.

The exponent bound (|e| <= 400) is also exercised by tests/test_config.py with "1e999999999",
but without the bound that case builds 10^999999999 and never returns; here each edge is cheap
either way, so a missing or shifted bound fails fast."""

from __future__ import annotations

from fractions import Fraction

import pytest

from derivations.inputs.fields import (
    MAX_DECIMAL_EXPONENT,
    MAX_NUMBER_TEXT,
    ConfigError,
    exact_from_string,
    field_error,
    read_number,
    read_real,
    show_value,
)


@pytest.mark.parametrize("text, value", [
    ("3/10", Fraction(3, 10)),
    ("-3/10", Fraction(-3, 10)),
    ("0.25", Fraction(1, 4)),
    (".5", Fraction(1, 2)),
    ("+2", Fraction(2)),
    (" 7 ", Fraction(7)),  # surrounding blanks are stripped
    ("1e-3", Fraction(1, 1000)),
    ("2.5E+2", Fraction(250)),
    (f"1e{MAX_DECIMAL_EXPONENT}", Fraction(10) ** MAX_DECIMAL_EXPONENT),
    (f"-1e-{MAX_DECIMAL_EXPONENT}", -Fraction(1, 10 ** MAX_DECIMAL_EXPONENT)),
])
def test_accepted_numbers_are_exact(text, value):
    assert exact_from_string(text) == value


@pytest.mark.parametrize("text", [
    f"1e{MAX_DECIMAL_EXPONENT + 1}",  # past the bound: refused before any integer is built
    f"1e-{MAX_DECIMAL_EXPONENT + 1}",
    "3/0", "1/-2", "1/2/3", "1_000", "1 000", "inf", "nan", "-inf", "0x10", "1e", "e5", ".",
    "", "+", "--1", "1e+-2", "²", "١٢",  # non-ASCII digits are not digits here
    "1.x", "1.2.3", "1.-2", "0.5e1.5", "1.٣",  # a fraction part that is no digits
    "1" * (MAX_NUMBER_TEXT + 1),
])
def test_anything_else_is_refused(text):
    assert exact_from_string(text) is None


def test_read_number_keeps_a_fraction_already_read():
    """A Config section validated again hands its Fractions back to the reader."""
    assert read_number(Fraction(3, 10), "chain.states[0][0]") == Fraction(3, 10)


@pytest.mark.parametrize("value", [10**400, "1e400", "-1e400", "1e309", "0.5e400"])
def test_a_number_beyond_double_precision_is_not_finite(value):
    """An exact integer or string whose double overflows is refused by its reader as not
    finite (not accepted as 0.0 by the finiteness check)."""
    with pytest.raises(ConfigError, match=r"^init.c_std: .* is not a finite number$"):
        read_number(value, "init.c_std")


@pytest.mark.parametrize("value", [True, False])
def test_read_real_refuses_a_boolean(value):
    with pytest.raises(ConfigError, match="^network.beta: expected a number, got boolean$"):
        read_real(value, "network.beta")


def test_messages_are_one_line_and_show_long_values_shortened():
    assert str(field_error("run.N", "a\nb\t c")) == "run.N: a b c"
    shown = show_value("x" * 100)
    assert shown == repr("x" * 100)[:40] + "..." and len(shown) == 43
    assert show_value("x" * 38) == repr("x" * 38)  # 40 characters with the quotes: whole
