"""Store problems are one line within seconds, and reading never creates a schema."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from searcher.cli import cli
from searcher.tracking.probe import StoreUnreachable, has_schema, probe
from searcher.tracking.store import open_store
from tests.conftest import PG_SERVER, base_spec, postgres_database, write_spec
from tests.processes import mounted_tmpfs


def _tables(uri: str) -> list[str]:
    import sqlalchemy

    engine = sqlalchemy.create_engine(uri, poolclass=sqlalchemy.NullPool)
    try:
        return sqlalchemy.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_a_sqlite_folder_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/missing/mlruns.db"
    with pytest.raises(StoreUnreachable, match=r"folder .*/missing does not exist"):
        open_store(uri)
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("postgresql://postgres@127.0.0.1:1/test", "cannot reach the store postgresql://"),
        (f"{PG_SERVER}/no_such_database_here", "no_such_database_here"),
        ("http://127.0.0.1:1", "cannot reach the MLflow server http://127.0.0.1:1"),
    ],
)
def test_an_unreachable_store_is_one_line_within_seconds(uri: str, says: str) -> None:
    started = time.monotonic()
    with pytest.raises(StoreUnreachable) as info:
        probe(uri)
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert says in message and "\n" not in message


def test_run_on_an_unreachable_store_exits_2_in_one_line(tmp_path: Path) -> None:
    from tests.conftest import base_spec, write_spec

    spec = write_spec(tmp_path / "s.yaml", base_spec("probe_it", tmp_path))
    started = time.monotonic()
    result = CliRunner().invoke(
        cli, ["run", str(spec), "--tracking-uri", "postgresql://postgres@127.0.0.1:1/test"]
    )
    assert time.monotonic() - started < 20
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("error: cannot reach the store postgresql://postgres@127.0.0.1:1")


@pytest.mark.parametrize(
    "command", [["trials", "x"], ["best", "x"], ["export", "x", "-o", "b.yaml"]]
)
def test_read_commands_never_create_a_schema(command: list[str], tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    sqlite = CliRunner().invoke(cli, [*command, "--tracking-uri", str(empty)])
    assert sqlite.exit_code == 2 and "no MLflow tables" in sqlite.output, sqlite.output
    assert empty.stat().st_size == 0
    with postgres_database() as uri:
        result = CliRunner().invoke(cli, [*command, "--tracking-uri", uri])
        assert result.exit_code == 2 and "no MLflow tables" in result.output, result.output
        assert _tables(uri) == []
        assert not has_schema(uri)


@pytest.mark.parametrize("command", [["export", "x"], ["report", "x"]])
def test_an_output_folder_that_does_not_exist_is_one_line(
    command: list[str], tmp_path: Path
) -> None:
    target = tmp_path / "nowhere" / "out.file"
    result = CliRunner().invoke(cli, [*command, "-o", str(target), "--tracking-uri", "x.db"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: -o {target}: expected an existing folder, got {target.parent}"
    )


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder on a read-only file system (a tmpfs mounted ro), so that even root cannot
    write there; skipped where this machine does not let the test mount one."""
    with mounted_tmpfs(tmp_path / "ro", "ro,size=1m") as folder:
        yield folder


def test_a_read_only_folder_for_the_default_store_is_one_line(
    read_only_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = write_spec(tmp_path / "spec.yaml", base_spec("ro", tmp_path))
    monkeypatch.chdir(read_only_folder)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = CliRunner().invoke(cli, ["run", str(spec)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines == [
        f"error: cannot write the store sqlite:///{read_only_folder}/mlruns.db: folder "
        f"{read_only_folder} "
        "is read-only (pass --tracking-uri with a writable place)"
    ]
    assert list(read_only_folder.iterdir()) == []
