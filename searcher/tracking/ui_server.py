"""``searcher ui``: the MLflow UI over the same store the searches write to."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from searcher.errors import NotFoundError, SearcherError
from searcher.tracking import tags as T
from searcher.tracking.uri import display_uri, require_store, sqlite_path
from trials.command import GUARD, end_group

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def ui_command(uri: str, host: str, port: int) -> list[str]:
    """The ``mlflow ui`` command line for a store (artifacts served from beside a SQLite file)."""
    cmd = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri]
    cmd += ["--host", host, "--port", str(port), "--workers", "1"]
    db = sqlite_path(uri)
    if db is not None:
        cmd += ["--default-artifact-root", (db.parent / "mlartifacts").as_uri()]
    return cmd


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 90.0) -> None:
    """Poll ``/health`` until the server answers; fail if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SearcherError(f"the MLflow UI exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SearcherError(f"the MLflow UI did not answer on {url} within {timeout:.0f} s")


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.load(answer)


def experiment_links(url: str, experiment: str | None = None) -> list[str]:
    """Lines naming each experiment's page (and its latest search's run page), asked of the UI.

    Asking the server itself means the links are right for any store it serves.
    """
    api = f"{url}/api/2.0/mlflow"
    if experiment:
        query = urllib.parse.urlencode({"experiment_name": experiment})
        try:
            found = [_get(f"{api}/experiments/get-by-name?{query}")["experiment"]]
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise NotFoundError(f"no experiment named '{experiment}' in the store") from None
            raise
    else:
        found = _get(f"{api}/experiments/search?max_results=1000").get("experiments", [])
    lines = []
    for exp in found:
        if exp["name"] == "Default" and not experiment:
            continue
        page = f"{url}/#/experiments/{exp['experiment_id']}/runs"
        lines.append(f"experiment {exp['name']}: {page}")
        search = _latest_search(api, exp["experiment_id"])
        if search:
            lines.append(f"  latest search {search}: {page}/{search}")
    return lines


def _latest_search(api: str, experiment_id: str) -> str | None:
    body = {
        "experiment_ids": [experiment_id],
        "filter": T.SEARCH_QUERY,
        "order_by": ["attributes.start_time DESC"],
        "max_results": 1,
    }
    request = urllib.request.Request(
        f"{api}/runs/search", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        runs = json.load(answer).get("runs", [])
    return runs[0]["info"]["run_id"] if runs else None


def serve_ui(
    uri: str, host: str = "127.0.0.1", port: int = 5000, experiment: str | None = None
) -> None:
    """Start the UI, say where it is (and each experiment's page), stop cleanly on Ctrl-C."""
    require_store(uri)
    if host not in LOOPBACK:
        print(
            f"warning: serving on {host} exposes every run to the network without auth",
            file=sys.stderr,
        )
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}"
    # The server and its workers form a process group under a guard that ends the group if
    # this command is killed outright (kill -9); SIGTERM takes the Ctrl-C path below.
    guarded = [sys.executable, "-S", GUARD, str(os.getpid()), *ui_command(uri, host, port)]
    process = subprocess.Popen(guarded, start_new_session=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        wait_until_up(url, process)
        print(f"MLflow UI for {display_uri(uri)} at {url}  (Ctrl-C to stop)", flush=True)
        for line in experiment_links(url, experiment):
            print(line, flush=True)
        process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        end_group(process, grace=10.0)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
