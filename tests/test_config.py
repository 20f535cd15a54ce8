"""Configuration (derivations/inputs/config.py): default, examples, exact numbers, helpers, every
validation error with its one-line message, overrides, and fuzzing of the loader."""

from __future__ import annotations

import copy
import json
import math
import pathlib
from fractions import Fraction
from importlib import resources

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from derivations.errors import InputError
from derivations.inputs.config import (
    DEFAULT_CONFIG_TOML,
    ConfigError,
    config_from_dict,
    config_to_dict,
    contraction_rate,
    initial_law,
    load_config,
    parse_config,
    states_array,
    target_expression,
    transition_matrix,
    transition_matrix_exact,
    with_overrides,
)
from derivations.inputs.expression_eval import to_sympy

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


# ----------------------------------------------------------------------------- a tiny TOML writer


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    raise TypeError(type(value))


def to_toml(data: dict) -> str:
    """Serialise a dict of tables (values: bool/int/float/str/list/dict) as TOML text."""
    lines = []
    for name, table in data.items():
        if not isinstance(table, dict):
            lines.append(f"{json.dumps(name)} = {_toml_value(table)}")
    for name, table in data.items():
        if isinstance(table, dict):
            lines.append(f"[{json.dumps(name)}]")
            lines.extend(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in table.items())
    return "\n".join(lines) + "\n"


def default_dict() -> dict:
    """The issue's default configuration, typed independently of the code under test."""
    return {
        "chain": {
            "states": [[-1.0], [0.3], [1.0]],
            "transition": [["1/5", "1/2", "3/10"], ["1/2", "1/4", "1/4"],
                           ["3/10", "3/10", "2/5"]],
        },
        "target": {"expression": "tanh(2*x0*x1 + x0)", "noise_std": 0.0},
        "network": {"activation": "tanh", "beta": 0.75, "antisymmetric": False,
                    "trainable": ["c", "w", "b"]},
        "init": {"c_std": 1.0, "w_std": 1.0, "b_max": 0.5},
        "training": {"alpha": 1.0, "horizon": 2.0},
        "run": {"N": 4000, "replicas": 4, "seed": 0},
        "limit": {"word_length": 6},
    }


# ----------------------------------------------------------------------------- default, examples


def test_default_matches_the_issue():
    config = load_config(None)
    assert config == parse_config(to_toml(default_dict()))
    assert config.chain.states == ((-1.0,), (0.3,), (1.0,))
    assert config.chain.transition[0] == (Fraction(1, 5), Fraction(1, 2), Fraction(3, 10))
    assert config.chain.exact and config.chain.m == 3 and config.chain.d == 1
    assert config.chain.initial is None
    assert config.target.lag == 1
    assert config.network.trainable == ("c", "w", "b")
    assert (config.run.N, config.run.replicas, config.run.seed, config.run.backend) == (
        4000, 4, 0, "fast")
    assert config.limit.word_length == 6


def test_default_toml_is_the_packaged_file():
    packaged = resources.files("derivations.inputs").joinpath("default.toml").read_text("utf-8")
    assert DEFAULT_CONFIG_TOML == packaged


def test_default_toml_comments_every_field():
    lines = DEFAULT_CONFIG_TOML.splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if "=" in stripped and not stripped.startswith(("#", "[", '"')):
            assert lines[index - 1].strip().startswith("#"), f"uncommented field: {line}"


def test_examples_load():
    files = sorted(EXAMPLES.glob("*.toml"))
    assert len(files) >= 3
    for path in files:
        config = load_config(str(path))
        assert config.run.N <= 4000 and config.run.replicas <= 8, path.name


def test_example_antisymmetric_beta_half():
    config = load_config(str(EXAMPLES / "antisymmetric_beta_half.toml"))
    assert config.network.beta == 0.5 and config.network.antisymmetric
    assert config.network.activation == "tanh"
    assert config.chain.d == 2 and config.chain.m == 3 and config.chain.exact
    assert config.init.b_max == 0.6 and config.init.w_std == 1.2
    used = {s.name for s in to_sympy(target_expression(config)).free_symbols}
    assert {"x0_1", "x0_2", "x1_1"} <= used


