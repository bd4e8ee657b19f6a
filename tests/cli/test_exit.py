"""`exit_now` ends a finished command without the interpreter's teardown, yet runs the exit
handlers, flushes the output and keeps the exit code; SEARCHER_NORMAL_EXIT=1 exits normally."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

COMMAND = """
import atexit, sys
from pathlib import Path

import pandas  # a heavy module loaded: exit_now takes its short way out

from searcher.cli.app import exit_now


class Teardown:
    def __del__(self) -> None:
        sys.stderr.write("torn down")  # only when the interpreter tears down its modules


kept = Teardown()
atexit.register(lambda: Path(sys.argv[1]).write_text("handler ran"))
print("flushed", end="")  # a pipe: block-buffered, lost unless flushed
exit_now(3)
"""


@pytest.mark.parametrize("normal", [False, True], ids=["exit_now", "normal_exit"])
def test_exit_handlers_run_and_output_is_flushed(tmp_path: Path, normal: bool) -> None:
    marker = tmp_path / "atexit.txt"
    env = {k: v for k, v in os.environ.items() if k != "SEARCHER_NORMAL_EXIT"}
    if normal:
        env["SEARCHER_NORMAL_EXIT"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", COMMAND, str(marker)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 3, done.stderr
    assert done.stdout == "flushed"
    assert marker.read_text() == "handler ran"
    assert ("torn down" in done.stderr) is normal, "teardown skipped by exit_now only"
