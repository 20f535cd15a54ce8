"""The executor seam without Dask (issue 16): the [cluster] section's validation, the flags'
one-line errors, the cache's submit / collect path under a parallel executor (here one that
defers each job to the moment it is collected, in this process), and what a job pickles.
The Dask runs themselves are in tests/distributed (extra ``distributed``)."""

from __future__ import annotations

import dataclasses
import functools
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from derivations.inputs.config import load_config, with_overrides
from derivations.inputs.files import load_layers
from proofs_check.budget import TINY
from proofs_check.cache import Cache, Job, code_salt
from proofs_check.checks import CheckContext
from proofs_check.cli import main
from proofs_check.cluster import (
    ClusterSpec,
    _submit_failure,
    check_request,
    open_executor,
    read_cluster_table,
)
from proofs_check.executor import ExecutorError, SerialExecutor
from proofs_check.report import results_json, run_checks


class DeferredExecutor:
    """A 'parallel' executor that runs each job when it is collected, in this process: the
    cache's parallel path (submit early, compute_entry, collect) without concurrency."""

    parallel = True
    description = "deferred (test)"

    def __init__(self) -> None:
        self.names: list[str] = []

    def submit(self, name, function, *args):
        self.names.append(name)
        return functools.partial(function, *args)

    def result(self, handle):
        return handle()

    def close(self) -> None:
        return None


@pytest.mark.parametrize("table, message", [
    ({}, "cluster.system: missing"),
    ({"system": "sge"}, 'cluster.system: expected "slurm" or "pbs"'),
    ({"system": "slurm", "nodes": 2}, "cluster.nodes: unknown key"),
    ({"system": "slurm", "jobs": 0}, "cluster.jobs: must be between 1 and 1000"),
    ({"system": "slurm", "jobs": "2"}, "cluster.jobs: expected an integer"),
    ({"system": "slurm", "cores": 2, "processes": 3}, "cluster.processes: must be between 1 and 2"),
    ({"system": "slurm", "memory": "lots"}, "cluster.memory: expected a size"),
    ({"system": "pbs", "walltime": "1h"}, "cluster.walltime: expected HH:MM:SS"),
    ({"system": "pbs", "queue": "a;rm -rf ~"}, "cluster.queue: expected a queue name"),
    ({"system": "pbs", "directives": ["ok", "x\n#PBS -l evil"]}, "cluster.directives"),
    ({"system": "pbs", "directives": "--qos=x"}, "cluster.directives: expected an array"),
    # whitelists match the whole string: nothing may trail a valid start into the job script
    ({"system": "slurm", "memory": "8GiB; rm -rf ~"}, "cluster.memory: expected a size"),
    ({"system": "slurm", "walltime": "01:99:00"}, "cluster.walltime: expected HH:MM:SS"),
    ({"system": "slurm", "account": "ml theory"}, "cluster.account: expected an account name"),
    ("slurm", "cluster: must be a table"),
])
def test_bad_cluster_section_is_one_line(table, message):
    with pytest.raises(ExecutorError) as info:
        read_cluster_table(table)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_cluster_section_defaults_and_values():
    assert read_cluster_table({"system": "slurm"}) == ClusterSpec(system="slurm")
    spec = read_cluster_table({"system": "pbs", "jobs": 4, "cores": 16, "processes": 8,
                               "memory": "64GiB", "walltime": "12:00:00", "queue": "long",
                               "account": "ml.theory", "directives": ["-l place=scatter"]})
    assert (spec.jobs, spec.cores, spec.processes, spec.memory) == (4, 16, 8, "64GiB")
    assert spec.directives == ("-l place=scatter",)


@given(st.dictionaries(st.sampled_from(["system", "jobs", "cores", "processes", "memory",
                                        "walltime", "queue", "account", "directives", "x"]),
                       st.one_of(st.text(max_size=30), st.integers(-5, 5000),
                                 st.lists(st.text(max_size=20), max_size=3), st.none()),
                       max_size=6))
def test_any_cluster_table_is_accepted_or_refused_in_one_line(table):
    try:
        spec = read_cluster_table(table)
    except ExecutorError as err:
        assert "\n" not in str(err) and str(err).startswith("cluster")
    else:
        assert spec.system in ("slurm", "pbs") and 1 <= spec.processes <= spec.cores


def test_the_cluster_section_is_not_part_of_the_config(tmp_path):
    """Where a run computes never changes what it computes: same Config, same cache keys."""
    plain = tmp_path / "plain.toml"
    plain.write_text('[network]\nbeta = 0.7\n')
    with_cluster = tmp_path / "cluster.toml"
    with_cluster.write_text('[network]\nbeta = 0.7\n\n[cluster]\nsystem = "slurm"\njobs = 2\n')
    a, b = load_layers(plain), load_layers(with_cluster)
    assert a.config == b.config and a.cluster is None
    assert b.cluster == {"system": "slurm", "jobs": 2}
    cache = Cache(None, salt="s")
    assert cache.key("x", {"config": a.config}) == cache.key("x", {"config": b.config})