def test_example_linear_two_state():
    config = load_config(str(EXAMPLES / "linear_two_state.toml"))
    assert config.network.activation == "linear"
    assert config.chain.m == 2 and config.chain.d == 1 and config.chain.exact
    assert config.init.b_max == 0.5
    y = to_sympy(target_expression(config))
    x0, x1 = sympy.symbols("x0 x1", real=True)
    assert sympy.diff(y, x0, 2) == 0 and sympy.diff(y, x1, 2) == 0 and sympy.diff(y, x0, x1) == 0


def test_example_erf_no_recurrence():
    config = load_config(str(EXAMPLES / "erf_no_recurrence.toml"))
    assert config.network.activation == "erf"
    assert config.init.b_max == 0.0 and contraction_rate(config) == 0.0
    assert config.network.trainable == ("c", "w")
    assert config.target.lag == 0 and config.chain.d in (1, 2)


# ----------------------------------------------------------------------------- numbers, helpers


def test_number_kinds():
    data = default_dict()
    data["chain"]["states"] = [["-1"], [0], ["0.3"], [1.0]]
    data["chain"]["transition"] = [
        ["0.25", "1/4", 0.5, 0], [1, 0, 0, 0], ["1/3", "1/3", "0", "1/3"], [0, 0, "1/2", "1/2"],
    ]
    config = config_from_dict(data)
    assert config.chain.states == ((Fraction(-1),), (Fraction(0),), (Fraction(3, 10),), (1.0,))
    assert isinstance(config.chain.states[3][0], float)
    row = config.chain.transition[0]
    assert row[:2] == (Fraction(1, 4), Fraction(1, 4)) and isinstance(row[2], float)
    assert not config.chain.exact  # one float entry
    exact = transition_matrix_exact(config.chain)
    assert all(isinstance(x, sympy.Float) for x in exact)


def test_exact_helpers():
    config = load_config(None)
    P = transition_matrix_exact(config.chain)
    assert P == sympy.Matrix([[sympy.Rational(1, 5), sympy.Rational(1, 2), sympy.Rational(3, 10)],
                              [sympy.Rational(1, 2), sympy.Rational(1, 4), sympy.Rational(1, 4)],
                              [sympy.Rational(3, 10), sympy.Rational(3, 10),
                               sympy.Rational(2, 5)]])
    assert P * sympy.ones(3, 1) == sympy.ones(3, 1)  # exactly stochastic
    np.testing.assert_array_equal(transition_matrix(config.chain),
                                  np.array([[0.2, 0.5, 0.3], [0.5, 0.25, 0.25], [0.3, 0.3, 0.4]]))
    assert states_array(config.chain).shape == (3, 1)
    assert states_array(config.chain)[1, 0] == 0.3
    np.testing.assert_array_equal(states_array(config), states_array(config.chain))
    np.testing.assert_array_equal(transition_matrix(config), transition_matrix(config.chain))
    assert initial_law(config.chain) is None
    data = default_dict()
    data["chain"]["initial"] = ["1/2", 0, "0.5"]
    law = initial_law(config_from_dict(data).chain)
    np.testing.assert_array_equal(law, [0.5, 0.0, 0.5])


def test_contraction_rate():
    data = default_dict()
    data["network"]["activation"] = "sigmoid"
    data["init"]["b_max"] = 3.5
    assert contraction_rate(config_from_dict(data)) == 3.5 / 4


def test_config_to_dict_round_trip():
    for config in [load_config(None), *(load_config(str(p)) for p in EXAMPLES.glob("*.toml"))]:
        data = json.loads(json.dumps(config_to_dict(config)))
        assert config_from_dict(data) == config
        assert parse_config(to_toml(data)) == config
    assert config_to_dict(load_config(None))["chain"]["transition"][0] == ["1/5", "1/2", "3/10"]


