"""numerics.costs against its docstrings: the sizes a user writes for --memory-cap (SI units
are powers of 10, IEC units powers of 2), the default cap (half of the physical memory), the
simulation model (an upper bound: each term above the traced peak of the regime it dominates)
and the refusal (the field furthest over, the largest value of it that fits)."""

from __future__ import annotations

import pytest

import numerics.costs as costs
from derivations.errors import InputError


@pytest.mark.parametrize("text, expected", [
    ("512MiB", 512 * 2**20),
    ("12GiB", 12 * 2**30),
    ("12gib", 12 * 2**30),  # case-insensitive
    ("1TiB", 2**40),
    ("1024KiB", 2**20),
    ("2GB", 2 * 10**9),
    ("500MB", 500 * 10**6),
    ("1.5TB", 1_500_000_000_000),
    ("2e9", 2 * 10**9),
    ("2000000 B", 2 * 10**6),
])
def test_a_size_reads_as_its_units_say(text, expected):
    assert costs.parse_size(text) == expected


@pytest.mark.parametrize("text", ["1e6", "1023KiB", "1048575", "0GiB", "3k"])
def test_a_size_below_one_mib_is_refused(text):
    with pytest.raises(InputError, match="below 1 MiB"):
        costs.parse_size(text)
    assert costs.parse_size("1048576") == 2**20  # 1 MiB exactly is the smallest cap


def test_the_default_cap_is_half_the_physical_memory(monkeypatch):
    monkeypatch.delenv("RNNKL_MEMORY_CAP", raising=False)
    monkeypatch.setattr(costs, "physical_memory", lambda: 24 * 2**30)
    cap = costs.memory_cap()
    assert cap.bytes == 12 * 2**30 and "half of this machine's 24 GiB" in cap.source
    monkeypatch.setattr(costs, "physical_memory", lambda: 0)
    assert costs.memory_cap().bytes == 16 * 2**30  # the OS does not say: 16 GiB, said so
    monkeypatch.setenv("RNNKL_MEMORY_CAP", "3GiB")
    assert costs.memory_cap() == costs.MemoryCap(3 * 2**30, "RNNKL_MEMORY_CAP")
    assert costs.memory_cap("2GB") == costs.MemoryCap(2 * 10**9, "--memory-cap")


def _traced_peak(run) -> int:
    """tracemalloc's peak of ``run()`` after one untraced call (numba compiles on the first)."""
    import tracemalloc

    run()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _simulation(config_path, backend, N, replicas, steps, *assignments):
    from dataclasses import replace

    from derivations.inputs.files import load_layers

    config = load_layers(config_path, list(assignments)).config
    return replace(config, run=replace(config.run, N=N, replicas=replicas, backend=backend),
                   training=replace(config.training, horizon=steps / N))


# Each case makes one term of numerics.costs.simulation_bytes dominate: the units (many of them,
# 5 steps; with 6 parameter snapshots), the path (2 units, 16 replicas, 20000 steps), the target
# windows (one replica, a target of lag 5). The model, without the interpreter's baseline that
# tracemalloc does not see, must hold the traced peak of numerics.simulate.simulate.
SIMULATION_CASES = [
    (None, "numpy", 200_000, 2, 5, 0, ()),
    (None, "fast", 200_000, 2, 5, 0, ()),
    (None, "numpy", 200_000, 2, 5, 6, ()),
    (None, "fast", 200_000, 2, 5, 6, ()),
    ("examples/antisymmetric_beta_half.toml", "numpy", 100_000, 2, 5, 0, ()),
    (None, "fast", 2, 16, 20_000, 0, ()),
    (None, "fast", 2, 1, 20_000, 0, ("target.expression=tanh(x0 + x5)",)),
]


@pytest.mark.parametrize("path, backend, N, replicas, steps, snapshots, assignments",
                         SIMULATION_CASES)
def test_the_simulation_model_bounds_the_traced_peak(path, backend, N, replicas, steps,
                                                     snapshots, assignments):
    from numerics.simulate import simulate

    config = _simulation(path, backend, N, replicas, steps, *assignments)
    peak = _traced_peak(lambda: simulate(config, progress=False,
                                         snapshot_steps=tuple(range(snapshots))))
    model = costs.simulation_bytes(N, replicas, steps / N, config.chain.d,
                                   int(config.target.lag), snapshots) - costs.BASELINE_BYTES
    assert peak <= model, (peak, model)


def test_the_json_model_bounds_the_traced_peak_of_rnnkl_simulate(tmp_path):
    """`rnnkl simulate --out`: 4 replicas x 50000 steps, f and y as JSON text (0.4 million
    values) dominate; the model with its JSON term holds the traced peak of the command."""
    from proofs_check.cli import main

    N, replicas, steps = 2, 4, 50_000
    argv = ["simulate", "--N", str(N), "--replicas", str(replicas), "--set",
            f"training.horizon={steps // N}", "--out", str(tmp_path / "run.json"),
            "--no-progress"]
    peak = _traced_peak(lambda: main(argv))
    config = _simulation(None, "fast", N, replicas, steps)  # the default's d and target lag
    model = costs.simulation_bytes(N, replicas, steps / N, config.chain.d,
                                   int(config.target.lag), 0, json_output=True)
    assert peak <= model - costs.BASELINE_BYTES, (peak, model)


def test_a_refusal_names_the_field_furthest_over_and_the_largest_value_that_fits():
    """Cost = 1 MiB x a x b against a 64 MiB cap. At a = 4, b = 1024 no a fits (1 x 1024 > 64):
    b is named, with 16. At a = 40, b = 4, a fits down to 16 (2/5 of it), b down to 1 (1/4):
    b is further over and named; with the roles swapped, a. A request exactly at the cap fits
    (refused only above it)."""
    cap = costs.MemoryCap(64 * 2**20, "test")

    def cost(v):
        return 2**20 * v["a"] * v["b"]

    for (a, b), named, largest in (((4, 1024), "b", 16), ((40, 4), "b", 1), ((4, 40), "a", 1)):
        fields = (costs.Field("a", a), costs.Field("b", b))
        value = a if named == "a" else b
        with pytest.raises(costs.ResourceError, match=(
                rf"^{named} = {value}: x needs about .* over the cap 64 MiB \(test\); the "
                rf"largest {named} that fits is {largest}$")):
            costs.require_fits("x", fields, cost, cap)
    fields = (costs.Field("a", 8), costs.Field("b", 8))
    assert costs.require_fits("x", fields, cost, cap) == 64 * 2**20
