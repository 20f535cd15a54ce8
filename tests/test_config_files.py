"""Configuration layers: a partial file merged over the built-in default (and which values came
from it), ``--set table.key=value`` validated like the file, the effective configuration as
TOML (``rnnkl config``), and the command line's help, version and one-line errors."""

from __future__ import annotations

import argparse
import copy
import math
import sys

import pytest

from derivations.inputs.config import (
    DEFAULT_CONFIG_TOML,
    ConfigError,
    config_from_dict,
    load_config,
    parse_config,
)
from derivations.inputs.files import (
    DEFAULT_SOURCE,
    config_to_toml,
    load_layers,
    parse_assignment,
    provenance_note,
)
from proofs_check.cli import build_parser, command_parsers, main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_TABLES = tomllib.loads(DEFAULT_CONFIG_TOML)


def _default_with(**changes: dict) -> dict:
    data = copy.deepcopy(DEFAULT_TABLES)
    for table, values in changes.items():
        data.setdefault(table, {}).update(values)
    return data


def _write(tmp_path, text: str) -> str:
    path = tmp_path / "partial.toml"
    path.write_text(text)
    return str(path)


def test_partial_file_is_merged_over_the_default(tmp_path):
    loaded = load_layers(_write(tmp_path, "[network]\nbeta = 0.6\n"))
    assert loaded.config == config_from_dict(_default_with(network={"beta": 0.6}))
    every_field = {f"{t}.{k}" for t, keys in DEFAULT_TABLES.items() for k in keys}
    assert set(loaded.from_default) == every_field - {"network.beta"}
    note = provenance_note(loaded)
    assert "from the built-in default:" in note and "network.beta" not in note


def test_no_file_is_the_default_and_says_so():
    loaded = load_layers(None)
    assert loaded.source == DEFAULT_SOURCE and loaded.assigned == ()
    assert loaded.config == parse_config(DEFAULT_CONFIG_TOML)
    assert provenance_note(loaded) == "the built-in default configuration"


def test_a_chain_is_given_whole(tmp_path):
    with pytest.raises(ConfigError, match=r"^chain.transition: missing: chain.states and "
                       r"chain.transition go together"):
        load_layers(_write(tmp_path, "[chain]\nstates = [[0.0], [1.0]]\n"))
    with pytest.raises(ConfigError, match=r"^chain.states: missing: chain.transition and "
                       r"chain.states go together"):
        load_layers(_write(tmp_path, '[chain]\ntransition = [["1/2", "1/2"], [1, 0]]\n'))
    two_state = '[chain]\nstates = [[0.0], [1.0]]\ntransition = [["1/2", "1/2"], [1, 0]]\n'
    loaded = load_layers(_write(tmp_path, two_state))
    assert loaded.config.chain.m == 2 and "chain.states" not in loaded.from_default


def test_a_bad_value_from_the_default_says_where_it_came_from(tmp_path):
    # d = 2 states: the default target "tanh(2*x0*x1 + x0)" is not valid for d = 2
    text = '[chain]\nstates = [[0.0, 1.0], [1.0, 0.0]]\ntransition = [["1/2", "1/2"], [1, 0]]\n'
    with pytest.raises(ConfigError) as info:
        load_layers(_write(tmp_path, text))
    message = str(info.value)
    assert message.startswith("target.expression:") and "built-in default" in message
    assert "\n" not in message
    fixed = load_layers(_write(tmp_path, text), ["target.expression=x0_1 + x1_2"])
    assert fixed.config.target.expression == "x0_1 + x1_2"


@pytest.mark.parametrize(("text", "expected"), [
    ("network.beta=0.6", ("network", "beta", 0.6)),
    ("run.N=100", ("run", "N", 100)),
    ("network.antisymmetric=true", ("network", "antisymmetric", True)),
    ("network.activation=erf", ("network", "activation", "erf")),
    ('network.activation="erf"', ("network", "activation", "erf")),
    ("target.expression=tanh(x0) + x1", ("target", "expression", "tanh(x0) + x1")),
    ('network.trainable=["c", "w"]', ("network", "trainable", ["c", "w"])),
    (' init.b_max = 0.25 ', ("init", "b_max", 0.25)),
    (' network.activation =  erf ', ("network", "activation", "erf")),  # a bare string, trimmed
    ("target.expression= 0.5 ", ("target", "expression", "0.5")),
])
def test_assignments_are_read_as_toml_values(text, expected):
    assert parse_assignment(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("target.expression=0.5", "0.5"),  # the constant target, as expression = "0.5" in a file
    ("target.expression=0.50", "0.50"),  # the text as typed, not the float's repr
    ("target.expression=0", "0"),
    ("target.expression=1e3", "1e3"),
    ("network.activation=1", "1"),  # then refused by the activation's own check
    ('target.expression="0.5"', "0.5"),
    ("target.expression=1979-05-27", "1979-05-27"),  # a TOML date; as arithmetic, 1947
])
def test_a_string_field_takes_a_bare_number_as_typed(text, expected):
    """Before, --set target.expression=0.5 failed with "expected a string, got float"."""
    table, key, value = parse_assignment(text)
    assert value == expected and isinstance(value, str)