@pytest.mark.parametrize("initial", [["1/2", "1/4", "1/4"], [0.5, 0.25, 0.25]])
def test_config_to_dict_round_trip_keeps_the_initial_law(initial):
    """No shipped example sets chain.initial; a round trip must keep it, exact or float."""
    data = default_dict()
    data["chain"]["initial"] = initial
    config = config_from_dict(data)
    assert config.chain.initial is not None
    out = json.loads(json.dumps(config_to_dict(config)))
    assert out["chain"]["initial"] == initial
    assert config_from_dict(out) == config


@pytest.mark.parametrize("data", [[1], "chain", None, 3])
def test_a_config_that_is_not_a_table_is_one_line(data):
    with pytest.raises(ConfigError, match=r"^config: expected a table, got "):
        config_from_dict(data)


def test_config_text_that_is_not_a_string_or_nests_too_deep_is_one_line():
    with pytest.raises(ConfigError, match=r"^<string>: config text must be a string, got bytes$"):
        parse_config(b"[run]\nseed = 1")
    with pytest.raises(ConfigError, match=r"^deep.toml: TOML syntax error: nesting too deep$"):
        parse_config("a = " + "[" * 5000 + "]" * 5000, "deep.toml")


def test_trainable_is_canonically_ordered():
    data = default_dict()
    data["network"]["trainable"] = ["b", "c"]
    assert config_from_dict(data).network.trainable == ("c", "b")


def test_b_max_zero_is_allowed():
    data = default_dict()
    data["init"]["b_max"] = 0.0
    assert contraction_rate(config_from_dict(data)) == 0.0


def test_float_rows_within_tolerance_are_accepted():
    data = default_dict()
    data["chain"]["transition"] = [[0.1, 0.2, 0.7], [1 / 3, 1 / 3, 1 / 3], [0.3, 0.3, 0.4]]
    assert not config_from_dict(data).chain.exact


def test_word_length_shorter_than_target_window_is_allowed():
    """numerics conditions ybar on the word when the lag reaches past it (q >= L)."""
    data = default_dict()
    data["limit"]["word_length"] = 1
    assert config_from_dict(data).target.lag == 1
    data["target"]["expression"] = "x0 + x10"  # 3^11 = 177147 windows: still checked
    assert config_from_dict(data).target.lag == 10


def test_with_overrides():
    config = load_config(None)
    changed = with_overrides(config, N=10, replicas=2, seed=7, backend="fast", word_length=3)
    assert (changed.run.N, changed.run.replicas, changed.run.seed, changed.run.backend) == (
        10, 2, 7, "fast")
    assert changed.limit.word_length == 3 and changed.chain == config.chain
    assert with_overrides(config) == config


# ----------------------------------------------------------------------------- validation errors


def _set(path: str, value):
    """Mutation setting table.key (or deleting it when value is DELETE)."""

    def mutate(data):
        table, _, key = path.partition(".")
        if not key:
            if value is DELETE:
                del data[table]
            else:
                data[table] = value
        elif value is DELETE:
            del data[table][key]
        else:
            data.setdefault(table, {})[key] = value
        return data

    return mutate


def _with(*mutations):
    def mutate(data):
        for m in mutations:
            data = m(data)
        return data

    return mutate


DELETE = object()
PERIODIC_3 = [[0, 1, 0], [0, 0, 1], [1, 0, 0]]

