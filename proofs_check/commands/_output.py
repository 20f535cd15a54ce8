"""Where a command's JSON goes: the file given by ``--out``, else stdout."""

from __future__ import annotations

import sys


def write_output(text: str, out: str | None) -> None:
    """Write ``text`` plus a newline to the file ``out`` (UTF-8), or to stdout when None."""
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