def test_string_keys_are_the_schemas_string_fields():
    from derivations.inputs.schema import STRING_KEYS

    assert STRING_KEYS == {"target.expression", "network.activation", "run.backend"}


def test_a_constant_target_from_the_command_line_loads():
    loaded = load_layers(None, ["target.expression=0.5"])
    assert loaded.config.target.expression == "0.5" and loaded.config.target.lag == 0


@pytest.mark.parametrize(("text", "fragment"), [
    ("beta=0.6", "expected table.key=value"),
    ("network.beta", "expected table.key=value"),
    ("netwrk.beta=0.6", "netwrk: unknown table"),
    ("network.bta=0.6", "network.bta: unknown key"),
    ("target.lag=3", "target.lag: unknown key (known keys: expression, noise_std)"),
    ("network.beta=0.6\n[run]\nN = 1", "one line"),
    ("network.activation=erf\rx", "one line"),
    ("network.activation=erf\x00", "one line"),
    ("network.beta=" + "9" * 20_000, "longer than"),
])
def test_bad_assignments_are_one_line_errors(text, fragment):
    with pytest.raises(ConfigError) as info:
        parse_assignment(text)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_assignments_are_validated_like_the_file(tmp_path):
    with pytest.raises(ConfigError) as from_set:
        load_layers(None, ["network.beta=1.5"])
    with pytest.raises(ConfigError) as from_file:
        load_layers(_write(tmp_path, "[network]\nbeta = 1.5\n"))
    assert str(from_set.value) == str(from_file.value) == "network.beta: 1.5 is outside [1/2, 1)"
    with pytest.raises(ConfigError, match="run.N: expected an integer, got string"):
        load_layers(None, ["run.N=many"])
    last = load_layers(None, ["run.N=10", "run.N=12"])
    assert last.config.run.N == 12 and last.assigned == ("run.N",)
    assert "run.N" not in last.from_default


def test_set_does_not_hide_a_file_table_that_is_not_a_table(tmp_path):
    """A file's ``run = 5`` is refused as in a file of its own, with or without ``--set run.N``
    (which used to replace the bad value by a table of schema defaults, silently)."""
    path = _write(tmp_path, "run = 5\n")
    for assignments in ([], ["run.N=100"]):
        with pytest.raises(ConfigError, match=r"^run: must be a table \[run\], got integer$"):
            load_layers(path, assignments)


@pytest.mark.parametrize("example", ["antisymmetric_beta_half", "erf_no_recurrence",
                                     "linear_two_state", None])
def test_effective_toml_reads_back_to_the_same_config(example):
    path = None if example is None else f"examples/{example}.toml"
    config = load_config(path)
    text = config_to_toml(config)
    assert parse_config(text) == config
    assert set(tomllib.loads(text)) == set(DEFAULT_TABLES)


