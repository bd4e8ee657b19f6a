"""The fault suite: a real store (SQLite and PostgreSQL), a real Ray, real kill -9.

After every fault the store must hold each planned trial key exactly once as FINISHED or
FAILED, no run RUNNING, and the trials finished before the fault kept as they were.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from searcher.spec import load_spec
from searcher.tracking.queries import find_search, trial_runs
from searcher.tracking.resume import resume_plan
from tests.conftest import PG_SERVER, paced_spec, write_spec
from tests.processes import mounted_tmpfs, searcher_running, start_searcher

pytestmark = pytest.mark.integration

PLANNED = [f"1-{i:03d}" for i in range(6)] + [f"2-{i:03d}" for i in range(4)]
KILL_POINTS: dict[str, Callable[[str], bool]] = {
    # Two stage-1 trials in the store, the rest of stage 1 running or waiting.
    "stage1": lambda log: len(re.findall(r"\] 1-\d+ FINISHED", log)) >= 2,
    # The strategy has zoomed: the first stage-2 trial was handed out.
    "boundary": lambda log: "stage 2:" in log,
    # A stage-2 trial is in the store.
    "stage2": lambda log: re.search(r"\] 2-\d+ FINISHED", log) is not None,
}


def _address() -> str:
    import ray

    return ray.get_runtime_context().gcs_address


def _wait_for(proc: subprocess.Popen[bytes], ready: Callable[[str], bool], log: Path) -> None:
    deadline = time.monotonic() + 180
    while not ready(log.read_text()):
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)


def _snapshot(client: MlflowClient, name: str) -> dict[str, tuple[str, str, float | None]]:
    """key -> (run id, status, score) of the trials the store holds as ended."""
    search = find_search(client, name)
    return {
        r.data.tags["searcher.trial_key"]: (
            r.info.run_id,
            r.info.status,
            r.data.metrics.get("best_score"),
        )
        for r in trial_runs(client, search)
        if r.info.status in ("FINISHED", "FAILED")
    }


def assert_complete(client: MlflowClient, name: str) -> list:
    """Every planned key once as FINISHED or FAILED, nothing RUNNING, the search FINISHED."""
    search = find_search(client, name)
    runs = trial_runs(client, search)
    done = Counter(
        r.data.tags["searcher.trial_key"] for r in runs if r.info.status in ("FINISHED", "FAILED")
    )
    assert sorted(done) == PLANNED and set(done.values()) == {1}, done
    assert "RUNNING" not in {r.info.status for r in runs}
    assert client.get_run(search.search_id).info.status == "FINISHED"
    return runs


def conditional_paced_spec(name: str) -> dict:
    """The paced search over a conditional space: width has its own range per branch, and
    warmup exists in one branch only."""
    spec = paced_spec(name)
    spec["space"] = {
        "arch": {
            "scale": "choice",
            "values": {
                "narrow": {"width": {"scale": "pow2", "low": 8, "high": 32}},
                "wide": {"width": {"scale": "pow2", "low": 64, "high": 128}, "warmup": [0, 1]},
            },
        },
        "lr": {"scale": "log", "low": 1e-4, "high": 1.0},
        "pace": 0.8,
        "epochs": 3,
    }
    return spec


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_kill_9_of_the_driver_then_resume(
    ray_local: None, tmp_path: Path, store_uri: str, point: str
) -> None:
    kill_and_resume(tmp_path, store_uri, paced_spec(f"fault_{point}"), point)


def test_kill_9_of_a_conditional_search_then_resume(
    ray_local: None, tmp_path: Path, store_uri: str
) -> None:
    runs = kill_and_resume(tmp_path, store_uri, conditional_paced_spec("fault_branches"), "stage2")
    for run in runs:
        if run.info.status != "KILLED":  # each run has exactly its branch's parameters
            wide = run.data.params["arch"] == "wide"
            assert ("warmup" in run.data.params) == wide, run.data.params
            assert (int(run.data.params["width"]) >= 64) == wide, run.data.params


def kill_and_resume(tmp_path: Path, store_uri: str, raw: dict, point: str) -> list:
    """kill -9 the driver at a point, resume, and check the guarantees; the search's runs."""
    name = raw["name"]
    spec_path = write_spec(tmp_path / "paced.yaml", raw)
    address = _address()
    log_path = tmp_path / "run.log"
    args = ["run", str(spec_path), "--tracking-uri", store_uri, "--address", address]
    with searcher_running(args, log_path) as proc:
        _wait_for(proc, KILL_POINTS[point], log_path)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    client = MlflowClient(store_uri)
    before = _snapshot(client, name)
    assert 0 < len(before) < len(PLANNED)

    resume_log = tmp_path / "resume.log"
    args = ["resume", name, "--tracking-uri", store_uri, "--address", address]
    with searcher_running(args, resume_log) as proc:
        code = proc.wait(300)
    output = resume_log.read_text()
    assert code == 0, output
    runs = assert_complete(client, name)
    after = _snapshot(client, name)
    for key, kept in before.items():
        assert after[key] == kept, f"{key} was run again or changed"
    redone = len(PLANNED) - len(before)
    assert f"{len(before)} of {len(PLANNED)} trials kept, {redone} to run" in output
    killed = [r for r in runs if r.info.status == "KILLED"]
    for run in killed:
        assert "run again by searcher resume" in run.data.tags["searcher.error"]
    # Stage 2 sampled where the uninterrupted search would have: the box of stage 1's results.
    spec = load_spec(spec_path)
    fresh = spec.build_strategy()
    search = find_search(client, name)
    fresh.replay([r for r in resume_plan(client, search, spec.space).kept if r.stage == 1])
    expected = {}
    while (s := fresh.ask()) is not None and hasattr(s, "key"):
        if s.stage == 2:
            expected[s.key] = s.unit
    got = {r.key: r.unit for r in resume_plan(client, search, spec.space).kept}
    for key, unit in expected.items():
        assert got[key] == pytest.approx(unit), key
    print(f"\nkill -9 at {point} ({store_uri.split(':')[0]}): kept {len(before)}, redone {redone}")
    return runs


