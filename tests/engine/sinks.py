"""A sink for the pipeline's tests: it keeps every event it hears, in order."""

from __future__ import annotations

from searcher.events import Event, TrialEnded


class Collect:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def ended(self) -> list[TrialEnded]:
        return [e for e in self.events if isinstance(e, TrialEnded)]
