"""Warm starts end to end on real stores: an earlier search's usable trials (counted with their
reasons) make a shorter coarse stage and shape the first zoom region; its best configurations
run again first with both scores recorded and a drift warning; the lineage is on the search's
run; a kill -9 is resumed from what the new search recorded, with the earlier store gone; bad
--from input is one line, exit 2, nothing written."""

from __future__ import annotations

import io
import json
import shutil
import statistics
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

import searcher
from dashboards.figures_params import param_figure
from dashboards.report import build_report
from search_spaces.prior import PRIOR_KEY
from search_spaces.strategies.coarse_to_fine import WARM_COARSE
from search_spaces.trial import TrialResult, ranked
from search_spaces.zoom import next_side, zoom_region
from searcher.cli import cli
from searcher.controller import run_search
from searcher.spec import load_spec
from searcher.tracking import tags as T
from searcher.tracking.earlier import read_warm_start
from searcher.tracking.queries import find_search, trial_runs
from searcher.tracking.readers import read_trial
from searcher.tracking.search_view import load_views
from tests.conftest import paced_spec, write_spec
from tests.processes import mounted_tmpfs, sigkill_when_logged

pytestmark = pytest.mark.integration

NARROW_LR = {"scale": "log", "low": 1e-4, "high": 0.03}  # the re-tune's range: fewer usable


def _earlier(tmp_path: Path, uri: str, pace: float = 0.0) -> tuple[str, list[dict[str, Any]]]:
    """A finished 20-trial search 'earlier'; its id and its trials' params and scores."""
    raw = paced_spec("earlier", pace=pace)
    raw["search"] = {"strategy": "coarse_to_fine", "seed": 1, "trials": 20}
    summary = run_search(
        load_spec(write_spec(tmp_path / "e.yaml", raw)), tracking_uri=uri, out=io.StringIO()
    )
    client = MlflowClient(uri)
    search = find_search(client, "earlier")
    rows = [read_trial(client, r, "score") for r in trial_runs(client, search)]
    return summary.search_id, [
        {"key": r.trial.key, **r.trial.params, "score": r.score} for r in rows
    ]


def _retune(tmp_path: Path, name: str = "retune", pace: float = 0.0, **warm: Any) -> dict:
    """The same workload after 'a data change': every score 0.5 lower, a narrower lr range."""
    raw = paced_spec(name, pace=pace)
    raw["space"] = {**raw["space"], "lr": NARROW_LR, "offset": -0.5}
    raw["search"] = {
        "strategy": "coarse_to_fine",
        "seed": 2,
        "trials": 20,
        "warm_start": {"from": "earlier", **warm},
    }
    return raw


def _by_key(client: MlflowClient, name: str) -> dict[str, Any]:
    runs = trial_runs(client, find_search(client, name))
    return {r.data.tags[T.TRIAL_KEY]: r for r in runs}


