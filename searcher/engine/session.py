"""Starting (or joining) Ray quietly: the user sees our progress lines, not Ray's."""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

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
    # A local Ray is ours to end, even if this process is killed outright.
    reaper = start_reaper() if target is None else None
    try:
        local = target is None
        with (
            stops_noticed() as stopped,
            sigterm_as_interrupt(),
            lean_head(local and not wants_dashboard()),
            own_session(local),
        ):
            # A SIGTERM while Ray starts stops it cleanly too.
            ray.init(
                address=target,
                logging_level=logging.ERROR,
                log_to_driver=False,
                include_dashboard=wants_dashboard() if target is None else False,
                configure_logging=True,
            )
            if stopped():  # its exception was lost in one of the forks Ray's start makes
                raise KeyboardInterrupt
    except (KeyboardInterrupt, SystemExit):
        # ray.init replaces our SIGTERM handler with one that calls sys.exit(15): a stop
        # while Ray starts is an interrupt all the same, and what it started is ended.
        with interrupts_deferred():
            end_ray(reaper)
        raise KeyboardInterrupt from None
    except (ConnectionError, RuntimeError, ValueError) as exc:
        stop_reaper(reaper)
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
    except BaseException:
        with interrupts_deferred():  # already stopping: the first error is the one to tell
            end_ray(reaper)
        raise
    with interrupts_held():  # a Ctrl-C now still interrupts, once Ray has ended
        end_ray(reaper)


def end_ray(reaper: subprocess.Popen[bytes] | None) -> None:
    """Leave Ray (ending a local one) and let the watchdog end whatever it left running."""
    import ray

    ray.shutdown()
    stop_reaper(reaper)


DASHBOARD_ENV = "SEARCHER_RAY_DASHBOARD"


def wants_dashboard() -> bool:
    """Whether the user asked for Ray's dashboard on a local Ray (to watch Ray itself)."""
    return os.environ.get(DASHBOARD_ENV, "").strip().lower() in ("1", "true", "yes")


@contextmanager
def lean_head(enabled: bool) -> Iterator[None]:
    """Start a local Ray with only what a search needs: GCS, raylet and its agents.

    ``ray.init`` always starts an API server (dashboard and job server), the autoscaler monitor
    and a log monitor; a local search uses none of them (no jobs, no autoscaling, workers'
    output is not forwarded). Skipping them saves ~0.7 s of start-up and ~1.3 s of shutdown,
    and three Python processes' CPU while the trials start. Ray has no switch for this, so
    two internal hooks are replaced for the duration of ``ray.init`` only; if a Ray release
    renames them, Ray starts in full as before.
    """
    try:
        from ray._private import node, parameter
    except ImportError:
        enabled = False
    if not enabled or missing_lean_hooks(node, parameter):
        yield
        return
    params_init = parameter.RayParams.__init__
    start_api_server = node.Node.start_api_server

    def lean_params(self: parameter.RayParams, *args: object, **kwargs: object) -> None:
        params_init(self, *args, **kwargs)
        self.no_monitor = True
        self.include_log_monitor = False

    def no_api_server(self: node.Node, **kwargs: object) -> None:
        self._webui_url = None

    parameter.RayParams.__init__ = lean_params  # type: ignore[method-assign]
    node.Node.start_api_server = no_api_server  # type: ignore[method-assign]
    try:
        yield
    finally:
        parameter.RayParams.__init__ = params_init  # type: ignore[method-assign]
        node.Node.start_api_server = start_api_server  # type: ignore[method-assign]


@contextmanager
def own_session(enabled: bool) -> Iterator[None]:
    """Start a local Ray's processes (GCS, raylet, agents) each in a session of their own.

    Started as they are, they share the terminal's process group with searcher: a SIGTERM or
    SIGINT to the group (``timeout``, ``docker stop``, SLURM, Kubernetes, Ctrl-C) kills the GCS
    first and the driver then hangs a minute on a lost GCS. Outside the group, the signal reaches
    searcher alone, which stops the search cleanly and then ends its Ray; the watchdog
    (ray_reaper) still ends that Ray when searcher dies. Ray starts every process through
    ``services.ConsolePopen``; it is replaced for the duration of ``ray.init`` only.
    """
    try:
        from ray._private import services
    except ImportError:
        enabled = False
    popen = getattr(services, "ConsolePopen", None) if enabled else None
    if not (isinstance(popen, type) and issubclass(popen, subprocess.Popen)):
        yield
        return

    class SessionPopen(popen):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object, **kwargs: object) -> None:
            kwargs.setdefault("start_new_session", True)
            super().__init__(*args, **kwargs)

    services.ConsolePopen = SessionPopen
    try:
        yield
    finally:
        services.ConsolePopen = popen


