"""Errors the CLI turns into one line and exit code 2."""

from __future__ import annotations


class SearcherError(Exception):
    """A problem with the user's input: reported as one line, exit code 2, nothing written."""

    exit_code = 2


class SpecError(SearcherError):
    """A spec that cannot be run; the message names the file, the field and what was expected."""

    def __init__(self, source: str, field: str, message: str) -> None:
        self.source, self.field, self.detail = source, field, message
        where = f"{source}: {field}: " if field else f"{source}: "
        super().__init__(where + message)


class NotFoundError(SearcherError):
    """A search, experiment or run the user named is not in the store."""


class StoreFailed(SearcherError):
    """The store stopped taking writes mid-search (a full disk, a read-only file): the search
    stopped; what the store has is kept and `searcher resume` completes it later."""

    exit_code = 3


class SearchStopped(SearcherError):
    """The search stopped itself early because it could not succeed (e.g. no trial can score)."""

    exit_code = 1
