"""What `searcher submit` ships: the project's packages, the spec, the user's code, no data."""

from __future__ import annotations

from pathlib import Path

from searcher.engine.jobs import PACKAGES, stage_job_dir
from searcher.spec import load_spec
from searcher.spec.yaml_io import load_yaml
from tests.conftest import base_spec, write_spec


def _listing(root: Path) -> set[str]:
    return {p.name for p in root.iterdir()}


def test_a_function_workload_ships_its_module_but_not_data(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "fit_mod.py").write_text("def fit(config, report):\n    report({'s': 1.0})\n")
    (code / "helpers.py").write_text("X = 1\n")
    (code / "train.csv").write_text("a,b\n")
    raw = {
        "name": "ship",
        "workload": "fit_mod:fit",
        "code_dir": ".",
        "metric": {"name": "s"},
        "space": {"x": 1},
    }
    spec = load_spec(write_spec(code / "spec.yaml", raw))
    root = stage_job_dir(spec)
    assert _listing(root) == {*PACKAGES, "spec.yaml", "fit_mod.py", "helpers.py"}
    shipped = load_yaml((root / "spec.yaml").read_text())
    assert "code_dir" not in shipped and shipped["workload"] == "fit_mod:fit"


def test_a_command_workload_ships_the_files_it_names(tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_text("#!/bin/sh\necho s=1\n")
    (tmp_path / "big.bin").write_bytes(b"\0" * 100)
    raw = {"name": "cmd", "workload": {"command": ["sh", "run.sh"]}, "space": {"x": 1}}
    spec = load_spec(write_spec(tmp_path / "spec.yaml", raw))
    assert _listing(stage_job_dir(spec)) == {*PACKAGES, "spec.yaml", "run.sh"}


def test_a_builtin_workload_ships_no_user_files(tmp_path: Path) -> None:
    (tmp_path / "notes.py").write_text("")
    spec = load_spec(write_spec(tmp_path / "spec.yaml", base_spec("b", tmp_path)))
    assert _listing(stage_job_dir(spec)) == {*PACKAGES, "spec.yaml"}
