"""`searcher sample` prints values on each parameter's own scale."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from scipy import stats

from searcher.cli import cli
from tests.conftest import base_spec, write_spec


def test_sample_shows_log_and_one_minus_log_scales(tmp_path: Path) -> None:
    spec = base_spec("s", tmp_path)
    spec["space"]["beta1"] = {"scale": "one_minus_log", "low": 0.9, "high": 0.999}
    path = write_spec(tmp_path / "s.yaml", spec)
    result = CliRunner().invoke(cli, ["sample", str(path), "-n", "2000", "--seed", "5"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.output))
    assert len(frame) == 2000
    assert set(frame["optimizer"]) == {"adam"}
    assert set(frame["batch_size"]) == {32, 64, 128}
    log_u = (frame["lr"].map(math.log) - math.log(1e-4)) / (math.log(3e-2) - math.log(1e-4))
    assert stats.kstest(log_u, "uniform").pvalue > 0.001
    above = int((frame["beta1"] > 0.99).sum())
    assert stats.binomtest(above, 2000, 0.5).pvalue > 0.001
    # The same samples fail a linear-scale hypothesis, so the check has teeth.
    lin_u = (frame["lr"] - 1e-4) / (3e-2 - 1e-4)
    assert stats.kstest(lin_u, "uniform").pvalue < 1e-6
