"""The ``rnnkl`` command line: one sub-command per capability.

Each sub-command lives in ``proofs_check.commands.<name>`` as ``run(args) -> int`` and is
imported lazily, so ``rnnkl simulate`` does not pay for SymPy code generation or matplotlib.
Exit codes: 0 success, 1 failed check (or stale generated code), 2 bad input (including a
request too large for the memory cap), 3 an internal error (a bug: one line, the traceback only
with --debug), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM: raised as :class:`Terminated`,
so every ``finally`` runs: a cluster's batch jobs are cancelled, progress bars closed;
proofs_check.termination).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from derivations.errors import InputError, reads_as_zero
from numerics.task_pool import thread_count
from proofs_check.termination import Terminated, sigterm_raises, stop_if_terminated
from proofs_check.threads import blas_environment_pinned, blas_on_one_thread

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process that SIGTERM ended


def package_version() -> str:
    """The installed version of rnn-kernel-limit (``rnnkl --version``)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rnn-kernel-limit")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown (not installed)"


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line on stderr and exit 2 (bad input)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse quotes the offending value in full (e.g. "invalid choice: '999...'"): cut it
        sys.stderr.write(f"{self.prog}: error: {_one_line(message)} (see {self.prog} --help)\n")
        raise SystemExit(EXIT_BAD_INPUT)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help text as written (the defaults are stated in each flag's own help)."""


def _shown(text: str) -> str:
    """A command-line value for a message: quoted, at most 24 characters."""
    return repr(text) if len(text) <= 24 else repr(text[:24]) + "..."


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:  # also a number beyond Python's 4300-digit conversion limit
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {_shown(text)}") from None
    if value <= 0 or value > 10**18:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer up to 1e18, got {_shown(text)}")
    return value


def _real(text: str, expected: str, accepts: Callable[[float], bool]) -> float:
    """A number typed on the command line: ``float(text)`` when ``accepts`` it (nan fails
    every comparison), else one line "expected <expected>, got <text>"; a nonzero number that
    double precision reads as 0 (derivations.errors.reads_as_zero) is refused as such."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {_shown(text)}") from None
    if reads_as_zero(text):
        raise argparse.ArgumentTypeError(
            f"{_shown(text)} is beyond double precision (it would be read as 0)")
    if not accepts(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {_shown(text)}")
    return value


def _accuracy(text: str) -> float:
    """A target error of the limit g_t: a finite number in (0, 1]."""
    return _real(text, "a number in (0, 1]", lambda value: 0.0 < value <= 1.0)


def _seconds(text: str) -> float:
    """A time limit in seconds: a finite number >= 0 (0: no limit)."""
    return _real(text, "seconds >= 0", lambda value: 0.0 <= value < float("inf"))


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {_shown(text)}") from None
    if value < 0 or value > 10**18:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 1e18], got {_shown(text)}")
    return value


def _add_version(p: argparse.ArgumentParser) -> None:
    """--version and --debug, on the top level and on every command."""
    p.add_argument("--version", action="version", version=f"rnnkl {package_version()}",
                   help="print the version and exit")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="on an internal error print the full traceback (default: one line)")


def _add_config(p: argparse.ArgumentParser) -> None:
    """--config and --set, on every command that reads a configuration."""
    p.add_argument(
        "--config", metavar="FILE",
        help="TOML configuration; a partial file is merged over the built-in default "
        "(default: the built-in default configuration; see `rnnkl config --show-default`)")
    p.add_argument(
        "--set", action="append", default=[], metavar="TABLE.KEY=VALUE", dest="set",
        help="override one configuration field, validated like the file, e.g. "
        "--set network.beta=0.6 --set network.activation=erf (repeatable; applied after "
        "--config, in order; default: none)")


def _add_memory_cap(p: argparse.ArgumentParser) -> None:
    p.add_argument("--memory-cap", metavar="SIZE",
                   help="refuse requests whose estimated peak memory exceeds SIZE, e.g. 8GiB "
                   "(default: RNNKL_MEMORY_CAP, else half of this machine's physical memory)")


def _add_progress(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--no-progress", action="store_true",
                   help=f"print no {what} on stderr (default: shown)")


def _add_backend(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=["numpy", "fast"],
                   help="simulator backend: fast (compiled with numba) or numpy (the reference) "
                   "(default: run.backend of the configuration, fast in the built-in default)")


def _add_executor(p: argparse.ArgumentParser) -> None:
    from proofs_check.cluster import CONNECT_TIMEOUT  # light: Dask is imported only when used

    group = p.add_mutually_exclusive_group()
    group.add_argument("--workers", type=int, metavar="K",
                       help="run the expensive jobs on a local Dask cluster of K worker "
                       "processes (extra 'distributed'; default: serially in this process, or "
                       "the config's [cluster] section)")
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="run the expensive jobs on the workers of the running Dask "
                       "scheduler at ADDRESS, e.g. tcp://10.0.0.5:8786 (extra 'distributed'; "
                       "default: none)")
    p.add_argument("--connect-timeout", type=float, default=None, metavar="SECONDS",
                   help="give up on an unreachable --scheduler, or one without workers (at the "
                   "start, or all gone later), after SECONDS (only with "
                   f"--scheduler; default: {CONNECT_TIMEOUT:g})")


def _add_json_out(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="FILE",
                   help="write the JSON document to FILE (default: JSON on stdout when stdout "
                   "is not a terminal, else a short human summary)")


def build_parser() -> argparse.ArgumentParser:
    """The ``rnnkl`` argument parser (every flag states its default in its help)."""
    parser = _Parser(
        prog="rnnkl",
        description="Verify the kernel limit of RNNs trained online on ergodic data "
        "(Lam, Sirignano, Spiliopoulos, arXiv:2308.14555).",
        epilog="Exit codes: 0 success, 1 a failed check, 2 bad input or a request larger than "
        "the memory cap, 3 internal error (rerun with --debug), 130 interrupted, 143 "
        "terminated (SIGTERM).",
    )
    _add_version(parser)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser,
                                metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text,
                           formatter_class=_HelpFormatter)
        _add_version(p)
        return p

    p = command("simulate", "Monte Carlo of the finite RNN trained by online SGD")
    _add_config(p)
    p.add_argument("--N", type=_positive_int,
                   help="hidden units (default: run.N of the configuration, 4000 in the default)")
    p.add_argument("--replicas", type=_positive_int,
                   help="independent replicas (default: run.replicas, 4 in the default)")
    p.add_argument("--seed", type=_nonnegative_int,
                   help="root seed (default: run.seed, 0 in the default)")
    _add_backend(p)
    _add_json_out(p)
    _add_memory_cap(p)
    _add_progress(p, "progress bar")

    p = command("derive", "regenerate numerics/generated.py from the derivations")
    p.add_argument("--check", action="store_true",
                   help="only check: exit 1 if the checked-in generated file is stale "
                   "(default: regenerate it)")

    p = command("equations", "print every derived equation")
    p.add_argument("--format", choices=["latex", "markdown", "json"], default="markdown",
                   help="output format (default: markdown)")

    p = command("poisson", "solve the Poisson equation of the data chain")
    _add_config(p)
    p.add_argument("--function", required=True, metavar="EXPR",
                   help="F as an expression in x0 (or x0_1 .. x0_d), with --word-length also "
                   "the lags x1, x2, ... (required)")
    p.add_argument("--exact", action="store_true",
                   help="exact rational arithmetic with SymPy (default: double precision)")
    p.add_argument("--word-length", type=_positive_int, metavar="L",
                   help="solve on the chain of words of length L (default: on the states)")
    p.add_argument("--out", metavar="FILE", help="write the JSON there (default: stdout)")
    p.add_argument("--time-limit", type=_seconds, default=60.0, metavar="SECONDS",
                   help="with --exact: stop a symbolic step that runs longer than this; 0 for "
                   "no limit (default: 60)")
    _add_memory_cap(p)

    p = command("limit", "the infinite-width limit g_t on words")
    _add_config(p)
    p.add_argument("--word-length", type=_positive_int, metavar="L",
                   help="word length L (default: limit.word_length, 6 in the default)")
    p.add_argument("--times", default="0.5,1,2", metavar="T1,T2,...",
                   help="comma-separated training times t (default: 0.5,1,2)")
    p.add_argument("--accuracy", type=_accuracy, metavar="DELTA",
                   help="choose the word length as the report does: the shortest L up to "
                   "--word-length whose estimated error delta (quadrature + spectral + "
                   "truncation + rounding, max over times; the truncation the larger of its "
                   "senses along paths and at the words) is <= DELTA, with the "
                   "cheapest quadrature rule meeting 1%% of it (default: no choice; the word "
                   "length given, the finest rule)")
    _add_json_out(p)
    _add_memory_cap(p)
    _add_progress(p, "progress lines")

    p = command("report", "run every check and write the verification report")
    _add_config(p)
    p.add_argument("--budget", choices=["quick", "standard", "full"], default="quick",
                   help="Monte Carlo budget: quick (minutes), standard (under 20 minutes on 2 "
                   "cores), full (hours) (default: quick)")
    p.add_argument("--out", metavar="DIR", default="rnnkl-report",
                   help="directory for report.md, report.html, results.json, figures/ and the "
                   "resumable cache (default: rnnkl-report)")
    _add_backend(p)
    p.add_argument("--strict", action="store_true",
                   help="exit 1 also when a check is inconclusive (default: exit 1 only when a "
                   "check fails)")
    _add_executor(p)
    _add_memory_cap(p)
    _add_progress(p, "progress bar or per-check lines")

    p = command("sweep", "run the rate checks over a grid of config values (phase diagram)")
    _add_config(p)
    p.add_argument("--vary", action="append", required=True, metavar="TABLE.KEY=A:B:N",
                   help="a numeric config field and its values: A:B:N (N evenly spaced values) "
                   "or V1,V2,...; repeat for a second field (required; at most two)")
    p.add_argument("--budget", choices=["quick", "standard", "full"], default="quick",
                   help="Monte Carlo budget of every point (default: quick)")
    p.add_argument("--out", metavar="DIR", default="rnnkl-sweep",
                   help="directory for sweep.md, sweep.html, sweep.json, figures/ and the "
                   "resumable cache (default: rnnkl-sweep)")
    _add_backend(p)
    _add_executor(p)
    _add_memory_cap(p)
    _add_progress(p, "per-check progress lines")

    p = command("config", "print the effective configuration as TOML")
    _add_config(p)
    p.add_argument("--show-default", action="store_true",
                   help="print the built-in default configuration file, with its comments "
                   "(default: print the effective configuration)")
    return parser


def command_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """name -> sub-parser of every ``rnnkl`` command (the generated CLI reference, tests)."""
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure ends in one line on stderr and an exit code (module
    docstring). ``--debug`` (or RNNKL_DEBUG=1) re-raises internal errors with their traceback."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if any("\x00" in arg for arg in argv):  # no OS argv holds one; main() called directly can
        sys.stderr.write("rnnkl: error: an argument contains a NUL byte, which no file name or "
                         "value may hold\n")
        return EXIT_BAD_INPUT
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False)) or os.environ.get("RNNKL_DEBUG", "") == "1"
    try:
        thread_count()  # RNNKL_THREADS checked before any work (numerics.task_pool)
        # BLAS on one thread in every command (proofs_check.threads): no result's bits depend
        # on the thread count. The environment before the command imports NumPy and SciPy, the
        # limit of threadpoolctl for what an in-process caller had loaded before.
        with sigterm_raises(), blas_environment_pinned():
            module = importlib.import_module(f"proofs_check.commands.{args.command}")
            with blas_on_one_thread():
                code = int(module.run(args))
            stop_if_terminated()  # a SIGTERM whose exception a finalizer swallowed
            return code
    except Terminated:
        sys.stderr.write("rnnkl: terminated\n")
        return EXIT_TERMINATED
    except InputError as err:
        sys.stderr.write(f"rnnkl: error: {_one_line(str(err))}\n")
        return EXIT_BAD_INPUT
    except OSError as err:
        where = f": {err.filename}" if err.filename else ""
        sys.stderr.write(f"rnnkl: error: {_one_line(err.strerror or str(err))}{where}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write("rnnkl: interrupted\n")
        return EXIT_INTERRUPTED
    except MemoryError:
        if debug:
            raise
        sys.stderr.write("rnnkl: error: out of memory although the request fitted the memory "
                         "cap; lower --memory-cap or the request (rerun with --debug for the "
                         "traceback)\n")
        return EXIT_INTERNAL
    except Exception as err:  # the guard of last resort: a bug, reported in one line
        if debug:
            raise
        sys.stderr.write(f"rnnkl: internal error: {type(err).__name__}: "
                         f"{_one_line(str(err))} (a bug; rerun with --debug for the traceback "
                         "and report it)\n")
        return EXIT_INTERNAL


def _one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line of at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


if __name__ == "__main__":
    raise SystemExit(main())
