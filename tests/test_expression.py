"""The whitelisting expression parser (derivations/inputs/expression.py): grammar, variables, exact
literals, errors with their column, no code execution, and to_sympy vs evaluate agreement."""

from __future__ import annotations

import ast
import builtins
import pathlib

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import derivations.inputs.config as config_module
import derivations.inputs.expression as expression_module
import derivations.inputs.expression_eval as expression_eval_module
import derivations.inputs.expression_parser as expression_parser_module
import derivations.inputs.fields as fields_module
import derivations.inputs.files as files_module
import derivations.inputs.schema as schema_module
import derivations.inputs.validation as validation_module
from derivations.errors import InputError
from derivations.inputs.exact_evaluation import ExactSizeError
from derivations.inputs.expression import (
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    ExpressionError,
)
from derivations.inputs.expression_eval import evaluate, to_sympy, variable_symbol
from derivations.inputs.expression_parser import parse_expression

X0, X1, X2 = (sympy.Symbol(f"x{j}", real=True) for j in range(3))


def _sym(text: str, dimension: int = 1) -> sympy.Expr:
    return to_sympy(parse_expression(text, dimension))


# ----------------------------------------------------------------------------- grammar


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tanh(2*x0*x1 + x0)", sympy.tanh(2 * X0 * X1 + X0)),
        ("-x0**2", -(X0**2)),  # unary minus binds looser than **
        ("2**3**2", sympy.Integer(512)),  # right-associative: 2**(3**2)
        ("(2**3)**2", sympy.Integer(64)),
        ("2**-1", sympy.Rational(1, 2)),
        ("x0 - x1 - x2", X0 - X1 - X2),  # left-associative
        ("x0/x1/x2", X0 / (X1 * X2)),
        ("x0 - -x1", X0 + X1),
        ("+x0", X0),
        ("1 + 2*3", sympy.Integer(7)),
        ("(1 + 2)*3", sympy.Integer(9)),
        ("0.1", sympy.Rational(1, 10)),  # exact decimal, not the double 0.1
        ("1e-3", sympy.Rational(1, 1000)),
        (".5E+2", sympy.Integer(50)),
        ("3.", sympy.Integer(3)),
        ("2.*x0", 2 * X0),  # a trailing dot followed by an operator: the literal ends at the dot
        ("1.+.5", sympy.Rational(3, 2)),
        ("sigmoid(x0)", 1 / (1 + sympy.exp(-X0))),
        ("abs(x0)", sympy.Abs(X0)),
        ("erf(x0) + sqrt(x1) + log(x2)", sympy.erf(X0) + sympy.sqrt(X1) + sympy.log(X2)),
        ("sin(x0)*cos(x0)/tan(x1) + exp(x0)", sympy.sin(X0) * sympy.cos(X0) / sympy.tan(X1)
         + sympy.exp(X0)),
        (" \tx0\n+\r1 ", X0 + 1),
        ("x0_1", X0),  # d == 1 also accepts the component form
    ],
)
def test_parse_to_sympy(text, expected):
    assert sympy.simplify(_sym(text) - expected) == 0
    assert _sym(text) == expected  # structurally identical, not just equal after simplify


def test_literals_are_exact_rationals():
    value = _sym("0.1 + 0.2")
    assert value == sympy.Rational(3, 10)
    assert isinstance(value, sympy.Rational)


def test_vector_variables_and_lags():
    expr = parse_expression("x0_1 * x1_2 + exp(x3_1)", 2)
    assert expr.max_lag == 3
    symbols = {s.name for s in to_sympy(expr).free_symbols}
    assert symbols == {"x0_1", "x1_2", "x3_1"}
    assert all(s.is_real for s in to_sympy(expr).free_symbols)
    assert variable_symbol(1, 2, 2) == sympy.Symbol("x1_2", real=True)
    in_exponent = parse_expression("x0 + 2**(x3 * x1)", 1)  # a lag read only in an exponent
    assert in_exponent.max_lag == 3
    assert {s.name for s in to_sympy(in_exponent).free_symbols} == {"x0", "x1", "x3"}
    assert variable_symbol(4, 1, 1) == sympy.Symbol("x4", real=True)
    assert parse_expression("2", 3).max_lag == 0