VALIDATION_ERRORS = [
    # (id, mutation of default_dict(), expected message start, expected fragment)
    ("non-square", _set("chain.transition", [["1/2", "1/2"], ["1/2", "1/2"], ["1/2", "1/2"]]),
     "chain.transition:", "row 0 has 2 entries, expected 3"),
    ("rows != states", _set("chain.transition", [["1/2", "1/2"], ["1/2", "1/2"]]),
     "chain.transition:", "has 2 rows but there are 3 states"),
    ("more rows than states", _set("chain.transition", [["1/2", "1/4", "1/4"]] * 4),
     "chain.transition:", "has 4 rows but there are 3 states"),
    ("row longer than m", _set("chain.transition", [
        ["1/2", "1/4", "1/4", "0"], ["1/2", "1/4", "1/4"], ["3/10", "3/10", "2/5"]]),
     "chain.transition:", "row 0 has 4 entries, expected 3"),
    ("non-stochastic exact", _set("chain.transition", [["1/5", "1/2", "1/3"], ["1/2", "1/4", "1/4"],
                                                       ["3/10", "3/10", "2/5"]]),
     "chain.transition:", "row 0 sums to 31/30, not 1 (exact check)"),
    ("exact check is exact", _set("chain.transition", [
        ["1/3", "1/3", "0.333333333333333333"], ["1/2", "1/4", "1/4"], ["3/10", "3/10", "2/5"]]),
     "chain.transition:", "row 0 sums to 1 - 1/3000000000000000000"),
    ("non-stochastic float", _set("chain.transition", [[0.2, 0.5, 0.31], [0.5, 0.25, 0.25],
                                                       [0.3, 0.3, 0.4]]),
     "chain.transition:", "row 0 sums to 1.01"),
    ("float just outside tolerance", _set("chain.transition", [
        [0.2, 0.5, 0.3 + 1e-10], [0.5, 0.25, 0.25], [0.3, 0.3, 0.4]]),
     "chain.transition:", "|sum - 1| > 1e-12 * 3"),
    ("negative entry", _set("chain.transition", [["-1/5", "7/10", "1/2"], ["1/2", "1/4", "1/4"],
                                                 ["3/10", "3/10", "2/5"]]),
     "chain.transition:", "entry [0][0] = -1/5 is negative"),
    ("slightly negative entry in a row summing to 1",
     _set("chain.transition", [["-1/10000", "10001/20000", "10001/20000"], ["1/2", "1/4", "1/4"],
                               ["3/10", "3/10", "2/5"]]),
     "chain.transition:", "entry [0][0] = -1/10000 is negative"),
    ("reducible", _set("chain.transition", [[1, 0, 0], ["1/2", "1/2", 0], [0, "1/2", "1/2"]]),
     "chain.transition:", "chain is reducible: state 1 cannot be reached from state 0"),
    ("periodic 3", _set("chain.transition", PERIODIC_3),
     "chain.transition:", "periodic with period 3"),
    ("periodic 2", _with(_set("chain.states", [[-1.0], [1.0]]),
                         _set("chain.transition", [[0, 1], [1, 0]])),
     "chain.transition:", "periodic with period 2"),
    ("empty states", _set("chain.states", []), "chain.states:", "must not be empty"),
    ("empty state row", _set("chain.states", [[], [1.0], [2.0]]),
     "chain.states:", "row 0 is empty"),
    ("ragged states", _set("chain.states", [[-1.0], [0.3, 1.0], [1.0]]),
     "chain.states:", "state 1 has 2 components but state 0 has 1"),
    ("state not a number", _set("chain.states", [["a"], [0.3], [1.0]]),
     "chain.states[0][0]:", "'a' is not a number"),
    ("state infinite", _set("chain.states", [[math.inf], [0.3], [1.0]]),
     "chain.states[0][0]:", "inf is not a finite number"),
    ("state nan", _set("chain.states", [[-1.0], [math.nan], [1.0]]),
     "chain.states[1][0]:", "nan is not a finite number"),
    ("state huge exponent string", _set("chain.states", [["1e999999999"], [0.3], [1.0]]),
     "chain.states[0][0]:", "is not a number"),
    ("state boolean", _set("chain.states", [[True], [0.3], [1.0]]),
     "chain.states[0][0]:", "expected a number, got boolean"),
    ("states not an array", _set("chain.states", "abc"), "chain.states:", "expected an array"),
    ("zero denominator", _set("chain.transition", [["1/0", "1/2", "1/2"], ["1/2", "1/4", "1/4"],
                                                   ["3/10", "3/10", "2/5"]]),
     "chain.transition[0][0]:", "is not a number"),
    ("initial wrong length", _set("chain.initial", ["1/2", "1/2"]),
     "chain.initial:", "has 2 entries, expected m = 3"),
    ("initial negative", _set("chain.initial", ["-1/2", 1, "1/2"]),
     "chain.initial:", "entry [0] = -1/2 is negative"),
    ("initial not summing to 1", _set("chain.initial", ["1/2", "1/2", "1/2"]),
     "chain.initial:", "sums to 3/2"),
    ("target unknown name", _set("target.expression", "tanh(y0)"),
     "target.expression:", "unknown name 'y0' at column 6"),
    ("target unknown function", _set("target.expression", "relu(x0)"),
     "target.expression:", "unknown function 'relu' at column 1"),
    ("target component out of range", _set("target.expression", "x0_2"),
     "target.expression:", "component 2 out of range 1..1"),
    ("target code", _set("target.expression", "__import__('os').system('true')"),
     "target.expression:", "unexpected character"),
    ("target not finite", _set("target.expression", "log(x0)"),
     "target.expression:", "(not finite) at x0 = state 0"),  # states -1, 0.3, 1: log(-1)
    ("target not a string", _set("target.expression", 5),
     "target.expression:", "expected a string"),
    ("negative noise", _set("target.noise_std", -0.1),
     "target.noise_std:", "must be finite and >= 0"),
    ("unknown activation", _set("network.activation", "relu"),
     "network.activation:", "unknown activation 'relu'"),
    ("beta below 1/2", _set("network.beta", 0.4), "network.beta:", "0.4 is outside [1/2, 1)"),
    ("beta 1", _set("network.beta", 1.0), "network.beta:", "1.0 is outside [1/2, 1)"),
    ("beta 1/2 without antisymmetric", _set("network.beta", 0.5),
     "network.beta:", "beta = 1/2 requires network.antisymmetric = true"),
    ("beta string", _set("network.beta", "0.75"), "network.beta:", "expected a number, got string"),
    ("antisymmetric not bool", _set("network.antisymmetric", "yes"),
     "network.antisymmetric:", "expected true or false"),
    ("unknown group", _set("network.trainable", ["c", "a"]),
     "network.trainable:", "unknown group 'a'"),
    ("duplicate group", _set("network.trainable", ["c", "w", "c"]),
     "network.trainable:", "group 'c' is listed twice"),
    ("empty trainable", _set("network.trainable", []),
     "network.trainable:", "must name at least one"),
    ("trainable not array", _set("network.trainable", "c"),
     "network.trainable:", "expected an array"),
    ("negative c_std", _set("init.c_std", -1.0), "init.c_std:", "-1.0 is negative"),
    ("negative w_std", _set("init.w_std", -0.5), "init.w_std:", "-0.5 is negative"),
    ("negative b_max", _set("init.b_max", -0.1), "init.b_max:", "-0.1 is negative"),
    ("nan b_max", _set("init.b_max", math.nan), "init.b_max:", "nan is not a finite number"),
    ("rho tanh", _set("init.b_max", 1.0), "init.b_max:", "rho = b_max * Lip(tanh)"),
    ("rho sigmoid", _with(_set("network.activation", "sigmoid"), _set("init.b_max", 4.0)),
     "init.b_max:", "= 1 >= 1"),
    ("rho erf", _with(_set("network.activation", "erf"), _set("init.b_max", 0.9)),
     "init.b_max:", "0.9 * 1.12838 = 1.01554 >= 1"),  # 2/sqrt(pi) = 1.128379
    ("alpha zero", _set("training.alpha", 0.0), "training.alpha:", "must be a finite number > 0"),
    ("alpha negative", _set("training.alpha", -1),
     "training.alpha:", "must be a finite number > 0"),
    ("alpha infinite", _set("training.alpha", math.inf), "training.alpha:", "not a finite number"),
    ("horizon zero", _set("training.horizon", 0), "training.horizon:", "> 0"),
    ("N zero", _set("run.N", 0), "run.N:", "0 must be >= 1"),
    ("N float", _set("run.N", 4000.0), "run.N:", "expected an integer, got float"),
    ("N string", _set("run.N", "4000"), "run.N:", "expected an integer, got string"),
    ("N boolean", _set("run.N", True), "run.N:", "expected an integer, got boolean"),
    ("N beyond 1e18", _set("run.N", 10**18 + 1), "run.N:", "is beyond 1e+18 (no run of that"),
    ("seed beyond 1e18", _set("run.seed", 10**18 + 2), "run.seed:", "is beyond 1e+18 (a seed"),
    ("replicas zero", _set("run.replicas", 0), "run.replicas:", "0 must be >= 1"),
    ("replicas boolean", _set("run.replicas", True),
     "run.replicas:", "expected an integer, got boolean"),
    ("seed negative", _set("run.seed", -1), "run.seed:", "-1 must be >= 0"),
    ("odd N antisymmetric", _with(_set("network.antisymmetric", True), _set("run.N", 4001)),
     "run.N:", "4001 is odd; antisymmetric initialisation needs an even N"),
    ("unknown backend", _set("run.backend", "gpu"), "run.backend:", "unknown backend 'gpu'"),
    ("word_length zero", _set("limit.word_length", 0), "limit.word_length:", "0 must be >= 1"),
    ("word_length boolean", _set("limit.word_length", True),
     "limit.word_length:", "expected an integer, got boolean"),
    ("word_length beyond 1e18", _set("limit.word_length", 10**18 + 1),
     "limit.word_length:", "is beyond 1e+18"),
    ("too many target windows", _set("target.expression", "x0 + x11"),
     "target.expression:", "uses lag 11: m^(q+1) = 3^12 input windows, at most 200000"),
    ("unknown table", _set("netwrk", {"beta": 0.75}), "netwrk:", "unknown table or key"),
    ("unknown key", _set("network.activaton", "tanh"),
     "network.activaton:", "unknown key (known keys: activation, beta"),
    ("top-level key", _set("N", 5), "N:", "unknown table or key"),
    ("derived key", _set("target.lag", 3),  # q is read off the expression, never given
     "target.lag:", "unknown key (known keys: expression, noise_std)"),
    ("table not a table", _set("run", 5), "run:", "must be a table [run]"),
    ("missing chain", _set("chain", DELETE), "chain:", "missing table"),
    ("missing expression", _set("target.expression", DELETE), "target.expression:", "missing"),
]


