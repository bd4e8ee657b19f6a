"""Runs a command and ends its whole process group if the process that started it dies.

Started as the leader of a new session (a trial's command by trials.command, the MLflow UI
server by `searcher ui`): the command and everything it starts share the group, so one
``killpg`` by the starter ends them all. Two processes stand guard, because each can be killed
outright before it acts:

- the guard (this process, the starter's child) watches the starter: a starter killed with
  SIGKILL cannot clean up, so when the guard's parent changes it kills the group;
- a keeper it forks runs the command and watches the guard: a Ray worker that exits kills its
  direct children with SIGKILL first (``RAY_kill_child_processes_on_worker_exit``, on by
  default), which is the guard, so when the keeper's parent changes it kills the group.

The command's exit code is the guard's. Standard library only: it starts with ``python -S``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

POLL_SECONDS = 0.2


def main(argv: list[str]) -> int:
    starter = int(argv[0])
    command = argv[1:]
    guard = os.getpid()
    keeper = os.fork()
    if keeper == 0:
        os._exit(keep(command, guard))
    # A SIGTERM to the group is for the command: the guard outlives it, so whoever sent it can
    # wait on the guard for the command's graceful exit.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        ended, status = os.waitpid(keeper, os.WNOHANG)
        if ended:
            if os.WIFSIGNALED(status):  # the keeper was killed: nothing may outlive it
                os.killpg(0, signal.SIGKILL)
            return os.waitstatus_to_exitcode(status)
        if os.getppid() != starter:  # the starter is gone: take everything with us
            os.killpg(0, signal.SIGKILL)
        time.sleep(POLL_SECONDS)


def keep(command: list[str], guard: int) -> int:
    """Run the command to its end; the group dies with the guard. Returns its exit code."""
    try:
        child = subprocess.Popen(command)
    except OSError as exc:
        print(f"cannot start {command[0]}: {exc.strerror}", file=sys.stderr, flush=True)
        return 127
    # Set after the start: an ignored signal would stay ignored in the command.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        try:
            code = child.wait(POLL_SECONDS)
        except subprocess.TimeoutExpired:
            if os.getppid() != guard:
                os.killpg(0, signal.SIGKILL)
            continue
        return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