def test_max_lag_limit():
    assert parse_expression("x2", 1, max_lag=2).max_lag == 2
    # Expression.max_lag is the largest lag *used*, not the largest allowed
    assert parse_expression("x0 + x1", 1, max_lag=5).max_lag == 1
    assert parse_expression("2", 2, max_lag=5).max_lag == 0
    with pytest.raises(ExpressionError, match="lag 3 exceeds the maximum 2"):
        parse_expression("x0 + x3", 1, max_lag=2)


def test_expression_error_is_input_error():
    assert issubclass(ExpressionError, InputError)


# ----------------------------------------------------------------------------- errors

ERRORS = [
    ("", 1, "empty expression"),
    ("   ", 1, "empty expression"),
    ("x", 1, "unknown name 'x' at column 1"),
    ("x0 + y", 1, "unknown name 'y' at column 6"),
    ("pi", 1, "unknown name 'pi'"),
    ("foo(x0)", 1, "unknown function 'foo' at column 1"),
    ("sinh(x0)", 1, "unknown function 'sinh'"),
    ("sin", 1, "function 'sin' at column 1 must be called"),
    ("sin(x0, x1)", 1, "exactly one argument: unexpected ',' at column 7"),
    ("sin()", 1, "takes exactly one argument, got none at column 5"),
    ("x0^2", 1, "unexpected character '^' at column 3 (use ** for powers)"),
    ("x0 % 2", 1, "unexpected character '%' at column 4"),
    ("(x0", 1, "expected ')' to close '(' at column 1, found end of input at column 4"),
    ("x0)", 1, "unmatched ')' at column 3"),
    ("2x0", 1, "expected an operator, found 'x0' at column 2"),
    ("x0 x1", 1, "expected an operator, found 'x1' at column 4"),
    ("x0 +", 1, "found end of input at column 5"),
    ("* x0", 1, "found '*' at column 1"),
    ("x0 ** ** 2", 1, "found '**' at column 7"),
    ("x0_2", 1, "component 2 out of range 1..1"),
    ("x0_3", 2, "component 3 out of range 1..2"),
    ("x0", 2, "needs a component"),
    # a variable's shape with an index no variable has (was "unknown name 'x999999999999'
    # (variables are x0, x1, ...)", a list its own text seemed to belong to)
    ("x01", 1, "variable 'x01' at column 1: an index must be a number of at most 9 digits "
     "without leading zeros, components from 1"),
    ("x0_0", 1, "variable 'x0_0' at column 1: an index must"),
    ("x999999999999", 1, "variable 'x999999999999' at column 1: an index must"),
    ("x1000000000", 1, "variable 'x1000000000' at column 1: an index must"),  # 10 digits
    ("x1_0012", 2, "variable 'x1_0012' at column 1: an index must"),
    ("x1_", 1, "unknown name 'x1_'"),
    ("X0", 1, "unknown name 'X0'"),
    ("1e999", 1, "number '1e999' at column 1 is out of range"),
    ("1e401", 1, "out of range"),
    # within the literal exponent's limit, but above the largest double (1.797e308)
    ("1e309", 1, "number '1e309' at column 1 is out of range"),
    ("x0 + 1.8e308", 1, "number '1.8e308' at column 6 is out of range"),
    # nonzero, but 0.0 in double precision: the float tiers would disagree with the exact one
    ("1e-400*x0", 1, "number '1e-400' at column 1 is beyond double precision (it would be "
     "read as 0.0)"),
    ("x0 + 0.00001e-330", 1, "number '0.00001e-330' at column 6 is beyond double precision"),
    ("x" * (MAX_LENGTH + 1), 1, f"longer than {MAX_LENGTH} characters"),
    ("(" * (MAX_DEPTH + 1) + "x0" + ")" * (MAX_DEPTH + 1), 1,
     f"nesting deeper than {MAX_DEPTH} levels at column {MAX_DEPTH + 1}"),
    ("-" * (MAX_DEPTH + 1) + "x0", 1, "nesting deeper"),
    ("x0" + "**x0" * (MAX_DEPTH + 1), 1, "nesting deeper"),
    ("sin(" * (MAX_DEPTH + 1) + "x0" + ")" * (MAX_DEPTH + 1), 1, "nesting deeper"),
    # code-injection attempts: rejected at the first character outside the whitelist
    ("__import__('os').system('true')", 1, "unexpected character \"'\" at column 12"),
    ("x0.__class__", 1, "unexpected character '.' at column 3"),
    ("lambda: 1", 1, "unexpected character ':' at column 7"),
    ("lambda x: x", 1, "unexpected character ':' at column 9"),  # tokenizer runs first
    ("exec", 1, "unknown name 'exec'"),
    ("eval(x0)", 1, "unknown function 'eval'"),
    ("open(x0)", 1, "unknown function 'open'"),
    ("[x0]", 1, "unexpected character '['"),
    ("x0; x1", 1, "unexpected character ';'"),
    ("x0 if x1 else x2", 1, "expected an operator, found 'if'"),
    ("f'{x0}'", 1, "unexpected character"),
    ("sin.__globals__", 1, "unexpected character '.'"),
]


