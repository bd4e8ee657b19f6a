"""`own_session` starts a local Ray's processes outside searcher's process group, during
`ray.init` only, through the hook the installed Ray still has."""

from __future__ import annotations

import inspect
import os
import subprocess

from ray._private import services

from searcher.engine.session import own_session


def test_the_installed_ray_starts_its_processes_through_console_popen() -> None:
    """A Ray upgrade that starts them otherwise fails this test by name (the group's signal
    would then kill the GCS first again)."""
    assert issubclass(services.ConsolePopen, subprocess.Popen)
    assert "ConsolePopen(" in inspect.getsource(services.start_ray_process)


def test_inside_processes_lead_their_own_session_and_after_it_as_before() -> None:
    popen = services.ConsolePopen
    with own_session(True):
        inside = services.ConsolePopen(["sleep", "5"])
    after = services.ConsolePopen(["sleep", "5"])
    try:
        assert os.getsid(inside.pid) == inside.pid != os.getsid(0)
        assert os.getsid(after.pid) == os.getsid(0)
        assert services.ConsolePopen is popen
    finally:
        for proc in (inside, after):
            proc.kill()
            proc.wait()


def test_disabled_it_replaces_nothing() -> None:
    popen = services.ConsolePopen
    with own_session(False):
        assert services.ConsolePopen is popen
