"""Errors of the trial code; the driver turns them into failed trials or one-line messages."""

from __future__ import annotations


class DataError(ValueError):
    """Data that cannot be found, read or trusted; the message names the file or directory."""


class ParamError(ValueError):
    """A hyperparameter the workload rejects; `name` is kept apart so a spec can prefix its path.

    `message` reads "expected ..., got ..."; str() is "hyperparameter NAME: MESSAGE".
    """

    def __init__(self, name: str, message: str) -> None:
        self.name, self.message = name, message
        super().__init__(f"hyperparameter {name}: {message}")

    def __reduce__(self) -> tuple:
        # Ray pickles exceptions raised in workers; rebuild from our own arguments.
        return (type(self), (self.name, self.message))


class TrialDiverged(RuntimeError):
    """The training loss became NaN or infinite, so the trial cannot produce a meaningful score."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class UnknownWorkload(KeyError):
    """A workload name that is not registered; the message lists the known names."""

    def __init__(self, name: str, known: list[str], why: str = "") -> None:
        self.name, self.known, self.why = name, known, why
        reason = f" ({why})" if why else ""
        super().__init__(
            f"unknown workload {name!r}{reason}; expected one of {', '.join(known)} "
            "or package.module:WORKLOAD"
        )

    def __reduce__(self) -> tuple:
        # Ray copies and pickles exceptions raised in workers; rebuild from our own arguments.
        return (type(self), (self.name, self.known, self.why))

    def __str__(self) -> str:
        # KeyError.__str__ would wrap the message in quotes.
        return str(self.args[0])
