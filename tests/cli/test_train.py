"""`searcher train`: one run in this process, logged to a real SQLite store; model saved."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from searcher.cli import cli
from tests.conftest import base_spec, write_spec
from tests.image_fixtures import write_pets
from trials.models import PhotoCNN

CATDOG = str(Path(__file__).parents[2] / "spaces" / "catdog_cnn.yaml")


def _runs(uri: str, experiment: str) -> list:
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], "tags.`searcher.kind` = 'train'")


def test_train_catdog_spec_saves_and_logs(tmp_path: Path, store_uri: str) -> None:
    write_pets(tmp_path / "pets", "petimages", per_class=16)
    args = [
        "train",
        CATDOG,
        "--set",
        f"data.root={tmp_path / 'pets'}",
        "--set",
        f"data.cache_dir={tmp_path / 'cache'}",
        "--set",
        "data.image_size=24",
        "--set",
        "budget.epochs=2",
        "--set",
        "space.channels=4",
        "--set",
        "space.blocks=2",
        "--tracking-uri",
        store_uri,
        "--save",
        str(tmp_path / "model.pt"),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "training once at the centre of each range: lr=0.001" in result.output
    assert "skipped 1 corrupt" in result.output and "epoch 2/2: train_loss=" in result.output
    (run,) = _runs(store_uri, "catdog_cnn")
    assert run.info.status == "FINISHED" and run.info.run_id in result.output
    assert float(run.data.params["lr"]) == pytest.approx(1e-3)
    assert run.data.params["batch_norm"] == "False"
    assert run.data.tags["searcher.centred_params"].startswith("lr,beta1,weight_decay")
    history = MlflowClient(store_uri).get_metric_history(run.info.run_id, "val_accuracy")
    assert [m.step for m in history] == [1, 2]
    assert run.data.metrics["hp/log10_lr"] == pytest.approx(-3.0)
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    model = PhotoCNN(channels=4, blocks=2, dropout=0.0, batch_norm=False)
    model.load_state_dict(state)  # strict: every key and shape matches
    artifacts = [f.path for f in MlflowClient(store_uri).list_artifacts(run.info.run_id)]
    assert {"model.pt", "spec.yaml"} <= set(artifacts)


def test_diverged_training_is_failed_run_and_exit_1(tmp_path: Path, store_uri: str) -> None:
    space = {"optimizer": "sgd", "lr": 1e6, "momentum": 0.9, "batch_size": 16}
    spec = write_spec(tmp_path / "s.yaml", base_spec("boom", tmp_path, space=space))
    result = CliRunner().invoke(cli, ["train", str(spec), "--tracking-uri", store_uri])
    assert result.exit_code == 1
    assert "error: training diverged: train loss became" in result.output
    (run,) = _runs(store_uri, "boom")
    assert run.info.status == "FAILED" and "train loss became" in run.data.tags["searcher.error"]


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--set", "space.dropout=1.5"], "space.dropout: expected a number >= 0 and < 1, got 1.5"),
        (["--save", "/no/such/dir/m.pt"], "--save: directory /no/such/dir does not exist"),
        (["--set", "data.root=/no/such/pets"], "data.root: expected Kaggle's"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, store_uri: str, extra: list[str], match: str
) -> None:
    args = ["train", CATDOG, "--set", f"data.root={tmp_path}", "--tracking-uri", store_uri]
    result = CliRunner().invoke(cli, [*args, *extra])
    assert result.exit_code == 2, result.output
    assert match in result.output and len(result.output.strip().splitlines()) <= 2
