"""Tracking speed: rows per second into the store, how soon results show, what it costs Tune.

    python bench/tracking.py                  # SQLite, and PostgreSQL on 127.0.0.1 if it answers
    python bench/tracking.py --pg ""          # SQLite only
    python bench/tracking.py --trials 32 --pace 0.05 --epochs 100

Part 1, throughput: the same metric rows (16 runs x 20 epochs x 5 metrics) written by searcher's
recorder (a writer thread, one log_batch per run per flush) and by the two ways MLflow offers
a hand-written loop: log_metric per value, and log_batch per epoch. Rows per second, on a fresh
store each, and the rows found in the store afterwards.

Part 2, the stress case: a real search on a local Ray whose trials only report (``--trials``
at once, one result every ``--pace`` seconds, five metrics each), run with tracking on and off
(a recorder that writes nothing), alternately. Prints the results per second the driver took
in while every trial ran, how long a result took from the worker's report to the driver, how
long the driver's callback spent per result, how long after reaching the driver a result
could be read from the store (a reader polls it every 50 ms, as the MLflow UI would), and the
rows stored against the rows reported. Asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

METRIC_NAMES = ("score", "train_loss", "val_loss", "lr", "epoch_seconds")
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


# --- stores -----------------------------------------------------------------------------------
@contextlib.contextmanager
def fresh_store(kind: str, scratch: Path, pg: str) -> Iterator[str]:
    """A new, empty store: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        folder = scratch / f"store-{uuid.uuid4().hex[:8]}"
        folder.mkdir()
        yield f"sqlite:///{folder / 'mlruns.db'}"
        return
    import sqlalchemy

    name = f"searcher_bench_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    try:
        yield pg.rsplit("/", 1)[0] + f"/{name}"
    finally:
        from searcher.tracking.store import close_stores

        close_stores()
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def pg_answers(pg: str) -> bool:
    if not pg:
        return False
    try:
        from searcher.tracking.probe import probe

        probe(pg)
        return True
    except Exception:
        return False


def stored_rows(uri: str, parent: str | None = None) -> int:
    """Metric rows of the given names in the store (only the children of ``parent``)."""
    import sqlalchemy

    names = ", ".join(f"'{n}'" for n in METRIC_NAMES)
    query = f"SELECT count(*) FROM metrics m WHERE m.key IN ({names})"
    if parent:
        query += (
            " AND m.run_uuid IN (SELECT run_uuid FROM tags WHERE key = 'mlflow.parentRunId'"
            f" AND value = '{parent}')"
        )
    engine = sqlalchemy.create_engine(uri, poolclass=sqlalchemy.NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sqlalchemy.text(query)).scalar_one())
    finally:
        engine.dispose()


# --- part 1: throughput -----------------------------------------------------------------------
def _values(epoch: int, run: int) -> dict[str, float]:
    return {name: epoch * 0.01 + run * 1e-4 + i for i, name in enumerate(METRIC_NAMES)}


def write_with_recorder(uri: str, runs: int, epochs: int) -> tuple[float, str]:
    from searcher.tracking.recorder import RunRecorder
    from searcher.tracking.store import ensure_experiment, open_store

    client = open_store(uri)
    exp = ensure_experiment(client, uri, "bench")
    parent = client.create_run(exp).info.run_id
    started = time.perf_counter()
    recorder = RunRecorder(client, exp, parent)
    keys = [f"1-{i:03d}" for i in range(runs)]
    for run, key in enumerate(keys):
        recorder.trial_started(key, 1, {"lr": 0.1 * (run + 1)}, {})
    for epoch in range(1, epochs + 1):
        for run, key in enumerate(keys):
            recorder.trial_metrics(key, epoch, _values(epoch, run))
    for key in keys:
        recorder.trial_ended(key, "FINISHED")
    recorder.close()
    return time.perf_counter() - started, parent