@pytest.mark.parametrize(("text", "dimension", "message"), ERRORS)
def test_errors_name_problem_and_column(text, dimension, message):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text, dimension)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_nesting_at_the_limit_is_accepted():
    text = "(" * MAX_DEPTH + "x0" + ")" * MAX_DEPTH
    assert _sym(text) == X0


def test_nesting_is_depth_not_count():
    """Siblings do not add up: MAX_DEPTH + 10 parenthesised, negated, powered or called terms
    side by side are each one level deep."""
    count = MAX_DEPTH + 10
    for term, value in [("(x0)", X0), ("-x1", -X1), ("x0**2", X0**2), ("sin(x1)", sympy.sin(X1))]:
        assert sympy.expand(_sym("+".join([term] * count)) - count * value) == 0


def test_unknown_name_lists_the_variables_allowed():
    """With max_lag 0 (``rnnkl poisson`` without words) only lag 0 exists, and the message
    says so; otherwise it lists the pattern."""
    cases = [(1, 0, "variables are x0;"), (3, 0, "variables are x0_1 .. x0_3;"),
             (1, None, "variables are x0, x1, ...;"), (2, 4, "variables are x0_1, x1_2, ...;")]
    for dimension, max_lag, listed in cases:
        with pytest.raises(ExpressionError) as info:
            parse_expression("y", dimension, max_lag)
        assert listed in str(info.value)


def test_constant_power_too_large_for_exact_arithmetic():
    expr = parse_expression("10**10**10", 1)
    with pytest.raises(ExactSizeError, match="too large"):
        to_sympy(expr)
    assert np.isinf(evaluate(expr, np.zeros((1, 1))))  # IEEE overflow, not a hang


def test_bad_dimension_and_type():
    with pytest.raises(ExpressionError, match="dimension"):
        parse_expression("x0", 0)
    with pytest.raises(ExpressionError, match="dimension must be a positive integer, got True"):
        parse_expression("x0", True)  # type: ignore[arg-type]  # a bool is no dimension
    with pytest.raises(ExpressionError, match="must be a string"):
        parse_expression(3, 1)  # type: ignore[arg-type]


BANNED_CALLS = {"eval", "exec", "compile", "sympify", "parse_expr", "__import__", "S",
                "lambdify", "literal_eval"}


@pytest.mark.parametrize("module", [expression_module, expression_parser_module,
                                    expression_eval_module, config_module, fields_module,
                                    files_module, schema_module, validation_module])
def test_no_code_execution_primitives_in_source(module):
    """The input layer (expression and configuration modules) never calls eval, exec, compile,
    sympify or parse_expr (AST check: any call whose function name or attribute is one of
    BANNED_CALLS)."""
    tree = ast.parse(pathlib.Path(module.__file__).read_text())
    called = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called.add(func.id if isinstance(func, ast.Name) else getattr(func, "attr", ""))
    assert not called & BANNED_CALLS


def test_banned_call_scan_can_fail():
    """Negative control for the AST scan."""
    tree = ast.parse("import sympy\nsympy.sympify(text)\neval(text)")
    names = {n.func.attr if isinstance(n.func, ast.Attribute) else n.func.id
             for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert names & BANNED_CALLS == {"sympify", "eval"}


@pytest.fixture
def forbid_dynamic_code(monkeypatch):
    """Make every dynamic-code entry point explode while the parser runs."""

    def boom(*args, **kwargs):
        raise AssertionError("dynamic code execution attempted")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, boom)
    monkeypatch.setattr(sympy, "sympify", boom)
    monkeypatch.setattr(sympy.parsing.sympy_parser, "parse_expr", boom)
    yield


