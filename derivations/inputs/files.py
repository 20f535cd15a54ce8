"""Where a configuration comes from: the built-in default, the user's (possibly partial) TOML
file on top of it, then ``--set table.key=value`` assignments; and the effective configuration
printed back as TOML (``rnnkl config``).

Layering (:func:`load_layers`):
1. the built-in default (``derivations/inputs/default.toml``, the single copy);
2. the user's file: every table and key it gives replaces the default's; a table or key it
   leaves out keeps the default's value, and :attr:`LoadedConfig.from_default` lists those
   fields (the report states them). ``chain.states`` and ``chain.transition`` describe one
   chain and go together: a file giving one must give both (``chain.initial`` then defaults to
   the stationary start, as in a file of its own); a ``[chain]`` table giving neither (only
   ``chain.initial``) keeps the default chain;
3. ``--set table.key=value`` (in order; the last one for a field wins). The value is read as a
   TOML value (``0.6``, ``true``, ``"erf"``, ``[["1/2", "1/2"], ...]``); text that is not a
   TOML value is taken as a string, so ``--set network.activation=erf`` works unquoted; a
   field that holds one string (:data:`~derivations.inputs.schema.STRING_KEYS`) takes any
   other TOML scalar (number, boolean, date) as the text typed, so
   ``--set target.expression=0.5`` is the constant target 0.5, as ``expression = "0.5"`` in a
   file.
The result is validated like any file (:func:`derivations.inputs.config.config_from_dict`): the same
one-line messages, naming the field; a bad value that came from the default says so.

Tables of :data:`PLACEMENT_TABLES` (``[cluster]``) say where a run computes, not what: they are
taken out of the file before validation, kept out of the Config (so out of every cache key:
results are the same wherever they are computed) and handed over raw in
:attr:`LoadedConfig.cluster`, for :mod:`proofs_check.cluster` to validate.

Nothing here evaluates user text: TOML is data, and expressions go to the whitelisting parser.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from derivations.inputs.config import (
    DEFAULT_CONFIG_TOML,
    SCHEMA_KEYS,
    TABLES,
    BeyondDoubleError,
    Config,
    ConfigError,
    config_from_dict,
    config_to_dict,
    read_toml,
)
from derivations.inputs.schema import STRING_KEYS

DEFAULT_SOURCE = "<default config>"
MAX_CONFIG_BYTES = 1 << 20  # a config file is a few hundred bytes; 1 MiB is generous
MAX_ASSIGNMENT_CHARS = 10_000
_CHAIN_PAIR = ("states", "transition")
PLACEMENT_TABLES = ("cluster",)


def default_config_toml() -> str:
    """The packaged default.toml, comments included (``rnnkl config --show-default``)."""
    return DEFAULT_CONFIG_TOML


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration and its provenance: ``source`` (the file, or
    ``"<default config>"``), ``from_default`` (``"table.key"`` fields the user did not give,
    taken from the built-in default) and ``assigned`` (fields set by ``--set``)."""

    config: Config
    source: str
    from_default: tuple[str, ...]
    assigned: tuple[str, ...] = ()
    cluster: Any = None  # the file's [cluster] table, raw (None: no such table)


def _fail(field: str, reason: str) -> ConfigError:
    return ConfigError(" ".join(f"{field}: {reason}".split()))




