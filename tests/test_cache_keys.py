"""A cache key changes whenever what it stands for changes (proofs_check.cache).

The report resumes from its cache: an entry is reused when its key matches. A key that ignored
any part of the configuration, rounded a float, confused an exact rational with its double, or
missed an edit of the code would serve another computation's numbers as this one's, silently.
Each test changes one thing a result depends on and requires a new key; the configurations are
the built-in default and every shipped example, each leaf changed in turn to another valid
value (a float by one unit in the last place).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from derivations.activations import ACTIVATION_NAMES
from derivations.inputs.config import config_from_dict, config_to_dict, load_config
from derivations.inputs.fields import ConfigError
from proofs_check.cache import Cache, canonical_json, code_salt

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.toml"))
TINY = Fraction(1, 10**15)  # moves an exact transition entry (and its row partner) by 1e-15


def _key(config) -> str:
    return Cache(None, salt="s").key("simulation", {"config": config, "N": 64})


def _other_string(path: tuple[Any, ...], value: str) -> list[str]:
    field = path[-1]
    if field == "activation":
        return [name for name in ACTIVATION_NAMES if name != value]
    if field == "backend":
        return ["numpy" if value == "fast" else "fast"]
    if field == "expression":
        return [f"({value}) + 0.5"]
    return []


def _variants(data: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(description, config dict) with one leaf of ``data`` changed to another valid value."""
    def at(path):
        node = data
        for part in path:
            node = node[part]
        return node

    def changed(path, value):
        out = copy.deepcopy(data)
        node = out
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
        return out

    leaves: list[tuple[Any, ...]] = []

    def walk(node, path):
        if isinstance(node, dict):
            for k in node:
                walk(node[k], (*path, k))
        elif isinstance(node, list) and path[-1] != "trainable" and path[:2] != ("chain",
                                                                                   "transition"):
            for i, v in enumerate(node):
                walk(v, (*path, i))
        else:
            leaves.append(path)

    walk(data, ())
    for path in leaves:
        value = at(path)
        name = ".".join(map(str, path))
        if path[:2] == ("chain", "transition"):
            for i, row in enumerate(value):  # exact rows keep summing to 1 exactly
                exact = [Fraction(p) for p in row]
                moved = [exact[0] + TINY, exact[1] - TINY, *exact[2:]]
                rows = [list(r) for r in value]
                rows[i] = [str(p) for p in moved]
                yield f"{name}[{i}] moved by 1e-15", changed(path, rows)
                rows = [list(r) for r in value]
                rows[i] = [float(Fraction(p)) for p in row]
                if rows[i] != row:
                    yield f"{name}[{i}] as doubles", changed(path, rows)
        elif isinstance(value, bool):
            yield f"{name} flipped", changed(path, not value)
        elif isinstance(value, int):
            yield f"{name} + 2", changed(path, value + 2)
        elif isinstance(value, float):
            new = math.nextafter(value, math.inf) if value != 0.0 else 1e-3
            yield f"{name} next double", changed(path, new)
        elif isinstance(value, str):
            for other in _other_string(path, value):
                yield f"{name} = {other}", changed(path, other)
        elif path[-1] == "trainable":
            yield f"{name} without {value[-1]}", changed(path, value[:-1])
    m = len(data["chain"]["states"])
    if "initial" not in data["chain"]:
        yield "chain.initial given", changed(("chain", "initial"), ["1/1"] + ["0/1"] * (m - 1))


@pytest.mark.parametrize("source", [None, *EXAMPLES], ids=lambda p: "default" if p is None
                         else p.stem)
def test_every_leaf_of_a_configuration_changes_the_key(source):
    base = load_config(source)
    data = config_to_dict(base)
    assert config_from_dict(data) == base
    seen = {_key(base): "the configuration itself"}
    tried = 0
    for description, variant in _variants(data):
        try:
            config = config_from_dict(variant)
        except ConfigError:  # not a valid configuration (rho >= 1, say): nothing to cache
            continue
        if config == base:
            continue
        tried += 1
        key = _key(config)
        assert key not in seen, f"{description} shares the key of {seen.get(key)}"
        seen[key] = description
    # every section contributed: at least one variant per leaf field of the schema
    assert tried >= len(config_to_dict(base)["run"]) + len(base.chain.states) + 8


def test_floats_one_ulp_apart_and_rationals_and_their_doubles_have_distinct_forms():
    x = 0.1
    assert canonical_json(x) != canonical_json(math.nextafter(x, 1.0))
    assert canonical_json(1e-300) != canonical_json(math.nextafter(1e-300, 1.0))
    assert canonical_json(Fraction(1, 3)) != canonical_json(1 / 3)
    assert canonical_json(Fraction(1, 2)) != canonical_json(0.5)
    assert canonical_json(1) != canonical_json(1.0)


def test_arrays_of_another_dtype_or_shape_have_distinct_forms():
    a = np.arange(4, dtype=np.int64)
    assert canonical_json(a) != canonical_json(a.astype(np.int32))
    assert canonical_json(a) != canonical_json(a.astype(float))
    assert canonical_json(a) != canonical_json(a.reshape(2, 2))


def test_dataclasses_with_the_same_fields_but_another_type_have_distinct_forms():
    @dataclasses.dataclass(frozen=True)
    class Kernel:
        word_length: int

    @dataclasses.dataclass(frozen=True)
    class Limit:
        word_length: int

    assert canonical_json(Kernel(6)) != canonical_json(Limit(6))
    assert canonical_json(Kernel(6)) != canonical_json(Kernel(7))


def test_the_code_salt_sees_every_edit_of_a_source_file(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    source = package / "sub" / "a.py"
    source.write_text("X = 1\n")
    (package / "notes.txt").write_text("not code")
    salts = {code_salt(("pkg",), root=tmp_path)}

    def salted(description: str) -> None:
        salt = code_salt(("pkg",), root=tmp_path)
        assert salt not in salts, description
        salts.add(salt)

    source.write_text("X = 2\n")  # same length, same path: only the bytes differ
    salted("an edited file")
    (package / "b.py").write_text("")
    salted("a new (empty) file")
    source.rename(package / "sub" / "c.py")
    salted("a renamed file")
    (package / "notes.txt").write_text("edited, but not code")
    assert code_salt(("pkg",), root=tmp_path) in salts  # only .py files are code


def test_the_salt_and_the_kind_take_part_in_the_key():
    params = {"config": load_config(), "N": 64}
    keys = {Cache(None, salt="a").key("simulation", params),
            Cache(None, salt="b").key("simulation", params),
            Cache(None, salt="a").key("frozen", params)}
    assert len(keys) == 3