def test_a_warm_start_uses_the_earlier_trials_and_reruns_the_best(
    ray_local: None, tmp_path: Path, sqlite_uri: str
) -> None:
    earlier_id, earlier = _earlier(tmp_path, sqlite_uri)
    usable = [t for t in earlier if t["lr"] <= NARROW_LR["high"]]
    assert 5 < len(usable) < 20  # the narrower range leaves some out
    out = io.StringIO()
    raw = _retune(tmp_path)
    spec = load_spec(write_spec(tmp_path / "r.yaml", raw))
    del raw["search"]["warm_start"]  # given through the Python API instead
    summary = searcher.run(raw, warm_start="earlier", tracking_uri=sqlite_uri, out=out)
    text = out.getvalue()
    assert (
        f"warm start: search {earlier_id} of experiment earlier: {len(usable)} of 20 earlier "
        f"trials usable; {20 - len(usable)} had lr outside log [0.0001, 0.03]"
    ) in text
    coarse = max(WARM_COARSE, 10 - len(usable), 3)
    assert f"(a coarse stage of {coarse} trials instead of 10)" in text
    assert summary.counts == {"FINISHED": 20}

    client = MlflowClient(sqlite_uri)
    runs = _by_key(client, "retune")
    assert sum(k.startswith("1-") for k in runs) == coarse
    # The best three usable earlier trials ran first, at exactly their values.
    best = sorted(usable, key=lambda t: (-t["score"], t["key"]))[:3]
    for i, old in enumerate(best):
        run = runs[f"1-{i:03d}"]
        assert run.data.tags[T.RERUN_OF] == old["key"]
        ran = read_trial(client, run, "score").trial.params
        assert (ran["lr"], ran["width"], ran["offset"]) == (old["lr"], old["width"], -0.5)
    assert [r[1].removeprefix(PRIOR_KEY) for r in summary.reruns] == [t["key"] for t in best]
    for _, _, old_score, new_score in summary.reruns:
        assert new_score - old_score == pytest.approx(-0.5)
    assert any("score changed by -0.5 on average over 3 reruns" in w for w in summary.warnings)
    assert "1-000 (was " in text and "-> " in text

    # The lineage on the search's run, and the record resume would read.
    search = client.get_run(summary.search_id)
    tags = search.data.tags
    assert tags[T.WARM_FROM].startswith(f"earlier/{earlier_id} in ")
    assert tags[T.WARM_USED] == str(len(usable))
    assert "objective drifted" in tags[T.WARNINGS]
    record = read_warm_start(client, search)
    assert record is not None and record.search_id == earlier_id
    assert sorted(r.key for r in record.usable) == sorted(PRIOR_KEY + t["key"] for t in usable)
    assert record.unusable == {"had lr outside log [0.0001, 0.03]": 20 - len(usable)}

    # Stage 2's box: the zoom region of the earlier trials (those run again replaced by their
    # reruns, the rest moved by the reruns' median change) and the coarse trials it waited for.
    stages = json.loads(
        Path(client.download_artifacts(summary.search_id, "stages.json")).read_text()
    )
    based_on = set(stages[1]["based_on"])
    again = {r.key for r in record.usable if r.key in set(record.reruns.values())}
    shift = statistics.median(new - old for _, _, old, new in summary.reruns)
    moved = [
        TrialResult(r.key, 0, r.unit, r.params, r.score + shift)  # type: ignore[operator]
        for r in record.usable
        if r.key not in again
    ]
    own = []
    for key in sorted(k for k in based_on if not k.startswith(PRIOR_KEY)):
        row = read_trial(client, runs[key], "score")
        own.append(TrialResult.of(row.trial, row.score))
    assert based_on == {r.key for r in moved} | {r.key for r in own}
    plan = spec.model.search.stage_list()
    assert plan[0].trials == 10  # the spec as written; the warm plan is the run's
    region = zoom_region(spec.space, ranked([*moved, *own], "max"), next_side(None, True), 0.3, 0.0)
    assert json.loads(tags[T.stage_tag(2, "box")]) == region.box().to_dict()

    # The report: where it started, the reruns' scores then and now, the earlier trials drawn
    # in their own trace at the scores they had then.
    (view,) = load_views(client, ["retune"])
    figure = param_figure([view], "lr")
    (prior_trace,) = [t for t in figure.data if t.name.startswith("earlier search (earlier ")]
    assert sorted(prior_trace.y) == sorted(t["score"] for t in usable)
    page = build_report([view])
    assert f"warm start from search {earlier_id} of experiment earlier: {len(usable)} of 20" in page
    for key, earlier_key, old_score, new_score in summary.reruns:
        assert f"<td>{key}</td><td>{earlier_key.removeprefix(PRIOR_KEY)}</td>" in page
        assert f"{old_score:.4f}" in page and f"{new_score - old_score:+.4f}" in page


def test_warm_start_table_and_cli(ray_local: None, tmp_path: Path, sqlite_uri: str) -> None:
    """`searcher run --from` starts warm; the trials table marks reruns."""
    _earlier(tmp_path, sqlite_uri)
    raw = _retune(tmp_path, "retune_cli")
    del raw["search"]["warm_start"]
    path = write_spec(tmp_path / "c.yaml", raw)
    result = CliRunner().invoke(
        cli, ["run", str(path), "--from", "earlier", "--tracking-uri", sqlite_uri]
    )
    assert result.exit_code == 0, result.output
    assert "warm start: search " in result.output
    table = CliRunner().invoke(
        cli, ["trials", "retune_cli", "--format", "json", "--tracking-uri", sqlite_uri]
    )
    assert table.exit_code == 0, table.output
    rows = json.loads(table.output)
    reruns = {r["trial"]: r["rerun_of"] for r in rows if r.get("rerun_of")}
    assert sorted(reruns) == ["1-000", "1-001", "1-002"]


