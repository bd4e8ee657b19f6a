"""The user's own code end to end: a function, a command and the Python API on a real Ray into
a real store, run from a directory other than the spec's."""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

import searcher
from searcher.cli import cli
from searcher.tracking.queries import find_search, trial_runs
from tests.conftest import write_spec
from tests.processes import sigterm_when, start_searcher, survivors

pytestmark = pytest.mark.integration

FIT = '''
import math

def fit(config, report):
    """A made-up learning curve whose height depends on lr (best near 0.01)."""
    peak = 1.0 - abs(math.log10(config["lr"]) + 2.0) / 4.0
    for epoch in range(1, config["epochs"] + 1):
        report({"epoch": epoch, "score": peak * epoch / config["epochs"], "width": config["width"]})
'''

SCRIPT = """
import argparse, os, subprocess, sys, time
parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float)
parser.add_argument("--epochs", type=int)
parser.add_argument("--fail", default="no")
parser.add_argument("--pace", type=float, default=0.0)
parser.add_argument("--pid-dir")
args = parser.parse_args()
pid_dir = args.pid_dir
if pid_dir:
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    key = os.environ["SEARCHER_TRIAL_KEY"]
    with open(os.path.join(pid_dir, key), "w") as f:
        f.write(f"{os.getpid()} {helper.pid}")
print("loading", flush=True)
if args.fail == "yes":
    print("Traceback (most recent call last):", file=sys.stderr)
    print("RuntimeError: the learning rate is cursed", file=sys.stderr)
    sys.exit(3)
for epoch in range(1, args.epochs + 1):
    time.sleep(args.pace)
    print(f"epoch={epoch} score={args.lr * epoch:.6f}", flush=True)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    """The user's folder (code and specs) and another folder the command is run from."""
    code = tmp_path / "project"
    code.mkdir()
    (code / "my_fit.py").write_text(FIT)
    (code / "train.py").write_text(SCRIPT)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    (tmp_path / "store").mkdir()
    yield {"code": code, "elsewhere": elsewhere, "store": tmp_path / "store" / "mlruns.db"}


def _spec(name: str, workload: Any, **changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name,
        "workload": workload,
        "metric": {"name": "score", "mode": "max"},
        "space": {"lr": {"scale": "log", "low": 1e-4, "high": 1.0}, "epochs": 3},
        "search": {"strategy": "random", "seed": 0, "trials": 4},
    }
    spec.update(changes)
    return spec


def _run(spec_path: Path, store: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["run", str(spec_path), "--tracking-uri", str(store), *args])


def _trials(store: Path, name: str) -> tuple[MlflowClient, Any, list[Any]]:
    client = MlflowClient("sqlite:///" + str(store))
    search = find_search(client, name)
    return client, search, trial_runs(client, search)


def test_a_function_workload_beside_the_spec(ray_local: None, project: dict) -> None:
    raw = _spec("own_fit", "my_fit:fit")
    raw["space"]["width"] = [8, 16]
    path = write_spec(project["code"] / "spec.yaml", raw)
    result = _run(path, project["store"])
    assert result.exit_code == 0, result.output
    client, search, runs = _trials(project["store"], "own_fit")
    experiment = client.get_experiment_by_name("own_fit").experiment_id
    parents = client.search_runs([experiment], "tags.`searcher.kind` = 'search'")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert parents[0].data.tags["searcher.code_dir"] == str(project["code"])
    assert len(runs) == 4
    assert {r.info.status for r in runs} == {"FINISHED"}
    for run in runs:
        lr = float(run.data.params["lr"])
        assert run.data.params["epochs"] == "3" and run.data.params["width"] in ("8", "16")
        history = client.get_metric_history(run.info.run_id, "score")
        assert [m.step for m in history] == [1, 2, 3]
        peak = 1.0 - abs(math.log10(lr) + 2.0) / 4.0
        assert [m.value for m in history] == pytest.approx([peak / 3, 2 * peak / 3, peak])
        assert run.data.metrics["best_score"] == pytest.approx(peak)
    assert "data:" not in result.output, "the user's code owns its data"
    runner = CliRunner()
    exported = project["elsewhere"] / "best.yaml"
    done = runner.invoke(
        cli, ["export", "own_fit", "-o", str(exported), "--tracking-uri", str(project["store"])]
    )
    assert done.exit_code == 0, done.output
    assert f"code_dir: {project['code']}" in exported.read_text()
    checked = runner.invoke(cli, ["validate", str(exported)])
    assert checked.exit_code == 0 and "1 trials of my_fit:fit" in checked.output, checked.output


