"""``rnnkl poisson`` (theory.md §5): exact strings for a chain solved by hand, float mode, word
chain mode, non-rational functions, and bad input (exit 2, one line, no traceback)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from proofs_check.cli import main

EPS = np.finfo(float).eps

# P = [[1/2, 1/2], [1/4, 3/4]] (p = 1/2, q = 1/4), states xi_1 = 1, xi_2 = 0, so F = x0 takes
# the values (1, 0). Solved by hand:
#   pi = (q, p)/(p + q) = (1/3, 2/3);  pi F = 1/3;  F~ = (2/3, -1/3)
#   (I - P) u = F~:  u1/2 - u2/2 = 2/3,  with pi u = u1/3 + 2 u2/3 = 0  =>  u1 = -2 u2,
#   -3 u2 / 2 = 2/3  =>  u2 = -4/9,  u1 = 8/9
#   sigma^2 = 2 pi(F~ u) - pi(F~^2) = 2 (1/3 * 2/3 * 8/9 + 2/3 * (-1/3) * (-4/9))
#             - (1/3 * 4/9 + 2/3 * 1/9) = 2 * 24/81 - 18/81 = 30/81 = 10/27.
TWO_STATE_TOML = """
[chain]
states = [[1], [0]]
transition = [["1/2", "1/2"], ["1/4", "3/4"]]

[target]
expression = "x0"

[network]
activation = "linear"

[limit]
word_length = 2
"""

FLOAT_CHAIN_TOML = """
[chain]
states = [[1.0], [0.0]]
transition = [[0.5, 0.5], [0.25, 0.75]]

[target]
expression = "x0"

[network]
activation = "linear"

[limit]
word_length = 2
"""

TWO_DIM_TOML = """
[chain]
states = [[1, 0], [0, 1]]
transition = [["1/2", "1/2"], ["1/4", "3/4"]]

[target]
expression = "x0_1"

[network]
activation = "linear"

