"""Benchmark (issue 7): finite-RNN simulator backends, memory, and the limit kernel + ODE.

1. Unit-steps per second (R N steps / wall seconds) of the reference ("numpy") and the fast
   ("fast", numba) backends, in one run on the same inputs (default config: tanh, d = 1, m = 3;
   same seed, so the same theta_0, chain path and targets), for N in {1000, 4000, 16000, 64000}
   and R replicas (default 4). Each measurement trains a FIXED number of steps,
   steps = max(8, --unit-steps / (R N)), not the whole horizon (floor(N T) steps would take
   hours for the reference at N = 64000); a measurement is the best of --repeat runs of
   numerics.simulate.simulate (including its O(R steps) setup: chain path, targets). The JIT
   compilation of the fast kernels is done (or loaded from numba's disk cache) by a warm-up
   run before any timing. Also reported: unit-steps per CPU second (all threads), steadier
   than wall time when other processes share the cores.
2. Peak resident memory (resource.getrusage ru_maxrss) of a fresh process that simulates
   N = 64000, R = 8 with the fast backend, for two step counts; the growth per step (the
   O(R steps) records) extrapolates it to the full horizon floor(N T).
3. Wall time of the limit kernel + ODE (numerics.kernel.kernel_on_words, then
   numerics.limit.limit_solver and g_at at t = 0.5, 1, 2; the calls of
   benchmarks/bench_kernel.py) on m^L in {243, 729, 2187} words.

Run: python benchmarks/bench_simulate.py [--json] [--activation NAME] [--skip-limit]
[--skip-memory]  (--activation times another activation on the same default config)
With --json, stdout is only the JSON list [{"N", "backend", "unit_steps_per_s"}, ...] and the
tables go to stderr. The machine is reported (CPU model, cores, load average): numbers taken
on a loaded machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import replace

from derivations.activations import ACTIVATION_NAMES
from derivations.inputs.config import load_config, with_overrides
from numerics.simulate import simulate

SIZES = (1000, 4000, 16000, 64000)
BACKENDS = ("numpy", "fast")
WORD_LENGTHS = (5, 6, 7)  # m = 3: 243, 729, 2187 words
LIMIT_TIMES = (0.5, 1.0, 2.0)


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or platform.processor())."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def config_for(N: int, replicas: int, steps: int, activation: str = "tanh"):
    """The default config with N units, R replicas, the given activation and horizon
    T = steps / N (floor(N T) = steps exactly: numerics.simulate.time_to_step accepts t = j / N
    rounded)."""
    config = with_overrides(load_config(None), N=N, replicas=replicas)
    return replace(config, training=replace(config.training, horizon=steps / N),
                   network=replace(config.network, activation=activation))


def time_backend(config, backend: str, repeat: int) -> tuple[float, float]:
    """(wall s, CPU s of the same run) of the fastest of ``repeat`` simulations. CPU time
    counts every thread; on a loaded machine it is the steadier measure of work done."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        simulate(config, backend=backend, progress=False)
        best = min(best, (time.perf_counter() - start, time.process_time() - cpu))
    return best


