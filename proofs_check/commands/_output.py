"""Where a command's results go, and the configuration it reads.

Output rule of ``rnnkl simulate`` and ``rnnkl limit`` (README, "Commands"):
* ``--out FILE``: the JSON document goes to FILE; a terminal also gets the short summary;
* no ``--out``, stdout a terminal: the short human summary only (no megabytes of JSON);
* no ``--out``, stdout a file or a pipe: the JSON document on stdout, nothing else there.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from derivations.errors import InputError
from derivations.inputs.files import LoadedConfig, load_layers
from numerics.progress import is_terminal
from proofs_check.executor import Executor

# Command-line flags that set one configuration field (applied after --config, before --set).
FLAG_FIELDS = {"N": "run.N", "replicas": "run.replicas", "seed": "run.seed",
               "backend": "run.backend", "word_length": "limit.word_length"}


def loaded_config(args: argparse.Namespace) -> LoadedConfig:
    """The configuration of a command: the built-in default, --config, the flags of
    :data:`FLAG_FIELDS`, then --set, each validated like the file (derivations.inputs.files).
    The file's ``[cluster]`` section is validated too (proofs_check.cluster), by every command:
    a mistyped key is found by ``rnnkl config`` or ``rnnkl simulate``, not first on the cluster
    by the report; only report and sweep use it."""
    loaded = load_layers(getattr(args, "config", None), config_assignments(args))
    if loaded.cluster is not None:
        from proofs_check.cluster import read_cluster_table

        read_cluster_table(loaded.cluster)
    return loaded


def config_assignments(args: argparse.Namespace) -> list[str]:
    """The ``table.key=value`` layers a command's flags ask for: the flags of
    :data:`FLAG_FIELDS`, then --set, in order."""
    assignments = [f"{field}={json.dumps(getattr(args, flag))}"
                   for flag, field in FLAG_FIELDS.items() if getattr(args, flag, None) is not None]
    return assignments + list(getattr(args, "set", None) or [])


def check_out_file(out: str | None) -> None:
    """Before any work: ``--out FILE`` must name a file in an existing directory (a result
    computed for minutes must not be lost at the end to a mistyped path). One line."""
    if not out:
        return
    path = Path(out)
    if path.is_dir():
        raise InputError(f"--out {out}: is a directory (give a file name)")
    parent = path.parent
    if not parent.is_dir():
        what = "is not a directory" if parent.exists() else "does not exist"
        raise InputError(f"--out {out}: its directory {parent} {what}")


def prepare_out_dir(out_dir: str) -> None:
    """Before any work: create ``--out DIR`` (and its parents) or say in one line why not."""
    path = Path(out_dir)
    if path.exists() and not path.is_dir():
        raise InputError(f"--out {out_dir}: is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"--out {out_dir}: cannot create it ({err.strerror or err})") from None


def write_output(text: str, out: str | None) -> None:
    """Write ``text`` plus a newline to the file ``out`` (UTF-8), or to stdout when None."""
    if out:
        try:
            with open(out, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
        except OSError as err:  # a write error (disk full) carries no file name: add it
            raise OSError(err.errno, err.strerror or str(err), err.filename or out) from err
    else:
        sys.stdout.write(text + "\n")


def emit(document: Callable[[], str], summary: Callable[[], str], out: str | None) -> None:
    """Apply the output rule of the module docstring; ``document`` (the JSON text) and
    ``summary`` (lines for a person) are computed only when needed."""
    terminal = is_terminal(sys.stdout)
    if out:
        write_output(document(), out)
        if terminal:
            sys.stdout.write(summary() + f"\nwrote the JSON document to {out}\n")
    elif terminal:
        sys.stdout.write(summary() + "\n(the JSON document: add --out FILE, or pipe stdout)\n")
    else:
        write_output(document(), None)


@contextmanager
def command_executor(args: argparse.Namespace, cluster: Any) -> Iterator[Executor]:
    """The executor of a command's --workers / --scheduler / --connect-timeout flags, else of
    the config file's [cluster] table ``cluster`` (LoadedConfig.cluster), else serial
    (proofs_check.cluster), for a ``with`` block that closes it. Unless --no-progress, a
    parallel executor is named on stderr when it starts: batch jobs may wait in the queue for
    long before the first check moves, and the line says which jobs (their ids) it waits for."""
    from proofs_check.cluster import executor_scope

    with executor_scope(*_executor_request(args, cluster)) as executor:
        if executor.parallel and not getattr(args, "no_progress", False):
            sys.stderr.write(f"rnnkl {args.command}: the jobs run on {executor.description}; "
                             "the checks move as its workers take them\n")
        yield executor


def check_executor_flags(args: argparse.Namespace, cluster: Any) -> None:
    """Refuse a bad executor request (proofs_check.cluster.check_request) in one line before
    the command writes anything (its --out directory)."""
    from proofs_check.cluster import check_request

    check_request(*_executor_request(args, cluster))


def _executor_request(args: argparse.Namespace, cluster: Any
                      ) -> tuple[int | None, str | None, Any, float]:
    from proofs_check.cluster import CONNECT_TIMEOUT

    scheduler, timeout = getattr(args, "scheduler", None), getattr(args, "connect_timeout", None)
    if timeout is not None and scheduler is None:  # it would be ignored without a word
        raise InputError("--connect-timeout applies to --scheduler only, and no --scheduler "
                         "was given")
    return (getattr(args, "workers", None), scheduler, cluster,
            CONNECT_TIMEOUT if timeout is None else float(timeout))