def test_rnnkl_config_prints_the_effective_configuration(capsys, tmp_path):
    assert main(["config", "--set", "network.beta=0.6", "--set", "run.N=64"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# effective configuration: the built-in default configuration; "
                           "set on the command line: network.beta, run.N")
    assert parse_config(text) == load_config(None, ["network.beta=0.6", "run.N=64"])
    assert main(["config", "--show-default"]) == 0
    assert capsys.readouterr().out == DEFAULT_CONFIG_TOML
    assert main(["config", "--config", _write(tmp_path, "[init]\nb_max = 0.25\n")]) == 0
    text = capsys.readouterr().out
    assert "from the built-in default: chain.states" in text.splitlines()[0]
    assert parse_config(text).init.b_max == 0.25


@pytest.mark.parametrize(("extra", "named"), [
    (["--set", "network.beta=0.6"], "no --set"),
    (["--config", "x.toml"], "no --config"),
    (["--config", "x.toml", "--set", "network.beta=0.6"], "no --config or --set"),
])
def test_show_default_refuses_the_flags_it_would_ignore(capsys, extra, named):
    """`rnnkl config --show-default --set network.beta=0.6` printed the default, beta 0.75,
    without a word; the file is not even read (x.toml need not exist)."""
    assert main(["config", "--show-default", *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and named in captured.err


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    return command_parsers(build_parser())


def test_every_flag_has_help_with_its_default():
    commands = _subcommands()
    assert {"simulate", "derive", "equations", "poisson", "limit", "report", "config"} <= set(
        commands)
    for name, sub in commands.items():
        for action in sub._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
                continue
            text = action.help or ""
            assert text, (name, action.option_strings)
            assert "default" in text or action.required, (name, action.option_strings, text)
    for name in ("simulate", "report"):
        assert any("--backend" in a.option_strings for a in commands[name]._actions)
    for name in ("simulate", "poisson", "limit", "report", "config"):
        assert any("--set" in a.option_strings for a in commands[name]._actions), name


@pytest.mark.parametrize("argv", [["--version"], ["report", "--version"],
                                  ["simulate", "--version"], ["config", "--version"]])
def test_version_everywhere(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("rnnkl ")


def test_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["report", "--budgt", "quick"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unrecognized arguments: --budgt" in err


def test_set_applies_on_commands(tmp_path, capsys):
    import json

    out = tmp_path / "sim.json"
    assert main(["simulate", "--set", "run.N=16", "--set", "run.replicas=1",
                 "--set", "training.horizon=0.5", "--out", str(out), "--no-progress"]) == 0
    doc = json.loads(out.read_text())
    assert doc["N"] == 16 and doc["steps"] == 8 and len(doc["replicas"]) == 1
    capsys.readouterr()  # a cold numba cache says "compiling the fast kernels" here
    assert main(["simulate", "--set", "run.N=0"]) == 2
    assert capsys.readouterr().err.strip() == "rnnkl: error: run.N: 0 must be >= 1"


@pytest.mark.parametrize(("field", "reason"), [
    ("run.N", "no run of that size is possible"),
    ("run.replicas", "no run of that size is possible"),
    ("run.seed", "a seed is an integer in [0, 1e18]"),  # not "no run of that size"
])
def test_an_integer_beyond_1e18_is_refused_with_its_own_reason(field, reason):
    with pytest.raises(ConfigError) as info:
        load_layers(None, [f"{field}=99999999999999999999"])
    message = str(info.value)
    assert message.startswith(f"{field}: ") and reason in message and "\n" not in message


@pytest.mark.parametrize(("number", "read_as"), [
    ("1e400", "inf"), ("-2.5E+999", "-inf"), ("1e-400", "0.0"), ("-1e-400", "-0.0"),
    ("1_0e-400", "0.0"), ("0." + "0" * 400 + "1", "0.0"),
])
def test_a_float_beyond_double_precision_is_refused_as_such(number, read_as, tmp_path):
    """TOML reads 1e-400 as 0.0 and 1e400 as inf; the user typed neither. Refused with the
    number typed and what it would become, from the command line (naming the field) and from
    a file (naming the file)."""
    with pytest.raises(ConfigError) as from_set:
        load_layers(None, [f"training.alpha={number}"])
    message = str(from_set.value)
    assert message.startswith("training.alpha: the number ") and "\n" not in message
    assert f"beyond double precision (it would be read as {read_as})" in message
    path = _write(tmp_path, f"[chain]\nstates = [[{number}], [1.0]]\n")
    with pytest.raises(ConfigError) as from_file:
        load_layers(path)
    assert str(from_file.value).startswith(f"{path}: the number ")
    assert "beyond double precision" in str(from_file.value)


@pytest.mark.parametrize("number", ["0.0", "-0.0", "0e-400", "5e-324", "1.7976931348623157e308",
                                    "inf", "-inf", "nan"])
def test_floats_double_precision_holds_are_read_as_typed(number):
    """Zero, the smallest subnormal, the largest double and TOML's inf and nan are read as
    typed (validation then judges them: alpha = 0 is refused for its own reason)."""
    _, _, value = parse_assignment(f"training.alpha={number}")
    expected = float(number)
    assert value == expected or (math.isnan(value) and math.isnan(expected))


def test_a_chain_table_with_only_the_initial_law_keeps_the_default_chain(tmp_path):
    """A [chain] table giving neither states nor transition (only where the chain starts) uses
    the default chain, as the pair's own message says ("give both, or neither to use the
    default chain"); it was refused with "chain.states: missing (required)"."""
    loaded = load_layers(_write(tmp_path, '[chain]\ninitial = ["1", "0", "0"]\n'))
    default = config_from_dict(_default_with())
    assert loaded.config.chain.states == default.chain.states
    assert loaded.config.chain.transition == default.chain.transition
    assert loaded.config.chain.initial is not None
    assert loaded.config.chain.initial != default.chain.initial
    assert {"chain.states", "chain.transition"} <= set(loaded.from_default)
    assert "chain.initial" not in loaded.from_default
    # the same through --set, which always started from the default chain
    assert load_layers(None, ['chain.initial=["1", "0", "0"]']).config == loaded.config
