"""Each example in examples/ runs end to end as a user would run it: `searcher run` in a fresh
process, from another folder, with no PYTHONPATH, into a fresh store."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from searcher.spec import load_spec
from searcher.tracking.queries import find_search, trial_runs

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# (folder, the metric's steps per trial)
CASES = [("digits_torch", 5), ("train_script", 5), ("gradient_boosting", 4)]


@pytest.mark.parametrize(("folder", "steps"), CASES)
def test_example_runs_end_to_end(folder: str, steps: int, tmp_path: Path) -> None:
    spec_path = EXAMPLES / folder / "spec.yaml"
    spec = load_spec(spec_path)
    planned = spec.build_strategy().planned_trials
    store = tmp_path / "mlruns.db"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RAY_ADDRESS")}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "searcher.cli", "run", str(spec_path), "--tracking-uri", str(store)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    print(f"example {folder}: {planned} trials in {seconds:.1f} s")
    client = MlflowClient("sqlite:///" + str(store))
    search = find_search(client, spec.experiment)
    assert client.get_run(search.search_id).info.status == "FINISHED"
    runs = trial_runs(client, search)
    assert len(runs) == planned
    assert {r.info.status for r in runs} == {"FINISHED"}
    metric = spec.model.metric.name
    for run in runs:
        assert set(run.data.params) == set(spec.space.params)
        history = client.get_metric_history(run.info.run_id, metric)
        assert len(history) == steps
        assert f"best_{metric}" in run.data.metrics
