"""The store's health: which write errors no retry fixes, and when the store is given up on."""

from __future__ import annotations

import errno
import sqlite3

import pytest
import sqlalchemy

from searcher.tracking.health import FAILURES_IN_A_ROW, StoreHealth, cause, store_broken
from searcher.tracking.recorder import connection_lost


def _wrapped(inner: BaseException) -> Exception:
    """As MLflow raises it: its own exception from SQLAlchemy's, from the driver's."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise sqlalchemy.exc.OperationalError("INSERT ...", {}, exc) from exc
    except sqlalchemy.exc.OperationalError as exc:
        try:
            raise RuntimeError("SQLAlchemy database error") from exc
        except RuntimeError as outer:
            return outer


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.OperationalError("database or disk is full"),
        sqlite3.OperationalError("attempt to write a readonly database"),
        OSError(errno.ENOSPC, "No space left on device"),
        OSError(errno.EROFS, "Read-only file system"),
        RuntimeError("cannot execute INSERT in a read-only transaction"),
    ],
)
def test_errors_no_retry_fixes_are_told_apart_from_a_lost_connection(error: Exception) -> None:
    assert store_broken(_wrapped(error))
    assert store_broken(error)


def test_a_lost_connection_is_not_a_broken_store() -> None:
    lost = _wrapped(ConnectionError("server closed the connection unexpectedly"))
    assert connection_lost(lost) and not store_broken(lost)


def test_the_cause_is_the_innermost_line_without_the_driver_prefix() -> None:
    error = _wrapped(sqlite3.OperationalError("database or disk is full\nmore"))
    assert cause(error) == "database or disk is full"


def test_a_broken_store_fails_at_once_and_repeated_errors_are_counted_by_kind() -> None:
    health = StoreHealth()
    for n in range(3):
        health.failed(_wrapped(sqlite3.OperationalError(f"database or disk is full (page {n})")))
        assert health.failing == "database or disk is full (page 0)", "the first one says why"
    assert health.failures == 3
    assert health.summary() == ["3 x RuntimeError: database or disk is full (page 0)"]


def test_other_errors_give_the_store_up_only_when_they_come_in_a_row() -> None:
    health = StoreHealth()
    for _ in range(FAILURES_IN_A_ROW - 1):
        health.failed(ValueError("odd"))
    health.worked()
    for _ in range(FAILURES_IN_A_ROW - 1):
        health.failed(ValueError("odd"))
    assert health.failing is None
    health.failed(ValueError("odd"))
    assert health.failing == "odd"