def test_parser_runs_with_dynamic_code_disabled(forbid_dynamic_code):
    assert parse_expression("tanh(2*x0*x1 + x0)", 1).max_lag == 1
    with pytest.raises(ExpressionError):
        parse_expression("__import__('os')", 1)


# ----------------------------------------------------------------------------- fuzzing

TOKENS = [
    "x0", "x1", "x2", "x0_1", "x1_2", "x10", "x", "y", "1", "0.5", "2.", ".5", "1e3", "1e-2",
    "+", "-", "*", "/", "**", "(", ")", ",", " ", *FUNCTIONS, "__import__", "'os'", ".",
    "__class__", "lambda", ":", "[", "]", "{", "}", "^", "%", "=", ";", "\"", "\\", "\n",
    "exec", "eval", "os", "system", "1e999", "_", "x0_0", "x0_99", "#", "@", "&", "|", "~",
]


def _check_parse_never_crashes(text: str, dimension: int) -> None:
    try:
        expr = parse_expression(text, dimension)
    except ExpressionError as err:
        assert "\n" not in str(err)
        return
    try:
        to_sympy(expr)
    except ExpressionError:
        pass
    window = np.full((2, expr.max_lag + 1, dimension), 0.25)
    assert evaluate(expr, window).shape == (2,)


@given(st.text(max_size=80), st.integers(1, 3))
def test_fuzz_random_text(text, dimension):
    _check_parse_never_crashes(text, dimension)


@given(st.lists(st.sampled_from(TOKENS), max_size=30), st.integers(1, 3))
def test_fuzz_token_soup(tokens, dimension):
    _check_parse_never_crashes("".join(tokens), dimension)


@given(st.lists(st.sampled_from(TOKENS), max_size=30))
@settings(max_examples=20)
def test_fuzz_token_soup_executes_no_code(tokens):
    def boom(*args, **kwargs):
        raise AssertionError("dynamic code execution attempted")

    saved = {name: getattr(builtins, name) for name in ("eval", "exec", "compile")}
    try:
        for name in saved:
            setattr(builtins, name, boom)
        try:
            expr = parse_expression(" ".join(tokens), 1)
        except ExpressionError:
            return
    finally:
        for name, value in saved.items():
            setattr(builtins, name, value)
    assert isinstance(expr.max_lag, int)  # parsed from whitelisted tokens only


# ----------------------------------------------------------------------------- evaluate


def test_evaluate_window_convention():
    """window[..., j, :] = X_{k-j}: x1_2 reads lag 1, component 2."""
    window = np.arange(2 * 3 * 2, dtype=float).reshape(2, 3, 2)
    expr = parse_expression("x1_2 - 10*x0_1", 2)
    expected = window[:, 1, 1] - 10 * window[:, 0, 0]
    np.testing.assert_array_equal(evaluate(expr, window), expected)
    constant = parse_expression("3", 2)
    np.testing.assert_array_equal(evaluate(constant, np.zeros((4, 5, 1, 2))), np.full((4, 5), 3))


def test_evaluate_rejects_short_or_misshapen_windows():
    expr = parse_expression("x2", 1)
    with pytest.raises(ValueError, match="lag 2"):
        evaluate(expr, np.zeros((5, 2, 1)))
    with pytest.raises(ValueError, match="shape"):
        evaluate(expr, np.zeros((5, 3, 2)))


def _random_safe_expression(draw, depth: int) -> str:
    """Well-conditioned expressions: bounded building blocks with derivatives <= ~10, so
    double-precision evaluation is accurate to ~1e-13 (see the tolerance below)."""
    leaf = st.one_of(
        st.sampled_from(["x0", "x1", "x2"]),
        st.decimals(min_value=-2, max_value=2, places=3, allow_nan=False,
                    allow_infinity=False).map(lambda d: f"({d})"),
    )
    if depth == 0:
        return draw(leaf)
    a = _random_safe_expression(draw, depth - 1)
    b = _random_safe_expression(draw, depth - 1)
    forms = [
        f"{a} + {b}", f"{a} - {b}", f"({a}) * ({b})", f"({a}) / (2 + sin({b}))",
        f"tanh({a})", f"sin({a})", f"cos({a})", f"erf({a})", f"sigmoid({a})", f"abs({a})",
        f"exp(tanh({a}))", f"log(2 + cos({a}))", f"sqrt(1 + tanh({a})**2)",
        f"tan(tanh({a}))", f"tanh({a})**3", f"-{a}", f"(1.5 + sin({a}))**(tanh({b}))",
    ]
    return draw(st.sampled_from(forms)) if draw(st.booleans()) else draw(leaf)


