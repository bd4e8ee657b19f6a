"""Errors of the trial code; the driver turns them into failed trials or one-line messages."""

from __future__ import annotations


class DataError(ValueError):
    """Data that cannot be found, read or trusted; the message names the file or directory.

    ``field`` is the spec field at fault (``data`` unless a single option is), so the driver
    prints ``FILE: field: message`` with the field said once.
    """

    def __init__(self, message: str, field: str = "data") -> None:
        self.message, self.field = message, field
        super().__init__(message)

    def __reduce__(self) -> tuple:
        return (type(self), (self.message, self.field))


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


class TrialFailed(RuntimeError):
    """A trial failed for a known reason, which is the whole message (no traceback needed)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)

    def __reduce__(self) -> tuple:
        return (type(self), (self.reason,))


class TrialDiverged(TrialFailed):
    """The training loss became NaN or infinite, so the trial cannot produce a meaningful score."""


class CommandFailed(TrialFailed):
    """A trial's command could not start or exited non-zero; the message has the stderr tail."""

    def __init__(self, exit_code: int | None, reason: str) -> None:
        self.exit_code = exit_code
        super().__init__(reason)

    def __reduce__(self) -> tuple:
        return (type(self), (self.exit_code, self.reason))


class UnknownWorkload(KeyError):
    """A workload name that is not registered; the message lists the known names."""

    def __init__(self, name: str, known: list[str], why: str = "") -> None:
        self.name, self.known, self.why = name, known, why
        reason = f" ({why})" if why else ""
        super().__init__(
            f"unknown workload {name!r}{reason}; expected one of {', '.join(known)} "
            "or module:function"
        )

    def __reduce__(self) -> tuple:
        # Ray copies and pickles exceptions raised in workers; rebuild from our own arguments.
        return (type(self), (self.name, self.known, self.why))

    def __str__(self) -> str:
        # KeyError.__str__ would wrap the message in quotes.
        return str(self.args[0])
