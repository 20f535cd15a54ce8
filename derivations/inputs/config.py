"""Configuration: TOML -> validated Config, the suite's one entry point for configurations.

States, rows and entries are numbered from 0 in every message, as in every output (JSON state
indices, words): "state 0" is the first row of ``chain.states``, ``chain.transition[0][2]`` the
probability of moving from state 0 to state 2.

Every value a user gives passes through :func:`load_config` / :func:`parse_config`, which raise
:class:`ConfigError` with a one-line message ``"<table>.<field>: <reason>"``. Nothing here calls
``eval``, ``sympify`` or ``parse_expr`` on user text: numbers are parsed by :mod:`fractions`,
target expressions by the whitelisting parser in :mod:`derivations.inputs.expression`.

Numbers in ``chain.states`` and ``chain.transition`` are kept *exact* (``fractions.Fraction``)
when given as integers or as strings ("3/10", "0.25"); TOML floats stay floats. A chain is
``exact`` when all its transition entries are exact, and then every check on it is exact.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from collections.abc import Sequence
from fractions import Fraction
from importlib import resources
from typing import Any

from pydantic import TypeAdapter, ValidationError

from derivations.errors import reads_as_zero
from derivations.inputs.fields import (
    ConfigError,
    Number,
    field_error,
    read_integer,
    read_string,
    show_value,
    type_name,
)
from derivations.inputs.schema import (
    DERIVED_KEYS,
    SCHEMA_KEYS,
    TABLES,
    TRAINABLE_GROUPS,
    ChainConfig,
    Config,
    InitConfig,
    LimitConfig,
    NetworkConfig,
    RunConfig,
    TargetConfig,
    TrainingConfig,
    contraction_rate,
    initial_law,
    states_array,
    target_expression,
    transition_matrix,
    transition_matrix_exact,
)
from derivations.inputs.validation import MAX_INTEGER, validate_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "DEFAULT_CONFIG_TOML", "MAX_INTEGER", "SCHEMA_KEYS", "TABLES", "TRAINABLE_GROUPS",
    "ChainConfig", "Config", "ConfigError", "InitConfig", "LimitConfig", "NetworkConfig",
    "RunConfig", "TargetConfig", "TrainingConfig", "config_from_dict", "config_to_dict",
    "contraction_rate", "initial_law", "load_config", "parse_config", "read_toml",
    "states_array", "target_expression", "transition_matrix", "transition_matrix_exact",
    "validate_config", "with_overrides",
]


def _read_default_toml() -> str:
    """The packaged default.toml (the single copy of the default configuration)."""
    package = resources.files("derivations.inputs")
    return package.joinpath("default.toml").read_text(encoding="utf-8")


DEFAULT_CONFIG_TOML: str = _read_default_toml()




_ADAPTER = TypeAdapter(Config)
# Which schema error a message reports first: unknown tables and keys, then sections that are not
# tables, then missing ones, then values (the order a reader fixes a file in).
_ERROR_ORDER = {"unexpected_keyword_argument": 0, "extra_forbidden": 0, "dataclass_type": 1,
                "dataclass_args_type": 1, "missing": 2, "missing_argument": 2}


def _schema_error(error: ValidationError, data: dict[str, Any]) -> ConfigError:
    """pydantic's first schema error (in :data:`_ERROR_ORDER`) as one ConfigError line; a value
    error raised by a field reader is that reader's own ConfigError, unchanged."""
    first = min(error.errors(), key=lambda e: _ERROR_ORDER.get(e["type"], 3))
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, ConfigError):
        return cause
    location = [str(part) for part in first["loc"]]
    field = ".".join(location)
    kind = _ERROR_ORDER.get(first["type"], 3)
    if kind == 0 and len(location) == 1:
        return field_error(field, f"unknown table or key (known tables: {', '.join(TABLES)})")
    if kind == 0:
        known = ", ".join(SCHEMA_KEYS[location[0]])
        return field_error(field, f"unknown key (known keys: {known})")
    if kind == 1:
        return field_error(field, f"must be a table [{field}], got {type_name(data.get(field))}")
    if kind == 2:
        return field_error(field, "missing table" if len(location) == 1 else "missing (required)")
    return field_error(field, first["msg"])


def config_from_dict(data: dict[str, Any]) -> Config:
    """Build and validate a Config from a TOML-shaped dict (as ``tomllib.loads`` returns, or
    as :func:`config_to_dict` produces). The schema (tables, keys, defaults, required fields)
    is validated by pydantic against the dataclasses of derivations.inputs.schema, each value by
    its field reader, the domain by derivations.inputs.validation. Raises ConfigError."""
    if not isinstance(data, dict):
        raise field_error("config", f"expected a table, got {type_name(data)}")
    for table, keys in DERIVED_KEYS.items():
        section = data.get(table)
        for key in keys:
            if isinstance(section, dict) and key in section:
                raise field_error(f"{table}.{key}", "unknown key (known keys: "
                                  f"{', '.join(SCHEMA_KEYS[table])})")
    try:
        config = _ADAPTER.validate_python(data)
    except ValidationError as error:
        raise _schema_error(error, data) from None
    return validate_config(config)