def test_two_resumes_started_at_the_same_instant_run_the_search_once(
    ray_local: None, tmp_path: Path, store_uri: str
) -> None:
    """The claim is a compare-and-set in the store: one resume runs, the other exits 2 in one
    line having written nothing; every key once, nothing RUNNING, `resumes` counted once."""
    name = "fault_race"
    spec_path = write_spec(tmp_path / "paced.yaml", paced_spec(name))
    address = _address()
    args = ["run", str(spec_path), "--tracking-uri", store_uri, "--address", address]
    with searcher_running(args, tmp_path / "run.log") as proc:
        _wait_for(proc, KILL_POINTS["stage1"], tmp_path / "run.log")
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    client = MlflowClient(store_uri)
    before = _snapshot(client, name)
    resume = ["resume", name, "--tracking-uri", store_uri, "--address", address]
    # A resume refused by a check (no node has 1000 CPUs) claims nothing and writes nothing.
    owner = client.get_run(find_search(client, name).search_id).data.tags["searcher.owner"]
    with searcher_running([*resume, "--set", "resources.cpu=1000"], tmp_path / "no.log") as proc:
        assert proc.wait(120) == 2, (tmp_path / "no.log").read_text()
    search = client.get_run(find_search(client, name).search_id)
    assert search.data.tags["searcher.owner"] == owner
    assert "searcher.resumes" not in search.data.tags
    logs = [tmp_path / f"resume{i}.log" for i in range(2)]
    files = [open(log, "w") for log in logs]  # noqa: SIM115 - closed below
    try:
        racers = [start_searcher(resume, f) for f in files]
        codes = sorted(proc.wait(300) for proc in racers)
    finally:
        for f in files:
            f.close()
    outputs = [log.read_text() for log in logs]
    assert codes == [0, 2], outputs
    refusals = ("claimed a moment ago", "is being run by", "is still running")
    [lost] = [o for o in outputs if any(r in o for r in refusals)]
    assert len(lost.strip().splitlines()) == 1, lost
    assert "Traceback" not in lost
    assert_complete(client, name)
    after = _snapshot(client, name)
    assert all(after[key] == kept for key, kept in before.items())
    search = client.get_run(find_search(client, name).search_id)
    assert search.data.tags["searcher.resumes"] == "1"
    assert search.data.tags["searcher.owner"].startswith("released ")


