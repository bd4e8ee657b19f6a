"""The same trials through each engine bench/overhead.py compares; one engine per process.

    python bench/overhead_engines.py ENGINE PLAN.json

ENGINE is bare_serial, bare_pool, tune_mlflow, tune_mlflow_reuse or optuna_rdb. PLAN.json (written
by overhead.py) names the trials' parameters, data, epochs, concurrency and a scratch folder.
Each engine is written the way a user would write it by hand, and prints one JSON line with
the number of trials that finished, so a broken engine cannot pass for a fast one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

Plan = dict[str, Any]
Report = Callable[[dict[str, Any]], None]


def run_one(plan: Plan, index: int, report: Report) -> dict[str, Any]:
    """Trial ``index`` of the plan: the built-in workload's training, one thread, on the CPU.

    Self-contained (imports inside), so Ray ships it to its workers by value from __main__;
    the data is loaded once per process (trials.data caches it).
    """
    from trials.config import DataConfig
    from trials.sources import resolve_source
    from trials.train import train

    cfg = DataConfig(**plan["data"])
    source = resolve_source(cfg)
    return train(
        plan["workload"],
        plan["configs"][index],
        cfg,
        source,
        plan["epochs"],
        plan["seed"] + index,
        report,
        device="cpu",
        threads=1,
    )


def _quiet(metrics: dict[str, Any]) -> None:
    pass


def _pool_trial(args: tuple[Plan, int]) -> float:
    plan, index = args
    return run_one(plan, index, _quiet)[plan["metric"]]


def bare_serial(plan: Plan) -> int:
    """No engine, no tracking: a for loop."""
    return sum(1 for i in range(len(plan["configs"])) if run_one(plan, i, _quiet))


def bare_pool(plan: Plan) -> int:
    """No engine, no tracking, trials in worker processes at the search's concurrency."""
    import trials.train  # noqa: F401  (imported once, before the fork)

    jobs = [(plan, i) for i in range(len(plan["configs"]))]
    with ProcessPoolExecutor(plan["concurrency"], mp_context=get_context("fork")) as pool:
        return len(list(pool.map(_pool_trial, jobs)))


def tune_mlflow(plan: Plan, reuse_actors: bool = False) -> int:
    """The script a user writes: Ray Tune over the configs, MLflowLoggerCallback to SQLite."""
    from ray import tune
    from ray.air.integrations.mlflow import MLflowLoggerCallback

    configs = plan["configs"]

    def trainable(config: dict[str, Any]) -> None:
        run_one(plan, configs.index(config["params"]), tune.report)

    work = Path(plan["workdir"])
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 1}),
        param_space={"params": tune.grid_search(configs)},
        tune_config=tune.TuneConfig(
            metric=plan["metric"],
            mode="max",
            max_concurrent_trials=plan["concurrency"],
            reuse_actors=reuse_actors,
        ),
        run_config=tune.RunConfig(
            name="overhead",
            storage_path=str(work / "ray"),
            verbose=0,
            callbacks=[
                MLflowLoggerCallback(
                    tracking_uri=f"sqlite:///{work / 'tune_mlflow.db'}",
                    experiment_name="overhead",
                    save_artifact=False,
                )
            ],
        ),
    )
    results = tuner.fit()
    return sum(1 for r in results if r.error is None and plan["metric"] in (r.metrics or {}))


def tune_mlflow_reuse(plan: Plan) -> int:
    return tune_mlflow(plan, reuse_actors=True)


def optuna_rdb(plan: Plan) -> int:
    """An Optuna study on an RDB (SQLite) storage, the configs enqueued, ``n_jobs`` threads."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    configs = plan["configs"]
    storage = f"sqlite:///{Path(plan['workdir']) / 'optuna.db'}"
    study = optuna.create_study(storage=storage, study_name="overhead", direction="maximize")
    for i in range(len(configs)):
        study.enqueue_trial({"index": i})

    def objective(trial: optuna.Trial) -> float:
        index = trial.suggest_int("index", 0, len(configs) - 1)
        for name, value in configs[index].items():
            trial.set_user_attr(name, value)

        def report(metrics: dict[str, Any]) -> None:
            trial.report(metrics[plan["metric"]], metrics["epoch"])

        return run_one(plan, index, report)[plan["metric"]]

    study.optimize(objective, n_trials=len(configs), n_jobs=plan["concurrency"])
    return sum(1 for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE)


ENGINES: dict[str, Callable[[Plan], int]] = {
    "bare_serial": bare_serial,
    "bare_pool": bare_pool,
    "tune_mlflow": tune_mlflow,
    "tune_mlflow_reuse": tune_mlflow_reuse,
    "optuna_rdb": optuna_rdb,
}


def main(argv: list[str]) -> int:
    engine, plan_path = argv
    plan = json.loads(Path(plan_path).read_text())
    finished = ENGINES[engine](plan)
    print(json.dumps({"finished": finished}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
