"""run_within: a trial's body in a thread of its own, stopped at its time or memory limit."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from search_spaces.constraints import ByteSize, Duration, duration_seconds, size_bytes
from trials.limits import LimitExceeded, Limits, format_bytes, run_within, tree_rss


@pytest.mark.parametrize(
    ("written", "kept", "seconds"),
    [("90s", "90s", 90), ("20m", "20m", 1200), ("2h", "2h", 7200), (" 1h 30m", "1h30m", 5400),
     (45, "45s", 45), (0.5, "0.5s", 0.5), ("1d", "1d", 86400)],
)  # fmt: skip
def test_durations_are_kept_as_written_and_read_in_seconds(
    written: object, kept: str, seconds: float
) -> None:
    assert Duration().check(written) == kept
    assert duration_seconds(kept) == seconds


@pytest.mark.parametrize("bad", ["0s", "20", "20 minutes", "1e3s", "-5m", "367d", True, None, -1])
def test_bad_durations_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        Duration().check(bad)


@pytest.mark.parametrize(
    ("written", "size"),
    [("4GB", 4 * 10**9), ("512MiB", 512 * 2**20), ("1.5gb", 15 * 10**8), (10**9, 10**9)],
)
def test_sizes_are_read_in_bytes(written: object, size: int) -> None:
    assert size_bytes(ByteSize().check(written)) == size


@pytest.mark.parametrize("bad", ["4", "1KB", "4 gigs", "4GBB", True, 2.5, "2PB"])
def test_bad_sizes_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="expected a size"):
        ByteSize().check(bad)


def test_a_body_within_its_limits_runs_to_its_end_and_its_errors_pass_through() -> None:
    seen: list[str] = []
    run_within(Limits(timeout="5s"), lambda stop: seen.append("ran"), lambda: False)
    assert seen == ["ran"]

    def fails(stop: object) -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        run_within(Limits(timeout="5s"), fails, lambda: False)


def test_a_body_past_its_time_is_asked_to_stop_then_failed() -> None:
    asked = threading.Event()

    def polite(stop: object) -> None:
        while not stop():  # type: ignore[operator]
            time.sleep(0.01)
        asked.set()

    started = time.monotonic()
    with pytest.raises(LimitExceeded, match=r"^timed out after 0\.5s$"):
        run_within(Limits(timeout="0.5s"), polite, lambda: False)
    assert asked.is_set() and time.monotonic() - started < 3


def test_a_stuck_body_is_failed_after_the_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("trials.limits.GRACE_SECONDS", 0.2)
    with pytest.raises(LimitExceeded, match="timed out after 0.3s"):
        run_within(Limits(timeout="0.3s"), lambda s: time.sleep(30), lambda: False)


def test_memory_over_the_limit_fails_with_what_was_used() -> None:
    readings = iter([10**8, 3 * 10**9])
    limits = Limits(memory="2GB")
    with pytest.raises(LimitExceeded) as raised:
        run_within(limits, lambda stop: time.sleep(30), lambda: False, rss=lambda: next(readings))
    assert raised.value.reason == "out of memory: used 3GB of 2GB (resources.memory)"


def test_the_callers_stop_reaches_the_body() -> None:
    stopped = threading.Event()
    body = lambda stop: [time.sleep(0.01) for _ in iter(lambda: stop(), True)]  # noqa: E731
    threading.Timer(0.2, stopped.set).start()
    run_within(Limits(timeout="10s"), body, stopped.is_set)


def test_tree_rss_counts_the_children() -> None:
    child = subprocess.Popen([sys.executable, "-c", "b = b'1' * 200_000_000; input()"],
                             stdin=subprocess.PIPE)  # fmt: skip
    try:
        time.sleep(1.5)
        alone = tree_rss(child.pid)
        assert alone is not None and alone > 200_000_000
        assert tree_rss(os.getpid()) > alone  # type: ignore[operator]
    finally:
        child.kill()
        child.wait()


def test_sizes_are_shown_in_the_units_limits_are_written_in() -> None:
    assert [format_bytes(n) for n in (512, 2_500, 7.3e8, 1.25e9)] == ["512B", "2.5KB", "730MB",
                                                                     "1.25GB"]  # fmt: skip


def test_a_use_past_a_limit_is_rounded_up_so_it_never_reads_as_the_limit() -> None:
    uses = (1_000_000_001, 1.0004e9, 999.5e6, 1.25e9, 2_500)
    shown = [format_bytes(n, upward=True) for n in uses]
    assert shown == ["1.01GB", "1.01GB", "1000MB", "1.25GB", "2.5KB"]


def test_a_body_that_ended_is_never_failed_for_a_limit_it_passed_meanwhile() -> None:
    """Its own outcome stands: it finished (or raised) before the watcher looked."""
    limits = Limits(timeout="0.01s", memory="1MB")
    run_within(limits, lambda stop: time.sleep(0.1), lambda: False, rss=lambda: 10**9)

    def fails(stop: object) -> None:
        time.sleep(0.1)
        raise KeyError("its own error")

    with pytest.raises(KeyError, match="its own error"):
        run_within(limits, fails, lambda: False, rss=lambda: 10**9)


def test_memory_forked_children_share_counts_once() -> None:
    """A parent holding 300 MB forks two children that touch nothing: about 300 MB, not 900."""
    script = (
        "import os, time\n"
        "held = b'1' * 300_000_000\n"
        "os.fork() == 0 or os.fork()\n"  # the parent forks twice, the first child not again
        "time.sleep(30)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        time.sleep(2.5)
        used = tree_rss(parent.pid)
        assert used is not None and 290e6 < used < 450e6, used
    finally:
        os.killpg(parent.pid, 9)
        parent.wait()