def parse_config(text: str, source: str = "<string>") -> Config:
    """Parse and validate TOML text (schema: default.toml). Raises ConfigError (one line)."""
    if not isinstance(text, str):
        raise field_error(source, f"config text must be a string, got {type(text).__name__}")
    return config_from_dict(read_toml(text, source))


class BeyondDoubleError(ConfigError):
    """A TOML float that double precision cannot hold (1e400 -> inf, 1e-400 -> 0.0)."""


class _BeyondDouble(Exception):  # not a ValueError: tomllib passes it through unchanged
    pass


def _double(text: str) -> float:
    """tomllib's parse_float: the double of a TOML float literal, refused when the literal is
    finite and nonzero but its double is inf or 0 (it would be read silently as another
    number: "0.0 must be > 0" for 1e-400)."""
    value = float(text)
    if "inf" not in text and "nan" not in text and (math.isinf(value) or reads_as_zero(text)):
        raise _BeyondDouble(text)
    return value


def read_toml(text: str, source: str) -> dict[str, Any]:
    """tomllib.loads with every failure as one ConfigError line: syntax errors, nesting too deep
    (RecursionError), integers beyond Python's 4300-digit conversion limit (ValueError), floats
    beyond double precision (:class:`BeyondDoubleError`)."""
    try:
        return tomllib.loads(text, parse_float=_double)
    except _BeyondDouble as err:
        number = show_value(str(err)).strip("'")
        raise BeyondDoubleError(" ".join(
            f"{source}: the number {number} is beyond double precision (it would be read as "
            f"{float(str(err))!r})".split())) from None
    except tomllib.TOMLDecodeError as err:
        raise field_error(source, f"TOML syntax error: {err}") from None
    except RecursionError:
        raise field_error(source, "TOML syntax error: nesting too deep") from None
    except ValueError:
        raise field_error(source, "a number with more than 4300 digits") from None


def load_config(
    path: str | os.PathLike[str] | None = None, assignments: Sequence[str] = ()
) -> Config:
    """The configuration: the built-in default, overlaid by the (possibly partial) TOML file
    ``path`` and the ``table.key=value`` ``assignments`` (derivations.inputs.files, which also
    records where each value came from). Raises ConfigError (one line)."""
    from derivations.inputs.files import load_layers  # the file layer builds on this module

    return load_layers(path, assignments).config


def with_overrides(
    config: Config,
    *,
    N: int | None = None,
    replicas: int | None = None,
    seed: int | None = None,
    backend: str | None = None,
    word_length: int | None = None,
) -> Config:
    """A copy with the given run/limit values replaced, validated again (raises ConfigError)."""
    run_changes: dict[str, Any] = {}
    if N is not None:
        run_changes["N"] = read_integer(N, "run.N")
    if replicas is not None:
        run_changes["replicas"] = read_integer(replicas, "run.replicas")
    if seed is not None:
        run_changes["seed"] = read_integer(seed, "run.seed")
    if backend is not None:
        run_changes["backend"] = read_string(backend, "run.backend")
    limit = config.limit
    if word_length is not None:
        limit = LimitConfig(word_length=read_integer(word_length, "limit.word_length"))
    return validate_config(
        config.replace(run=dataclasses.replace(config.run, **run_changes), limit=limit)
    )


def config_to_dict(config: Config) -> dict[str, Any]:
    """A JSON-serialisable, TOML-shaped dict (Fractions as "p/q" strings); omits the derived
    ``target.lag`` and an absent ``chain.initial``, so config_from_dict(config_to_dict(c)) == c."""

    def number(x: Number) -> str | float:
        return str(x) if isinstance(x, Fraction) else float(x)

    chain: dict[str, Any] = {
        "states": [[number(x) for x in row] for row in config.chain.states],
        "transition": [[number(p) for p in row] for row in config.chain.transition],
    }
    if config.chain.initial is not None:
        chain["initial"] = [number(p) for p in config.chain.initial]
    return {
        "chain": chain,
        "target": {"expression": config.target.expression, "noise_std": config.target.noise_std},
        "network": {
            "activation": config.network.activation,
            "beta": config.network.beta,
            "antisymmetric": config.network.antisymmetric,
            "trainable": list(config.network.trainable),
        },
        "init": dataclasses.asdict(config.init),
        "training": dataclasses.asdict(config.training),
        "run": dataclasses.asdict(config.run),
        "limit": dataclasses.asdict(config.limit),
    }
