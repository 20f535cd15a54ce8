"""Same numbers everywhere (issue 16): a small report and a small sweep give identical
results.json / sweep.json numbers and byte-identical cache entries serially and on a local Dask
cluster of 1 and 2 workers; a worker killed mid-sweep changes nothing; an unreachable scheduler
is one line and exit 2; the [cluster] section becomes the Slurm / PBS job script it says."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from derivations.inputs.config import load_config, with_overrides
from proofs_check.budget import TINY
from proofs_check.cache import Cache, code_salt
from proofs_check.cli import main
from proofs_check.cluster import jobqueue_cluster, open_executor, read_cluster_table
from proofs_check.report import results_json, run_checks
from proofs_check.sweep import parse_vary, point_configs, run_sweep
from proofs_check.sweep_output import sweep_json

pytestmark = pytest.mark.distributed

SWEEP_SETS = ["limit.word_length=3", "training.horizon=1.0"]
TIMING_KEYS = {"seconds", "cache_hits", "cache_misses"}


def _numbers(document):
    """The document without timing and cache-accounting fields (what must be identical)."""
    if isinstance(document, dict):
        return {k: _numbers(v) for k, v in document.items() if k not in TIMING_KEYS}
    if isinstance(document, list):
        return [_numbers(v) for v in document]
    return document


def _entries(directory: Path) -> dict[str, str]:
    """Cache entry name -> sha256 of its payload; every entry must load (none torn)."""
    out = {}
    for path in sorted(directory.glob("*.npz")):
        meta = json.loads(path.with_suffix(".json").read_text())
        payload = path.read_bytes()
        assert meta["sha256"] == hashlib.sha256(payload).hexdigest(), path.name
        out[path.name] = meta["sha256"]
    return out


@pytest.fixture(scope="module")
def tiny_config():
    config = with_overrides(load_config(None), word_length=3)
    return config.replace(training=dataclasses.replace(config.training, horizon=1.0))


@pytest.fixture(scope="module")
def salt() -> str:
    return code_salt()  # one salt for the module: edits elsewhere must not change keys


def _report(config, out: Path, salt: str, executor=None) -> dict:
    cache = Cache(out / "cache", salt, executor=executor)
    report = run_checks(config, TINY, out, progress=False, cache=cache, crosschecks=False)
    return _numbers(json.loads(json.dumps(results_json(report))))


@pytest.fixture(scope="module")
def serial_report(tiny_config, salt, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    return _report(tiny_config, out, salt), _entries(out / "cache")


@pytest.mark.parametrize("workers", [1, 2])
def test_report_is_identical_on_a_local_cluster(distributed_lib, tiny_config, salt, workers,
                                                serial_report, tmp_path):
    executor = open_executor(workers=workers)
    try:
        assert executor.parallel
        numbers = _report(tiny_config, tmp_path, salt, executor)
    finally:
        executor.close()
    expected, entries = serial_report
    assert numbers == expected
    assert _entries(tmp_path / "cache") == entries  # the workers wrote the same bytes


def _sweep(out: Path, executor=None) -> dict:
    varied = (parse_vary("network.beta=0.6,0.8"),)
    points = point_configs(None, SWEEP_SETS, varied)
    return _numbers(sweep_json(run_sweep(points, varied, TINY, str(out), executor=executor)))


@pytest.fixture(scope="module")
def serial_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial-sweep")
    return _sweep(out), _entries(out / "cache")


def test_sweep_is_identical_on_two_workers(distributed_lib, serial_sweep, tmp_path):
    executor = open_executor(workers=2)
    try:
        numbers = _sweep(tmp_path, executor)
    finally:
        executor.close()
    assert numbers == serial_sweep[0]
    assert _entries(tmp_path / "cache") == serial_sweep[1]


def test_a_worker_killed_mid_sweep_changes_nothing(distributed_lib, serial_sweep, tmp_path):
    executor = open_executor(workers=2)
    client = executor.client
    outcome: dict = {}

    def sweep() -> None:
        try:
            outcome["numbers"] = _sweep(tmp_path, executor)
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = err

    thread = threading.Thread(target=sweep)
    killed = None
    try:
        thread.start()
        deadline = time.monotonic() + 120
        while killed is None and thread.is_alive() and time.monotonic() < deadline:
            busy = {w: keys for w, keys in client.processing().items() if keys}
            if busy:
                worker = sorted(busy)[0]
                pid = client.run(os.getpid, workers=[worker])[worker]
                os.kill(pid, signal.SIGKILL)  # mid-job: a task is processing on it
                killed = (worker, list(busy[worker]))
            time.sleep(0.01)
        thread.join(timeout=600)
    finally:
        executor.close()
    assert killed is not None, "no task was ever seen running: nothing was killed"
    assert "error" not in outcome, outcome.get("error")
    assert outcome["numbers"] == serial_sweep[0]
    assert _entries(tmp_path / "cache") == serial_sweep[1]


def test_unreachable_scheduler_is_one_line_exit_2(distributed_lib, capsys, tmp_path):
    start = time.monotonic()
    code = main(["report", "--budget", "quick", "--out", str(tmp_path), "--no-progress",
                 "--scheduler", "tcp://127.0.0.1:9", "--connect-timeout", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err
    assert time.monotonic() - start < 60
    assert not (tmp_path / "results.json").exists()


@pytest.mark.parametrize("system, prefix", [("slurm", "#SBATCH"), ("pbs", "#PBS")])
def test_cluster_section_becomes_the_job_script(distributed_lib, system, prefix):
    spec = read_cluster_table({"system": system, "jobs": 3, "cores": 8, "processes": 4,
                               "memory": "16GiB", "walltime": "02:30:00", "queue": "short",
                               "account": "proj-42", "directives": ["--qos=normal"]})
    cluster = jobqueue_cluster(spec)  # no job is submitted: the script is only printed
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert prefix in script
    for text in ("short", "proj-42", "--qos=normal", "02:30:00", "--nworkers 4"):
        assert text in script, text


def test_entries_written_by_workers_resume_serially(distributed_lib, serial_sweep, tmp_path):
    """A sweep interrupted on a cluster (here: its first point only, computed by 2 workers)
    resumes serially on the same directory from the workers' entries, with the same numbers."""
    varied = (parse_vary("network.beta=0.6"),)
    executor = open_executor(workers=2)
    try:
        run_sweep(point_configs(None, SWEEP_SETS, varied), varied, TINY, str(tmp_path),
                  executor=executor)
    finally:
        executor.close()
    varied = (parse_vary("network.beta=0.6,0.8"),)
    sweep = run_sweep(point_configs(None, SWEEP_SETS, varied), varied, TINY, str(tmp_path))
    first = sweep.points[0].report
    assert first.cache_misses == 0 and first.cache_hits > 0  # nothing recomputed
    assert _numbers(sweep_json(sweep)) == serial_sweep[0]
    assert _entries(tmp_path / "cache") == serial_sweep[1]


def test_cli_on_a_running_scheduler_gives_the_serial_report(distributed_lib, tmp_path, capsys):
    """`rnnkl report --scheduler ADDRESS` against a running Dask scheduler (here a local
    cluster's) writes the same results.json numbers as the serial command."""
    cluster = distributed_lib.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
    small = ["--budget", "quick", "--no-progress", "--set", "limit.word_length=3",
             "--set", "training.horizon=1.0"]
    try:
        code = main(["report", "--out", str(tmp_path / "remote"), *small,
                     "--scheduler", cluster.scheduler_address])
    finally:
        cluster.close()
    assert code in (0, 1), capsys.readouterr().err
    assert "the Dask scheduler at" in capsys.readouterr().err
    assert main(["report", "--out", str(tmp_path / "serial"), *small]) == code
    documents = [json.loads((tmp_path / name / "results.json").read_text())
                 for name in ("remote", "serial")]
    assert _numbers(documents[0]) == _numbers(documents[1])
