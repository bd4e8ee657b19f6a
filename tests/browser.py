"""Headless Chromium for tests: dump a page's rendered DOM or screenshot it."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# Every host name fails to resolve: a page that renders this way needs no network.
OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="chromium is not installed (CI installs Debian's chromium; apt-get install chromium)",
)


def _chromium(url: str, extra: list[str], offline: bool, budget_ms: int, height: int = 3000) -> str:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        cmd = [CHROMIUM, *FLAGS, *(OFFLINE if offline else []), f"--user-data-dir={profile}"]
        cmd += [f"--virtual-time-budget={budget_ms}", f"--window-size=1400,{height}", *extra, url]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def dump_dom(url: str, *, offline: bool = False, budget_ms: int = 15000) -> str:
    """The page's DOM after its scripts ran for budget_ms of virtual time."""
    return _chromium(url, ["--dump-dom"], offline, budget_ms)


def visible_text(dom: str) -> str:
    """The DOM's text with tags (and React's comment separators) removed."""
    return re.sub(r"<[^>]*>", "", dom)


def screenshot(
    url: str, name: str, *, offline: bool = False, budget_ms: int = 15000, height: int = 3000
) -> Path:
    """A PNG of the page, kept in test-artifacts/ for CI to upload."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    path.unlink(missing_ok=True)
    _chromium(url, [f"--screenshot={path}"], offline, budget_ms, height)
    assert path.exists() and path.stat().st_size > 10_000, f"no screenshot at {path}"
    return path
