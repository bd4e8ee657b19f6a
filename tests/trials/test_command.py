"""Command workloads: argument building, metric lines, exit codes, and no process left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.processes import alive, parent_of, survivors
from trials.command import LOG_CAP_BYTES, CapturedOutput, build_argv, parse_line, run_command
from trials.errors import CommandFailed, TrialDiverged


def test_arguments_are_appended_as_name_equals_value() -> None:
    argv = build_argv("train.py --data 'my dir'", {"lr": 0.001, "opt": "adam", "bn": True})
    assert argv == ["train.py", "--data", "my dir", "--lr=0.001", "--opt=adam", "--bn=true"]


def test_placeholders_are_filled_instead_when_the_command_has_them() -> None:
    argv = build_argv(["run", "--rate", "{lr}", "--tag=x{depth}"], {"lr": 0.5, "depth": 3})
    assert argv == ["run", "--rate", "0.5", "--tag=x3"]


def test_python_means_the_python_that_runs_searcher() -> None:
    assert build_argv("python train.py", {})[0] == sys.executable
    assert build_argv(["python3", "-m", "x"], {})[:2] == [sys.executable, "-m"]


@pytest.mark.parametrize(
    ("line", "metrics"),
    [
        (
            "epoch=3 val_accuracy=0.91 val_loss=0.30",
            {"epoch": 3, "val_accuracy": 0.91, "val_loss": 0.3},
        ),
        ("epoch=3, acc=0.5", {"epoch": 3, "acc": 0.5}),
        ('{"epoch": 2, "acc": 0.75, "note": "x", "ok": true}', {"epoch": 2, "acc": 0.75}),
        ("phase=train acc=0.5", {"acc": 0.5}),
        ("Epoch 3: acc=0.9", None),
        ("loading data...", None),
        ("acc=nan", None),
        ("[1, 2]", None),
        ("", None),
    ],
)
def test_metric_lines(line: str, metrics: dict | None) -> None:
    assert parse_line(line) == metrics


def _script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "job.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


def test_reports_lines_with_the_metric_and_keeps_the_output(tmp_path: Path) -> None:
    argv = _script(
        tmp_path,
        """
        import sys
        print("starting")
        for epoch in range(1, 4):
            print(f"epoch={epoch} acc={epoch / 10}", flush=True)
        print("lr=0.1")
        print("a warning", file=sys.stderr)
        """,
    )
    reports: list[dict] = []
    out = run_command(
        argv, cwd=str(tmp_path), env=dict(os.environ), report=reports.append, metric="acc"
    )
    assert reports == [
        {"epoch": 1.0, "acc": 0.1},
        {"epoch": 2.0, "acc": 0.2},
        {"epoch": 3.0, "acc": 0.3},
    ]
    assert out.text("stdout").splitlines()[0] == "starting"
    assert out.text("stderr") == "a warning\n"


def test_a_run_without_the_metric_reports_what_it_did_print(tmp_path: Path) -> None:
    argv = _script(tmp_path, 'print("epoch=1 accuracy=0.5")\n')
    reports: list[dict] = []
    run_command(argv, cwd=str(tmp_path), env=dict(os.environ), report=reports.append, metric="acc")
    assert reports == [{"epoch": 1.0, "accuracy": 0.5}]


def test_a_non_zero_exit_fails_with_the_code_and_the_stderr_tail(tmp_path: Path) -> None:
    argv = _script(
        tmp_path,
        """
        import sys
        for i in range(30):
            print(f"noise {i}", file=sys.stderr)
        print("ValueError: lr too large", file=sys.stderr)
        sys.exit(3)
        """,
    )
    with pytest.raises(CommandFailed) as info:
        run_command(
            argv, cwd=str(tmp_path), env=dict(os.environ), report=lambda m: None, metric="a"
        )
    assert info.value.exit_code == 3
    assert info.value.reason.startswith("exit code 3; stderr ends:\n")
    assert info.value.reason.endswith("ValueError: lr too large")
    assert "noise 5\n" not in info.value.reason, "only the tail is kept"


def test_a_command_that_cannot_start_fails_cleanly(tmp_path: Path) -> None:
    with pytest.raises(CommandFailed, match="cannot start"):
        run_command(["/no/such/program"], cwd=str(tmp_path), env={}, report=print, metric="a")


def _run_until_first_report(argv: list[str], folder: Path) -> CapturedOutput:
    """Run a command and ask it to stop once it has reported (as early stopping does)."""
    seen: list[dict] = []
    out = CapturedOutput()
    run_command(
        argv,
        cwd=str(folder),
        env=dict(os.environ),
        report=seen.append,
        metric="acc",
        should_stop=lambda: bool(seen),
        output=out,
    )
    return out


def test_stopping_ends_the_whole_process_group(tmp_path: Path) -> None:
    argv = _script(
        tmp_path,
        """
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        print(f"pids={child.pid}", flush=True)
        print("epoch=1 acc=0.5", flush=True)
        time.sleep(600)
        """,
    )
    started = time.monotonic()
    out = _run_until_first_report(argv, tmp_path)
    assert time.monotonic() - started < 30
    child = int(parse_line(out.text("stdout").splitlines()[0])["pids"])  # type: ignore[index]
    assert survivors([child]) == [], "the command's own child outlived the trial"


def test_an_exception_in_report_ends_the_command(tmp_path: Path) -> None:
    argv = _script(
        tmp_path,
        """
        import os, time
        print(f"pid={os.getpid()} acc=0.1", flush=True)
        time.sleep(600)
        """,
    )
    pids: list[int] = []

    def report(metrics: dict) -> None:
        pids.append(int(metrics["pid"]))
        raise SystemExit(0)  # what Tune's report does when it stops a trial

    with pytest.raises(SystemExit):
        run_command(argv, cwd=str(tmp_path), env=dict(os.environ), report=report, metric="acc")
    assert survivors(pids) == []


def test_output_is_capped_per_stream() -> None:
    out = CapturedOutput()
    line = "x" * 1000 + "\n"
    for _ in range(LOG_CAP_BYTES // 1000 + 50):
        out.add("stdout", line)
    text = out.text("stdout")
    assert len(text) <= LOG_CAP_BYTES + 100
    assert text.endswith(f"[searcher: output cut at {LOG_CAP_BYTES} bytes]\n")


@pytest.mark.parametrize(
    "victim",
    [
        "worker",  # dies without cleaning up: the guard sees it and ends the group
        "guard",  # what Ray does to a dying worker's children: the keeper ends the group
        "keeper",  # the guard sees its keeper killed and ends the group
    ],
)
def test_kill_9_of_any_process_above_the_command_ends_it_and_its_children(
    tmp_path: Path, victim: str
) -> None:
    script = _script(
        tmp_path,
        """
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        print(f"command={os.getpid()} grandchild={child.pid} acc=0.5", flush=True)
        time.sleep(600)
        """,
    )
    worker = tmp_path / "worker.py"
    worker.write_text(
        textwrap.dedent(
            f"""
            import os, sys
            from trials.command import run_command
            def report(metrics):
                with open({str(tmp_path / "pids")!r}, "w") as f:
                    f.write(f"{{int(metrics['command'])}} {{int(metrics['grandchild'])}}")
            run_command({script!r}, cwd={str(tmp_path)!r}, env=dict(os.environ), report=report,
                        metric="acc")
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    proc = subprocess.Popen([sys.executable, str(worker)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "pids").exists() and time.monotonic() < deadline:
            assert proc.poll() is None
            time.sleep(0.05)
        pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
        assert all(alive(p) for p in pids)
        keeper = parent_of(pids[0])
        guard = parent_of(keeper)
        assert parent_of(guard) == proc.pid
        os.kill({"worker": proc.pid, "guard": guard, "keeper": keeper}[victim], 9)
        assert survivors([*pids, keeper, guard]) == [], f"the command outlived the {victim}"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_a_stopped_command_gets_its_grace_to_exit_cleanly(tmp_path: Path) -> None:
    """SIGTERM first: a command that handles it finishes its cleanup before SIGKILL comes."""
    done = tmp_path / "cleaned-up"
    argv = _script(
        tmp_path,
        f"""
        import signal, sys, time
        def bye(signum, frame):
            time.sleep(0.5)  # e.g. saving a checkpoint
            open({str(done)!r}, "w").write("yes")
            sys.exit(0)
        signal.signal(signal.SIGTERM, bye)
        print("acc=0.5", flush=True)
        time.sleep(600)
        """,
    )
    _run_until_first_report(argv, tmp_path)
    assert done.read_text() == "yes"


def test_bytes_that_are_not_utf8_never_stop_a_trial(tmp_path: Path) -> None:
    argv = _script(
        tmp_path,
        """
        import sys
        sys.stdout.buffer.write(b"\\xff\\xfe garbage \\xc3\\n")
        sys.stdout.buffer.write(b"acc=0.5\\n")
        sys.stderr.buffer.write(b"\\x80 oops\\n")
        """,
    )
    reports: list[dict] = []
    out = run_command(
        argv, cwd=str(tmp_path), env=dict(os.environ), report=reports.append, metric="acc"
    )
    assert reports == [{"acc": 0.5}]
    assert out.text("stdout").splitlines()[0] == "\ufffd\ufffd garbage \ufffd"
    assert out.text("stderr") == "\ufffd oops\n"


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "abc"])
def test_the_metric_as_no_number_fails_the_trial_as_diverged(tmp_path: Path, value: str) -> None:
    pid_file = tmp_path / "pid"
    argv = _script(
        tmp_path,
        f"""
        import os, time
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        print("epoch=1 acc=0.5", flush=True)
        print("epoch=2 acc={value}", flush=True)
        time.sleep(60)
        """,
    )
    reports: list[dict] = []
    with pytest.raises(TrialDiverged) as info:
        run_command(
            argv, cwd=str(tmp_path), env=dict(os.environ), report=reports.append, metric="acc"
        )
    assert reports == [{"epoch": 1.0, "acc": 0.5}]
    assert str(info.value) == (
        f"acc={value} is not a finite number (stdout line 2: epoch=2 acc={value})"
    )
    assert survivors([int(pid_file.read_text())]) == [], "the command ended with the trial"


def test_another_metric_as_no_number_is_a_warning_and_the_trial_goes_on(tmp_path: Path) -> None:
    argv = _script(
        tmp_path,
        """
        for epoch in (1, 2):
            print(f"epoch={epoch} loss=nan acc=0.{epoch}", flush=True)
        """,
    )
    reports: list[dict] = []
    out = run_command(
        argv, cwd=str(tmp_path), env=dict(os.environ), report=reports.append, metric="acc"
    )
    assert reports == [{"epoch": 1.0, "acc": 0.1}, {"epoch": 2.0, "acc": 0.2}]
    warnings = [line for line in out.text("stderr").splitlines() if "warning" in line]
    assert warnings == [
        "[searcher] warning: loss=nan on stdout line 1 is not a finite number; it is not recorded"
    ], "warned once per name"