def test_a_search_stopped_for_a_while_then_continued_finishes(
    ray_local: None, tmp_path: Path, sqlite_uri: str
) -> None:
    """SIGSTOP (a suspended laptop, a paused job) then SIGCONT: Tune catches up, nothing lost."""
    name = "fault_stop"
    spec_path = write_spec(tmp_path / "paced.yaml", paced_spec(name))
    log_path = tmp_path / "run.log"
    args = ["run", str(spec_path), "--tracking-uri", sqlite_uri, "--address", _address()]
    with searcher_running(args, log_path) as proc:
        _wait_for(proc, KILL_POINTS["stage1"], log_path)
        proc.send_signal(signal.SIGSTOP)
        time.sleep(15)
        proc.send_signal(signal.SIGCONT)
        code = proc.wait(300)
    assert code == 0, log_path.read_text()
    assert_complete(MlflowClient(sqlite_uri), name)


def test_kill_9_of_a_worker_mid_trial_runs_that_trial_again(
    ray_local: None, tmp_path: Path, sqlite_uri: str
) -> None:
    """A Ray worker killed in the middle of a trial: the trial runs again under its key and
    the search finishes on its own, nothing to resume."""
    name = "fault_worker"
    uri = sqlite_uri
    pids = tmp_path / "pids"
    pids.mkdir()
    raw = paced_spec(name, pace=1.5)
    raw["space"]["pids"] = str(pids)
    spec_path = write_spec(tmp_path / "paced.yaml", raw)
    log_path = tmp_path / "run.log"
    args = ["run", str(spec_path), "--tracking-uri", uri, "--address", _address()]
    with searcher_running(args, log_path) as proc:
        _wait_for(proc, lambda _: any(pids.iterdir()), log_path)
        victim = int(next(pids.iterdir()).name)
        os.kill(victim, signal.SIGKILL)
        code = proc.wait(300)
    output = log_path.read_text()
    assert code == 0, output
    assert "its worker died" in output and "running it again" in output
    client = MlflowClient(uri)
    runs = assert_complete(client, name)
    retried = [r for r in runs if r.data.tags.get("searcher.retries") == "1"]
    assert len(retried) == 1 and retried[0].info.status == "FINISHED"
    assert len(runs) == len(PLANNED), "the retried trial kept its one run"


def test_postgres_connections_terminated_mid_search_lose_nothing(
    ray_local: None, tmp_path: Path
) -> None:
    """Every connection of the store's database is terminated again and again while trials
    are logged: writes are retried, every trial and every epoch is in the store."""
    psycopg = pytest.importorskip("psycopg")
    from tests.conftest import postgres_database

    name = "fault_pg"
    spec_path = write_spec(tmp_path / "paced.yaml", paced_spec(name, pace=0.4))
    with postgres_database() as uri:
        database = uri.rsplit("/", 1)[1]
        MlflowClient(uri).search_experiments()  # the schema exists before the search starts
        stop = threading.Event()
        terminated: list[int] = []

        def terminate() -> None:
            with psycopg.connect(f"{PG_SERVER}/test", autocommit=True) as admin:
                while not stop.wait(0.25):
                    rows = admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()",
                        (database,),
                    ).fetchall()
                    terminated.append(len(rows))

        log_path = tmp_path / "run.log"
        args = ["run", str(spec_path), "--tracking-uri", uri, "--address", _address()]
        killer = threading.Thread(target=terminate, daemon=True)
        with searcher_running(args, log_path) as proc:
            try:
                _wait_for(proc, lambda text: "stage 1:" in text, log_path)
                killer.start()
                _wait_for(proc, lambda text: "stage 2:" in text, log_path)
            finally:
                stop.set()
            killer.join()
            code = proc.wait(300)
        output = log_path.read_text()
        assert code == 0, output
        assert sum(terminated) > 0, "no connection was terminated: the test tested nothing"
        assert "UNSTORED" not in output and "logging error" not in output, output
        client = MlflowClient(uri)
        runs = assert_complete(client, name)
        for run in runs:
            history = client.get_metric_history(run.info.run_id, "score")
            assert sorted(m.step for m in history) == [1, 2, 3], run.data.tags


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:  # unbuffered: the write that finds the disk full raises, the close never
            f.write(b"\0" * 65536)
    return filler


