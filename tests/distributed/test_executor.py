"""Same numbers everywhere (issue 16): a small report and a small sweep give identical
results.json / sweep.json numbers and byte-identical cache entries serially and on a local Dask
cluster of 1 and 2 workers; a worker killed mid-sweep changes nothing; an unreachable scheduler
is one line and exit 2; the [cluster] section becomes the Slurm / PBS job script it says. With
fake batch commands on PATH: a refused submission and a silent submit command are one line
(the accepted jobs cancelled), queued jobs are named on stderr and cancelled on SIGTERM; a
scheduler without workers is one line; a taken dashboard port draws no warning."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from report_documents import numbers

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
    return numbers(json.loads(json.dumps(results_json(report))))


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
    return numbers(sweep_json(run_sweep(points, varied, TINY, str(out), executor=executor)))


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


def test_a_scheduler_without_workers_is_one_line_exit_2(distributed_lib, tmp_path):
    """A scheduler that no worker joins runs nothing: the command used to wait for ever,
    silently. Now it waits --connect-timeout seconds for a worker. Run as a process with a
    timeout, so that the old behaviour fails the test instead of hanging it."""
    cluster = distributed_lib.LocalCluster(n_workers=0, processes=True, dashboard_address=None)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "proofs_check", "report", "--out", str(tmp_path / "out"),
             "--no-progress", "--scheduler", cluster.scheduler_address, "--connect-timeout", "2"],
            capture_output=True, text=True, timeout=60)
    finally:
        cluster.close()
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1
    assert f"the Dask scheduler at {cluster.scheduler_address} has no workers" in done.stderr
    assert not (tmp_path / "out" / "results.json").exists()


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
    # 4 workers of 2 task threads each fill the 8 cores: each task computes on one thread, set
    # before the worker starts (it used to take every core the job may use: 8x oversubscribed)
    exports = ("export NUMBA_NUM_THREADS=1", "export RNNKL_THREADS=1")
    command = next(line for line in script.splitlines() if "distributed.cli.dask_worker" in line)
    assert "--nthreads 2" in command
    for export in exports:
        assert script.index(export) < script.index(command), export


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
    assert numbers(sweep_json(sweep)) == serial_sweep[0]
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
    assert numbers(documents[0]) == numbers(documents[1])


@pytest.fixture
def dashboard_port_taken():
    """Port 8787 (Dask's default dashboard port) held for the test, as another user's dashboard
    often holds it on a shared login node (if something already holds it, so much the better)."""
    import socket

    holder = socket.socket()
    try:
        holder.bind(("", 8787))
        holder.listen()
    except OSError:
        pass  # already taken: the condition the test needs
    yield
    holder.close()


def test_a_local_cluster_does_not_warn_about_a_taken_dashboard_port(distributed_lib,
                                                                     dashboard_port_taken):
    """The scheduler warned on stderr ("Port 8787 is already in use") when another process held
    the default dashboard port; the executors ask for a free port instead."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        executor = open_executor(workers=1)
        executor.close()
    assert not [w for w in caught if "already in use" in str(w.message)]


def _finish(process: subprocess.Popen, timeout: float = 60) -> tuple[str, str]:
    """stdout and stderr of ``process`` once it ends; killed if it runs ``timeout`` seconds more
    (then TimeoutExpired fails the test): a hung rnnkl must not outlive its test."""
    try:
        return process.communicate(timeout=timeout)
    finally:
        process.kill()  # a no-op once it ended


def _fake_batch_system(directory: Path, submit: str, script: str) -> Path:
    """A directory with a fake submit command ``submit`` (bash ``script``; a lock serialises its
    calls, as dask-jobqueue runs them concurrently) and fake cancel commands that log their
    arguments to ``cancelled``."""
    directory.mkdir()
    lock = f'exec 9>"{directory}/lock"; flock 9\n'
    (directory / submit).write_text("#!/bin/bash\n" + lock + script)
    for cancel in ("scancel", "qdel"):
        (directory / cancel).write_text(f'#!/bin/bash\necho "$@" >> "{directory}/cancelled"\n')
    for path in directory.iterdir():
        path.chmod(0o755)
    return directory


# the first submission is accepted (job 4242), every later one refused, as a per-user job limit
ACCEPT_ONE = ('n=$(cat "$(dirname "$0")/count" 2>/dev/null || echo 0)\n'
              'echo $((n + 1)) > "$(dirname "$0")/count"\n'
              'if [ "$n" = 0 ]; then echo "Submitted batch job 4242"; exit 0; fi\n'
              'echo "{submit}: error: job limit reached for user" >&2; exit 1\n')


@pytest.mark.parametrize("system, submit", [("slurm", "sbatch"), ("pbs", "qsub")])
def test_a_refused_submission_is_one_line_and_cancels_the_accepted_jobs(
        distributed_lib, system, submit, tmp_path, monkeypatch, dashboard_port_taken):
    """A batch system that refuses a job (a wrong account, a job limit) used to log tracebacks
    in dask-jobqueue's background task while the command waited for workers that never came
    (seen with an sbatch that exits 1). Now: the batch system's own message on one line, exit 2,
    no output written, and the job it did accept cancelled."""
    fake = _fake_batch_system(tmp_path / "bin", submit, ACCEPT_ONE.format(submit=submit))
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    config = tmp_path / "cluster.toml"
    config.write_text(f'[cluster]\nsystem = "{system}"\njobs = 3\n')
    # a subprocess with a timeout: the old behaviour hung, and a hung test must fail, not wait
    done = subprocess.run([sys.executable, "-m", "proofs_check", "report", "--config",
                           str(config), "--out", str(tmp_path / "out"), "--no-progress"],
                          capture_output=True, text=True, timeout=60)
    err = done.stderr
    assert done.returncode == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{submit} refused the job: {submit}: error: job limit reached for user" in err
    assert (fake / "count").read_text().strip() == "3"  # every job was submitted once
    assert (fake / "cancelled").read_text().split() == ["4242"]
    assert not (tmp_path / "out" / "results.json").exists()


def test_a_silent_submit_command_times_out_in_one_line(distributed_lib, tmp_path, monkeypatch):
    from proofs_check.cluster import submit_jobs
    from proofs_check.executor import ExecutorError

    fake = _fake_batch_system(tmp_path / "bin", "sbatch", "sleep 30\n")
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    spec = read_cluster_table({"system": "slurm", "jobs": 2})
    start = time.monotonic()
    with pytest.raises(ExecutorError, match=r"sbatch did not answer within 1 s") as caught:
        submit_jobs(jobqueue_cluster(spec), spec, timeout=1.0)
    assert "\n" not in str(caught.value)
    assert time.monotonic() - start < 20


def test_accepted_jobs_are_named_and_cancelled_on_close(distributed_lib, tmp_path, monkeypatch):
    """Every submission accepted: the executor starts without waiting for the (queued) jobs,
    says which jobs it submitted, and cancels them when it closes."""
    fake = _fake_batch_system(tmp_path / "bin", "sbatch",
                              'n=$(cat "$(dirname "$0")/count" 2>/dev/null || echo 0)\n'
                              'echo $((n + 1)) > "$(dirname "$0")/count"\n'
                              'echo "Submitted batch job $((100 + n))"\n')
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    executor = open_executor(cluster={"system": "slurm", "jobs": 2})
    try:
        assert "slurm cluster of 2 jobs" in executor.description
        assert "100" in executor.description and "101" in executor.description
    finally:
        executor.close()
    assert sorted((fake / "cancelled").read_text().split()) == ["100", "101"]


def test_a_report_waiting_for_queued_jobs_says_so_and_sigterm_cancels_them(
        distributed_lib, tmp_path, monkeypatch):
    """Jobs accepted but still queued (no worker ever connects here): the report names the jobs
    it waits for on stderr at once, and SIGTERM (a time limit, `kill`) ends it with exit 143
    after cancelling them."""
    fake = _fake_batch_system(tmp_path / "bin", "sbatch", 'echo "Submitted batch job 777"\n')
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    config = tmp_path / "cluster.toml"
    config.write_text('[cluster]\nsystem = "slurm"\n')
    process = subprocess.Popen([sys.executable, "-m", "proofs_check", "report", "--config",
                                str(config), "--out", str(tmp_path / "out")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first: list[str] = []  # the first line on stderr: the notice, once the jobs are submitted
    reader = threading.Thread(target=lambda: first.append(process.stderr.readline()))
    reader.start()
    reader.join(timeout=60)
    time.sleep(1)  # now waiting for workers that never come
    process.send_signal(signal.SIGTERM)
    _, rest = _finish(process)
    err = "".join(first) + rest
    assert process.returncode == 143, err
    assert "rnnkl report: the jobs run on a slurm cluster of 1 jobs (dask-jobqueue; job ids " \
           "777)" in err
    assert err.endswith("rnnkl: terminated\n")
    assert (fake / "cancelled").read_text().split() == ["777"]


def test_workers_that_all_leave_mid_run_end_it_in_one_line(distributed_lib, tmp_path):
    """Every worker of a --scheduler gone mid-run (stopped, or batch jobs at their walltime):
    the report used to wait for ever. Now, after --connect-timeout seconds without a worker,
    one line and exit 2; the finished jobs stay in the cache. A process with a timeout, so the
    old behaviour fails the test instead of hanging it."""
    cluster = distributed_lib.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                           dashboard_address=":0")
    out = tmp_path / "out"
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "proofs_check", "report", "--out", str(out), "--no-progress",
             "--scheduler", cluster.scheduler_address, "--connect-timeout", "3"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 90
        while not list((out / "cache").glob("*.npz")) and time.monotonic() < deadline:
            time.sleep(0.1)  # a first job finished: the run is under way on the worker
        cluster.scale(0)  # every worker leaves
        _, err = _finish(process)
    finally:
        cluster.close()
    assert process.returncode == 2, err
    assert err.count("\n") == 1
    assert "has left, and none came back within 3 s" in err
    assert list((out / "cache").glob("*.npz"))  # what finished is kept for the rerun