@pytest.mark.parametrize(("case", "mutate", "start", "fragment"), VALIDATION_ERRORS,
                         ids=[case[0] for case in VALIDATION_ERRORS])
def test_validation_errors(case, mutate, start, fragment):
    data = mutate(copy.deepcopy(default_dict()))
    for build in (config_from_dict, lambda d: parse_config(to_toml(d))):
        with pytest.raises(ConfigError) as info:
            build(data)
        message = str(info.value)
        assert message.startswith(start), message
        assert fragment in message, message
        assert "\n" not in message
        assert isinstance(info.value, InputError)


def test_validation_errors_are_not_raised_for_the_unmutated_default():
    """Positive control for the table above: the same builders accept the default."""
    assert config_from_dict(default_dict()) == parse_config(to_toml(default_dict()))


def test_rho_just_below_one_is_accepted():
    data = default_dict()
    data["network"]["activation"] = "sigmoid"
    data["init"]["b_max"] = 3.96
    assert contraction_rate(config_from_dict(data)) == pytest.approx(0.99)


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(str(tmp_path / "missing.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("[chain\nstates = 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(str(bad))
    assert str(info.value).startswith(f"{bad}: TOML syntax error")
    assert "\n" not in str(info.value)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(str(binary))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(str(tmp_path))  # a directory


def test_toml_level_non_finite():
    text = DEFAULT_CONFIG_TOML.replace("alpha = 1.0", "alpha = nan")
    with pytest.raises(ConfigError, match=r"^training\.alpha: nan is not a finite number$"):
        parse_config(text)


@pytest.mark.parametrize(
    ("overrides", "start", "fragment"),
    [
        ({"N": 0}, "run.N:", "must be >= 1"),
        ({"N": 4.0}, "run.N:", "expected an integer"),
        ({"replicas": 0}, "run.replicas:", "must be >= 1"),
        ({"seed": -3}, "run.seed:", "must be >= 0"),
        ({"seed": 2.5}, "run.seed:", "expected an integer"),
        ({"seed": True}, "run.seed:", "expected an integer"),
        ({"word_length": 3.0}, "limit.word_length:", "expected an integer"),
        ({"backend": "gpu"}, "run.backend:", "unknown backend"),
        ({"word_length": 0}, "limit.word_length:", "must be >= 1"),
    ],
)
def test_overrides_are_validated(overrides, start, fragment):
    with pytest.raises(ConfigError) as info:
        with_overrides(load_config(None), **overrides)
    assert str(info.value).startswith(start) and fragment in str(info.value)


def test_odd_N_override_with_antisymmetric():
    config = load_config(str(EXAMPLES / "antisymmetric_beta_half.toml"))
    assert with_overrides(config, N=10).run.N == 10
    with pytest.raises(ConfigError, match=r"^run\.N: 11 is odd"):
        with_overrides(config, N=11)


# ----------------------------------------------------------------------------- fuzzing


def _parse_or_config_error(text: str) -> None:
    try:
        parse_config(text)
    except ConfigError as err:
        assert "\n" not in str(err)


@given(st.text(max_size=200))
def test_fuzz_random_text(text):
    _parse_or_config_error(text)


@st.composite
def mutated_default_text(draw):
    text = DEFAULT_CONFIG_TOML
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "insert", "replace_line", "duplicate_line"]))
        position = draw(st.integers(0, len(text)))
        if kind == "delete":
            text = text[:position] + text[position + draw(st.integers(1, 20)):]
        elif kind == "insert":
            text = text[:position] + draw(st.text(max_size=12)) + text[position:]
        else:
            lines = text.splitlines()
            index = draw(st.integers(0, len(lines) - 1))
            if kind == "replace_line":
                lines[index] = draw(st.text(max_size=40))
            else:
                lines.insert(index, lines[index])
            text = "\n".join(lines)
    return text


