"""Whether the store still takes writes: failures counted by kind, and when to give up on it.

A full disk or a read-only store fails every write the same way; retrying each one (as a lost
connection deserves) only floods the console and keeps trials running that nothing can record.
So an error that no retry fixes marks the store failing at once, as do a few writes in a row
that failed even after their retries; the search then stops (see controller).
"""

from __future__ import annotations

import errno
import re
import threading
from collections import Counter

from searcher.summary import error_kind

# Writes that failed in a row (each after its retries) before the store counts as failing.
FAILURES_IN_A_ROW = 3

_NO_RETRY = (
    "database or disk is full",
    "no space left on device",
    "disk quota exceeded",
    "readonly database",
    "read-only file system",
    "could not extend file",  # PostgreSQL: its disk is full
    "could not write to file",
    "disk i/o error",
    "read-only transaction",  # PostgreSQL: the database was made read-only
)
_NO_RETRY_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT}


def store_broken(exc: BaseException) -> bool:
    """Whether an error (or one it was raised from) says the store cannot take writes at all."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _NO_RETRY_ERRNOS:
            return True
        if getattr(current, "pgcode", None) == "53100" or getattr(
            getattr(current, "diag", None), "sqlstate", None
        ) in ("53100", "53200"):
            return True
        if any(text in str(current).lower() for text in _NO_RETRY):
            return True
        current = current.__cause__ or current.__context__
    return False


def cause(exc: BaseException) -> str:
    """The innermost line that says what went wrong (``database or disk is full``)."""
    current, seen = exc, set()
    while (current.__cause__ or current.__context__) is not None and id(current) not in seen:
        seen.add(id(current))
        current = current.__cause__ or current.__context__  # type: ignore[assignment]
    text = str(current).strip().splitlines()
    line = text[0] if text else type(current).__name__
    return re.sub(r"^\((\w+\.)*\w+\)\s*", "", line)  # SQLAlchemy's "(sqlite3.OperationalError) "


class StoreHealth:
    """Write failures of one search's store, from the recorder's thread; read from any."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.kinds: Counter[str] = Counter()
        self.examples: dict[str, str] = {}
        self.in_a_row = 0
        self.failing: str | None = None  # why the store is given up on, once it is

    def failed(self, exc: BaseException) -> None:
        text = f"{type(exc).__name__}: {cause(exc)}"
        kind = error_kind(text)
        with self._lock:
            self.kinds[kind] += 1
            self.examples.setdefault(kind, text)
            self.in_a_row += 1
            if self.failing is None and (store_broken(exc) or self.in_a_row >= FAILURES_IN_A_ROW):
                self.failing = cause(exc)

    def worked(self) -> None:
        with self._lock:
            self.in_a_row = 0

    @property
    def failures(self) -> int:
        return sum(self.kinds.values())

    def summary(self) -> list[str]:
        """One line per kind of failure, most common first: ``12 x OperationalError: ...``."""
        with self._lock:
            return [f"{n} x {self.examples[kind]}" for kind, n in self.kinds.most_common()]
