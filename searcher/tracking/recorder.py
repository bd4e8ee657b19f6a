"""Driver-side MLflow logging of trials as nested runs, batched from one background thread.

Tune's event loop must never wait on the database, and one ``log_batch`` per run per flush is
what makes SQLite logging fast, so callers only enqueue events and a thread does the writing.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from searcher.tracking import tags as T
from searcher.tracking.health import StoreHealth, cause, store_broken

R = TypeVar("R")


@dataclass
class _Event:
    kind: str  # start | metrics | tags | end | stop
    key: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


class RunRecorder:
    """Records trials of one search under its parent run; safe to call from Tune's loop."""

    def __init__(
        self,
        client: MlflowClient,
        experiment_id: str,
        search_id: str,
        flush_seconds: float = 1.0,
    ) -> None:
        self.client = client
        self.experiment_id = experiment_id
        self.search_id = search_id
        self.flush_seconds = flush_seconds
        self.run_ids: dict[str, str] = {}
        self.statuses: dict[str, str] = {}
        self.health = StoreHealth()
        # (key, None) once a trial's end is in the store; (key, error) if writing it failed
        # ("" when the store had already been given up on).
        self.stored: queue.SimpleQueue[tuple[str, str | None]] = queue.SimpleQueue()
        self._queue: queue.Queue[_Event] = queue.Queue()
        self._pending: dict[str, list[Metric]] = {}
        self._output: dict[str, dict[str, list[str]]] = {}
        self._thread = threading.Thread(target=self._loop, name="searcher-mlflow", daemon=True)
        self._thread.start()

    # --- called from Tune's loop: enqueue only -------------------------------------------
    def trial_started(
        self, key: str, tags: dict[str, str], params: dict[str, Any], metrics: dict[str, float]
    ) -> None:
        """A trial began: create its child run (named by its key) under the search's run."""
        self._queue.put(_Event("start", key, {"tags": tags, "params": params, "metrics": metrics}))

    def trial_metrics(self, key: str, step: int, metrics: dict[str, float]) -> None:
        """Per-epoch metrics; written at the next flush."""
        self._queue.put(_Event("metrics", key, {"step": step, "metrics": metrics, "t": _now()}))

    def trial_tags(self, key: str, tags: dict[str, str]) -> None:
        self._queue.put(_Event("tags", key, {"tags": tags}))

    def trial_output(self, key: str, chunk: dict[str, str]) -> None:
        """More of what a command printed ({stream: text}); kept as artifacts when it ends."""
        self._queue.put(_Event("output", key, {"chunk": chunk}))

    def trial_ended(self, key: str, status: str, error: str | None = None) -> None:
        """Final status FINISHED, FAILED (with the error) or KILLED."""
        self._queue.put(_Event("end", key, {"status": status, "error": error}))

    @property
    def errors(self) -> list[str]:
        """Write failures by kind, one line each (a full disk fails thousands of writes alike)."""
        return self.health.summary()

    @property
    def failing(self) -> str | None:
        """Why the store is given up on (writes keep failing), or None while it works."""
        return self.health.failing

    def close(self, timeout: float = 120.0) -> None:
        """Write everything still queued and stop the thread (every exit path of a search
        calls this, so only a kill -9 loses what was queued)."""
        self._queue.put(_Event("stop"))
        self._thread.join(timeout)

    # --- the writer thread --------------------------------------------------------------
    def _loop(self) -> None:
        next_flush = time.monotonic() + self.flush_seconds
        while True:
            try:
                event = self._queue.get(timeout=max(0.0, next_flush - time.monotonic()))
            except queue.Empty:
                event = None
            if event is not None and event.kind == "stop":
                self._guard(self._flush_all)
                return
            if event is not None:
                self._guard(self._handle, event)
            if time.monotonic() >= next_flush:
                self._guard(self._flush_all)
                next_flush = time.monotonic() + self.flush_seconds

    def _guard(self, fn: Callable[..., object], *args: Any) -> None:
        if self.health.failing is not None:
            # Given up on: nothing more is written (a trial not recorded is run again by a
            # resume), and the console hears at once that an end was not stored.
            for event in args:
                if isinstance(event, _Event) and event.kind == "end":
                    self.stored.put((event.key, ""))  # the search's last line says why
            return
        try:
            fn(*args)
        except Exception as exc:  # logging must never take the search down
            self.health.failed(exc)
        else:
            self.health.worked()

    def _handle(self, event: _Event) -> None:
        data = event.payload
        if event.kind == "start":
            self._start(event.key, data["tags"], data["params"], data["metrics"])
        elif event.kind == "metrics":
            step, ts = data["step"], data["t"]
            self._pending.setdefault(event.key, []).extend(
                Metric(name, float(value), ts, step) for name, value in data["metrics"].items()
            )
        elif event.kind == "tags":
            self._log(event.key, tags=[RunTag(k, T.clip(v)) for k, v in data["tags"].items()])
        elif event.kind == "output":
            streams = self._output.setdefault(event.key, {})
            for stream, text in data["chunk"].items():
                streams.setdefault(stream, []).append(text)
        elif event.kind == "end":
            try:
                self._end(event.key, data["status"], data["error"])
            except Exception as exc:
                self.stored.put((event.key, f"{type(exc).__name__}: {cause(exc)}"))
                raise
            self.stored.put((event.key, None))

    def _start(
        self, key: str, tags: dict[str, str], params: dict[str, Any], metrics: dict[str, float]
    ) -> None:
        # A create whose answer was lost may still have committed: the marker finds that run.
        marker = uuid.uuid4().hex
        short, overflow = T.split_long({**tags, T.PARENT: self.search_id, T.CREATED_BY: marker})

        tries = 0

        def create() -> str:
            nonlocal tries
            tries += 1
            if tries > 1:
                query = f"tags.`{T.CREATED_BY}` = '{marker}'"
                found = self.client.search_runs([self.experiment_id], query, max_results=1)
                if found:
                    return found[0].info.run_id
            return self.client.create_run(self.experiment_id, tags=short, run_name=key).info.run_id

        self.run_ids[key] = retrying(create)
        for path, text in overflow.items():  # a record too long for a tag: the tag points here
            retrying(self.client.log_text, self.run_ids[key], text, path)
        ts = _now()
        self._log(
            key,
            params=[
                Param(name, T.clip(str(value), T.MAX_PARAM_VALUE)) for name, value in params.items()
            ],
            metrics=[Metric(name, value, ts, 0) for name, value in metrics.items()],
        )

    def _end(self, key: str, status: str, error: str | None) -> None:
        self._flush(key)
        if error:
            self._log(key, tags=[RunTag(T.ERROR, T.clip(error))])
        run_id = self.run_ids.get(key)
        if run_id is None:
            return
        for stream, parts in self._output.pop(key, {}).items():
            text = "".join(parts)
            if text:  # a lost log file must not leave the run RUNNING: the status comes after
                self._guard(retrying, self.client.log_text, run_id, text, f"{stream}.txt")
        retrying(self.client.set_terminated, run_id, status=status)
        self.statuses[key] = status

    def _flush_all(self) -> None:
        for key in list(self._pending):
            self._flush(key)

    def _flush(self, key: str) -> None:
        metrics = self._pending.pop(key, [])
        if metrics:
            self._log(key, metrics=metrics)

    def _log(
        self,
        key: str,
        metrics: list[Metric] = (),  # type: ignore[assignment]
        params: list[Param] = (),  # type: ignore[assignment]
        tags: list[RunTag] = (),  # type: ignore[assignment]
    ) -> None:
        run_id = self.run_ids.get(key)
        if run_id is None:
            return
        metrics, params = list(metrics), list(params)
        while metrics or params or tags:
            retrying(
                self.client.log_batch,
                run_id,
                metrics=metrics[: T.MAX_METRICS_PER_BATCH],
                params=params[: T.MAX_PARAMS_TAGS_PER_BATCH],
                tags=list(tags),
            )
            metrics, params, tags = (
                metrics[T.MAX_METRICS_PER_BATCH :],
                params[T.MAX_PARAMS_TAGS_PER_BATCH :],
                [],
            )


def _now() -> int:
    return int(time.time() * 1000)


# Waits between tries of a write that lost its connection: about 15 s in all, enough for a
# restarted database or a dropped connection, short enough to end a search that lost its store.
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)


def retrying(fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Call ``fn``, again after a pause when the store's connection failed (not other errors)."""
    for delay in RETRY_DELAYS:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if store_broken(exc) or not connection_lost(exc):
                raise  # a full disk or a read-only store: no retry will fix it
            time.sleep(delay)
    return fn(*args, **kwargs)


_LOST = (
    "server closed the connection",
    "terminating connection",
    "connection refused",
    "connection reset",
    "could not connect",
    "database is locked",
    "ssl connection has been closed",
    "connection already closed",
)


def connection_lost(exc: BaseException) -> bool:
    """Whether an error (or one it was raised from) is a lost or refused connection."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError | TimeoutError):
            return True
        if type(current).__name__ in ("OperationalError", "InterfaceError"):
            return True
        if any(text in str(current).lower() for text in _LOST):
            return True
        current = current.__cause__ or current.__context__
    return False