def write_per_call(uri: str, runs: int, epochs: int, batch: bool) -> tuple[float, str]:
    from mlflow.entities import Metric

    from searcher.tracking.store import ensure_experiment, open_store

    client = open_store(uri)
    exp = ensure_experiment(client, uri, "bench")
    parent = client.create_run(exp).info.run_id
    started = time.perf_counter()
    ids = [
        client.create_run(
            exp, tags={"mlflow.parentRunId": parent}, run_name=f"1-{i:03d}"
        ).info.run_id
        for i in range(runs)
    ]
    for run, run_id in enumerate(ids):
        client.log_param(run_id, "lr", 0.1 * (run + 1))
    for epoch in range(1, epochs + 1):
        for run, run_id in enumerate(ids):
            values = _values(epoch, run)
            if batch:
                now = int(time.time() * 1000)
                metrics = [Metric(k, v, now, epoch) for k, v in values.items()]
                client.log_batch(run_id, metrics=metrics)
            else:
                for name, value in values.items():
                    client.log_metric(run_id, name, value, step=epoch)
    for run_id in ids:
        client.set_terminated(run_id)
    return time.perf_counter() - started, parent


WRITERS: dict[str, Callable[[str, int, int], tuple[float, str]]] = {
    "searcher recorder": write_with_recorder,
    "MLflow log_batch per epoch": lambda u, r, e: write_per_call(u, r, e, batch=True),
    "MLflow log_metric per value": lambda u, r, e: write_per_call(u, r, e, batch=False),
}


def throughput(kinds: list[str], args: argparse.Namespace, scratch: Path) -> None:
    rows = args.runs * args.write_epochs * len(METRIC_NAMES)
    print(f"\n1. metric rows per second: {args.runs} runs x {args.write_epochs} epochs x ", end="")
    print(f"{len(METRIC_NAMES)} metrics = {rows} rows, median of {args.repeats}")
    print(f"{'store':<10} {'writer':<30} {'rows/s':>9} {'stored':>8} {'recorder / it':>14}")
    for kind in kinds:
        rates: dict[str, list[float]] = {name: [] for name in WRITERS}
        stored: dict[str, int] = {}
        for _ in range(args.repeats):
            for name, write in WRITERS.items():  # interleaved against a noisy machine
                with fresh_store(kind, scratch, args.pg) as uri:
                    seconds, parent = write(uri, args.runs, args.write_epochs)
                    rates[name].append(rows / seconds)
                    stored[name] = stored_rows(uri, parent)
        ours = statistics.median(rates["searcher recorder"])
        for name, values in rates.items():
            rate = statistics.median(values)
            print(f"{kind:<10} {name:<30} {rate:9.0f} {stored[name]:8d} {ours / rate:13.1f}x")


# --- part 2: the stress case through Tune -----------------------------------------------------
class Probe:
    """Times every result the driver's callback handles: arrival, latency, callback cost."""

    def __init__(self) -> None:
        self.latency: list[float] = []
        self.cost: list[float] = []
        self.arrived: dict[tuple[str, int], float] = {}

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        from searcher.engine.listener import OutcomeListener
        from searcher.engine.protocol import unpack

        original = OutcomeListener.on_trial_result
        probe = self

        def timed(self: OutcomeListener, iteration: int, trials: Any, trial: Any, result: dict[str, Any], **info: Any) -> None:  # fmt: skip  # noqa: E501
            arrived = time.time()
            original(self, iteration, trials, trial, result, **info)
            probe.cost.append(time.time() - arrived)
            received = unpack(result)
            if METRIC_NAMES[0] not in received.metrics:
                return  # the trial's closing report: no metrics, nothing to store
            if received.control.reported_at is not None:
                probe.latency.append(arrived - received.control.reported_at)
            record = self.outcomes.records.get(trial.trial_id)
            if record is not None:
                probe.arrived[(record.trial.key, received.step)] = arrived

        OutcomeListener.on_trial_result = timed  # type: ignore[method-assign]
        try:
            yield
        finally:
            OutcomeListener.on_trial_result = original  # type: ignore[method-assign]


