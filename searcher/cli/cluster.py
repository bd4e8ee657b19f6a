"""Cluster commands: submit a search as a Ray Job, list jobs, follow logs, stop one."""

from __future__ import annotations

import click

from searcher.cli.options import JOB_ADDRESS, OVERRIDES


@click.command()
@click.argument("spec_path", metavar="SPEC")
@OVERRIDES
@JOB_ADDRESS
@click.option(
    "--tracking-uri",
    envvar="MLFLOW_TRACKING_URI",
    default=None,
    help="A store the cluster reaches: postgresql://… or http://… (an MLflow server).",
)
@click.option("--storage-path", default=None, help="Shared path or URI for Ray's state.")
@click.option("--python", default="python", show_default=True, help="Python on the head node.")
def submit(
    spec_path: str,
    overrides: tuple[str, ...],
    address: str,
    tracking_uri: str | None,
    storage_path: str | None,
    python: str,
) -> None:
    """Submit the search in SPEC to a Ray cluster as a job and print its id."""
    from searcher.engine.jobs import submit_search
    from searcher.spec import load_spec
    from searcher.tracking.uri import display_uri, shared_tracking_uri

    spec = load_spec(spec_path, list(overrides))
    uri = shared_tracking_uri(tracking_uri)
    job_id = submit_search(spec, address, uri, display_uri(uri), storage_path, python)
    click.echo(job_id)
    click.echo(f"follow it with: searcher logs {job_id} --follow --address {address}", err=True)


@click.command()
@JOB_ADDRESS
def jobs(address: str) -> None:
    """List the cluster's jobs, newest first."""
    from searcher.engine.jobs import list_jobs

    frame = list_jobs(address)
    click.echo(frame.to_string(index=False) if not frame.empty else "no jobs")


@click.command()
@click.argument("job_id", metavar="JOB")
@click.option("--follow", "-f", is_flag=True, help="Stream until the job ends.")
@JOB_ADDRESS
def logs(job_id: str, follow: bool, address: str) -> None:
    """Print the output of job JOB."""
    from searcher.engine.jobs import job_logs

    job_logs(address, job_id, follow, lambda text: click.echo(text, nl=False))


@click.command()
@click.argument("job_id", metavar="JOB")
@JOB_ADDRESS
def stop(job_id: str, address: str) -> None:
    """Stop job JOB; its search ends KILLED with every finished trial kept."""
    from searcher.engine.jobs import job_status, stop_job

    stop_job(address, job_id)
    click.echo(f"stop requested for {job_id} (status {job_status(address, job_id)})")
