"""Starting (or joining) Ray quietly: the user sees our progress lines, not Ray's."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

from searcher.errors import SearcherError

QUIET_ENV = {
    "RAY_AIR_NEW_OUTPUT": "0",
    "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",  # no CSV/JSON/TensorBoard files per trial
    "TUNE_DISABLE_STRICT_METRIC_CHECKING": "1",  # failed trials report a reason, no metric
    "RAY_DEDUP_LOGS": "0",
    "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S": "100000",
}


def quiet_ray_env() -> None:
    """Environment switches read by Ray and Tune at start; set before they are imported."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)


@contextmanager
def ray_session(address: str | None = None) -> Iterator[None]:
    """Join the cluster at ``address`` (or RAY_ADDRESS), else start a local Ray, and clean up.

    A Ray that is already initialised in this process (tests, notebooks) is used as it is.
    """
    quiet_ray_env()
    import ray

    # Tune logs a failed trial's whole traceback at ERROR; our progress line already names it
    # and the store keeps the error.
    logging.getLogger("ray.tune").setLevel(logging.CRITICAL)
    if ray.is_initialized():
        yield
        return
    target = address or os.environ.get("RAY_ADDRESS") or None
    cwd = os.getcwd()
    try:
        ray.init(
            address=target,
            logging_level=logging.ERROR,
            log_to_driver=False,
            include_dashboard=False,
            configure_logging=True,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        if target is None:
            raise
        hint = first_line(exc)
        if "auth" in hint.lower():
            hint += " (set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH)"
        raise SearcherError(f"cannot connect to the Ray cluster at {target}: {hint}") from None
    # Inside a Ray Job, ray.init() re-extracts the job's working_dir, which is also our cwd:
    # re-enter it by path or every later relative path (and MLflow's) fails.
    if os.path.isdir(cwd):
        os.chdir(cwd)
    try:
        yield
    finally:
        ray.shutdown()


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM are ignored inside the block: the search is already stopping, and
    recording what ran takes a few seconds that a further press must not cut short."""
    try:
        previous = {
            sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)
        }
    except ValueError:  # not the main thread: nothing to defer
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Ray does not turn SIGTERM into a clean stop; route it to the Ctrl-C path instead."""

    def _forward(signum: int, frame: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)

    try:
        previous = signal.signal(signal.SIGTERM, _forward)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
