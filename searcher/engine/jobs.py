"""Searches as Ray Jobs: submit and walk away, list, follow logs, stop (Ray's job SDK)."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from ray.job_submission import JobSubmissionClient

from searcher.errors import SearcherError
from searcher.spec import Spec
from searcher.spec.yaml_io import dump_yaml
from trials.user_code import OWN_PACKAGES

PACKAGES = OWN_PACKAGES  # the project's code, copied into every job (never data)
# Ray SIGKILLs a stopped job 3 s after SIGTERM by default: too soon for the search to stop its
# trials and record them as KILLED. A minute is plenty; a clean stop takes a few seconds.
JOB_ENV = {"RAY_JOB_STOP_WAIT_TIME_S": "60"}
# Ray Job metadata keys: which search a job runs and where it logs.
META_SPEC, META_TRACKING = "searcher.spec", "searcher.tracking"


def job_client(address: str) -> JobSubmissionClient:
    """A client for the cluster's job server (the Ray dashboard address, port 8265)."""
    try:
        return JobSubmissionClient(address)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise SearcherError(f"cannot reach the Ray job server at {address}: {exc}") from None


def stage_job_dir(spec: Spec) -> Path:
    """A working dir with the project's code and the resolved spec; no data sets, no venv.

    Ray uploads it and makes it the job's (and every worker's) working directory.
    """
    root = Path(tempfile.mkdtemp(prefix="searcher-job-"))
    source = Path(__file__).resolve().parents[2]  # the folder holding the packages
    for package in PACKAGES:
        shutil.copytree(
            source / package,
            root / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    raw = dict(spec.raw)
    copied = copy_user_code(spec, root)
    if copied or spec.workload.owns_data:
        raw.pop("code_dir", None)  # the user's files (if any) now sit beside the shipped spec
    (root / "spec.yaml").write_text(dump_yaml(raw))
    return root


def copy_user_code(spec: Spec, root: Path) -> list[str]:
    """Copy the user's code from the spec's code folder into the job: its Python files, and
    the files a command names (what the workload ships). Nothing else: data stays where the
    cluster reads it, and a built-in workload ships nothing."""
    copied = []
    for path in spec.workload.shipped_files(Path(spec.code_dir)):
        if path.stem in PACKAGES:
            raise SearcherError(
                f"{path}: a file named like searcher's own package {path.stem} cannot be shipped"
            )
        shutil.copy2(path, root / path.name)
        copied.append(path.name)
    return copied


def submit_search(
    spec: Spec,
    address: str,
    uri: str,
    shown_uri: str,
    storage_path: str | None = None,
    python: str = "python",
) -> str:
    """Submit the search as a Ray Job logging to ``uri`` (a store the cluster reaches, shown in
    the job's metadata as ``shown_uri``); returns the job id."""
    workdir = stage_job_dir(spec)
    entrypoint = f"{python} -m searcher.cli run spec.yaml --tracking-uri '{uri}'"
    if storage_path:
        entrypoint += f" --storage-path '{storage_path}'"
    client = job_client(address)
    try:
        return client.submit_job(
            entrypoint=entrypoint,
            runtime_env={"working_dir": str(workdir), "env_vars": JOB_ENV},
            metadata={META_SPEC: spec.name, META_TRACKING: shown_uri},
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def list_jobs(address: str) -> pd.DataFrame:
    """The cluster's jobs, newest first: id, status, search, start time, tracking store."""
    rows = []
    for job in job_client(address).list_jobs():
        meta = job.metadata or {}
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime((job.start_time or 0) / 1000))
        rows.append(
            {
                "job": job.submission_id or job.job_id,
                "status": _status_text(job.status),
                "search": meta.get(META_SPEC, ""),
                "started": started,
                "tracking": meta.get(META_TRACKING, ""),
                "_t": job.start_time or 0,
            }
        )
    frame = pd.DataFrame(rows, columns=["job", "status", "search", "started", "tracking", "_t"])
    return frame.sort_values("_t", ascending=False).drop(columns="_t").reset_index(drop=True)


def job_status(address: str, job_id: str) -> str:
    client = job_client(address)
    try:
        status = client.get_job_status(job_id)
    except RuntimeError as exc:
        raise SearcherError(f"no job {job_id} on {address}: {exc}") from None
    return _status_text(status)


def _status_text(status: object) -> str:
    """A job status as text (Ray gives an enum or a string depending on the call)."""
    return str(getattr(status, "value", status))


def job_logs(address: str, job_id: str, follow: bool, write: Callable[[str], None]) -> None:
    """Write the job's driver output; with ``follow``, stream it until the job ends."""
    client = job_client(address)
    job_status(address, job_id)  # a clear error for an unknown id
    if not follow:
        write(client.get_job_logs(job_id))
        return
    import asyncio

    async def stream() -> None:
        async for chunk in client.tail_job_logs(job_id):
            write(chunk)

    asyncio.run(stream())


def stop_job(address: str, job_id: str) -> bool:
    """Ask Ray to stop a job (its driver gets SIGTERM: the search ends KILLED, runs kept)."""
    job_status(address, job_id)
    return bool(job_client(address).stop_job(job_id))