@pytest.mark.parametrize("argv, message", [
    (["--workers", "0"], "--workers: must be between 1 and 64"),
    (["--workers", "65"], "--workers: must be between 1 and 64"),
    (["--scheduler", "not an address"], "--scheduler: expected HOST:PORT"),
    (["--scheduler", "tcp://h:1", "--connect-timeout", "0"], "--connect-timeout"),
    # was silently ignored: it applies to --scheduler only
    (["--connect-timeout", "5"], "--connect-timeout applies to --scheduler only"),
    (["--workers", "2", "--connect-timeout", "5"], "--connect-timeout applies to --scheduler"),
])
@pytest.mark.parametrize("command", [["report"], ["sweep", "--vary", "network.beta=0.6,0.7"]])
def test_bad_executor_flags_exit_2_one_line(command, argv, message, capsys, tmp_path):
    """Refused before anything is written: the --out directory is not even created."""
    out = tmp_path / "out"
    code = main([*command, "--out", str(out), "--no-progress", *argv])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err
    assert not out.exists()


@pytest.mark.parametrize("command", [["report"], ["sweep", "--vary", "network.beta=0.6,0.7"]])
def test_bad_cluster_section_in_a_config_exits_2(command, capsys, tmp_path):
    """Refused before anything is written, like a bad flag: the --out directory is not created
    (the table is checked with the flags, not only when the executor opens)."""
    path = tmp_path / "c.toml"
    path.write_text('[cluster]\nsystem = "slurm"\nwalltime = "forever"\n')
    out = tmp_path / "o"
    code = main([command[0], "--config", str(path), *command[1:], "--out", str(out),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "cluster.walltime" in err
    assert not out.exists()


@pytest.mark.parametrize("argv", [
    ["config"], ["simulate", "--N", "4", "--replicas", "1"], ["limit", "--word-length", "1"],
    ["poisson", "--function", "x0"],
])
def test_every_command_refuses_a_bad_cluster_section(argv, capsys, tmp_path):
    """Was: rnnkl config printed the configuration of a file whose [cluster] had a bad key (and
    dropped the section), and simulate, limit and poisson ran; the mistake surfaced only when
    the report reached the cluster."""
    path = tmp_path / "c.toml"
    path.write_text('[cluster]\nsystem = "kubernetes"\n')
    code = main([argv[0], "--config", str(path), *argv[1:]])
    captured = capsys.readouterr()
    assert code == 2 and captured.err.count("\n") == 1 and "cluster.system" in captured.err
    assert captured.out == ""


def test_rnnkl_config_prints_the_cluster_section_it_reads_back(capsys, tmp_path):
    """rnnkl config prints the effective configuration: the [cluster] section too, every key
    with its default, and the printed TOML reads back to the same configuration and spec."""
    import tomllib

    table = {"system": "pbs", "cores": 8, "processes": 4, "queue": "long",
             "directives": ["-l place=scatter"]}
    path = tmp_path / "c.toml"
    path.write_text('[network]\nbeta = 0.7\n\n[cluster]\nsystem = "pbs"\ncores = 8\n'
                    'processes = 4\nqueue = "long"\ndirectives = ["-l place=scatter"]\n')
    assert main(["config", "--config", str(path)]) == 0
    printed = capsys.readouterr().out
    again = tmp_path / "again.toml"
    again.write_text(printed)
    spec = read_cluster_table(table)
    assert read_cluster_table(tomllib.loads(printed)["cluster"]) == spec
    assert tomllib.loads(printed)["cluster"]["walltime"] == spec.walltime  # defaults shown
    assert load_layers(again).config == load_layers(path).config
    assert main(["config"]) == 0 and "[cluster]" not in capsys.readouterr().out


def test_without_the_extra_the_flags_name_it(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    code = main(["report", "--out", str(tmp_path / "out"), "--no-progress", "--workers", "2"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "pip install 'rnn-kernel-limit[distributed]'" in err
    assert not (tmp_path / "out").exists()


def test_serial_is_the_default():
    executor = open_executor()
    assert isinstance(executor, SerialExecutor) and not executor.parallel
    assert isinstance(Cache(None, salt="s").executor, SerialExecutor)


def test_a_job_pickles_without_the_drivers_state(tmp_path):
    cache = Cache(tmp_path, salt="s")
    cache.get_or_compute("k", {"a": 1}, lambda: {"x": np.arange(3)})
    context = CheckContext(load_config(None), TINY, cache, 7, progress=lambda f: print(f))
    copy = pickle.loads(pickle.dumps(context))
    assert (copy.config, copy.budget, copy.seed) == (context.config, TINY, 7)
    assert copy.cache.directory == tmp_path and copy.cache.salt == "s"
    assert copy.cache._memory == {} and copy.cache.hits == 0  # no arrays travel
    assert copy.progress(0.5) is None  # the driver's progress callback stays home


def test_parallel_path_gives_the_serial_numbers_and_entries(tmp_path):
    config = with_overrides(load_config(None), word_length=3)
    config = config.replace(training=dataclasses.replace(config.training, horizon=1.0))
    salt = code_salt()
    docs, entries = [], []
    for name, executor in (("serial", None), ("deferred", DeferredExecutor())):
        out = tmp_path / name
        report = run_checks(config, TINY, out, progress=False, crosschecks=False,
                            cache=Cache(out / "cache", salt, executor=executor))
        doc = json.loads(json.dumps(results_json(report)))
        for check in doc["checks"]:
            check.pop("seconds", None)
        docs.append(doc)
        entries.append({p.name: p.read_bytes() for p in sorted((out / "cache").glob("*.npz"))})
    assert docs[0] == docs[1]
    assert entries[0] == entries[1] and entries[0]
    # every expensive job went through the executor, the ladder's first (largest first)
    submitted = executor.names
    assert len(submitted) == len(entries[1]) == len(set(submitted))
    assert submitted[0].startswith("simulation-")


def test_driver_stores_what_a_worker_could_not(tmp_path):
    """A worker whose filesystem is not the driver's: the driver writes the entry itself."""

    class ElsewhereExecutor(DeferredExecutor):
        def submit(self, name, function, *args):
            directory, *rest = args
            return functools.partial(function, None, *rest)  # the worker has no such folder

    cache = Cache(tmp_path, salt="s", executor=ElsewhereExecutor())
    job = Job("k", {"a": 1}, lambda: {"x": np.arange(4.0)})
    cache.submit(job)
    assert np.array_equal(cache.get(job)["x"], np.arange(4.0))
    again = Cache(tmp_path, salt="s")
    assert np.array_equal(again.get(job)["x"], np.arange(4.0)) and again.hits == 1


def test_a_worker_with_other_code_refuses(tmp_path, monkeypatch):
    """The refusal is an ExecutorError (exit 2, one line), which ends a run rather than
    failing each check: a stale install on the workers says nothing about the theory."""
    from proofs_check.cache import compute_entry
    from proofs_check.executor import ExecutorError
    from proofs_check.report import _run_one

    with pytest.raises(ExecutorError, match="another version"):
        compute_entry(str(tmp_path), "s", "k", {}, lambda: {"x": np.zeros(1)}, "other")
    assert not list(Path(tmp_path).glob("*.npz"))

    class StaleWorkers:  # a check whose jobs meet a worker with other code
        @staticmethod
        def run(context):
            return compute_entry(str(tmp_path), "s", "k", {}, lambda: {"x": np.zeros(1)},
                                 "other")

    monkeypatch.setattr("proofs_check.report._load_check", lambda name: StaleWorkers)
    with pytest.raises(ExecutorError):
        _run_one("stale", None)


@pytest.mark.parametrize("jobqueue_installed", [True, False])
@pytest.mark.parametrize(("system", "command"), [("slurm", "sbatch"), ("pbs", "qsub")])
def test_a_cluster_section_without_its_submit_command_is_one_line(
        system, command, jobqueue_installed, monkeypatch, capsys, tmp_path):
    """`[cluster] system = "slurm"` where sbatch is not installed used to log tornado tracebacks
    and wait for workers that never came; now it is refused before anything starts. The batch
    system's command is named first, with or without the extra (a laptop has neither)."""
    import shutil

    from proofs_check import cluster

    if not jobqueue_installed:
        monkeypatch.setitem(sys.modules, "dask_jobqueue", None)  # import -> ImportError

    real_which = shutil.which
    monkeypatch.setattr(cluster.shutil, "which",
                        lambda name, *a, **k: None if name == command else real_which(name))

    def started(*args, **kwargs):  # fail fast, where the real cluster would wait forever
        raise AssertionError("a batch cluster was started without its submit command")

    monkeypatch.setattr(cluster, "jobqueue_cluster", started)
    path = tmp_path / "c.toml"
    path.write_text(f'[cluster]\nsystem = "{system}"\n')
    code = main(["report", "--config", str(path), "--out", str(tmp_path / "o"),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"its submit command {command} is not on this machine's PATH" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("address", ["tcp://h:8786 --evil", "h:8786/x", "h:87861x"])
def test_a_scheduler_address_with_anything_after_the_port_is_refused(address):
    with pytest.raises(ExecutorError, match=r"^--scheduler: expected HOST:PORT"):
        check_request(scheduler=address)


@pytest.mark.parametrize("timeout", [0.0, -1.0, 3600.5])
def test_the_connect_timeout_is_in_zero_to_an_hour(timeout):
    with pytest.raises(ExecutorError, match=r"^--connect-timeout: must be in \(0, 3600\]"):
        check_request(scheduler="tcp://h:1", timeout=timeout)


@pytest.mark.parametrize("error, phrase", [
    (TimeoutError(), "did not answer within 7 s (TimeoutError)"),
    (RuntimeError("  \n "), "did not answer within 7 s (RuntimeError)"),
    (RuntimeError("Command exited with non-zero exit code.\nExit code: 1\nCommand:\nsbatch "
                  "x.sh\nstdout:\n\nstderr:\n\nsbatch: error: invalid account\nmore\n"),
     "refused the job: sbatch: error: invalid account"),
    (RuntimeError("\nno route to host\nsecond line"), "refused the job: no route to host"),
    (RuntimeError("x" * 500), "refused the job: " + "x" * 200),
])
def test_a_failed_submission_is_named_in_one_phrase(error, phrase):
    """The batch system's own first line after dask-jobqueue's "stderr:", else the error's
    first line, at most 200 characters; a timeout or a blank error says it did not answer."""
    text = _submit_failure(error, 7.0)
    assert text.startswith(phrase) and "\n" not in text
    if phrase.startswith("refused"):
        assert text == phrase


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []

    def factory(self, name: str):
        def record(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return name
        return record


def test_local_workers_share_the_cores_out(monkeypatch):
    """--workers K: each worker process gets cores // K compute threads (at least 1), so K
    workers do not oversubscribe the machine; the Dask cluster itself is faked here."""
    import types

    from proofs_check import cluster

    recorder = _Recorder()
    fake = types.SimpleNamespace(LocalCluster=recorder.factory("cluster"),
                                 Client=recorder.factory("client"))
    monkeypatch.setattr(cluster, "require_distributed", lambda: fake)
    for cores, workers, threads in ((8, 3, "2"), (2, 4, "1"), (16, 16, "1")):
        monkeypatch.setattr(cluster, "available_cores", lambda cores=cores: cores)
        recorder.calls.clear()
        client, owned, description = cluster._local(workers)
        (name, _, kwargs), = [call for call in recorder.calls if call[0] == "cluster"]
        assert kwargs["n_workers"] == workers and kwargs["threads_per_worker"] == 1
        assert kwargs["env"] == {"NUMBA_NUM_THREADS": threads, "RNNKL_THREADS": threads}
        assert description == f"a local Dask cluster of {workers} workers"


def test_a_remote_scheduler_is_waited_for_as_long_as_the_connect_timeout(monkeypatch):
    """--connect-timeout is also the patience with a scheduler whose workers are all gone;
    a local cluster keeps the executor's own grace."""
    from proofs_check import cluster, executor

    recorder = _Recorder()
    monkeypatch.setattr(cluster, "require_distributed", lambda: None)
    monkeypatch.setattr(cluster, "_remote", lambda address, timeout: ("c", None, "remote"))
    monkeypatch.setattr(cluster, "_local", lambda workers: ("c", "owned", "local"))
    monkeypatch.setattr(cluster, "DaskExecutor", recorder.factory("executor"))
    cluster.open_executor(scheduler="tcp://h:1", timeout=42.0)
    cluster.open_executor(workers=2, timeout=42.0)
    graces = [args[3] for _, args, _ in recorder.calls]
    assert graces == [42.0, executor.WORKERLESS_GRACE] and executor.WORKERLESS_GRACE != 42.0


def test_the_submission_timeout_grows_with_the_jobs(monkeypatch):
    """Without a stated timeout, the batch system has SUBMIT_TIMEOUT plus
    SUBMIT_TIMEOUT_PER_JOB per job to answer: 120 + 1 * 5 = 125 s for five jobs."""
    import types

    from proofs_check import cluster

    status = types.SimpleNamespace(failed="failed", closing="closing")
    monkeypatch.setattr(cluster, "require_distributed",
                        lambda: types.SimpleNamespace(core=types.SimpleNamespace(Status=status)))
    seen: list[float] = []

    class SilentCluster:
        def __init__(self) -> None:
            self.worker_spec: dict[int, object] = {}
            self._created: list[object] = []

        def new_worker_spec(self) -> dict[int, object]:
            return {len(self.worker_spec): object()}

        def _correct_state(self) -> None:
            return None

        def sync(self, function, callback_timeout: float) -> None:
            seen.append(callback_timeout)
            raise TimeoutError

        def close(self) -> None:
            return None

    spec = read_cluster_table({"system": "slurm", "jobs": 5})
    with pytest.raises(ExecutorError, match=r'^\[cluster\] system = "slurm": sbatch did not '
                       r"answer within 125 s"):
        cluster.submit_jobs(SilentCluster(), spec)
    assert seen == [125.0]
