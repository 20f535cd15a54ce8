"""Typed readers of configuration values (the input layer, derivations.inputs).

Each reader takes a TOML value and the field's name and returns the value in its Python type or
raises :class:`ConfigError` with one line "<table>.<field>: <reason>". Numbers given as integers
or strings ("3/10", "0.25", "1e-3") become exact :class:`fractions.Fraction` without building
huge integers; TOML floats stay floats. Nothing here evaluates user text.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from derivations.errors import InputError, short_number

Number = Fraction | float

MAX_NUMBER_TEXT = 200  # characters of an exact number string such as "3/10"
MAX_DECIMAL_EXPONENT = 400  # |e| in "1e<e>": larger would build a huge integer


class ConfigError(InputError):
    """Bad configuration. ``str(err)`` is one line naming the field and the reason."""


def field_error(field: str, reason: str) -> ConfigError:
    """A ConfigError "<table>.<field>: <reason>" guaranteed to be one line."""
    return ConfigError(" ".join(f"{field}: {reason}".split()))


def show_value(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def format_number(x: Number) -> str:
    """A number as the user would write it: "p/q" for exact values, repr for floats; a
    fraction too long for one line as a 6-digit decimal (derivations.errors.short_number)."""
    return short_number(x) if isinstance(x, Fraction) else repr(x)


def is_index(text: str) -> bool:
    return text.isascii() and text.isdigit()


def exact_from_string(text: str) -> Fraction | None:
    """Parse "p/q", "-3", "0.25", "1e-3" into a Fraction without building huge integers.

    Returns None for anything else (no underscores, no whitespace inside, no inf/nan).
    """
    text = text.strip()
    if not text or len(text) > MAX_NUMBER_TEXT:
        return None
    unsigned = text[1:] if text[0] in "+-" else text
    if "/" in unsigned:
        numerator, _, denominator = unsigned.partition("/")
        if not (is_index(numerator) and is_index(denominator)) or int(denominator) == 0:
            return None
        return Fraction(text)
    mantissa, _, exponent = unsigned.lower().partition("e")
    if "e" in unsigned.lower():
        digits = exponent[1:] if exponent[:1] in ("+", "-") else exponent
        if not is_index(digits) or int(digits) > MAX_DECIMAL_EXPONENT:
            return None
    whole, _, fraction = mantissa.partition(".")
    if not (whole or fraction) or (whole and not is_index(whole)):
        return None
    if fraction and not is_index(fraction):
        return None
    return Fraction(text)  # without a dot, fraction is "" and whole is digits (checked above)


def read_number(value: Any, field: str) -> Number:
    """A TOML number or exact string -> Fraction (ints, strings) or float (TOML floats)."""
    if isinstance(value, bool):
        raise field_error(field, f"expected a number, got boolean {show_value(value)}")
    if isinstance(value, int):
        result: Number = Fraction(value)
    elif isinstance(value, Fraction):  # already read (a Config section validated again)
        result = value
    elif isinstance(value, float):
        result = value
    elif isinstance(value, str):
        exact = exact_from_string(value)
        if exact is None:
            raise field_error(
                field, f"{show_value(value)} is not a number (use e.g. 0.3, \"3/10\" or \"0.3\")"
            )
        result = exact
    else:
        raise field_error(field, f"expected a number, got {type(value).__name__}")
    finite_float(result, value, field)
    return result


def finite_float(number: Any, value: Any, field: str) -> float:
    """float(number), refused unless finite (an overflowing int or Fraction counts as inf);
    ``value`` is what the message shows (the user's text)."""
    try:
        as_float = float(number)
    except OverflowError:
        as_float = math.inf
    if not math.isfinite(as_float):
        raise field_error(field, f"{show_value(value)} is not a finite number")
    return as_float


def read_real(value: Any, field: str) -> float:
    """A finite TOML int or float, as float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise field_error(field, f"expected a number, got {type_name(value)}")
    return finite_float(value, value, field)


def read_integer(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise field_error(field, f"expected an integer, got {type_name(value)} {show_value(value)}")
    return value


def read_string(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise field_error(field, f"expected a string, got {type_name(value)}")
    return value


def read_boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise field_error(field, f"expected true or false, got {type_name(value)}")
    return value


def type_name(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array",
             dict: "table"}
    return names.get(type(value), type(value).__name__)


def read_list(value: Any, field: str) -> list[Any] | tuple[Any, ...]:
    """A TOML array (or the tuple a validated Config holds)."""
    if not isinstance(value, (list, tuple)):
        raise field_error(field, f"expected an array, got {type_name(value)}")
    return value


def read_matrix(value: Any, field: str) -> tuple[tuple[Number, ...], ...]:
    rows = read_list(value, field)
    if not rows:
        raise field_error(field, "must not be empty")
    result = []
    for i, row in enumerate(rows):
        entries = read_list(row, f"{field}[{i}]")
        if not entries:
            raise field_error(field, f"row {i} is empty")
        result.append(tuple(read_number(x, f"{field}[{i}][{j}]") for j, x in enumerate(entries)))
    return tuple(result)


def read_vector(value: Any, field: str) -> tuple[Number, ...] | None:
    """An optional array of numbers (None stays None)."""
    if value is None:
        return None
    return tuple(read_number(x, f"{field}[{i}]") for i, x in enumerate(read_list(value, field)))


def read_strings(value: Any, field: str) -> tuple[str, ...]:
    """An array of strings."""
    return tuple(read_string(g, field) for g in read_list(value, field))
