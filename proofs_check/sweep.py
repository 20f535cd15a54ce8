"""Parameter sweeps (issue 16, item 4): the rate checks over a grid of one or two numeric config
fields, and the phase diagram of the theory.

The theorem is a statement about a family (every beta in [1/2, 1), ...); a report checks one
point of it. A sweep runs the rate checks of :data:`SWEEP_CHECKS` (output at initialisation,
parameter drift, main theorem and frozen network: theory.md §6) at every grid point, each point
with the report's own code and its content-addressed cache (so a sweep resumes, and points
are shared with any other run that uses the same cache directory). The measured exponents are
set against the derived predictions (derivations.scaling, the suite's own predictions, not the
paper's): r(beta) = min(beta - 1/2, 1 - beta, 1/2) for the main theorem, min(1 - beta, 1/2)
with antisymmetric initialisation.

Grid syntax (``--vary``, parsed without eval): ``table.key=a:b:n`` (n evenly spaced values from a
to b, n <= MAX_VALUES) or ``table.key=v1,v2,...``; numbers as in a config (``0.6``, ``3/5``).
Only numeric fields of the schema can vary; every point is validated like a config file.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from derivations.errors import InputError, short_number
from derivations.inputs.fields import exact_from_string
from derivations.inputs.files import LoadedConfig, load_layers
from derivations.inputs.schema import SCHEMA_KEYS, SECTIONS
from proofs_check.budget import UNREAD_FIELDS, Budget
from proofs_check.cache import Cache
from proofs_check.executor import Executor
from proofs_check.report import Report, run_checks, submit_jobs

SWEEP_CHECKS: tuple[str, ...] = ("output_at_init", "parameter_drift", "main_theorem")
MAX_VALUES = 64  # values of one varied field
# --vary refuses proofs_check.budget.UNREAD_FIELDS: a sweep over them would draw the same
# exponents at every point as if N mattered.
MAX_POINTS = 64  # grid points of a sweep (each runs the rate checks: minutes per point)
MAX_FIELDS = 2


class SweepError(InputError):
    """A bad --vary specification (one line)."""


@dataclass(frozen=True)
class VariedField:
    """One varied config field ``table.key`` and its values (floats, or ints for int fields)."""

    field: str
    values: tuple[float | int, ...]


@dataclass(frozen=True)
class SweepPoint:
    """One grid point: the field values and the report of the rate checks there."""

    values: dict[str, float | int]
    report: Report


@dataclass(frozen=True)
class Sweep:
    """A finished sweep: the varied fields, the budget and one point per grid value."""

    varied: tuple[VariedField, ...]
    budget: Budget
    points: tuple[SweepPoint, ...]
    source: str


def _field_type(table: str, key: str) -> type:
    """int or float: the numeric type of a schema field; SweepError for any other field."""
    hints = {f.name: f.type for f in dataclasses.fields(SECTIONS[table])}
    text = str(hints[key])
    if text.startswith("Annotated[int") or hints[key] is int:
        return int
    if text.startswith("Annotated[float") or hints[key] is float:
        return float
    raise SweepError(f"--vary {table}.{key}: not a numeric field (numeric fields can vary)")


def _number(text: str, where: str) -> Fraction:
    value = exact_from_string(text.strip())
    if value is None:
        raise SweepError(f"--vary {where}: {text.strip()[:24]!r} is not a number")
    return value


def _double(value: Fraction, field: str) -> float:
    """The double nearest ``value``; one line when double precision cannot hold it."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if math.isinf(number) or (number == 0.0 and value != 0):
        raise SweepError(f"--vary {field}: {short_number(value)} is beyond the range of "
                         "double precision")
    return number


def parse_vary(text: str) -> VariedField:
    """``table.key=a:b:n`` or ``table.key=v1,v2,...`` -> VariedField (module docstring)."""
    field, eq, spec = str(text).partition("=")
    field = field.strip()
    table, dot, key = field.partition(".")
    if not eq or not dot or not spec.strip():
        raise SweepError(f"--vary: expected table.key=a:b:n or table.key=v1,v2, got {text[:40]!r}")
    if table not in SCHEMA_KEYS or key not in SCHEMA_KEYS[table]:
        raise SweepError(f"--vary {field[:40]}: unknown field")
    if field in UNREAD_FIELDS:
        raise SweepError(f"--vary {field}: the rate checks do not read it (each point runs "
                         f"{UNREAD_FIELDS[field]}; choose that with --budget)")
    kind = _field_type(table, key)
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) != 3:
            raise SweepError(f"--vary {field}: a range is a:b:n")
        low, high = _number(parts[0], field), _number(parts[1], field)
        count = _number(parts[2], field)
        if count.denominator != 1 or not 1 <= count <= MAX_VALUES:
            raise SweepError(f"--vary {field}: n must be an integer in [1, {MAX_VALUES}]")
        n = int(count)
        exact = [low + (high - low) * Fraction(i, max(n - 1, 1)) for i in range(n)]
    else:
        items = spec.split(",")
        if len(items) > MAX_VALUES:
            raise SweepError(f"--vary {field}: at most {MAX_VALUES} values")
        exact = [_number(item, field) for item in items]
    if kind is int:
        if any(v.denominator != 1 for v in exact):
            raise SweepError(f"--vary {field}: an integer field takes integer values")
        values: tuple[float | int, ...] = tuple(int(v) for v in exact)
    else:
        values = tuple(_double(v, field) for v in exact)
    if len(set(values)) != len(values):
        raise SweepError(f"--vary {field}: repeated values")
    return VariedField(field, values)


