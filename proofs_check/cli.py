"""The ``rnnkl`` command line: one sub-command per capability.

Each sub-command lives in ``proofs_check.commands.<name>`` as ``run(args) -> int`` and is
imported lazily, so ``rnnkl simulate`` does not pay for SymPy code generation or matplotlib.
Exit codes: 0 success, 1 failed check (or stale generated code), 2 bad input.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from derivations.errors import InputError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse that exits with code 2 and a one-line message (its default is also 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"rnnkl: error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rnnkl",
        description="Verify the kernel limit of RNNs trained online on ergodic data "
        "(Lam, Sirignano, Spiliopoulos, arXiv:2308.14555).",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def config_arg(p: argparse.ArgumentParser, required: bool = False) -> None:
        p.add_argument(
            "--config",
            metavar="FILE",
            required=required,
            help="TOML configuration (default: the built-in default configuration)",
        )

    p = sub.add_parser("simulate", help="Monte Carlo of the finite RNN trained by online SGD")
    config_arg(p)
    p.add_argument("--N", type=_positive_int, help="hidden units (overrides run.N)")
    p.add_argument("--replicas", type=_positive_int, help="replicas (overrides run.replicas)")
    p.add_argument("--seed", type=_nonnegative_int, help="root seed (overrides run.seed)")
    p.add_argument("--backend", choices=["numpy", "fast"], help="simulator backend")
    p.add_argument("--out", metavar="FILE", help="JSON output (default: stdout)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    p = sub.add_parser("derive", help="regenerate numerics/generated.py from the derivations")
    p.add_argument(
        "--check", action="store_true", help="exit 1 if the checked-in generated file is stale"
    )

    p = sub.add_parser("equations", help="print every derived equation")
    p.add_argument("--format", choices=["latex", "markdown", "json"], default="markdown")

    p = sub.add_parser("poisson", help="solve the Poisson equation of the chain (MODEL.md §5)")
    config_arg(p)
    p.add_argument("--function", required=True, metavar="EXPR", help="F in x0, x0_1, ...")
    p.add_argument("--exact", action="store_true", help="exact rational arithmetic (SymPy)")
    p.add_argument("--word-length", type=_positive_int, metavar="L", help="use the word chain")
    p.add_argument("--out", metavar="FILE", help="JSON output (default: stdout)")

    p = sub.add_parser("limit", help="the infinite-width limit g_t on words (MODEL.md §3-§4)")
    config_arg(p)
    p.add_argument("--word-length", type=_positive_int, metavar="L")
    p.add_argument("--times", default="0.5,1,2", help="comma-separated times t")
    p.add_argument("--out", metavar="FILE", help="JSON output (default: stdout)")

    p = sub.add_parser("report", help="run every check and write the verification report")
    config_arg(p)
    p.add_argument("--budget", choices=["quick", "standard", "full"], default="quick")
    p.add_argument("--out", metavar="DIR", default="rnnkl-report")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser


# Environment defaults per sub-command, applied (without overriding the user's own values)
# before the command imports NumPy. ``report``: single-threaded OpenBLAS. Its kernel quadrature
# is BLAS-bound, and on the shared 2-core machine OpenBLAS's second thread spin-waits for a busy
# core: measured on the d = 2 example's limit, 48 s wall (46 s CPU) with 2 threads at load 3
# against 17 s with 1 thread. The report's Monte Carlo has its own (numba) threads.
_COMMAND_ENVIRONMENT: dict[str, dict[str, str]] = {"report": {"OPENBLAS_NUM_THREADS": "1"}}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name, value in _COMMAND_ENVIRONMENT.get(args.command, {}).items():
        os.environ.setdefault(name, value)  # effective only if NumPy is not imported yet
    module_name = f"proofs_check.commands.{args.command}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name == module_name:
            sys.stderr.write(f"rnnkl: error: '{args.command}' is not implemented yet\n")
            return EXIT_BAD_INPUT
        raise
    try:
        return int(module.run(args))
    except InputError as err:
        sys.stderr.write(f"rnnkl: error: {err}\n")
        return EXIT_BAD_INPUT
    except OSError as err:
        sys.stderr.write(f"rnnkl: error: {err.strerror or err}: {err.filename or ''}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write("rnnkl: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
