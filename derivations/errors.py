"""Errors for bad user input. The CLI turns any :class:`InputError` into a one-line message
on stderr and exit code 2 (never a traceback)."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input from a user: config file, command-line value or expression text."""