@st.composite
def safe_expressions(draw):
    return _random_safe_expression(draw, draw(st.integers(0, 3)))


def _reference(expr_sympy: sympy.Expr, point: tuple[float, float, float]) -> float:
    """30-digit mpmath value of the SymPy expression at an exactly represented point."""
    subs = {X0: sympy.Float(point[0], 30), X1: sympy.Float(point[1], 30),
            X2: sympy.Float(point[2], 30)}
    with mpmath.workdps(30):
        return float(expr_sympy.evalf(30, subs=subs))


# Tolerance: each double operation has relative error <= 2^-53 ~ 1.1e-16; the generated
# expressions have at most ~60 operations whose building blocks have derivatives bounded by
# ~10 on the ranges used (|x| <= 2 at the leaves, tanh-bounded arguments elsewhere), and depth
# <= 4, so the propagated error is below 1.1e-16 * 60 * 10^4 ~ 7e-11 relative to max(1, |y|).
TOLERANCE = 1e-9


@given(safe_expressions(), st.lists(st.floats(-2, 2), min_size=3, max_size=3))
@settings(max_examples=40)
def test_to_sympy_agrees_with_evaluate(text, point):
    expr = parse_expression(text, 1)
    window = np.array([[[point[0]], [point[1]], [point[2]]]])
    numeric = float(evaluate(expr, window)[0])
    reference = _reference(to_sympy(expr), tuple(point))
    assert abs(numeric - reference) <= TOLERANCE * max(1.0, abs(reference)), text


def test_agreement_check_can_fail():
    """Negative control: a 1e-6 change in a literal is caught by the same comparison."""
    exact = to_sympy(parse_expression("tanh(x0) + x1", 1))
    perturbed = parse_expression("tanh(x0) + x1 + 0.000001", 1)
    point = (0.3, -1.1, 0.0)
    numeric = float(evaluate(perturbed, np.array([[[0.3], [-1.1], [0.0]]]))[0])
    assert abs(numeric - _reference(exact, point)) > TOLERANCE


@pytest.mark.parametrize("function", expression_module.FUNCTIONS)
def test_each_function_evaluates_as_its_sympy_meaning(function):
    """Every whitelisted function, in double precision, against its SymPy meaning at 30
    digits (mpmath), at points inside every function's domain (sqrt, log need x > 0; tan's
    poles are at +-1.57): a function paired with another one's NumPy twin fails here, not only
    when the random expressions above happen to draw it."""
    expr = parse_expression(f"{function}(x0)", 1)
    exact = to_sympy(expr)
    for x in (0.3, 0.9, 1.4):
        numeric = float(evaluate(expr, np.array([[[x]]]))[0])
        reference = _reference(exact, (x, 0.0, 0.0))
        assert abs(numeric - reference) <= TOLERANCE * max(1.0, abs(reference)), (function, x)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("x0/x1*x2", lambda a, b, c: a / b * c), ("x0*x1/x2", lambda a, b, c: a * b / c),
     ("x0 + x1 - x2", lambda a, b, c: a + b - c), ("x0 - x1 + x2", lambda a, b, c: a - b + c),
     ("-x0**2", lambda a, b, c: -(a**2)), ("x0**x1**x2", lambda a, b, c: a ** (b**c))],
)
def test_operator_chains_evaluate_left_to_right(text, expected):
    """Each operator applies to its own operand: a division or subtraction in the middle of a
    chain does not move to its neighbour (exact in binary at these points but a / b, which
    both sides round alike; 2**(3**2) = 512 against (2**3)**2 = 64)."""
    a, b, c = 2.0, 3.0, 2.0
    value = float(evaluate(parse_expression(text, 1), np.array([[[a], [b], [c]]]))[0])
    assert value == expected(a, b, c)
