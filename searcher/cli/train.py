"""``searcher train``: one configuration trained in this process, logged as one MLflow run."""

from __future__ import annotations

import click

from searcher.cli.options import OVERRIDES, TRACKING


@click.command("train")
@click.argument("spec_path", metavar="SPEC")
@OVERRIDES
@TRACKING
@click.option(
    "--save",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the trained model's state dict here (torch.save).",
)
@click.option("--seed", type=int, default=None, help="Training seed [default: search.seed].")
@click.option("--device", default=None, help="cpu, cuda, cuda:1 ... [default: cuda if present].")
def train_command(
    spec_path: str,
    overrides: tuple[str, ...],
    tracking_uri: str | None,
    save: str | None,
    seed: int | None,
    device: str | None,
) -> None:
    """Train SPEC's configuration once, without Ray (tuned ranges: their centre)."""
    from searcher.spec import load_spec
    from searcher.train_once import train_spec

    spec = load_spec(spec_path, list(overrides))
    train_spec(spec, tracking_uri=tracking_uri, save=save, seed=seed, device=device)
