"""The ``searcher`` command line: each command parses options and calls one library function."""

from searcher.cli.app import cli, main

__all__ = ["cli", "main"]