def _count_runs(uri: str) -> int:
    client = MlflowClient(uri)
    return sum(len(client.search_runs([e.experiment_id])) for e in client.search_experiments())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--from", "nope"],
            "b.yaml: search.warm_start.from: no experiment named 'nope' in the store; found: "
            "earlier",
        ),
        (["--from-search", "abc"], "--from-search: expected --from NAME too"),
        (["--from", "earlier", "--from-search", "0" * 32], "experiment 'earlier' has no search "),
        (
            ["--from", "earlier", "--set", "metric.mode=min"],
            "search.warm_start.from: expected a search scored on score (min), got search ",
        ),
        (
            ["--from", "earlier", "--from-uri", "missing.db"],
            "b.yaml: search.warm_start.uri: no store at ",
        ),
    ],
)
def test_bad_warm_starts_are_one_line_and_write_nothing(
    ray_local: None, tmp_path: Path, sqlite_uri: str, args: list[str], message: str
) -> None:
    if not Path(sqlite_uri.removeprefix("sqlite:///")).exists():
        _earlier(tmp_path, sqlite_uri)
    before = _count_runs(sqlite_uri)
    raw = _retune(tmp_path, "bad_warm")
    del raw["search"]["warm_start"]
    path = write_spec(tmp_path / "b.yaml", raw)
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["run", str(path), *args, "--tracking-uri", sqlite_uri])
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and message in result.output
    assert time.monotonic() - started < 30
    assert _count_runs(sqlite_uri) == before
    assert not Path("missing.db").exists()


def test_kill_9_of_a_warm_search_resumes_without_the_earlier_store(
    ray_local: None, tmp_path: Path, sqlite_uri: str
) -> None:
    earlier_uri = f"sqlite:///{tmp_path / 'earlier.db'}"
    _earlier(tmp_path, earlier_uri)
    raw = _retune(tmp_path, "warm_kill", pace=0.3, uri=earlier_uri)
    path = write_spec(tmp_path / "k.yaml", raw)
    args = ["run", str(path), "--tracking-uri", sqlite_uri]
    sigkill_when_logged(args, tmp_path / "run.log", r"\] 1-00[3-9] FINISHED")
    (tmp_path / "earlier.db").unlink()  # resume reads the record, never the earlier store
    client = MlflowClient(sqlite_uri)
    done_before = {
        k for k, r in _by_key(client, "warm_kill").items() if r.info.status == "FINISHED"
    }
    assert 0 < len(done_before) < 20
    resumed = CliRunner().invoke(cli, ["resume", "warm_kill", "--tracking-uri", sqlite_uri])
    assert resumed.exit_code == 0, resumed.output
    runs = trial_runs(client, find_search(client, "warm_kill"))
    keys = Counter(r.data.tags[T.TRIAL_KEY] for r in runs if r.info.status == "FINISHED")
    assert sum(keys.values()) == 20 and set(keys.values()) == {1}
    assert done_before <= set(keys)
    assert "RUNNING" not in {r.info.status for r in runs}
    search = find_search(client, "warm_kill")
    assert search.run.info.status == "FINISHED"
    record = read_warm_start(client, search.run)
    assert record is not None and len(record.reruns) == 3
    reruns = {r.data.tags[T.TRIAL_KEY]: r.data.tags.get(T.RERUN_OF) for r in runs}
    assert all(reruns[k] for k in ("1-000", "1-001", "1-002"))


