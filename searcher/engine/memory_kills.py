"""A worker that Ray's memory monitor kills is a dead worker, not the end of the search.

When the node runs low on memory, Ray kills the worker of the newest task and the trial's task
fails with ``ray.exceptions.OutOfMemoryError``. Tune's actor manager handles only
``RayActorError`` and ``RayTaskError`` there; anything else is re-raised as "Caught unexpected
exception" out of ``tuner.fit()``, which crashed the whole search (a 170-line traceback, exit 1,
other trials' scores left unrecorded). ``memory_kills_as_dead_workers`` hands Tune the kill as
the ``RayActorError`` it is: the trial is run again as a dead worker's is (FailureConfig), then
FAILED with one line saying why. The hook is Tune's internal ``RayActorManager``; a Tune
without it is left as it is (tests/engine/test_memory_kills.py names it on an upgrade).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_NODE_MEMORY = re.compile(r"was ([\d.]+\w?B) used / ([\d.]+\w?B) limit")


def memory_kill_reason(message: str) -> str:
    """One line from Ray's many: what the node had when its memory monitor killed the worker."""
    found = _NODE_MEMORY.search(message)
    where = f" (the node had {found.group(1)} of {found.group(2)} in use)" if found else ""
    return (
        f"out of memory: Ray's memory monitor killed the trial's worker{where}; "
        "set resources.memory to run fewer trials at once"
    )


@contextmanager
def memory_kills_as_dead_workers() -> Iterator[None]:
    """For the duration of a search, Tune sees Ray's out-of-memory kills as dead workers."""
    try:
        from ray.air.execution._internal.actor_manager import RayActorManager
        from ray.exceptions import OutOfMemoryError, RayActorError
    except ImportError:
        yield
        return
    original = getattr(RayActorManager, "_actor_task_failed", None)
    if not callable(original):
        yield
        return

    def task_failed(self: Any, tracked_actor_task: Any, exception: Exception) -> Any:
        if isinstance(exception, OutOfMemoryError) and not isinstance(exception, RayActorError):
            exception = RayActorError(error_msg=memory_kill_reason(str(exception)))
        return original(self, tracked_actor_task, exception)

    RayActorManager._actor_task_failed = task_failed  # type: ignore[method-assign]
    try:
        yield
    finally:
        RayActorManager._actor_task_failed = original  # type: ignore[method-assign]
