"""Executable checks of every quantitative claim, negative controls, the report and the CLI."""
