"""`lean_head` replaces Ray internals during `ray.init`: the installed Ray still has them, the
replacement takes effect and is undone, and without them Ray starts in full (no Ray started)."""

from __future__ import annotations

import inspect

import pytest
import ray
from ray._private import node, parameter

from searcher.engine.session import lean_head, missing_lean_hooks


def test_the_installed_ray_has_what_lean_head_replaces() -> None:
    """Checked here, not by the product's own list: a Ray upgrade that drops one fails this test
    by name (users then get a full start; see the fallback test below)."""
    missing = []
    if not callable(getattr(node.Node, "start_api_server", None)):
        missing.append("ray._private.node.Node.start_api_server")
    elif "self._webui_url" not in inspect.getsource(node.Node.start_api_server):
        missing.append("ray._private.node.Node.start_api_server setting self._webui_url")
    fields = inspect.signature(parameter.RayParams.__init__).parameters
    missing += [
        f"RayParams({f}=)" for f in ("no_monitor", "include_log_monitor") if f not in fields
    ]
    assert not missing, f"Ray {ray.__version__} lacks what lean_head replaces: {missing}"
    assert missing_lean_hooks(node, parameter) == []


def test_inside_ray_starts_lean_and_after_it_as_before() -> None:
    init, start_api_server = parameter.RayParams.__init__, node.Node.start_api_server
    with lean_head(True):
        params = parameter.RayParams()
        assert (params.no_monitor, params.include_log_monitor) == (True, False)
        assert node.Node.start_api_server is not start_api_server
    assert (parameter.RayParams.__init__, node.Node.start_api_server) == (init, start_api_server)
    plain = parameter.RayParams()
    assert (plain.no_monitor, plain.include_log_monitor) == (False, None)


def test_without_the_hooks_ray_starts_in_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(node.Node, "start_api_server")
    assert missing_lean_hooks(node, parameter) == ["ray._private.node.Node.start_api_server"]
    init = parameter.RayParams.__init__
    with lean_head(True):
        assert parameter.RayParams.__init__ is init, "nothing is replaced"
        assert parameter.RayParams().no_monitor is False
    assert not hasattr(node.Node, "start_api_server"), "nothing was put back in its place"


def test_a_renamed_param_means_a_full_start(monkeypatch: pytest.MonkeyPatch) -> None:
    def renamed(self: parameter.RayParams, no_autoscaler: bool = False) -> None:
        self.no_autoscaler = no_autoscaler

    monkeypatch.setattr(parameter.RayParams, "__init__", renamed)
    assert missing_lean_hooks(node, parameter) == [
        "ray._private.parameter.RayParams(no_monitor=)",
        "ray._private.parameter.RayParams(include_log_monitor=)",
    ]
    start_api_server = node.Node.start_api_server
    with lean_head(True):
        assert node.Node.start_api_server is start_api_server


def test_disabled_replaces_nothing() -> None:
    init = parameter.RayParams.__init__
    with lean_head(False):
        assert parameter.RayParams.__init__ is init