class StoreWatcher:
    """Polls the store every 50 ms, as a UI would, and notes when each (trial, step) shows."""

    def __init__(self, uri: str, parent: str) -> None:
        import sqlalchemy

        self.engine = sqlalchemy.create_engine(uri, poolclass=sqlalchemy.NullPool)
        self.query = sqlalchemy.text(
            "SELECT r.name, max(m.step) FROM metrics m JOIN runs r ON m.run_uuid = r.run_uuid "
            "JOIN tags t ON t.run_uuid = r.run_uuid AND t.key = 'mlflow.parentRunId' "
            f"WHERE m.key = 'score' AND t.value = '{parent}' GROUP BY r.name"
        )
        self.seen: dict[tuple[str, int], float] = {}
        self.latest: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.05):
            with contextlib.suppress(Exception), self.engine.connect() as conn:
                now = time.time()
                for name, step in conn.execute(self.query):
                    for s in range(self.latest.get(name, 0) + 1, int(step) + 1):
                        self.seen[(name, s)] = now
                    self.latest[name] = max(self.latest.get(name, 0), int(step))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.engine.dispose()


def stress_spec(folder: Path, args: argparse.Namespace) -> Path:
    shutil.copy(ROOT / "bench" / "stress_workload.py", folder / "stress_workload.py")
    spec = folder / "stress.yaml"
    spec.write_text(
        "name: stress\n"
        "workload: stress_workload:fit\n"
        "metric: {name: score, mode: max}\n"
        "space:\n"
        "  lr: {scale: log, low: 0.01, high: 1.0}\n"
        f"  epochs: {args.epochs}\n"
        f"  pace: {args.pace}\n"
        f"search: {{strategy: random, seed: 0, trials: {args.trials}}}\n"
        f"resources: {{cpu: {2 / args.trials}, max_concurrent: {args.trials}}}\n"
    )
    return spec


def stress_once(spec_path: Path, uri: str | None, storage: Path) -> dict[str, Any]:
    """One search of the stress spec; tracking on when ``uri`` is given."""
    from searcher.engine.tuner import run_tuner
    from searcher.spec import load_spec

    spec = load_spec(spec_path)
    strategy = spec.build_strategy()
    probe, watcher, parent, recorder, sinks = Probe(), None, None, None, []
    if uri is not None:
        from searcher.tracking.recorder import RunRecorder
        from searcher.tracking.search_run import start_search_run
        from searcher.tracking.sink import TrackingSink
        from searcher.tracking.store import ensure_experiment, open_store

        client = open_store(uri)
        exp = ensure_experiment(client, uri, spec.experiment)
        parent = start_search_run(client, exp, spec, strategy.planned_trials, None)
        recorder = RunRecorder(client, exp, parent)
        sinks = [TrackingSink(recorder, spec.space, spec.model.metric.name)]
        watcher = StoreWatcher(uri, parent)
    started = time.perf_counter()
    with probe.installed():
        outcome = run_tuner(
            spec,
            strategy,
            None,
            sinks,
            run_name=f"stress-{uuid.uuid4().hex[:6]}",
            storage=str(storage),
            concurrency=spec.model.resources.max_concurrent or 1,
        )
    if recorder is not None:
        recorder.close()
    wall = time.perf_counter() - started
    results = len(probe.latency)
    out: dict[str, Any] = {
        "wall": wall,
        "results": results,
        "rate": full_rate(probe.arrived),
        "latency": probe.latency,
        "cost": probe.cost,
        "finished": sum(s == "FINISHED" for s in outcome.statuses.values()),
    }
    if watcher is not None and parent is not None:
        time.sleep(0.3)  # the watcher's last look, after the recorder closed
        watcher.stop()
        out["lag"] = [
            watcher.seen[key] - arrived for key, arrived in probe.arrived.items()
            if key in watcher.seen
        ]  # fmt: skip
        out["unseen"] = sum(1 for key in probe.arrived if key not in watcher.seen)
        out["stored"] = stored_rows(uri, parent)
        out["reported"] = results * len(METRIC_NAMES)
    return out