@given(mutated_default_text())
def test_fuzz_mutated_default(text):
    _parse_or_config_error(text)


toml_scalars = st.one_of(
    st.booleans(), st.integers(-10**6, 10**6), st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.sampled_from(["1/3", "0.5", "1/0", "-0", "1e999", "x0", "tanh(x1)",
                                           "c", "w", "b", "numpy", "fast", "erf", "linear"]),
)
toml_values = st.recursive(toml_scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=12)


@given(st.data())
@settings(max_examples=60)
def test_fuzz_structural_mutations(data):
    """Replace a random leaf (or add a random key) of the default dict with a random value."""
    config = default_dict()
    table = data.draw(st.sampled_from(sorted(config) + ["extra"]))
    keys = sorted(config.get(table, {})) + ["extra_key"]
    key = data.draw(st.sampled_from(keys))
    value = data.draw(toml_values)
    config.setdefault(table, {})[key] = value
    try:
        config_from_dict(config)
    except ConfigError as err:
        assert "\n" not in str(err)
    _parse_or_config_error(to_toml(config))


@given(st.lists(st.lists(st.fractions(min_value=0, max_value=1, max_denominator=12),
                         min_size=3, max_size=3), min_size=3, max_size=3))
def test_fuzz_transition_matrices(rows):
    """Random exact rows: accepted iff exactly stochastic, irreducible and aperiodic; any
    rejection is a one-line chain.transition error."""
    data = default_dict()
    data["chain"]["transition"] = [[str(x) for x in row] for row in rows]
    try:
        config = config_from_dict(data)
    except ConfigError as err:
        assert str(err).startswith("chain.transition:")
        return
    assert all(sum(row) == 1 for row in config.chain.transition)
    P = transition_matrix_exact(config.chain)
    assert all(x > 0 for x in P**5)  # primitive 3x3: P^((m-1)^2+1) > 0 (Wielandt)