def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The TOML tables of the file ``path``; size checked before reading (one-line errors)."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            if os.path.isfile(path) and os.fstat(handle.fileno()).st_size > MAX_CONFIG_BYTES:
                raise _fail(name, f"config file is larger than {MAX_CONFIG_BYTES} bytes")
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise _fail(name, "config file not found") from None
    except OSError as err:
        raise _fail(name, f"cannot read config file ({err.strerror or err})") from None
    except ValueError:  # a NUL byte in the name: no file can have it
        raise _fail(name.replace("\x00", "\\x00"), "not a file name (it contains a NUL byte)"
                    ) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise _fail(name, f"config file is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail(name, "config file is not UTF-8 text") from None
    return read_toml(text, name)


def merge_over_default(
    data: dict[str, Any], default: dict[str, Any]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """(merged tables, fields taken from ``default``): step 2 of the module docstring. Tables
    and keys that are not in the schema are kept, so validation names them."""
    merged = copy.deepcopy(data)
    from_default: list[str] = []
    chain = data.get("chain")
    if isinstance(chain, dict) and (("states" in chain) != ("transition" in chain)):
        given, missing = ("states", "transition") if "states" in chain else _CHAIN_PAIR[::-1]
        raise _fail(f"chain.{missing}", f"missing: chain.{given} and chain.{missing} go "
                    "together (give both, or neither to use the default chain)")
    for table in TABLES:
        base = default.get(table, {})
        if table not in merged:
            merged[table] = copy.deepcopy(base)
            from_default += [f"{table}.{key}" for key in base]
            continue
        if not isinstance(merged[table], dict):
            continue  # validation reports "must be a table"
        # a new chain (states and transition, checked above) takes nothing of the default's
        # chain; a [chain] table without them (only chain.initial) starts the default chain
        new_chain = table == "chain" and "states" in merged[table]
        skip = _CHAIN_PAIR + ("initial",) if new_chain else ()
        for key, value in base.items():
            if key not in merged[table] and key not in skip:
                merged[table][key] = copy.deepcopy(value)
                from_default.append(f"{table}.{key}")
    return merged, tuple(from_default)


def parse_assignment(text: str) -> tuple[str, str, Any]:
    """``"table.key=value"`` -> (table, key, value); step 3 of the module docstring."""
    if len(text) > MAX_ASSIGNMENT_CHARS:
        raise _fail("--set", f"assignment longer than {MAX_ASSIGNMENT_CHARS} characters")
    if any(ch in text for ch in "\r\n\x00"):
        raise _fail("--set", "assignment must be one line")
    field, eq, raw = text.partition("=")
    table, dot, key = field.strip().partition(".")
    if not eq or not dot or not table or not key:
        raise _fail("--set", f"expected table.key=value, got {text[:60]!r}")
    if table not in SCHEMA_KEYS:
        raise _fail(f"{table}", f"unknown table (known tables: {', '.join(TABLES)})")
    if key not in SCHEMA_KEYS[table]:
        raise _fail(f"{table}.{key}",
                    f"unknown key (known keys: {', '.join(SCHEMA_KEYS[table])})")
    raw = raw.strip()
    try:
        document = read_toml(f"value = {raw}", "--set")
    except BeyondDoubleError as err:  # a number, not a string: name the field it was for
        raise _fail(f"{table}.{key}", str(err).removeprefix("--set: ")) from None
    except ConfigError:
        document = {"value": raw}  # not a TOML value: a bare string such as erf or tanh(x0)
    if set(document) != {"value"}:
        raise _fail(f"{table}.{key}", "expected one value")
    value = document["value"]
    if f"{table}.{key}" in STRING_KEYS and not isinstance(value, str | list | dict):
        value = raw  # a string field takes a scalar as typed: target.expression=0.5
    return table, key, value


def load_layers(
    path: str | os.PathLike[str] | None = None, assignments: Sequence[str] = ()
) -> LoadedConfig:
    """Default, then the file ``path`` (if any), then ``assignments``; validated."""
    default = read_toml(default_config_toml(), DEFAULT_SOURCE)
    placement: dict[str, Any] = {}
    if path is None:
        source, data = DEFAULT_SOURCE, copy.deepcopy(default)
        from_default = tuple(f"{t}.{k}" for t in TABLES for k in default.get(t, {}))
    else:
        source = str(path)
        document = read_config_file(path)
        placement = {table: document.pop(table) for table in PLACEMENT_TABLES
                     if table in document}
        data, from_default = merge_over_default(document, default)
    assigned: list[str] = []
    for text in assignments:
        table, key, value = parse_assignment(text)
        if not isinstance(data.get(table, {}), dict):
            continue  # the file's "table = <not a table>": validation names it, not --set
        data.setdefault(table, {})[key] = value
        field = f"{table}.{key}"
        assigned.append(field)
        from_default = tuple(f for f in from_default if f != field)
    try:
        config = config_from_dict(data)
    except ConfigError as err:
        field = str(err).partition(":")[0].split("[")[0]
        if field in from_default:
            raise ConfigError(f"{err} (this value is the built-in default's; set {field} in "
                              "your config or with --set)") from None
        raise
    return LoadedConfig(config, source, from_default, tuple(dict.fromkeys(assigned)),
                        placement.get("cluster"))


def _toml_value(value: Any) -> str:
    """One TOML value of the schema's kinds: bool, int, float, string, (nested) array.
    Strings are written as JSON strings, whose escapes are all valid TOML basic-string escapes;
    floats by repr (shortest round trip; finite, as validated)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def config_to_toml(config: Config) -> str:
    """The configuration as TOML text that :func:`load_layers` reads back to the same Config
    (one ``[table]`` per section, in schema order; a test round-trips it with tomllib)."""
    lines: list[str] = []
    for table, values in config_to_dict(config).items():
        lines += [f"[{table}]"] + [f"{key} = {_toml_value(v)}" for key, v in values.items()]
        lines.append("")
    return "\n".join(lines)


def provenance_note(loaded: LoadedConfig) -> str:
    """One sentence saying where the configuration came from (report and ``rnnkl config``)."""
    if loaded.source == DEFAULT_SOURCE:
        text = "the built-in default configuration"
    else:
        text = f"{loaded.source}"
        if loaded.from_default:
            text += f" (from the built-in default: {', '.join(loaded.from_default)})"
    if loaded.assigned:
        text += f"; set on the command line: {', '.join(loaded.assigned)}"
    return text
