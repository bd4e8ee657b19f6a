"""A real multi-node Ray cluster on this machine for tests: `ray start` head plus workers.

Every node gets its own ports, the cluster its own temp dir and auth token, and stopping it
kills only the process groups started here (never `ray stop`, which would kill every Ray).
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.http_utils import free_port

RAY = str(Path(sys.executable).with_name("ray"))


def _node_ports() -> list[str]:
    # Below the ephemeral range (32768+) where free_port() picks, so they never collide.
    base = random.randrange(12000, 32000, 200)
    args = [
        f"--node-manager-port={free_port()}",
        f"--object-manager-port={free_port()}",
        f"--min-worker-port={base}",
        f"--max-worker-port={base + 150}",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--dashboard-agent-grpc-port={free_port()}",
        f"--metrics-export-port={free_port()}",
        f"--runtime-env-agent-port={free_port()}",
    ]
    return args


@dataclass
class LocalRayCluster:
    """Head and worker nodes as separate `ray start --block` process groups."""

    root: Path
    gcs_port: int = field(default_factory=free_port)
    dashboard_port: int = field(default_factory=free_port)
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.gcs_port}"

    @property
    def job_address(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    @property
    def env(self) -> dict[str, str]:
        """Environment for the nodes and for drivers that join them (token auth on)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
        env["RAY_AUTH_MODE"] = "token"
        env["RAY_AUTH_TOKEN_PATH"] = str(self.root / "token")
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        return env

    def start(self, nodes: int = 2, cpus: int = 4, gpus: int = 1) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "token").write_text(secrets.token_hex(32))
        head = [
            RAY, "start", "--head", "--block", f"--port={self.gcs_port}",
            f"--temp-dir={self.root / 'ray'}", "--include-dashboard=true",
            "--dashboard-host=127.0.0.1", f"--dashboard-port={self.dashboard_port}",
            f"--ray-client-server-port={free_port()}",
        ]  # fmt: skip
        self._launch("head", head, cpus, gpus)
        self._wait_for_nodes(1)
        for index in range(1, nodes):
            # Its own temp dir, as on a separate machine: nodes sharing one would unpack a job's
            # working_dir into the same folder and delete it under each other's feet.
            worker = [
                RAY, "start", "--block", f"--address={self.address}",
                f"--temp-dir={self.root / f'ray{index}'}",
            ]  # fmt: skip
            self._launch(f"worker{index}", worker, cpus, gpus)
        self._wait_for_nodes(nodes)
        self._wait_for_job_server()

    def _launch(self, name: str, args: list[str], cpus: int, gpus: int) -> None:
        log = open(self.root / f"{name}.log", "w")  # noqa: SIM115 - owned by the process
        args = [*args, *_node_ports(), f"--num-cpus={cpus}", f"--num-gpus={gpus}"]
        args.append("--object-store-memory=150000000")
        self.procs.append(
            subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        )

    def run_python(self, code: str, timeout: float = 60) -> str:
        """Run a snippet as a driver joined to the cluster; returns its stdout."""
        init = f"ray.init(address='{self.address}', logging_level=logging.ERROR)"
        snippet = f"import ray, logging\n{init}\n{code}"
        done = subprocess.run(
            [sys.executable, "-c", snippet],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:])
        return done.stdout

    def _wait_for_nodes(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        code = "print(sum(1 for n in ray.nodes() if n['Alive']))"
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if int(self.run_python(code).strip().splitlines()[-1]) >= count:
                    return
            except (RuntimeError, ValueError, IndexError, subprocess.TimeoutExpired):
                pass
            time.sleep(1)
        raise AssertionError(f"the cluster did not reach {count} nodes: {self.logs()}")

    def _wait_for_job_server(self, timeout: float = 90) -> None:
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.job_address}/api/version", timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # it answers (token auth refuses anonymous requests)
            except OSError:
                time.sleep(1)
        raise AssertionError(f"the job server did not answer: {self.logs()}")

    def _check_alive(self) -> None:
        for proc in self.procs:
            if proc.poll() is not None:
                raise AssertionError(f"a ray node exited early: {self.logs()}")

    def logs(self) -> str:
        return "\n".join(p.read_text()[-1500:] for p in sorted(self.root.glob("*.log")))

    def stop(self) -> None:
        """Stop the nodes this test started, and only those."""
        for proc in reversed(self.procs):
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))
        for proc in self.procs:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()


def _signal_group(proc: subprocess.Popen, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
