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
import os
import sys
from collections.abc import Sequence
from fractions import Fraction
from importlib import resources
from typing import Any

from derivations.inputs.fields import (
    ConfigError,
    Number,
    field_error,
    read_boolean,
    read_integer,
    read_list,
    read_matrix,
    read_number,
    read_real,
    read_string,
    type_name,
)
from derivations.inputs.schema import (
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




# ============================================================================ TOML -> Config

SCHEMA_KEYS: dict[str, tuple[str, ...]] = {
    "chain": ("states", "transition", "initial"),
    "target": ("expression", "noise_std"),
    "network": ("activation", "beta", "antisymmetric", "trainable"),
    "init": ("c_std", "w_std", "b_max"),
    "training": ("alpha", "horizon"),
    "run": ("N", "replicas", "seed", "backend"),
    "limit": ("word_length",),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "chain": ("states", "transition"),
    "target": ("expression",),
}


def _check_keys(data: dict[str, Any]) -> None:
    """Unknown tables and keys are errors (typo protection); required ones must be present."""
    for name, value in data.items():
        if name not in SCHEMA_KEYS:
            raise field_error(name, f"unknown table or key (known tables: {', '.join(TABLES)})")
        if not isinstance(value, dict):
            raise field_error(name, f"must be a table [{name}], got {type_name(value)}")
        for key in value:
            if key not in SCHEMA_KEYS[name]:
                raise field_error(
                    f"{name}.{key}", f"unknown key (known keys: {', '.join(SCHEMA_KEYS[name])})"
                )
    for name, keys in _REQUIRED.items():
        if name not in data:
            raise field_error(name, "missing table")
        for key in keys:
            if key not in data[name]:
                raise field_error(f"{name}.{key}", "missing (required)")


def _chain(table: dict[str, Any]) -> ChainConfig:
    states = read_matrix(table["states"], "chain.states")
    transition = read_matrix(table["transition"], "chain.transition")
    initial = None
    if "initial" in table:
        entries = read_list(table["initial"], "chain.initial")
        initial = tuple(read_number(x, f"chain.initial[{i}]") for i, x in enumerate(entries))
    return ChainConfig(states=states, transition=transition, initial=initial)


def _trainable(value: Any) -> tuple[str, ...]:
    groups = read_list(value, "network.trainable")
    return tuple(read_string(g, "network.trainable") for g in groups)


def config_from_dict(data: dict[str, Any]) -> Config:
    """Build and validate a Config from a TOML-shaped dict (as ``tomllib.loads`` returns, or
    as :func:`config_to_dict` produces). Raises ConfigError."""
    if not isinstance(data, dict):
        raise field_error("config", f"expected a table, got {type_name(data)}")
    _check_keys(data)
    tables = {name: data.get(name, {}) for name in TABLES}
    target, network = tables["target"], tables["network"]
    init, training, run, limit = tables["init"], tables["training"], tables["run"], tables["limit"]
    config = Config(
        chain=_chain(tables["chain"]),
        target=TargetConfig(
            expression=read_string(target["expression"], "target.expression"),
            noise_std=read_real(target.get("noise_std", 0.0), "target.noise_std"),
        ),
        network=NetworkConfig(
            activation=read_string(network.get("activation", "tanh"), "network.activation"),
            beta=read_real(network.get("beta", 0.75), "network.beta"),
            antisymmetric=read_boolean(
                network.get("antisymmetric", False), "network.antisymmetric"
            ),
            trainable=_trainable(network.get("trainable", list(TRAINABLE_GROUPS))),
        ),
        init=InitConfig(
            c_std=read_real(init.get("c_std", 1.0), "init.c_std"),
            w_std=read_real(init.get("w_std", 1.0), "init.w_std"),
            b_max=read_real(init.get("b_max", 0.5), "init.b_max"),
        ),
        training=TrainingConfig(
            alpha=read_real(training.get("alpha", 1.0), "training.alpha"),
            horizon=read_real(training.get("horizon", 2.0), "training.horizon"),
        ),
        run=RunConfig(
            N=read_integer(run.get("N", 4000), "run.N"),
            replicas=read_integer(run.get("replicas", 4), "run.replicas"),
            seed=read_integer(run.get("seed", 0), "run.seed"),
            backend=read_string(run.get("backend", "fast"), "run.backend"),
        ),
        limit=LimitConfig(
            word_length=read_integer(limit.get("word_length", 6), "limit.word_length"),
        ),
    )
    return validate_config(config)


def parse_config(text: str, source: str = "<string>") -> Config:
    """Parse and validate TOML text (schema: default.toml). Raises ConfigError (one line)."""
    if not isinstance(text, str):
        raise field_error(source, f"config text must be a string, got {type(text).__name__}")
    return config_from_dict(read_toml(text, source))


def read_toml(text: str, source: str) -> dict[str, Any]:
    """tomllib.loads with every failure as one ConfigError line: syntax errors, nesting too deep
    (RecursionError), integers beyond Python's 4300-digit conversion limit (ValueError)."""
    try:
        return tomllib.loads(text)
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