def full_rate(arrived: dict[tuple[str, int], float]) -> float:
    """Results per second the driver took in while every trial was running (workers start
    one after another on a small machine, so the first and last seconds run fewer)."""
    firsts: dict[str, float] = {}
    lasts: dict[str, float] = {}
    for (key, _), when in arrived.items():
        firsts[key] = min(firsts.get(key, when), when)
        lasts[key] = max(lasts.get(key, when), when)
    start, end = max(firsts.values()), min(lasts.values())
    if end <= start:
        return float("nan")
    return sum(1 for when in arrived.values() if start <= when <= end) / (end - start)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def stress(kinds: list[str], args: argparse.Namespace, scratch: Path) -> None:
    from searcher.engine.session import quiet_ray_env, ray_session

    spec = stress_spec(scratch, args)
    quiet_ray_env()
    rows: list[tuple[str, dict[str, Any]]] = []
    with ray_session(None):
        for rep in range(args.repeats):
            for mode in ["off", *kinds]:  # alternated, in one Ray session
                with contextlib.ExitStack() as stack:
                    uri = None if mode == "off" else stack.enter_context(
                        fresh_store(mode, scratch, args.pg)
                    )  # fmt: skip
                    result = stress_once(spec, uri, scratch / "ray")
                rows.append((mode, result))
                print(f"  stress #{rep + 1} tracking {mode:<8} {result['wall']:6.1f} s",
                      file=sys.stderr, flush=True)  # fmt: skip
    rate = args.trials / args.pace
    print(f"\n2. stress: {args.trials} trials at once, a result every {args.pace} s each ", end="")
    print(f"(~{rate:.0f} results/s), {args.epochs} results per trial, {args.repeats} runs each")
    header = (
        f"{'tracking':<9} {'wall s':>7} {'results/s':>9} {'latency p50/p95 ms':>19} "
        f"{'callback p50/p95 ms':>20} {'in store p50/p95/max s':>23} {'rows stored':>16}"
    )
    print(header)
    by_mode: dict[str, list[dict[str, Any]]] = {}
    for mode, result in rows:
        by_mode.setdefault(mode, []).append(result)
    walls = {}
    for mode, results in by_mode.items():
        latency = [x for r in results for x in r["latency"]]
        cost = [x for r in results for x in r["cost"]]
        walls[mode] = statistics.median(r["wall"] for r in results)
        line = (
            f"{mode:<9} {walls[mode]:7.1f} {statistics.median(r['rate'] for r in results):9.0f} "
            f"{pct(latency, 0.5) * 1e3:9.1f}/{pct(latency, 0.95) * 1e3:<9.1f} "
            f"{pct(cost, 0.5) * 1e3:10.2f}/{pct(cost, 0.95) * 1e3:<9.2f}"
        )
        if mode != "off":
            lag = [x for r in results for x in r["lag"]]
            stored = sum(r["stored"] for r in results)
            reported = sum(r["reported"] for r in results)
            unseen = sum(r["unseen"] for r in results)
            line += (
                f" {pct(lag, 0.5):7.2f}/{pct(lag, 0.95):.2f}/{max(lag, default=float('nan')):<6.2f}"
                f" {stored:>7}/{reported:<7}"
            )
            if unseen:
                line += f"  ({unseen} results never seen)"
        print(line)
    for mode in walls:
        if mode != "off":
            slower = walls[mode] / walls["off"] - 1
            print(f"tracking to {mode} slows the search by {slower:+.1%} (wall time, on / off)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL server URI; '' to skip")
    parser.add_argument("--runs", type=int, default=16, help="part 1: runs")
    parser.add_argument("--write-epochs", type=int, default=20, help="part 1: epochs per run")
    parser.add_argument("--trials", type=int, default=16, help="part 2: trials at once")
    parser.add_argument("--pace", type=float, default=0.1, help="part 2: seconds per result")
    parser.add_argument("--epochs", type=int, default=50, help="part 2: results per trial")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--parts", default="1,2")
    args = parser.parse_args()
    kinds = ["sqlite"] + (["postgres"] if pg_answers(args.pg) else [])
    if "postgres" not in kinds:
        print(f"PostgreSQL at {args.pg or '(none)'} does not answer: SQLite only", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="searcher-tracking-") as tmp:
        scratch = Path(tmp)
        if "1" in args.parts:
            throughput(kinds, args, scratch)
        if "2" in args.parts:
            stress(kinds, args, scratch)


if __name__ == "__main__":
    main()
