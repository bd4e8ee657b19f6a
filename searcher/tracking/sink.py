"""The tracking sink: trial events become nested MLflow runs. Every tag name a trial run gets,
its placement tags, its best-metric value and its error text are decided here."""

from __future__ import annotations

from search_spaces.prior import PRIOR_KEY
from search_spaces.space import SearchSpace
from searcher.events import (
    Event,
    Placement,
    TrialEnded,
    TrialOutput,
    TrialPlaced,
    TrialReported,
    TrialRetried,
    TrialStarted,
)
from searcher.tracking import tags as T
from searcher.tracking.mirrors import numeric_mirrors
from searcher.tracking.recorder import RunRecorder
from searcher.tracking.records import trial_record


class TrackingSink:
    """Enqueues each event's writes on the recorder (its thread writes; Tune never waits)."""

    def __init__(
        self,
        recorder: RunRecorder,
        space: SearchSpace,
        metric: str,
        given: frozenset[str] = frozenset(),
        reruns: dict[str, str] | None = None,
    ) -> None:
        self.recorder, self.space, self.metric = recorder, space, metric
        self.given = given  # keys of the trials the spec's start_with configurations run
        self.reruns = reruns or {}  # key -> the earlier search's trial it runs again

    def handle(self, event: Event) -> None:
        rec = self.recorder
        if isinstance(event, TrialStarted):
            trial = event.trial
            tags = {
                T.KIND: T.KIND_TRIAL,
                T.STAGE: str(trial.stage),
                T.TRIAL_KEY: trial.key,
                T.TRIAL_RECORD: trial_record(trial),
            }
            if trial.key in self.given:
                tags[T.GIVEN] = "true"
            if trial.key in self.reruns:
                tags[T.RERUN_OF] = self.reruns[trial.key].removeprefix(PRIOR_KEY)
            mirrors = numeric_mirrors(self.space, trial.params, trial.unit)
            rec.trial_started(trial.key, tags, trial.params, mirrors)
        elif isinstance(event, TrialPlaced):
            rec.trial_tags(event.key, placement_tags(event.placement))
        elif isinstance(event, TrialReported):
            rec.trial_metrics(event.key, event.step, event.metrics)
        elif isinstance(event, TrialOutput):
            rec.trial_output(event.key, event.chunk)
        elif isinstance(event, TrialRetried):
            rec.trial_tags(
                event.key, {T.RETRIES: str(event.attempt), T.RETRIED_AFTER: event.reason}
            )
        elif isinstance(event, TrialEnded):
            self._ended(event)

    def _ended(self, event: TrialEnded) -> None:
        """The best epoch value is kept even when the trial failed later (a loss that diverged
        at epoch 5 still shows how far it got), but a failed trial has no score."""
        key, verdict = event.trial.key, event.verdict
        if event.best is not None:
            self.recorder.trial_metrics(key, event.steps, {T.best_metric(self.metric): event.best})
        tags = {}
        if event.ended_at is not None:
            tags[T.ENDED_AT] = f"{event.ended_at:.3f}"
        if verdict.stopped_early:
            tags[T.STOPPED_EARLY] = "true"
        if tags:
            self.recorder.trial_tags(key, tags)
        self.recorder.trial_ended(key, verdict.status, verdict.reason)


def placement_tags(where: Placement) -> dict[str, str]:
    """Run tags saying where a trial ran: node, GPU ids Ray assigned, what CUDA saw, start."""
    return {
        T.NODE_ID: str(where.get("node_id", "")),
        T.NODE_IP: str(where.get("node_ip", "")),
        T.HOSTNAME: str(where.get("hostname", "")),
        T.DEVICE: str(where.get("device", "")),
        T.GPU_IDS: str(where.get("gpu_ids", "")),
        T.CUDA_VISIBLE_DEVICES: str(where.get("cuda_visible_devices", "")),
        T.STARTED_AT: f"{float(where.get('started_at', 0)):.3f}",
    }
