"""``searcher ui``: the MLflow UI over the same store the searches write to."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request

from searcher.errors import SearcherError
from searcher.store import display_uri, sqlite_path

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


def serve_ui(uri: str, host: str = "127.0.0.1", port: int = 5000) -> None:
    """Start the UI, say where it is, and stop it cleanly on Ctrl-C."""
    db = sqlite_path(uri)
    if db is not None and not db.exists():
        raise SearcherError(f"no store at {db}; run a search first or pass --tracking-uri")
    if host not in LOOPBACK:
        print(
            f"warning: serving on {host} exposes every run to the network without auth",
            file=sys.stderr,
        )
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}"
    process = subprocess.Popen(ui_command(uri, host, port))
    try:
        wait_until_up(url, process)
        print(f"MLflow UI for {display_uri(uri)} at {url}  (Ctrl-C to stop)", flush=True)
        process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