# The RayParams fields lean_head sets; Ray has had them since 1.x.
LEAN_PARAMS = ("no_monitor", "include_log_monitor")


def missing_lean_hooks(node: ModuleType, parameter: ModuleType) -> list[str]:
    """What lean_head needs of Ray's internals that this Ray lacks; with any, Ray starts in
    full (tests/engine/test_lean_head.py names them when a Ray upgrade drops one)."""
    missing = []
    if not callable(getattr(node.Node, "start_api_server", None)):
        missing.append("ray._private.node.Node.start_api_server")
    init = getattr(parameter.RayParams, "__init__", None)
    fields = inspect.signature(init).parameters if callable(init) else {}
    missing += [f"ray._private.parameter.RayParams({f}=)" for f in LEAN_PARAMS if f not in fields]
    return missing


REAPER = str(Path(__file__).with_name("ray_reaper.py"))


def start_reaper() -> subprocess.Popen[bytes] | None:
    """The watchdog that ends this process's Ray when this process ends (see ray_reaper)."""
    if not Path("/proc").is_dir():
        return None
    return subprocess.Popen(
        [sys.executable, "-S", REAPER, str(os.getpid())],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C at the terminal is for the search, not for it
    )


def stop_reaper(reaper: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """Close the watchdog's pipe: it ends what Ray left running, then exits."""
    if reaper is None:
        return
    with contextlib.suppress(OSError):
        reaper.stdin.close()  # type: ignore[union-attr]
    with contextlib.suppress(subprocess.TimeoutExpired):
        reaper.wait(timeout)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stops_handled_by(handler: Callable[[int, object], None] | int) -> Iterator[None]:
    """Ctrl-C and SIGTERM go to ``handler`` inside the block, and back to theirs after it.
    Outside the main thread nothing changes: no handler runs there anyway."""
    try:
        previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        for sig, earlier in previous.items():
            signal.signal(sig, earlier)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM are ignored inside the block: the search is already stopping, and
    recording what ran takes a few seconds that a further press must not cut short."""
    with stops_handled_by(signal.SIG_IGN):
        yield


@contextmanager
def interrupts_held() -> Iterator[None]:
    """A Ctrl-C or SIGTERM inside the block raises KeyboardInterrupt when the block ends, so
    that work a stop must not cut in half (ending Ray: a driver whose Ray shutdown was cut short
    is left with a half-closed core worker) finishes first. A second one inside the block
    raises at once: a user who presses Ctrl-C again wants out, even from a stuck block."""
    held = False

    def hold(signum: int, frame: object) -> None:
        nonlocal held
        if held:
            raise KeyboardInterrupt
        held = True

    with stops_handled_by(hold):
        yield
    if held:
        raise KeyboardInterrupt


@contextmanager
def stops_noticed() -> Iterator[Callable[[], bool]]:
    """Yields a check of whether a Ctrl-C or SIGTERM arrived inside the block, even one whose
    exception was lost. Python runs a signal's handler at its next bytecode, and an exception
    raised there while the interpreter runs an at-fork callback is only printed ("Exception
    ignored in _releaseLock"): ray.init forks a dozen processes, and a SIGTERM during one of
    them used to let the search run on. The C-level handler writes every signal number to a
    wakeup fd whatever happens to the exception; this reads it."""
    read, write = socket.socketpair()
    read.setblocking(False)
    write.setblocking(False)
    try:
        previous = signal.set_wakeup_fd(write.fileno(), warn_on_full_buffer=False)
    except ValueError:  # not the main thread: no handler runs here anyway
        read.close()
        write.close()
        yield lambda: False
        return
    arrived: set[int] = set()

    def stopped() -> bool:
        with contextlib.suppress(BlockingIOError):
            while chunk := read.recv(64):
                arrived.update(chunk)
        return bool(arrived.intersection(STOP_SIGNALS))

    try:
        yield stopped
    finally:
        signal.set_wakeup_fd(previous)
        read.close()
        write.close()


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