def grid(varied: tuple[VariedField, ...]) -> list[dict[str, float | int]]:
    """Every combination of the varied values, the first field varying slowest."""
    if not 1 <= len(varied) <= MAX_FIELDS:
        raise SweepError(f"--vary: give one or two fields (got {len(varied)})")
    if len({v.field for v in varied}) != len(varied):
        raise SweepError("--vary: a field is given twice")
    points = [dict(zip([v.field for v in varied], combo, strict=True))
              for combo in itertools.product(*(v.values for v in varied))]
    if len(points) > MAX_POINTS:
        raise SweepError(f"--vary: {len(points)} grid points, at most {MAX_POINTS}")
    return points


def point_assignments(values: dict[str, float | int]) -> list[str]:
    """The --set assignments of one grid point (floats by repr: exact round trip)."""
    return [f"{field}={value!r}" for field, value in values.items()]


def point_label(values: dict[str, float | int]) -> str:
    """A grid point as the user wrote it: "network.beta=0.6, init.b_max=0.3"."""
    return ", ".join(f"{field}={short_number(value) if isinstance(value, int) else repr(value)}"
                     for field, value in values.items())


def point_error(values: dict[str, float | int], err: InputError) -> InputError:
    """``err`` (same class) naming the grid point it refused: "--vary point network.beta=0.6,
    init.b_max=0.3: ..."."""
    return type(err)(f"--vary point {point_label(values)}: {err}")


def load_points(config_path: str | None, assignments: list[str],
                varied: tuple[VariedField, ...],
                ) -> list[tuple[dict[str, float | int], LoadedConfig]]:
    """(values, validated LoadedConfig) of every grid point: the base layers, then the point's
    values; every point is validated before any work starts. Each carries its provenance:
    ``from_default`` (the fields neither the file, ``--set`` nor ``--vary`` gives, the same at
    every point) and the file's ``cluster`` table. A point's error names the point
    ("--vary point network.beta=0.5: network.beta: ..."), unless the base layers alone give
    the same error (then it is the base's, unchanged)."""
    points = []
    for values in grid(varied):
        try:
            loaded = load_layers(config_path, [*assignments, *point_assignments(values)])
        except InputError as err:
            try:
                load_layers(config_path, assignments)
            except InputError as base_err:
                if str(base_err) == str(err):
                    raise
            raise point_error(values, err) from None
        points.append((values, loaded))
    return points


def point_configs(config_path: str | None, assignments: list[str],
                  varied: tuple[VariedField, ...]) -> list[tuple[dict[str, float | int], Any]]:
    """(values, validated Config) of every grid point: :func:`load_points` without the
    provenance."""
    return [(values, loaded.config) for values, loaded in load_points(config_path, assignments,
                                                                       varied)]


def run_sweep(points: list[tuple[dict[str, float | int], Any]], varied: tuple[VariedField, ...],
              budget: Budget, out_dir: str, *, progress: bool = False,
              source: str = "", executor: Executor | None = None) -> Sweep:
    """The rate checks (:data:`SWEEP_CHECKS`) at every point, in grid order, sharing one cache
    (out_dir/cache): an interrupted sweep resumes where it stopped. With a parallel
    ``executor`` the jobs of every point are submitted before the first point is checked."""
    from pathlib import Path

    cache = Cache(Path(out_dir) / "cache", executor=executor)
    for _, config in points:
        submit_jobs(config, budget, cache, SWEEP_CHECKS)
    done = []
    for index, (values, config) in enumerate(points):
        # each progress line names its point: "rnnkl sweep: point 2/5 (network.beta=0.65): ..."
        prefix = f"rnnkl sweep: point {index + 1}/{len(points)} ({point_label(values)}):"
        report = run_checks(config, budget, out_dir, progress=progress, checks=SWEEP_CHECKS,
                            cache=cache, crosschecks=False, source=source,
                            progress_prefix=prefix)
        done.append(SweepPoint(values, report))
    return Sweep(varied, budget, tuple(done), source)