def test_a_command_workload_with_a_failing_trial(ray_local: None, project: dict) -> None:
    raw = _spec("own_cmd", {"command": "python train.py"})
    raw["space"]["fail"] = ["no", "yes"]
    raw["search"] = {"strategy": "grid", "grid_points": 2}
    path = write_spec(project["code"] / "cmd.yaml", raw)
    result = _run(path, project["store"])
    assert result.exit_code == 0, result.output
    client, _, runs = _trials(project["store"], "own_cmd")
    assert len(runs) == 4
    by_status: dict[str, list] = {}
    for run in runs:
        by_status.setdefault(run.info.status, []).append(run)
    assert len(by_status["FINISHED"]) == 2 and len(by_status["FAILED"]) == 2
    for run in by_status["FAILED"]:
        assert run.data.params["fail"] == "yes"
        error = run.data.tags["searcher.error"]
        assert error.startswith("exit code 3; stderr ends:")
        assert error.endswith("RuntimeError: the learning rate is cursed")
        stderr = client.download_artifacts(run.info.run_id, "stderr.txt")
        assert "cursed" in Path(stderr).read_text()
    for run in by_status["FINISHED"]:
        lr = float(run.data.params["lr"])
        history = client.get_metric_history(run.info.run_id, "score")
        assert [m.step for m in history] == [1, 2, 3]
        assert [m.value for m in history] == pytest.approx([round(lr * e, 6) for e in (1, 2, 3)])
        stdout = Path(client.download_artifacts(run.info.run_id, "stdout.txt")).read_text()
        assert stdout.splitlines() == [
            "loading",
            *(f"epoch={e} score={lr * e:.6f}" for e in (1, 2, 3)),
        ]
    # The best trial exported: the command and its folder stay, every entry fixed, and it runs.
    best = project["code"] / "best.yaml"
    exported = CliRunner().invoke(
        cli, ["export", "own_cmd", "-o", str(best), "--tracking-uri", str(project["store"])]
    )
    assert exported.exit_code == 0, exported.output
    spec = yaml.safe_load(best.read_text())
    assert spec["workload"] == {"command": "python train.py"}
    assert spec["code_dir"] == str(project["code"].resolve())
    assert spec["space"]["fail"] == {"scale": "value", "value": "no"}


def _pids(pid_dir: Path) -> list[int]:
    return [int(p) for f in pid_dir.iterdir() for p in f.read_text().split()]


def test_early_stopped_command_trials_leave_no_process(ray_local: None, project: dict) -> None:
    pid_dir = project["code"] / "pids"
    pid_dir.mkdir()
    raw = _spec("own_asha", {"command": f"python train.py --pace=0.3 --pid-dir={pid_dir}"})
    raw["space"]["epochs"] = 6
    raw["budget"] = {"epochs": 6}
    raw["scheduler"] = {"type": "asha", "grace_period": 1, "reduction_factor": 2}
    raw["search"] = {"strategy": "random", "seed": 1, "trials": 6}
    path = write_spec(project["code"] / "asha.yaml", raw)
    result = _run(path, project["store"])
    assert result.exit_code == 0, result.output
    _, _, runs = _trials(project["store"], "own_asha")
    assert {r.info.status for r in runs} == {"FINISHED"}
    early = [r for r in runs if r.data.tags.get("searcher.stopped_early") == "true"]
    assert 0 < len(early) < len(runs), "ASHA stopped some trials early, not all"
    pids = _pids(pid_dir)
    assert len(pids) == 12, "a command and its helper per trial"
    assert survivors(pids) == []


def test_sigterm_during_command_trials_leaves_no_process(ray_local: None, project: dict) -> None:
    import ray

    pid_dir = project["code"] / "pids"
    pid_dir.mkdir()
    raw = _spec("own_term", {"command": f"python train.py --pace=2 --pid-dir={pid_dir}"})
    raw["space"]["epochs"] = 50
    raw["search"] = {"strategy": "random", "seed": 0, "trials": 6}
    path = write_spec(project["code"] / "term.yaml", raw)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    log_path = project["elsewhere"] / "run.log"
    address = ray.get_runtime_context().gcs_address
    args = ["run", str(path), "--tracking-uri", str(project["store"]), "--address", address]
    with open(log_path, "w") as log:
        proc = start_searcher(args, log, env=env, cwd=project["elsewhere"])
        started = lambda: len(list(pid_dir.iterdir())) >= 2  # noqa: E731 - two commands run
        code = sigterm_when(proc, started, log_path)
    assert code == 130, log_path.read_text()
    pids = _pids(pid_dir)
    assert len(pids) >= 4
    assert survivors(pids) == []
    _, search, runs = _trials(project["store"], "own_term")
    assert "RUNNING" not in {r.info.status for r in runs}
    assert {r.info.status for r in runs} == {"KILLED"}


