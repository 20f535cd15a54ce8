"""``rnnkl derive [--check]``: regenerate numerics/generated.py from the derivations, or check
that the checked-in file is fresh (exit 1 with a message when stale)."""

from __future__ import annotations

import argparse
import sys

from derivations.codegen import check_generated, write_generated


def run(args: argparse.Namespace) -> int:
    if getattr(args, "check", False):
        fresh, message = check_generated()
        (sys.stdout if fresh else sys.stderr).write(f"rnnkl derive: {message}\n")
        return 0 if fresh else 1
    path = write_generated()
    sys.stdout.write(f"rnnkl derive: wrote {path}\n")
    return 0