def _stops_taking_writes_then_resume(
    tmp_path: Path, name: str, uri: str, break_store: Callable[[], None], mend: Callable[[], None]
) -> str:
    """A search whose store breaks after two trials: exit 3 in one line, nothing printed as
    ended that the store lacks; mended, `searcher resume` completes it, every key once."""
    spec_path = write_spec(tmp_path / "paced.yaml", paced_spec(name))
    address = _address()
    log_path = tmp_path / "run.log"
    args = ["run", str(spec_path), "--tracking-uri", uri, "--address", address]
    with searcher_running(args, log_path) as proc:
        _wait_for(proc, KILL_POINTS["stage1"], log_path)
        break_store()
        code = proc.wait(120)
    output = log_path.read_text()
    assert code == 3, output
    assert "Traceback" not in output and len(output.splitlines()) < 20, output
    [error] = [line for line in output.splitlines() if line.startswith("error:")]
    assert error.startswith(f"error: the store {uri.split('://')[0]}") and "stopped taking" in error
    assert f"`searcher resume {name}` completes the search" in error
    mend()
    client = MlflowClient(uri)
    stored = {key for key, (_, status, _) in _snapshot(client, name).items()}
    printed = set(re.findall(r"\] (\d-\d+) (?:FINISHED|FAILED)", output))
    assert printed <= stored, "a trial printed as ended that the store lacks"
    resume = ["resume", name, "--tracking-uri", uri, "--address", address]
    with searcher_running(resume, tmp_path / "resume.log") as proc:
        assert proc.wait(300) == 0, (tmp_path / "resume.log").read_text()
    assert_complete(client, name)
    return error


def test_a_full_disk_stops_the_search_and_resume_completes_it(
    ray_local: None, tmp_path: Path
) -> None:
    with mounted_tmpfs(tmp_path / "disk", "size=20m") as disk:
        filler: list[Path] = []
        error = _stops_taking_writes_then_resume(
            tmp_path,
            "fault_disk",
            f"sqlite:///{disk}/mlruns.db",
            break_store=lambda: filler.append(_fill(disk)),
            mend=lambda: filler[0].unlink(),
        )
    assert "(database or disk is full; " in error


def test_a_store_made_read_only_stops_the_search_and_resume_completes_it(
    ray_local: None, tmp_path: Path
) -> None:
    psycopg = pytest.importorskip("psycopg")
    from tests.conftest import postgres_database

    with postgres_database() as uri:
        database = uri.rsplit("/", 1)[1]

        def read_only(on: bool) -> None:
            with psycopg.connect(f"{PG_SERVER}/test", autocommit=True) as admin:
                admin.execute(
                    f'ALTER DATABASE "{database}" SET default_transaction_read_only = '
                    + ("on" if on else "off")
                )
                admin.execute(  # the search's connections take the setting when they reconnect
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (database,),
                )

        error = _stops_taking_writes_then_resume(
            tmp_path,
            "fault_read_only",
            uri,
            break_store=lambda: read_only(True),
            mend=lambda: read_only(False),
        )
    assert "read-only transaction" in error