[limit]
word_length = 2
"""


@pytest.fixture
def config_file(tmp_path):
    def write(text: str) -> str:
        path = tmp_path / "config.toml"
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


def _run(tmp_path, *args: str) -> tuple[int, dict | None]:
    out = tmp_path / "out.json"
    code = main(["poisson", *args, "--out", str(out)])
    document = json.loads(out.read_text()) if code == 0 else None
    return code, document


def test_exact_strings_for_hand_solved_chain(tmp_path, config_file):
    code, doc = _run(
        tmp_path, "--config", config_file(TWO_STATE_TOML), "--function", "x0", "--exact"
    )
    assert code == 0
    assert doc["exact"] is True
    assert doc["pi"] == ["1/3", "2/3"]
    assert doc["F"] == ["1", "0"]
    assert doc["mean"] == "1/3"
    assert doc["u"] == ["8/9", "-4/9"]
    assert doc["asymptotic_variance"] == "10/27"
    # floats of the exact values, correctly rounded
    assert doc["float"]["u"] == [8 / 9, -4 / 9]
    assert doc["float"]["asymptotic_variance"] == 10 / 27


def test_exact_values_beyond_double_precision_have_null_floats(tmp_path, config_file):
    """F = 1e200 x0 on the hand-solved chain: u = 1e200 (8/9, -4/9) fits a double, the variance
    1e400 * 10/27 does not; the exact strings carry it and its float copy is null."""
    code, doc = _run(
        tmp_path, "--config", config_file(TWO_STATE_TOML), "--function", "1e200*x0", "--exact"
    )
    assert code == 0
    assert doc["asymptotic_variance"] == str(sp.Rational(10, 27) * sp.Integer(10) ** 400)
    assert doc["float"]["asymptotic_variance"] is None
    assert doc["float"]["u"] == [float(sp.Rational(8, 9) * sp.Integer(10) ** 200),
                                 float(sp.Rational(-4, 9) * sp.Integer(10) ** 200)]


def test_exact_affine_function(tmp_path, config_file):
    """F = 3 x0 + 1 = (4, 1) = 3 (1, 0) + 1: u scales by 3 (the constant is centred away),
    sigma^2 by 9: u = (8/3, -4/3), sigma^2 = 90/27 = 10/3, mean = 4/3 + 2/3 = 2."""
    code, doc = _run(
        tmp_path, "--config", config_file(TWO_STATE_TOML), "--function", "3*x0 + 1", "--exact"
    )
    assert code == 0
    assert doc["u"] == ["8/3", "-4/3"]
    assert doc["asymptotic_variance"] == "10/3"
    assert doc["mean"] == "2"


def test_exact_vector_states(tmp_path, config_file):
    """d = 2, states e1, e2: F = x0_1 - 2 x0_2 = (1, -2) = 3 (1, 0) - 2: u = (8/3, -4/3)."""
    code, doc = _run(
        tmp_path, "--config", config_file(TWO_DIM_TOML), "--function", "x0_1 - 2*x0_2", "--exact"
    )
    assert code == 0
    assert doc["F"] == ["1", "-2"]
    assert doc["u"] == ["8/3", "-4/3"]


def test_exact_non_rational_function(tmp_path, config_file):
    """F = tanh(x0) = (tanh(1), 0) = tanh(1) (1, 0): u = tanh(1) (8/9, -4/9) and
    sigma^2 = tanh(1)^2 10/27, kept exact as SymPy strings, with floats alongside."""
    code, doc = _run(
        tmp_path, "--config", config_file(TWO_STATE_TOML), "--function", "tanh(x0)", "--exact"
    )
    assert code == 0
    t = sp.tanh(1)
    assert doc["u"] == [str(sp.Rational(8, 9) * t), str(sp.Rational(-4, 9) * t)]
    assert doc["asymptotic_variance"] == str(sp.Rational(10, 27) * t**2)
    # floats: evaluated at 30 digits then rounded, vs math.tanh (<= 1 ulp) times 8/9 (<= 1 ulp)
    assert math.isclose(doc["float"]["u"][0], 8 / 9 * math.tanh(1), rel_tol=4 * EPS)
    assert math.isclose(
        doc["float"]["asymptotic_variance"], 10 / 27 * math.tanh(1) ** 2, rel_tol=8 * EPS
    )


def test_float_mode(tmp_path, config_file):
    """Double precision on the float chain. Error bound (numerics.poisson_float.residual_bound,
    forward error through Z): ||Z||_inf eps (9m + 2(m+2)) (max|u| + max|F~|) with
    Z = [[11/9, -2/9], [-1/9, 10/9]] (||Z||_inf = 13/9), m = 2, max|u| = 8/9, max|F~| = 2/3;
    P's entries and F are exact in binary, and the GTH pi is within ~m eps of (1/3, 2/3)."""
    code, doc = _run(tmp_path, "--config", config_file(FLOAT_CHAIN_TOML), "--function", "x0")
    assert code == 0
    assert doc["exact"] is False
    bound = 13 / 9 * EPS * (9 * 2 + 2 * 4) * (8 / 9 + 2 / 3)
    assert np.allclose(doc["pi"], [1 / 3, 2 / 3], rtol=0, atol=4 * EPS)
    assert np.allclose(doc["u"], [8 / 9, -4 / 9], rtol=0, atol=bound)
    assert abs(doc["asymptotic_variance"] - 10 / 27) <= 4 * bound


