"""What each trial asks of Ray's scheduler: its CPUs, GPUs and, with resources.memory, memory."""

from __future__ import annotations

from pathlib import Path

from ray.tune.execution.placement_groups import resource_dict_to_pg_factory

from searcher.engine.tuner import make_trainable
from searcher.spec import load_spec
from tests.conftest import WORKLOAD_DIR, write_spec


def _requested(tmp_path: Path, resources: dict) -> dict:
    spec = {
        "name": "resources",
        "workload": "limits:fit",
        "code_dir": str(WORKLOAD_DIR),
        "metric": {"name": "score", "mode": "max"},
        "space": {"mode": "ok", "pids": str(tmp_path)},
        "resources": resources,
    }
    trainable = make_trainable(load_spec(write_spec(tmp_path / "spec.yaml", spec)), None)
    request = trainable._resources  # what tune.with_resources keeps for the trial's actor
    if isinstance(request, dict):
        request = resource_dict_to_pg_factory(request)
    return request.required_resources


def test_memory_is_asked_of_the_scheduler_in_bytes(tmp_path: Path) -> None:
    asked = _requested(tmp_path, {"cpu": 2, "memory": "1.5GB"})
    assert asked == {"CPU": 2.0, "memory": 1.5e9}


def test_without_a_memory_limit_none_is_asked(tmp_path: Path) -> None:
    assert "memory" not in _requested(tmp_path, {"cpu": 1})
