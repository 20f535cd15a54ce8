"""derivations.inputs.fields.exact_from_string: exact numbers from the user's text, whitelisted
and bounded (no huge integers, no inf/nan, no underscores), at the edges of what it accepts.

The exponent bound (|e| <= 400) is also exercised by tests/test_config.py with "1e999999999",
but without the bound that case builds 10^999999999 and never returns; here each edge is cheap
either way, so a missing or shifted bound fails fast."""

from __future__ import annotations

from fractions import Fraction

import pytest

from derivations.inputs.fields import MAX_DECIMAL_EXPONENT, MAX_NUMBER_TEXT, exact_from_string


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
    "1" * (MAX_NUMBER_TEXT + 1),
])
def test_anything_else_is_refused(text):
    assert exact_from_string(text) is None
