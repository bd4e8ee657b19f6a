"""Phase marks: seconds from this process's start, the first mark of a name kept."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from searcher import phases as phases_module
from searcher.phases import Phases, process_start


def test_process_start_is_when_this_process_began() -> None:
    # A fresh interpreter reports its own start, within the 10 ms tick of /proc.
    before = time.time()
    out = subprocess.run(
        [sys.executable, "-c", "from searcher.phases import process_start; print(process_start())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert before - 0.05 <= float(out) <= time.time()
    # This long-lived process: the start /proc gives, to the second `ps` shows, and not the
    # fallback (the import of searcher.phases, which pytest reached well after starting).
    elapsed = subprocess.run(
        ["ps", "-o", "etimes=", "-p", str(os.getpid())], capture_output=True, text=True, check=True
    ).stdout
    assert abs(process_start() - (time.time() - int(elapsed))) < 1.5
    assert process_start() < phases_module._IMPORTED - 0.05


def test_marks_count_from_the_start_and_keep_the_first() -> None:
    phases = Phases()
    phases.mark("a")
    first = phases.marks["a"]
    time.sleep(0.02)
    phases.mark("a")
    phases.mark("b")
    assert phases.marks["a"] == first < phases.marks["b"]
    assert abs(phases.marks["b"] - (time.time() - process_start())) < 0.5
    assert phases.tags("p.") == {"p.a": f"{first:.3f}", "p.b": f"{phases.marks['b']:.3f}"}