def measure_speed(sizes, replicas: int, unit_steps: int, repeat: int, out,
                  activation: str = "tanh") -> list[dict]:
    simulate(config_for(64, replicas, 8, activation), backend="fast", progress=False)  # JIT
    print(f"activation: {activation}", file=out)
    rows = []
    print("unit-steps (R N steps) per wall second and per CPU second (all threads)", file=out)
    print(f"{'N':>6} {'R':>2} {'steps':>6} {'numpy wall':>11} {'fast wall':>11} {'ratio':>6} "
          f"{'numpy cpu':>11} {'fast cpu':>11} {'ratio':>6}", file=out)
    for N in sizes:
        steps = max(8, unit_steps // (replicas * N))
        config = config_for(N, replicas, steps, activation)
        wall, cpu = {}, {}
        for backend in BACKENDS:
            seconds, cpu_seconds = time_backend(config, backend, repeat)
            wall[backend] = replicas * N * steps / seconds
            cpu[backend] = replicas * N * steps / cpu_seconds
            rows.append({"N": N, "backend": backend, "unit_steps_per_s": wall[backend]})
        print(f"{N:>6} {replicas:>2} {steps:>6} {wall['numpy']:>11.3e} {wall['fast']:>11.3e} "
              f"{wall['fast'] / wall['numpy']:>6.2f} {cpu['numpy']:>11.3e} {cpu['fast']:>11.3e} "
              f"{cpu['fast'] / cpu['numpy']:>6.2f}", file=out, flush=True)
    return rows


def memory_probe(N: int, replicas: int, steps: int) -> None:
    """(Child process) simulate with the fast backend; print the peak RSS in bytes."""
    simulate(config_for(N, replicas, steps), backend="fast", progress=False)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)  # Linux: KiB


def measure_memory(out, N: int = 64000, replicas: int = 8, steps=(50, 1000)) -> None:
    peaks = []
    for n_steps in steps:
        text = subprocess.run(
            [sys.executable, __file__, "--memory-probe", str(N), str(replicas), str(n_steps)],
            check=True, capture_output=True, text=True,
        ).stdout
        peaks.append(int(text.split()[-1]))
    full_steps = int(N * load_config(None).training.horizon)
    per_step = max(0.0, (peaks[1] - peaks[0]) / (steps[1] - steps[0]))
    extrapolated = peaks[1] + per_step * (full_steps - steps[1])
    gib = 2.0**30
    print(f"peak RSS, fast backend, N = {N}, R = {replicas}: "
          + ", ".join(f"{s} steps {p / gib:.3f} GiB" for s, p in zip(steps, peaks, strict=True))
          + f"; {per_step:.0f} B/step -> full horizon ({full_steps} steps) "
          f"~{extrapolated / gib:.3f} GiB (target < 2 GiB)", file=out, flush=True)


def measure_limit(out) -> None:
    from numerics.kernel import kernel_on_words
    from numerics.limit import g_at, limit_solver, word_problem

    config = load_config(None)
    print(f"{'words':>6} {'kernel s':>9} {'ODE s':>7} {'K+ODE s':>8}", file=out)
    for L in WORD_LENGTHS:
        problem = word_problem(config, L)
        start = time.perf_counter()
        kernel = kernel_on_words(problem.spec, L)
        t_kernel = time.perf_counter() - start
        start = time.perf_counter()
        g_at(limit_solver(kernel.K, problem.pi_L, problem.ybar, problem.alpha), LIMIT_TIMES)
        t_ode = time.perf_counter() - start
        print(f"{problem.words.shape[0]:>6} {t_kernel:>9.2f} {t_ode:>7.2f} "
              f"{t_kernel + t_ode:>8.2f}", file=out, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true",
                        help='print [{"N", "backend", "unit_steps_per_s"}] on stdout')
    parser.add_argument("--replicas", type=int, default=4)
    parser.add_argument("--unit-steps", type=int, default=1 << 24,
                        help="R N steps per measurement (default 2^24)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--activation", default="tanh",
                        choices=ACTIVATION_NAMES,
                        help="activation of the timed networks (default tanh, the default "
                        "config's)")
    parser.add_argument("--skip-limit", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-probe", type=int, nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_probe:
        memory_probe(*args.memory_probe)
        return 0
    out = sys.stderr if args.json else sys.stdout
    import numba

    print(f"CPU: {cpu_model()}; cores: {os.cpu_count()}; numba threads: "
          f"{numba.get_num_threads()}; load average before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", file=out, flush=True)
    rows = measure_speed(args.sizes, args.replicas, args.unit_steps, args.repeat, out,
                         args.activation)
    if not args.skip_memory:
        measure_memory(out)
    if not args.skip_limit:
        measure_limit(out)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", file=out)
    if args.json:
        print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
