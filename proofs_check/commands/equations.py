"""``rnnkl equations [--format latex|markdown|json]``: print every derived equation."""

from __future__ import annotations

import argparse
import sys

from derivations.equations import render


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(render(getattr(args, "format", "markdown")))
    return 0