def test_a_misspelled_metric_stops_the_search_early(ray_local: None, project: dict) -> None:
    raw = _spec("own_typo", "my_fit:fit", metric={"name": "scroe", "mode": "max"})
    raw["space"]["width"] = 8
    raw["search"] = {"strategy": "random", "seed": 0, "trials": 20}
    path = write_spec(project["code"] / "typo.yaml", raw)
    result = _run(path, project["store"])
    assert result.exit_code == 1, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("error: search stopped: the first 4 trials ended without reporting")
    assert "(the last one reported: score, width)" in last
    client, search, runs = _trials(project["store"], "own_typo")
    assert client.get_run(search.search_id).info.status == "FAILED"
    assert 4 <= len(runs) < 20
    assert {r.info.status for r in runs} <= {"FAILED", "KILLED"}
    failed = [r for r in runs if r.info.status == "FAILED"]
    assert failed[0].data.tags["searcher.error"] == "no scroe was reported (reported: score, width)"


def test_the_python_api_tunes_a_function_and_reads_the_trials(
    ray_local: None, project: dict
) -> None:
    def fit(config: dict[str, Any]) -> None:  # no report argument: it uses searcher.report
        for epoch in range(1, 3):
            searcher.report({"epoch": epoch, "score": config["x"] * epoch})

    spec = {
        "name": "own_api",
        "metric": {"name": "score", "mode": "max"},
        "space": {"x": {"scale": "linear", "low": 0.0, "high": 1.0}},
        "search": {"strategy": "random", "seed": 0, "trials": 3},
    }
    out = io.StringIO()
    uri = str(project["store"])
    summary = searcher.run(spec, overrides={"search.seed": 5}, tracking_uri=uri, train=fit, out=out)
    assert summary.counts == {"FINISHED": 3}
    frame = searcher.trials("own_api", tracking_uri=uri)
    assert len(frame) == 3 and list(frame["status"]) == ["FINISHED"] * 3
    assert list(frame["score"]) == sorted(frame["score"], reverse=True)
    assert frame["score"].tolist() == pytest.approx([2 * x for x in frame["params.x"]])
    top = searcher.best("own_api", tracking_uri=uri)
    assert top.key == summary.best_key and top.score == pytest.approx(summary.best_score)
    assert top.params == {"x": pytest.approx(summary.best_params["x"])}
    # A notebook's function extends its search too, given again as for resume.
    more = searcher.extend("own_api", 2, tracking_uri=uri, train=fit, out=io.StringIO())
    assert more.search_id == summary.search_id and more.counts == {"FINISHED": 5}
    assert len(searcher.trials("own_api", tracking_uri=uri)) == 5
    with pytest.raises(searcher.SearcherError, match=r"^<spec>: search.trials: expected"):
        searcher.run({**spec, "search": {"trials": 0}}, train=fit, tracking_uri=uri)
    with pytest.raises(searcher.SearcherError, match="outside a trial"):
        searcher.report({"score": 1.0})


def test_with_one_trial_at_a_time_coarse_to_fine_learns_from_every_trial(
    ray_local: None, project: dict
) -> None:
    """max_concurrent 1: the engine tells coarse_to_fine it has one worker, so each stage is
    shaped by every trial before it (with workers in flight: the first 75 % of the last)."""

    def fit(config: dict[str, Any]) -> None:
        searcher.report({"score": -((config["x"] - 0.3) ** 2) - (config["y"] - 0.6) ** 2})

    unit = {"scale": "linear", "low": 0.0, "high": 1.0}
    spec = {
        "name": "one_worker",
        "metric": {"name": "score", "mode": "max"},
        "space": {"x": unit, "y": unit},
        "search": {"strategy": "coarse_to_fine", "seed": 2, "trials": 18},
        "resources": {"cpu": 1, "max_concurrent": 1},
    }
    uri = str(project["store"])
    summary = searcher.run(spec, tracking_uri=uri, train=fit, out=io.StringIO())
    assert summary.counts == {"FINISHED": 18}
    client = MlflowClient(f"sqlite:///{uri}")
    search = find_search(client, "one_worker")
    saved = Path(client.download_artifacts(search.search_id, "stages.json"))
    stages = json.loads(saved.read_text())
    assert [s["trials"] for s in stages] == [10, 4, 4]
    assert [len(s["based_on"]) for s in stages] == [0, 10, 14]  # in flight: [0, 8, 13]
    assert summary.best_score is not None and summary.best_score > -0.01


def test_a_search_whose_every_trial_fails_exits_1_with_errors_by_kind(
    ray_local: None, project: dict
) -> None:
    (project["code"] / "broken.py").write_text(
        "def fit(config, report):\n"
        "    if config['lr'] > 0.01:\n"
        "        raise ValueError(f\"lr {config['lr']:.4f} is too large\")\n"
        "    report({'score': float('nan')})\n"
    )
    raw = _spec("own_broken", "broken:fit")
    raw["search"] = {"strategy": "grid", "grid_points": 4}
    path = write_spec(project["code"] / "broken.yaml", raw)
    result = _run(path, project["store"])
    assert result.exit_code == 1, result.output
    assert "no trial finished with a metric" in result.output
    lines = result.output.splitlines()
    assert "  2 x ValueError: lr 0.0464 is too large (broken.py:3)" in lines
    assert "  2 x no score was reported (reported: nothing)" in lines
