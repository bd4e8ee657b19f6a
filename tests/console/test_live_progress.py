"""The live console view, rendered into a forced terminal, and the plain fallback for logs."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from rich.console import Console

from searcher.console import live as live_module
from searcher.console.lines import ProgressPrinter
from searcher.console.live import LiveProgress, make_progress


def _panel_lines(live: LiveProgress) -> list[str]:
    """The panel as plain text lines, trailing blanks stripped."""
    panel = Console(file=io.StringIO(), width=120, record=True)
    panel.print(live.render())
    return [line.rstrip() for line in panel.export_text().splitlines()]


def test_live_view_shows_stages_running_trials_best_and_time_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=120, record=True)
    live = LiveProgress("val_accuracy", "max", 4, ["lr", "beta1"], console)
    # A fixed clock, 60 s after the start, so that the times in the panel are exact.
    monkeypatch.setattr(live_module, "time", SimpleNamespace(monotonic=lambda: live.start + 60))
    try:
        live.stage_started(1, 3, None)
        live.trial_started("1-000", 1, {"lr": 0.001, "beta1": 0.9})
        live.trial_started("1-001", 1, {"lr": 0.02, "beta1": 0.99})
        live.trial_done("1-000", {"lr": 0.001, "beta1": 0.9}, 0.8123, "FINISHED")
        first = _panel_lines(live)
        # A stage-1 trial that ends after stage 2 began still counts for stage 1.
        live.stage_started(2, 1, {"lr": "[0.01, 0.1]"})
        live.trial_started("2-000", 2, {"lr": 0.05, "beta1": 0.95})
        live.trial_done("1-001", {"lr": 0.02, "beta1": 0.99}, 0.9, "FINISHED")
        second = _panel_lines(live)
    finally:
        live.close()
    assert first == [
        "1/4 trials done   elapsed 1:00   about 3:00 left",
        "stage 1  1/3 done",
        "running 1-001  0:00, last report 0:00 ago  lr=0.02 beta1=0.99",
        "best val_accuracy=0.812 (1-000)  lr=0.001 beta1=0.9",
    ]
    assert second == [
        "2/4 trials done   elapsed 1:00   about 1:00 left",
        "stage 1  2/3 done",
        "stage 2  0/1 done",
        "running 2-000  0:00, last report 0:00 ago  lr=0.05 beta1=0.95",
        "best val_accuracy=0.9 (1-001)  lr=0.02 beta1=0.99",
    ]
    scrolled = console.export_text()
    assert "1-000 FINISHED" in scrolled, "finished trials stay in the scrollback as plain lines"
    assert "1-001 FINISHED" in scrolled


def test_a_worse_trial_keeps_the_best_line(monkeypatch: pytest.MonkeyPatch) -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    live = LiveProgress("val_loss", "min", 3, ["lr"], console)
    monkeypatch.setattr(live_module, "time", SimpleNamespace(monotonic=lambda: live.start + 5))
    try:
        live.stage_started(1, 3, None)
        for key in ("1-000", "1-001", "1-002"):
            live.trial_started(key, 1, {"lr": 0.1})
        live.trial_done("1-000", {"lr": 0.1}, 0.5, "FINISHED")
        live.trial_done("1-001", {"lr": 0.3}, 0.7, "FINISHED")  # worse: best stays 1-000
        live.trial_done("1-002", {"lr": 0.2}, None, "ERROR", "boom")  # no score at all
        lines = _panel_lines(live)
    finally:
        live.close()
    assert lines == [
        "3/3 trials done   elapsed 0:05   about 0:00 left",
        "stage 1  3/3 done",
        "best val_loss=0.5 (1-000)  lr=0.1",
    ]


def test_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    progress = make_progress("val_loss", "min", 2, ["lr"], out)
    assert type(progress) is ProgressPrinter
    progress.stage_started(1, 2, None)
    progress.trial_started("1-000", 1, {"lr": 0.1})
    progress.trial_done("1-000", {"lr": 0.1}, 0.5, "FINISHED")
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "stage 1: 2 trials in the full space"
    assert lines[1].startswith("[  1/2 ") and "1-000 FINISHED" in lines[1] and "lr=0.1" in lines[1]
    assert "\x1b" not in out.getvalue()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_the_live_view() -> None:
    progress = make_progress("val_loss", "min", 2, ["lr"], _Tty())
    try:
        assert isinstance(progress, LiveProgress)
    finally:
        progress.close()


def test_a_resumed_search_shows_its_kept_best_trial() -> None:
    from search_spaces.trial import TrialResult

    console = Console(file=io.StringIO(), force_terminal=True, width=120, record=True)
    live = LiveProgress("val_accuracy", "max", 3, ["lr"], console)
    kept = [
        TrialResult("1-000", 1, {"lr": 0.2}, {"lr": 0.001}, 0.7),
        TrialResult("1-001", 1, {"lr": 0.8}, {"lr": 0.05}, 0.9),
        TrialResult("1-002", 1, {"lr": 0.5}, {"lr": 0.01}, None, "boom"),
    ]
    try:
        live.count_kept(kept)
        lines = _panel_lines(live)
    finally:
        live.close()
    assert lines[0].startswith("3/3 trials done")
    assert "best val_accuracy=0.9 (1-001)  lr=0.05" in lines


def test_running_trials_show_their_age_and_a_quiet_one_is_warned_about(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=120, record=True)
    live = LiveProgress("acc", "max", 2, ["lr"], console)
    clock = SimpleNamespace(now=live.start)
    monkeypatch.setattr(live_module, "time", SimpleNamespace(monotonic=lambda: clock.now))
    try:
        live.trial_started("1-000", 1, {"lr": 0.1})
        live.trial_started("1-001", 1, {"lr": 0.2})
        for _ in range(4):  # 1-000 reports every 10 s; 1-001 never does
            clock.now += 10
            live.trial_reported("1-000")
        clock.now += 5
        calm = _panel_lines(live)
        clock.now += 60
        quiet = _panel_lines(live)
    finally:
        live.close()
    assert calm[2:4] == [
        "running 1-000  0:45, last report 0:05 ago  lr=0.1",
        "running 1-001  0:45, last report 0:45 ago  lr=0.2",
    ]
    assert "warning" not in " ".join(calm)
    assert quiet[4:6] == [
        "running 1-001  1:45, last report 1:45 ago  lr=0.2",
        "  warning: 1-001 has not reported for 1:45; trials take 0:10 per report",
    ]


def test_live_view_shows_the_time_budget_left(monkeypatch: pytest.MonkeyPatch) -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=120, record=True)
    live = LiveProgress("acc", "max", 4, ["lr"], console)
    live.deadline = live.start + 150  # a 2:30 budget
    monkeypatch.setattr(live_module, "time", SimpleNamespace(monotonic=lambda: live.start + 60))
    try:
        head = _panel_lines(live)[0]
        live.deadline = live.start + 30  # already past: never a negative time
        past = _panel_lines(live)[0]
    finally:
        live.close()
    assert head == "0/4 trials done   elapsed 1:00   about ? left   time budget: 1:30 left"
    assert past.endswith("time budget: 0:00 left")
