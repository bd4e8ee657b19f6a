"""What `exit_now` saves: each command run with it and with the normal interpreter exit.

    python bench/exit_time.py            # 5 runs each way, interleaved
    python bench/exit_time.py --runs 9

The same command alternates between the two ways (`SEARCHER_NORMAL_EXIT=0` forces exit_now,
`=1` the normal exit, whatever the command), so load on the machine falls on both alike.
Prints the median wall time of each way and their ratio per command; see bench/README.md for
numbers measured so far.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import WORKLOAD_DIR, paced_spec, write_spec  # noqa: E402


def searcher() -> list[str]:
    """The installed console script, as a user runs it (`python -m searcher.cli` without)."""
    script = shutil.which("searcher", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "searcher.cli"]


def timed(argv: list[str], normal: bool) -> float:
    env = {**os.environ, "PYTHONPATH": str(WORKLOAD_DIR)}
    env["SEARCHER_NORMAL_EXIT"] = "1" if normal else "0"  # 0: exit_now for every command
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each command each way")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        uri = "sqlite:///" + str(folder / "mlruns.db")
        spec = paced_spec("exit_time", pace=0.0)
        spec["search"]["stages"] = [{"trials": 2}, {"trials": 2}]
        path = write_spec(folder / "paced.yaml", spec)
        run = [*searcher(), "run", str(path), "--tracking-uri", uri]
        report = str(folder / "report.html")
        commands = {
            "validate": [*searcher(), "validate", str(path)],
            "trials": [*searcher(), "trials", "exit_time", "--tracking-uri", uri],
            "best": [*searcher(), "best", "exit_time", "--tracking-uri", uri],
            "report": [*searcher(), "report", "exit_time", "-o", report, "--tracking-uri", uri],
            "run (4 trials)": run,
        }
        timed(run, normal=False)  # the store, its schema template and an experiment to list
        times: dict[str, dict[bool, list[float]]] = {c: {False: [], True: []} for c in commands}
        for i in range(args.runs):
            for name, command in commands.items():
                for normal in (False, True) if i % 2 == 0 else (True, False):
                    times[name][normal].append(timed(command, normal))
        print(f"median of {args.runs} runs each, s; exit_now vs SEARCHER_NORMAL_EXIT=1")
        print(f"  {'command':<16}{'exit_now':>10}{'normal':>10}{'saved':>8}{'ratio':>8}")
        for name, by_way in times.items():
            fast, normal = statistics.median(by_way[False]), statistics.median(by_way[True])
            saved, ratio = normal - fast, normal / fast
            print(f"  {name:<16}{fast:10.2f}{normal:10.2f}{saved:8.2f}{ratio:7.2f}x")


if __name__ == "__main__":
    main()