def test_a_grid_the_earlier_search_ran_whole_is_refused(
    ray_local: None, tmp_path: Path, sqlite_uri: str
) -> None:
    raw = paced_spec("grid_then", pace=0.0)
    raw["search"] = {"strategy": "grid", "grid_points": 2}
    run_search(load_spec(write_spec(tmp_path / "g.yaml", raw)), tracking_uri=sqlite_uri,
               out=io.StringIO())  # fmt: skip
    before = _count_runs(sqlite_uri)
    raw["name"] = "grid_again"
    path = write_spec(tmp_path / "g2.yaml", raw)
    result = CliRunner().invoke(
        cli, ["run", str(path), "--from", "grid_then", "--tracking-uri", sqlite_uri]
    )
    assert result.exit_code == 2, result.output
    assert "g2.yaml: search.warm_start.from: expected a search that leaves grid points" in (
        result.output
    )
    assert _count_runs(sqlite_uri) == before


def test_extend_of_a_warm_search_keeps_its_reruns(
    ray_local: None, tmp_path: Path, sqlite_uri: str
) -> None:
    """8 trials, 6 of them start_with configurations: 2 reruns fit. Extended to 16, the
    search still has those 2 (more would fit now), and each configuration runs once."""
    _earlier(tmp_path, sqlite_uri)
    raw = _retune(tmp_path, "warm_ext")
    given = [{"lr": 0.001 * (i + 1)} for i in range(6)]
    raw["search"] = {**raw["search"], "strategy": "random", "trials": 8, "start_with": given}
    summary = run_search(load_spec(write_spec(tmp_path / "x.yaml", raw)), tracking_uri=sqlite_uri,
                         out=io.StringIO())  # fmt: skip
    assert len(summary.reruns) == 2
    extended = searcher.extend("warm_ext", 8, tracking_uri=sqlite_uri, out=io.StringIO())
    assert not any("other values" in w for w in extended.warnings)
    client = MlflowClient(sqlite_uri)
    runs = _by_key(client, "warm_ext")
    assert sorted(runs) == [f"1-{i:03d}" for i in range(16)]
    assert sorted(k for k, r in runs.items() if T.RERUN_OF in r.data.tags) == ["1-000", "1-001"]
    given_keys = sorted(k for k, r in runs.items() if r.data.tags.get(T.GIVEN) == "true")
    assert given_keys == [f"1-{i:03d}" for i in range(2, 8)]
    lrs = [read_trial(client, runs[k], "score").trial.params["lr"] for k in given_keys]
    assert lrs == [g["lr"] for g in given]


def test_a_warm_start_reads_an_earlier_store_it_may_not_write(
    ray_local: None, tmp_path: Path, sqlite_uri: str
) -> None:
    """A colleague's store on a read-only share: the warm start and `searcher trials` read it,
    and nothing there changes."""
    made = tmp_path / "made.db"
    _earlier(tmp_path, f"sqlite:///{made}")
    shared = tmp_path / "share"
    with mounted_tmpfs(shared, "size=20m") as folder:
        for part in (made, made.with_name("made.db-wal")):  # the log too: the writer is open
            if part.exists():
                shutil.copyfile(part, folder / part.name.replace("made", "earlier"))
        remounted = subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=False)
        if remounted.returncode != 0:
            pytest.skip("cannot remount the tmpfs read-only here")
        ro_uri = f"sqlite:///{folder / 'earlier.db'}"
        listing = sorted((p.name, p.stat().st_size) for p in folder.iterdir())
        table = CliRunner().invoke(
            cli, ["trials", "earlier", "--format", "json", "--tracking-uri", ro_uri]
        )
        assert table.exit_code == 0, table.output
        assert len(json.loads(table.output)) == 20
        path = write_spec(tmp_path / "r.yaml", _retune(tmp_path, "from_ro", uri=ro_uri))
        result = CliRunner().invoke(cli, ["run", str(path), "--tracking-uri", sqlite_uri])
        assert result.exit_code == 0, result.output
        assert sorted((p.name, p.stat().st_size) for p in folder.iterdir()) == listing
    client = MlflowClient(sqlite_uri)
    record = read_warm_start(client, find_search(client, "from_ro").run)
    assert record is not None and record.uri == ro_uri  # the share, not the private copy
    assert len(record.usable) + sum(record.unusable.values()) == 20 and record.usable
