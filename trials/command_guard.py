"""Runs a command and ends its whole process group if the process that started it dies.

Started as the leader of a new session (a trial's command by trials.command, the MLflow UI
server by `searcher ui`): the command and everything it starts share the group. When the
starting process disappears (killed outright, so it could not clean up), the guard sees its
parent change and kills the group. Standard library only: it starts with ``python -S``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

POLL_SECONDS = 0.2


def main(argv: list[str]) -> int:
    parent = int(argv[0])
    command = argv[1:]
    try:
        child = subprocess.Popen(command)
    except OSError as exc:
        print(f"cannot start {command[0]}: {exc.strerror}", file=sys.stderr)
        return 127
    # A SIGTERM to the group is for the command: the guard outlives it, so whoever sent it can
    # wait on the guard for the command's graceful exit (set after the start: an ignored signal
    # would stay ignored in the child).
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        try:
            code = child.wait(POLL_SECONDS)
        except subprocess.TimeoutExpired:
            if os.getppid() != parent:  # the worker is gone: take everything with us
                os.killpg(0, signal.SIGKILL)
            continue
        return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