def test_exact_mode_needs_exact_chain(tmp_path, config_file, capsys):
    code, _ = _run(
        tmp_path, "--config", config_file(FLOAT_CHAIN_TOML), "--function", "x0", "--exact"
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "--exact needs an exact chain" in err
    assert err.count("\n") == 1


def test_word_length_mode_exact(tmp_path, config_file):
    """L = 2, words oldest first: (0,0), (0,1), (1,0), (1,1); x0 = the last (most recent)
    symbol, x1 the first. With g = (1, 0) the state values, F = x0 - x1 = g(w2) - g(w1)
    = (0, -1, 1, 0).  pi_L(w) = pi(w1) P(w1, w2) = (1/6, 1/6, 1/6, 1/2).
    By hand: F(W_k) = g(Z_k) - g(Z_{k-1}) telescopes, so u(w) = sum_k E[F(W_k) | W_0 = w]
    = pi(g) - g(w1) = 1/3 - g(w1) = (-2/3, -2/3, 1/3, 1/3) (and pi_L u = 0), and the
    asymptotic variance is 0 (S_n = g(Z_{n-1}) - g(Z_{-1}) is bounded):
    2 pi(F u) - pi(F^2) = 2 (1/9 + 1/18) - (1/6 + 1/6) = 0."""
    code, doc = _run(
        tmp_path,
        "--config",
        config_file(TWO_STATE_TOML),
        "--function",
        "x0 - x1",
        "--word-length",
        "2",
        "--exact",
    )
    assert code == 0
    assert doc["words"] == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert doc["word_length"] == 2
    assert doc["pi"] == ["1/6", "1/6", "1/6", "1/2"]
    assert doc["F"] == ["0", "-1", "1", "0"]
    assert doc["u"] == ["-2/3", "-2/3", "1/3", "1/3"]
    assert doc["asymptotic_variance"] == "0"


def test_word_length_mode_float_lifts_base_chain(tmp_path, config_file):
    """A function of x0 only, on words of length 3, has u(w) = u_base(last symbol)."""
    code, doc = _run(
        tmp_path,
        "--config",
        config_file(FLOAT_CHAIN_TOML),
        "--function",
        "x0",
        "--word-length",
        "3",
    )
    assert code == 0
    assert len(doc["words"]) == 8
    expected = [8 / 9 if w[-1] == 0 else -4 / 9 for w in doc["words"]]
    # error bound as in test_float_mode, with m = 8 words and ||Z_L||_inf <= 4 (the word
    # chain forgets its first L-1 symbols in L-1 steps: ||Z_L|| <= L - 1 + ||Z||)
    bound = 4 * EPS * (9 * 8 + 2 * 10) * (8 / 9 + 2 / 3)
    assert np.allclose(doc["u"], expected, rtol=0, atol=bound)


def test_default_config_float_mode_matches_numerics(tmp_path):
    from derivations.inputs.config import load_config, states_array, transition_matrix
    from numerics.poisson_float import poisson_solve

    code, doc = _run(tmp_path, "--function", "x0**2")
    assert code == 0
    config = load_config(None)
    F = states_array(config.chain)[:, 0] ** 2
    reference = poisson_solve(transition_matrix(config.chain), F)
    assert doc["u"] == reference.u.tolist()  # same algorithm: bit-identical
    assert doc["states"] == 3


@pytest.mark.parametrize(
    "function,extra,message",
    [
        ("foo(x0)", [], "unknown function"),
        ("x0 +", [], "--function"),
        ("__import__('os').system('true')", [], "--function"),
        ("x1", [], "need --word-length"),
        ("x2", ["--word-length", "2"], "exceeds"),
        ("log(x0)", [], "not finite"),
        ("log(x0)", ["--exact"], "not a finite real number"),
        ("x0", ["--word-length", "20"], "too many"),
        # the variance is quadratic in F: 1e200^2 overflows a double (was an internal error)
        ("1e200*x0", [], "overflow double precision"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, config_file, capsys, function, extra, message):
    code, _ = _run(
        tmp_path, "--config", config_file(TWO_STATE_TOML), "--function", function, *extra
    )
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "function,extra,names",
    [("", [], None), ("pi", [], "variables are x0;"), ("y", ["--word-length", "2"], "x0, x1, ...")],
)
def test_word_length_hint_only_for_a_lag(tmp_path, config_file, capsys, function, extra, names):
    """The "--word-length" hint belongs to a lag the states cannot give, not to every error
    (an empty expression once read "empty expression (lags x1, x2, ... need --word-length L)"),
    and an unknown name lists the variables this call allows: x0 alone on the states."""
    code, _ = _run(
        tmp_path, "--config", config_file(TWO_STATE_TOML), "--function", function, *extra
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "--word-length" not in err
    if names is not None:
        assert names in err


def test_console_script_bad_expression(tmp_path, config_file):
    """Through a real process: exit status 2, one stderr line, nothing on stdout."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "proofs_check",
            "poisson",
            "--config",
            config_file(TWO_STATE_TOML),
            "--function",
            "x0 ** ** 2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_stdout_output(capsys, config_file):
    code = main(["poisson", "--config", config_file(TWO_STATE_TOML), "--function", "x0", "--exact"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["u"] == ["8/9", "-4/9"]


@pytest.mark.parametrize("length", ["1000000000000", "10000"])
def test_huge_word_length_is_refused_at_once_with_a_short_line(length, capsys):
    """The word count m^L is compared by logarithms, never evaluated (it would hang or print
    thousands of digits)."""
    import time

    start = time.monotonic()
    assert main(["poisson", "--function", "x0", "--word-length", length]) == 2
    assert time.monotonic() - start < 10
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < 200 and "L <= 7" in err


def test_a_function_near_the_double_limit_is_one_line_not_an_internal_error(capsys):
    """Found by tests/test_fuzz_cli.py: on the default chain F = 1e308 leaves rounding residues
    of order 1e292 in F - pi F, whose squares overflow; the float path says so in one line."""
    assert main(["poisson", "--function", "1e308"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "overflow double precision" in err and "--exact" in err


# an alarm that lands in hypothesis' garbage-collector callback (registered for the whole test
# session) is ignored there and reported by pytest as an unraisable exception; the repeated
# alarm of derivations.errors.call_with_time_limit then stops the solve, which is what is tested
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_time_limit_is_one_line_wherever_the_alarm_lands(tmp_path, config_file, capsys):
    """Limits from 1 us to 30 ms put the first alarm everywhere in the exact solve, from
    before it starts to after it ends: each run either finishes (exit 0) or stops with the
    time-limit line (exit 2), never another exit code or a traceback. At 1e-9 s the alarm
    fired before the guard's ``try`` and leaked _TimeLimitExceeded (a traceback)."""
    path = config_file(TWO_STATE_TOML)
    codes = set()
    for seconds in np.geomspace(1e-6, 3e-2, 24):
        code, _ = _run(tmp_path, "--config", path, "--function", "x0_1*x1_1", "--exact",
                       "--word-length", "2", "--time-limit", repr(float(seconds)))
        err = capsys.readouterr().err
        codes.add(code)
        assert code in (0, 2)
        assert "Traceback" not in err
        if code == 2:
            assert "ran past its time limit" in err and err.count("\n") == 1
    assert 2 in codes  # the smallest limit does stop the solve
    code, _ = _run(tmp_path, "--config", path, "--function", "x0_1*x1_1", "--exact",
                   "--word-length", "2", "--time-limit", "0")  # 0: no limit
    assert code == 0


@pytest.mark.parametrize(("text", "expected"), [
    ("1e-400", True), ("-2.5e-330", True), ("0.00001e-320", True), ("1_0e-400", True),
    ("0e-400", False), ("0.0", False), ("-0.0", False), ("1e-300", False), ("5e-324", False),
    ("inf", False), ("nan", False), ("abc", False), ("", False),
])
def test_reads_as_zero(text, expected):
    """The one rule for a typed nonzero number whose double is 0.0 (derivations.errors)."""
    from derivations.errors import reads_as_zero

    assert reads_as_zero(text) is expected
