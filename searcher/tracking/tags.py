"""The tag schema: every ``searcher.*`` tag name, MLflow's limits, and values too long for a tag.

A value longer than MLflow allows in a tag is never clipped (a clipped JSON box could not be
read back): it goes to an artifact of the run, and the tag holds a pointer that
``resolve_tag`` follows.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

# MLflow's limits (mlflow.utils.validation); tests check that they still match.
MAX_TAG_VALUE = 8000
MAX_PARAM_VALUE = 6000
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100

PARENT = "mlflow.parentRunId"  # MLflow's own: makes a trial a nested child run of its search
KIND = "searcher.kind"  # search | trial | train
# The machine-readable records (JSON with a schema version, see records.py): what resume, the
# report, trials, best and export read. Everything else on a run is for people and the UI.
TRIAL_RECORD = "searcher.trial"  # on each trial run: key, stage, unit coordinates, params
SEARCH_RECORD = "searcher.search"  # on the search's run: normalised spec, stage plan
ENDED_BY = "searcher.ended_by"  # on a search run that ended before its plan on purpose
GIVEN = "searcher.given"  # on a trial run of a start_with configuration
WARM_START = "searcher.warm_start"  # on a warm-started search's run: records.WarmStartRecord
WARM_FROM = "searcher.warm_start.from"  # for people: "experiment/search id", and the store
WARM_USED = "searcher.warm_start.trials_used"  # how many earlier trials it took
RERUN_OF = "searcher.rerun_of"  # on a trial run that ran an earlier search's trial again
SPEC = "searcher.spec"
SPEC_FILE = "searcher.spec_file"
CODE_DIR = "searcher.code_dir"  # where the workload's module or command lives
METRIC = "searcher.metric"
MODE = "searcher.mode"
DATA_SOURCE = "searcher.data_source"
DATA_DESCRIPTION = "searcher.data_description"
HOST = "searcher.host"
PID = "searcher.pid"
PROCESS_STARTED = "searcher.process_started"  # the pid's start time: a reused pid is not it
OWNER = "searcher.owner"  # "host pid start-time" of the process running it, or "released"
RESUMES = "searcher.resumes"  # how many times `searcher resume` continued the search
STOPPED_EARLY = "searcher.stopped_early"  # a FINISHED trial the scheduler pruned
CREATED_BY = "searcher.created_by"  # a trial run's creation marker (finds a retried create)
RETRIES = "searcher.retries"  # times a trial was started again after its worker died
RETRIED_AFTER = "searcher.retried_after"  # the error that made it start again
PHASE = "searcher.phase."  # + a phase's name: seconds from the process's start (phases.py)
WARNINGS = "searcher.warnings"
LOGGING_ERRORS = "searcher.logging_errors"
BEST_TRIAL = "searcher.best_trial"
BEST_RUN_ID = "searcher.best_run_id"
STAGE = "searcher.stage"
TRIAL_KEY = "searcher.trial_key"
ERROR = "searcher.error"
CENTRED_PARAMS = "searcher.centred_params"
MODEL_PATH = "searcher.model_path"
# Where and when a trial ran.
NODE_ID = "searcher.node_id"
NODE_IP = "searcher.node_ip"
HOSTNAME = "searcher.hostname"
DEVICE = "searcher.device"
GPU_IDS = "searcher.gpu_ids"
CUDA_VISIBLE_DEVICES = "searcher.cuda_visible_devices"
STARTED_AT = "searcher.started_at"
ENDED_AT = "searcher.ended_at"

KIND_SEARCH, KIND_TRIAL, KIND_TRAIN = "search", "trial", "train"
SEARCH_QUERY = f"tags.`{KIND}` = '{KIND_SEARCH}'"

ARTIFACT_POINTER = "artifact:"
OVERFLOW_DIR = "tags"
_STAGE_TAG = re.compile(r"^searcher\.stage\.(\d+)\.(box|ranges|branches)$")


def best_metric(metric: str) -> str:
    """The metric a trial's score is kept in: its best epoch value of the spec's metric."""
    return f"best_{metric}"


def unit_metric(name: str) -> str:
    """The metric mirror of a parameter's unit (sampling) coordinate."""
    return f"unit/{name}"


def stage_tag(stage: int, part: str) -> str:
    """The parent-run tag of a stage's box (unit coordinates, JSON), readable ranges, or (in
    a conditional space) each branch's trials, box and ranges."""
    return f"{STAGE}.{stage}.{part}"


def parse_stage_tag(name: str) -> tuple[int, str] | None:
    """(stage, 'box', 'ranges' or 'branches') for a stage tag's name, else None."""
    found = _STAGE_TAG.match(name)
    return (int(found.group(1)), found.group(2)) if found else None


def clip(text: str, limit: int = MAX_TAG_VALUE) -> str:
    """Free text (an error message) cut to fit; never used for values that are parsed back."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def split_long(tags: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(tags to set, {artifact path: text}) with every too-long value moved to an artifact."""
    short: dict[str, str] = {}
    overflow: dict[str, str] = {}
    for name, value in tags.items():
        if len(value) <= MAX_TAG_VALUE:
            short[name] = value
        else:
            path = f"{OVERFLOW_DIR}/{name}.txt"
            overflow[path] = value
            short[name] = ARTIFACT_POINTER + path
    return short, overflow


def resolve_tag(client: MlflowClient, run: Run, name: str, default: str = "") -> str:
    """A tag's whole value, read from its artifact when it was too long for a tag."""
    value = run.data.tags.get(name)
    if value is None:
        return default
    if not value.startswith(ARTIFACT_POINTER):
        return value
    local = client.download_artifacts(run.info.run_id, value.removeprefix(ARTIFACT_POINTER))
    return Path(local).read_text(encoding="utf-8")
